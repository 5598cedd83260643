/*
 * The head of an egress proxy request: see egress-request.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "egress-request.h"

static int
refuse(int *status, int code, char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int
refuse(int *status, int code, char *why, size_t whylen, const char *fmt, ...)
{
	va_list	ap;

	*status = code;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return (-1);
}

/* RFC 9110's tchar. */
static int
is_tchar(unsigned char c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' &&
	    strchr("!#$%&'*+-.^_`|~", c) != NULL));
}

static int
name_is(const struct egress_header *h, const char *name)
{
	return (h->nlen == strlen(name) &&
	    strncasecmp(h->name, name, h->nlen) == 0);
}

/*
 * Where the head ends (the byte after its blank line), 0 if it is not in
 * yet, or -1 for a CR or LF that is not part of a CRLF.
 */
static long
head_end(const char *buf, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		if (buf[i] == '\n')
			return (-1);	/* a CRLF's LF is passed below */
		if (buf[i] != '\r')
			continue;
		if (i + 1 == len)
			return (0);
		if (buf[i + 1] != '\n')
			return (-1);
		/* A line ends; an empty one ends the head. */
		if (i >= 2 && buf[i - 1] == '\n' && buf[i - 2] == '\r')
			return ((long)(i + 2));
		i++;
	}
	return (0);
}

/* The request line's target, absolute-form: authority and path. */
static int
parse_absolute(const char *t, size_t tlen, struct egress_request *r,
    int *status, char *why, size_t whylen)
{
	const char	*a, *end, *colon;
	size_t		 alen;

	if (tlen >= 8 && strncasecmp(t, "https://", 8) == 0)
		return (refuse(status, 400, why, whylen, "https:// through a "
		    "proxy is a CONNECT; this proxy does not open TLS"));
	if (tlen < 7 || strncasecmp(t, "http://", 7) != 0)
		return (refuse(status, 400, why, whylen, "a proxy request's "
		    "target is http://HOST[:PORT]/PATH, or CONNECT HOST:PORT"));
	if (memchr(t, '#', tlen) != NULL)
		return (refuse(status, 400, why, whylen, "a fragment (#) is "
		    "never sent in a request"));
	a = t + 7;
	end = t + tlen;
	for (alen = 0; a + alen < end && a[alen] != '/' && a[alen] != '?';
	    alen++)
		;
	if (alen == 0)
		return (refuse(status, 400, why, whylen, "no host in the "
		    "target"));
	if (memchr(a, '@', alen) != NULL)
		return (refuse(status, 400, why, whylen, "userinfo (user@) "
		    "in the target is refused"));
	r->path = a + alen;
	r->plen = (size_t)(end - r->path);
	/* The port, or http's, written in: the policy never guesses one. */
	colon = a[0] == '[' ? memchr(a, ']', alen) : a;
	if (colon == NULL)
		return (refuse(status, 400, why, whylen, "an IPv6 address "
		    "without its closing ]"));
	colon = memchr(colon, ':', alen - (size_t)(colon - a));
	if (alen + (colon == NULL ? 3 : 0) > EGRESS_MAX_AUTHORITY)
		return (refuse(status, 400, why, whylen, "the target's host "
		    "is too long"));
	snprintf(r->authority, sizeof(r->authority), "%.*s%s", (int)alen, a,
	    colon == NULL ? ":80" : "");
	return (0);
}

/*
 * Whether Host names the target: both parsed as the policy parses them
 * (case, a trailing dot, the default port), so that no spelling differs.
 */
static int
host_matches(const struct egress_request *r, const struct egress_header *h)
{
	struct egress_target	a, b;
	char			host[EGRESS_MAX_AUTHORITY + 1], err[128];
	const char		*v = h->value, *colon;
	size_t			n = h->vlen;

	if (n == 0 || n + 3 > EGRESS_MAX_AUTHORITY || memchr(v, '\0', n))
		return (0);
	colon = v[0] == '[' ? memchr(v, ']', n) : v;
	if (colon == NULL)
		return (0);
	colon = memchr(colon, ':', n - (size_t)(colon - v));
	snprintf(host, sizeof(host), "%.*s%s", (int)n, v, colon == NULL ?
	    ":80" : "");
	if (egress_target_parse(host, &a, err, sizeof(err)) == -1 ||
	    egress_target_parse(r->authority, &b, err, sizeof(err)) == -1)
		return (0);
	return (a.kind == b.kind && a.port == b.port &&
	    strcmp(a.host, b.host) == 0);
}

static int
parse_length(const struct egress_header *h, long long *out)
{
	long long	n = 0;
	size_t		i;

	if (h->vlen == 0 || h->vlen > 15)
		return (-1);
	for (i = 0; i < h->vlen; i++) {
		if (h->value[i] < '0' || h->value[i] > '9')
			return (-1);
		n = n * 10 + (h->value[i] - '0');
	}
	*out = n;
	return (0);
}

/* The header fields after the request line, to the blank line. */
static int
parse_headers(const char *p, const char *end, struct egress_request *r,
    int *status, char *why, size_t whylen)
{
	struct egress_header	*h;
	const char		*eol, *colon, *v, *ve;
	const struct egress_header *host = NULL;
	int			 nlength = 0, nhost = 0;
	size_t			 i;

	while (p < end && !(p[0] == '\r' && p + 1 < end && p[1] == '\n')) {
		eol = memchr(p, '\r', (size_t)(end - p));	/* CRLF: checked */
		if (eol == NULL)
			return (refuse(status, 400, why, whylen, "a header "
			    "line without its end"));
		if (p[0] == ' ' || p[0] == '\t')
			return (refuse(status, 400, why, whylen, "a folded "
			    "header line is refused"));
		if (r->nheaders == EGRESS_MAX_HEADERS)
			return (refuse(status, 431, why, whylen, "more than %d "
			    "header fields", EGRESS_MAX_HEADERS));
		colon = memchr(p, ':', (size_t)(eol - p));
		if (colon == NULL || colon == p)
			return (refuse(status, 400, why, whylen, "a header "
			    "line that is not NAME: VALUE"));
		for (v = p; v < colon; v++)
			if (!is_tchar((unsigned char)*v))
				return (refuse(status, 400, why, whylen, "a "
				    "header name with a byte outside a token"));
		for (v = colon + 1; v < eol && (*v == ' ' || *v == '\t'); v++)
			;
		for (ve = eol; ve > v && (ve[-1] == ' ' || ve[-1] == '\t');
		    ve--)
			;
		for (i = 0; v + i < ve; i++) {
			unsigned char c = (unsigned char)v[i];

			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return (refuse(status, 400, why, whylen, "a "
				    "control byte in a header value"));
		}
		h = &r->headers[r->nheaders++];
		h->name = p;
		h->nlen = (size_t)(colon - p);
		h->value = v;
		h->vlen = (size_t)(ve - v);
		if (name_is(h, "content-length")) {
			if (r->connect)
				return (refuse(status, 400, why, whylen, "a "
				    "CONNECT has no body (Content-Length)"));
			if (nlength++ > 0 || parse_length(h, &r->length) == -1)
				return (refuse(status, 400, why, whylen, "one "
				    "Content-Length of decimal digits, please"));
		} else if (name_is(h, "transfer-encoding")) {
			if (r->connect)
				return (refuse(status, 400, why, whylen, "a "
				    "CONNECT has no body (Transfer-Encoding)"));
			return (refuse(status, 501, why, whylen, "a body is "
			    "relayed with a Content-Length only, not with "
			    "Transfer-Encoding"));
		} else if (name_is(h, "host")) {
			nhost++;
			host = h;
		}
		p = eol + 2;
	}
	if (r->connect)
		return (0);
	if (nhost != 1)
		return (refuse(status, 400, why, whylen, "an absolute-form "
		    "request needs one Host header, naming its target"));
	if (!host_matches(r, host)) {
		char	shown[101];

		/* Said back printable: a reason is one line. */
		for (i = 0; i < host->vlen && i < sizeof(shown) - 1; i++)
			shown[i] = host->value[i] > ' ' && host->value[i] < 0x7f ?
			    host->value[i] : '?';
		shown[i] = '\0';
		return (refuse(status, 400, why, whylen, "the Host header "
		    "(%s) is not the target's host (%s)", shown,
		    r->authority));
	}
	return (0);
}

int
egress_request_parse(const char *buf, size_t len, struct egress_request *r,
    int *status, char *why, size_t whylen)
{
	const char	*p, *sp, *t, *eol, *end;
	long		 hl;
	size_t		 n, tlen;

	memset(r, 0, sizeof(*r));
	*status = 0;
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (len > EGRESS_MAX_HEAD)
		len = EGRESS_MAX_HEAD;
	if ((hl = head_end(buf, len)) == -1)
		return (refuse(status, 400, why, whylen, "a line ends in a "
		    "bare CR or LF; lines end in CRLF"));
	if (hl == 0)
		return (len == EGRESS_MAX_HEAD ? refuse(status, 431, why,
		    whylen, "a request head over %d bytes", EGRESS_MAX_HEAD) :
		    0);
	end = buf + hl;
	r->head_len = (size_t)hl;

	/* METHOD SP target SP HTTP/1.x CRLF */
	for (n = 0; buf + n < end && is_tchar((unsigned char)buf[n]); n++)
		;
	if (n == 0 || n >= sizeof(r->method) || buf[n] != ' ')
		return (refuse(status, 400, why, whylen, "not an HTTP request "
		    "line"));
	memcpy(r->method, buf, n);
	r->method[n] = '\0';
	t = buf + n + 1;
	eol = memchr(t, '\r', (size_t)(end - t));
	if ((sp = memchr(t, ' ', (size_t)(eol - t))) == NULL || sp == t)
		return (refuse(status, 400, why, whylen, "not an HTTP request "
		    "line"));
	tlen = (size_t)(sp - t);
	for (p = t; p < sp; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return (refuse(status, 400, why, whylen, "a byte in "
			    "the target that no URL has"));
	if ((size_t)(eol - sp - 1) != 8 || (memcmp(sp + 1, "HTTP/1.1", 8) !=
	    0 && memcmp(sp + 1, "HTTP/1.0", 8) != 0))
		return (refuse(status, 400, why, whylen, "only HTTP/1.0 and "
		    "HTTP/1.1 are spoken here"));
	if (strcmp(r->method, "CONNECT") == 0) {
		r->connect = 1;
		if (tlen > EGRESS_MAX_AUTHORITY)
			return (refuse(status, 400, why, whylen, "the CONNECT "
			    "target is too long"));
		memcpy(r->authority, t, tlen);
		r->authority[tlen] = '\0';
	} else if (parse_absolute(t, tlen, r, status, why, whylen) == -1)
		return (-1);
	if (parse_headers(eol + 2, end, r, status, why, whylen) == -1)
		return (-1);
	return (1);
}

int
egress_request_hop(const struct egress_request *r,
    const struct egress_header *h)
{
	static const char *const hop[] = { "connection", "proxy-connection",
	    "keep-alive", "proxy-authorization", "proxy-authenticate", "te",
	    "trailer", "transfer-encoding", "upgrade" };
	const struct egress_header	*c;
	const char			*v, *ve, *tok;
	size_t				 i, n;

	for (i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
		if (name_is(h, hop[i]))
			return (1);
	/* What a Connection header lists is for this hop only, too. */
	for (i = 0; i < r->nheaders; i++) {
		c = &r->headers[i];
		if (!name_is(c, "connection"))
			continue;
		v = c->value;
		ve = v + c->vlen;
		while (v < ve) {
			while (v < ve && (*v == ',' || *v == ' ' || *v == '\t'))
				v++;
			tok = v;
			while (v < ve && *v != ',' && *v != ' ' && *v != '\t')
				v++;
			n = (size_t)(v - tok);
			if (n > 0 && n == h->nlen &&
			    strncasecmp(tok, h->name, n) == 0)
				return (1);
		}
	}
	return (0);
}
