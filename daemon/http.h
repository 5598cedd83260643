/*
 * qmsd's HTTP listener: libmicrohttpd inside the libevent loop, with no
 * thread of its own (MHD's epoll descriptor is one more event here).  This
 * layer checks what every route needs checked (Host, Origin, the bearer
 * token, the body's size) and hands a whole request to its route, which
 * answers at once or later: a request answered later is suspended, so the
 * loop goes on serving others meanwhile.
 */
#ifndef QMSD_HTTP_H
#define QMSD_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

struct config;
struct http_request;

/* identity is who the token belongs to ("host", or an agent's name). */
typedef void (*http_route_fn)(struct http_request *, void *arg);

void	 http_init(struct event_base *);
/* Open the listeners of conf (again, on reload: only what changed). */
void	 http_configure(const struct config *);
void	 http_shutdown(void);
/* Where docker-bridge listeners go, or NULL and why Docker gave none. */
void	 http_set_bridge(const char *ip, const char *why);
void	 http_route(const char *path, http_route_fn, void *arg);
/*
 * A route for every path that begins with prefix (http_path() says which),
 * its body at most max_body bytes (0: max-body alone).
 */
void	 http_route_prefix(const char *prefix, http_route_fn, void *arg,
	    uint64_t max_body);
/*
 * A route for a person's browser: served on the loopback listeners only
 * (never on an agent's socket nor the docker bridge), with Host the
 * listener's own "ADDRESS:PORT" and an Origin, if sent, the listener's
 * own; no bearer token is asked for, so the route checks its own
 * credentials.
 */
void	 http_route_browser(const char *prefix, http_route_fn, void *arg,
	    uint64_t max_body);
/*
 * The browser route's credentials, checked on the head alone when a body
 * is to follow (before it is read): gate answers the request
 * (http_respond) to refuse it.
 * Without it, a client with no credentials could hold a connection with
 * a body that never comes.
 */
void	 http_route_gate(const char *prefix, http_route_fn gate);
/* The origin of the request's listener, "http://127.0.0.1:8000". */
const char *http_origin(const struct http_request *);
/* A query argument, decoded, or NULL. */
const char *http_query(const struct http_request *, const char *name);
/* The first loopback listener that is open, "127.0.0.1:8000", or NULL. */
const char *http_loopback(void);
/*
 * Serve fd, accepted on agent's own socket (agent-socket.h) and not yet
 * read: its requests are that agent's, and its bearer token must be too.
 */
void	 http_add_agent_connection(int fd, const char *agent);
/*
 * A route whose request body streams: fn runs on the headers, then body
 * gets each piece as it arrives (end 0), then the end (end 1), or -1 when
 * the body went over max-body (the route must then not answer: a 413 is).
 */
typedef void (*http_body_fn)(struct http_request *, const char *, size_t,
    int end, void *arg);
void	 http_route_streaming(const char *path, http_route_fn, http_body_fn,
	    void *arg);

const char *http_method(const struct http_request *);
/* The request's path, without its query. */
const char *http_path(const struct http_request *);
const char *http_header(const struct http_request *, const char *name);
const char *http_identity(const struct http_request *);
const char *http_body(const struct http_request *, size_t *len);
/*
 * The body's one Content-Length, or -1 when it is chunked or absent: the
 * listener has refused every request framed two ways, so this is the
 * number of bytes the body will have.
 */
long long http_content_length(const struct http_request *);
/* Is this a header value that can be copied into a request (no CTL)? */
int	 http_field_ok(const char *, size_t);

/*
 * Answer, now or later (once, exactly).  Headers are "Name: value" strings,
 * NULL-terminated, or NULL.  The body is copied.
 */
void	 http_respond(struct http_request *, int status,
	    const char *const *headers, const char *content_type,
	    const char *body, size_t len);
/*
 * A streamed answer, for a relay: the status and headers now, the body as
 * it comes (written as it arrives, without waiting for the whole).  If the
 * client leaves first, on_abort is called and the stream must not be used
 * again; http_stream_write asks the source to pause (-1) past a high-water
 * mark, and on_drain says when to go on.
 */
struct http_stream;
struct http_stream *http_respond_stream(struct http_request *, int status,
	    const char *const *headers, const char *content_type,
	    void (*on_abort)(void *), void (*on_drain)(void *), void *arg);
int	 http_stream_write(struct http_stream *, const char *, size_t);
void	 http_stream_end(struct http_stream *, int error);
/* Bytes written and not yet taken by the client (a slow reader's lag). */
size_t	 http_stream_pending(const struct http_stream *);

/*
 * Answer 101 Switching Protocols with headers (the route's: Upgrade,
 * "Connection: Upgrade" and its protocol's), on a browser's route only
 * (the loopback listeners allow upgrades, no other), then hand the
 * connection over: on_open(arg, u, fd, extra, n) once the 101 is sent,
 * with the socket (non-blocking, never to be closed but by
 * http_upgraded_close) and the n bytes the client sent past its head,
 * to be read before fd's.  Until on_open, http_on_gone's function says
 * the client left (or the 101 could not be sent).  After it, on_close
 * says the listener stops (a reload drops it, or qmsd's shutdown): the
 * connection is closed when on_close returns; u and fd are not to be used
 * in it or after.
 */
struct http_upgraded;
typedef void (*http_upgraded_fn)(void *arg, struct http_upgraded *, int fd,
    const char *extra, size_t n);
void	 http_upgrade(struct http_request *, const char *const *headers,
	    http_upgraded_fn on_open, void (*on_close)(void *), void *arg);
/* The route is done with the connection: it is closed, u freed. */
void	 http_upgraded_close(struct http_upgraded *);

/*
 * Be told if the request ends before the answer began: the client left
 * (then it is 499) or the listener stopped.  After fn the request is gone:
 * a route that answers later must register this and drop its pointer.
 */
void	 http_on_gone(struct http_request *, void (*)(void *), void *);

/* Answer a JSON-RPC error object with this HTTP status (headers as above). */
void	 http_respond_rpc_error(struct http_request *, int status,
	    const char *const *headers, int code, const char *message);

#endif
