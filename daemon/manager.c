/*
 * The per-agent glue: see manager.h.
 */
#include <sys/queue.h>

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "activity.h"
#include "agent.h"
#include "config.h"
#include "log.h"
#include "mailroom.h"
#include "events.h"
#include "manager.h"
#include "policy-store.h"
#include "safe-path.h"
#include "tmux-link.h"
#include "util.h"

#define MANAGER_BACKOFF_MIN	5000		/* ms: a start that failed */
#define MANAGER_BACKOFF_MAX	300000
#define MANAGER_RECOUNT_MS	250		/* an inbox being scanned */
#define MANAGER_KEEP_MS		1000		/* activity saved at most so often */
#define MANAGER_STABLE_MS	60000		/* a session that ends sooner */

struct person_start;

struct magent {
	char			 name[64];
	struct activity_state	 act;
	/* Configured: its mail and its policies at work. */
	struct mailroom		*mail;
	int			 running;	/* its container */
	int			 busy;		/* a policy's or session -d's */
	struct person_start	*starter;	/* session -d's */
	char			*mail_key;	/* what its mail was made of */
	int			 inbox_seen;	/* an item since it started */
	enum policy_down	 down;		/* who stopped it last */
	uint64_t		 hold_until;	/* wall ms: no start before */
	uint64_t		 backoff;
	uint64_t		 started_at;	/* wall ms: a policy's start */
	struct event		*check;		/* policy_decide's next_check */
	struct event		*keep;		/* its activity's quiet spell */
	int			 keep_dirty;	/* changed during it */
	int			 seen;		/* in the configuration */
	TAILQ_ENTRY(magent)	 entry;
};

static TAILQ_HEAD(, magent)	m_agents = TAILQ_HEAD_INITIALIZER(m_agents);

/* RFC 3339 UTC with milliseconds. */
static void
format_ms(uint64_t ms, char *buf, size_t len)
{
	time_t		t = (time_t)(ms / 1000);
	struct tm	tm;
	size_t		n;

	gmtime_r(&t, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03uZ", (unsigned)(ms % 1000));
}

static struct magent *
find(const char *name, int make)
{
	struct magent	*m;

	TAILQ_FOREACH(m, &m_agents, entry)
		if (strcmp(m->name, name) == 0)
			return (m);
	if (!make || strlen(name) >= sizeof(m->name))
		return (NULL);
	m = xcalloc(1, sizeof(*m));	/* ACT_NO_SESSION, since 0 */
	snprintf(m->name, sizeof(m->name), "%s", name);
	TAILQ_INSERT_TAIL(&m_agents, m, entry);
	return (m);
}

static void
add_activity(const struct activity_state *s, cJSON *o)
{
	char	since[40];

	cJSON_AddStringToObject(o, "activity", activity_name(s->state));
	if (s->since != 0) {
		format_ms(s->since, since, sizeof(since));
		cJSON_AddStringToObject(o, "activity_since", since);
	} else
		cJSON_AddNullToObject(o, "activity_since");
	cJSON_AddStringToObject(o, "last_event", s->last);
	cJSON_AddStringToObject(o, "activity_detail", s->detail);
}

static char			*m_state_dir;

/*
 * The activity is kept in STATE/agents/NAME/activity, so that a qmsd
 * started again while Claude waits idle in its session knows it (no hook
 * comes until something happens).  What came while qmsd was down is lost
 * unless the hook's retries outlived it.
 */
static void
activity_save(const struct magent *m)
{
	char	*dir, *text;
	int	 fd;

	if (m_state_dir == NULL)
		return;
	xasprintf(&dir, "%s/agents/%s", m_state_dir, m->name);
	if (mkdir_p(dir, 0700) == -1 || (fd = open(dir, O_RDONLY |
	    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		log_warnx("agent %s: %s: %s", m->name, dir,
		    safe_strerror(errno));
		free(dir);
		return;
	}
	text = activity_format(&m->act);
	if (safe_replace(fd, "activity", text, strlen(text), 0600, geteuid(),
	    getegid()) == -1)
		log_warnx("agent %s: %s/activity: %s", m->name, dir,
		    safe_strerror(errno));
	free(text);
	close(fd);
	free(dir);
}

/* The kept activity, as it was when the last qmsd stopped; or none. */
static void
activity_load(struct magent *m)
{
	char	*dir, *text;
	size_t	 len;
	int	 fd;

	xasprintf(&dir, "%s/agents/%s", m_state_dir, m->name);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	free(dir);
	if (fd == -1)
		return;
	text = safe_read(fd, "activity", ACTIVITY_KEPT_MAX, &len);
	close(fd);
	if (text != NULL && activity_parse(text, len, &m->act) == -1)
		log_warnx("agent %s: its kept activity does not parse: "
		    "ignored", m->name);
	free(text);
}

static void
on_keep(evutil_socket_t fd, short ev, void *arg)
{
	struct magent	*m = arg;

	(void)fd;
	(void)ev;
	if (m->keep_dirty) {
		m->keep_dirty = 0;
		activity_save(m);
	}
}

/*
 * Saved at once, then at most once a MANAGER_KEEP_MS: an agent's flood of
 * hooks must not have qmsd sync a file for each, and the change that
 * ends a quiet spell (a prompt going in) is on disk before anything
 * else happens.
 */
static void
keep_later(struct magent *m)
{
	struct timeval	tv;

	if (m->keep == NULL)
		return;
	if (evtimer_pending(m->keep, NULL)) {
		m->keep_dirty = 1;
		return;
	}
	activity_save(m);
	timeval_ms(&tv, MANAGER_KEEP_MS);
	evtimer_add(m->keep, &tv);
}

/* The activity changed (from was): an event says so. */
static void
changed(struct magent *m, enum activity from)
{
	cJSON	*ev = cJSON_CreateObject();
	char	 t[40];

	format_ms(wall_ms(), t, sizeof(t));
	cJSON_AddStringToObject(ev, "time", t);
	cJSON_AddStringToObject(ev, "type", "activity");
	cJSON_AddStringToObject(ev, "agent", m->name);
	add_activity(&m->act, ev);
	cJSON_AddStringToObject(ev, "previous", activity_name(from));
	events_publish(ev, m->name);
	keep_later(m);
}

static struct event_base	*m_base;

static void	evaluate(struct magent *);
static void	ended(struct magent *);

/* An event of the agent's mail, with its time and agent. */
static void
mail_event(void *arg, cJSON *ev)
{
	struct magent	*m = arg;
	char		 t[40];

	format_ms(wall_ms(), t, sizeof(t));
	cJSON_AddStringToObject(ev, "time", t);
	cJSON_AddStringToObject(ev, "agent", m->name);
	events_publish(ev, m->name);
	if (mailroom_inbox(m->mail) > 0)
		m->inbox_seen = 1;
	evaluate(m);
}

/* What the courier must know of the activity, after any change. */
static void
tell_mail(struct magent *m)
{
	if (m->mail != NULL)
		mailroom_activity(m->mail, m->act.state, m->act.state ==
		    ACT_IDLE && strcmp(m->act.last, "SessionStart") == 0);
}

void
manager_hook(const char *agent, const struct hook_event *ev)
{
	struct magent	*m;
	enum activity	 from;

	if ((m = find(agent, 1)) == NULL)
		return;
	from = m->act.state;
	/* The prompt first: it may be the notification waited for. */
	if (ev->kind == HOOK_USER_PROMPT_SUBMIT && m->mail != NULL &&
	    (m->act.session[0] == '\0' || ev->session[0] == '\0' ||
	    strcmp(m->act.session, ev->session) == 0))
		mailroom_prompt(m->mail, ev->prompt, ev->longer);
	if (activity_apply(&m->act, ev, wall_ms())) {
		changed(m, from);
		tell_mail(m);
		evaluate(m);
	} else if (ev->kind == HOOK_SESSION_START)
		tell_mail(m);		/* a new session, idle as the last */
}

void
manager_container(const char *agent, int running)
{
	struct magent	*m;
	enum activity	 from;

	if ((m = find(agent, 0)) == NULL)
		return;
	if (running && !m->running) {
		m->inbox_seen = m->mail != NULL && mailroom_inbox(m->mail) > 0;
		/* Without Claude yet: idle, for a stop policy, from now. */
		if (m->act.state == ACT_NO_SESSION)
			m->act.since = wall_ms();
	}
	/* Gone with nobody asking: it exited by itself. */
	if (!running && m->running && !m->busy && m->down == POLICY_DOWN_NONE)
		m->down = POLICY_DOWN_SELF;
	if (!running && m->running)
		ended(m);
	m->running = running;
	/* A container that runs has no session until one is seen. */
	if (!running) {
		from = m->act.state;
		if (activity_reset(&m->act, "the container is not running",
		    wall_ms())) {
			changed(m, from);
			tell_mail(m);
		}
	}
	evaluate(m);
}

void
manager_session_launched(const char *agent)
{
	struct magent	*m;
	enum activity	 from;

	if ((m = find(agent, 1)) == NULL)
		return;
	from = m->act.state;
	if (activity_session_launched(&m->act, wall_ms())) {
		changed(m, from);
		tell_mail(m);
	}
}

void
manager_session_gone(const char *agent)
{
	struct magent	*m;
	enum activity	 from;

	if ((m = find(agent, 0)) == NULL)
		return;
	from = m->act.state;
	if (activity_session_gone(&m->act, wall_ms())) {
		changed(m, from);
		tell_mail(m);
	}
	evaluate(m);
}

/* ---- the tmux link ---- */

static void
on_linked(const char *agent, int headless, void *arg)
{
	struct magent	*m;

	(void)arg;
	if (headless)
		manager_session_launched(agent);
	if ((m = find(agent, 0)) != NULL && m->mail != NULL)
		mailroom_linked(m->mail, 1);
}

static void
on_link_gone(const char *agent, void *arg)
{
	struct magent	*m;

	(void)arg;
	if ((m = find(agent, 0)) != NULL && m->mail != NULL)
		mailroom_linked(m->mail, 0);
	if (m != NULL)
		ended(m);
	manager_session_gone(agent);
}

static void
on_persons(const char *agent, void *arg)
{
	struct magent	*m;

	(void)arg;
	if ((m = find(agent, 0)) != NULL)
		evaluate(m);
}

static const struct tmux_link_cb link_cb = {
	on_linked, on_link_gone, on_persons
};

/* ---- policies at work ---- */

static void
policy_event(struct magent *m, const char *action, const char *why)
{
	cJSON	*ev = cJSON_CreateObject();
	char	 t[40];

	format_ms(wall_ms(), t, sizeof(t));
	cJSON_AddStringToObject(ev, "time", t);
	cJSON_AddStringToObject(ev, "type", "policy");
	cJSON_AddStringToObject(ev, "agent", m->name);
	cJSON_AddStringToObject(ev, "action", action);
	if (why != NULL)
		cJSON_AddStringToObject(ev, "error", why);
	else
		cJSON_AddNullToObject(ev, "error");
	events_publish(ev, m->name);
}

/* No start before a backoff, doubling from MANAGER_BACKOFF_MIN. */
static void
hold_off(struct magent *m)
{
	m->backoff = m->backoff == 0 ? MANAGER_BACKOFF_MIN :
	    (m->backoff * 2 < MANAGER_BACKOFF_MAX ? m->backoff * 2 :
	    MANAGER_BACKOFF_MAX);
	m->hold_until = wall_ms() + m->backoff;
}

/*
 * What a policy started has ended (its session or its container).  Sooner
 * than MANAGER_STABLE_MS, the start failed as surely as one that never
 * came up: an agent that kills its own tmux server or container at once
 * would otherwise have qmsd start it again in a loop, an exec and a
 * session each time.  Later, it did its work: the backoff starts anew.
 */
static void
ended(struct magent *m)
{
	if (m->started_at == 0)
		return;
	if (wall_ms() - m->started_at < MANAGER_STABLE_MS) {
		hold_off(m);
		log_warnx("agent %s: its session ended %llus after its start "
		    "policy started it; not started again for %llus", m->name,
		    (unsigned long long)((wall_ms() - m->started_at) / 1000),
		    (unsigned long long)(m->backoff / 1000));
	} else
		m->backoff = 0;
	m->started_at = 0;
}

static void
started(void *arg, const char *error)
{
	struct magent	*m = arg;

	m->busy = 0;
	if (error != NULL) {
		hold_off(m);
		log_warnx("agent %s: its start policy could not start it: %s;"
		    " again in %llus", m->name, error,
		    (unsigned long long)(m->backoff / 1000));
	} else {
		/* The backoff goes once the session has lived (ended()). */
		m->hold_until = 0;
		m->started_at = wall_ms();
		m->down = POLICY_DOWN_NONE;
	}
	policy_event(m, "started", error);
	evaluate(m);
}

static void
stopped(void *arg, const char *error, const char *id)
{
	struct magent	*m = arg;

	(void)id;
	m->busy = 0;
	if (error != NULL)
		log_warnx("agent %s: its stop policy could not stop it: %s",
		    m->name, error);
	else
		m->down = POLICY_DOWN_POLICY;
	policy_event(m, "stopped", error);
	evaluate(m);
}

static void
on_check(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	evaluate(arg);
}

/* Ask the agent's policies what to do now, and do it. */
static void
evaluate(struct magent *m)
{
	struct policy		p;
	struct policy_input	in;
	enum policy_action	act;
	uint64_t		next = 0;
	struct timeval		tv;
	char			err[256];

	if (m->mail == NULL || m->check == NULL ||
	    policy_store_get(m->name, &p, NULL) == -1)
		return;
	/* An inbox not yet counted whole decides nothing: soon again. */
	if (!mailroom_ready(m->mail)) {
		evtimer_del(m->check);
		timeval_ms(&tv, MANAGER_RECOUNT_MS);
		evtimer_add(m->check, &tv);
		return;
	}
	memset(&in, 0, sizeof(in));
	in.running = m->running;
	in.session = tmux_link_up(m->name);
	in.attached = tmux_link_attached(m->name) > 0;
	in.busy = m->busy;
	in.act = m->act.state;
	in.act_since = m->act.since;
	in.inbox = mailroom_inbox(m->mail);
	in.inbox_seen = m->inbox_seen;
	in.down = m->down;
	in.hold_until = m->hold_until;
	in.now = wall_ms();
	act = policy_decide(&p, &in, &next);
	evtimer_del(m->check);
	if (next > in.now) {
		timeval_ms(&tv, next - in.now);
		evtimer_add(m->check, &tv);
	}
	switch (act) {
	case POLICY_START:
		log_info("agent %s: started by its start policy (%s)",
		    m->name, policy_start_name(p.start));
		m->busy = 1;
		tmux_link_start(m->name, started, m);
		break;
	case POLICY_STOP:
		log_info("agent %s: stopped by its stop policy", m->name);
		m->busy = 1;
		m->started_at = 0;	/* its own stop is no failed start */
		if (agent_take_down(m->name, stopped, m, err,
		    sizeof(err)) == -1) {
			m->busy = 0;
			log_warnx("agent %s: its stop policy could not stop "
			    "it: %s", m->name, err);
		}
		break;
	default:
		break;
	}
}

static void
on_policy(const char *agent, const struct policy *p, void *arg)
{
	struct magent	*m;

	(void)p;
	(void)arg;
	if ((m = find(agent, 0)) == NULL)
		return;
	m->down = POLICY_DOWN_NONE;	/* a changed policy applies anew */
	m->hold_until = 0;
	m->backoff = 0;
	evaluate(m);
}

/* A person's session -d: as a start policy's, busy while it runs. */
struct person_start {
	struct magent	*m;
	manager_done_fn	 fn;
	void		*arg;
};

static void
person_started(void *arg, const char *error)
{
	struct person_start	*ps = arg;
	struct magent		*m = ps->m;

	m->busy = 0;
	m->starter = NULL;
	if (ps->fn != NULL)
		ps->fn(ps->arg, error);
	free(ps);
	evaluate(m);
}

int
manager_start(const char *agent, manager_done_fn fn, void *arg, char *err,
    size_t errlen)
{
	struct magent		*m = find(agent, 0);
	struct person_start	*ps;

	if (m == NULL || m->mail == NULL) {
		snprintf(err, errlen, "no agent %s is configured and enabled",
		    agent);
		return (-1);
	}
	if (m->busy) {
		snprintf(err, errlen, "agent %s: a start or stop is under way",
		    agent);
		return (-1);
	}
	manager_person(agent, 1);
	ps = xcalloc(1, sizeof(*ps));
	ps->m = m;
	ps->fn = fn;
	ps->arg = arg;
	m->busy = 1;
	m->starter = ps;
	tmux_link_start(agent, person_started, ps);
	return (0);
}

void
manager_start_cancel(void *arg)
{
	struct magent	*m;

	TAILQ_FOREACH(m, &m_agents, entry)
		if (m->starter != NULL && m->starter->arg == arg)
			m->starter->fn = NULL;
}

void
manager_person(const char *agent, int up)
{
	struct magent	*m;

	if ((m = find(agent, 0)) == NULL)
		return;
	m->down = up ? POLICY_DOWN_NONE : POLICY_DOWN_PERSON;
	m->hold_until = 0;
	m->backoff = 0;
	m->started_at = 0;
	evaluate(m);
}

/* ---- configuration ---- */

void
manager_init(struct event_base *base)
{
	m_base = base;
	tmux_link_init(base, &link_cb, NULL);
	policy_store_observe(on_policy, NULL);
}

/* The agent goes (forgotten, or qmsd stops): a session -d is told. */
static void
drop_starter(struct magent *m, const char *why)
{
	struct person_start	*ps = m->starter;

	if (ps == NULL)
		return;
	m->starter = NULL;
	m->busy = 0;
	tmux_link_cancel(ps);
	if (ps->fn != NULL)
		ps->fn(ps->arg, why);
	free(ps);
}

static void
unconfigure(struct magent *m)
{
	free(m->mail_key);
	m->mail_key = NULL;
	mailroom_close(m->mail);
	m->mail = NULL;
	if (m->check != NULL)
		event_free(m->check);
	m->check = NULL;
	if (m->keep != NULL) {
		if (m->keep_dirty)
			activity_save(m);
		event_free(m->keep);
	}
	m->keep_dirty = 0;
	m->keep = NULL;
}

void
manager_configure(const struct config *c)
{
	const struct agent_conf	*ac;
	struct magent		*m;
	struct mailroom_conf	 mc;
	char			*state, *key;
	size_t			 i;

	free(m_state_dir);
	m_state_dir = xstrdup(c->state_dir);
	TAILQ_FOREACH(m, &m_agents, entry)
		m->seen = 0;
	for (i = 0; i < c->nagents; i++) {
		ac = &c->agents[i];
		if (!ac->enabled || (m = find(ac->name, 1)) == NULL)
			continue;
		/* New to this qmsd: what the last one knew. */
		if (m->act.since == 0)
			activity_load(m);
		m->seen = 1;
		xasprintf(&state, "%s/agents/%s/deliveries", c->state_dir,
		    ac->name);
		/* A reload makes its mail anew only when what it is made of
		 * changed: a new inbox would report every item anew. */
		xasprintf(&key, "%s\n%s\n%s\n%s\n%u:%u", c->project_root,
		    ac->inbox, state, ac->notice, (unsigned)c->run_as_uid,
		    (unsigned)c->run_as_gid);
		if (m->mail != NULL && strcmp(m->mail_key, key) == 0) {
			free(key);
			free(state);
			continue;
		}
		unconfigure(m);
		m->mail_key = key;
		memset(&mc, 0, sizeof(mc));
		mc.agent = ac->name;
		mc.root = c->project_root;
		mc.inbox = ac->inbox;
		mc.uid = c->run_as_uid;
		mc.gid = c->run_as_gid;
		mc.state = state;
		mc.notice = ac->notice;
		m->mail = mailroom_open(m_base, &mc, mail_event, m);
		free(state);
		m->check = evtimer_new(m_base, on_check, m);
		m->keep = evtimer_new(m_base, on_keep, m);
		mailroom_linked(m->mail, tmux_link_up(m->name));
		tell_mail(m);
	}
	TAILQ_FOREACH(m, &m_agents, entry)
		if (!m->seen) {
			drop_starter(m, "the agent is no longer configured");
			unconfigure(m);
		}
	/* The policies decide as things are seen: containers, links. */
	TAILQ_FOREACH(m, &m_agents, entry)
		evaluate(m);
}

int
manager_notify(const char *agent, const char *text, manager_done_fn fn,
    void *arg, char *err, size_t errlen)
{
	struct magent	*m = find(agent, 0);

	if (m == NULL || m->mail == NULL) {
		snprintf(err, errlen, "no agent %s is configured and enabled",
		    agent);
		return (-1);
	}
	return (mailroom_notify(m->mail, text, fn, arg, err, errlen));
}

void
manager_cancel(void *arg)
{
	struct magent	*m;

	TAILQ_FOREACH(m, &m_agents, entry)
		if (m->mail != NULL)
			mailroom_cancel(m->mail, arg);
}

void
manager_forget(const char *agent)
{
	struct magent	*m;

	if ((m = find(agent, 0)) == NULL)
		return;
	drop_starter(m, "the agent is no longer configured");
	unconfigure(m);
	tmux_link_cancel(m);
	TAILQ_REMOVE(&m_agents, m, entry);
	free(m);
}

void
manager_stop(void)
{
	struct magent	*m;

	policy_store_observe(NULL, NULL);
	while ((m = TAILQ_FIRST(&m_agents)) != NULL) {
		TAILQ_REMOVE(&m_agents, m, entry);
		drop_starter(m, "qmsd is stopping");
		unconfigure(m);
		tmux_link_cancel(m);
		agent_unwait(m);
		free(m);
	}
}

void
manager_shutdown(void)
{
	manager_stop();
	events_shutdown();
	free(m_state_dir);
	m_state_dir = NULL;
}

void
manager_ps(const char *agent, cJSON *row)
{
	static const struct activity_state	 none;
	const struct magent			*m = find(agent, 0);

	add_activity(m != NULL ? &m->act : &none, row);
	if (m != NULL && m->mail != NULL)
		mailroom_ps(m->mail, row);
}
