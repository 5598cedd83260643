#include <sys/queue.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "agent.h"
#include "argv.h"
#include "component.h"
#include "docker.h"
#include "launch.h"
#include "log.h"
#include "session.h"
#include "supervisor.h"
#include "util.h"

#define SESSION_TIMEOUT_MS	300000	/* nothing running to a prompt */
#define SESSION_MAX_EXECS	256

enum step { STEP_QMS, STEP_GIT, STEP_AGENT, STEP_EXEC, STEP_ATTACH };

struct session {
	const struct session_cb	*cb;
	void			*arg;
	int			 answered;
	char			 agent[40];
	int			 tty;
	int			 force;
	int			 rows, cols;
	char			 term[64];
	char			**argv;		/* exec: the command given */
	int			 headless;	/* the headless launcher */
	int			 link;		/* a control client, no up */
	session_stream_done	 stream;	/* headless, link: the answer */
	uint64_t		 owner;
	int			 wait_qms;	/* session: bring up qms-mcp */
	uint64_t		 t0, tstep;
	enum step		 step;
	char			 exec_id[80];
	struct docker_attach	*attach;
	struct event		*deadline;
	int			 waiting_qms;
	int			 waiting_docker;	/* exec create in flight */
	int			 dead;		/* freed when that answers */
	TAILQ_ENTRY(session)	 entry;
};

/* Which owner (a control connection) made which exec. */
static struct {
	char		id[80];
	uint64_t	owner;
} execs[SESSION_MAX_EXECS];
static size_t		 nexecs_next;

static struct event_base *se_base;
static int		 se_down;	/* shut down: docker goes next */
static struct supervisor *se_qms_mcp;
static TAILQ_HEAD(, session) sessions = TAILQ_HEAD_INITIALIZER(sessions);

static void	session_next_step(struct session *);

/* The one answer a session owes. */
static void
session_answer(struct session *s, const char *error,
    const struct session_result *res, int fd)
{
	if (s->answered) {
		if (fd != -1)
			close(fd);
		return;
	}
	s->answered = 1;
	if (s->stream != NULL)
		s->stream(s->arg, error, fd, res != NULL ? res->pending : NULL,
		    res != NULL ? res->npending : 0);
	else
		s->cb->done(s->arg, error, res, fd);
}

static void
session_free(struct session *s)
{
	/* An answer is owed even to an asker that left. */
	session_answer(s, "session abandoned", NULL, -1);
	if (s->waiting_docker) {
		/* Docker will answer; the session goes then. */
		s->dead = 1;
		return;
	}
	if (s->waiting_qms)
		supervisor_unwait(se_qms_mcp, s);
	agent_unwait(s);
	if (s->attach != NULL)
		docker_attach_cancel(s->attach);
	if (s->deadline != NULL)
		event_free(s->deadline);
	argv_free(s->argv);
	TAILQ_REMOVE(&sessions, s, entry);
	free(s);
}

static void
session_fail(struct session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
session_fail(struct session *s, const char *fmt, ...)
{
	char	msg[700];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warnx("session %s: %s", s->agent, msg);
	session_answer(s, msg, NULL, -1);
	session_free(s);
}

/* One line of progress: what came up, and how long it took. */
static void
session_progress(struct session *s, const char *step, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
session_progress(struct session *s, const char *step, const char *fmt, ...)
{
	char	 msg[300];
	va_list	 ap;
	uint64_t now = now_ms();

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s->cb->progress(s->arg, step, msg, (double)(now - s->tstep) / 1000);
	s->tstep = now;
}

static void
remember_exec(const char *id, uint64_t owner)
{
	size_t	i = nexecs_next++ % SESSION_MAX_EXECS;

	snprintf(execs[i].id, sizeof(execs[i].id), "%s", id);
	execs[i].owner = owner;
}

static int
owns_exec(const char *id, uint64_t owner)
{
	size_t	i;

	for (i = 0; i < SESSION_MAX_EXECS; i++)
		if (execs[i].owner == owner && owner != 0 &&
		    strcmp(execs[i].id, id) == 0)
			return (1);
	return (0);
}

/*
 * Every step's answer: is the session still wanted, and did the step
 * work?  0 when the session was ended here.
 */
static int
session_step_ok(struct session *s, const char *error)
{
	if (s->cb->gone(s->arg)) {
		session_free(s);
		return (0);
	}
	if (error != NULL) {
		session_fail(s, "%s", error);
		return (0);
	}
	return (1);
}

static void
attached(void *arg, const char *error, int fd, const char *pending,
    size_t npending)
{
	struct session		*s = arg;
	struct session_result	 res;

	s->attach = NULL;
	if (!session_step_ok(s, error)) {
		if (fd != -1)
			close(fd);
		return;
	}
	if (s->stream != NULL)
		log_debug("session %s: %s exec %.12s started", s->agent,
		    s->headless ? "headless" : "link", s->exec_id);
	memset(&res, 0, sizeof(res));
	res.exec_id = s->exec_id;
	res.tty = s->tty;
	res.pending = pending;
	res.npending = npending;
	res.seconds = (double)(now_ms() - s->t0) / 1000;
	remember_exec(s->exec_id, s->owner);
	/* qmsd steps out of the data path here. */
	session_answer(s, NULL, &res, fd);
	session_free(s);
}

static void
exec_created(const struct docker_reply *r, void *arg)
{
	struct session	*s = arg;
	const cJSON	*id;
	char		 err[512];

	s->waiting_docker = 0;
	if (s->dead) {
		session_free(s);
		return;
	}
	if (s->cb->gone(s->arg)) {
		session_free(s);
		return;
	}
	if (r->status != 201) {
		session_fail(s, "cannot create the exec: %s", r->error ?
		    r->error : "no answer");
		return;
	}
	id = cJSON_GetObjectItemCaseSensitive(r->json, "Id");
	if (!cJSON_IsString(id)) {
		session_fail(s, "dockerd gave the exec no id");
		return;
	}
	snprintf(s->exec_id, sizeof(s->exec_id), "%s", id->valuestring);
	s->step = STEP_ATTACH;
	if ((s->attach = docker_exec_attach(s->exec_id, s->tty, attached, s,
	    err, sizeof(err))) == NULL)
		session_fail(s, "%s", err);
}

static void
create_exec(struct session *s)
{
	char	 id[80], user[32], path[160], term[80], **command = NULL;
	char	**launched = NULL, **words;
	cJSON	*o, *cmd, *env;
	char	*body;
	size_t	 i;

	s->step = STEP_EXEC;
	if (agent_info(s->agent, id, sizeof(id), &command, user,
	    sizeof(user)) == -1) {
		session_fail(s, "agent %s has no running container", s->agent);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "AttachStdin", 1);
	cJSON_AddBoolToObject(o, "AttachStdout", 1);
	cJSON_AddBoolToObject(o, "AttachStderr", 1);
	cJSON_AddBoolToObject(o, "Tty", s->tty);
	cJSON_AddStringToObject(o, "User", user);
	cJSON_AddStringToObject(o, "WorkingDir", "/pipe-dream");
	env = cJSON_AddArrayToObject(o, "Env");
	snprintf(term, sizeof(term), "TERM=%s", s->term[0] ? s->term :
	    "xterm-256color");
	/* tmux's clients read TERM, control clients too. */
	if (s->tty || s->stream != NULL)
		cJSON_AddItemToArray(env, cJSON_CreateString(term));
	cmd = cJSON_AddArrayToObject(o, "Cmd");
	/* exec: the argv given, as it is (its exit status is the answer). */
	if ((words = s->argv) != NULL)
		;
	else if (s->headless)
		words = launched = launch_headless_argv(command, s->rows,
		    s->cols);
	else if (s->link)
		words = launched = launch_link_argv();
	else
		words = launched = launch_argv(command);
	for (i = 0; words[i] != NULL; i++)
		cJSON_AddItemToArray(cmd, cJSON_CreateString(words[i]));
	argv_free(launched);
	argv_free(command);
	if (s->tty && s->rows > 0 && s->cols > 0 && !s->headless) {
		cJSON *sz = cJSON_AddArrayToObject(o, "ConsoleSize");

		cJSON_AddItemToArray(sz, cJSON_CreateNumber(s->rows));
		cJSON_AddItemToArray(sz, cJSON_CreateNumber(s->cols));
	}
	body = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	snprintf(path, sizeof(path), "/containers/%s/exec", id);
	s->waiting_docker = 1;
	docker_request("POST", path, body, exec_created, s);
	cJSON_free(body);
}

static void
agent_ready(void *arg, const char *error, const char *id)
{
	struct session	*s = arg;

	if (!session_step_ok(s, error))
		return;
	session_progress(s, "agent", "agent %s running (%.12s)%s", s->agent,
	    id, agent_recreate_pending(s->agent) ? "; its configuration "
	    "changed, kept while a session runs in it: qmsctl up --force "
	    "recreates it" : "");
	create_exec(s);
}

static void
qms_ready(void *arg, const char *error)
{
	struct session	*s = arg;

	s->waiting_qms = 0;
	if (!session_step_ok(s, error))
		return;
	session_progress(s, "qms-mcp", "qms-mcp ready");
	s->step = STEP_GIT;
	session_next_step(s);
}

static void
session_next_step(struct session *s)
{
	struct component	*http;
	char			 err[512];

	switch (s->step) {
	case STEP_QMS:
		if (!s->wait_qms || supervisor_disabled(se_qms_mcp)) {
			if (s->wait_qms)
				session_progress(s, "qms-mcp", "qms-mcp "
				    "disabled (skipped)");
			s->step = STEP_GIT;
			session_next_step(s);
			return;
		}
		s->waiting_qms = 1;
		if (supervisor_wait_ready(se_qms_mcp, qms_ready, s, err,
		    sizeof(err)) == -1) {
			s->waiting_qms = 0;
			session_fail(s, "%s", err);
		}
		return;
	case STEP_GIT:
		if (s->wait_qms) {
			http = component_find("http");
			if (http == NULL || strcmp(component_state(http),
			    "failed") == 0) {
				session_fail(s, "the HTTP listener is not "
				    "serving /git/mcp");
				return;
			}
			session_progress(s, "git", "git MCP endpoint ready");
		}
		s->step = STEP_AGENT;
		/* A link joins what runs; it never brings anything up. */
		if (s->link) {
			create_exec(s);
			return;
		}
		/*
		 * A session comes back to what runs in the container even
		 * when its configuration changed (status says so); an exec,
		 * like an up, is refused then, unless forced.
		 */
		if (agent_bring_up(s->agent, s->force ? AGENT_UP_FORCE :
		    s->argv == NULL ? AGENT_UP_ATTACH : AGENT_UP_REFUSE,
		    agent_ready, s, err,
		    sizeof(err)) == -1)
			session_fail(s, "%s", err);
		return;
	default:
		return;
	}
}

static void
session_on_deadline(evutil_socket_t fd, short ev, void *arg)
{
	struct session	*s = arg;

	session_fail(s, "nothing to attach to after %d s",
	    (int)((now_ms() - s->t0 + 500) / 1000));
}

static struct session *
session_new(const struct session_params *p, const struct session_cb *cb,
    void *arg)
{
	struct session	*s;

	s = xcalloc(1, sizeof(*s));
	s->cb = cb;
	s->arg = arg;
	snprintf(s->agent, sizeof(s->agent), "%s", p->agent);
	s->tty = p->tty;
	s->force = p->force;
	s->rows = p->rows;
	s->cols = p->cols;
	if (p->term != NULL)
		snprintf(s->term, sizeof(s->term), "%s", p->term);
	s->argv = p->argv;
	s->owner = p->owner;
	/* A session brings up everything; an exec only its agent. */
	s->wait_qms = s->argv == NULL;
	return (s);
}

static void
session_begin(struct session *s, int timeout_ms)
{
	struct timeval	 tv;

	s->t0 = s->tstep = now_ms();
	s->deadline = evtimer_new(se_base, session_on_deadline, s);
	timeval_ms(&tv, timeout_ms);
	evtimer_add(s->deadline, &tv);
	TAILQ_INSERT_TAIL(&sessions, s, entry);
	s->step = STEP_QMS;
	session_next_step(s);
}

void
session_start(const struct session_params *p, const struct session_cb *cb,
    void *arg)
{
	session_begin(session_new(p, cb, arg), SESSION_TIMEOUT_MS);
}

/* Headless starts and links have nobody to show progress to. */
static void
stream_progress(void *arg, const char *step, const char *message,
    double seconds)
{
	log_debug("session: %s (%.3f s)", message, seconds);
}

static int
stream_gone(void *arg)
{
	return (0);		/* its asker abandons it instead */
}

static const struct session_cb stream_cb = {
	.progress = stream_progress,
	.gone = stream_gone,
};

void
session_headless(const char *agent, int rows, int cols,
    session_stream_done done, void *arg)
{
	struct session_params	 p = { .agent = agent, .rows = rows,
				    .cols = cols };
	struct session		*s = session_new(&p, &stream_cb, arg);

	s->headless = 1;
	s->stream = done;
	session_begin(s, SESSION_TIMEOUT_MS);
}

void
session_link(const char *agent, int timeout_ms, session_stream_done done,
    void *arg)
{
	struct session_params	 p = { .agent = agent };
	struct session		*s = session_new(&p, &stream_cb, arg);

	s->link = 1;
	s->wait_qms = 0;
	s->stream = done;
	session_begin(s, timeout_ms);
}

/* ---- later requests about an exec, by its owner only ---- */

struct exec_ask {
	session_exec_done	 fn;
	void			*arg;
	int			 ok_status;	/* besides 200 */
	const char		*what;
	TAILQ_ENTRY(exec_ask)	 entry;
};
/* In flight, so that each is answered even at shutdown. */
static TAILQ_HEAD(, exec_ask) asks = TAILQ_HEAD_INITIALIZER(asks);

static void
exec_answered(const struct docker_reply *r, void *arg)
{
	struct exec_ask	*q = arg;
	char		 err[600];

	if (r->status != 200 && r->status != q->ok_status) {
		snprintf(err, sizeof(err), "%s: %s", q->what, r->error ?
		    r->error : "no answer");
		q->fn(q->arg, err, NULL);
	} else
		q->fn(q->arg, NULL, r->json);
	TAILQ_REMOVE(&asks, q, entry);
	free(q);
}

static int
exec_ask(const char *id, uint64_t owner, const char *method,
    const char *path, int ok_status, const char *what, session_exec_done fn,
    void *arg, char *err, size_t errlen)
{
	struct exec_ask	*q;

	if (!owns_exec(id, owner)) {
		snprintf(err, errlen, "that exec is not this connection's");
		return (-1);
	}
	q = xcalloc(1, sizeof(*q));
	q->fn = fn;
	q->arg = arg;
	q->ok_status = ok_status;
	q->what = what;
	TAILQ_INSERT_TAIL(&asks, q, entry);
	docker_request(method, path, NULL, exec_answered, q);
	return (0);
}

int
session_exec_resize(const char *id, uint64_t owner, int rows, int cols,
    session_exec_done fn, void *arg, char *err, size_t errlen)
{
	char	path[200];

	snprintf(path, sizeof(path), "/exec/%s/resize?h=%d&w=%d", id, rows,
	    cols);
	return (exec_ask(id, owner, "POST", path, 201, "resize", fn, arg, err,
	    errlen));
}

int
session_exec_inspect(const char *id, uint64_t owner, session_exec_done fn,
    void *arg, char *err, size_t errlen)
{
	char	path[200];

	snprintf(path, sizeof(path), "/exec/%s/json", id);
	return (exec_ask(id, owner, "GET", path, 200, "exec status", fn, arg,
	    err, errlen));
}

/* The process docker says runs the exec, if it is in its container. */
static void
exec_hangup_found(void *arg, const char *error, const cJSON *json)
{
	const cJSON	*pid, *cid;
	char		 path[64], buf[4096];
	ssize_t		 n;
	int		 pidfd, fd;

	pid = cJSON_GetObjectItemCaseSensitive(json, "Pid");
	cid = cJSON_GetObjectItemCaseSensitive(json, "ContainerID");
	if (error != NULL || !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
	    json, "Running")) || !cJSON_IsNumber(pid) || pid->valuedouble < 2 ||
	    pid->valuedouble > 1 << 30 || !cJSON_IsString(cid) ||
	    strlen(cid->valuestring) < 12)
		return;		/* ended already, or nothing to know it by */
	/* Pinned first: the pid cannot name another process from here. */
	if ((pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid->valuedouble,
	    0)) == -1) {
		log_debug("session: exec's process %d: %s", (int)pid->valuedouble,
		    strerror(errno));
		return;
	}
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid->valuedouble);
	n = -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
	}
	/*
	 * Its container's cgroup, read while it still lived (the signal 0
	 * after): never a process of the host's or another container's,
	 * whatever pid docker gave (another pid namespace's, say).
	 */
	if (n > 0) {
		buf[n] = '\0';
		if (strstr(buf, cid->valuestring) != NULL &&
		    syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) == 0 &&
		    syscall(SYS_pidfd_send_signal, pidfd, SIGHUP, NULL, 0) == 0)
			log_debug("session: exec's process %d hung up",
			    (int)pid->valuedouble);
	}
	close(pidfd);
}

void
session_exec_hangup(const char *id, uint64_t owner)
{
	char	path[200], err[256];

	if (se_down)
		return;
	snprintf(path, sizeof(path), "/exec/%s/json", id);
	if (exec_ask(id, owner, "GET", path, 200, "exec status",
	    exec_hangup_found, NULL, err, sizeof(err)) == -1)
		log_debug("session: hang-up: %s", err);
}

void
session_init(struct event_base *base, struct supervisor *qms_mcp)
{
	se_base = base;
	se_qms_mcp = qms_mcp;
}

void
session_abandon(void *arg)
{
	struct session	*s;

	TAILQ_FOREACH(s, &sessions, entry) {
		if (s->arg == arg && !s->answered) {
			session_free(s);
			return;
		}
	}
}

void
session_shutdown(void)
{
	struct session	*s;
	struct exec_ask	*q;

	se_down = 1;
	/* docker_shutdown, later, drops their requests without answering. */
	while ((q = TAILQ_FIRST(&asks)) != NULL) {
		TAILQ_REMOVE(&asks, q, entry);
		q->fn(q->arg, "qmsd is shutting down", NULL);
		free(q);
	}

	while ((s = TAILQ_FIRST(&sessions)) != NULL) {
		session_answer(s, "qmsd is shutting down", NULL, -1);
		/* docker_shutdown drops its requests without answering. */
		s->waiting_docker = 0;
		session_free(s);
	}
}
