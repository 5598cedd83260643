/*
 * libFuzzer harness for a push's ref-update commands.  Invariants: what
 * is read is within the input and ends at a flush; each ref is under
 * refs/, at most RP_MAX_REF bytes, without a control byte, space or
 * "..", so that a scope check on it reads what git will update; a longer
 * input with the same start reads the same; and the refusal made of the
 * commands is well-framed pkt-lines ending in a flush.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "receive-pack.h"
#include "util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct rp_commands	c, d;

static void
fail(const char *what)
{
	fprintf(stderr, "invariant broken: %s\n", what);
	abort();
}

/* Walk pkt-lines to a flush; its end, or fail. */
static size_t
framed(const char *p, size_t len)
{
	size_t	o = 0, i;
	unsigned n;
	int	dv;

	for (;;) {
		/* Four hex digits, read here: sscanf would read past them. */
		if (o + 4 > len)
			fail("refusal framing");
		for (i = 0, n = 0; i < 4; i++) {
			if ((dv = hex_value((unsigned char)p[o + i])) < 0)
				fail("refusal framing");
			n = n * 16 + (unsigned)dv;
		}
		if (n == 0)
			return (o + 4);
		if (n < 5 || n > 65520 || o + n > len)
			fail("refusal pkt length");
		o += n;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*buf = (const char *)data;
	char		 why[256], reason[600], *out;
	size_t		 i, j, len;
	int		 ret;

	ret = rp_commands_parse(buf, size, &c, why, sizeof(why));
	if (ret == -1) {
		for (i = 0; why[i] != '\0'; i++)
			if ((unsigned char)why[i] < 0x20)
				fail("reason not one line");
		return (0);
	}
	if (ret == 0)
		return (0);
	if (c.used > size || c.used < 4 || memcmp(buf + c.used - 4, "0000",
	    4) != 0 || c.n > RP_MAX_COMMANDS)
		fail("used");
	for (i = 0; i < c.n; i++) {
		const char *ref = c.cmds[i].ref;

		len = strlen(ref);
		if (len > RP_MAX_REF || strncmp(ref, "refs/", 5) != 0 ||
		    strstr(ref, "..") != NULL)
			fail("ref");
		for (j = 0; j < len; j++)
			if ((unsigned char)ref[j] <= ' ' || ref[j] == 0x7f)
				fail("ref byte");
	}
	/* Only the bytes through the flush matter. */
	if (rp_commands_parse(buf, c.used, &d, why, sizeof(why)) != 1 ||
	    d.n != c.n || d.used != c.used ||
	    memcmp(d.cmds, c.cmds, c.n * sizeof(c.cmds[0])) != 0)
		fail("prefix");

	/* The reason: whatever follows the flush, up to a NUL. */
	len = size - c.used < sizeof(reason) - 1 ? size - c.used :
	    sizeof(reason) - 1;
	memcpy(reason, buf + c.used, len);
	reason[len] = '\0';
	if ((out = rp_refusal(&c, reason, &len)) == NULL)
		fail("refusal");
	/* Plain, or band 1 pkts then the outer flush: framed either way. */
	if (framed(out, len) != len)
		fail("refusal length");
	if (c.side_band_64k && out[4] != '\1')
		fail("band 1");
	free(out);
	return (0);
}
