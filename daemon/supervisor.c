#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "argv.h"
#include "component.h"
#include "config.h"
#include "log.h"
#include "logring.h"
#include "probe.h"
#include "process.h"
#include "restart.h"
#include "supervisor.h"
#include "url.h"
#include "util.h"

#define SV_STARTING_PROBE_MS	25	/* probe often until ready: a refused
					   connect costs little, a late ready
					   up to this much */
#define SV_LOG_LINES		1000
#define SV_MAX_LINE		4096

enum sv_state {
	SV_STOPPED,
	SV_STARTING,
	SV_READY,
	SV_UNHEALTHY,
	SV_BACKOFF,
	SV_STOPPING,
	SV_FAILED,
	SV_DISABLED,
};

static const char *const sv_state_names[] = {
	[SV_STOPPED] = "stopped",
	[SV_STARTING] = "starting",
	[SV_READY] = "ready",
	[SV_UNHEALTHY] = "unhealthy",
	[SV_BACKOFF] = "backoff",
	[SV_STOPPING] = "stopping",
	[SV_FAILED] = "failed",
	[SV_DISABLED] = "disabled",
};

enum sv_event {
	SV_EV_START,		/* qmsctl start, configuration, end of stop */
	SV_EV_STOP,		/* qmsctl stop, shutdown */
	SV_EV_RESTART,		/* qmsctl restart */
	SV_EV_SPAWN_FAILED,	/* could not even exec */
	SV_EV_EXITED,		/* the child is gone */
	SV_EV_PROBE_OK,
	SV_EV_PROBE_FAILED,
	SV_EV_START_TIMEOUT,	/* never answered initialize */
	SV_EV_BACKOFF_DONE,
	SV_EV_STOP_TIMEOUT,	/* SIGTERM was not enough */
	SV_EV_STABLE,		/* ready long enough to forgive the past */
	SV_EV_DISABLE,
};

/* What to do once a stopping child is gone. */
enum sv_after {
	SV_AFTER_NOTHING,	/* stay stopped */
	SV_AFTER_START,		/* restart at once (qmsctl restart) */
	SV_AFTER_FAILURE,	/* count a failure, back off (unhealthy) */
};

struct supervisor {
	char			 name[32];
	struct event_base	*base;
	struct component	*comp;
	struct logring		*log;
	enum sv_state		 state;
	enum sv_after		 after;

	/* From the configuration. */
	char			**argv;
	char			**env;
	char			*workdir;
	char			*url;
	char			 host[256];
	int			 port;
	char			*user;
	uid_t			 uid;
	gid_t			 gid;
	struct qms_mcp_conf	 conf;		/* scalars only */
	char			 disabled_why[256];

	struct proc		*proc;
	struct probe		*probe;
	struct event		*probe_timer;
	struct event		*timer;		/* backoff, deadlines */
	struct event		*stable_timer;
	uint64_t		 timer_due;	/* now_ms() it fires */

	unsigned int		 restarts;	/* starts after the first */
	int			 started_once;
	int			 misses;
	int			 clean_exit;
	int			 admin_stopped;	/* reload must not start it */
	char			*signature;	/* what a change restarts for */
	char			 stop_cause[512];
	struct restart_state	 restart;
	char			 detail[512];

	char			 partial[3][SV_MAX_LINE];
	size_t			 partial_len[3];

	void			(*shutdown_done)(void *);
	void			*shutdown_arg;

	/* Who waits for ready (qmsctl session): told on ready or failure. */
	struct {
		void		(*fn)(void *, const char *);
		void		*arg;
	}			 waiters[16];
	size_t			 nwaiters;
};

static void	sv_handle(struct supervisor *, enum sv_event, const char *);

static const enum health sv_health[] = {
	[SV_STOPPED] = HEALTH_CRITICAL,
	[SV_STARTING] = HEALTH_WARNING,
	[SV_READY] = HEALTH_OK,
	[SV_UNHEALTHY] = HEALTH_WARNING,
	[SV_BACKOFF] = HEALTH_WARNING,
	[SV_STOPPING] = HEALTH_WARNING,
	[SV_FAILED] = HEALTH_CRITICAL,
	[SV_DISABLED] = HEALTH_NONE,
};

static void
sv_publish(struct supervisor *sv)
{
	enum health	h = sv_health[sv->state];

	/* Stopped on purpose is degraded; stopped by itself is down. */
	if (sv->state == SV_STOPPED && sv->admin_stopped)
		h = HEALTH_WARNING;
	component_set(sv->comp, sv_state_names[sv->state], h, "%s",
	    sv->detail);
	component_set_pid(sv->comp, sv->proc != NULL ? proc_pid(sv->proc) :
	    0);
	component_set_restarts(sv->comp, sv->restarts);
}

static void
sv_tell_waiters(struct supervisor *sv, const char *error)
{
	size_t	i, n = sv->nwaiters;

	sv->nwaiters = 0;
	for (i = 0; i < n; i++)
		sv->waiters[i].fn(sv->waiters[i].arg, error);
}

static void
sv_enter(struct supervisor *sv, enum sv_state next, const char *cause)
{
	char	why[600];

	if (sv->state != next)
		log_info("%s: %s -> %s: %s", sv->name,
		    sv_state_names[sv->state], sv_state_names[next], cause);
	sv->state = next;
	sv_publish(sv);
	if (next == SV_READY)
		sv_tell_waiters(sv, NULL);
	else if (next == SV_FAILED || next == SV_STOPPED ||
	    next == SV_DISABLED) {
		snprintf(why, sizeof(why), "%s is %s: %s", sv->name,
		    sv_state_names[next], sv->detail);
		sv_tell_waiters(sv, why);
	}
}

static void
sv_detail(struct supervisor *sv, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
sv_detail(struct supervisor *sv, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(sv->detail, sizeof(sv->detail), fmt, ap);
	va_end(ap);
}

static void
timer_set(struct supervisor *sv, struct event *ev, uint64_t ms)
{
	struct timeval	tv;

	timeval_ms(&tv, ms);
	evtimer_add(ev, &tv);
	if (ev == sv->timer)
		sv->timer_due = now_ms() + ms;
}

/*
 * The child's output: line by line to the log and the ring.  A child
 * such as qms-mcp may quote what an agent sent it: control bytes (but
 * tab) become '?', so that none acts on the terminal of whoever reads
 * `qmsctl logs` or the log.
 */
static void
sv_line(struct supervisor *sv, int stream, const char *line, size_t len)
{
	const char	*fields[] = { stream == 1 ? "QMSD_STREAM=stdout" :
			    "QMSD_STREAM=stderr", NULL };
	char		*text = xcalloc(1, len + 1);
	size_t		 i;

	for (i = 0; i < len; i++)
		text[i] = ((unsigned char)line[i] < 0x20 && line[i] != '\t') ||
		    line[i] == 0x7f ? '?' : line[i];
	text[len] = '\0';
	logring_add(sv->log, text, len);
	log_component(LOG_LEVEL_INFO, sv->name, fields, "%s", text);
	free(text);
}

static void
sv_output(struct proc *p, int stream, const char *buf, size_t len,
    void *arg)
{
	struct supervisor	*sv = arg;
	char			*part = sv->partial[stream];
	size_t			*plen = &sv->partial_len[stream];
	size_t			 i;

	for (i = 0; i < len; i++) {
		if (buf[i] == '\n' || *plen == SV_MAX_LINE) {
			sv_line(sv, stream, part, *plen);
			*plen = 0;
			if (buf[i] == '\n')
				continue;
		}
		part[(*plen)++] = buf[i];
	}
}

static void
sv_flush_partial(struct supervisor *sv)
{
	int	s;

	for (s = 1; s <= 2; s++) {
		if (sv->partial_len[s] > 0)
			sv_line(sv, s, sv->partial[s], sv->partial_len[s]);
		sv->partial_len[s] = 0;
	}
}

static void
sv_exited(struct proc *p, int status, void *arg)
{
	struct supervisor	*sv = arg;
	char			 why[128];

	sv_flush_partial(sv);
	proc_status_string(status, why, sizeof(why));
	component_set_field(sv->comp, "last_exit", cJSON_CreateString(why));
	proc_free(sv->proc);
	sv->proc = NULL;
	/* A clean exit is not a failure under restart=on-failure. */
	sv->clean_exit = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	sv_handle(sv, SV_EV_EXITED, why);
}

static const struct proc_ops sv_proc_ops = {
	.output = sv_output,
	.exited = sv_exited,
};

/*
 * Someone else holding the port would answer our probes for us, or make the
 * child die with an error lost among others; find out before spawning.
 */
static int
port_in_use(const struct supervisor *sv)
{
	struct sockaddr_in6	 sin6;
	struct sockaddr_in	 sin;
	struct sockaddr		*sa;
	socklen_t		 len;
	int			 fd, one = 1, busy;

	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	if (inet_pton(AF_INET, sv->host, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)sv->port);
		sa = (struct sockaddr *)&sin;
		len = sizeof(sin);
	} else if (inet_pton(AF_INET6, sv->host, &sin6.sin6_addr) == 1) {
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons((uint16_t)sv->port);
		sa = (struct sockaddr *)&sin6;
		len = sizeof(sin6);
	} else if (strcmp(sv->host, "localhost") == 0) {
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)sv->port);
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sa = (struct sockaddr *)&sin;
		len = sizeof(sin);
	} else
		return (0);	/* a remote name: not ours to check */
	if ((fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return (0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	busy = bind(fd, sa, len) == -1 && errno == EADDRINUSE;
	close(fd);
	return (busy);
}

static void
sv_probe_done(int ok, const char *detail, uint64_t latency, void *arg)
{
	struct supervisor	*sv = arg;

	sv->probe = NULL;
	component_set_field(sv->comp, "probe_ms",
	    cJSON_CreateNumber((double)latency));
	if (ok) {
		component_set_field(sv->comp, "protocol",
		    cJSON_CreateString(detail));
		sv_handle(sv, SV_EV_PROBE_OK, detail);
	} else
		sv_handle(sv, SV_EV_PROBE_FAILED, detail);
}

static void
sv_on_probe_timer(evutil_socket_t fd, short ev, void *arg)
{
	struct supervisor	*sv = arg;

	if (sv->probe == NULL)
		sv->probe = probe_start(sv->url, sv->conf.probe_timeout,
		    sv_probe_done, sv);
}

static void
sv_on_timer(evutil_socket_t fd, short ev, void *arg)
{
	struct supervisor	*sv = arg;

	switch (sv->state) {
	case SV_STARTING:
		sv_handle(sv, SV_EV_START_TIMEOUT, "start timeout");
		break;
	case SV_BACKOFF:
		sv_handle(sv, SV_EV_BACKOFF_DONE, "backoff over");
		break;
	case SV_STOPPING:
		sv_handle(sv, SV_EV_STOP_TIMEOUT, "stop timeout");
		break;
	default:
		break;
	}
}

static void
sv_on_stable(evutil_socket_t fd, short ev, void *arg)
{
	sv_handle(arg, SV_EV_STABLE, "stable");
}

static void
sv_cancel_io(struct supervisor *sv)
{
	probe_cancel(sv->probe);
	sv->probe = NULL;
	evtimer_del(sv->probe_timer);
	evtimer_del(sv->timer);
	evtimer_del(sv->stable_timer);
}

/* Try to run the child; the next state is starting, or a failure. */
static void
sv_spawn(struct supervisor *sv)
{
	struct proc_spec	spec;
	char			err[512];

	sv_cancel_io(sv);
	sv->misses = 0;
	if (port_in_use(sv)) {
		sv_detail(sv, "%s:%d is in use by another process", sv->host,
		    sv->port);
		sv_handle(sv, SV_EV_SPAWN_FAILED, sv->detail);
		return;
	}
	memset(&spec, 0, sizeof(spec));
	spec.argv = sv->argv;
	spec.env = sv->env;
	spec.workdir = sv->workdir;
	spec.user = sv->user;
	spec.uid = sv->uid;
	spec.gid = sv->gid;
	sv->proc = proc_spawn(sv->base, &spec, &sv_proc_ops, sv, err,
	    sizeof(err));
	if (sv->proc == NULL) {
		sv_detail(sv, "cannot start: %s", err);
		sv_handle(sv, SV_EV_SPAWN_FAILED, sv->detail);
		return;
	}
	if (sv->started_once)
		sv->restarts++;
	sv->started_once = 1;
	sv_detail(sv, "waiting for an MCP handshake on %s", sv->url);
	timer_set(sv, sv->timer, sv->conf.start_timeout);
	timer_set(sv, sv->probe_timer, SV_STARTING_PROBE_MS);
	sv_enter(sv, SV_STARTING, "spawned");
	log_info("%s: started %s as pid %d", sv->name, sv->argv[0],
	    (int)proc_pid(sv->proc));
}

static void
sv_terminate(struct supervisor *sv, enum sv_after after, const char *cause)
{
	sv_cancel_io(sv);
	sv->after = after;
	snprintf(sv->stop_cause, sizeof(sv->stop_cause), "%s", cause);
	proc_kill(sv->proc, SIGTERM);
	timer_set(sv, sv->timer, sv->conf.stop_timeout);
	sv_detail(sv, "stopping: %s", cause);
	sv_enter(sv, SV_STOPPING, cause);
}

/*
 * A failure: give up when too many fell within the window, else wait the
 * backoff delay, which doubles up to its maximum.
 */
static void
sv_failure(struct supervisor *sv, const char *why)
{
	uint64_t	delay;
	size_t		recent;
	char		cause[512];

	/* why may be sv->detail itself, which is rewritten below. */
	snprintf(cause, sizeof(cause), "%s", why);

	if (restart_failure(&sv->restart, &sv->conf.restart, now_ms(), &delay,
	    &recent) == -1) {
		sv_detail(sv, "gave up after %zu failures within %llus; last: "
		    "%s", recent, (unsigned long long)
		    sv->conf.restart.give_up_window / 1000, cause);
		sv_enter(sv, SV_FAILED, sv->detail);
		return;
	}
	timer_set(sv, sv->timer, delay);
	sv_detail(sv, "%s; next start in %.1fs", cause, (double)delay / 1000);
	sv_enter(sv, SV_BACKOFF, cause);
	log_info("%s: next start in %llu ms", sv->name,
	    (unsigned long long)delay);
}

/* After an exit nobody asked for, per the restart policy. */
static void
sv_unexpected_exit(struct supervisor *sv, const char *why, int clean)
{
	char	cause[256];

	snprintf(cause, sizeof(cause), "exited unexpectedly (%s)", why);
	switch (sv->conf.restart.policy) {
	case RESTART_ALWAYS:
		sv_failure(sv, cause);
		break;
	case RESTART_ON_FAILURE:
		if (clean) {
			sv_detail(sv, "exited cleanly; restart=on-failure");
			sv_enter(sv, SV_STOPPED, cause);
		} else
			sv_failure(sv, cause);
		break;
	case RESTART_NEVER:
		sv_detail(sv, "%s; restart=never", cause);
		sv_enter(sv, clean ? SV_STOPPED : SV_FAILED, cause);
		break;
	}
}

/* The whole state machine: every event in every state, in one place. */
static void
sv_handle(struct supervisor *sv, enum sv_event ev, const char *cause)
{
	enum sv_after	after;
	char		why[512];

	switch (ev) {
	case SV_EV_START:
		if (sv->state == SV_STOPPING) {
			sv->after = SV_AFTER_START;
			break;
		}
		if (sv->state == SV_STOPPED || sv->state == SV_FAILED ||
		    sv->state == SV_BACKOFF) {
			if (sv->state != SV_BACKOFF)
				restart_clear(&sv->restart);
			sv_spawn(sv);
		}
		break;
	case SV_EV_RESTART:
		if (sv->proc != NULL && sv->state != SV_STOPPING)
			sv_terminate(sv, SV_AFTER_START, cause);
		else if (sv->state == SV_STOPPING)
			sv->after = SV_AFTER_START;
		else
			sv_handle(sv, SV_EV_START, cause);
		break;
	case SV_EV_STOP:
		if (sv->proc != NULL && sv->state != SV_STOPPING)
			sv_terminate(sv, SV_AFTER_NOTHING, cause);
		else if (sv->state == SV_STOPPING)
			sv->after = SV_AFTER_NOTHING;
		else if (sv->state != SV_DISABLED) {
			sv_cancel_io(sv);
			sv_detail(sv, "%s", cause);
			sv_enter(sv, SV_STOPPED, cause);
		}
		break;
	case SV_EV_DISABLE:
		if (sv->proc != NULL) {
			sv_terminate(sv, SV_AFTER_NOTHING, cause);
			break;
		}
		sv_cancel_io(sv);
		sv_detail(sv, "%s", sv->disabled_why);
		sv_enter(sv, SV_DISABLED, cause);
		break;
	case SV_EV_SPAWN_FAILED:
		sv_failure(sv, cause);
		break;
	case SV_EV_EXITED:
		if (sv->state == SV_STOPPING) {
			sv_cancel_io(sv);
			after = sv->after;
			sv->after = SV_AFTER_NOTHING;
			if (sv->shutdown_done != NULL) {
				sv_detail(sv, "stopped (%s)", cause);
				sv_enter(sv, SV_STOPPED, "shutdown");
				sv->shutdown_done(sv->shutdown_arg);
				break;
			}
			if (sv->disabled_why[0] != '\0') {
				sv_detail(sv, "%s", sv->disabled_why);
				sv_enter(sv, SV_DISABLED, "disabled");
			} else if (after == SV_AFTER_START) {
				/* Asked for: no backoff; the failures count. */
				restart_stable(&sv->restart);
				sv_spawn(sv);
			} else if (after == SV_AFTER_FAILURE)
				sv_failure(sv, sv->stop_cause);
			else {
				sv_detail(sv, "stopped (%s)", cause);
				sv_enter(sv, SV_STOPPED, "stopped");
			}
		} else
			sv_unexpected_exit(sv, cause, sv->clean_exit);
		break;
	case SV_EV_PROBE_OK:
		if (sv->state != SV_STARTING && sv->state != SV_READY &&
		    sv->state != SV_UNHEALTHY)
			break;
		if (sv->state == SV_STARTING) {
			evtimer_del(sv->timer);
			timer_set(sv, sv->stable_timer,
			    sv->conf.restart.stable_after);
		}
		sv->misses = 0;
		sv_detail(sv, "MCP %s on %s", cause, sv->url);
		sv_enter(sv, SV_READY, "handshake succeeded");
		timer_set(sv, sv->probe_timer, sv->conf.probe_interval);
		break;
	case SV_EV_PROBE_FAILED:
		if (sv->state == SV_STARTING) {
			sv_detail(sv, "waiting for an MCP handshake on %s: %s",
			    sv->url, cause);
			sv_publish(sv);
			timer_set(sv, sv->probe_timer, SV_STARTING_PROBE_MS);
			break;
		}
		if (sv->state != SV_READY && sv->state != SV_UNHEALTHY)
			break;
		sv->misses++;
		if (sv->misses >= sv->conf.probe_failures) {
			snprintf(why, sizeof(why), "unhealthy: %d probes "
			    "failed in a row: %s", sv->misses, cause);
			sv_terminate(sv, SV_AFTER_FAILURE, why);
			break;
		}
		sv_detail(sv, "%d of %lld probes failed: %s", sv->misses,
		    sv->conf.probe_failures, cause);
		sv_enter(sv, SV_UNHEALTHY, cause);
		timer_set(sv, sv->probe_timer, sv->conf.probe_interval);
		break;
	case SV_EV_START_TIMEOUT:
		if (sv->state != SV_STARTING)
			break;
		snprintf(why, sizeof(why), "no MCP handshake within %llus",
		    (unsigned long long)sv->conf.start_timeout / 1000);
		sv_terminate(sv, SV_AFTER_FAILURE, why);
		break;
	case SV_EV_BACKOFF_DONE:
		if (sv->state == SV_BACKOFF)
			sv_spawn(sv);
		break;
	case SV_EV_STOP_TIMEOUT:
		if (sv->state != SV_STOPPING || sv->proc == NULL)
			break;
		log_warnx("%s: still running %llus after SIGTERM; killing",
		    sv->name, (unsigned long long)sv->conf.stop_timeout / 1000);
		proc_kill(sv->proc, SIGKILL);
		break;
	case SV_EV_STABLE:
		if (sv->state == SV_READY || sv->state == SV_UNHEALTHY)
			restart_stable(&sv->restart);
		break;
	}
}

/* qmsctl start, stop and restart: one event each, none while disabled. */
static int
op_event(struct supervisor *sv, enum sv_event ev, int stopped,
    const char *why, char *err, size_t errlen)
{
	if (sv->state == SV_DISABLED) {
		snprintf(err, errlen, "%s is disabled: %s", sv->name,
		    sv->disabled_why);
		return (-1);
	}
	sv->admin_stopped = stopped;
	sv_handle(sv, ev, why);
	return (0);
}

static int
op_start(void *arg, char *err, size_t errlen)
{
	return (op_event(arg, SV_EV_START, 0, "qmsctl start", err, errlen));
}

static int
op_stop(void *arg, char *err, size_t errlen)
{
	return (op_event(arg, SV_EV_STOP, 1, "qmsctl stop", err, errlen));
}

static int
op_restart(void *arg, char *err, size_t errlen)
{
	return (op_event(arg, SV_EV_RESTART, 0, "qmsctl restart", err,
	    errlen));
}

static const struct component_ops sv_component_ops = {
	.start = op_start,
	.stop = op_stop,
	.restart = op_restart,
};

struct supervisor *
supervisor_new(struct event_base *base, const char *name)
{
	struct supervisor	*sv;

	sv = xcalloc(1, sizeof(*sv));
	snprintf(sv->name, sizeof(sv->name), "%s", name);
	sv->base = base;
	sv->state = SV_STOPPED;
	sv->comp = component_add(name);
	sv->log = logring_new(SV_LOG_LINES);
	component_set_ops(sv->comp, &sv_component_ops, sv);
	component_set_log(sv->comp, sv->log);
	sv->probe_timer = evtimer_new(base, sv_on_probe_timer, sv);
	sv->timer = evtimer_new(base, sv_on_timer, sv);
	sv->stable_timer = evtimer_new(base, sv_on_stable, sv);
	sv_detail(sv, "not started");
	sv_publish(sv);
	return (sv);
}

/* Every word of the command with {root} expanded; NULL with why. */
static char **
sv_argv(const struct config *c, char *err, size_t errlen)
{
	char	**words;
	char	 *w;
	int	  n, i;

	if ((n = argv_split(c->qms_mcp.command, &words, err, errlen)) <= 0) {
		argv_free(words);
		if (n == 0)
			snprintf(err, errlen, "empty command");
		return (NULL);
	}
	for (i = 0; i < n; i++) {
		w = config_expand(c, words[i]);
		free(words[i]);
		words[i] = w;
	}
	return (words);
}

void
supervisor_configure(struct supervisor *sv, const struct config *c)
{
	const struct qms_mcp_conf	*q = &c->qms_mcp;
	struct passwd			*pw;
	struct stat			 st;
	char				 err[200], *qmscli, *sig, *env;
	char				**argv;
	size_t				 i;
	int				 changed;

	sv->disabled_why[0] = '\0';
	if (q->enabled == TRI_NO)
		snprintf(sv->disabled_why, sizeof(sv->disabled_why),
		    "enabled = no in the configuration");
	else if (q->enabled == TRI_AUTO) {
		xasprintf(&qmscli, "%s/qms-cli", c->project_root);
		if (stat(qmscli, &st) == -1 || !S_ISDIR(st.st_mode))
			snprintf(sv->disabled_why, sizeof(sv->disabled_why),
			    "no %s (enabled = auto)", qmscli);
		free(qmscli);
	}
	if ((argv = sv_argv(c, err, sizeof(err))) == NULL) {
		/* config.c checked it; should it fail, stay off, not crash */
		snprintf(sv->disabled_why, sizeof(sv->disabled_why),
		    "bad command: %s", err);
	}

	/* The environment, user and paths as one string, to see changes. */
	env = xstrdup("");
	for (i = 0; q->environment != NULL && q->environment[i] != NULL;
	    i++) {
		char *tmp;

		xasprintf(&tmp, "%s\n%s", env, q->environment[i]);
		free(env);
		env = tmp;
	}
	xasprintf(&sig, "%s\n%s\n%s\n%s\n%s", q->command, q->workdir, q->url,
	    c->run_as, env);
	free(env);
	changed = sv->signature != NULL && strcmp(sig, sv->signature) != 0;
	free(sv->signature);
	sv->signature = sig;

	argv_free(sv->argv);
	sv->argv = argv;
	free(sv->workdir);
	sv->workdir = config_expand(c, q->workdir);
	free(sv->url);
	sv->url = xstrdup(q->url);
	url_host_port(sv->url, sv->host, sizeof(sv->host), &sv->port);
	free(sv->user);
	sv->user = xstrdup(c->run_as);
	sv->uid = c->run_as_uid;
	sv->gid = c->run_as_gid;
	pw = getpwuid(sv->uid);
	argv_free(sv->env);
	sv->env = proc_environ(sv->user, pw != NULL ? pw->pw_dir : "/",
	    q->environment);
	sv->conf = *q;
	/* Only the scalars: the strings live in sv, expanded. */
	sv->conf.command = sv->conf.workdir = sv->conf.url = NULL;
	sv->conf.environment = NULL;

	if (sv->disabled_why[0] != '\0') {
		if (sv->state != SV_DISABLED)
			sv_handle(sv, SV_EV_DISABLE, sv->disabled_why);
		return;
	}
	if (sv->state == SV_DISABLED) {
		sv_detail(sv, "enabled");
		sv_enter(sv, SV_STOPPED, "enabled in the configuration");
		sv->started_once = 0;
	}
	/*
	 * What an admin stopped stays stopped; what ended by itself starts
	 * again only for a new configuration, which may be the fix.
	 */
	if (sv->admin_stopped)
		return;
	if (changed && sv->proc != NULL) {
		log_info("%s: configuration changed; restarting", sv->name);
		sv_handle(sv, SV_EV_RESTART, "configuration changed");
	} else if ((sv->state == SV_STOPPED && (!sv->started_once ||
	    changed)) || (sv->state == SV_FAILED && changed))
		sv_handle(sv, SV_EV_START, "configured");
}

void
supervisor_shutdown(struct supervisor *sv, void (*done)(void *), void *arg)
{
	sv->shutdown_done = done;
	sv->shutdown_arg = arg;
	if (sv->proc == NULL) {
		sv_cancel_io(sv);
		done(arg);
		return;
	}
	sv_handle(sv, SV_EV_STOP, "qmsd is shutting down");
}

void
supervisor_free(struct supervisor *sv)
{
	if (sv == NULL)
		return;
	sv_tell_waiters(sv, "qmsd is shutting down");
	sv_cancel_io(sv);
	proc_free(sv->proc);
	event_free(sv->probe_timer);
	event_free(sv->timer);
	event_free(sv->stable_timer);
	component_remove(sv->comp);
	logring_free(sv->log);
	argv_free(sv->argv);
	argv_free(sv->env);
	free(sv->workdir);
	free(sv->url);
	free(sv->user);
	free(sv->signature);
	free(sv);
}

const char *
supervisor_state_name(const struct supervisor *sv)
{
	return (sv_state_names[sv->state]);
}

int
supervisor_ready(const struct supervisor *sv)
{
	return (sv->state == SV_READY || sv->state == SV_UNHEALTHY);
}

uint64_t
supervisor_next_start(const struct supervisor *sv)
{
	uint64_t	now = now_ms();

	if (sv->state != SV_BACKOFF || sv->timer_due < now)
		return (0);
	return (sv->timer_due - now);
}

int
supervisor_wait_ready(struct supervisor *sv, void (*fn)(void *, const char *),
    void *arg, char *err, size_t errlen)
{
	if (sv->state == SV_DISABLED) {
		snprintf(err, errlen, "%s is disabled: %s", sv->name,
		    sv->disabled_why);
		return (-1);
	}
	if (sv->nwaiters == nitems(sv->waiters)) {
		snprintf(err, errlen, "too many waiting for %s", sv->name);
		return (-1);
	}
	if (sv->state == SV_READY || sv->state == SV_UNHEALTHY) {
		fn(arg, NULL);
		return (0);
	}
	sv->waiters[sv->nwaiters].fn = fn;
	sv->waiters[sv->nwaiters++].arg = arg;
	if (sv->state == SV_STOPPED || sv->state == SV_FAILED) {
		sv->admin_stopped = 0;
		sv_handle(sv, SV_EV_START, "qmsctl session");
	}
	return (0);
}

void
supervisor_unwait(struct supervisor *sv, void *arg)
{
	size_t	i;

	for (i = 0; i < sv->nwaiters; i++) {
		if (sv->waiters[i].arg != arg)
			continue;
		memmove(&sv->waiters[i], &sv->waiters[i + 1],
		    (sv->nwaiters - i - 1) * sizeof(sv->waiters[0]));
		sv->nwaiters--;
		return;
	}
}

int
supervisor_disabled(const struct supervisor *sv)
{
	return (sv->state == SV_DISABLED);
}

const char *
supervisor_url(const struct supervisor *sv)
{
	return (sv->url != NULL ? sv->url : "");
}

const char *
supervisor_detail(const struct supervisor *sv)
{
	return (sv->detail);
}
