/*
 * The console's terminals: see console-terminal.h, and docs/design.md
 * ("Terminal") for the relay and its bounds.
 *
 * A terminal is a browser's WebSocket and an exec's stream (a TTY, its
 * bytes as they are): qmsd stays in the data path, unlike `qmsctl
 * session`, since the browser cannot take a descriptor.  Every buffer is
 * bounded: past its mark the side that fills it is no longer read, so a
 * browser that does not read holds the container's output back (in the
 * kernel and in tmux, not in qmsd), and a container that does not read
 * holds the browser's keystrokes back.
 *
 * Opening one is an admin action, as `qmsctl session` is: its record
 * (kind admin, via console, method terminal) is on disk before the
 * session starts (term_recorded); keys typed meanwhile wait in early.
 */
#include <sys/queue.h>

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include <cjson/cJSON.h>

#include "agent.h"
#include "audit-log.h"
#include "console-api.h"
#include "console-auth.h"
#include "console-terminal.h"
#include "http.h"
#include "log.h"
#include "manager.h"
#include "qmsd.h"
#include "session.h"
#include "util.h"
#include "websocket.h"

#define TERM_PATH		"/console/api/agents/"
#define TERM_MESSAGE_MAX	(64 * 1024)	/* from the browser */
#define TERM_BROWSER_HIGH	(256 * 1024)	/* queued for the browser */
#define TERM_DOCKER_HIGH	(64 * 1024)	/* queued for the container */
#define TERM_READ_MAX		(64 * 1024)	/* read ahead, either side */
#define TERM_FRAME		(16 * 1024)	/* output per binary frame */
#define TERM_PING_MS		30000
#define TERM_PINGS_MISSED	3		/* then it is gone */
#define TERM_CLOSE_MS		5000		/* the last bytes' deadline */
#define TERM_SIZE_MAX		1000		/* rows, columns */
#define TERM_ROWS		24
#define TERM_COLS		80

struct terminal {
	char			 agent[64];
	uint64_t		 owner;		/* its execs' (session.h) */
	int			 rows, cols;	/* the browser's */
	int			 exec_rows, exec_cols;	/* the exec's */
	struct http_upgraded	*up;		/* the browser's connection */
	struct bufferevent	*browser;
	struct bufferevent	*docker;	/* the exec's stream */
	struct evbuffer		*early;		/* keys before the exec */
	struct ws_decoder	 dec;
	struct event		*timer;		/* a ping, or the deadline */
	char			 exec_id[80];
	int			 starting;	/* session_start's answer owed */
	int			 resizing;	/* a resize in flight */
	int			 closing;	/* our close frame is out */
	int			 pong_due;	/* pings not answered */
	int			 freed;		/* gone; the resize's answer frees */
	int			 ended;		/* its login ended before the 101 */
	char			 session[CONSOLE_SECRET_LEN + 1];
	char			 label[16];	/* the session, in the audit log */
	struct audit_wait	*aw;		/* its record, till on disk */
	TAILQ_ENTRY(terminal)	 entry;
};

static TAILQ_HEAD(, terminal) terminals = TAILQ_HEAD_INITIALIZER(terminals);
static size_t		 nterminals;
static uint64_t		 term_serial;

static void	term_close(struct terminal *, int code, const char *reason);
static void	term_pump_docker(struct terminal *);
static void	term_read_browser(struct terminal *);

/* The exec's stream closes, and its process (tmux's client) ends. */
static void
exec_end(struct terminal *t)
{
	if (t->docker == NULL)
		return;
	bufferevent_free(t->docker);
	t->docker = NULL;
	session_exec_hangup(t->exec_id, t->owner);
}

/* Gone, all of it; the struct itself once no resize is owed an answer. */
static void
term_free(struct terminal *t)
{
	audit_forget(t->aw);
	t->aw = NULL;
	if (t->starting) {
		t->starting = 0;
		session_abandon(t);	/* its done() is ignored, see there */
	}
	if (t->timer != NULL)
		event_free(t->timer);
	exec_end(t);
	if (t->browser != NULL)
		bufferevent_free(t->browser);
	if (t->up != NULL)
		http_upgraded_close(t->up);
	evbuffer_free(t->early);
	ws_decoder_free(&t->dec);
	TAILQ_REMOVE(&terminals, t, entry);
	nterminals--;
	log_debug("console: a terminal on agent %s closed (%zu open)",
	    t->agent, nterminals);
	if (t->resizing)
		t->freed = 1;
	else
		free(t);
}

static size_t
browser_queued(const struct terminal *t)
{
	return (evbuffer_get_length(bufferevent_get_output(t->browser)));
}

static size_t
docker_queued(const struct terminal *t)
{
	if (t->docker != NULL)
		return (evbuffer_get_length(bufferevent_get_output(t->docker)));
	return (evbuffer_get_length(t->early));
}

static void
send_frame(struct terminal *t, int opcode, const void *data, size_t len)
{
	uint8_t	head[WS_MAX_HEADER];

	bufferevent_write(t->browser, head, ws_frame_header(head, opcode,
	    len));
	if (len > 0)
		bufferevent_write(t->browser, data, len);
}

/* {"key":"value"}, unless the browser is behind (it is news only). */
static void
send_json(struct terminal *t, const char *key, const char *value)
{
	cJSON	*o;
	char	*s;

	if (t->closing || browser_queued(t) >= TERM_BROWSER_HIGH)
		return;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, key, value);
	s = cJSON_PrintUnformatted(o);
	send_frame(t, WS_TEXT, s, strlen(s));
	cJSON_free(s);
	cJSON_Delete(o);
}

static void	resize_next(struct terminal *);

static void
resized(void *arg, const char *error, const cJSON *json)
{
	struct terminal	*t = arg;

	t->resizing = 0;
	if (t->freed) {
		free(t);
		return;
	}
	if (error != NULL)
		send_json(t, "error", error);
	resize_next(t);
}

/* One resize in flight at most: the latest size wins. */
static void
resize_next(struct terminal *t)
{
	char	err[256];

	if (t->docker == NULL || t->resizing || t->closing ||
	    (t->rows == t->exec_rows && t->cols == t->exec_cols))
		return;
	if (session_exec_resize(t->exec_id, t->owner, t->rows, t->cols,
	    resized, t, err, sizeof(err)) == -1) {
		send_json(t, "error", err);
		return;
	}
	t->resizing = 1;
	t->exec_rows = t->rows;
	t->exec_cols = t->cols;
}

/* A text message: {"resize":[rows,cols]}, the one control there is. */
static void
on_control(struct terminal *t, const uint8_t *data, size_t len)
{
	cJSON		*o, *a, *r, *c;

	o = cJSON_ParseWithLength((const char *)data, len);
	a = cJSON_GetObjectItemCaseSensitive(o, "resize");
	if (cJSON_GetArraySize(a) != 2 || !cJSON_IsArray(a) ||
	    !cJSON_IsNumber(r = cJSON_GetArrayItem(a, 0)) ||
	    !cJSON_IsNumber(c = cJSON_GetArrayItem(a, 1)) ||
	    r->valuedouble < 1 || r->valuedouble > TERM_SIZE_MAX ||
	    c->valuedouble < 1 || c->valuedouble > TERM_SIZE_MAX ||
	    r->valuedouble != (int)r->valuedouble ||
	    c->valuedouble != (int)c->valuedouble) {
		cJSON_Delete(o);
		send_json(t, "error", "a text message must be "
		    "{\"resize\":[rows,cols]}, each from 1 to 1000");
		return;
	}
	t->rows = (int)r->valuedouble;
	t->cols = (int)c->valuedouble;
	cJSON_Delete(o);
	resize_next(t);
}

static void
on_message(struct terminal *t, const struct ws_message *m)
{
	switch (m->opcode) {
	case WS_BINARY:
		if (t->docker != NULL)
			bufferevent_write(t->docker, m->data, m->len);
		else
			evbuffer_add(t->early, m->data, m->len);
		break;
	case WS_TEXT:
		on_control(t, m->data, m->len);
		break;
	case WS_PING:
		if (browser_queued(t) < TERM_BROWSER_HIGH)
			send_frame(t, WS_PONG, m->data, m->len);
		break;
	case WS_PONG:
		t->pong_due = 0;
		break;
	case WS_CLOSE:
		term_close(t, m->code == WS_CLOSE_NO_STATUS ? WS_CLOSE_NORMAL :
		    m->code, "");
		break;
	}
}

/*
 * What the browser sent, as far as there is room for its effects: a
 * message is decoded only while neither side's queue is over its mark.
 */
static void
term_read_browser(struct terminal *t)
{
	struct evbuffer		*in = bufferevent_get_input(t->browser);
	struct evbuffer_iovec	 v;
	struct ws_message	 m;
	size_t			 used;
	int			 rv;

	while (!t->closing && evbuffer_get_length(in) > 0) {
		if (docker_queued(t) >= TERM_DOCKER_HIGH ||
		    browser_queued(t) >= TERM_BROWSER_HIGH) {
			bufferevent_disable(t->browser, EV_READ);
			return;
		}
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		rv = ws_decode(&t->dec, v.iov_base, v.iov_len, &used, &m);
		evbuffer_drain(in, used);
		if (rv == -1) {
			log_debug("console: terminal on %s: %s", t->agent,
			    m.why);
			term_close(t, m.code, m.why);
			return;
		}
		if (rv == 1)
			on_message(t, &m);
	}
	if (!t->closing)
		bufferevent_enable(t->browser, EV_READ);
}

/* The container's output, as binary frames, while the browser keeps up. */
static void
term_pump_docker(struct terminal *t)
{
	struct evbuffer	*in;
	uint8_t		 head[WS_MAX_HEADER];
	size_t		 n;

	if (t->docker == NULL || t->closing)
		return;
	in = bufferevent_get_input(t->docker);
	while ((n = evbuffer_get_length(in)) > 0 &&
	    browser_queued(t) < TERM_BROWSER_HIGH) {
		if (n > TERM_FRAME)
			n = TERM_FRAME;
		bufferevent_write(t->browser, head, ws_frame_header(head,
		    WS_BINARY, n));
		evbuffer_remove_buffer(in, bufferevent_get_output(t->browser),
		    n);
	}
	if (evbuffer_get_length(in) > 0)
		bufferevent_disable(t->docker, EV_READ);
	else
		bufferevent_enable(t->docker, EV_READ);
}

static void
on_docker_read(struct bufferevent *bev, void *arg)
{
	term_pump_docker(arg);
}

/* The container caught up: the browser may be read again. */
static void
on_docker_write(struct bufferevent *bev, void *arg)
{
	term_read_browser(arg);
}

static void
on_docker_event(struct bufferevent *bev, short what, void *arg)
{
	struct terminal	*t = arg;

	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return;
	/* What is read already goes first, as far as it fits. */
	term_pump_docker(t);
	log_debug("console: terminal on %s: the exec's stream ended",
	    t->agent);
	term_close(t, WS_CLOSE_NORMAL, "the session ended");
}

static void
on_browser_read(struct bufferevent *bev, void *arg)
{
	term_read_browser(arg);
}

/* The browser caught up (or, closing, has it all). */
static void
on_browser_write(struct bufferevent *bev, void *arg)
{
	struct terminal	*t = arg;

	if (t->closing) {
		if (browser_queued(t) == 0)
			term_free(t);
		return;
	}
	term_pump_docker(t);
	term_read_browser(t);
}

static void
on_browser_event(struct bufferevent *bev, short what, void *arg)
{
	struct terminal	*t = arg;

	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		term_free(t);	/* the browser left: the exec goes too */
}

static void
term_arm(struct terminal *t, int ms)
{
	struct timeval	tv;

	timeval_ms(&tv, ms);
	evtimer_add(t->timer, &tv);
}

static void
on_timer(evutil_socket_t fd, short ev, void *arg)
{
	struct terminal	*t = arg;

	if (t->closing) {
		term_free(t);	/* the browser did not take its last bytes */
		return;
	}
	/*
	 * Not read (its keys wait for the container), its pong could not
	 * be seen: it is not counted against it.
	 */
	if (!(bufferevent_get_enabled(t->browser) & EV_READ))
		t->pong_due = 0;
	else if (t->pong_due >= TERM_PINGS_MISSED) {
		term_close(t, WS_CLOSE_GOING_AWAY, "no answer to pings");
		return;
	}
	/* A browser behind on its output is busy, not gone. */
	if (browser_queued(t) < TERM_BROWSER_HIGH) {
		send_frame(t, WS_PING, NULL, 0);
		t->pong_due++;
	}
	term_arm(t, TERM_PING_MS);
}

/*
 * The end, from either side: the exec's stream closes at once (the attach
 * leaves tmux), the close frame goes to the browser, and the connection
 * closes once it is sent (or at the deadline).
 */
static void
term_close(struct terminal *t, int code, const char *reason)
{
	uint8_t	payload[WS_MAX_CONTROL];

	if (t->closing)
		return;
	t->closing = 1;
	/* Not recorded yet: it will not start. */
	audit_forget(t->aw);
	t->aw = NULL;
	if (t->starting) {
		t->starting = 0;
		session_abandon(t);
	}
	exec_end(t);
	bufferevent_disable(t->browser, EV_READ);
	send_frame(t, WS_CLOSE, payload, ws_close_payload(payload, code,
	    reason));
	bufferevent_setwatermark(t->browser, EV_WRITE, 0, 0);
	term_arm(t, TERM_CLOSE_MS);
}

static void
session_progress(void *arg, const char *step, const char *message,
    double seconds)
{
	send_json(arg, "progress", message);
}

static int
session_gone(void *arg)
{
	struct terminal	*t = arg;

	return (t->closing);
}

static void
session_done(void *arg, const char *error, const struct session_result *res,
    int fd)
{
	struct terminal	*t = arg;
	uint8_t		 head[WS_MAX_HEADER];

	/* Abandoned (term_free, term_close): t may be on its way out. */
	if (!t->starting) {
		if (fd != -1)
			close(fd);
		return;
	}
	t->starting = 0;
	if (error != NULL) {
		send_json(t, "error", error);
		term_close(t, WS_CLOSE_ERROR, "the session could not start");
		return;
	}
	snprintf(t->exec_id, sizeof(t->exec_id), "%s", res->exec_id);
	log_info("console: terminal on agent %s: exec %.12s attached in "
	    "%.3f s", t->agent, t->exec_id, res->seconds);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	t->docker = bufferevent_socket_new(qmsd.base, fd,
	    BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(t->docker, on_docker_read, on_docker_write,
	    on_docker_event, t);
	bufferevent_setwatermark(t->docker, EV_READ, 0, TERM_READ_MAX);
	bufferevent_setwatermark(t->docker, EV_WRITE, TERM_DOCKER_HIGH / 4,
	    0);
	if (res->npending > 0) {
		bufferevent_write(t->browser, head, ws_frame_header(head,
		    WS_BINARY, res->npending));
		bufferevent_write(t->browser, res->pending, res->npending);
	}
	bufferevent_write_buffer(t->docker, t->early);
	bufferevent_enable(t->docker, EV_READ | EV_WRITE);
	/* ConsoleSize is not heeded by every dockerd: sized once more. */
	t->exec_rows = t->exec_cols = 0;
	resize_next(t);
	term_read_browser(t);
}

static const struct session_cb term_session_cb = {
	.progress = session_progress,
	.gone = session_gone,
	.done = session_done,
};

/* The client left before the 101 went out. */
static void
term_gone_early(void *arg)
{
	term_free(arg);
}

/* The listener stops: the connection is closed on return. */
static void
term_listener_closed(void *arg)
{
	struct terminal	*t = arg;

	t->up = NULL;
	if (t->browser != NULL) {
		bufferevent_free(t->browser);
		t->browser = NULL;
	}
	term_free(t);
}

/* The record is on disk: the session starts, as `qmsctl session`'s. */
static void
term_recorded(void *arg, const char *error)
{
	struct terminal		*t = arg;
	struct session_params	 p;
	char			 why[600];

	t->aw = NULL;
	if (error != NULL) {
		snprintf(why, sizeof(why), "qmsd could not record this "
		    "terminal: %s", error);
		log_warnx("console: terminal on agent %s: %s", t->agent, why);
		send_json(t, "error", why);
		term_close(t, WS_CLOSE_ERROR, "the terminal could not be "
		    "recorded");
		return;
	}
	memset(&p, 0, sizeof(p));
	p.agent = t->agent;
	p.tty = 1;
	p.rows = t->rows;
	p.cols = t->cols;
	p.owner = t->owner;
	/* A person's session, as `qmsctl session` is. */
	manager_person(t->agent, 1);
	t->starting = 1;
	/* It may answer before it returns; t stays until a browser event. */
	session_start(&p, &term_session_cb, t);
	term_read_browser(t);
}

static void
term_open(void *arg, struct http_upgraded *u, int fd, const char *extra,
    size_t n)
{
	struct terminal		*t = arg;
	cJSON			*o;

	t->up = u;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	t->browser = bufferevent_socket_new(qmsd.base, fd, 0);
	bufferevent_setcb(t->browser, on_browser_read, on_browser_write,
	    on_browser_event, t);
	bufferevent_setwatermark(t->browser, EV_READ, 0, TERM_READ_MAX);
	bufferevent_setwatermark(t->browser, EV_WRITE, TERM_BROWSER_HIGH / 4,
	    0);
	/*
	 * Sent before the 101 went out: read before the socket's (the
	 * input's end is libevent's alone, its start is not).
	 */
	if (evbuffer_prepend(bufferevent_get_input(t->browser), extra,
	    n) == -1)
		fatalx("evbuffer_prepend failed");
	bufferevent_enable(t->browser, EV_READ | EV_WRITE);
	t->timer = evtimer_new(qmsd.base, on_timer, t);
	term_arm(t, TERM_PING_MS);
	log_info("console: a terminal on agent %s opened (%zu open)",
	    t->agent, nterminals);

	/*
	 * An admin action, as `qmsctl session` is: recorded, and the
	 * session started only once that is on disk (term_recorded); keys
	 * typed meanwhile wait in early.
	 */
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "via", "console");
	cJSON_AddStringToObject(o, "session", t->label);
	cJSON_AddStringToObject(o, "method", "terminal");
	cJSON_AddStringToObject(o, "agent", t->agent);
	t->aw = audit_record("admin", o, term_recorded, t);
	term_read_browser(t);
	if (t->ended)
		term_close(t, WS_CLOSE_POLICY, "logged out");
}

/* A query's size: def when absent, -1 when not 1 to TERM_SIZE_MAX. */
static int
query_size(struct http_request *r, const char *name, int def)
{
	const char	*v = http_query(r, name);
	long long	 n;

	if (v == NULL)
		return (def);
	if (strspn(v, "0123456789") != strlen(v) ||
	    parse_number(v, 1, TERM_SIZE_MAX, &n) == -1)
		return (-1);
	return ((int)n);
}

void
console_terminal_serve(struct http_request *r, const char *agent,
    const char *session, const char *label)
{
	struct terminal	*t;
	const char	*why, *h[5];
	char		 accept[WS_ACCEPT_LEN + 1], hdr[64];
	size_t		 n = 0;
	int		 rows, cols, version_bad;

	if (ws_handshake(http_method(r), http_header(r, "Upgrade"),
	    http_header(r, "Connection"), http_header(r,
	    "Sec-WebSocket-Version"), http_header(r, "Sec-WebSocket-Key"),
	    accept, &version_bad, &why) == -1) {
		console_api_refuse(r, version_bad ? 426 : 400, version_bad ?
		    "Sec-WebSocket-Version: 13" : NULL, "not a WebSocket "
		    "handshake: %s", why);
		return;
	}
	if (!agent_known(agent)) {
		console_api_refuse(r, 404, NULL, "no agent \"%.64s\"", agent);
		return;
	}
	if ((rows = query_size(r, "rows", TERM_ROWS)) == -1 ||
	    (cols = query_size(r, "cols", TERM_COLS)) == -1) {
		console_api_refuse(r, 400, NULL, "rows and cols must be whole "
		    "numbers from 1 to %d", TERM_SIZE_MAX);
		return;
	}
	TAILQ_FOREACH(t, &terminals, entry)
		if (strcmp(t->agent, agent) == 0)
			n++;
	if (n >= TERMINAL_MAX_PER_AGENT || nterminals >= TERMINAL_MAX) {
		console_api_refuse(r, 503, "Retry-After: 10", "too many "
		    "terminals open: %zu on agent %s, %zu in all (at most %d per agent, %d in "
		    "all); close one first", n, agent, nterminals,
		    TERMINAL_MAX_PER_AGENT, TERMINAL_MAX);
		return;
	}

	t = xcalloc(1, sizeof(*t));
	snprintf(t->agent, sizeof(t->agent), "%s", agent);
	snprintf(t->session, sizeof(t->session), "%s", session);
	snprintf(t->label, sizeof(t->label), "%s", label);
	/* Never a control connection's serial (those count from 1). */
	t->owner = UINT64_C(1) << 63 | ++term_serial;
	t->rows = rows;
	t->cols = cols;
	t->early = evbuffer_new();
	ws_decoder_init(&t->dec, TERM_MESSAGE_MAX);
	TAILQ_INSERT_TAIL(&terminals, t, entry);
	nterminals++;

	snprintf(hdr, sizeof(hdr), "Sec-WebSocket-Accept: %s", accept);
	h[0] = "Upgrade: websocket";
	h[1] = "Connection: Upgrade";
	h[2] = hdr;
	h[3] = NULL;
	http_on_gone(r, term_gone_early, t);
	http_upgrade(r, h, term_open, term_listener_closed, t);
}

/* A terminal lives no longer than the login it was opened with. */
static void
end_if(int (*which)(const struct terminal *, const char *), const char *id)
{
	struct terminal	*t, *next;

	for (t = TAILQ_FIRST(&terminals); t != NULL; t = next) {
		next = TAILQ_NEXT(t, entry);
		if (t->freed || !which(t, id))
			continue;
		if (t->browser == NULL)
			t->ended = 1;	/* closed as it opens */
		else
			term_close(t, WS_CLOSE_POLICY, "logged out");
	}
}

static int
of_session(const struct terminal *t, const char *id)
{
	return (strlen(id) == CONSOLE_SECRET_LEN &&
	    equal_secret(t->session, id, CONSOLE_SECRET_LEN));
}

static int
any(const struct terminal *t, const char *id)
{
	return (1);
}

void
console_terminal_end_session(const char *id)
{
	end_if(of_session, id);
}

void
console_terminal_end_all(void)
{
	end_if(any, NULL);
}
