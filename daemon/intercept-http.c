/*
 * HTTP/1.1 inside an intercepted tunnel: see intercept-http.h.
 *
 * The body's framing is read here exactly as the upstream will read the
 * bytes relayed to it: Content-Length and Transfer-Encoding are taken only
 * in the one spelling every server agrees on, so that no second request
 * can hide in a body the scope check let through.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http-head.h"
#include "intercept-http.h"
#include "message.h"
#include "util.h"

/* A chunk-size line (size and extensions) and the trailer section. */
#define IHTTP_MAX_SIZE_LINE	1024
#define IHTTP_MAX_TRAILER	8192
#define IHTTP_MAX_SIZE_DIGITS	15	/* under 2^60: no overflow */

static int
name_is(const struct ihttp_header *h, const char *name)
{
	return (hh_is(h->name, h->nlen, name));
}

/*
 * The raw value of a framing header, between its colon and its CR, in
 * the one spelling every server reads alike: one optional SP, the value,
 * nothing after.
 */
static int
framing_value(const struct ihttp_header *h, const char **v, size_t *n)
{
	const char	*p = h->name + h->nlen + 1, *e;

	for (e = p; *e != '\r'; e++)
		;
	if (p < e && *p == ' ')
		p++;
	if (p == e || *p == ' ' || *p == '\t' || e[-1] == ' ' ||
	    e[-1] == '\t')
		return (-1);
	*v = p;
	*n = (size_t)(e - p);
	return (0);
}

static int
parse_length(const struct ihttp_header *h, long long *out, int *status,
    char *why, size_t whylen)
{
	const char	*v;
	size_t		 vlen;

	if (framing_value(h, &v, &vlen) == -1)
		return (hh_refuse(status, 400, why, whylen, "Content-Length is "
		    "written \"Content-Length: DIGITS\", nothing around"));
	switch (hh_length(v, vlen, out)) {
	case -1:
		return (hh_refuse(status, 400, why, whylen, "a "
		    "Content-Length of decimal digits only, please"));
	case -2:
		return (hh_refuse(status, 413, why, whylen, "a Content-Length "
		    "of more than %d digits", HH_MAX_LENGTH_DIGITS));
	}
	return (0);
}

/* Whether the authority's host alone names it (its port is 443). */
static int
host_matches(const char *authority, const struct ihttp_header *h)
{
	const char	*colon, *close;
	size_t		 alen = strlen(authority), hlen;

	if (hh_is(h->value, h->vlen, authority))
		return (1);
	close = authority[0] == '[' ? strchr(authority, ']') : authority;
	if (close == NULL || (colon = strrchr(close, ':')) == NULL)
		return (0);
	if (strcmp(colon, ":443") != 0)
		return (0);
	hlen = (size_t)(colon - authority);
	return (hlen > 0 && hlen < alen && h->vlen == hlen &&
	    strncasecmp(h->value, authority, hlen) == 0);
}

/*
 * What a Connection header lists is dropped for the upstream; a field
 * that frames or routes the request must never be.
 */
static int
connection_ok(const struct ihttp_header *h)
{
	static const char *const kept[] = { "content-length",
	    "transfer-encoding", "host", "authorization" };
	size_t		 i;

	for (i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		if (hh_list_has(h->value, h->vlen, kept[i], strlen(kept[i])))
			return (0);
	return (1);
}

/* The header fields after the request line, to the blank line. */
static int
parse_headers(const char *p, const char *end, const char *authority,
    struct ihttp_request *r, int *status, char *why, size_t whylen)
{
	struct ihttp_header	*h;
	struct hh_field		 f;
	const char		*v;
	int			 k, nlength = 0, nte = 0, nhost = 0;
	size_t			 i;

	while ((k = hh_field(&p, end, r->nheaders, IHTTP_MAX_HEADERS, &f,
	    status, why, whylen)) == 1) {
		h = &r->headers[r->nheaders++];
		*h = (struct ihttp_header){ f.name, f.nlen, f.value, f.vlen };
		if (name_is(h, "content-length")) {
			if (nlength++ > 0)
				return (hh_refuse(status, 400, why, whylen,
				    "one Content-Length, please"));
			if (parse_length(h, &r->length, status, why,
			    whylen) == -1)
				return (-1);
		} else if (name_is(h, "transfer-encoding")) {
			if (nte++ > 0)
				return (hh_refuse(status, 501, why, whylen,
				    "one Transfer-Encoding, please"));
			if (framing_value(h, &v, &i) == -1 ||
			    !hh_is(v, i, "chunked"))
				return (hh_refuse(status, 501, why, whylen,
				    "no coding is taken but "
				    "\"Transfer-Encoding: chunked\""));
			r->chunked = 1;
		} else if (name_is(h, "host")) {
			if (nhost++ > 0)
				return (hh_refuse(status, 400, why, whylen,
				    "one Host header, please"));
			if (!host_matches(authority, h))
				return (hh_refuse(status, 400, why, whylen,
				    "the Host header is not the tunnel's (%s)",
				    authority));
		} else if (name_is(h, "authorization")) {
			if (r->authorization != NULL)
				return (hh_refuse(status, 400, why, whylen,
				    "one Authorization header, please"));
			r->authorization = h;
		} else if (name_is(h, "upgrade")) {
			return (hh_refuse(status, 400, why, whylen, "no "
			    "Upgrade through an intercepted tunnel"));
		} else if (name_is(h, "expect")) {
			if (!hh_is(h->value, h->vlen, "100-continue"))
				return (hh_refuse(status, 400, why, whylen,
				    "no expectation but 100-continue is met"));
			r->expect_continue = 1;
		} else if (name_is(h, "connection")) {
			if (!connection_ok(h))
				return (hh_refuse(status, 400, why, whylen, "a "
				    "Connection header naming a field that "
				    "frames or routes the request"));
		}
	}
	if (k == -1)
		return (-1);
	if (nhost != 1)
		return (hh_refuse(status, 400, why, whylen, "a request needs "
		    "its Host header"));
	if (r->chunked && nlength > 0)
		return (hh_refuse(status, 400, why, whylen, "Content-Length "
		    "and Transfer-Encoding together"));
	if (r->chunked && r->minor == 0)
		return (hh_refuse(status, 400, why, whylen, "a chunked body in "
		    "an HTTP/1.0 request"));
	if (r->chunked)
		r->length = -1;
	return (0);
}

int
ihttp_request_parse(const char *buf, size_t len, const char *authority,
    struct ihttp_request *r, int *status, char *why, size_t whylen)
{
	struct hh_request_line	 l;
	const char		*end;
	long			 hl;
	size_t			 n;

	memset(r, 0, sizeof(*r));
	r->length = 0;
	if ((hl = hh_head(buf, len, IHTTP_MAX_HEAD, 1, status, why,
	    whylen)) <= 0)
		return ((int)hl);
	end = buf + hl;
	r->head_len = (size_t)hl;

	/* METHOD SP origin-form SP HTTP/1.x CRLF */
	if ((n = hh_method(buf, end)) == 0)
		return (hh_refuse(status, 400, why, whylen, "not an HTTP "
		    "request line"));
	if (n >= sizeof(r->method))
		return (hh_refuse(status, 400, why, whylen, "a method over %zu "
		    "bytes", sizeof(r->method) - 1));
	memcpy(r->method, buf, n);
	r->method[n] = '\0';
	if (hh_request_line(buf + n + 1, end, IHTTP_MAX_TARGET, &l, status,
	    why, whylen) == -1)
		return (-1);
	r->minor = l.minor;
	if (strcmp(r->method, "CONNECT") == 0)
		return (hh_refuse(status, 400, why, whylen, "no CONNECT inside "
		    "an intercepted tunnel"));
	if (l.target[0] != '/')
		return (hh_refuse(status, 400, why, whylen, "the target is a "
		    "path (origin-form), not a URL or *"));
	if (memchr(l.target, '#', l.tlen) != NULL)
		return (hh_refuse(status, 400, why, whylen, "a fragment (#) is "
		    "never sent in a request"));
	r->target = l.target;
	r->tlen = l.tlen;
	if (parse_headers(l.eol + 2, end, authority, r, status, why,
	    whylen) == -1)
		return (-1);
	return (1);
}

/* Whether h is for this hop only, never for the upstream. */
static int
is_hop(const struct ihttp_request *r, const struct ihttp_header *h)
{
	static const char *const hop[] = { "connection", "keep-alive", "te",
	    "trailer", "upgrade", "expect" };
	const struct ihttp_header	*c;
	size_t				 i;

	for (i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
		if (name_is(h, hop[i]))
			return (1);
	if (h->nlen >= 6 && strncasecmp(h->name, "proxy-", 6) == 0)
		return (1);
	for (i = 0; i < r->nheaders; i++) {
		c = &r->headers[i];
		if (name_is(c, "connection") &&
		    hh_list_has(c->value, c->vlen, h->name, h->nlen))
			return (1);
	}
	return (0);
}

static void
put(char *out, size_t *o, const char *s, size_t n)
{
	memcpy(out + *o, s, n);
	*o += n;
}

char *
ihttp_upstream_head(const struct ihttp_request *r, const char *authorization,
    size_t *len)
{
	const struct ihttp_header	*h;
	const char			*eol;
	char				*out;
	size_t				 size, o = 0, i, alen;
	static const char		 close[] = "Connection: close\r\n\r\n";

	alen = authorization != NULL ? strlen(authorization) : 0;
	size = r->head_len + alen + sizeof(close) + 16;
	if ((out = malloc(size)) == NULL)
		return (NULL);
	put(out, &o, r->method, strlen(r->method));
	put(out, &o, " ", 1);
	put(out, &o, r->target, r->tlen);
	put(out, &o, " HTTP/1.1\r\n", 11);
	for (i = 0; i < r->nheaders; i++) {
		h = &r->headers[i];
		if (is_hop(r, h))
			continue;
		if (h == r->authorization && authorization != NULL) {
			put(out, &o, h->name, h->nlen);
			put(out, &o, ": ", 2);
			put(out, &o, authorization, alen);
			put(out, &o, "\r\n", 2);
			continue;
		}
		/* The line as it came: its end is the first CR after it. */
		for (eol = h->value + h->vlen; *eol != '\r'; eol++)
			;
		put(out, &o, h->name, (size_t)(eol - h->name));
		put(out, &o, "\r\n", 2);
	}
	put(out, &o, close, sizeof(close) - 1);
	*len = o;
	return (out);
}

/* The chunked decoder's states. */
enum {
	B_SIZE,		/* chunk-size digits */
	B_EXT,		/* ; chunk-ext, to CR */
	B_SIZE_LF,
	B_DATA,
	B_DATA_CR,
	B_DATA_LF,
	B_TRAILER,	/* the start of a trailer line, or the blank one */
	B_TNAME,
	B_TVALUE,
	B_TLF,
	B_END_LF
};

void
ihttp_body_init(struct ihttp_body *b, const struct ihttp_request *r)
{
	memset(b, 0, sizeof(*b));
	b->chunked = r->chunked;
	b->state = B_SIZE;
	if (!b->chunked) {
		b->left = r->length > 0 ? r->length : 0;
		b->done = b->left == 0;
	}
}

static void
copy_out(const char *p, size_t n, char *data, size_t *dlen, size_t cap)
{
	if (data == NULL || *dlen >= cap)
		return;
	if (n > cap - *dlen)
		n = cap - *dlen;
	memcpy(data + *dlen, p, n);
	*dlen += n;
}

long
ihttp_body_feed(struct ihttp_body *b, const char *buf, size_t len,
    char *data, size_t *dlen, char *why, size_t whylen)
{
	size_t		 i = 0, n, cap = 0;
	unsigned char	 c;
	int		 d;

	if (data != NULL && dlen != NULL) {
		cap = *dlen;
		*dlen = 0;
	} else if (dlen != NULL)
		*dlen = 0;
	if (len > (size_t)0x7fffffff)
		len = 0x7fffffff;
	if (b->done)
		return (0);
	if (!b->chunked) {
		n = (long long)len < b->left ? len : (size_t)b->left;
		copy_out(buf, n, data, dlen, cap);
		b->left -= (long long)n;
		if (b->left == 0)
			b->done = 1;
		return ((long)n);
	}
	while (i < len && !b->done) {
		c = (unsigned char)buf[i];
		switch (b->state) {
		case B_SIZE:
			if ((d = hex_value(c)) != -1) {
				if (b->linelen == IHTTP_MAX_SIZE_DIGITS) {
					msg_say(why, whylen, "a chunk size of "
					    "more than %d hex digits",
					    IHTTP_MAX_SIZE_DIGITS);
					return (-1);
				}
				b->left = b->left * 16 + d;
				b->linelen++;
				i++;
				break;
			}
			if (b->linelen == 0) {
				msg_say(why, whylen, "a chunk without its size "
				    "in hex");
				return (-1);
			}
			if (c == ';') {
				b->state = B_EXT;
				b->linelen++;
				i++;
			} else if (c == '\r') {
				b->state = B_SIZE_LF;
				i++;
			} else {
				msg_say(why, whylen, "a chunk size followed by "
				    "neither ; nor CRLF");
				return (-1);
			}
			break;
		case B_EXT:
			if (c == '\r') {
				b->state = B_SIZE_LF;
				i++;
				break;
			}
			if (!hh_vchar(c)) {
				msg_say(why, whylen, "a control byte in a "
				    "chunk extension");
				return (-1);
			}
			if (++b->linelen > IHTTP_MAX_SIZE_LINE) {
				msg_say(why, whylen, "a chunk size line over "
				    "%d bytes", IHTTP_MAX_SIZE_LINE);
				return (-1);
			}
			i++;
			break;
		case B_SIZE_LF:
			if (c != '\n') {
				msg_say(why, whylen, "a chunk size line "
				    "without its CRLF");
				return (-1);
			}
			i++;
			b->linelen = 0;
			b->state = b->left == 0 ? B_TRAILER : B_DATA;
			break;
		case B_DATA:
			n = len - i;
			if ((long long)n > b->left)
				n = (size_t)b->left;
			copy_out(buf + i, n, data, dlen, cap);
			b->left -= (long long)n;
			i += n;
			if (b->left == 0)
				b->state = B_DATA_CR;
			break;
		case B_DATA_CR:
		case B_DATA_LF:
			if (c != (b->state == B_DATA_CR ? '\r' : '\n')) {
				msg_say(why, whylen, "a chunk's data not "
				    "followed by CRLF");
				return (-1);
			}
			i++;
			b->state = b->state == B_DATA_CR ? B_DATA_LF : B_SIZE;
			break;
		case B_TRAILER:
		case B_TNAME:
		case B_TVALUE:
		case B_TLF:
		case B_END_LF:
			if (++b->trailer > IHTTP_MAX_TRAILER) {
				msg_say(why, whylen, "a trailer section over "
				    "%d bytes", IHTTP_MAX_TRAILER);
				return (-1);
			}
			if (b->state == B_TRAILER && c == '\r')
				b->state = B_END_LF;
			else if (b->state == B_END_LF) {
				if (c != '\n') {
					msg_say(why, whylen, "a chunked body "
					    "not ended by CRLF");
					return (-1);
				}
				b->done = 1;
			} else if (b->state == B_TRAILER ||
			    b->state == B_TNAME) {
				if (c == ':' && b->state == B_TNAME)
					b->state = B_TVALUE;
				else if (hh_tchar(c))
					b->state = B_TNAME;
				else {
					msg_say(why, whylen, "a trailer line "
					    "that is not NAME: VALUE");
					return (-1);
				}
			} else if (b->state == B_TVALUE) {
				if (c == '\r')
					b->state = B_TLF;
				else if (!hh_vchar(c)) {
					msg_say(why, whylen, "a control byte "
					    "in a trailer value");
					return (-1);
				}
			} else {
				if (c != '\n') {
					msg_say(why, whylen, "a trailer line "
					    "without its CRLF");
					return (-1);
				}
				b->state = B_TRAILER;
			}
			i++;
			break;
		}
	}
	return ((long)i);
}

/* The status line and header lines of an answer head, checked. */
static int
response_lines(const char *buf, size_t hl, int *status)
{
	const char	*p, *eol, *end = buf + hl, *colon;
	int		 code;

	if (hl < 14 || memcmp(buf, "HTTP/1.", 7) != 0 ||
	    (buf[7] != '0' && buf[7] != '1') || buf[8] != ' ')
		return (-1);
	if (buf[9] < '1' || buf[9] > '5' || buf[10] < '0' || buf[10] > '9' ||
	    buf[11] < '0' || buf[11] > '9')
		return (-1);
	code = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
	eol = memchr(buf, '\r', hl);
	if (eol != buf + 12 && buf[12] != ' ')
		return (-1);
	for (p = buf + 12; p < eol; p++)
		if (!hh_vchar((unsigned char)*p))
			return (-1);
	for (p = eol + 2; p + 2 < end; p = eol + 2) {
		eol = memchr(p, '\r', (size_t)(end - p));
		colon = memchr(p, ':', (size_t)(eol - p));
		if (colon == NULL || colon == p)
			return (-1);
		for (; p < colon; p++)
			if (!hh_tchar((unsigned char)*p))
				return (-1);
		for (p = colon + 1; p < eol; p++)
			if (!hh_vchar((unsigned char)*p))
				return (-1);
	}
	*status = code;
	return (0);
}

int
ihttp_response_parse(const char *buf, size_t len, int *status,
    size_t *head_len)
{
	long	hl;
	int	code;

	if ((hl = hh_head(buf, len, IHTTP_MAX_HEAD, 1, &code, NULL,
	    0)) <= 0)
		return ((int)hl);
	if (response_lines(buf, (size_t)hl, status) == -1)
		return (-1);
	*head_len = (size_t)hl;
	return (1);
}

char *
ihttp_response_head(const char *buf, size_t head_len, size_t *len)
{
	const char	*p, *eol, *end = buf + head_len, *colon;
	char		*out;
	size_t		 o = 0, n;
	static const char close[] = "Connection: close\r\n\r\n";

	if (head_len < 4 || memcmp(end - 4, "\r\n\r\n", 4) != 0)
		return (NULL);
	if ((out = malloc(head_len + sizeof(close))) == NULL)
		return (NULL);
	/* Every line as it came, less Connection and Keep-Alive. */
	for (p = buf; p + 2 < end; p = eol + 2) {
		if ((eol = memchr(p, '\r', (size_t)(end - p))) == NULL)
			break;
		n = (size_t)(eol - p);
		colon = p == buf ? NULL : memchr(p, ':', n);
		if (colon != NULL && (hh_is(p, (size_t)(colon - p),
		    "connection") || hh_is(p, (size_t)(colon - p),
		    "keep-alive")))
			continue;
		put(out, &o, p, n);
		put(out, &o, "\r\n", 2);
	}
	put(out, &o, close, sizeof(close) - 1);
	*len = o;
	return (out);
}
