/*
 * HTTP/1.1 header lines read strictly: see http-head.h.
 */
#include <stdarg.h>
#include <string.h>
#include <strings.h>

#include "http-head.h"
#include "message.h"

int
hh_refuse(int *status, int code, char *why, size_t whylen, const char *fmt,
    ...)
{
	va_list	ap;

	*status = code;
	va_start(ap, fmt);
	msg_vsay(why, whylen, fmt, ap);
	va_end(ap);
	return (-1);
}

int
hh_tchar(unsigned char c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' &&
	    strchr("!#$%&'*+-.^_`|~", c) != NULL));
}

int
hh_vchar(unsigned char c)
{
	return (c == '\t' || (c >= 0x20 && c != 0x7f));
}

int
hh_is(const char *s, size_t n, const char *want)
{
	return (n == strlen(want) && strncasecmp(s, want, n) == 0);
}

/*
 * Where the head ends (the byte after its blank line), 0 if it is not in
 * yet, -1 for a CR or LF that is not part of a CRLF, -2 for a NUL.
 */
static long
head_end(const char *buf, size_t len, int nul_refused)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		if (buf[i] == '\0' && nul_refused)
			return (-2);
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

long
hh_head(const char *buf, size_t len, size_t max, int nul_refused,
    int *status, char *why, size_t whylen)
{
	long	hl;

	*status = 0;
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (len > max)
		len = max;
	if ((hl = head_end(buf, len, nul_refused)) == -1)
		return (hh_refuse(status, 400, why, whylen, "a line ends in a "
		    "bare CR or LF; lines end in CRLF"));
	if (hl == -2)
		return (hh_refuse(status, 400, why, whylen, "a NUL byte in the "
		    "request head"));
	if (hl == 0 && len == max)
		return (hh_refuse(status, 431, why, whylen, "a request head "
		    "over %zu bytes", max));
	return (hl);
}

size_t
hh_method(const char *buf, const char *end)
{
	size_t	n;

	for (n = 0; buf + n < end && hh_tchar((unsigned char)buf[n]); n++)
		;
	return (buf + n < end && buf[n] == ' ' ? n : 0);
}

int
hh_request_line(const char *t, const char *end, size_t target_max,
    struct hh_request_line *l, int *status, char *why, size_t whylen)
{
	const char	*p, *sp, *eol;

	eol = memchr(t, '\r', (size_t)(end - t));	/* CRLF: checked */
	if ((sp = memchr(t, ' ', (size_t)(eol - t))) == NULL || sp == t)
		return (hh_refuse(status, 400, why, whylen, "not an HTTP "
		    "request line"));
	if (target_max > 0 && (size_t)(sp - t) > target_max)
		return (hh_refuse(status, 400, why, whylen, "a target over %zu "
		    "bytes", target_max));
	for (p = t; p < sp; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return (hh_refuse(status, 400, why, whylen, "a byte in "
			    "the target that no URL has"));
	if ((size_t)(eol - sp - 1) != 8 || (memcmp(sp + 1, "HTTP/1.1", 8) !=
	    0 && memcmp(sp + 1, "HTTP/1.0", 8) != 0))
		return (hh_refuse(status, 400, why, whylen, "only HTTP/1.0 and "
		    "HTTP/1.1 are spoken here"));
	l->target = t;
	l->tlen = (size_t)(sp - t);
	l->minor = sp[8] - '0';
	l->eol = eol;
	return (0);
}

int
hh_field(const char **pp, const char *end, size_t nfields, size_t max,
    struct hh_field *f, int *status, char *why, size_t whylen)
{
	const char	*p = *pp, *eol, *colon, *v, *ve;

	if (p >= end || (p[0] == '\r' && p + 1 < end && p[1] == '\n'))
		return (0);
	eol = memchr(p, '\r', (size_t)(end - p));	/* CRLF: checked */
	if (eol == NULL)
		return (hh_refuse(status, 400, why, whylen, "a header line "
		    "without its end"));
	if (p[0] == ' ' || p[0] == '\t')
		return (hh_refuse(status, 400, why, whylen, "a folded header "
		    "line is refused"));
	if (nfields == max)
		return (hh_refuse(status, 431, why, whylen, "more than %zu "
		    "header fields", max));
	colon = memchr(p, ':', (size_t)(eol - p));
	if (colon == NULL || colon == p)
		return (hh_refuse(status, 400, why, whylen, "a header line "
		    "that is not NAME: VALUE"));
	for (v = p; v < colon; v++)
		if (!hh_tchar((unsigned char)*v))
			return (hh_refuse(status, 400, why, whylen, "a header "
			    "name with a byte outside a token"));
	for (v = colon + 1; v < eol && (*v == ' ' || *v == '\t'); v++)
		;
	for (ve = eol; ve > v && (ve[-1] == ' ' || ve[-1] == '\t'); ve--)
		;
	f->name = p;
	f->nlen = (size_t)(colon - p);
	f->value = v;
	f->vlen = (size_t)(ve - v);
	for (; v < ve; v++)
		if (!hh_vchar((unsigned char)*v))
			return (hh_refuse(status, 400, why, whylen, "a control "
			    "byte in a header value"));
	*pp = eol + 2;
	return (1);
}

int
hh_length(const char *v, size_t n, long long *out)
{
	long long	x = 0;
	size_t		i;

	if (n == 0)
		return (-1);
	for (i = 0; i < n; i++)
		if (v[i] < '0' || v[i] > '9')
			return (-1);
	if (n > HH_MAX_LENGTH_DIGITS)
		return (-2);
	for (i = 0; i < n; i++)
		x = x * 10 + (v[i] - '0');
	*out = x;
	return (0);
}

int
hh_list_has(const char *v, size_t n, const char *name, size_t nlen)
{
	const char	*ve = v + n, *tok;
	size_t		 k;

	while (v < ve) {
		while (v < ve && (*v == ',' || *v == ' ' || *v == '\t'))
			v++;
		tok = v;
		while (v < ve && *v != ',' && *v != ' ' && *v != '\t')
			v++;
		k = (size_t)(v - tok);
		if (k > 0 && k == nlen && strncasecmp(tok, name, k) == 0)
			return (1);
	}
	return (0);
}
