#include <sys/queue.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "agent.h"
#include "agent-host.h"
#include "agent-socket.h"
#include "agent-spec.h"
#include "argv.h"
#include "component.h"
#include "config.h"
#include "definition-watch.h"
#include "docker.h"
#include "egress-audit.h"
#include "log.h"
#include "events.h"
#include "manager.h"
#include "masks.h"
#include "policy-store.h"
#include "restart.h"
#include "token.h"
#include "url.h"
#include "util.h"

#define AG_MAX_WAITERS	16

/* The words `status` and `ps` print. */
enum ag_state {
	AG_UNKNOWN,		/* docker not reachable: we cannot tell */
	AG_MISSING,		/* no container */
	AG_CREATING,
	AG_STARTING,
	AG_RUNNING,
	AG_STOPPING,
	AG_STOPPED,		/* exited, as asked or by hand */
	AG_LOST,		/* docker went away while qmsd had it up */
	AG_BACKOFF,		/* exited unexpectedly; will start again */
	AG_FAILED,		/* gave up, or cannot be made */
	AG_DISABLED,
};

static const char *const ag_state_names[] = {
	[AG_UNKNOWN] = "unknown",
	[AG_MISSING] = "missing",
	[AG_CREATING] = "creating",
	[AG_STARTING] = "starting",
	[AG_RUNNING] = "running",
	[AG_STOPPING] = "stopping",
	[AG_STOPPED] = "stopped",
	[AG_LOST] = "lost",
	[AG_BACKOFF] = "backoff",
	[AG_FAILED] = "failed",
	[AG_DISABLED] = "disabled",
};

static const enum health ag_health[] = {
	[AG_UNKNOWN] = HEALTH_WARNING,
	[AG_MISSING] = HEALTH_OK,
	[AG_CREATING] = HEALTH_WARNING,
	[AG_STARTING] = HEALTH_WARNING,
	[AG_RUNNING] = HEALTH_OK,
	[AG_STOPPING] = HEALTH_WARNING,
	[AG_STOPPED] = HEALTH_OK,
	[AG_LOST] = HEALTH_WARNING,
	[AG_BACKOFF] = HEALTH_WARNING,
	[AG_FAILED] = HEALTH_CRITICAL,
	[AG_DISABLED] = HEALTH_NONE,
};

/* What can happen to an agent; agent_handle takes each in every state. */
enum ag_event {
	AG_EV_UP,		/* qmsctl up, or a session wants it */
	AG_EV_DOWN,		/* qmsctl down */
	AG_EV_STEP,		/* Docker answered a request of up */
	AG_EV_STOPPED,		/* Docker answered down's stop */
	AG_EV_LISTED,		/* the resync found its container */
	AG_EV_UNLISTED,		/* the resync found none */
	AG_EV_DOCKER_READY,	/* the resync is over */
	AG_EV_DOCKER_UNREACHABLE,
	AG_EV_START,		/* Docker's container events */
	AG_EV_OOM,
	AG_EV_KILL,
	AG_EV_DIE,
	AG_EV_DIED_ASKED,	/* Docker answered (or not) after a SIGTERM */
	AG_EV_DESTROY,
	AG_EV_BACKOFF_DONE,
	AG_EV_STABLE,		/* ran stable-after */
	AG_EV_RECHECK,		/* its configuration or the host may differ */
	AG_EV_CONFIGURED,	/* (re)configured and enabled */
	AG_EV_DISABLED,		/* configured with enabled = no */
	AG_EV_REMOVED,		/* no longer configured */
};

/* What an event carries; each uses what it names. */
struct ag_input {
	const struct docker_reply	*reply;	/* STEP, STOPPED, DIED_ASKED */
	const char			*id;	/* LISTED, START */
	const char			*state;	/* LISTED: Docker's word */
	const char			*made;	/* LISTED: its config label */
	const char			*why;	/* DOWN, UNREACHABLE */
	int				 force;	/* UP */
	int				 code;	/* DIE: exit code; KILL: signal */
};

/* The steps of `up`, each one Docker request. */
enum ag_step {
	STEP_NONE,
	STEP_MASKS,		/* git's word on tracked templates (templates.h) */
	STEP_VOLUME_CONFIG,
	STEP_VOLUME_PROJECTS,
	STEP_INSPECT,
	STEP_TOP,		/* what runs in a container to recreate */
	STEP_REMOVE,
	STEP_CREATE,
	STEP_START,
	STEP_CONFIRM,
};

/* A request of an up's or a down's, and which one it is of. */
struct ag_ticket {
	struct agent		*agent;
	unsigned int		 gen;
	TAILQ_ENTRY(ag_ticket)	 entry;
};

struct agent {
	char			 name[40];
	struct component	*comp;
	struct agent_conf	 conf;		/* a deep copy */
	enum ag_state		 state;		/* written by agent_enter alone */
	enum ag_step		 step;
	char			 id[80];
	char			 hash[AGENT_HASH_LEN];	/* of the spec */
	/* The label of its container: which configuration made it. */
	char			 made[AGENT_HASH_LEN];
	char			*spec;		/* the create body */
	int			 force;
	/*
	 * An up of qmsd's own, after a change in the configuration or the
	 * repository: it recreates a running container only when one of
	 * the configured masks is not in it yet, and otherwise leaves it.
	 */
	int			 masks_only;
	int			 expect_stop;
	int			 kill_signal;	/* 15: a docker stop by hand */
	int			 oom;
	unsigned int		 restarts;
	struct restart_state	 rs;
	char			 last_exit[96];
	uint64_t		 started_ms;	/* monotonic: for its uptime */
	long			 pid1;	/* STEP_TOP: Docker's State.Pid */
	int			 init;	/* STEP_TOP: Docker's init is pid1 */
	struct event		*timer;
	struct event		*stable;	/* running long enough */
	struct {
		agent_up_done	 fn;
		void		*arg;
		int		 attach;	/* AGENT_UP_ATTACH */
	}			 waiters[AG_MAX_WAITERS];
	size_t			 nwaiters;
	int			 stale;		/* no longer configured */
	int			 up_pending;	/* asked before docker answered */
	int			 seen;		/* in the last container list */
	int			 inflight;	/* Docker requests that name it */
	/*
	 * Which up or down is current: each of their requests carries it,
	 * and an answer to one given up meanwhile is only counted.
	 */
	unsigned int		 gen;
	TAILQ_HEAD(, ag_ticket)	 tickets;	/* the answers it waits for */
	char			 checking;	/* check_config waits for masks */
	TAILQ_ENTRY(agent)	 entry;
};

static TAILQ_HEAD(, agent) agents = TAILQ_HEAD_INITIALIZER(agents);
static struct event_base *ag_base;
static struct masks	*ag_masks;
/* The host facts of the live configuration, copied. */
static struct agent_host ag_host;
static char		*ag_root, *ag_state_dir;
static char		 ag_port_host[80], ag_port_bridge[80];
static char		 ag_port_relay[80];
/* [qms-mcp] url's HOST:PORT when it is on loopback, else "". */
static char		 ag_qms_loopback[300];
/* A change in the repository: the running agents compare, a little later. */
static struct event	*ag_recheck;
static struct definition_watch	*ag_definitions;
#define AG_RECHECK_MS	5000

static void	agent_handle(struct agent *, enum ag_event,
		    const struct ag_input *);
static void	agent_free(struct agent *);
static void	recheck_all(void);
static void	up_begin(struct agent *, int);

static void
agent_publish(struct agent *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * On the host's network an agent reaches every loopback port, the QMS
 * server's among them, and can talk to it past the gateway with any
 * identity it likes.  Said in its status row; its health is untouched,
 * since the configuration asked for it.
 */
static void
agent_warn(struct agent *a)
{
	struct component	*q = component_find("qms-mcp");
	char			 w[512];

	if (a->state == AG_DISABLED || strcmp(a->conf.network, "host") != 0 ||
	    ag_qms_loopback[0] == '\0' || q == NULL ||
	    strcmp(component_state(q), "disabled") == 0) {
		component_set_field(a->comp, "warning", cJSON_CreateNull());
		return;
	}
	snprintf(w, sizeof(w), "network = host: this agent can reach the QMS "
	    "server at %s directly, past the gateway, and claim any identity; "
	    "use network = none", ag_qms_loopback);
	component_set_field(a->comp, "warning", cJSON_CreateString(w));
}

static int	recreate_pending(const struct agent *);

/* Its activity (manager.h) in its status row, as in ps. */
static void
activity_fields(struct agent *a)
{
	cJSON	*row = cJSON_CreateObject(), *f;
	char	 key[64];

	manager_ps(a->name, row);
	while ((f = row->child) != NULL) {
		/* Its own name would be freed as it is replaced: a copy. */
		snprintf(key, sizeof(key), "%s", f->string);
		component_set_field(a->comp, key,
		    cJSON_DetachItemViaPointer(row, f));
	}
	cJSON_Delete(row);
}

static void
agent_publish(struct agent *a, const char *fmt, ...)
{
	char		detail[512];
	va_list		ap;
	enum health	h = ag_health[a->state];

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	/*
	 * A container that no longer matches its configuration (new masks,
	 * a new token, other mounts) runs with the old one until it is made
	 * again, which a session in it holds off: a warning, not ok.
	 */
	if (h == HEALTH_OK && recreate_pending(a))
		h = HEALTH_WARNING;
	component_set(a->comp, ag_state_names[a->state], h, "%s", detail);
	component_set_restarts(a->comp, a->restarts);
	component_set_field(a->comp, "container", a->id[0] != '\0' ?
	    cJSON_CreateString(a->id) : cJSON_CreateNull());
	/* Cleared with the exit it reported: the container runs again. */
	component_set_field(a->comp, "last_exit", a->last_exit[0] != '\0' ?
	    cJSON_CreateString(a->last_exit) : cJSON_CreateNull());
	component_set_field(a->comp, "egress", egress_audit_counts(a->name));
	activity_fields(a);
	agent_warn(a);
}

/* The one writer of a->state: every transition is logged. */
static void	(*ag_on_running)(const char *, void *);
static void	*ag_on_running_arg;

void
agent_on_running(void (*fn)(const char *, void *), void *arg)
{
	ag_on_running = fn;
	ag_on_running_arg = arg;
}

static void
agent_enter(struct agent *a, enum ag_state next, const char *why)
{
	int	running = next == AG_RUNNING && a->state != AG_RUNNING;

	if (a->state != next)
		log_info("agent %s: %s -> %s: %s", a->name,
		    ag_state_names[a->state], ag_state_names[next], why);
	a->state = next;
	/* Claude runs only in a running container (or one not yet known). */
	manager_container(a->name, next == AG_RUNNING || next == AG_UNKNOWN ||
	    next == AG_STOPPING);
	if (running && ag_on_running != NULL)
		ag_on_running(a->name, ag_on_running_arg);
}

static struct agent *
agent_find(const char *name)
{
	struct agent	*a;

	TAILQ_FOREACH(a, &agents, entry)
		if (!a->stale && strcmp(a->name, name) == 0)
			return (a);
	return (NULL);
}

/* Answer everyone waiting on `up` (or `down`). */
static void
agent_settle(struct agent *a, const char *error)
{
	size_t	i, n = a->nwaiters;
	char	why[600];

	a->nwaiters = 0;
	a->step = STEP_NONE;
	a->gen++;		/* whatever is still on its way is not theirs */
	if (error != NULL)
		snprintf(why, sizeof(why), "agent %s: %s", a->name, error);
	for (i = 0; i < n; i++)
		a->waiters[i].fn(a->waiters[i].arg, error != NULL ? why : NULL,
		    a->id);
}

static void
agent_fail(struct agent *a, const char *why)
{
	agent_enter(a, AG_FAILED, why);
	agent_publish(a, "%s", why);
	agent_settle(a, why);
}

static void
agent_timer(struct event *ev, uint64_t ms)
{
	struct timeval	tv;

	timeval_ms(&tv, ms);
	evtimer_add(ev, &tv);
}

/* ---- what the container gets ---- */

/*
 * The base URL of qmsd's listener as this agent's container sees it: on
 * network = none, the relay to its own socket (agent-socket.h).
 */
static const char *
base_url(const struct agent_conf *c)
{
	if (strcmp(c->network, "none") == 0)
		return (ag_port_relay);
	return (strcmp(c->network, "host") == 0 ? ag_port_host :
	    ag_port_bridge);
}

cJSON *
agent_mcp_config(const char *name, char *err, size_t errlen)
{
	struct agent	*a = NULL;
	const char	*tok, *base;
	char		 url[256], auth[128], buf[TOKEN_LEN + 2];
	cJSON		*o, *servers, *srv, *h;
	const char	*names[] = { "qms", "git" };
	int		 i;

	if (name != NULL) {
		if ((a = agent_find(name)) == NULL) {
			snprintf(err, errlen, "no agent \"%s\"", name);
			return (NULL);
		}
		base = base_url(&a->conf);
		/* An agent's token exists once its container was made. */
		if (agent_host_read_token(&ag_host, a->name, buf,
		    sizeof(buf)) == -1) {
			snprintf(err, errlen, "agent %s has no token yet: "
			    "bring it up first", name);
			return (NULL);
		}
		tok = buf;
	} else {
		base = ag_port_host;
		tok = token_host();
	}
	if (base[0] == '\0') {
		snprintf(err, errlen, "no [http] listen address for this "
		    "network");
		return (NULL);
	}
	snprintf(auth, sizeof(auth), "Bearer %s", tok);
	o = cJSON_CreateObject();
	servers = cJSON_AddObjectToObject(o, "mcpServers");
	for (i = 0; i < 2; i++) {
		srv = cJSON_AddObjectToObject(servers, names[i]);
		snprintf(url, sizeof(url), "%s/%s/mcp", base, names[i]);
		cJSON_AddStringToObject(srv, "type", "http");
		cJSON_AddStringToObject(srv, "url", url);
		h = cJSON_AddObjectToObject(srv, "headers");
		cJSON_AddStringToObject(h, "Authorization", auth);
	}
	return (o);
}

/*
 * Its settings.local.json, whose hooks carry its token: written with a
 * new token and before each start, since a container reads the file as
 * it was when it started.
 */
static int
write_settings(struct agent *a, char *err, size_t errlen)
{
	char	buf[TOKEN_LEN + 2], *text;
	int	rv;

	text = agent_settings(base_url(&a->conf), agent_host_read_token(
	    &ag_host, a->name, buf, sizeof(buf)) == 0 ? buf : NULL);
	rv = agent_host_write(&ag_host, a->name, "settings.local.json", text,
	    err, errlen);
	free(text);
	return (rv);
}

/* A new token, its file, and the .mcp.json that carries it. */
static int
rotate_token(struct agent *a, char *err, size_t errlen)
{
	char	 tok[TOKEN_LEN + 1], *text, line[TOKEN_LEN + 2];
	cJSON	*doc;
	int	 rv;

	token_generate(tok);
	snprintf(line, sizeof(line), "%s\n", tok);
	if (agent_host_write(&ag_host, a->name, "token", line, err,
	    errlen) == -1)
		return (-1);
	token_set(a->name, tok);
	if ((doc = agent_mcp_config(a->name, err, errlen)) == NULL)
		return (-1);
	text = cJSON_Print(doc);
	cJSON_Delete(doc);
	rv = agent_host_write(&ag_host, a->name, "mcp.json", text, err,
	    errlen);
	free(text);
	return (rv == -1 ? -1 : write_settings(a, err, errlen));
}

/* After qmsd restarts: the token of an adopted container, from its file. */
static void
load_token(struct agent *a)
{
	char	buf[TOKEN_LEN + 2];

	if (agent_host_read_token(&ag_host, a->name, buf, sizeof(buf)) == 0)
		token_set(a->name, buf);
}

/* ---- up: a chain of Docker requests ---- */

/*
 * A reply for an agent that a reload removed meanwhile: it is freed once
 * nothing of Docker's still names it.
 */
static int
reply_for_stale(struct agent *a)
{
	a->inflight--;
	if (!a->stale)
		return (0);
	agent_settle(a, "the agent was removed from the configuration");
	if (a->inflight == 0) {
		TAILQ_REMOVE(&agents, a, entry);
		agent_free(a);
	}
	return (1);
}

/* The agent a reply is for, or NULL when it is for nobody any more. */
static struct agent *
ticket_take(void *arg)
{
	struct ag_ticket	*t = arg;
	struct agent		*a = t->agent;
	unsigned int		 gen = t->gen;

	TAILQ_REMOVE(&a->tickets, t, entry);
	free(t);
	if (reply_for_stale(a) || gen != a->gen)
		return (NULL);
	return (a);
}

static void
ticket_request(struct agent *a, const char *method, const char *path,
    const char *body, docker_done fn)
{
	struct ag_ticket	*t;

	t = xcalloc(1, sizeof(*t));
	t->agent = a;
	t->gen = a->gen;
	TAILQ_INSERT_TAIL(&a->tickets, t, entry);
	a->inflight++;
	docker_request(method, path, body, fn, t);
}

static void
up_done(const struct docker_reply *r, void *arg)
{
	struct agent	*a;
	struct ag_input	 in = { .reply = r };

	if ((a = ticket_take(arg)) != NULL)
		agent_handle(a, AG_EV_STEP, &in);
}

static void
request(struct agent *a, enum ag_step step, const char *method,
    const char *path, const char *body)
{
	a->step = step;
	ticket_request(a, method, path, body, up_done);
}

/* Docker's named volume, owned by the agent's uid so it can write. */
static void
own_volume(const struct docker_reply *r, int config)
{
	const cJSON	*mp;

	mp = cJSON_GetObjectItemCaseSensitive(r->json, "Mountpoint");
	if (cJSON_IsString(mp))
		agent_host_own_volume(&ag_host, mp->valuestring, config);
}

static void
volume_request(struct agent *a, enum ag_step step, const char *prefix)
{
	char	body[256];

	snprintf(body, sizeof(body), "{\"Name\":\"%s-%s\",\"Labels\":"
	    "{\"%s\":\"%s\"}}", prefix, a->name, DOCKER_LABEL_AGENT, a->name);
	request(a, step, "POST", "/volumes/create", body);
}

/*
 * A running container made from another configuration than the one in
 * force: the next up would recreate it, and says so first.
 */
static int
recreate_pending(const struct agent *a)
{
	return (a->state == AG_RUNNING && a->made[0] != '\0' &&
	    a->hash[0] != '\0' && strcmp(a->made, a->hash) != 0);
}

#define AG_PENDING	"config changed: qmsctl up --force recreates"

static void
running_publish(struct agent *a)
{
	agent_publish(a, "running %s (%.12s)%s", a->conf.image, a->id,
	    recreate_pending(a) ? ", " AG_PENDING : "");
}

static void
now_running(struct agent *a, const char *why)
{
	a->started_ms = now_ms();
	agent_enter(a, AG_RUNNING, why);
	running_publish(a);
	agent_timer(a->stable, a->conf.restart.stable_after);
}

/*
 * The hash of what the configuration makes now, for a running container,
 * so that status shows a pending recreate before anyone asks for one.
 * The same work as an up's first step (the masks are kept between walks),
 * after git's word on the templates, as an up waits for it too: a check
 * without it would mask a template and show a recreate that is not.
 * It waits under a key of its own (&a->checking), not a's, which an up
 * may wait under at the same time.
 */
static void
check_config_ready(void *arg)
{
	struct agent	*a = (struct agent *)(void *)((char *)arg -
			    offsetof(struct agent, checking));
	char		*spec, hash[AGENT_HASH_LEN], err[512];
	int		 was;

	a->checking = 0;
	if (a->state != AG_RUNNING || a->step != STEP_NONE ||
	    a->made[0] == '\0')
		return;
	was = recreate_pending(a);
	if ((spec = agent_host_spec(&ag_host, &a->conf, ag_masks, hash, err,
	    sizeof(err))) == NULL) {
		/* The next up says the same, and refuses. */
		log_warnx("agent %s: %s", a->name, err);
		return;
	}
	free(spec);
	memcpy(a->hash, hash, sizeof(a->hash));
	if (recreate_pending(a) != was) {
		if (!was)
			log_info("agent %s: configuration changed; %s",
			    a->name, AG_PENDING);
		running_publish(a);
	}
	/*
	 * A path the owner masked since is not left readable until an up:
	 * an up of qmsd's own looks (struct agent: masks_only).
	 */
	if (recreate_pending(a) && argv_count(a->conf.masks) > 0 &&
	    docker_ready()) {
		a->force = 0;
		up_begin(a, 1);
	}
}

static void
check_config(struct agent *a)
{
	if (a->state != AG_RUNNING || a->step != STEP_NONE ||
	    a->made[0] == '\0' || a->checking)
		return;
	a->checking = 1;
	masks_prepare(ag_masks, ag_root, check_config_ready, &a->checking);
}

/* The ps arguments of STEP_TOP: a process's age is what tells. */
#define TOP_PS_ARGS	"-eo%%20pid,ppid,etimes,args"	/* a format */

/*
 * Was pid a made before pid b, both made within a second?  Pids wrap at
 * pid_max (32768 by default: a busy host wraps in seconds), so the
 * smaller is the older only when they are less than half a wrap apart.
 */
static int
pid_before(long a, long b)
{
	static long	 pid_max;
	FILE		*f;

	if (pid_max == 0) {
		pid_max = 32768;
		if ((f = fopen("/proc/sys/kernel/pid_max", "re")) != NULL) {
			if (fscanf(f, "%ld", &pid_max) != 1 || pid_max < 2)
				pid_max = 32768;
			fclose(f);
		}
	}
	return (((b - a) % pid_max + pid_max) % pid_max < pid_max / 2);
}

/*
 * What runs in a container beyond its own processes (Docker's init and
 * the main process, its first child), from GET /containers/{id}/top:
 * how many, and the first few commands in what.  A session, attached or
 * detached in tmux, is such a process; the main process alone never is.
 * The main process is init's oldest child: the lowest pid is not, once
 * pids wrapped between the container's start and a tmux server's.
 */
static int
top_others(const struct agent *a, const cJSON *top, char *what,
    size_t whatlen)
{
	const cJSON	*t, *row;
	int		 ipid = -1, ippid = -1, icmd = -1, iage = -1, i, n = 0;
	long		 main_pid = -1, main_age = -1, pid, ppid, age;
	size_t		 len;

	what[0] = '\0';
	i = 0;
	cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(top, "Titles")) {
		if (cJSON_IsString(t) && strcmp(t->valuestring, "PID") == 0)
			ipid = i;
		else if (cJSON_IsString(t) && strcmp(t->valuestring, "PPID") ==
		    0)
			ippid = i;
		else if (cJSON_IsString(t) && (strcmp(t->valuestring, "CMD") ==
		    0 || strcmp(t->valuestring, "COMMAND") == 0))
			icmd = i;
		else if (cJSON_IsString(t) && strcmp(t->valuestring,
		    "ELAPSED") == 0)
			iage = i;
		i++;
	}
	if (ipid == -1 || ippid == -1 || iage == -1)
		return (-1);
	/* The main process: init's oldest child, or init. */
	cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(top,
	    "Processes")) {
		t = cJSON_GetArrayItem(row, ipid);
		pid = cJSON_IsString(t) ? atol(t->valuestring) : -1;
		t = cJSON_GetArrayItem(row, ippid);
		ppid = cJSON_IsString(t) ? atol(t->valuestring) : -1;
		t = cJSON_GetArrayItem(row, iage);
		age = cJSON_IsString(t) ? atol(t->valuestring) : -1;
		if (!a->init || ppid != a->pid1)
			continue;
		if (main_pid == -1 || age > main_age || (age == main_age &&
		    pid_before(pid, main_pid))) {
			main_pid = pid;
			main_age = age;
		}
	}
	cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(top,
	    "Processes")) {
		t = cJSON_GetArrayItem(row, ipid);
		pid = cJSON_IsString(t) ? atol(t->valuestring) : -1;
		if (pid == a->pid1 || pid == main_pid)
			continue;
		if (n++ >= 3)
			continue;
		t = cJSON_GetArrayItem(row, icmd);
		len = strlen(what);
		snprintf(what + len, whatlen - len, "%s%.40s", n > 1 ? ", " :
		    "", cJSON_IsString(t) ? t->valuestring : "?");
	}
	/*
	 * The agent names its processes: they reach the admin's terminal
	 * as printable ASCII only, never as escape sequences.
	 */
	for (len = 0; what[len] != '\0'; len++)
		if (what[len] < 0x20 || what[len] > 0x7e)
			what[len] = '?';
	if (n > 3) {
		len = strlen(what);
		snprintf(what + len, whatlen - len, " and %d more", n - 3);
	}
	return (n);
}

/* An implicit recreate would end what runs: kept, and the up refused. */
static void
refuse_recreate(struct agent *a, const char *what)
{
	char	err[512];
	size_t	i;

	load_token(a);
	if (a->state != AG_RUNNING)
		now_running(a, "kept: a session runs in it");
	else
		running_publish(a);
	snprintf(err, sizeof(err), "its configuration changed and recreating "
	    "the container would end its running session(s) (%s); qmsctl up "
	    "--force %s recreates it", what, a->name);
	/* A session attaches to what runs there: the kept container. */
	for (i = 0; i < a->nwaiters; i++)
		if (!a->waiters[i].attach)
			break;
	agent_settle(a, i == a->nwaiters && a->nwaiters > 0 ? NULL : err);
}

static void	up_masks_ready(void *);

/*
 * qmsd's own masks-only up, before it decides anything: what happens to
 * the container meanwhile is not its doing, and is taken as it comes.
 */
static int
looking(const struct agent *a)
{
	return (a->masks_only && (a->step == STEP_MASKS ||
	    a->step == STEP_INSPECT));
}

/*
 * Begin (or join) bringing an agent up; masks_only: qmsd's own, which
 * only masks (struct agent).  Joined by any other, it is an up in full.
 */
static void
up_begin(struct agent *a, int masks_only)
{
	if (a->step != STEP_NONE) {
		if (!masks_only)
			a->masks_only = 0;
		return;		/* already on its way */
	}
	a->masks_only = masks_only;
	evtimer_del(a->timer);
	a->step = STEP_MASKS;
	masks_prepare(ag_masks, ag_root, up_masks_ready, a);
}

static void
up_masks_ready(void *arg)
{
	struct agent	*a = arg;
	char		*spec, hash[AGENT_HASH_LEN], err[512];

	if (a->step != STEP_MASKS)
		return;		/* given up meanwhile */
	a->step = STEP_NONE;
	/* The spec decides whether an existing container still fits. */
	if ((spec = agent_host_spec(&ag_host, &a->conf, ag_masks, hash, err,
	    sizeof(err))) == NULL) {
		if (a->masks_only) {
			/* What runs is not failed by a look; an up says it. */
			log_warnx("agent %s: %s", a->name, err);
			agent_settle(a, NULL);
		} else
			agent_fail(a, err);
		return;
	}
	free(a->spec);
	a->spec = spec;
	memcpy(a->hash, hash, sizeof(a->hash));
	if (a->masks_only) {
		/* It runs: its volumes are there; only the container counts. */
		snprintf(err, sizeof(err), "/containers/%s/json",
		    a->conf.container);
		request(a, STEP_INSPECT, "GET", err, NULL);
		return;
	}
	volume_request(a, STEP_VOLUME_CONFIG, "qms-claude-config");
}

/* One answer of Docker's on the way up, and the next request. */
static void
up_step(struct agent *a, const struct docker_reply *r)
{
	const cJSON	*labels, *v, *st;
	char		 path[256], err[512], what[256], *spec;
	int		 running, n;

	switch (a->step) {
	case STEP_NONE:
	case STEP_MASKS:
		return;
	case STEP_VOLUME_CONFIG:
	case STEP_VOLUME_PROJECTS:
		if (r->status != 201 && r->status != 200) {
			snprintf(err, sizeof(err), "cannot make its volume: "
			    "%s", r->error ? r->error : "no answer");
			agent_fail(a, err);
			return;
		}
		own_volume(r, a->step == STEP_VOLUME_CONFIG);
		if (a->step == STEP_VOLUME_CONFIG) {
			volume_request(a, STEP_VOLUME_PROJECTS,
			    "qms-projects");
			return;
		}
		snprintf(path, sizeof(path), "/containers/%s/json",
		    a->conf.container);
		request(a, STEP_INSPECT, "GET", path, NULL);
		return;
	case STEP_INSPECT:
		if (a->masks_only && r->status != 200) {
			agent_settle(a, NULL);	/* the events say the rest */
			return;
		}
		if (r->status == 404) {
			a->id[0] = a->made[0] = '\0';
			goto create;
		}
		if (r->status != 200) {
			agent_fail(a, r->error ? r->error :
			    "no answer from docker");
			return;
		}
		labels = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(r->json, "Config"),
		    "Labels");
		v = cJSON_GetObjectItemCaseSensitive(labels,
		    DOCKER_LABEL_AGENT);
		if (!cJSON_IsString(v) || strcmp(v->valuestring, a->name) != 0) {
			snprintf(err, sizeof(err), "the name %s is taken by a "
			    "container qmsd does not own; remove or rename it "
			    "(docker rm %s)", a->conf.container,
			    a->conf.container);
			agent_fail(a, err);
			return;
		}
		v = cJSON_GetObjectItemCaseSensitive(r->json, "Id");
		snprintf(a->id, sizeof(a->id), "%s", cJSON_IsString(v) ?
		    v->valuestring : "");
		v = cJSON_GetObjectItemCaseSensitive(labels,
		    DOCKER_LABEL_CONFIG);
		snprintf(a->made, sizeof(a->made), "%s", cJSON_IsString(v) ?
		    v->valuestring : "");
		st = cJSON_GetObjectItemCaseSensitive(r->json, "State");
		running = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(st,
		    "Running"));
		n = running && strcmp(a->made, a->hash) != 0 ?
		    agent_spec_newly_masked(a->spec, r->json, a->conf.masks,
		    what, sizeof(what)) : 0;
		if (a->masks_only && n == 0) {
			agent_settle(a, NULL);
			if (running && a->state == AG_RUNNING)
				running_publish(a);
			return;
		}
		if (n > 0) {
			/*
			 * A path the owner masked since: what runs in it reads
			 * it until the container is made anew, sessions or not.
			 */
			log_warnx("agent %s: %s%s is masked now and its "
			    "container still shows it; recreating %s ends "
			    "what runs in it", a->name, what, n > 1 ?
			    " (and more)" : "", a->conf.container);
			goto remove;
		}
		if (strcmp(a->made, a->hash) != 0) {
			if (!running || a->force)
				goto remove;
			/*
			 * Made from another configuration, and running: what
			 * runs in it decides whether recreating loses anything.
			 */
			v = cJSON_GetObjectItemCaseSensitive(st, "Pid");
			a->pid1 = cJSON_IsNumber(v) ? (long)v->valuedouble : -1;
			a->init = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
			    cJSON_GetObjectItemCaseSensitive(r->json,
			    "HostConfig"), "Init"));
			snprintf(path, sizeof(path), "/containers/%s/top?"
			    "ps_args=" TOP_PS_ARGS, a->id);
			request(a, STEP_TOP, "GET", path, NULL);
			return;
		}
		if (running) {
			load_token(a);
			if (a->state != AG_RUNNING)
				now_running(a, "already running");
			else
				running_publish(a);	/* nothing pending */
			agent_settle(a, NULL);
			return;
		}
		goto start;
	case STEP_TOP:
		if (r->status == 409 || r->status == 404) {
			/* It stopped meanwhile: nothing runs to lose. */
			goto remove;
		}
		if (r->status != 200 || (n = top_others(a, r->json, what,
		    sizeof(what))) == -1) {
			snprintf(what, sizeof(what), "qmsd cannot tell what "
			    "runs in it: %s", r->error != NULL ? r->error :
			    "Docker's list of processes is unreadable");
			refuse_recreate(a, what);
			return;
		}
		if (n > 0) {
			refuse_recreate(a, what);
			return;
		}
		goto remove;
	case STEP_REMOVE:
		if (r->status != 204 && r->status != 404) {
			agent_fail(a, r->error ? r->error : "cannot remove");
			return;
		}
		a->id[0] = a->made[0] = '\0';
		goto create;
	case STEP_CREATE:
		if (r->status == 404) {
			snprintf(err, sizeof(err), "image %s is missing; build "
			    "it: sh docker/build-image.sh -t %s (%s)",
			    a->conf.image, a->conf.image, r->error ? r->error :
			    "");
			agent_fail(a, err);
			return;
		}
		if (r->status == 409) {
			snprintf(err, sizeof(err), "the name %s is taken: %s",
			    a->conf.container, r->error ? r->error : "");
			agent_fail(a, err);
			return;
		}
		if (r->status != 201) {
			agent_fail(a, r->error ? r->error : "cannot create");
			return;
		}
		v = cJSON_GetObjectItemCaseSensitive(r->json, "Id");
		snprintf(a->id, sizeof(a->id), "%s", cJSON_IsString(v) ?
		    v->valuestring : "");
		memcpy(a->made, a->hash, sizeof(a->made));
		goto start;
	case STEP_START:
		if (r->status != 204 && r->status != 304) {
			a->expect_stop = 0;
			agent_fail(a, r->error ? r->error : "cannot start");
			return;
		}
		snprintf(path, sizeof(path), "/containers/%s/json", a->id);
		request(a, STEP_CONFIRM, "GET", path, NULL);
		return;
	case STEP_CONFIRM:
		st = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(r->json, "State"),
		    "Running");
		if (!cJSON_IsTrue(st)) {
			agent_fail(a, "the container exited as it started; see "
			    "docker logs");
			return;
		}
		now_running(a, "started");
		agent_settle(a, NULL);
		/* What it made on the host may change the others' specs. */
		recheck_all();
		return;
	}
	return;

remove:
	/* Made from another configuration, and nothing is lost: anew. */
	log_info("agent %s: configuration changed; recreating %s", a->name,
	    a->conf.container);
	a->expect_stop = 1;
	snprintf(path, sizeof(path), "/containers/%s?force=1", a->id);
	request(a, STEP_REMOVE, "DELETE", path, NULL);
	return;
create:
	free(a->spec);
	a->spec = NULL;
	if ((spec = agent_host_spec(&ag_host, &a->conf, ag_masks, a->hash,
	    err, sizeof(err))) == NULL || rotate_token(a, err,
	    sizeof(err)) == -1) {
		a->spec = spec;
		agent_fail(a, err);
		return;
	}
	a->spec = spec;
	a->last_exit[0] = '\0';
	agent_enter(a, AG_CREATING, "creating");
	agent_publish(a, "creating %s from %s", a->conf.container,
	    a->conf.image);
	snprintf(path, sizeof(path), "/containers/create?name=%s",
	    a->conf.container);
	request(a, STEP_CREATE, "POST", path, a->spec);
	return;
start:
	if (write_settings(a, err, sizeof(err)) == -1) {
		agent_fail(a, err);
		return;
	}
	a->expect_stop = 0;
	a->kill_signal = 0;
	a->oom = 0;
	agent_enter(a, AG_STARTING, "starting");
	agent_publish(a, "starting %.12s", a->id);
	snprintf(path, sizeof(path), "/containers/%s/start", a->id);
	request(a, STEP_START, "POST", path, NULL);
}

static void
down_done(const struct docker_reply *r, void *arg)
{
	struct agent	*a;
	struct ag_input	 in = { .reply = r };

	if ((a = ticket_take(arg)) != NULL)
		agent_handle(a, AG_EV_STOPPED, &in);
}

/* ---- what happened to a container ---- */

/* An unexpected exit: backoff, or give up by the policy's count. */
static void
restart_later(struct agent *a, const char *why)
{
	uint64_t	delay;
	size_t		recent;

	if (restart_failure(&a->rs, &a->conf.restart, now_ms(), &delay,
	    &recent) == -1) {
		agent_enter(a, AG_FAILED, "gave up");
		agent_publish(a, "gave up after %zu failures: %s", recent, why);
		return;
	}
	agent_enter(a, AG_BACKOFF, why);
	agent_publish(a, "%s; next start in %.1fs", why, (double)delay / 1000);
	agent_timer(a->timer, delay);
}

/* An agent qmsd had up ended without being asked: its policy decides. */
static void
unexpected_exit(struct agent *a, const char *why, int clean)
{
	log_warnx("agent %s: %s", a->name, why);
	if (a->conf.restart.policy == RESTART_NEVER ||
	    (a->conf.restart.policy == RESTART_ON_FAILURE && clean)) {
		agent_enter(a, clean ? AG_STOPPED : AG_FAILED, why);
		agent_publish(a, "%s; restart = %s", why,
		    a->conf.restart.policy == RESTART_NEVER ? "never" :
		    "on-failure");
		return;
	}
	restart_later(a, why);
}

static void
died_asked(const struct docker_reply *r, void *arg)
{
	struct agent	*a = arg;
	struct ag_input	 in = { .reply = r };

	if (!reply_for_stale(a))
		agent_handle(a, AG_EV_DIED_ASKED, &in);
}

static void
container_died(struct agent *a, int code)
{
	char	why[128], path[256];
	int	clean = code == 0 && !a->oom;

	if (a->oom)
		snprintf(a->last_exit, sizeof(a->last_exit), "killed: out of "
		    "memory (exit %d)", code);
	else
		snprintf(a->last_exit, sizeof(a->last_exit), "exit %d", code);
	if (a->expect_stop || (a->step != STEP_NONE && !looking(a)))
		return;		/* ours: down, or a recreate */
	if (a->kill_signal == 15) {
		/*
		 * A SIGTERM nobody here sent: docker stop by hand, or dockerd
		 * stopping, which stops what runs after closing its socket
		 * to new requests (the events stream lives on meanwhile).
		 * Whether Docker still answers tells which.
		 */
		a->kill_signal = 0;
		snprintf(path, sizeof(path), "/containers/%s/json", a->id);
		a->inflight++;
		docker_request_fresh("GET", path, died_asked, a);
		return;
	}
	snprintf(why, sizeof(why), "container exited unexpectedly (%s)",
	    a->last_exit);
	a->kill_signal = 0;
	unexpected_exit(a, why, clean);
}

/* ---- the agent's state machine ---- */

static void
agent_handle(struct agent *a, enum ag_event ev, const struct ag_input *in)
{
	char	path[256];

	switch (ev) {
	case AG_EV_UP:
		/* One asking --force of an up under way makes it forced. */
		a->force = a->step == STEP_NONE ? in->force :
		    a->force || in->force;
		/* The give-up count starts again; the backoff does not. */
		restart_forget_failures(&a->rs);
		/* While qmsd is still reaching Docker, the up waits for it. */
		if (docker_ready())
			up_begin(a, 0);
		else
			a->up_pending = 1;
		break;
	case AG_EV_DOWN:
		evtimer_del(a->timer);
		if (a->id[0] == '\0') {
			agent_settle(a, NULL);
			break;
		}
		a->expect_stop = 1;
		a->step = STEP_NONE;
		a->gen++;	/* an up's answer, or an earlier down's, is old */
		agent_enter(a, AG_STOPPING, in->why);
		agent_publish(a, "stopping %.12s", a->id);
		snprintf(path, sizeof(path), "/containers/%s/stop?t=10", a->id);
		ticket_request(a, "POST", path, NULL, down_done);
		break;
	case AG_EV_STEP:
		up_step(a, in->reply);
		break;
	case AG_EV_STOPPED:
		if (in->reply->status != 204 && in->reply->status != 304 &&
		    in->reply->status != 404) {
			agent_settle(a, in->reply->error ? in->reply->error :
			    "cannot stop");
			break;
		}
		if (a->state != AG_MISSING) {
			agent_enter(a, AG_STOPPED, "qmsctl down");
			agent_publish(a, "stopped (qmsctl down); volumes kept");
		}
		agent_settle(a, NULL);
		break;
	case AG_EV_LISTED:
		snprintf(a->id, sizeof(a->id), "%s", in->id);
		snprintf(a->made, sizeof(a->made), "%s", in->made != NULL ?
		    in->made : "");
		load_token(a);
		if (in->state != NULL && strcmp(in->state, "running") == 0) {
			if (a->state != AG_RUNNING)
				now_running(a, "adopted");
			check_config(a);
		} else if (a->state == AG_LOST) {
			/*
			 * Docker went away with it (dockerd stops what runs
			 * when it stops): not stopped by anyone, so it comes
			 * back by its policy.
			 */
			unexpected_exit(a, "its container ended while docker "
			    "was away", 0);
		} else if (a->state != AG_BACKOFF && a->state != AG_FAILED &&
		    a->state != AG_STOPPED) {
			/* A restart or a verdict in hand is kept. */
			agent_enter(a, AG_STOPPED, "found stopped");
			agent_publish(a, "stopped (%s); qmsctl up starts it",
			    in->state != NULL ? in->state : "?");
		}
		break;
	case AG_EV_UNLISTED:
		if (a->step != STEP_NONE || !a->conf.enabled ||
		    a->state == AG_FAILED)
			break;
		a->id[0] = a->made[0] = '\0';
		if (a->state == AG_LOST) {
			unexpected_exit(a, "its container went while docker "
			    "was away", 0);
			break;
		}
		agent_enter(a, AG_MISSING, "no container");
		agent_publish(a, "no container; qmsctl up makes one");
		break;
	case AG_EV_DOCKER_READY:
		/* After the resync: an up that waited for Docker goes on. */
		if (a->up_pending) {
			a->up_pending = 0;
			up_begin(a, 0);
		}
		break;
	case AG_EV_DOCKER_UNREACHABLE:
		a->up_pending = 0;
		if (a->step != STEP_NONE || a->nwaiters > 0) {
			a->step = STEP_NONE;
			agent_settle(a, in->why);
		}
		switch (a->state) {
		case AG_DISABLED:
			break;
		case AG_CREATING:
		case AG_STARTING:
		case AG_RUNNING:
		case AG_BACKOFF:
		case AG_LOST:
			/* qmsd had it up: it comes back with docker. */
			evtimer_del(a->timer);
			agent_enter(a, AG_LOST, "docker unreachable");
			agent_publish(a, "%s; it was up: back by its restart "
			    "policy once docker is", in->why);
			break;
		default:
			agent_enter(a, AG_UNKNOWN, "docker unreachable");
			agent_publish(a, "%s", in->why);
			break;
		}
		break;
	case AG_EV_START:
		if (a->id[0] == '\0')
			snprintf(a->id, sizeof(a->id), "%s", in->id);
		if (a->step == STEP_NONE)
			now_running(a, "started");
		break;
	case AG_EV_OOM:
		a->oom = 1;
		break;
	case AG_EV_KILL:
		/*
		 * docker stop sends SIGTERM first (then SIGKILL when it must);
		 * docker kill sends SIGKILL alone.  A SIGTERM nobody here
		 * asked for is someone stopping the agent by hand.
		 */
		if (!a->expect_stop && in->code == 15)
			a->kill_signal = 15;
		break;
	case AG_EV_DIE:
		container_died(a, in->code);
		break;
	case AG_EV_DIED_ASKED:
		/* Taken meanwhile: by an up, or Docker's going already. */
		if (a->state != AG_RUNNING || (a->step != STEP_NONE &&
		    !looking(a)) || cJSON_IsTrue(
		    cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(in->reply->json, "State"),
		    "Running")))
			break;
		if (in->reply->status == 0) {
			/* dockerd is stopping, and took it down on its way. */
			agent_enter(a, AG_LOST, "docker stopping");
			agent_publish(a, "docker is stopping (it stopped the "
			    "container: %s); back by its restart policy once "
			    "docker is", a->last_exit);
			break;
		}
		/* docker stop by hand: reported, not undone. */
		agent_enter(a, AG_STOPPED, "stopped outside qmsd");
		agent_publish(a, "stopped outside qmsd (docker stop): %s; "
		    "qmsctl up starts it again", a->last_exit);
		break;
	case AG_EV_DESTROY:
		if (a->step != STEP_NONE && !looking(a))
			break;		/* ours: a recreate */
		a->id[0] = a->made[0] = '\0';
		agent_enter(a, AG_MISSING, "container removed");
		agent_publish(a, "no container (removed); qmsctl up makes one");
		break;
	case AG_EV_BACKOFF_DONE:
		if (a->state != AG_BACKOFF || !docker_ready())
			break;
		a->restarts++;
		up_begin(a, 0);
		break;
	case AG_EV_STABLE:
		/* Up long enough: past failures no longer lengthen the backoff. */
		if (a->state == AG_RUNNING)
			restart_stable(&a->rs);
		break;
	case AG_EV_RECHECK:
		check_config(a);
		break;
	case AG_EV_CONFIGURED:
		if (a->state == AG_DISABLED)
			agent_enter(a, AG_UNKNOWN, "enabled");
		if (a->state == AG_UNKNOWN)
			agent_publish(a, "waiting for docker");
		break;
	case AG_EV_DISABLED:
		agent_enter(a, AG_DISABLED, "enabled = no");
		agent_publish(a, "enabled = no");
		break;
	case AG_EV_REMOVED:
		/* Its token stops working; it goes once Docker is done. */
		if (a->inflight == 0) {
			TAILQ_REMOVE(&agents, a, entry);
			agent_free(a);
		} else
			agent_settle(a, "the agent was removed from the "
			    "configuration");
		break;
	}
}

/*
 * The directories of the agents' definitions watched, those made since
 * the last time included: a definition edited in place changes what an
 * agent would be made from, and no mask sees that.
 */
static void
watch_definitions(void)
{
	struct agent	 *a;
	const char	**paths;
	size_t		  n = 0;

	TAILQ_FOREACH(a, &agents, entry)
		n++;
	paths = xcalloc(n + 1, sizeof(*paths));
	n = 0;
	TAILQ_FOREACH(a, &agents, entry)
		if (!a->stale && a->conf.enabled)
			paths[n++] = a->conf.definition;
	definition_watch_set(ag_definitions, ag_root, paths, n);
	free(paths);
}

/* Every running agent compares its container with what it would make. */
static void
recheck_all(void)
{
	struct agent	*a;

	watch_definitions();
	TAILQ_FOREACH(a, &agents, entry)
		if (!a->stale)
			agent_handle(a, AG_EV_RECHECK, NULL);
}

static void
agent_on_timer(evutil_socket_t fd, short ev, void *arg)
{
	agent_handle(arg, AG_EV_BACKOFF_DONE, NULL);
}

static void
agent_on_stable(evutil_socket_t fd, short ev, void *arg)
{
	agent_handle(arg, AG_EV_STABLE, NULL);
}

/* ---- what people ask ---- */

int
agent_known(const char *name)
{
	return (agent_find(name) != NULL);
}

int
agent_bring_up(const char *name, int force, agent_up_done fn, void *arg,
    char *err, size_t errlen)
{
	struct agent	*a;
	struct ag_input	 in = { .force = force == AGENT_UP_FORCE };

	if ((a = agent_find(name)) == NULL) {
		snprintf(err, errlen, "no agent \"%s\"", name);
		return (-1);
	}
	if (!a->conf.enabled) {
		snprintf(err, errlen, "agent %s is disabled (enabled = no)",
		    name);
		return (-1);
	}
	if (!docker_ready() && !docker_connecting()) {
		snprintf(err, errlen, "docker is unreachable: %s",
		    docker_why());
		return (-1);
	}
	if (a->nwaiters == AG_MAX_WAITERS) {
		snprintf(err, errlen, "too many waiting on agent %s", name);
		return (-1);
	}
	if (a->state == AG_STOPPING) {
		snprintf(err, errlen, "agent %s is stopping; up again once it "
		    "has stopped", name);
		return (-1);
	}
	a->waiters[a->nwaiters].fn = fn;
	a->waiters[a->nwaiters].attach = force == AGENT_UP_ATTACH;
	a->waiters[a->nwaiters++].arg = arg;
	agent_handle(a, AG_EV_UP, &in);
	return (0);
}

int
agent_take_down(const char *name, agent_up_done fn, void *arg, char *err,
    size_t errlen)
{
	struct agent	*a;
	struct ag_input	 in = { .why = "qmsctl down" };

	if ((a = agent_find(name)) == NULL) {
		snprintf(err, errlen, "no agent \"%s\"", name);
		return (-1);
	}
	if (!docker_ready()) {
		snprintf(err, errlen, "docker is unreachable: %s",
		    docker_why());
		return (-1);
	}
	if (a->step != STEP_NONE || a->nwaiters > 0) {
		/* An up under way ends here, and says so. */
		agent_settle(a, "interrupted by qmsctl down");
	}
	a->waiters[a->nwaiters].fn = fn;
	a->waiters[a->nwaiters].attach = 0;
	a->waiters[a->nwaiters++].arg = arg;
	agent_handle(a, AG_EV_DOWN, &in);
	return (0);
}

int
agent_info(const char *name, char *id, size_t idlen, char ***command,
    char *user, size_t userlen)
{
	struct agent	*a;
	char		 err[128];

	if ((a = agent_find(name)) == NULL || a->id[0] == '\0')
		return (-1);
	snprintf(id, idlen, "%s", a->id);
	snprintf(user, userlen, "%u:%u", (unsigned)ag_host.uid,
	    (unsigned)ag_host.gid);
	if (argv_split(a->conf.command, command, err, sizeof(err)) <= 0) {
		argv_free(*command);
		*command = NULL;
		return (-1);
	}
	return (0);
}

/* ---- Docker's events, and resynchronising after (re)connecting ---- */

static void
agent_on_event(const cJSON *ev, void *arg)
{
	const cJSON	*type, *action, *actor, *attrs, *name, *id, *v;
	struct agent	*a;
	const char	*act;
	struct ag_input	 in = { .code = -1 };

	type = cJSON_GetObjectItemCaseSensitive(ev, "Type");
	action = cJSON_GetObjectItemCaseSensitive(ev, "Action");
	actor = cJSON_GetObjectItemCaseSensitive(ev, "Actor");
	attrs = cJSON_GetObjectItemCaseSensitive(actor, "Attributes");
	name = cJSON_GetObjectItemCaseSensitive(attrs, DOCKER_LABEL_AGENT);
	id = cJSON_GetObjectItemCaseSensitive(actor, "ID");
	if (!cJSON_IsString(type) || strcmp(type->valuestring, "container") !=
	    0 || !cJSON_IsString(action) || !cJSON_IsString(name) ||
	    !cJSON_IsString(id) || (a = agent_find(name->valuestring)) == NULL)
		return;
	if (a->id[0] != '\0' && strcmp(a->id, id->valuestring) != 0)
		return;		/* an old container of the agent's */
	act = action->valuestring;
	log_debug("agent %s: docker event %s", a->name, act);
	in.id = id->valuestring;
	if (strcmp(act, "start") == 0)
		agent_handle(a, AG_EV_START, &in);
	else if (strcmp(act, "oom") == 0)
		agent_handle(a, AG_EV_OOM, &in);
	else if (strncmp(act, "kill", 4) == 0) {
		v = cJSON_GetObjectItemCaseSensitive(attrs, "signal");
		if (cJSON_IsString(v)) {
			in.code = atoi(v->valuestring);
			agent_handle(a, AG_EV_KILL, &in);
		}
	} else if (strcmp(act, "die") == 0) {
		v = cJSON_GetObjectItemCaseSensitive(attrs, "exitCode");
		in.code = cJSON_IsString(v) ? atoi(v->valuestring) : -1;
		agent_handle(a, AG_EV_DIE, &in);
	} else if (strcmp(act, "destroy") == 0)
		agent_handle(a, AG_EV_DESTROY, &in);
}

static void
list_done(const struct docker_reply *r, void *arg)
{
	const cJSON	*c, *labels, *v, *id, *state;
	struct agent	*a, *tmp;
	struct ag_input	 in;

	if (r->status != 200)
		goto ready;
	TAILQ_FOREACH(a, &agents, entry)
		a->seen = 0;
	cJSON_ArrayForEach(c, r->json) {
		labels = cJSON_GetObjectItemCaseSensitive(c, "Labels");
		v = cJSON_GetObjectItemCaseSensitive(labels,
		    DOCKER_LABEL_AGENT);
		id = cJSON_GetObjectItemCaseSensitive(c, "Id");
		state = cJSON_GetObjectItemCaseSensitive(c, "State");
		if (!cJSON_IsString(v) || !cJSON_IsString(id) ||
		    (a = agent_find(v->valuestring)) == NULL ||
		    a->step != STEP_NONE || !a->conf.enabled)
			continue;
		/* Its own container, if it knows one; else the first. */
		if (a->seen || (a->id[0] != '\0' && strcmp(a->id,
		    id->valuestring) != 0 && a->state != AG_UNKNOWN))
			continue;
		a->seen = 1;
		memset(&in, 0, sizeof(in));
		in.id = id->valuestring;
		in.state = cJSON_IsString(state) ? state->valuestring : NULL;
		v = cJSON_GetObjectItemCaseSensitive(labels,
		    DOCKER_LABEL_CONFIG);
		in.made = cJSON_IsString(v) ? v->valuestring : NULL;
		agent_handle(a, AG_EV_LISTED, &in);
	}
	TAILQ_FOREACH(a, &agents, entry)
		if (!a->seen && !a->stale)
			agent_handle(a, AG_EV_UNLISTED, NULL);
ready:
	for (a = TAILQ_FIRST(&agents); a != NULL; a = tmp) {
		tmp = TAILQ_NEXT(a, entry);
		agent_handle(a, AG_EV_DOCKER_READY, NULL);
	}
}

/* Docker could not be reached: whoever waits is told why. */
static void
agent_on_docker_unreachable(void *arg)
{
	struct agent	*a;
	char		 why[512];
	struct ag_input	 in = { .why = why };

	snprintf(why, sizeof(why), "docker is unreachable: %s",
	    docker_why());
	TAILQ_FOREACH(a, &agents, entry)
		agent_handle(a, AG_EV_DOCKER_UNREACHABLE, &in);
}

static void
agent_on_docker_ready(void *arg)
{
	char	path[256];

	snprintf(path, sizeof(path), "/containers/json?all=1&filters=%%7B%%22"
	    "label%%22%%3A%%5B%%22%s%%22%%5D%%7D", DOCKER_LABEL_AGENT);
	docker_request("GET", path, NULL, list_done, NULL);
}

/* ---- configuration ---- */

static void
conf_copy(struct agent_conf *dst, const struct agent_conf *src)
{
	*dst = *src;
	dst->name = xstrdup(src->name);
	dst->image = xstrdup(src->image);
	dst->container = xstrdup(src->container);
	dst->command = xstrdup(src->command);
	dst->network = xstrdup(src->network);
	dst->egress = xstrdup(src->egress);
	dst->env_file = src->env_file ? xstrdup(src->env_file) : NULL;
	dst->secrets = xargv_copy(src->secrets);
	dst->secret_repos = xargv_copy(src->secret_repos);
	dst->secret_push_refs = xargv_copy(src->secret_push_refs);
	dst->mounts = xargv_copy(src->mounts);
	dst->masks = xargv_copy(src->masks);
	dst->git_user_name = xstrdup(src->git_user_name);
	dst->git_user_email = xstrdup(src->git_user_email);
	dst->git_committer_name = src->git_committer_name ?
	    xstrdup(src->git_committer_name) : NULL;
	dst->git_committer_email = src->git_committer_email ?
	    xstrdup(src->git_committer_email) : NULL;
	dst->push_refs = src->push_refs ? xargv_copy(src->push_refs) : NULL;
}

static void
conf_free(struct agent_conf *c)
{
	free(c->name);
	free(c->image);
	free(c->container);
	free(c->command);
	free(c->network);
	free(c->egress);
	free(c->env_file);
	argv_free(c->secrets);
	argv_free(c->secret_repos);
	argv_free(c->secret_push_refs);
	argv_free(c->mounts);
	argv_free(c->masks);
	free(c->git_user_name);
	free(c->git_user_email);
	free(c->git_committer_name);
	free(c->git_committer_email);
	argv_free(c->push_refs);
}

static void
agent_free(struct agent *a)
{
	struct ag_ticket	*t;

	agent_settle(a, "qmsd is shutting down");
	/* Docker's requests were dropped unanswered (docker_shutdown). */
	while ((t = TAILQ_FIRST(&a->tickets)) != NULL) {
		TAILQ_REMOVE(&a->tickets, t, entry);
		free(t);
	}
	masks_unwait(ag_masks, a);
	masks_unwait(ag_masks, &a->checking);
	event_free(a->timer);
	event_free(a->stable);
	component_remove(a->comp);
	token_remove(a->name);
	manager_forget(a->name);
	conf_free(&a->conf);
	free(a->spec);
	free(a);
}

/* Where qmsd listens, as a URL from the host and from a bridge. */
static void
listen_urls(const struct config *c)
{
	char	host[64];
	int	port, i;

	ag_port_host[0] = ag_port_bridge[0] = '\0';
	snprintf(ag_port_relay, sizeof(ag_port_relay), "http://127.0.0.1:%d",
	    AGENT_RELAY_PORT);
	for (i = 0; c->http.listen[i] != NULL; i++) {
		if (listen_parse(c->http.listen[i], host, sizeof(host),
		    &port) == -1)
			continue;
		if (strcmp(host, "docker-bridge") == 0) {
			snprintf(ag_port_bridge, sizeof(ag_port_bridge),
			    "http://host.docker.internal:%d", port);
			continue;
		}
		if (ag_port_host[0] == '\0')
			snprintf(ag_port_host, sizeof(ag_port_host),
			    strchr(host, ':') ? "http://[%s]:%d" :
			    "http://%s:%d", host, port);
		if (ag_port_bridge[0] == '\0')
			snprintf(ag_port_bridge, sizeof(ag_port_bridge),
			    "http://host.docker.internal:%d", port);
	}
}

/* Whether a URL's host is on loopback: 127.0.0.0/8, ::1, localhost. */
static void
qms_loopback(const struct config *c)
{
	char		host[256];
	struct in_addr	a4;
	struct in6_addr	a6;
	int		port, lo = 0;

	ag_qms_loopback[0] = '\0';
	/* enabled = no: nothing listens (the supervisor may still be stopping). */
	if (c->qms_mcp.enabled == TRI_NO || c->qms_mcp.url == NULL || url_host_port(c->qms_mcp.url, host,
	    sizeof(host), &port) == -1)
		return;
	if (strcasecmp(host, "localhost") == 0)
		lo = 1;
	else if (inet_pton(AF_INET, host, &a4) == 1)
		lo = (ntohl(a4.s_addr) >> 24) == 127;
	else if (inet_pton(AF_INET6, host, &a6) == 1)
		lo = IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) &&
		    a6.s6_addr[12] == 127);
	if (lo)
		snprintf(ag_qms_loopback, sizeof(ag_qms_loopback),
		    strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
}

void
agent_configure(const struct config *c)
{
	struct agent	*a, *tmp;
	size_t		 i;
	char		 cname[64];
	int		 needed = 0;

	free(ag_root);
	free(ag_state_dir);
	ag_root = xstrdup(c->project_root);
	ag_state_dir = xstrdup(c->state_dir);
	ag_host.root = ag_root;
	ag_host.state_dir = ag_state_dir;
	ag_host.uid = c->run_as_uid;
	ag_host.gid = c->run_as_gid;
	masks_configure(ag_masks, c);
	listen_urls(c);
	qms_loopback(c);

	TAILQ_FOREACH(a, &agents, entry)
		a->stale = 1;
	for (i = 0; i < c->nagents; i++) {
		TAILQ_FOREACH(a, &agents, entry)
			if (strcmp(a->name, c->agents[i].name) == 0)
				break;
		if (a == NULL) {
			a = xcalloc(1, sizeof(*a));	/* AG_UNKNOWN */
			TAILQ_INIT(&a->tickets);
			snprintf(a->name, sizeof(a->name), "%s",
			    c->agents[i].name);
			snprintf(cname, sizeof(cname), "agent:%s", a->name);
			a->comp = component_add(cname);
			a->timer = evtimer_new(ag_base, agent_on_timer, a);
			a->stable = evtimer_new(ag_base, agent_on_stable, a);
			TAILQ_INSERT_TAIL(&agents, a, entry);
		} else
			conf_free(&a->conf);
		a->stale = 0;
		conf_copy(&a->conf, &c->agents[i]);
		if (!a->conf.enabled) {
			agent_handle(a, AG_EV_DISABLED, NULL);
			continue;
		}
		needed = 1;
		agent_handle(a, AG_EV_CONFIGURED, NULL);
		agent_warn(a);	/* the network or the QMS URL may have changed */
	}
	for (a = TAILQ_FIRST(&agents); a != NULL; a = tmp) {
		tmp = TAILQ_NEXT(a, entry);
		if (a->stale)
			agent_handle(a, AG_EV_REMOVED, NULL);
	}
	watch_definitions();
	docker_configure(needed, c->docker.socket);
	if (docker_ready())
		agent_on_docker_ready(NULL);
}

static void
agent_on_recheck(evutil_socket_t fd, short ev, void *arg)
{
	recheck_all();
}

/*
 * The masks changed (a secret appeared or went, a directory was made), or
 * a definition did: a running container may no longer be what its agent
 * would make.  Not at
 * once: the walk this costs happens at most once per AG_RECHECK_MS, since
 * the masks watch nothing more until walked again.
 */
static void
agent_on_masks_change(void *arg)
{
	struct timeval	tv = { AG_RECHECK_MS / 1000, 0 };

	if (!evtimer_pending(ag_recheck, NULL))
		evtimer_add(ag_recheck, &tv);
}

/* The egress proxy moved something of an agent's: its row says so. */
static void
agent_on_egress(const char *name)
{
	struct agent	*a;

	if ((a = agent_find(name)) != NULL)
		component_set_field(a->comp, "egress",
		    egress_audit_counts(name));
}

/* Its activity changed: its status row says the same as ps. */
static void
agent_on_activity(const cJSON *event, void *arg)
{
	const cJSON	*name = cJSON_GetObjectItemCaseSensitive(event, "agent");
	struct agent	*a;

	if (cJSON_IsString(name) && (a = agent_find(name->valuestring)) !=
	    NULL)
		activity_fields(a);
}

void
agent_init(struct event_base *base)
{
	ag_base = base;
	ag_masks = masks_new(base);
	ag_recheck = evtimer_new(base, agent_on_recheck, NULL);
	masks_on_change(ag_masks, agent_on_masks_change, NULL);
	ag_definitions = definition_watch_new(base, agent_on_masks_change,
	    NULL);
	docker_on_event(agent_on_event, NULL);
	docker_on_ready(agent_on_docker_ready, NULL);
	docker_on_unreachable(agent_on_docker_unreachable, NULL);
	egress_audit_set_hook(agent_on_egress);
	events_observe(NULL, agent_on_activity, NULL);
}

void
agent_shutdown(void)
{
	struct agent	*a;

	while ((a = TAILQ_FIRST(&agents)) != NULL) {
		TAILQ_REMOVE(&agents, a, entry);
		agent_free(a);
	}
	masks_free(ag_masks);
	ag_masks = NULL;
	definition_watch_free(ag_definitions);
	ag_definitions = NULL;
	if (ag_recheck != NULL)
		event_free(ag_recheck);
	ag_recheck = NULL;
	free(ag_root);
	free(ag_state_dir);
}

cJSON *
agent_ps(void)
{
	struct agent	*a;
	cJSON		*list, *o;
	char		 user[32];

	list = cJSON_CreateArray();
	TAILQ_FOREACH(a, &agents, entry) {
		if (a->stale)
			continue;
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "agent", a->name);
		cJSON_AddStringToObject(o, "state", ag_state_names[a->state]);
		if (recreate_pending(a))
			cJSON_AddStringToObject(o, "pending", AG_PENDING);
		else
			cJSON_AddNullToObject(o, "pending");
		cJSON_AddStringToObject(o, "container", a->id);
		cJSON_AddStringToObject(o, "name", a->conf.container);
		cJSON_AddStringToObject(o, "image", a->conf.image);
		cJSON_AddStringToObject(o, "command", a->conf.command);
		snprintf(user, sizeof(user), "%u:%u", (unsigned)ag_host.uid,
		    (unsigned)ag_host.gid);
		cJSON_AddStringToObject(o, "user", user);
		cJSON_AddNumberToObject(o, "uptime", a->state == AG_RUNNING &&
		    a->started_ms > 0 ? (double)((now_ms() - a->started_ms) / 1000) :
		    0);
		cJSON_AddNumberToObject(o, "restarts", a->restarts);
		cJSON_AddStringToObject(o, "last_exit", a->last_exit);
		cJSON_AddItemToObject(o, "egress", egress_audit_counts(a->name));
		cJSON_AddItemToObject(o, "policy", policy_store_json(a->name));
		manager_ps(a->name, o);
		cJSON_AddItemToArray(list, o);
	}
	return (list);
}

int
agent_recreate_pending(const char *name)
{
	struct agent	*a;

	return ((a = agent_find(name)) != NULL && recreate_pending(a));
}

const char *
agent_container(const char *name)
{
	struct agent	*a = agent_find(name);

	return (a != NULL && a->id[0] != '\0' ? a->id : NULL);
}

void
agent_unwait(void *arg)
{
	struct agent	*a;
	size_t		 i;

	TAILQ_FOREACH(a, &agents, entry) {
		for (i = 0; i < a->nwaiters; i++) {
			if (a->waiters[i].arg != arg)
				continue;
			memmove(&a->waiters[i], &a->waiters[i + 1],
			    (a->nwaiters - i - 1) * sizeof(a->waiters[0]));
			a->nwaiters--;
			i--;
		}
	}
}
