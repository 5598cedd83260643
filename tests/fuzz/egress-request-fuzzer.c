/*
 * libFuzzer harness for the egress proxy's request head.  The invariants
 * are the ones a smuggled request would break:
 *
 * - a head taken ends within the input, at a blank line, and every CR in
 *   it is followed by LF and every LF preceded by CR;
 * - a CONNECT taken has no Content-Length and no Transfer-Encoding; no
 *   request taken has Transfer-Encoding or two Content-Lengths;
 * - an absolute-form request taken has exactly one Host, and its
 *   authority, as the policy parses it, is the Host's with the port
 *   written in; its path starts with '/' or '?' or is empty;
 * - header names are tokens and values hold no control byte, so a head
 *   written upstream from them cannot gain a line;
 * - a refusal has a status of 400, 431 or 501 and a printable reason.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "egress-request.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fail(const char *what)
{
	fprintf(stderr, "invariant broken: %s\n", what);
	abort();
}

static int
is(const struct egress_header *h, const char *name)
{
	return (h->nlen == strlen(name) &&
	    strncasecmp(h->name, name, h->nlen) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct egress_request	 r;
	const char		*buf = (const char *)data;
	char			 why[256];
	int			 status, ret, nhost = 0, nlen = 0;
	size_t			 i, j;

	ret = egress_request_parse(buf, size, &r, &status, why, sizeof(why));
	if (ret == -1) {
		if (status != 400 && status != 431 && status != 501)
			fail("status");
		for (i = 0; why[i] != '\0'; i++)
			if ((unsigned char)why[i] < 0x20)
				fail("reason not one line");
		return (0);
	}
	if (ret == 0)
		return (0);
	if (r.head_len > size || r.head_len < 4 ||
	    memcmp(buf + r.head_len - 4, "\r\n\r\n", 4) != 0)
		fail("head end");
	for (i = 0; i < r.head_len; i++) {
		if (buf[i] == '\r' && buf[i + 1] != '\n')
			fail("bare CR");
		if (buf[i] == '\n' && (i == 0 || buf[i - 1] != '\r'))
			fail("bare LF");
	}
	for (i = 0; i < r.nheaders; i++) {
		const struct egress_header *h = &r.headers[i];

		for (j = 0; j < h->nlen; j++)
			if ((unsigned char)h->name[j] <= ' ' ||
			    h->name[j] == ':' || (unsigned char)h->name[j] >= 0x7f)
				fail("header name");
		for (j = 0; j < h->vlen; j++)
			if (((unsigned char)h->value[j] < 0x20 &&
			    h->value[j] != '\t') || h->value[j] == 0x7f)
				fail("header value");
		if (is(h, "transfer-encoding"))
			fail("transfer-encoding taken");
		if (is(h, "content-length"))
			nlen++;
		if (is(h, "host"))
			nhost++;
	}
	if (nlen > 1)
		fail("two content-lengths");
	if (r.connect && (nlen > 0 || r.length != 0))
		fail("a CONNECT with a body");
	if (!r.connect) {
		if (nhost != 1)
			fail("host count");
		if (strchr(r.authority, ':') == NULL)
			fail("no port written in");
		if (r.plen > 0 && r.path[0] != '/' && r.path[0] != '?')
			fail("path");
		if (memchr(r.authority, '@', strlen(r.authority)) != NULL)
			fail("userinfo");
	}
	return (0);
}
