/*
 * The head of an egress proxy request: see egress-request.h.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "egress-request.h"
#include "http-head.h"

static int
name_is(const struct egress_header *h, const char *name)
{
	return (hh_is(h->name, h->nlen, name));
}

/* The request line's target, absolute-form: authority and path. */
static int
parse_absolute(const char *t, size_t tlen, struct egress_request *r,
    int *status, char *why, size_t whylen)
{
	const char	*a, *end, *colon;
	size_t		 alen;

	if (tlen >= 8 && strncasecmp(t, "https://", 8) == 0)
		return (hh_refuse(status, 400, why, whylen, "https:// through "
		    "a proxy is a CONNECT; this proxy does not open TLS"));
	if (tlen < 7 || strncasecmp(t, "http://", 7) != 0)
		return (hh_refuse(status, 400, why, whylen, "a proxy request's "
		    "target is http://HOST[:PORT]/PATH, or CONNECT HOST:PORT"));
	if (memchr(t, '#', tlen) != NULL)
		return (hh_refuse(status, 400, why, whylen, "a fragment (#) is "
		    "never sent in a request"));
	a = t + 7;
	end = t + tlen;
	for (alen = 0; a + alen < end && a[alen] != '/' && a[alen] != '?';
	    alen++)
		;
	if (alen == 0)
		return (hh_refuse(status, 400, why, whylen, "no host in the "
		    "target"));
	if (memchr(a, '@', alen) != NULL)
		return (hh_refuse(status, 400, why, whylen, "userinfo (user@) "
		    "in the target is refused"));
	r->path = a + alen;
	r->plen = (size_t)(end - r->path);
	/* The port, or http's, written in: the policy never guesses one. */
	colon = a[0] == '[' ? memchr(a, ']', alen) : a;
	if (colon == NULL)
		return (hh_refuse(status, 400, why, whylen, "an IPv6 address "
		    "without its closing ]"));
	colon = memchr(colon, ':', alen - (size_t)(colon - a));
	if (alen + (colon == NULL ? 3 : 0) > EGRESS_MAX_AUTHORITY)
		return (hh_refuse(status, 400, why, whylen, "the target's host "
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

/* The header fields after the request line, to the blank line. */
static int
parse_headers(const char *p, const char *end, struct egress_request *r,
    int *status, char *why, size_t whylen)
{
	struct egress_header	*h;
	struct hh_field		 f;
	const struct egress_header *host = NULL;
	int			 k, nlength = 0, nhost = 0;
	size_t			 i;

	while ((k = hh_field(&p, end, r->nheaders, EGRESS_MAX_HEADERS, &f,
	    status, why, whylen)) == 1) {
		h = &r->headers[r->nheaders++];
		*h = (struct egress_header){ f.name, f.nlen, f.value, f.vlen };
		if (name_is(h, "content-length")) {
			if (r->connect)
				return (hh_refuse(status, 400, why, whylen, "a "
				    "CONNECT has no body (Content-Length)"));
			if (nlength++ > 0 ||
			    hh_length(h->value, h->vlen, &r->length) != 0)
				return (hh_refuse(status, 400, why, whylen,
				    "one Content-Length of decimal digits, "
				    "please"));
		} else if (name_is(h, "transfer-encoding")) {
			if (r->connect)
				return (hh_refuse(status, 400, why, whylen, "a "
				    "CONNECT has no body (Transfer-Encoding)"));
			return (hh_refuse(status, 501, why, whylen, "a body is "
			    "relayed with a Content-Length only, not with "
			    "Transfer-Encoding"));
		} else if (name_is(h, "host")) {
			nhost++;
			host = h;
		}
	}
	if (k == -1)
		return (-1);
	if (r->connect)
		return (0);
	if (nhost != 1)
		return (hh_refuse(status, 400, why, whylen, "an absolute-form "
		    "request needs one Host header, naming its target"));
	if (!host_matches(r, host)) {
		char	shown[101];

		/* Said back printable: a reason is one line. */
		for (i = 0; i < host->vlen && i < sizeof(shown) - 1; i++)
			shown[i] = host->value[i] > ' ' && host->value[i] < 0x7f ?
			    host->value[i] : '?';
		shown[i] = '\0';
		return (hh_refuse(status, 400, why, whylen, "the Host header "
		    "(%s) is not the target's host (%s)", shown,
		    r->authority));
	}
	return (0);
}

int
egress_request_parse(const char *buf, size_t len, struct egress_request *r,
    int *status, char *why, size_t whylen)
{
	struct hh_request_line	 l;
	const char		*end;
	long			 hl;
	size_t			 n;

	memset(r, 0, sizeof(*r));
	if ((hl = hh_head(buf, len, EGRESS_MAX_HEAD, 0, status, why,
	    whylen)) <= 0)
		return ((int)hl);
	end = buf + hl;
	r->head_len = (size_t)hl;

	/* METHOD SP target SP HTTP/1.x CRLF */
	if ((n = hh_method(buf, end)) == 0 || n >= sizeof(r->method))
		return (hh_refuse(status, 400, why, whylen, "not an HTTP "
		    "request line"));
	memcpy(r->method, buf, n);
	r->method[n] = '\0';
	if (hh_request_line(buf + n + 1, end, 0, &l, status, why,
	    whylen) == -1)
		return (-1);
	if (strcmp(r->method, "CONNECT") == 0) {
		r->connect = 1;
		if (l.tlen > EGRESS_MAX_AUTHORITY)
			return (hh_refuse(status, 400, why, whylen, "the "
			    "CONNECT target is too long"));
		memcpy(r->authority, l.target, l.tlen);
		r->authority[l.tlen] = '\0';
	} else if (parse_absolute(l.target, l.tlen, r, status, why,
	    whylen) == -1)
		return (-1);
	if (parse_headers(l.eol + 2, end, r, status, why, whylen) == -1)
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
	size_t				 i;

	for (i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
		if (name_is(h, hop[i]))
			return (1);
	/* What a Connection header lists is for this hop only, too. */
	for (i = 0; i < r->nheaders; i++) {
		c = &r->headers[i];
		if (name_is(c, "connection") &&
		    hh_list_has(c->value, c->vlen, h->name, h->nlen))
			return (1);
	}
	return (0);
}
