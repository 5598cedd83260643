#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "argv.h"
#include "component.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "token.h"
#include "util.h"

#define HTTP_MAX_LISTENERS	8
#define HTTP_MAX_ROUTES		16
#define HTTP_RETRY_MS		5000	/* rebinding a listener that failed */

/*
 * A connection, open to closed.  While it waits for a request's head it
 * is on its listener's waiting list, oldest first: a connection holds a
 * slot only as long as it is doing something (see on_connection()).
 */
struct http_conn {
	struct listener		*l;
	int			 fd;
	/* An agent's socket's: its name; the token must be its too. */
	char			 agent[64];
	uint64_t		 since;		/* began waiting, ms */
	int			 line;		/* the request line is in */
	int			 waiting;
	TAILQ_ENTRY(http_conn)	 entry;
};

/* A connection handed over by http_upgrade(), open until closed. */
struct http_upgraded {
	struct listener			*l;
	struct http_request		*req;	/* its request, freed after */
	struct MHD_UpgradeResponseHandle *urh;	/* NULL: not yet open */
	http_upgraded_fn		 on_open;
	void				(*on_close)(void *);
	void				*arg;
	int				 closing;
	TAILQ_ENTRY(http_upgraded)	 entry;
};

struct listener {
	char			 spec[80];	/* as configured */
	int			 nsuspended;	/* connections waiting on us */
	TAILQ_HEAD(, http_upgraded) upgraded;	/* open, handed over */
	unsigned int		 nconn;		/* open connections */
	TAILQ_HEAD(, http_conn)	 waiting;	/* for a head, oldest first */
	struct event		*sweep;		/* closes the late ones */
	struct MHD_Daemon	*mhd;
	struct event		*ev;		/* MHD's epoll descriptor */
	struct event		*timer;		/* MHD's own timeouts */
	char			 error[300];
	/* On a loopback address: its own "ADDRESS:PORT" and origin. */
	char			 self[80];
	char			 origin[96];
};

struct route {
	char			 path[64];
	http_route_fn		 fn;
	http_body_fn		 body_fn;	/* set: the body streams */
	void			*arg;
	int			 prefix;	/* path and anything after */
	uint64_t		 max_body;	/* 0: max-body alone */
	int			 browser;	/* see http_route_browser() */
	http_route_fn		 gate;		/* see http_route_gate() */
};

/* A streamed answer: bytes from upstream, read by MHD as they come. */
struct http_stream {
	struct http_request	*req;		/* NULL once the client left */
	char			*buf;
	size_t			 len;
	int			 ended;
	int			 error;
	int			 waiting;	/* MHD asked, nothing was there */
	void			(*on_abort)(void *);
	void			(*on_drain)(void *);
	void			*arg;
};

struct http_request {
	struct MHD_Connection	*conn;
	struct http_stream	*stream;
	struct http_upgraded	*upgrade;	/* its answer upgrades */
	struct event		*gone_ev;	/* watches a suspended client */
	void			(*gone_fn)(void *);	/* told if it left */
	void			*gone_arg;
	struct listener		*l;
	const struct route	*route;
	const char		*method;
	const char		*url;
	const char		*identity;
	uint64_t		 max_body;	/* max-body, or the route's */
	char			*body;
	size_t			 len;
	long long		 length;	/* Content-Length, or -1 */
	int			 too_big;
	int			 dispatched;
	int			 body_ended;
	int			 suspended;
	struct MHD_Response	*response;	/* ready to queue */
	int			 status;
};

static struct event_base *h_base;
/*
 * Pointers, never structs moved about: MHD and libevent hold a listener's
 * address.  A listener a reload drops while connections wait (a git call,
 * a stream) stops taking new ones and drains before it is stopped.
 */
static struct listener	*listeners[HTTP_MAX_LISTENERS];
static size_t		 nlisteners;
static struct listener	*draining[HTTP_MAX_LISTENERS * 4];
static size_t		 ndraining;
static struct route	 routes[HTTP_MAX_ROUTES];
static size_t		 nroutes;
static struct component	*h_comp;
static struct event	*h_retry;
/* The live configuration's values; copied, since a reload frees it. */
static char		**h_hosts, **h_origins;
static char		 h_bridge[64];		/* the docker-bridge address */
/* Why Docker gave no address for it; empty until Docker has answered. */
static char		 h_bridge_why[200];
/* docker-bridge addresses left shut: no agent has network = bridge. */
static int		 h_unbridged;
static uint64_t		 h_max_body;
static long long	 h_max_conn;
static uint64_t		 h_timeout;
static uint64_t		 h_line_timeout, h_head_timeout;
static long long	 h_per_peer;
/* Connections from agents' sockets (agent-socket.h), added one by one. */
static struct listener	*h_agents;
/*
 * How many each agent has open there: the socket is the peer, and
 * max-connections-per-peer bounds it as it bounds an address.
 */
static struct {
	char		name[64];
	long long	n;
} h_agent_conns[CONFIG_MAX_AGENTS * 2];

#define HTTP_SWEEP_MS		250	/* how late a deadline may be seen */
/*
 * Slots kept free for newcomers once the waiting ones crowd the listener:
 * MHD accepts up to ten a turn while under its limit, and stops accepting
 * at it, so room for a batch lets the backlog drain in a few turns.
 */
#define HTTP_ROOM(max)	((max) / 16 + 1)

static void	listener_pump(struct listener *);
static struct http_conn *conn_of(struct MHD_Connection *);
static void	conn_agent(struct MHD_Connection *, char *, size_t);
static long long agent_conns(const char *, int);
static void	wait_begin(struct http_conn *);
static void	wait_end(struct http_conn *);
static enum MHD_Result queue(struct http_request *);
static void	watch_client(struct http_request *);
static void	request_gone(struct http_request *);
static void	unwatch_client(struct http_request *);
static void	listener_kick(struct listener *);
static void	listener_close(struct listener *);
static void	reap_draining(void);
static void	listener_retire(struct listener *);
static void	http_on_retry(evutil_socket_t, short, void *);

void
http_route(const char *path, http_route_fn fn, void *arg)
{
	if (nroutes == HTTP_MAX_ROUTES)
		fatalx("too many HTTP routes");
	snprintf(routes[nroutes].path, sizeof(routes[nroutes].path), "%s",
	    path);
	routes[nroutes].fn = fn;
	routes[nroutes].arg = arg;
	nroutes++;
}

void
http_route_prefix(const char *prefix, http_route_fn fn, void *arg,
    uint64_t max_body)
{
	http_route(prefix, fn, arg);
	routes[nroutes - 1].prefix = 1;
	routes[nroutes - 1].max_body = max_body;
}

void
http_route_streaming(const char *path, http_route_fn fn, http_body_fn body,
    void *arg)
{
	http_route(path, fn, arg);
	routes[nroutes - 1].body_fn = body;
}

void
http_route_browser(const char *prefix, http_route_fn fn, void *arg,
    uint64_t max_body)
{
	http_route_prefix(prefix, fn, arg, max_body);
	routes[nroutes - 1].browser = 1;
}

void
http_route_gate(const char *prefix, http_route_fn gate)
{
	size_t	i;

	for (i = 0; i < nroutes; i++)
		if (strcmp(routes[i].path, prefix) == 0)
			routes[i].gate = gate;
}

const char *
http_origin(const struct http_request *r)
{
	return (r->l->origin);
}

const char *
http_query(const struct http_request *r, const char *name)
{
	return (MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND,
	    name));
}

const char *
http_loopback(void)
{
	size_t	i;

	for (i = 0; i < nlisteners; i++)
		if (listeners[i]->mhd != NULL && listeners[i]->self[0] != '\0')
			return (listeners[i]->self);
	return (NULL);
}

const char *
http_method(const struct http_request *r)
{
	return (r->method);
}

const char *
http_path(const struct http_request *r)
{
	return (r->url);
}

const char *
http_header(const struct http_request *r, const char *name)
{
	return (MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name));
}

const char *
http_identity(const struct http_request *r)
{
	return (r->identity);
}

long long
http_content_length(const struct http_request *r)
{
	return (r->length);
}

const char *
http_body(const struct http_request *r, size_t *len)
{
	*len = r->len;
	return (r->body != NULL ? r->body : "");
}

/* "Name: value" strings, NULL-terminated (or NULL), added to resp. */
static void
add_headers(struct MHD_Response *resp, const char *const *headers)
{
	const char		*colon;
	char			 name[128];
	size_t			 n;

	for (; headers != NULL && *headers != NULL; headers++) {
		if ((colon = strchr(*headers, ':')) == NULL)
			continue;
		n = (size_t)(colon - *headers);
		if (n >= sizeof(name))
			continue;
		memcpy(name, *headers, n);
		name[n] = '\0';
		colon++;
		while (*colon == ' ')
			colon++;
		MHD_add_response_header(resp, name, colon);
	}
}

static struct MHD_Response *
make_response(int status, const char *const *headers, const char *ctype,
    const char *body, size_t len)
{
	struct MHD_Response	*resp;
	size_t			 i;

	resp = MHD_create_response_from_buffer(len, (void *)body,
	    MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		fatalx("MHD_create_response_from_buffer failed");
	if (ctype != NULL)
		MHD_add_response_header(resp, "Content-Type", ctype);
	/* Nothing is cached unless the route says how (console files). */
	for (i = 0; headers != NULL && headers[i] != NULL; i++)
		if (strncasecmp(headers[i], "Cache-Control:", 14) == 0)
			break;
	if (headers == NULL || headers[i] == NULL)
		MHD_add_response_header(resp, "Cache-Control", "no-store");
	add_headers(resp, headers);
	(void)status;
	return (resp);
}

/* Back to MHD, on the loop's next turn. */
static void
resume(struct http_request *r)
{
	r->l->nsuspended--;
	unwatch_client(r);
	MHD_resume_connection(r->conn);
	listener_kick(r->l);
}

void
http_respond(struct http_request *r, int status, const char *const *headers,
    const char *ctype, const char *body, size_t len)
{
	if (r->response != NULL)
		return;		/* answered already */
	r->gone_fn = NULL;	/* answered: nothing left to cancel */
	r->status = status;
	r->response = make_response(status, headers, ctype, body, len);
	if (r->suspended) {
		r->suspended = 0;
		resume(r);
	}
}

void
http_respond_rpc_error(struct http_request *r, int status,
    const char *const *headers, int code, const char *message)
{
	cJSON	*o, *e;
	char	*s;

	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "jsonrpc", "2.0");
	cJSON_AddNullToObject(o, "id");
	e = cJSON_AddObjectToObject(o, "error");
	cJSON_AddNumberToObject(e, "code", code);
	cJSON_AddStringToObject(e, "message", message);
	s = cJSON_PrintUnformatted(o);
	http_respond(r, status, headers, "application/json", s, strlen(s));
	cJSON_free(s);
	cJSON_Delete(o);
}

/*
 * MHD has sent the 101 and hands the socket over: from now the route's
 * on_close, not http_on_gone's function, says when the listener stops.
 */
static void
on_upgraded(void *cls, struct MHD_Connection *conn, void *con_cls,
    const char *extra, size_t n, MHD_socket fd,
    struct MHD_UpgradeResponseHandle *urh)
{
	struct http_upgraded	*u = cls;
	struct http_request	*r = con_cls;

	u->urh = urh;
	r->gone_fn = NULL;
	TAILQ_INSERT_TAIL(&u->l->upgraded, u, entry);
	u->on_open(u->arg, u, fd, extra, n);
}

void
http_upgrade(struct http_request *r, const char *const *headers,
    http_upgraded_fn on_open, void (*on_close)(void *), void *arg)
{
	struct http_upgraded	*u;
	struct MHD_Response	*resp;

	if (r->response != NULL)
		return;		/* answered already */
	u = xcalloc(1, sizeof(*u));
	u->l = r->l;
	u->req = r;
	u->on_open = on_open;
	u->on_close = on_close;
	u->arg = arg;
	if ((resp = MHD_create_response_for_upgrade(on_upgraded, u)) == NULL)
		fatalx("MHD_create_response_for_upgrade failed");
	add_headers(resp, headers);
	r->upgrade = u;
	r->status = 101;
	r->response = resp;
	/* The gone function stays: the client may leave before the 101. */
	if (r->suspended) {
		r->suspended = 0;
		resume(r);
	}
}

/* Closed by MHD on its next turn; its request is freed then. */
static void
upgraded_free(struct http_upgraded *u)
{
	TAILQ_REMOVE(&u->l->upgraded, u, entry);
	MHD_upgrade_action(u->urh, MHD_UPGRADE_ACTION_CLOSE);
	u->req->upgrade = NULL;
	listener_kick(u->l);
	free(u);
}

void
http_upgraded_close(struct http_upgraded *u)
{
	if (!u->closing)
		upgraded_free(u);
}

/*
 * Before a listener stops: MHD must not be stopped (nor a listener wait
 * to drain) with connections handed over, so each route is told, and its
 * connection closed.
 */
static void
close_upgraded(struct listener *l)
{
	struct http_upgraded	*u;

	while ((u = TAILQ_FIRST(&l->upgraded)) != NULL) {
		u->closing = 1;
		u->on_close(u->arg);
		upgraded_free(u);
	}
}

#define STREAM_HIGH	(4 * 1024 * 1024)

static ssize_t
stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct http_stream	*st = cls;
	size_t			 n;

	if (st->len > 0) {
		n = st->len < max ? st->len : max;
		memcpy(buf, st->buf, n);
		memmove(st->buf, st->buf + n, st->len - n);
		st->len -= n;
		if (st->len < STREAM_HIGH / 2 && st->on_drain != NULL)
			st->on_drain(st->arg);
		return ((ssize_t)n);
	}
	if (st->ended)
		return (st->error ? MHD_CONTENT_READER_END_WITH_ERROR :
		    MHD_CONTENT_READER_END_OF_STREAM);
	/* Nothing yet: rest until the source writes (no busy loop). */
	if (st->req != NULL && !st->waiting) {
		st->waiting = 1;
		st->req->l->nsuspended++;
		MHD_suspend_connection(st->req->conn);
		watch_client(st->req);
	}
	return (0);
}

/* MHD is done with the answer: whichever of this and on_completed comes
 * first unlinks the stream from its request. */
static void
stream_free(void *cls)
{
	struct http_stream	*st = cls;

	if (st->req != NULL) {
		st->req->stream = NULL;
		if (!st->ended && st->on_abort != NULL)
			st->on_abort(st->arg);
	}
	free(st->buf);
	free(st);
}

static void
stream_wake(struct http_stream *st)
{
	if (st->waiting && st->req != NULL) {
		st->waiting = 0;
		resume(st->req);
	}
}

struct http_stream *
http_respond_stream(struct http_request *r, int status,
    const char *const *headers, const char *ctype, void (*on_abort)(void *),
    void (*on_drain)(void *), void *arg)
{
	struct http_stream	*st;
	struct MHD_Response	*resp;
	const char		*colon;
	char			 name[128];
	size_t			 n;

	st = xcalloc(1, sizeof(*st));
	st->req = r;
	st->on_abort = on_abort;
	st->on_drain = on_drain;
	st->arg = arg;
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384,
	    stream_read, st, stream_free);
	if (resp == NULL)
		fatalx("MHD_create_response_from_callback failed");
	if (ctype != NULL)
		MHD_add_response_header(resp, "Content-Type", ctype);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	for (; headers != NULL && *headers != NULL; headers++) {
		if ((colon = strchr(*headers, ':')) == NULL ||
		    (n = (size_t)(colon - *headers)) >= sizeof(name))
			continue;
		memcpy(name, *headers, n);
		name[n] = '\0';
		for (colon++; *colon == ' '; colon++)
			;
		MHD_add_response_header(resp, name, colon);
	}
	r->stream = st;
	r->status = status;
	r->response = resp;
	r->gone_fn = NULL;	/* the stream's on_abort says it from now */
	if (r->suspended) {
		r->suspended = 0;
		resume(r);
	}
	return (st);
}

/* 0, or -1 when more should wait (the client reads slower). */
int
http_stream_write(struct http_stream *st, const char *data, size_t len)
{
	char	*tmp;

	if (st->req == NULL || st->ended)
		return (0);
	if ((tmp = realloc(st->buf, st->len + len)) == NULL)
		fatal("realloc");
	st->buf = tmp;
	memcpy(st->buf + st->len, data, len);
	st->len += len;
	stream_wake(st);
	return (st->len > STREAM_HIGH ? -1 : 0);
}

size_t
http_stream_pending(const struct http_stream *st)
{
	return (st->len);
}

void
http_stream_end(struct http_stream *st, int error)
{
	st->ended = 1;
	st->error = error;
	st->on_abort = NULL;
	st->on_drain = NULL;
	stream_wake(st);
}

/*
 * MHD does not notice a client leaving while its connection is suspended,
 * so the loop watches the socket itself: readable with nothing to read is
 * a hang-up.  The waiting request is then ended (a stream with an error,
 * an answer never sent), which lets MHD find out and clean up, and lets
 * the route cancel what it was waiting for.
 */
static void
on_client_readable(evutil_socket_t fd, short ev, void *arg)
{
	struct http_request	*r = arg;
	char			 c;
	ssize_t			 n;

	n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n > 0 || (n == -1 && (errno == EAGAIN || errno == EINTR))) {
		/* A pipelined request: not ours to read; stop watching. */
		unwatch_client(r);
		return;
	}
	unwatch_client(r);
	log_debug("http: a client left while waiting");
	if (r->stream != NULL) {
		if (r->stream->on_abort != NULL)
			r->stream->on_abort(r->stream->arg);
		r->stream->on_abort = NULL;
		r->stream->on_drain = NULL;
		http_stream_end(r->stream, 1);
	} else if (r->suspended) {
		request_gone(r);
		http_respond_rpc_error(r, 499, NULL, -32000, "the client left");
	}
}

/* Tell the route, once, that its request ends unanswered. */
static void
request_gone(struct http_request *r)
{
	void	(*fn)(void *) = r->gone_fn;

	r->gone_fn = NULL;
	if (fn != NULL)
		fn(r->gone_arg);
}

static void
watch_client(struct http_request *r)
{
	const union MHD_ConnectionInfo	*ci;

	if (r->gone_ev != NULL)
		return;
	ci = MHD_get_connection_info(r->conn,
	    MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci == NULL)
		return;
	r->gone_ev = event_new(h_base, ci->connect_fd, EV_READ,
	    on_client_readable, r);
	event_add(r->gone_ev, NULL);
}

static void
unwatch_client(struct http_request *r)
{
	if (r->gone_ev != NULL)
		event_free(r->gone_ev);
	r->gone_ev = NULL;
}

void
http_on_gone(struct http_request *r, void (*fn)(void *), void *arg)
{
	r->gone_fn = fn;
	r->gone_arg = arg;
}

/* "host:port", "[v6]:port" or "host": does the host part match? */
static int
host_allowed(const char *host)
{
	char	h[256];
	size_t	n, i;

	if (host == NULL)
		return (0);
	if (host[0] == '[')
		n = strcspn(host, "]") + 1;
	else
		n = strcspn(host, ":");
	if (n >= sizeof(h) || (host[0] == '[' && host[n - 1] != ']'))
		return (0);
	memcpy(h, host, n);
	h[n] = '\0';
	for (i = 0; h_hosts != NULL && h_hosts[i] != NULL; i++)
		if (strcasecmp(h, h_hosts[i]) == 0)
			return (1);
	return (0);
}

static int
origin_allowed(const char *origin)
{
	size_t	i;

	for (i = 0; h_origins != NULL && h_origins[i] != NULL; i++)
		if (strcasecmp(origin, h_origins[i]) == 0)
			return (1);
	return (0);
}

static const char *
bearer(struct MHD_Connection *conn)
{
	const char	*v;

	v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    "Authorization");
	if (v == NULL || strncasecmp(v, "Bearer ", 7) != 0)
		return (NULL);
	v += 7;
	while (*v == ' ')
		v++;
	return (v);
}

/*
 * RFC 9110's field-value: visible bytes, obs-text, space and tab; never a
 * control byte, so that no value can end a line wherever it is copied
 * (a bare CR is a line end to some parsers upstream; NUL cuts C strings).
 */
int
http_field_ok(const char *v, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if (((unsigned char)v[i] < 0x20 && v[i] != '\t') ||
		    v[i] == 0x7f)
			return (0);
	return (1);
}

/* RFC 9110's token: a method, a field name. */
static int
is_token(const char *s, size_t len)
{
	size_t	i;

	if (len == 0)
		return (0);
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) &&
		    strchr("!#$%&'*+-.^_`|~", s[i]) == NULL)
			return (0);
	return (1);
}

struct framing {
	int		 ncl, nte, bad;
	const char	*cl, *te;
	char		 why[96];
};

static enum MHD_Result
check_field(void *arg, enum MHD_ValueKind kind, const char *name,
    size_t nlen, const char *value, size_t vlen)
{
	struct framing	*f = arg;

	if (!is_token(name, nlen) || value == NULL ||
	    !http_field_ok(value, vlen)) {
		snprintf(f->why, sizeof(f->why), "a control byte or a bad "
		    "name in header \"%.40s\"", name);
		return (MHD_NO);
	}
	if (strcasecmp(name, "Content-Length") == 0) {
		f->ncl++;
		f->cl = value;
	} else if (strcasecmp(name, "Transfer-Encoding") == 0) {
		f->nte++;
		f->te = value;
	}
	return (MHD_YES);
}

/*
 * The request's framing, one way only: a body is delimited either by one
 * Content-Length of digits or by Transfer-Encoding: chunked, never both
 * nor twice, and no header carries a control byte.  Anything else is how
 * a request is smuggled past one parser to another (MHD 0.9.75 prefers
 * chunked when both are sent, libcurl and the QMS server would trust the
 * length), so it ends the connection: after a framing qmsd does not
 * trust, the next byte is no request's start.  -1 with why set.
 */
static int
check_framing(struct http_request *r, const char *method, char *why,
    size_t len)
{
	struct framing	 f;
	long long	 n;

	memset(&f, 0, sizeof(f));
	r->length = -1;
	if (!is_token(method, strlen(method))) {
		snprintf(why, len, "the method is not a token");
		return (-1);
	}
	MHD_get_connection_values_n(r->conn, MHD_HEADER_KIND, check_field,
	    &f);
	if (f.why[0] != '\0') {
		snprintf(why, len, "%s", f.why);
		return (-1);
	}
	if (f.nte > 0 && f.ncl > 0)
		snprintf(why, len, "both Content-Length and Transfer-Encoding");
	else if (f.nte > 1 || f.ncl > 1)
		snprintf(why, len, "more than one %s", f.nte > 1 ?
		    "Transfer-Encoding" : "Content-Length");
	else if (f.nte == 1 && strcasecmp(f.te, "chunked") != 0)
		snprintf(why, len, "Transfer-Encoding other than chunked");
	else if (f.ncl == 1 && (f.cl[strspn(f.cl, "0123456789")] != '\0' ||
	    parse_number(f.cl, 0, INT64_MAX, &n) == -1))
		snprintf(why, len, "Content-Length is not a number");
	else {
		if (f.ncl == 1)
			r->length = n;
		return (0);
	}
	return (-1);
}

/*
 * A browser's route: its listener's own address in Host (no other name
 * leads to it), and an Origin, if any, that is the listener's own; its
 * credentials are the route's to check.
 */
static int
check_browser(struct http_request *r)
{
	const char	*v, *why = NULL;
	int		 status = 403;

	r->max_body = r->route->max_body != 0 && r->route->max_body <
	    h_max_body ? r->route->max_body : h_max_body;
	if ((v = http_header(r, "Host")) == NULL ||
	    strcasecmp(v, r->l->self) != 0)
		why = "Host is not this listener's address\n";
	else if ((v = http_header(r, "Origin")) != NULL &&
	    strcasecmp(v, r->l->origin) != 0)
		why = "Origin is not this listener's\n";
	else if (r->length != -1 && (uint64_t)r->length > r->max_body) {
		status = 413;
		why = "request body too big\n";
	}
	if (why == NULL)
		return (0);
	http_respond(r, status, NULL, "text/plain; charset=utf-8", why,
	    strlen(why));
	return (-1);
}

/*
 * What every route needs, in the order a client can act on: a request
 * framed one way only, the Host (DNS rebinding), the Origin (browsers),
 * then who is calling.
 */
static int
check_request(struct http_request *r, const char *url)
{
	struct http_conn *c;
	const char	*v;
	const char	*closing[] = { "Connection: close", NULL };
	char		 msg[128], why[100];
	size_t		 i;
	long long	 len;

	if (check_framing(r, r->method, why, sizeof(why)) == -1) {
		snprintf(msg, sizeof(msg), "bad request framing: %s", why);
		http_respond_rpc_error(r, 400, closing, -32600, msg);
		return (-1);
	}
	for (i = 0; i < nroutes; i++)
		if (routes[i].browser && r->l->self[0] == '\0')
			continue;	/* not here: see http_route_browser() */
		else if (routes[i].prefix ? strncmp(routes[i].path, url,
		    strlen(routes[i].path)) == 0 : strcmp(routes[i].path,
		    url) == 0)
			r->route = &routes[i];
	if (r->route == NULL) {
		http_respond_rpc_error(r, 404, NULL, -32600, "no MCP endpoint "
		    "here; try /git/mcp or /qms/mcp");
		return (-1);
	}
	if (r->route->browser)
		return (check_browser(r));
	if (!host_allowed(http_header(r, "Host"))) {
		http_respond_rpc_error(r, 403, NULL, -32600, "Host header not "
		    "allowed (see [http] allowed-hosts)");
		return (-1);
	}
	if ((v = http_header(r, "Origin")) != NULL && !origin_allowed(v)) {
		http_respond_rpc_error(r, 403, NULL, -32600, "Origin not allowed "
		    "(see [http] allowed-origins)");
		return (-1);
	}
	if ((r->identity = token_lookup(bearer(r->conn))) == NULL) {
		http_respond_rpc_error(r, 401, NULL, -32001, "a valid bearer token "
		    "is required (Authorization: Bearer TOKEN)");
		return (-1);
	}
	/* On an agent's socket the socket says who; the token agrees. */
	if ((c = conn_of(r->conn)) != NULL && c->agent[0] != '\0' &&
	    strcmp(r->identity, c->agent) != 0) {
		snprintf(msg, sizeof(msg), "this socket is agent %s's; the "
		    "token is not", c->agent);
		http_respond_rpc_error(r, 403, NULL, -32001, msg);
		return (-1);
	}
	r->max_body = r->route->max_body != 0 && r->route->max_body <
	    h_max_body ? r->route->max_body : h_max_body;
	if ((len = r->length) != -1 && (uint64_t)len > r->max_body) {
		snprintf(msg, sizeof(msg), "request body over %llu bytes",
		    (unsigned long long)r->max_body);
		http_respond_rpc_error(r, 413, NULL, -32600, msg);
		return (-1);
	}
	return (0);
}

static enum MHD_Result
queue(struct http_request *r)
{
	enum MHD_Result	ret;

	ret = MHD_queue_response(r->conn, (unsigned)r->status, r->response);
	MHD_destroy_response(r->response);
	r->response = NULL;
	r->status = -1;		/* queued */
	return (ret);
}

/*
 * A route whose body streams: it starts on the headers, then gets the body
 * a piece at a time as it arrives, and its end.
 */
static enum MHD_Result
stream_upload(struct http_request *r, const char *data, size_t *data_size)
{
	char	msg[128];

	if (r->response != NULL) {
		*data_size = 0;
		return (queue(r));
	}
	if (*data_size > 0) {
		r->len += *data_size;
		if (r->len > h_max_body && !r->too_big) {
			r->too_big = 1;
			r->route->body_fn(r, NULL, 0, -1, r->route->arg);
		}
		if (!r->too_big)
			r->route->body_fn(r, data, *data_size, 0,
			    r->route->arg);
		*data_size = 0;
		return (MHD_YES);
	}
	if (r->too_big) {
		snprintf(msg, sizeof(msg), "request body over %llu bytes",
		    (unsigned long long)h_max_body);
		http_respond_rpc_error(r, 413, NULL, -32600, msg);
		return (queue(r));
	}
	if (!r->body_ended) {
		r->body_ended = 1;
		r->route->body_fn(r, NULL, 0, 1, r->route->arg);
		if (r->response != NULL)
			return (queue(r));
		r->suspended = 1;
		r->l->nsuspended++;
		MHD_suspend_connection(r->conn);
		watch_client(r);
	}
	return (MHD_YES);
}

static enum MHD_Result
on_access(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *data,
    size_t *data_size, void **con_cls)
{
	struct http_request	*r = *con_cls;
	char			*tmp, msg[128];

	if (r == NULL) {
		/* The head is in: the connection is at work, not waiting. */
		wait_end(conn_of(conn));
		r = xcalloc(1, sizeof(*r));
		r->conn = conn;
		r->l = cls;
		r->method = method;
		r->url = url;
		*con_cls = r;
		if (check_request(r, url) == -1)
			return (queue(r));
		/* Credentials before a body is waited for. */
		if (r->route->gate != NULL && (r->length > 0 ||
		    http_header(r, "Transfer-Encoding") != NULL)) {
			r->route->gate(r, r->route->arg);
			if (r->response != NULL)
				return (queue(r));
		}
		/* A streaming route starts on the headers alone. */
		if (r->route->body_fn != NULL) {
			r->dispatched = 1;
			r->route->fn(r, r->route->arg);
			if (r->response != NULL)
				return (queue(r));
		}
		return (MHD_YES);
	}
	if (r->status == -1) {
		*data_size = 0;	/* answered early; the rest is dropped */
		return (MHD_YES);
	}
	if (r->route->body_fn != NULL)
		return (stream_upload(r, data, data_size));
	if (*data_size > 0) {
		if (!r->too_big && r->len + *data_size <= r->max_body) {
			if ((tmp = realloc(r->body, r->len + *data_size + 1)) ==
			    NULL)
				fatal("realloc");
			r->body = tmp;
			memcpy(r->body + r->len, data, *data_size);
			r->len += *data_size;
			r->body[r->len] = '\0';
		} else
			r->too_big = 1;
		*data_size = 0;
		return (MHD_YES);
	}
	if (r->response != NULL)
		return (queue(r));
	if (r->too_big) {
		snprintf(msg, sizeof(msg), "request body over %llu bytes",
		    (unsigned long long)r->max_body);
		http_respond_rpc_error(r, 413, NULL, -32600, msg);
		return (queue(r));
	}
	if (!r->dispatched) {
		r->dispatched = 1;
		r->route->fn(r, r->route->arg);
		if (r->response != NULL)
			return (queue(r));
		/* Answered later: keep the connection, serve the others. */
		r->suspended = 1;
		r->l->nsuspended++;
		MHD_suspend_connection(conn);
		watch_client(r);
	}
	return (MHD_YES);
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode why)
{
	struct http_request	*r = *con_cls;
	struct http_stream	*st;

	/* Answered, and kept open: it waits for the next request's head. */
	if (why == MHD_REQUEST_TERMINATED_COMPLETED_OK)
		wait_begin(conn_of(conn));
	if (r == NULL)
		return;
	if ((st = r->stream) != NULL) {
		/* The client went (or all was sent): the source stops. */
		st->req = NULL;
		r->stream = NULL;
		if (!st->ended && st->on_abort != NULL)
			st->on_abort(st->arg);
		st->on_abort = NULL;
		st->on_drain = NULL;
	}
	/*
	 * However it ended unanswered (the client left, MHD stopped), the
	 * route hears of it before the request is freed: nothing may hold
	 * it after this.
	 */
	request_gone(r);
	/* An upgrade that never happened (the client left first). */
	if (r->upgrade != NULL && r->upgrade->urh == NULL)
		free(r->upgrade);
	if (r->response != NULL)
		MHD_destroy_response(r->response);
	unwatch_client(r);
	free(r->body);
	free(r);
	*con_cls = NULL;
}

static struct http_conn *
conn_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo	*ci;

	ci = MHD_get_connection_info(conn,
	    MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return (ci != NULL ? ci->socket_context : NULL);
}

static void
wait_end(struct http_conn *c)
{
	if (c == NULL || !c->waiting)
		return;
	TAILQ_REMOVE(&c->l->waiting, c, entry);
	c->waiting = 0;
}

/* Appended with the time now, the list stays oldest first. */
static void
wait_begin(struct http_conn *c)
{
	struct timeval	tv = { 0, HTTP_SWEEP_MS * 1000 };

	if (c == NULL)
		return;
	wait_end(c);
	c->since = now_ms();
	c->line = 0;
	c->waiting = 1;
	TAILQ_INSERT_TAIL(&c->l->waiting, c, entry);
	if (!evtimer_pending(c->l->sweep, NULL))
		evtimer_add(c->l->sweep, &tv);
}

/*
 * Closed from outside MHD, which has no call for it in 0.9.75: the socket
 * is shut down, MHD reads its end on the next turn and closes it as if
 * the client had gone (and its slot is free).
 */
static void
drop(struct http_conn *c, const char *why)
{
	log_debug("http: %s: closing a connection %s", c->l->spec, why);
	wait_end(c);
	shutdown(c->fd, SHUT_RDWR);
}

/*
 * The head's deadlines: a connection waiting for a request must send its
 * request line within request-line-timeout and the whole head within
 * head-timeout, however it trickles it (an idle timer alone is reset by
 * every byte of a slow client).  Oldest first, so the walk stops at the
 * first one still within both.
 */
static void
on_sweep(evutil_socket_t fd, short ev, void *arg)
{
	struct listener		*l = arg;
	struct http_conn	*c, *next;
	struct timeval		 tv = { 0, HTTP_SWEEP_MS * 1000 };
	uint64_t		 now = now_ms();

	for (c = TAILQ_FIRST(&l->waiting); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (now - c->since < h_line_timeout)
			break;
		if (!c->line)
			drop(c, "that sent no request line in time");
		else if (now - c->since >= h_head_timeout)
			drop(c, "whose request head was not in by its deadline");
	}
	if (!TAILQ_EMPTY(&l->waiting))
		evtimer_add(l->sweep, &tv);
}

/*
 * Every connection is counted, and waits for its head from its opening.
 * At max-connections, a new one takes the slot of the one that has waited
 * longest for a head: slots held by clients that send nothing (or send
 * slowly) cannot keep out one that sends a request, and MHD, at its
 * limit, leaves the next ones in the kernel's backlog meanwhile.
 */
static void
on_connection(void *cls, struct MHD_Connection *conn, void **ctx,
    enum MHD_ConnectionNotificationCode what)
{
	struct listener			*l = cls;
	struct http_conn		*c = *ctx, *oldest;
	const union MHD_ConnectionInfo	*ci;

	if (what == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (c == NULL)
			return;
		if (l == h_agents)
			agent_conns(c->agent, -1);
		wait_end(c);
		l->nconn--;
		free(c);
		*ctx = NULL;
		return;
	}
	ci = MHD_get_connection_info(conn,
	    MHD_CONNECTION_INFO_CONNECTION_FD);
	c = xcalloc(1, sizeof(*c));
	c->l = l;
	c->fd = ci != NULL ? ci->connect_fd : -1;
	*ctx = c;
	l->nconn++;
	wait_begin(c);
	if (l == h_agents) {
		conn_agent(conn, c->agent, sizeof(c->agent));
		if (agent_conns(c->agent, 1) > h_per_peer) {
			drop(c, "over max-connections-per-peer for its agent");
			return;
		}
	}
	if (l->nconn + HTTP_ROOM(h_max_conn) >= h_max_conn &&
	    (oldest = TAILQ_FIRST(&l->waiting)) != c && oldest != NULL)
		drop(oldest, "to make room (max-connections)");
}

/*
 * An agent's name, from the address http_add_agent_connection() gave:
 * copied into the connection by MHD when it was added, so it cannot be
 * anyone else's.  A connection without one has the name "-", which no
 * token is.
 */
static void
conn_agent(struct MHD_Connection *conn, char *name, size_t len)
{
	const union MHD_ConnectionInfo	*ci;
	const struct sockaddr_un	*sun;

	snprintf(name, len, "-");
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || ci->client_addr == NULL ||
	    ci->client_addr->sa_family != AF_UNIX)
		return;
	sun = (const void *)ci->client_addr;
	if (strncmp(sun->sun_path, "agent:", 6) == 0 &&
	    memchr(sun->sun_path, '\0', sizeof(sun->sun_path)) != NULL)
		snprintf(name, len, "%s", sun->sun_path + 6);
}

/*
 * Count one more (or one fewer) connection of agent's socket; the count
 * now.  Slots of agents with none are reused.
 */
static long long
agent_conns(const char *agent, int delta)
{
	size_t	i, free_slot = nitems(h_agent_conns);

	for (i = 0; i < nitems(h_agent_conns); i++) {
		if (h_agent_conns[i].n > 0 &&
		    strcmp(h_agent_conns[i].name, agent) == 0)
			return (h_agent_conns[i].n += delta);
		if (h_agent_conns[i].n == 0 && free_slot == nitems(h_agent_conns))
			free_slot = i;
	}
	if (delta <= 0 || free_slot == nitems(h_agent_conns))
		return (delta <= 0 ? 0 : h_per_peer + 1);
	snprintf(h_agent_conns[free_slot].name,
	    sizeof(h_agent_conns[free_slot].name), "%s", agent);
	return (h_agent_conns[free_slot].n = delta);
}

/* MHD has the request line: the first deadline is met. */
static void *
on_request_line(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct http_conn	*c = conn_of(conn);

	if (c != NULL)
		c->line = 1;
	return (NULL);
}

static void	on_mhd_log(void *, const char *, va_list)
		    __attribute__((format(printf, 2, 0)));

static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char	buf[512];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	log_debug("http: %s", buf);
}

/* Let MHD do what is due, then sleep until its next timeout. */
static void
listener_pump(struct listener *l)
{
	MHD_UNSIGNED_LONG_LONG	ms;
	struct timeval		tv;

	if (l->mhd == NULL)
		return;
	MHD_run(l->mhd);
	if (MHD_get_timeout(l->mhd, &ms) == MHD_YES) {
		timeval_ms(&tv, ms);
		evtimer_add(l->timer, &tv);
	} else
		evtimer_del(l->timer);
}

static void
on_listener_event(evutil_socket_t fd, short ev, void *arg)
{
	struct listener	*l = arg;

	listener_pump(l);
	/* Out of MHD's callbacks: a drained listener may stop now. */
	if (l->nsuspended == 0 && ndraining > 0)
		reap_draining();
}

/*
 * A resumed connection is served on the loop's next turn, never from
 * here: the caller may be inside a libcurl or an MHD callback, which must
 * not be entered again.
 */
static void
listener_kick(struct listener *l)
{
	if (l->ev != NULL)
		event_active(l->ev, EV_READ, 0);
}

static void
listener_close(struct listener *l)
{
	if (l->mhd != NULL)
		close_upgraded(l);
	if (l->ev != NULL)
		event_free(l->ev);
	if (l->timer != NULL)
		event_free(l->timer);
	if (l->mhd != NULL)
		MHD_stop_daemon(l->mhd);	/* each connection's CLOSED */
	if (l->sweep != NULL)
		event_free(l->sweep);
	l->ev = l->timer = l->sweep = NULL;
	l->mhd = NULL;
}

/*
 * On a loopback address the peer's address names no one: the host's own
 * clients and every agent on network = host are all 127.0.0.1, and any
 * local process can connect from another 127.x.y.z.  A cap per address
 * there would be a cap on all of them together, which one client could
 * fill for the rest; the deadlines and max-connections guard it instead.
 */
static int
is_loopback(const struct sockaddr *sa)
{
	const struct sockaddr_in	*sin = (const void *)sa;
	const struct sockaddr_in6	*sin6 = (const void *)sa;

	if (sa->sa_family == AF_INET)
		return ((ntohl(sin->sin_addr.s_addr) >> 24) == 127);
	return (IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));
}

/*
 * A listener a reload dropped: stopped now if nothing waits on it, else
 * closed to new connections and stopped once the last one is answered
 * (MHD must not be stopped with suspended connections).
 */
static void
listener_retire(struct listener *l)
{
	MHD_socket	fd;

	if (l->mhd != NULL)
		close_upgraded(l);
	if (l->mhd == NULL || l->nsuspended == 0 ||
	    ndraining == nitems(draining)) {
		listener_close(l);
		free(l);
		return;
	}
	fd = MHD_quiesce_daemon(l->mhd);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	log_info("http: %s: draining %d connections", l->spec,
	    l->nsuspended);
	draining[ndraining++] = l;
}

/* Stop the draining listeners that have nothing left to answer. */
static void
reap_draining(void)
{
	size_t	i;

	for (i = 0; i < ndraining; i++) {
		if (draining[i]->nsuspended > 0)
			continue;
		listener_close(draining[i]);
		free(draining[i]);
		draining[i--] = draining[--ndraining];
	}
}

/* A docker-bridge:PORT listener. */
static int
is_bridge(const struct listener *l)
{
	char	host[64];

	return (listen_parse(l->spec, host, sizeof(host), NULL) == 0 &&
	    strcmp(host, "docker-bridge") == 0);
}

static int	listener_start(struct listener *, unsigned int, uint16_t,
		    struct sockaddr *);

static int
listener_open(struct listener *l)
{
	struct sockaddr_in6		 sin6;
	struct sockaddr_in		 sin;
	struct sockaddr			*sa;
	unsigned int			 flags;
	char				 host[64];
	int				 port;

	l->error[0] = '\0';
	if (listen_parse(l->spec, host, sizeof(host), &port) == -1) {
		snprintf(l->error, sizeof(l->error), "%s: bad address",
		    l->spec);
		return (-1);
	}
	if (strcmp(host, "docker-bridge") == 0) {
		if (h_bridge[0] == '\0') {
			/* Empty until Docker has answered: see http_publish(). */
			if (h_bridge_why[0] != '\0')
				snprintf(l->error, sizeof(l->error), "%s: %s",
				    l->spec, h_bridge_why);
			return (-1);
		}
		snprintf(host, sizeof(host), "%s", h_bridge);
	}
	flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	if (inet_pton(AF_INET, host, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)port);
		sa = (struct sockaddr *)&sin;
	} else {
		inet_pton(AF_INET6, host, &sin6.sin6_addr);
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons((uint16_t)port);
		sa = (struct sockaddr *)&sin6;
		flags |= MHD_USE_IPv6;
	}
	/* Loopback, and not a docker network's gateway that happens to be. */
	l->self[0] = l->origin[0] = '\0';
	if (is_loopback(sa) && !is_bridge(l)) {
		snprintf(l->self, sizeof(l->self), sa->sa_family == AF_INET6 ?
		    "[%s]:%d" : "%s:%d", host, port);
		snprintf(l->origin, sizeof(l->origin), "http://%s", l->self);
		/* The browser's routes, and so WebSockets, are here only. */
		flags |= MHD_ALLOW_UPGRADE;
	}
	if (listener_start(l, flags, (uint16_t)port, sa) == -1)
		return (-1);
	log_info("http: listening on %s (%s)", l->spec, host);
	return (0);
}

/*
 * MHD started for l, inside the loop: on sa, or (sa NULL) with no socket
 * of its own, for connections added to it.
 */
static int
listener_start(struct listener *l, unsigned int flags, uint16_t port,
    struct sockaddr *sa)
{
	const union MHD_DaemonInfo	*info;

	TAILQ_INIT(&l->waiting);
	TAILQ_INIT(&l->upgraded);
	l->nconn = 0;
	if (l->sweep == NULL)
		l->sweep = evtimer_new(h_base, on_sweep, l);
	l->mhd = MHD_start_daemon(flags, port, NULL, NULL,
	    on_access, l,
	    MHD_OPTION_SOCK_ADDR, sa,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)h_max_conn,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, sa == NULL || is_loopback(sa) ?
	    0u : (unsigned int)h_per_peer,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)(h_timeout / 1000),
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, l,
	    MHD_OPTION_URI_LOG_CALLBACK, on_request_line, l,
	    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
	    MHD_OPTION_END);
	if (l->mhd == NULL) {
		snprintf(l->error, sizeof(l->error), "cannot listen on %s: %s",
		    l->spec, errno != 0 ? strerror(errno) : "failed");
		log_warnx("http: %s", l->error);
		return (-1);
	}
	info = MHD_get_daemon_info(l->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	l->ev = event_new(h_base, info->epoll_fd, EV_READ | EV_PERSIST,
	    on_listener_event, l);
	l->timer = evtimer_new(h_base, on_listener_event, l);
	event_add(l->ev, NULL);
	listener_pump(l);
	return (0);
}

/*
 * A connection accepted on agent's socket, its bytes not yet read: MHD
 * serves it as any other, and remembers the agent in the address it is
 * given (see conn_agent()).
 */
void
http_add_agent_connection(int fd, const char *agent)
{
	struct sockaddr_un	sun;

	if (h_agents == NULL) {
		h_agents = xcalloc(1, sizeof(*h_agents));
		snprintf(h_agents->spec, sizeof(h_agents->spec),
		    "agent sockets");
	}
	if (h_agents->mhd == NULL && listener_start(h_agents, MHD_USE_EPOLL |
	    MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
	    MHD_USE_NO_LISTEN_SOCKET, 0, NULL) == -1) {
		close(fd);
		return;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "agent:%s", agent);
	/* The socket is closed by MHD if it fails. */
	if (MHD_add_connection(h_agents->mhd, fd, (struct sockaddr *)&sun,
	    sizeof(sun)) != MHD_YES)
		log_warn("http: agent %s: a connection", agent);
	listener_kick(h_agents);
}

/* Append to a fixed buffer, cutting what does not fit. */
static void
append(char *buf, size_t size, const char *sep, const char *s)
{
	size_t	len = strlen(buf);

	if (len > 0 && len < size)
		len += (size_t)snprintf(buf + len, size - len, "%s", sep);
	if (len < size)
		snprintf(buf + len, size - len, "%s", s);
}

static void
http_publish(void)
{
	char	 up[200] = "", down[600] = "", wait[200] = "";
	size_t	 i;

	for (i = 0; i < nlisteners; i++) {
		if (listeners[i]->mhd != NULL)
			append(up, sizeof(up), ", ", listeners[i]->spec);
		else if (listeners[i]->error[0] == '\0')
			/* docker-bridge before Docker answered: its row says
			 * why Docker is not there. */
			append(wait, sizeof(wait), ", ", listeners[i]->spec);
		else
			append(down, sizeof(down), "; ", listeners[i]->error);
	}
	if (nlisteners == 0 && h_unbridged)
		component_set(h_comp, "ready", HEALTH_OK, "not listening: "
		    "docker-bridge waits for an agent with network = bridge");
	else if (down[0] == '\0' && up[0] != '\0')
		component_set(h_comp, "ready", HEALTH_OK, "listening on %s%s%s%s",
		    up, wait[0] ? "; " : "", wait, wait[0] ? " waits for "
		    "Docker's bridge" : "");
	else if (up[0] == '\0')
		component_set(h_comp, "failed", HEALTH_CRITICAL, "%s%s%s; "
		    "retrying", down, down[0] && wait[0] ? "; " : "", wait);
	else
		component_set(h_comp, "degraded", HEALTH_WARNING, "listening "
		    "on %s; %s; retrying", up, down);
}

static void
http_on_retry(evutil_socket_t fd, short ev, void *arg)
{
	struct timeval	tv = { HTTP_RETRY_MS / 1000, 0 };
	size_t		i;
	int		failed = 0;

	for (i = 0; i < nlisteners; i++)
		if (listeners[i]->mhd == NULL &&
		    listener_open(listeners[i]) == -1)
			failed = 1;
	http_publish();
	if (failed)
		evtimer_add(h_retry, &tv);
}

void
http_init(struct event_base *base)
{
	h_base = base;
	h_comp = component_add("http");
	h_retry = evtimer_new(base, http_on_retry, NULL);
}

void
http_configure(const struct config *conf)
{
	const struct http_conf	*hc = &conf->http;
	struct listener		*keep[HTTP_MAX_LISTENERS];
	size_t			 i, j, nkeep = 0;
	int			 limits, bridged = 0;
	char			 host[64];

	argv_free(h_hosts);
	argv_free(h_origins);
	h_hosts = xargv_copy(hc->allowed_hosts);
	h_origins = xargv_copy(hc->allowed_origins);
	limits = h_max_body != hc->max_body || h_max_conn !=
	    hc->max_connections || h_timeout != hc->connection_timeout ||
	    h_per_peer != hc->max_connections_per_peer;
	/* The head's deadlines are read at each sweep: they apply now. */
	h_line_timeout = hc->request_line_timeout;
	h_head_timeout = hc->head_timeout;
	h_per_peer = hc->max_connections_per_peer;
	h_max_body = hc->max_body;
	h_max_conn = hc->max_connections;
	h_timeout = hc->connection_timeout;

	/*
	 * docker-bridge only while an agent has network = bridge: the others
	 * reach qmsd on their own socket, or on the host's loopback.
	 */
	for (i = 0; i < conf->nagents; i++)
		if (conf->agents[i].enabled &&
		    strcmp(conf->agents[i].network, "bridge") == 0)
			bridged = 1;
	h_unbridged = 0;

	/*
	 * Listeners that stay keep their connections; new limits apply to
	 * new listeners only (MHD fixes them at start), which is logged.
	 */
	memset(keep, 0, sizeof(keep));
	for (i = 0; hc->listen[i] != NULL && nkeep < HTTP_MAX_LISTENERS;
	    i++) {
		if (!bridged && listen_parse(hc->listen[i], host, sizeof(host),
		    NULL) == 0 && strcmp(host, "docker-bridge") == 0) {
			h_unbridged = 1;
			continue;
		}
		for (j = 0; j < nlisteners; j++) {
			if (listeners[j] != NULL && listeners[j]->mhd != NULL &&
			    strcmp(listeners[j]->spec, hc->listen[i]) == 0) {
				keep[nkeep] = listeners[j];
				listeners[j] = NULL;
				break;
			}
		}
		if (keep[nkeep] == NULL) {
			keep[nkeep] = xcalloc(1, sizeof(*keep[nkeep]));
			snprintf(keep[nkeep]->spec, sizeof(keep[nkeep]->spec),
			    "%s", hc->listen[i]);
		}
		nkeep++;
	}
	for (j = 0; j < nlisteners; j++)
		if (listeners[j] != NULL)
			listener_retire(listeners[j]);
	memcpy(listeners, keep, sizeof(keep));
	nlisteners = nkeep;
	if (limits)
		log_debug("http: limits apply to listeners opened from now");
	evtimer_del(h_retry);
	http_on_retry(-1, 0, NULL);
}

/*
 * The docker bridge's address (NULL: unknown, and why): listeners on
 * docker-bridge are opened there, and opened again when it moves.
 */
void
http_set_bridge(const char *ip, const char *why)
{
	size_t	 i;
	int	 changed;

	changed = strcmp(h_bridge, ip != NULL ? ip : "") != 0;
	snprintf(h_bridge, sizeof(h_bridge), "%s", ip != NULL ? ip : "");
	if (ip != NULL)
		h_bridge_why[0] = '\0';
	else if (why != NULL && strcmp(h_bridge_why, why) != 0) {
		/* No address, for a new reason: say it once, if it matters. */
		snprintf(h_bridge_why, sizeof(h_bridge_why), "%s", why);
		for (i = 0; i < nlisteners; i++)
			if (is_bridge(listeners[i]))
				break;
		if (i < nlisteners)
			log_warnx("http: docker-bridge: %s", h_bridge_why);
		changed = 1;	/* its listeners' errors change */
	}
	if (!changed)
		return;
	if (ip != NULL)
		log_info("http: docker-bridge is %s", ip);
	for (i = 0; i < nlisteners; i++) {
		if (!is_bridge(listeners[i]))
			continue;
	/* Moved: the old address goes, the new one is opened. */
		if (listeners[i]->mhd != NULL) {
			struct listener *n = xcalloc(1, sizeof(*n));

			snprintf(n->spec, sizeof(n->spec), "%s",
			    listeners[i]->spec);
			listener_retire(listeners[i]);
			listeners[i] = n;
		}
	}
	evtimer_del(h_retry);
	http_on_retry(-1, 0, NULL);
}

void
http_shutdown(void)
{
	size_t	i;

	for (i = 0; i < nlisteners; i++) {
		listener_close(listeners[i]);
		free(listeners[i]);
	}
	nlisteners = 0;
	for (i = 0; i < ndraining; i++) {
		listener_close(draining[i]);
		free(draining[i]);
	}
	ndraining = 0;
	if (h_agents != NULL) {
		listener_close(h_agents);
		free(h_agents);
		h_agents = NULL;
	}
	if (h_retry != NULL)
		event_free(h_retry);
	h_retry = NULL;
	argv_free(h_hosts);
	argv_free(h_origins);
	h_hosts = h_origins = NULL;
	component_remove(h_comp);
	h_comp = NULL;
}
