#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "agent.h"
#include "argv.h"
#include "component.h"
#include "control.h"
#include "docker.h"
#include "log.h"
#include "proto.h"
#include "qmsd.h"
#include "session.h"
#include "supervisor.h"
#include "util.h"

#define SESSION_TIMEOUT_MS	300000	/* nothing running to a prompt */
#define SESSION_MAX_EXECS	256
#define HIJACK_MAX_HEAD		8192

/*
 * In the container: tmux when the image has it (so Claude outlives the
 * terminal, and a second session attaches to the same one), else the
 * command itself.  The command travels as arguments, never as shell text;
 * "env" in front keeps it so in tmux too, which would hand a command of
 * one word to a shell.
 */
static const char tmux_or_exec[] =
    "if command -v tmux >/dev/null 2>&1; then "
    "exec tmux new-session -A -s agent env \"$@\"; fi; exec \"$@\"";

enum step { STEP_QMS, STEP_GIT, STEP_AGENT, STEP_EXEC, STEP_HIJACK };

struct session {
	struct ctl_req		*req;
	char			 agent[40];
	int			 tty;
	int			 rows, cols;
	char			 term[64];
	char			**argv;		/* exec: the command given */
	int			 wait_qms;	/* session: bring up qms-mcp */
	uint64_t		 t0, tstep;
	enum step		 step;
	char			 exec_id[80];
	int			 fd;
	struct event		*ev;
	struct event		*deadline;
	char			 head[HIJACK_MAX_HEAD];
	size_t			 len;
	int			 waiting_qms;
	int			 waiting_docker;	/* exec create in flight */
	int			 dead;		/* freed when that answers */
	TAILQ_ENTRY(session)	 entry;
};

/* Which connection owns which exec: only it may resize or ask. */
static struct {
	char		id[80];
	uint64_t	conn;
} execs[SESSION_MAX_EXECS];
static size_t		 nexecs_next;

static TAILQ_HEAD(, session) sessions = TAILQ_HEAD_INITIALIZER(sessions);

static void	next_step(struct session *);

static void
session_free(struct session *s)
{
	/* A deferred answer is owed even to a client that left. */
	if (s->req != NULL) {
		ctl_error(s->req, PROTO_FAILED, "session abandoned");
		s->req = NULL;
	}
	if (s->waiting_docker) {
		/* Docker will answer; the session goes then. */
		s->dead = 1;
		return;
	}
	if (s->waiting_qms)
		supervisor_unwait(qmsd.qms_mcp, s);
	agent_unwait(s);
	if (s->ev != NULL)
		event_free(s->ev);
	if (s->deadline != NULL)
		event_free(s->deadline);
	if (s->fd != -1)
		close(s->fd);
	argv_free(s->argv);
	TAILQ_REMOVE(&sessions, s, entry);
	free(s);
}

static void
fail(struct session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
fail(struct session *s, const char *fmt, ...)
{
	char	msg[700];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warnx("session %s: %s", s->agent, msg);
	ctl_error(s->req, PROTO_FAILED, "%s", msg);
	s->req = NULL;
	session_free(s);
}

/* One line of progress: what came up, and how long it took. */
static void
progress(struct session *s, const char *step, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
progress(struct session *s, const char *step, const char *fmt, ...)
{
	char	 msg[300];
	va_list	 ap;
	cJSON	*p;
	uint64_t now = now_ms();

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "step", step);
	cJSON_AddStringToObject(p, "message", msg);
	cJSON_AddNumberToObject(p, "seconds", (double)(now - s->tstep) /
	    1000);
	ctl_notify(s->req, "progress", p);
	s->tstep = now;
}

static void
remember_exec(const char *id, uint64_t conn)
{
	size_t	i = nexecs_next++ % SESSION_MAX_EXECS;

	snprintf(execs[i].id, sizeof(execs[i].id), "%s", id);
	execs[i].conn = conn;
}

static int
owns_exec(const char *id, uint64_t conn)
{
	size_t	i;

	for (i = 0; i < SESSION_MAX_EXECS; i++)
		if (execs[i].conn == conn && conn != 0 &&
		    strcmp(execs[i].id, id) == 0)
			return (1);
	return (0);
}

/* ---- the upgraded exec start, on a socket of our own ---- */

static void
hijacked(struct session *s)
{
	char	*body, *hex, *p;
	cJSON	*o;
	size_t	 i, n;
	int	 fd;

	body = strstr(s->head, "\r\n\r\n") + 4;
	n = s->len - (size_t)(body - s->head);
	/* Bytes dockerd sent past its headers belong to the stream. */
	hex = xcalloc(n * 2 + 1, 1);
	for (i = 0, p = hex; i < n; i++, p += 2)
		snprintf(p, 3, "%02x", (unsigned char)body[i]);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "exec", s->exec_id);
	cJSON_AddBoolToObject(o, "tty", s->tty);
	cJSON_AddStringToObject(o, "pending", hex);
	cJSON_AddNumberToObject(o, "seconds", (double)(now_ms() - s->t0) /
	    1000);
	free(hex);
	remember_exec(s->exec_id, ctl_req_connection(s->req));
	fd = s->fd;
	s->fd = -1;
	/* qmsd steps out of the data path here. */
	ctl_reply_fd(s->req, o, fd);
	s->req = NULL;
	session_free(s);
}

static void
on_hijack(evutil_socket_t fd, short ev, void *arg)
{
	struct session	*s = arg;
	ssize_t		 n;
	int		 code;

	if (ctl_req_gone(s->req)) {
		session_free(s);
		return;
	}
	if (ev & EV_WRITE) {
		/* Connected: send the start request with the upgrade. */
		char	req[512], body[64];
		int	len;

		snprintf(body, sizeof(body), "{\"Detach\":false,\"Tty\":%s}",
		    s->tty ? "true" : "false");
		len = snprintf(req, sizeof(req), "POST %s/exec/%s/start "
		    "HTTP/1.1\r\nHost: docker\r\nContent-Type: "
		    "application/json\r\nConnection: Upgrade\r\nUpgrade: "
		    "tcp\r\nContent-Length: %zu\r\n\r\n%s",
		    docker_api_prefix(), s->exec_id, strlen(body), body);
		if (write(fd, req, (size_t)len) != len) {
			fail(s, "cannot start the exec: %s", strerror(errno));
			return;
		}
		event_free(s->ev);
		s->ev = event_new(event_get_base(s->deadline), fd,
		    EV_READ | EV_PERSIST, on_hijack, s);
		event_add(s->ev, NULL);
		return;
	}
	n = read(fd, s->head + s->len, sizeof(s->head) - s->len - 1);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		fail(s, "dockerd closed the exec connection");
		return;
	}
	s->len += (size_t)n;
	s->head[s->len] = '\0';
	if (strstr(s->head, "\r\n\r\n") == NULL) {
		if (s->len == sizeof(s->head) - 1)
			fail(s, "dockerd's answer to the exec start is too long");
		return;
	}
	if (sscanf(s->head, "HTTP/1.%*d %d", &code) != 1 ||
	    (code != 101 && code != 200)) {
		s->head[strcspn(s->head, "\r\n")] = '\0';
		fail(s, "dockerd refused the exec start: %s", s->head);
		return;
	}
	event_del(s->ev);
	/* The stream is blocking for qmsctl, which relays with poll. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	hijacked(s);
}

static void
hijack(struct session *s)
{
	struct sockaddr_un	sun;

	s->step = STEP_HIJACK;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", docker_socket());
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd == -1 || (connect(s->fd, (struct sockaddr *)&sun,
	    sizeof(sun)) == -1 && errno != EINPROGRESS && errno != EAGAIN)) {
		fail(s, "cannot reach dockerd at %s: %s", docker_socket(),
		    strerror(errno));
		return;
	}
	s->ev = event_new(event_get_base(s->deadline), s->fd, EV_WRITE,
	    on_hijack, s);
	event_add(s->ev, NULL);
}

static void
exec_created(const struct docker_reply *r, void *arg)
{
	struct session	*s = arg;
	const cJSON	*id;

	s->waiting_docker = 0;
	if (s->dead) {
		session_free(s);
		return;
	}
	if (ctl_req_gone(s->req)) {
		session_free(s);
		return;
	}
	if (r->status != 201) {
		fail(s, "cannot create the exec: %s", r->error ? r->error :
		    "no answer");
		return;
	}
	id = cJSON_GetObjectItemCaseSensitive(r->json, "Id");
	if (!cJSON_IsString(id)) {
		fail(s, "dockerd gave the exec no id");
		return;
	}
	snprintf(s->exec_id, sizeof(s->exec_id), "%s", id->valuestring);
	hijack(s);
}

static void
create_exec(struct session *s)
{
	char	 id[80], user[32], path[160], term[80], **command = NULL;
	cJSON	*o, *cmd, *env;
	char	*body;
	size_t	 i;

	s->step = STEP_EXEC;
	if (agent_info(s->agent, id, sizeof(id), &command, user,
	    sizeof(user)) == -1) {
		fail(s, "agent %s has no running container", s->agent);
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
	if (s->tty)
		cJSON_AddItemToArray(env, cJSON_CreateString(term));
	cmd = cJSON_AddArrayToObject(o, "Cmd");
	if (s->argv != NULL) {
		for (i = 0; s->argv[i] != NULL; i++)
			cJSON_AddItemToArray(cmd,
			    cJSON_CreateString(s->argv[i]));
	} else {
		cJSON_AddItemToArray(cmd, cJSON_CreateString("sh"));
		cJSON_AddItemToArray(cmd, cJSON_CreateString("-c"));
		cJSON_AddItemToArray(cmd, cJSON_CreateString(tmux_or_exec));
		cJSON_AddItemToArray(cmd, cJSON_CreateString("qmsd-session"));
		for (i = 0; command[i] != NULL; i++)
			cJSON_AddItemToArray(cmd,
			    cJSON_CreateString(command[i]));
	}
	argv_free(command);
	if (s->tty && s->rows > 0 && s->cols > 0) {
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

/*
 * Every step's answer: is the session still wanted, and did the step
 * work?  0 when the session was ended here.
 */
static int
step_ok(struct session *s, const char *error)
{
	if (ctl_req_gone(s->req)) {
		session_free(s);
		return (0);
	}
	if (error != NULL) {
		fail(s, "%s", error);
		return (0);
	}
	return (1);
}

static void
agent_ready(void *arg, const char *error, const char *id)
{
	struct session	*s = arg;

	if (!step_ok(s, error))
		return;
	progress(s, "agent", "agent %s running (%.12s)", s->agent, id);
	create_exec(s);
}

static void
qms_ready(void *arg, const char *error)
{
	struct session	*s = arg;

	s->waiting_qms = 0;
	if (!step_ok(s, error))
		return;
	progress(s, "qms-mcp", "qms-mcp ready");
	s->step = STEP_GIT;
	next_step(s);
}

static void
next_step(struct session *s)
{
	struct component	*http;
	char			 err[512];

	switch (s->step) {
	case STEP_QMS:
		if (!s->wait_qms || supervisor_disabled(qmsd.qms_mcp)) {
			if (s->wait_qms)
				progress(s, "qms-mcp", "qms-mcp disabled "
				    "(skipped)");
			s->step = STEP_GIT;
			next_step(s);
			return;
		}
		s->waiting_qms = 1;
		if (supervisor_wait_ready(qmsd.qms_mcp, qms_ready, s, err,
		    sizeof(err)) == -1) {
			s->waiting_qms = 0;
			fail(s, "%s", err);
		}
		return;
	case STEP_GIT:
		if (s->wait_qms) {
			http = component_find("http");
			if (http == NULL || strcmp(component_state(http),
			    "failed") == 0) {
				fail(s, "the HTTP listener is not serving "
				    "/git/mcp");
				return;
			}
			progress(s, "git", "git MCP endpoint ready");
		}
		s->step = STEP_AGENT;
		if (agent_bring_up(s->agent, 0, agent_ready, s, err,
		    sizeof(err)) == -1)
			fail(s, "%s", err);
		return;
	default:
		return;
	}
}

static void
on_deadline(evutil_socket_t fd, short ev, void *arg)
{
	struct session	*s = arg;

	fail(s, "nothing to attach to after %d s", SESSION_TIMEOUT_MS / 1000);
}

void
session_start(struct ctl_req *r, const cJSON *params)
{
	const cJSON	*v, *w;
	struct session	*s;
	struct timeval	 tv = { SESSION_TIMEOUT_MS / 1000, 0 };
	size_t		 n = 0;

	s = xcalloc(1, sizeof(*s));
	s->fd = -1;
	v = cJSON_GetObjectItemCaseSensitive(params, "agent");
	snprintf(s->agent, sizeof(s->agent), "%s", cJSON_IsString(v) ?
	    v->valuestring : "claude");
	s->tty = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(params, "tty"));
	v = cJSON_GetObjectItemCaseSensitive(params, "rows");
	s->rows = cJSON_IsNumber(v) ? v->valueint : 0;
	v = cJSON_GetObjectItemCaseSensitive(params, "cols");
	s->cols = cJSON_IsNumber(v) ? v->valueint : 0;
	v = cJSON_GetObjectItemCaseSensitive(params, "term");
	if (cJSON_IsString(v) && strlen(v->valuestring) < sizeof(s->term) &&
	    strspn(v->valuestring, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-+._") ==
	    strlen(v->valuestring))
		snprintf(s->term, sizeof(s->term), "%s", v->valuestring);
	v = cJSON_GetObjectItemCaseSensitive(params, "argv");
	if (v != NULL) {
		if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) == 0 ||
		    cJSON_GetArraySize(v) > 1024) {
			ctl_error(r, PROTO_INVALID_PARAMS, "params.argv must be "
			    "a non-empty array of strings");
			free(s);
			return;
		}
		s->argv = xcalloc((size_t)cJSON_GetArraySize(v) + 1,
		    sizeof(char *));
		cJSON_ArrayForEach(w, v) {
			if (!cJSON_IsString(w)) {
				argv_free(s->argv);
				free(s);
				ctl_error(r, PROTO_INVALID_PARAMS,
				    "params.argv must hold strings");
				return;
			}
			s->argv[n++] = xstrdup(w->valuestring);
		}
	}
	/* A session brings up everything; an exec only its agent. */
	s->wait_qms = s->argv == NULL;
	s->t0 = s->tstep = now_ms();
	s->req = ctl_defer(r);
	s->deadline = evtimer_new(qmsd.base, on_deadline, s);
	evtimer_add(s->deadline, &tv);
	TAILQ_INSERT_TAIL(&sessions, s, entry);
	s->step = STEP_QMS;
	next_step(s);
}

static void
resized(const struct docker_reply *r, void *arg)
{
	struct ctl_req	*req = arg;

	if (r->status != 200 && r->status != 201)
		ctl_error(req, PROTO_FAILED, "resize: %s", r->error ?
		    r->error : "no answer");
	else
		ctl_reply(req, cJSON_CreateObject());
}

/* params.exec, an exec this connection made; NULL after an error. */
static const char *
own_exec(struct ctl_req *r, const cJSON *params)
{
	const cJSON	*id = cJSON_GetObjectItemCaseSensitive(params, "exec");

	if (!cJSON_IsString(id) || id->valuestring[0] == '\0' ||
	    strspn(id->valuestring, "0123456789abcdef") !=
	    strlen(id->valuestring)) {
		ctl_error(r, PROTO_INVALID_PARAMS, "params.exec must be an exec "
		    "id");
		return (NULL);
	}
	if (!owns_exec(id->valuestring, ctl_req_connection(r))) {
		ctl_error(r, PROTO_PERMISSION_DENIED, "that exec is not this "
		    "connection's");
		return (NULL);
	}
	return (id->valuestring);
}

void
session_resize(struct ctl_req *r, const cJSON *params)
{
	const cJSON	*rows, *cols;
	const char	*id;
	char		 path[200];

	rows = cJSON_GetObjectItemCaseSensitive(params, "rows");
	cols = cJSON_GetObjectItemCaseSensitive(params, "cols");
	if (!cJSON_IsNumber(rows) || !cJSON_IsNumber(cols) ||
	    rows->valueint < 1 || cols->valueint < 1 ||
	    rows->valueint > 10000 || cols->valueint > 10000) {
		ctl_error(r, PROTO_INVALID_PARAMS, "exec-resize needs rows and "
		    "cols from 1 to 10000");
		return;
	}
	if ((id = own_exec(r, params)) == NULL)
		return;
	snprintf(path, sizeof(path), "/exec/%s/resize?h=%d&w=%d", id,
	    rows->valueint, cols->valueint);
	docker_request("POST", path, NULL, resized, ctl_defer(r));
}

static void
inspected(const struct docker_reply *r, void *arg)
{
	struct ctl_req	*req = arg;
	const cJSON	*running, *code;
	cJSON		*o;

	if (r->status != 200) {
		ctl_error(req, PROTO_FAILED, "exec status: %s", r->error ?
		    r->error : "no answer");
		return;
	}
	running = cJSON_GetObjectItemCaseSensitive(r->json, "Running");
	code = cJSON_GetObjectItemCaseSensitive(r->json, "ExitCode");
	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "running", cJSON_IsTrue(running));
	if (cJSON_IsNumber(code))
		cJSON_AddNumberToObject(o, "exit_code", code->valuedouble);
	else
		cJSON_AddNullToObject(o, "exit_code");
	ctl_reply(req, o);
}

void
session_status(struct ctl_req *r, const cJSON *params)
{
	const char	*id;
	char		 path[200];

	if ((id = own_exec(r, params)) == NULL)
		return;
	snprintf(path, sizeof(path), "/exec/%s/json", id);
	docker_request("GET", path, NULL, inspected, ctl_defer(r));
}

void
session_shutdown(void)
{
	struct session	*s;

	while ((s = TAILQ_FIRST(&sessions)) != NULL) {
		if (s->req != NULL)
			ctl_error(s->req, PROTO_FAILED, "qmsd is shutting down");
		s->req = NULL;
		/* docker_shutdown drops its requests without answering. */
		s->waiting_docker = 0;
		session_free(s);
	}
}
