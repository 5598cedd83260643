/*
 * qmsd's link to each agent's tmux session; see tmux-link.h.
 */
#include <sys/queue.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include <cjson/cJSON.h>

#include "agent.h"
#include "docker.h"
#include "docker-stream.h"
#include "launch.h"
#include "log.h"
#include "session.h"
#include "tmux-control.h"
#include "tmux-link.h"
#include "util.h"

#define LINK_OPEN_MS		30000	/* the exec up, tmux's first answer */
#define LINK_RETRIES		8	/* after a session's exec began */
#define LINK_RETRY_MIN_MS	100
#define LINK_RETRY_MAX_MS	2000
#define LINK_MAX_JOBS		32
#define LINK_MAX_STARTERS	8
#define LINK_MAX_LINES		4
#define LINK_LINE		(2 * 4096 + 64)	/* a quoted text at most */

enum link_state { LINK_OPENING, LINK_UP };

struct link;

/* One waiter's commands, sent one at a time, each answered by tmux. */
struct job {
	TAILQ_ENTRY(job)	 entry;
	char			*lines[LINK_MAX_LINES];
	size_t			 nlines, next;
	tmux_link_done		 done;		/* NULL: its asker left */
	void			*arg;
};

struct link {
	TAILQ_ENTRY(link)	 entry;
	char			 agent[40];
	enum link_state		 state;
	int			 headless;
	int			 opening;	/* a session.c request */
	int			 retries;	/* attempts left to adopt */
	uint64_t		 backoff;
	struct event		*retry;
	struct bufferevent	*bev;
	struct docker_stream	 ds;
	struct tmux_control	 tc;
	struct event		*deadline;
	int			 sent;		/* the head job's line is out */
	TAILQ_HEAD(, job)	 jobs;
	size_t			 njobs;
	struct {
		tmux_link_done	 done;
		void		*arg;
	}			 starters[LINK_MAX_STARTERS];
	size_t			 nstarters;
	char			 stderr_line[160];
	size_t			 nstderr;
	char			 end[300];	/* why it ends, once known */
};

static struct event_base		*tl_base;
static const struct tmux_link_cb	*tl_cb;
static void				*tl_cb_arg;
static int				 tl_shutting;

/*
 * The execs of persons' sessions (qmsctl session, --via-docker too) that
 * Docker said began and has not said ended: a person is attached.
 */
#define LINK_MAX_PERSONS	256
static struct {
	char	agent[40];
	char	exec[80];
} tl_persons[LINK_MAX_PERSONS];
static size_t				 tl_npersons;

static void
persons_told(const char *agent)
{
	if (tl_cb != NULL && tl_cb->persons != NULL)
		tl_cb->persons(agent, tl_cb_arg);
}

int
tmux_link_attached(const char *agent)
{
	size_t	i, n = 0;

	for (i = 0; i < tl_npersons; i++)
		if (strcmp(tl_persons[i].agent, agent) == 0)
			n++;
	return ((int)n);
}

/* The container ended: whoever was attached is not any more. */
static void
persons_gone(const char *agent)
{
	size_t	i;
	int	any = 0;

	for (i = 0; i < tl_npersons;)
		if (strcmp(tl_persons[i].agent, agent) == 0) {
			tl_persons[i] = tl_persons[--tl_npersons];
			any = 1;
		} else
			i++;
	if (any)
		persons_told(agent);
}

/* A person's session began (exec_start) or an exec ended (exec_die). */
static void
persons_event(const char *agent, const char *exec, int began)
{
	size_t	i;

	if (exec[0] == '\0' || strlen(agent) >= sizeof(tl_persons[0].agent) ||
	    strlen(exec) >= sizeof(tl_persons[0].exec))
		return;
	for (i = 0; i < tl_npersons; i++)
		if (strcmp(tl_persons[i].exec, exec) == 0)
			break;
	if (!began) {
		if (i == tl_npersons)
			return;		/* not a person's */
		tl_persons[i] = tl_persons[--tl_npersons];
		persons_told(agent);
		return;
	}
	/* Past the bound the oldest goes: a count low, never stuck high. */
	if (i < tl_npersons)
		return;
	if (tl_npersons == LINK_MAX_PERSONS)
		memmove(&tl_persons[0], &tl_persons[1],
		    --tl_npersons * sizeof(tl_persons[0]));
	snprintf(tl_persons[tl_npersons].agent, sizeof(tl_persons[0].agent),
	    "%s", agent);
	snprintf(tl_persons[tl_npersons].exec, sizeof(tl_persons[0].exec),
	    "%s", exec);
	tl_npersons++;
	persons_told(agent);
}
static TAILQ_HEAD(, link) links = TAILQ_HEAD_INITIALIZER(links);

static void	link_open(struct link *);
static void	link_send(struct link *);

static struct link *
link_find(const char *agent)
{
	struct link	*l;

	TAILQ_FOREACH(l, &links, entry)
		if (strcmp(l->agent, agent) == 0)
			return (l);
	return (NULL);
}

static void
job_free(struct job *j)
{
	size_t	i;

	for (i = 0; i < j->nlines; i++)
		free(j->lines[i]);
	free(j);
}

static void
job_answer(struct link *l, struct job *j, const char *error)
{
	TAILQ_REMOVE(&l->jobs, j, entry);
	l->njobs--;
	if (j->done != NULL)
		j->done(j->arg, error);
	job_free(j);
}

static void
starters_answer(struct link *l, const char *error)
{
	size_t	i, n = l->nstarters;

	l->nstarters = 0;
	for (i = 0; i < n; i++)
		if (l->starters[i].done != NULL)
			l->starters[i].done(l->starters[i].arg, error);
}

static void
link_close_stream(struct link *l)
{
	if (l->bev != NULL)
		bufferevent_free(l->bev);	/* closes: tmux's client leaves */
	l->bev = NULL;
	if (l->deadline != NULL)
		evtimer_del(l->deadline);
	l->sent = 0;
	memset(&l->ds, 0, sizeof(l->ds));
	l->nstderr = 0;
	l->stderr_line[0] = '\0';
}

static void
link_free(struct link *l)
{
	struct job	*j;
	char		 why[400];

	link_close_stream(l);
	snprintf(why, sizeof(why), "the tmux session of agent %s ended%s%s",
	    l->agent, l->end[0] != '\0' ? ": " : "", l->end);
	while ((j = TAILQ_FIRST(&l->jobs)) != NULL)
		job_answer(l, j, why);
	/* A start that never came up is told why, as it came. */
	starters_answer(l, l->state == LINK_UP ? why : l->end);
	if (l->retry != NULL)
		event_free(l->retry);
	if (l->deadline != NULL)
		event_free(l->deadline);
	TAILQ_REMOVE(&links, l, entry);
	free(l);
}

/*
 * The stream ended (or never began): an up link's session is gone; an
 * opening one failed, and may become a headless start or try again.
 */
static void
link_end(struct link *l)
{
	struct timeval	tv;
	char		agent[sizeof(l->agent)];

	if (l->end[0] == '\0')
		snprintf(l->end, sizeof(l->end), "%s", l->stderr_line[0] ?
		    l->stderr_line : "its exec ended");
	if (l->state == LINK_UP) {
		log_info("tmux-link: agent %s: tmux session gone (%s)",
		    l->agent, l->end);
		snprintf(agent, sizeof(agent), "%s", l->agent);
		link_free(l);
		if (tl_cb != NULL && tl_cb->gone != NULL)
			tl_cb->gone(agent, tl_cb_arg);
		return;
	}
	log_debug("tmux-link: agent %s: no link: %s", l->agent, l->end);
	link_close_stream(l);
	if (!l->headless && l->nstarters > 0) {
		/* A start waited on an adoption that found nothing. */
		l->headless = 1;
		l->end[0] = '\0';
		link_open(l);
		return;
	}
	if (!l->headless && l->retries > 0) {
		l->retries--;
		l->end[0] = '\0';
		timeval_ms(&tv, l->backoff);
		l->backoff = l->backoff * 2 > LINK_RETRY_MAX_MS ?
		    LINK_RETRY_MAX_MS : l->backoff * 2;
		evtimer_add(l->retry, &tv);
		return;
	}
	link_free(l);
}

static void
link_up(struct link *l)
{
	char	 agent[sizeof(l->agent)];

	l->state = LINK_UP;
	evtimer_del(l->deadline);
	log_info("tmux-link: agent %s: linked to its tmux session%s",
	    l->agent, l->headless ? " (headless start)" : "");
	starters_answer(l, NULL);
	if (tl_cb != NULL && tl_cb->linked != NULL)
		tl_cb->linked(l->agent, l->headless, tl_cb_arg);
	/* Its callbacks may have queued work. */
	snprintf(agent, sizeof(agent), "%s", l->agent);
	if ((l = link_find(agent)) != NULL)
		link_send(l);
}

/* tmux answered a command: its first, or one of ours. */
static void
on_reply(void *arg, int flags, int ok, const char *first)
{
	struct link	*l = arg;
	struct job	*j;
	char		 why[TMUX_CONTROL_LINE + 64];

	if (l->end[0] != '\0')
		return;
	if (flags == 0) {
		if (l->state == LINK_UP)
			return;
		if (ok)
			link_up(l);
		else
			snprintf(l->end, sizeof(l->end), "tmux: %s", first[0] ?
			    first : "refused");
		return;
	}
	if ((j = TAILQ_FIRST(&l->jobs)) == NULL || !l->sent) {
		snprintf(l->end, sizeof(l->end), "tmux answered a command "
		    "never sent");
		return;
	}
	l->sent = 0;
	evtimer_del(l->deadline);
	if (!ok) {
		snprintf(why, sizeof(why), "tmux: %s", first[0] ? first :
		    "the command failed");
		job_answer(l, j, why);
	} else if (++j->next == j->nlines)
		job_answer(l, j, NULL);
	link_send(l);
}

static void
on_tmux_exit(void *arg, const char *reason)
{
	struct link	*l = arg;

	if (l->end[0] == '\0')
		snprintf(l->end, sizeof(l->end), "tmux: %%exit%s%s",
		    reason[0] ? " " : "", reason);
}

static const struct tmux_control_cb control_cb = {
	.reply = on_reply,
	.exit = on_tmux_exit,
};

static void
on_frame(void *arg, int kind, const char *data, size_t len)
{
	struct link	*l = arg;
	size_t		 i;

	if (kind == 1) {
		tmux_control_feed(&l->tc, data, len);
		return;
	}
	/* stderr: its first line says why tmux would not run. */
	for (i = 0; i < len && l->nstderr < sizeof(l->stderr_line) - 1; i++) {
		if (data[i] == '\n') {
			l->nstderr = sizeof(l->stderr_line) - 1;
			break;
		}
		l->stderr_line[l->nstderr++] = data[i] >= ' ' ? data[i] : ' ';
		l->stderr_line[l->nstderr] = '\0';
	}
}

static void
link_feed(struct link *l, const char *data, size_t len)
{
	if (docker_stream_feed(&l->ds, data, len, on_frame, l) == -1 &&
	    l->end[0] == '\0')
		snprintf(l->end, sizeof(l->end), "the exec's stream is not "
		    "framed");
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct link	*l = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	char		 buf[4096];
	int		 n;

	while (l->end[0] == '\0' && (n = evbuffer_remove(in, buf,
	    sizeof(buf))) > 0)
		link_feed(l, buf, (size_t)n);
	if (l->end[0] != '\0')
		link_end(l);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct link	*l = arg;

	if (l->end[0] == '\0' && (what & BEV_EVENT_ERROR))
		snprintf(l->end, sizeof(l->end), "its exec's connection "
		    "failed");
	link_end(l);
}

static void
on_deadline(evutil_socket_t fd, short ev, void *arg)
{
	struct link	*l = arg;
	char		 agent[sizeof(l->agent)];
	int		 up = l->state == LINK_UP;

	snprintf(l->end, sizeof(l->end), "tmux did not answer within %d s",
	    (up ? TMUX_LINK_COMMAND_MS : LINK_OPEN_MS) / 1000);
	log_warnx("tmux-link: agent %s: %s", l->agent, l->end);
	snprintf(agent, sizeof(agent), "%s", l->agent);
	link_end(l);
	/* The link is what broke; the session may well be there. */
	if (up)
		tmux_link_adopt(agent);
}

/* The head job's next line, unless one is out. */
static void
link_send(struct link *l)
{
	struct job	*j;
	struct timeval	 tv;

	if (l->state != LINK_UP || l->sent || l->bev == NULL ||
	    (j = TAILQ_FIRST(&l->jobs)) == NULL)
		return;
	bufferevent_write(l->bev, j->lines[j->next], strlen(j->lines[j->next]));
	bufferevent_write(l->bev, "\n", 1);
	l->sent = 1;
	timeval_ms(&tv, TMUX_LINK_COMMAND_MS);
	evtimer_add(l->deadline, &tv);
}

static void
opened(void *arg, const char *error, int fd, const char *pending,
    size_t npending)
{
	struct link	*l = arg;
	struct timeval	 tv;

	if (tl_shutting) {
		if (fd != -1)
			close(fd);
		return;
	}
	l->opening = 0;
	if (error != NULL) {
		snprintf(l->end, sizeof(l->end), "%s", error);
		link_end(l);
		return;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	l->bev = bufferevent_socket_new(tl_base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(l->bev, on_read, NULL, on_event, l);
	bufferevent_enable(l->bev, EV_READ | EV_WRITE);
	tmux_control_init(&l->tc, &control_cb, l);
	timeval_ms(&tv, LINK_OPEN_MS);
	evtimer_add(l->deadline, &tv);
	if (npending > 0) {
		link_feed(l, pending, npending);
		if (l->end[0] != '\0')
			link_end(l);
	}
}

static void
link_open(struct link *l)
{
	l->opening = 1;
	if (l->headless)
		session_headless(l->agent, TMUX_LINK_ROWS, TMUX_LINK_COLS,
		    opened, l);
	else
		session_link(l->agent, LINK_OPEN_MS, opened, l);
}

static void
on_retry(evutil_socket_t fd, short ev, void *arg)
{
	link_open(arg);
}

static struct link *
link_new(const char *agent, int headless)
{
	struct link	*l;

	l = xcalloc(1, sizeof(*l));
	snprintf(l->agent, sizeof(l->agent), "%s", agent);
	l->state = LINK_OPENING;
	l->headless = headless;
	l->backoff = LINK_RETRY_MIN_MS;
	l->retry = evtimer_new(tl_base, on_retry, l);
	l->deadline = evtimer_new(tl_base, on_deadline, l);
	TAILQ_INIT(&l->jobs);
	TAILQ_INSERT_TAIL(&links, l, entry);
	return (l);
}

void
tmux_link_start(const char *agent, tmux_link_done done, void *arg)
{
	struct link	*l;

	if ((l = link_find(agent)) != NULL && l->state == LINK_UP) {
		done(arg, NULL);
		return;
	}
	if (l != NULL && l->nstarters == LINK_MAX_STARTERS) {
		done(arg, "too many starts waiting");
		return;
	}
	if (l == NULL)
		l = link_new(agent, 1);
	l->starters[l->nstarters].done = done;
	l->starters[l->nstarters++].arg = arg;
	/* New, or between attempts to adopt: start (-A joins one there). */
	if (!l->opening && l->bev == NULL) {
		evtimer_del(l->retry);
		l->headless = 1;
		link_open(l);
	}
}

static void
adopt(const char *agent, int retries)
{
	struct link	*l;

	if ((l = link_find(agent)) != NULL) {
		if (l->retries < retries)
			l->retries = retries;
		return;
	}
	l = link_new(agent, 0);
	l->retries = retries;
	link_open(l);
}

void
tmux_link_adopt(const char *agent)
{
	adopt(agent, 0);
}

int
tmux_link_up(const char *agent)
{
	struct link	*l = link_find(agent);

	return (l != NULL && l->state == LINK_UP);
}

static int
queue(const char *agent, const char **lines, size_t n, tmux_link_done done,
    void *arg, char *err, size_t errlen)
{
	struct link	*l = link_find(agent);
	struct job	*j;
	size_t		 i;

	if (l == NULL || l->state != LINK_UP) {
		snprintf(err, errlen, "agent %s has no tmux session", agent);
		return (-1);
	}
	if (l->njobs == LINK_MAX_JOBS) {
		snprintf(err, errlen, "agent %s: %d texts wait to be typed "
		    "already", agent, LINK_MAX_JOBS);
		return (-1);
	}
	j = xcalloc(1, sizeof(*j));
	for (i = 0; i < n; i++)
		j->lines[i] = xstrdup(lines[i]);
	j->nlines = n;
	j->done = done;
	j->arg = arg;
	TAILQ_INSERT_TAIL(&l->jobs, j, entry);
	l->njobs++;
	link_send(l);
	return (0);
}

int
tmux_link_type(const char *agent, const char *text, int clear,
    tmux_link_done done, void *arg, char *err, size_t errlen)
{
	char		 quoted[LINK_LINE - 32], set[LINK_LINE];
	const char	*lines[4];
	size_t		 n = 0;

	if (tmux_quote(text, quoted, sizeof(quoted)) == -1) {
		snprintf(err, errlen, "only one line of printable text, at "
		    "most %zu bytes, is typed", (sizeof(quoted) - 3) / 4);
		return (-1);
	}
	/* What an earlier try left in the line goes first. */
	if (clear)
		lines[n++] = "send-keys -t agent C-u";
	/* A buffer of qmsd's own, deleted by the paste (-d). */
	snprintf(set, sizeof(set), "set-buffer -b qmsd -- %s", quoted);
	lines[n++] = set;
	lines[n++] = "paste-buffer -p -d -b qmsd -t agent";
	lines[n++] = "send-keys -t agent Enter";
	return (queue(agent, lines, n, done, arg, err, errlen));
}

int
tmux_link_enter(const char *agent, tmux_link_done done, void *arg,
    char *err, size_t errlen)
{
	const char	*line = "send-keys -t agent Enter";

	return (queue(agent, &line, 1, done, arg, err, errlen));
}

void
tmux_link_cancel(void *arg)
{
	struct link	*l;
	struct job	*j;
	size_t		 i;

	TAILQ_FOREACH(l, &links, entry) {
		/* Answers still come for them: only their asker goes. */
		TAILQ_FOREACH(j, &l->jobs, entry)
			if (j->arg == arg)
				j->done = NULL;
		for (i = 0; i < l->nstarters; i++)
			if (l->starters[i].arg == arg)
				l->starters[i].done = NULL;
	}
}

/* Docker's events: a session's exec began (tmux follows it shortly). */
static void
on_docker_event(const cJSON *ev, void *arg)
{
	const cJSON	*type, *action, *attrs, *name, *exec;
	const char	*prefix = "exec_start: ", *id;

	type = cJSON_GetObjectItemCaseSensitive(ev, "Type");
	action = cJSON_GetObjectItemCaseSensitive(ev, "Action");
	attrs = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(ev, "Actor"), "Attributes");
	name = cJSON_GetObjectItemCaseSensitive(attrs, DOCKER_LABEL_AGENT);
	exec = cJSON_GetObjectItemCaseSensitive(attrs, "execID");
	id = cJSON_IsString(exec) ? exec->valuestring : "";
	if (!cJSON_IsString(type) || strcmp(type->valuestring, "container") !=
	    0 || !cJSON_IsString(action) || !cJSON_IsString(name) ||
	    !agent_known(name->valuestring))
		return;
	if (strcmp(action->valuestring, "exec_die") == 0) {
		persons_event(name->valuestring, id, 0);
		return;
	}
	if (strcmp(action->valuestring, "die") == 0) {
		persons_gone(name->valuestring);
		return;
	}
	if (strncmp(action->valuestring, prefix, strlen(prefix)) != 0 ||
	    !launch_is_session(action->valuestring + strlen(prefix)))
		return;
	persons_event(name->valuestring, id, 1);
	adopt(name->valuestring, LINK_RETRIES);
}

/* Out of agent.c's transition, on the loop's next turn. */
static void
on_running_later(evutil_socket_t fd, short ev, void *arg)
{
	char	*agent = arg;

	if (!tl_shutting)
		adopt(agent, 0);
	free(agent);
}

static void
on_running(const char *agent, void *arg)
{
	event_base_once(tl_base, -1, EV_TIMEOUT, on_running_later,
	    xstrdup(agent), NULL);
}

void
tmux_link_init(struct event_base *base, const struct tmux_link_cb *cb,
    void *arg)
{
	tl_base = base;
	tl_cb = cb;
	tl_cb_arg = arg;
	docker_on_event(on_docker_event, NULL);
	agent_on_running(on_running, NULL);
}

void
tmux_link_shutdown(void)
{
	struct link	*l;

	tl_shutting = 1;
	while ((l = TAILQ_FIRST(&links)) != NULL) {
		if (l->opening)
			session_abandon(l);
		snprintf(l->end, sizeof(l->end), "qmsd is shutting down");
		link_free(l);
	}
}
