/*
 * HTTP/1.1 header lines read strictly: what the egress proxy's request
 * parser (egress-request.c) and an intercepted tunnel's (intercept-http.c)
 * read alike.  The token table, where a head ends, the rest of a request
 * line (target and version), a header line split into name and value
 * with the strict checks, a Content-Length value, a Connection list.
 * Each parser keeps its own stricter rules on top.  Pure.
 *
 * A refusal is -1 with *status (400 unless said) and why, one printable
 * line; why may be NULL.
 */
#ifndef QMSD_HTTP_HEAD_H
#define QMSD_HTTP_HEAD_H

#include <stddef.h>

/* A Content-Length of more digits is refused (under 2^50: no overflow). */
#define HH_MAX_LENGTH_DIGITS	15

/* A header field: name and value point into the head. */
struct hh_field {
	const char	*name;
	size_t		 nlen;
	const char	*value;		/* blanks around it trimmed */
	size_t		 vlen;
};

/* What the rest of a request line holds, after METHOD SP. */
struct hh_request_line {
	const char	*target;
	size_t		 tlen;
	int		 minor;		/* HTTP/1.minor: 0 or 1 */
	const char	*eol;		/* the line's CR */
};

/* *status = code, why said: -1. */
int	hh_refuse(int *status, int code, char *why, size_t whylen,
	    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* RFC 9110's tchar. */
int	hh_tchar(unsigned char);
/* A byte a field value (or a reason phrase) may hold: no control but HTAB. */
int	hh_vchar(unsigned char);
/* Whether s[0..n) is want, ASCII case ignored. */
int	hh_is(const char *s, size_t n, const char *want);

/*
 * The head at buf (len bytes, possibly more; what is past max is not
 * read), *status 0 and why empty to begin with: its length through the
 * blank line, 0 if it is not in yet, or refused: a CR or LF that is not
 * part of a CRLF, with nul_refused a NUL (else a NUL is left to the checks
 * of what holds it), no blank line in max bytes (431).
 */
long	hh_head(const char *buf, size_t len, size_t max, int nul_refused,
	    int *status, char *why, size_t whylen);

/* The length of the method that begins a request line, SP after it; or 0. */
size_t	hh_method(const char *buf, const char *end);

/*
 * The rest of a request line at t (after METHOD SP; end: the head's end,
 * past hh_head): TARGET SP HTTP/1.0 or HTTP/1.1, the target at most
 * target_max bytes (0: no limit) of what a URL may hold.  0, or refused.
 */
int	hh_request_line(const char *t, const char *end, size_t target_max,
	    struct hh_request_line *, int *status, char *why, size_t whylen);

/*
 * The header line at *p (end: the head's end, past hh_head), nfields
 * fields read so far, at most max: 1 with *f and *p past its CRLF, 0 at
 * the blank line that ends the head, or refused (431 for field max + 1).
 * No folded line, a name of tchars, a value of vchars.
 */
int	hh_field(const char **p, const char *end, size_t nfields, size_t max,
	    struct hh_field *f, int *status, char *why, size_t whylen);

/*
 * A Content-Length value v[0..n): 0 with *out; -1 when empty or not all
 * decimal digits; -2 when more than HH_MAX_LENGTH_DIGITS digits.
 */
int	hh_length(const char *v, size_t n, long long *out);

/*
 * Whether a list value v[0..n) (a Connection header's: tokens between
 * commas and blanks) names name[0..nlen), case ignored.
 */
int	hh_list_has(const char *v, size_t n, const char *name, size_t nlen);

#endif
