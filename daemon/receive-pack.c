/*
 * The ref-update commands of a receive-pack request, and git's refusal:
 * see receive-pack.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "message.h"
#include "receive-pack.h"
#include "util.h"

/* git's LARGE_PACKET_MAX: a pkt-line, its 4 length bytes included. */
#define RP_MAX_PKT		65520
/* What one side-band pkt carries: less the length and the band byte. */
#define RP_MAX_BAND_DATA	(RP_MAX_PKT - 5)
/* A reason said back to git, one line. */
#define RP_MAX_REASON		512

/* The length of an object name at p (40 or 64 hex digits), or 0. */
static size_t
oid_len(const char *p, size_t n)
{
	size_t	i;

	for (i = 0; i < n && i < 64 && hex_value((unsigned char)p[i]) != -1;
	    i++)
		;
	return (i == 40 || i == 64 ? i : 0);
}

/*
 * A refname as git's check_refname_format takes it, and under refs/: no
 * control byte, space, ~^:?*[\, "..", "@{", "//", no component starting
 * with '.' or ending in ".lock", not ending in '/' or '.'.
 */
static int
ref_ok(const char *r, size_t n)
{
	size_t	i, start = 0;

	if (n <= 5 || n > RP_MAX_REF || strncmp(r, "refs/", 5) != 0)
		return (0);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)r[i];

		if (c < 0x20 || c == 0x7f || strchr(" ~^:?*[\\", c) != NULL)
			return (0);
		if (i + 1 < n && ((c == '.' && r[i + 1] == '.') ||
		    (c == '@' && r[i + 1] == '{') ||
		    (c == '/' && r[i + 1] == '/')))
			return (0);
		if (c == '/' || i + 1 == n) {
			size_t	end = c == '/' ? i : n;

			if (end == start || r[start] == '.' ||
			    (end - start >= 5 &&
			    memcmp(r + end - 5, ".lock", 5) == 0))
				return (0);
			start = i + 1;
		}
	}
	return (r[n - 1] != '/' && r[n - 1] != '.');
}

/* The capabilities after the first command's NUL. */
static void
capabilities(const char *p, size_t n, struct rp_commands *c)
{
	const char	*e = p + n, *tok;
	size_t		 k;

	while (p < e) {
		while (p < e && *p == ' ')
			p++;
		tok = p;
		while (p < e && *p != ' ')
			p++;
		/* A NAME=VALUE is NAME to git's parse_feature_request. */
		for (k = 0; tok + k < p && tok[k] != '='; k++)
			;
		if ((k == 13 && memcmp(tok, "report-status", 13) == 0) ||
		    (k == 16 && memcmp(tok, "report-status-v2", 16) == 0))
			c->report_status = 1;
		else if (k == 13 && memcmp(tok, "side-band-64k", 13) == 0)
			c->side_band_64k = 1;
	}
}

/* One command's payload (its LF gone): OLD SP NEW SP REF [NUL CAPS]. */
static int
command(const char *p, size_t n, int first, struct rp_commands *c,
    char *why, size_t whylen)
{
	struct rp_command	*cmd;
	const char		*nul, *ref;
	size_t			 ol, nl, rlen, i;

	if ((n >= 7 && memcmp(p, "shallow", 7) == 0))
		return (msg_fail(why, whylen, "a push from a shallow clone "
		    "(\"shallow\" lines) is not taken here"));
	if (n >= 9 && memcmp(p, "push-cert", 9) == 0)
		return (msg_fail(why, whylen, "a signed push (\"push-cert\") "
		    "is not taken here"));
	if (c->n == RP_MAX_COMMANDS)
		return (msg_fail(why, whylen, "more than %d ref updates in one "
		    "push", RP_MAX_COMMANDS));
	nul = memchr(p, '\0', n);
	if (nul != NULL) {
		if (!first)
			return (msg_fail(why, whylen, "capabilities after the "
			    "first command"));
		if (memchr(nul + 1, '\0', (size_t)(p + n - nul - 1)) != NULL)
			return (msg_fail(why, whylen, "a NUL among the "
			    "capabilities"));
		capabilities(nul + 1, (size_t)(p + n - nul - 1), c);
		n = (size_t)(nul - p);
	}
	ol = oid_len(p, n);
	if (ol == 0 || ol >= n || p[ol] != ' ')
		return (msg_fail(why, whylen,
		    "a command that is not OLD NEW REF"));
	nl = oid_len(p + ol + 1, n - ol - 1);
	if (nl != ol || ol + 1 + nl >= n || p[ol + 1 + nl] != ' ')
		return (msg_fail(why, whylen,
		    "a command that is not OLD NEW REF"));
	ref = p + ol + 1 + nl + 1;
	rlen = n - (size_t)(ref - p);
	if (!ref_ok(ref, rlen))
		return (msg_fail(why, whylen, "a ref that git would not take, "
		    "or not under refs/"));
	cmd = &c->cmds[c->n++];
	memcpy(cmd->ref, ref, rlen);
	cmd->ref[rlen] = '\0';
	cmd->deletes = 1;
	for (i = 0; i < nl; i++)
		if (p[ol + 1 + i] != '0')
			cmd->deletes = 0;
	return (0);
}

int
rp_commands_parse(const char *buf, size_t len, struct rp_commands *c,
    char *why, size_t whylen)
{
	size_t	pos = 0, n, i;
	int	d;

	memset(c, 0, sizeof(*c));
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	for (;;) {
		if (len - pos < 4)
			return (0);
		for (n = 0, i = 0; i < 4; i++) {
			if ((d = hex_value((unsigned char)buf[pos + i])) == -1)
				return (msg_fail(why, whylen, "a pkt-line "
				    "length that is not 4 hex digits"));
			n = n * 16 + (size_t)d;
		}
		if (n == 0) {
			c->used = pos + 4;
			return (1);
		}
		if (n < 4)
			return (msg_fail(why, whylen, "a pkt-line of length "
			    "%zu among the commands", n));
		if (n == 4)
			return (msg_fail(why, whylen, "an empty pkt-line among "
			    "the commands"));
		if (len - pos < n)
			return (0);
		i = n - 4;
		if (buf[pos + 4 + i - 1] == '\n')
			i--;
		if (command(buf + pos + 4, i, c->n == 0, c, why,
		    whylen) == -1)
			return (-1);
		pos += n;
	}
}

/* A pkt-line of s (n bytes) at out + *o. */
static void
pkt(char *out, size_t *o, const char *s, size_t n)
{
	snprintf(out + *o, 5, "%04zx", n + 4);
	memcpy(out + *o + 4, s, n);
	*o += n + 4;
}

char *
rp_refusal(const struct rp_commands *c, const char *reason, size_t *len)
{
	char	 line[RP_MAX_REF + RP_MAX_REASON + 8], why[RP_MAX_REASON + 1];
	char	*report, *out;
	size_t	 i, n, o = 0, ro = 0, size;

	/* One line, printable, never empty. */
	if (reason == NULL || *reason == '\0')
		reason = "refused by the egress proxy";
	for (i = 0; reason[i] != '\0' && i < RP_MAX_REASON; i++) {
		unsigned char ch = (unsigned char)reason[i];

		why[i] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
	}
	why[i] = '\0';

	size = 4 + 10 + c->n * (4 + sizeof(line)) + 4;
	if ((report = malloc(size)) == NULL)
		return (NULL);
	pkt(report, &ro, "unpack ok\n", 10);
	for (i = 0; i < c->n; i++) {
		n = (size_t)snprintf(line, sizeof(line), "ng %s %s\n",
		    c->cmds[i].ref, why);
		if (n >= sizeof(line))
			n = sizeof(line) - 1;
		pkt(report, &ro, line, n);
	}
	memcpy(report + ro, "0000", 4);
	ro += 4;
	if (!c->side_band_64k) {
		*len = ro;
		return (report);
	}

	/* The report, as git's receive-pack sends it, inside band 1. */
	size = ro + (ro / RP_MAX_BAND_DATA + 1) * 5 + 4;
	if ((out = malloc(size)) == NULL) {
		free(report);
		return (NULL);
	}
	for (i = 0; i < ro; i += n) {
		n = ro - i < RP_MAX_BAND_DATA ? ro - i : RP_MAX_BAND_DATA;
		snprintf(out + o, 5, "%04zx", n + 5);
		out[o + 4] = '\1';
		memcpy(out + o + 5, report + i, n);
		o += n + 5;
	}
	memcpy(out + o, "0000", 4);
	o += 4;
	free(report);
	*len = o;
	return (out);
}

char *
rp_err_advertisement(const char *service, const char *reason, size_t *len)
{
	char	 line[RP_MAX_REASON + 8], *out;
	size_t	 i, n, o = 0, size;

	if (reason == NULL || *reason == '\0')
		reason = "refused by the egress proxy";
	n = (size_t)snprintf(line, sizeof(line), "ERR ");
	for (i = 0; reason[i] != '\0' && i < RP_MAX_REASON; i++) {
		unsigned char ch = (unsigned char)reason[i];

		line[n++] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
	}
	size = 4 + strlen(service) + 12 + 4 + 4 + n + 1;
	if ((out = malloc(size)) == NULL)
		return (NULL);
	o = (size_t)snprintf(out, size, "%04zx# service=%s\n",
	    4 + strlen("# service=\n") + strlen(service), service);
	memcpy(out + o, "0000", 4);
	o += 4;
	pkt(out, &o, line, n);
	*len = o;
	return (out);
}
