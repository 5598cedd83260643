/*
 * A push's ref-update commands as the egress proxy reads them, and the
 * refusal it answers with (test_receive_pack.py shows real git reading
 * that refusal).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "receive-pack.h"

#define Z40	"0000000000000000000000000000000000000000"
#define A40	"1111111111111111111111111111111111111111"
#define B40	"abcdefABCDEF0123456789abcdef0123456789ab"
#define A64	A40 "111111111111111111111111"
#define B64	B40 "222222222222222222222222"

static struct rp_commands	c;
static char			why[256];

/* The pkt-line of s at out + *o. */
static void
pkt(char *out, size_t *o, const char *s, size_t n)
{
	snprintf(out + *o, 5, "%04zx", n + 4);
	memcpy(out + *o + 4, s, n);
	*o += n + 4;
	out[*o] = '\0';
}

static int
parse(const char *buf, size_t len)
{
	return (rp_commands_parse(buf, len, &c, why, sizeof(why)));
}

/* One first command line (NUL and capabilities written in). */
static int
one(const char *line, size_t n)
{
	char	buf[4096];

	snprintf(buf, 5, "%04zx", n + 4);
	memcpy(buf + 4, line, n);
	memcpy(buf + 4 + n, "0000PACK", 8);
	return (parse(buf, n + 12));
}

static void
test_parse(void)
{
	char		 buf[65536] = "", *big;
	const char	*first = A40 " " B40 " refs/heads/agent/a/x\0report-status "
	    "side-band-64k quiet object-format=sha1 agent=git/2.39\n";
	size_t		 flen = 40 + 1 + 40 + 1 + 20 + 1 + 68, i, len;

	/* git's probe. */
	CHECK(parse("0000", 4) == 1 && c.n == 0 && c.used == 4);
	CHECK(parse("000", 3) == 0);
	CHECK(parse("", 0) == 0);

	/* Commands, capabilities, where the flush is. */
	len = 0;
	pkt(buf, &len, first, flen);
	pkt(buf, &len, Z40 " " B40 " refs/heads/new\n", 40 + 1 + 40 + 16);
	pkt(buf, &len, A40 " " Z40 " refs/tags/old", 40 + 1 + 40 + 14);
	CHECK(parse(buf, len) == 0);
	memcpy(buf + len, "0000PACK\0\0\0\2", 12);
	CHECK(parse(buf, len + 3) == 0);
	CHECK(parse(buf, len + 12) == 1);
	CHECK(c.used == len + 4);
	CHECK(c.n == 3);
	CHECK_STR(c.cmds[0].ref, "refs/heads/agent/a/x");
	CHECK_STR(c.cmds[1].ref, "refs/heads/new");
	CHECK_STR(c.cmds[2].ref, "refs/tags/old");
	CHECK(!c.cmds[0].deletes && !c.cmds[1].deletes && c.cmds[2].deletes);
	CHECK(c.report_status && c.side_band_64k);
	/* Every prefix short of the flush wants more. */
	for (i = 0; i < len + 4; i++)
		CHECK(parse(buf, i) == 0);

	/* Lengths in upper case, as git reads them. */
	CHECK(one(A40 " " B40 " refs/heads/x", 40 + 1 + 40 + 13) == 1);
	len = 0;
	pkt(buf, &len, A40 " " B40 " refs/heads/abcdefghi", 40 + 1 + 40 + 21);
	CHECK(buf[3] == 'a');
	buf[3] = 'A';
	memcpy(buf + len, "0000", 4);
	CHECK(parse(buf, len + 4) == 1 && c.n == 1);

	/* sha256, report-status-v2, no side band. */
	CHECK(one(A64 " " B64 " refs/heads/x\0report-status-v2 "
	    "object-format=sha256\n", 64 + 1 + 64 + 13 + 1 + 38) == 1);
	CHECK(c.report_status && !c.side_band_64k && c.n == 1);
	CHECK(one(A64 " " Z40 "000000000000000000000000 refs/heads/x",
	    64 + 1 + 64 + 13) == 1 && c.cmds[0].deletes);
	/* Only whole capability names count. */
	CHECK(one(A40 " " B40 " refs/heads/x\0report-statusx side-band "
	    "side-band-64kx", 40 + 1 + 40 + 13 + 1 + 39) == 1);
	CHECK(!c.report_status && !c.side_band_64k);
	CHECK(one(A40 " " B40 " refs/heads/x", 40 + 1 + 40 + 13) == 1 &&
	    !c.report_status);

	/* Refused. */
	CHECK(parse("00zz", 4) == -1 && strstr(why, "hex") != NULL);
	CHECK(parse("-001", 4) == -1);
	CHECK(parse("0001", 4) == -1);
	CHECK(parse("0002", 4) == -1);
	CHECK(parse("0003", 4) == -1);
	CHECK(parse("00040000", 8) == -1 && strstr(why, "empty") != NULL);
	CHECK(one("shallow " A40, 48) == -1 && strstr(why, "shallow") !=
	    NULL);
	CHECK(one("push-cert\0report-status", 23) == -1 &&
	    strstr(why, "push-cert") != NULL);
	CHECK(one(A40 " " B64 " refs/heads/x", 40 + 1 + 64 + 13) == -1);
	CHECK(one(A40 " " B40 "  refs/heads/x", 40 + 1 + 40 + 14) == -1);
	CHECK(one(A40 " " B40, 81) == -1);
	CHECK(one(A40 " " B40 " ", 82) == -1);
	CHECK(one("g111111111111111111111111111111111111111 " B40
	    " refs/heads/x", 40 + 1 + 40 + 13) == -1);
	CHECK(one(A40 " " B40 " refs/heads/x\0a\0b", 40 + 1 + 40 + 13 + 4) ==
	    -1);
	/* Refs git would not take, or not under refs/. */
	{
		static const char *const bad[] = { "HEAD", "refs/", "refs",
		    "heads/x", "refs/heads/a..b", "refs/heads/a b",
		    "refs/heads/a~1", "refs/heads/a^", "refs/heads/a:b",
		    "refs/heads/a?", "refs/heads/a*", "refs/heads/a[",
		    "refs/heads/a\\b", "refs/heads/a\tb", "refs/heads/a\x7f",
		    "refs/heads/a@{1}", "refs/heads//a", "refs/heads/a/",
		    "refs/heads/a.", "refs/heads/.a", "refs/heads/a.lock",
		    "refs/heads/a.lock/b", "/refs/heads/a" };
		char	line[256];

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			len = (size_t)snprintf(line, sizeof(line), A40 " " B40
			    " %s", bad[i]);
			if (one(line, len) != -1) {
				fprintf(stderr, "  ref taken: %s\n", bad[i]);
				CHECK(0);
			}
		}
		CHECK(one(A40 " " B40 " refs/heads/agent/a/caf\xc3\xa9",
		    40 + 1 + 40 + 25) == 1);
	}
	/* A NUL in a command that is not the first. */
	len = 0;
	pkt(buf, &len, A40 " " B40 " refs/heads/x\n", 40 + 1 + 40 + 14);
	pkt(buf, &len, A40 " " B40 " refs/heads/y\0x\n", 40 + 1 + 40 + 16);
	memcpy(buf + len, "0000", 4);
	CHECK(parse(buf, len + 4) == -1 && strstr(why, "first") != NULL);

	/* A ref of RP_MAX_REF bytes is taken, one more is not. */
	big = malloc(2 * RP_MAX_REF);
	len = (size_t)snprintf(big, 2 * RP_MAX_REF, A40 " " B40 " refs/");
	memset(big + len, 'r', RP_MAX_REF - 5);
	CHECK(one(big, len + RP_MAX_REF - 5) == 1 &&
	    strlen(c.cmds[0].ref) == RP_MAX_REF);
	big[len + RP_MAX_REF - 5] = 'r';
	CHECK(one(big, len + RP_MAX_REF - 4) == -1);
	free(big);

	/* RP_MAX_COMMANDS. */
	big = malloc(200 * (RP_MAX_COMMANDS + 2));
	len = 0;
	for (i = 0; i < RP_MAX_COMMANDS; i++) {
		char	line[128];
		size_t	n;

		n = (size_t)snprintf(line, sizeof(line), A40 " " B40
		    " refs/heads/b%zu\n", i);
		pkt(big, &len, line, n);
	}
	memcpy(big + len, "0000", 4);
	CHECK(parse(big, len + 4) == 1 && c.n == RP_MAX_COMMANDS);
	pkt(big, &len, A40 " " B40 " refs/heads/one-more\n", 40 + 1 + 40 + 21);
	memcpy(big + len, "0000", 4);
	CHECK(parse(big, len + 4) == -1 && strstr(why, "more than") !=
	    NULL);
	free(big);
}

static void
test_refusal(void)
{
	char	*out;
	size_t	 len;
	char	 want[1024];

	memset(&c, 0, sizeof(c));
	c.n = 2;
	c.report_status = 1;
	strcpy(c.cmds[0].ref, "refs/heads/x");
	strcpy(c.cmds[1].ref, "refs/heads/y");

	out = rp_refusal(&c, "not\nyours\r\x1b!", &len);
	strcpy(want, "000eunpack ok\n"
	    "0021ng refs/heads/x not yours  !\n"
	    "0021ng refs/heads/y not yours  !\n"
	    "0000");
	CHECK(out != NULL && len == strlen(want) && memcmp(out, want, len) ==
	    0);
	free(out);

	/* Inside band 1, then the outer flush. */
	c.side_band_64k = 1;
	out = rp_refusal(&c, "no", &len);
	CHECK(out != NULL && len == 4 + 1 + 14 + 2 * 23 + 4 + 4);
	CHECK(out != NULL && memcmp(out, "0045\1" "000eunpack ok\n"
	    "0017ng refs/heads/x no\n0017ng refs/heads/y no\n00000000", len) ==
	    0);
	free(out);

	/* An empty reason is still one. */
	c.side_band_64k = 0;
	c.n = 1;
	out = rp_refusal(&c, "", &len);
	CHECK(out != NULL && len > 30 && memmem(out, len, "ng refs/heads/x "
	    "refused", 23) != NULL);
	free(out);

	/* Many long refs: band pkts of at most 65520 bytes, all carried. */
	{
		size_t	i, o, n, total = 0;
		int	bands = 0;

		c.n = RP_MAX_COMMANDS;
		c.side_band_64k = 1;
		for (i = 0; i < c.n; i++) {
			memset(c.cmds[i].ref, 'r', RP_MAX_REF);
			memcpy(c.cmds[i].ref, "refs/", 5);
			c.cmds[i].ref[RP_MAX_REF] = '\0';
		}
		out = rp_refusal(&c, "a long reason", &len);
		CHECK(out != NULL);
		for (o = 0; out != NULL && o + 4 <= len; o += n) {
			CHECK(sscanf(out + o, "%4zx", &n) == 1);
			if (n == 0) {
				o += 4;
				break;
			}
			CHECK(n <= 65520 && n > 5 && out[o + 4] == '\1');
			total += n - 5;
			bands++;
		}
		CHECK(o == len);
		CHECK(bands == 5);
		CHECK(total == 14 + c.n * (4 + 3 + RP_MAX_REF + 1 + 13 + 1) +
		    4);
		free(out);
	}
}

/* A refused fetch or push, before it begins: git's ERR line. */
static void
test_err_advertisement(void)
{
	static const char want[] = "001e# service=git-upload-pack\n0000"
	    "000eERR no x y";
	char	*a;
	size_t	 len;

	a = rp_err_advertisement("git-upload-pack", "no x\ny", &len);
	CHECK(a != NULL && len == sizeof(want) - 1 &&
	    memcmp(a, want, len) == 0);
	free(a);
}

int
main(void)
{
	test_parse();
	test_refusal();
	test_err_advertisement();
	return (check_done("receive-pack"));
}
