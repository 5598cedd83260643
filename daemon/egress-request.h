/*
 * The head of a request to the egress proxy, parsed strictly.  Pure: no
 * I/O, nothing allocated; the result points into the caller's buffer.
 *
 * What is taken, and only so (anything else is refused with a status
 * and one line saying why):
 *
 *	CONNECT host:port HTTP/1.x		authority-form: a tunnel
 *	METHOD http://authority[/path] HTTP/1.x	absolute-form: plain HTTP
 *
 * Every line ends in CRLF (a bare CR or LF is refused: a server behind
 * might read the lines differently).  A header name is a token; a value
 * has no control byte.  Refused as ways to smuggle: a CONNECT with a body
 * (Content-Length or Transfer-Encoding), an absolute-form request whose
 * Host is missing, repeated or differs from its target, any request with
 * Transfer-Encoding (no chunked body is relayed), a repeated or malformed
 * Content-Length, userinfo or a fragment in the target, https:// (that
 * is CONNECT's), and origin-form (which is qmsd's own, not the proxy's).
 */
#ifndef QMSD_EGRESS_REQUEST_H
#define QMSD_EGRESS_REQUEST_H

#include <stddef.h>

#include "egress-policy.h"

/* A head longer than this is refused (431). */
#define EGRESS_MAX_HEAD		16384
#define EGRESS_MAX_HEADERS	100

struct egress_header {
	const char	*name;
	size_t		 nlen;
	const char	*value;		/* blanks around it trimmed */
	size_t		 vlen;
};

struct egress_request {
	int		 connect;	/* CONNECT, else absolute-form */
	char		 method[16];
	/* host:port, the port written in (http: 80) for the policy. */
	char		 authority[EGRESS_MAX_AUTHORITY + 1];
	/* Absolute-form: what to send upstream, "/" when none was given. */
	const char	*path;
	size_t		 plen;
	long long	 length;	/* Content-Length, or 0 */
	size_t		 head_len;	/* through the blank line */
	struct egress_header headers[EGRESS_MAX_HEADERS];
	size_t		 nheaders;
};

/*
 * Parse the head at buf (len bytes, possibly more than the head).
 * Returns 1 when the head is whole and good, 0 when more bytes are
 * needed, and -1 when it is refused, with *status (400, 405, 431, 501)
 * and why (one printable line).
 */
int	egress_request_parse(const char *buf, size_t len,
	    struct egress_request *, int *status, char *why, size_t whylen);

/*
 * Whether the header (lower-case compared) is hop-by-hop, not to be
 * passed upstream: Connection and what it lists, Proxy-*, Keep-Alive,
 * TE, Trailer, Upgrade.
 */
int	egress_request_hop(const struct egress_request *,
	    const struct egress_header *);

#endif
