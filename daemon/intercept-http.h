/*
 * HTTP/1.1 inside an intercepted tunnel (egress-intercept.h): the
 * client's request head read strictly and written again for the
 * upstream, its body's end found, the upstream's answer head written
 * again for the client.  Pure: no I/O, no global state; results point
 * into the caller's buffer.
 *
 * A request is taken only in origin-form ("METHOD /path HTTP/1.1"),
 * HTTP/1.0 or 1.1, every line ending in CRLF, names tokens, values free
 * of control bytes, no obsolete line folding, exactly one Host equal to
 * the tunnel's authority (its port may be left out when it is 443), at
 * most one Authorization.  The body is Content-Length bytes (one value,
 * decimal) or chunked (Transfer-Encoding exactly "chunked"); both, any
 * other coding, Upgrade, or a CONNECT are refused as ways to smuggle a
 * second request past the scope check.
 */
#ifndef QMSD_INTERCEPT_HTTP_H
#define QMSD_INTERCEPT_HTTP_H

#include <stddef.h>
#include <stdint.h>

#define IHTTP_MAX_HEAD		65536
#define IHTTP_MAX_HEADERS	100
#define IHTTP_MAX_TARGET	8192

struct ihttp_header {
	const char	*name;
	size_t		 nlen;
	const char	*value;		/* blanks around it trimmed */
	size_t		 vlen;
};

struct ihttp_request {
	char		 method[16];
	const char	*target;	/* origin-form, query included */
	size_t		 tlen;
	int		 minor;		/* HTTP/1.minor */
	long long	 length;	/* Content-Length; -1: none */
	int		 chunked;
	int		 expect_continue;	/* Expect: 100-continue */
	const struct ihttp_header *authorization;	/* or NULL */
	size_t		 head_len;	/* through the blank line */
	struct ihttp_header headers[IHTTP_MAX_HEADERS];
	size_t		 nheaders;
};

/*
 * Parse the head at buf (len bytes, possibly more).  authority is the
 * tunnel's "host:port".  Returns 1 when whole and good, 0 when more bytes
 * are needed, -1 when refused with *status (400, 413, 431, 501) and why.
 */
int	ihttp_request_parse(const char *buf, size_t len, const char *authority,
	    struct ihttp_request *, int *status, char *why, size_t whylen);

/*
 * The head for the upstream: the request line, the headers less the
 * hop-by-hop ones (Connection and what it names, Keep-Alive, Proxy-*,
 * TE, Trailer, Upgrade, Expect), Authorization's value replaced by
 * authorization when that is not NULL, and "Connection: close".
 * Allocated; *len its length.
 */
char	*ihttp_upstream_head(const struct ihttp_request *,
	    const char *authorization, size_t *len);

/* Where a body ends, fed as it comes. */
struct ihttp_body {
	int		 chunked;
	long long	 left;		/* of Content-Length, or of a chunk */
	int		 state;		/* of the chunked decoder */
	size_t		 linelen;	/* of a size or trailer line so far */
	size_t		 trailer;	/* trailer bytes so far */
	int		 done;
};

void	ihttp_body_init(struct ihttp_body *, const struct ihttp_request *);
/*
 * Take up to len bytes of body at buf: returns how many belong to the
 * body (fewer than len only when it ends there: done is then set), or -1
 * when a chunk's framing is malformed (why).  When data is not NULL, the
 * decoded payload bytes are appended there (at most *dlen bytes, *dlen
 * set to how many; payload past it is framed but not copied).
 */
long	ihttp_body_feed(struct ihttp_body *, const char *buf, size_t len,
	    char *data, size_t *dlen, char *why, size_t whylen);

/*
 * An upstream's answer head at buf: returns 1 and fills *status and
 * *head_len when whole, 0 for more, -1 when malformed.  A 1xx other than
 * 101 is an interim answer: the caller passes it and reads the next.
 */
int	ihttp_response_parse(const char *buf, size_t len, int *status,
	    size_t *head_len);
/* That head again with Connection and Keep-Alive dropped and
 * "Connection: close" added.  Allocated; *len its length. */
char	*ihttp_response_head(const char *buf, size_t head_len, size_t *len);

#endif
