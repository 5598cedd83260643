/*
 * libFuzzer harness for HTTP inside an intercepted tunnel.  The input's
 * first byte chooses how the rest is split; the invariants are the ones
 * a smuggled request would break:
 *
 * - a head taken ends within the input at a blank line, every CR in it
 *   followed by LF and every LF preceded by CR, no NUL in it;
 * - never Content-Length with chunked, never two Content-Lengths, one
 *   Host, no Upgrade; the target starts with '/';
 * - the upstream head is the request line, lines without a bare CR or LF,
 *   one blank line at its end, and ends in "Connection: close";
 * - the body's framing, fed whole or in pieces, ends at the same byte
 *   with the same payload, or is refused both ways;
 * - an answer head taken ends at a blank line within the input, its
 *   status three digits.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "intercept-http.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct ihttp_request	r;

static void
fail(const char *what)
{
	fprintf(stderr, "invariant broken: %s\n", what);
	abort();
}

static int
is(const struct ihttp_header *h, const char *name)
{
	return (h->nlen == strlen(name) &&
	    strncasecmp(h->name, name, h->nlen) == 0);
}

static void
lines(const char *p, size_t n, const char *what)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (p[i] == '\0' ||
		    (p[i] == '\r' && (i + 1 == n || p[i + 1] != '\n')) ||
		    (p[i] == '\n' && (i == 0 || p[i - 1] != '\r')))
			fail(what);
	}
	if (n < 4 || memcmp(p + n - 4, "\r\n\r\n", 4) != 0)
		fail(what);
}

static void
body(const char *buf, size_t size, size_t step)
{
	struct ihttp_body	 a, b;
	char			 da[4096], db[4096], why[256];
	size_t			 la = sizeof(da), lb = 0, n, dl, i;
	long			 ra, rb = 0, k;

	ihttp_body_init(&a, &r);
	ihttp_body_init(&b, &r);
	ra = ihttp_body_feed(&a, buf, size, da, &la, why, sizeof(why));
	if (ra > (long)size)
		fail("body: more than given");
	if (ra >= 0 && ra < (long)size && !a.done)
		fail("body: stopped short without its end");
	for (i = 0; i < size; i += n) {
		n = size - i < step ? size - i : step;
		dl = sizeof(db) - lb;
		k = ihttp_body_feed(&b, buf + i, n, db + lb, &dl, why,
		    sizeof(why));
		if (k == -1) {
			rb = -1;
			break;
		}
		if (k > (long)n || dl > (size_t)k)
			fail("body: piece");
		lb += dl;
		rb += k;
		if (b.done)
			break;
	}
	if ((ra == -1) != (rb == -1))
		fail("body: whole and pieces disagree on refusal");
	if (ra == -1)
		return;
	if (ra != rb || a.done != b.done)
		fail("body: whole and pieces disagree on the end");
	if (la == sizeof(da) || lb == sizeof(db))
		return;		/* copies capped */
	if (la != lb || memcmp(da, db, la) != 0)
		fail("body: payload");
	if (!r.chunked && la != (size_t)ra)
		fail("body: length");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*buf;
	char		 why[256], *up;
	int		 status, ret, nlen = 0, nhost = 0;
	size_t		 i, len, step, hl;

	if (size < 1)
		return (0);
	step = (data[0] & 0x0f) + 1;
	buf = (const char *)data + 1;
	size--;

	if (ihttp_response_parse(buf, size, &status, &hl) == 1) {
		if (hl > size || status < 100 || status > 599)
			fail("answer head");
		lines(buf, hl, "answer head lines");
		if ((up = ihttp_response_head(buf, hl, &len)) == NULL)
			fail("answer head rewrite");
		lines(up, len, "answer head rewritten");
		if (len < 21 || memcmp(up + len - 21, "Connection: close"
		    "\r\n\r\n", 21) != 0)
			fail("answer Connection: close");
		free(up);
	}

	ret = ihttp_request_parse(buf, size, "github.com:443", &r, &status,
	    why, sizeof(why));
	if (ret == -1) {
		if (status != 400 && status != 413 && status != 431 &&
		    status != 501)
			fail("status");
		for (i = 0; why[i] != '\0'; i++)
			if ((unsigned char)why[i] < 0x20)
				fail("reason not one line");
		return (0);
	}
	if (ret == 0)
		return (0);
	if (r.head_len > size)
		fail("head end");
	lines(buf, r.head_len, "head lines");
	if (r.tlen == 0 || r.target[0] != '/' || r.tlen > IHTTP_MAX_TARGET)
		fail("target");
	for (i = 0; i < r.nheaders; i++) {
		const struct ihttp_header *h = &r.headers[i];

		if (is(h, "content-length"))
			nlen++;
		if (is(h, "host"))
			nhost++;
		if (is(h, "upgrade"))
			fail("upgrade taken");
	}
	if (nlen > 1 || nhost != 1 || (r.chunked && nlen > 0))
		fail("framing");
	if (r.chunked ? r.length != -1 : r.length < 0)
		fail("length");

	if ((up = ihttp_upstream_head(&r, "Bearer SECRET", &len)) == NULL)
		fail("upstream head");
	lines(up, len, "upstream head lines");
	if (len < r.tlen || memcmp(up, r.method, strlen(r.method)) != 0 ||
	    memcmp(up + len - 21, "Connection: close\r\n\r\n", 21) != 0)
		fail("upstream head shape");
	if (memmem(up, len, "\r\n\r\n", 4) != up + len - 4)
		fail("upstream head: a blank line inside");
	free(up);

	body(buf + r.head_len, size - r.head_len, step);
	return (0);
}
