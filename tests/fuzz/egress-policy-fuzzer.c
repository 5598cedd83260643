/*
 * libFuzzer harness for the egress policy.  The input is LIST|TARGET|ADDR:
 * an egress value, a CONNECT authority, and a resolved address (as text,
 * or else its raw bytes).  The invariants checked are the ones a bypass
 * would break:
 *
 * - a list that parses holds at most EGRESS_MAX_ENTRIES entries, each in
 *   its normal form (lower-case LDH labels, no number as the last label,
 *   an address as inet_ntop writes it, a port), and each entry written
 *   out parses back to itself; a list that does not parse is empty and
 *   says why;
 * - an allowed target matches its entry by a matcher of this file (same
 *   port; the same name, a name strictly below a *.domain, the same
 *   address), and a refused one "not-listed" matches none; a target
 *   holding '@' or '%' is never allowed;
 * - an address that is not public is allowed only when listed with the
 *   target's port, and an IP-literal target only at itself; an IPv6
 *   address carrying an IPv4 one is classed as that IPv4 address;
 * - every reason is one line of printable ASCII.
 */
#include <sys/socket.h>

#include <arpa/inet.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "egress-policy.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fail(const char *what, const char *text)
{
	fprintf(stderr, "invariant broken: %s: \"%s\"\n", what, text);
	abort();
}

static void
printable(const char *s, int nonempty)
{
	const char	*c;

	if (nonempty && s[0] == '\0')
		fail("an empty message", s);
	for (c = s; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			fail("a control or non-ASCII byte in a message", s);
}

static void
normal_name(const char *h)
{
	size_t	n = strlen(h), i, label = 0, start = 0;
	int	digits = 1;

	if (n == 0 || n > EGRESS_MAX_NAME || h[0] == '.' || h[n - 1] == '.')
		fail("a name out of its normal form", h);
	for (i = 0; i <= n; i++) {
		if (i == n || h[i] == '.') {
			if (label == 0 || label > 63 || h[start] == '-' ||
			    h[i - 1] == '-')
				fail("a bad label", h);
			label = 0;
			start = i + 1;
			continue;
		}
		if (!((h[i] >= 'a' && h[i] <= 'z') ||
		    (h[i] >= '0' && h[i] <= '9') || h[i] == '-'))
			fail("a byte outside lower-case LDH", h);
		label++;
	}
	for (i = n; i > 0 && h[i - 1] != '.'; i--)
		if (h[i - 1] < '0' || h[i - 1] > '9')
			digits = 0;
	if (digits || (h[i] == '0' && h[i + 1] == 'x' &&
	    strspn(h + i + 2, "0123456789abcdef") == n - i - 2))
		fail("a name ending in a number", h);
}

static void
check_entry(const struct egress_entry *e)
{
	struct egress_list	*l;
	char			 text[EGRESS_MAX_NAME + 16], err[512];
	char			 ntop[INET6_ADDRSTRLEN];

	if (e->port == 0)
		fail("port 0", e->host);
	switch (e->kind) {
	case EGRESS_NAME:
	case EGRESS_SUFFIX:
		normal_name(e->host);
		break;
	case EGRESS_IPV4:
		inet_ntop(AF_INET, &e->v4, ntop, sizeof(ntop));
		if (strcmp(ntop, e->host) != 0)
			fail("an IPv4 entry not as inet_ntop writes it", e->host);
		break;
	case EGRESS_IPV6:
		inet_ntop(AF_INET6, &e->v6, ntop, sizeof(ntop));
		if (strcmp(ntop, e->host) != 0)
			fail("an IPv6 entry not as inet_ntop writes it", e->host);
		break;
	default:
		fail("an unknown kind", e->host);
	}
	egress_entry_format(e, text, sizeof(text));
	if ((l = malloc(sizeof(*l))) == NULL)
		return;
	if (egress_list_parse(l, text, err, sizeof(err)) != 0 || l->n != 1 ||
	    l->entries[0].kind != e->kind || l->entries[0].port != e->port ||
	    strcmp(l->entries[0].host, e->host) != 0)
		fail("an entry written out does not parse back", text);
	free(l);
}

/* The match, written again: which entries allow t. */
static int
matches(const struct egress_entry *e, const struct egress_target *t)
{
	size_t	n = strlen(t->host), d = strlen(e->host);

	if (e->port != t->port)
		return 0;
	switch (e->kind) {
	case EGRESS_NAME:
		return t->kind == EGRESS_NAME && strcmp(e->host, t->host) == 0;
	case EGRESS_SUFFIX:
		return t->kind == EGRESS_NAME && n > d + 1 &&
		    t->host[n - d - 1] == '.' &&
		    strcmp(t->host + n - d, e->host) == 0;
	case EGRESS_IPV4:
		return t->kind == EGRESS_IPV4 &&
		    memcmp(&e->v4, &t->v4, sizeof(e->v4)) == 0;
	case EGRESS_IPV6:
		return t->kind == EGRESS_IPV6 &&
		    memcmp(&e->v6, &t->v6, sizeof(e->v6)) == 0;
	}
	return 0;
}

static int
listed_address(const struct egress_list *l, int af, const void *a,
    uint16_t port)
{
	size_t	i;

	for (i = 0; i < l->n; i++) {
		const struct egress_entry *e = &l->entries[i];

		if (e->port != port)
			continue;
		if (af == AF_INET && e->kind == EGRESS_IPV4 &&
		    memcmp(&e->v4, a, 4) == 0)
			return 1;
		if (af == AF_INET6 && e->kind == EGRESS_IPV6 &&
		    memcmp(&e->v6, a, 16) == 0)
			return 1;
	}
	return 0;
}

static void
check_classes(const struct in6_addr *a6)
{
	struct in6_addr	m;
	struct in_addr	a4;

	/* The same IPv4 address, alone and mapped, is one class. */
	memcpy(&a4, a6->s6_addr + 12, 4);
	memset(&m, 0, sizeof(m));
	m.s6_addr[10] = m.s6_addr[11] = 0xff;
	memcpy(m.s6_addr + 12, &a4, 4);
	if (egress_classify(AF_INET, &a4) != egress_classify(AF_INET6, &m))
		fail("a mapped address classed apart from its IPv4 one", "");
	printable(egress_class_name(egress_classify(AF_INET6, a6)), 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct egress_list	*l;
	struct egress_decision	 d;
	struct egress_target	 t, t2;
	struct in6_addr		 a6;
	struct in_addr		 a4;
	const char		*bar1, *bar2;
	char			*in, err[512], text[EGRESS_MAX_NAME + 16];
	char			 addr[64];
	size_t			 i, alen;
	int			 r, af, found;

	if (size > 8192)
		return 0;
	if ((in = malloc(size + 1)) == NULL)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	if ((l = malloc(sizeof(*l))) == NULL) {
		free(in);
		return 0;
	}

	/* LIST|TARGET|ADDR; a missing part is empty. */
	bar1 = strchr(in, '|');
	bar2 = bar1 != NULL ? strchr(bar1 + 1, '|') : NULL;
	if (bar1 != NULL)
		in[bar1 - in] = '\0';
	if (bar2 != NULL)
		in[bar2 - in] = '\0';

	r = egress_list_parse(l, in, err, sizeof(err));
	if (r != 0) {
		if (l->n != 0)
			fail("a refused list is not empty", in);
		printable(err, 1);
	} else {
		if (l->n > EGRESS_MAX_ENTRIES)
			fail("too many entries", in);
		for (i = 0; i < l->n; i++)
			check_entry(&l->entries[i]);
	}

	if (bar1 == NULL)
		goto out;
	r = egress_check_target(l, "fuzz", bar1 + 1, &t, &d);
	printable(d.reason, 1);
	if ((r == 0) != (d.allowed != 0))
		fail("return value and decision disagree", bar1 + 1);
	found = 0;
	for (i = 0; i < l->n; i++)
		found |= matches(&l->entries[i], &t);
	if (r == 0) {
		if (d.entry < l->entries || d.entry >= l->entries + l->n ||
		    !matches(d.entry, &t))
			fail("allowed by an entry that does not match",
			    bar1 + 1);
		if (strchr(bar1 + 1, '@') != NULL ||
		    strchr(bar1 + 1, '%') != NULL)
			fail("userinfo or a zone id allowed", bar1 + 1);
		if (t.kind == EGRESS_NAME)
			normal_name(t.host);
		/* The normal form is a fixpoint. */
		snprintf(text, sizeof(text), t.kind == EGRESS_IPV6 ?
		    "[%s]:%u" : "%s:%u", t.host, (unsigned)t.port);
		if (egress_target_parse(text, &t2, err, sizeof(err)) != 0 ||
		    t2.kind != t.kind || t2.port != t.port ||
		    strcmp(t2.host, t.host) != 0)
			fail("a normal target does not parse to itself", text);
	} else {
		if (d.rule == NULL || d.entry != NULL)
			fail("a refusal without a rule", bar1 + 1);
		if (strcmp(d.rule, "not-listed") == 0 && found)
			fail("refused though an entry matches", bar1 + 1);
		goto out;
	}

	if (bar2 == NULL)
		goto out;
	/* The address as text, or else its first bytes. */
	alen = strlen(bar2 + 1);
	memset(&a6, 0, sizeof(a6));
	memset(&a4, 0, sizeof(a4));
	snprintf(addr, sizeof(addr), "%s", bar2 + 1);
	if (inet_pton(AF_INET, addr, &a4) == 1)
		af = AF_INET;
	else if (inet_pton(AF_INET6, addr, &a6) == 1)
		af = AF_INET6;
	else if (alen <= 4) {
		memcpy(&a4, bar2 + 1, alen);
		af = AF_INET;
	} else {
		memcpy(&a6, bar2 + 1, alen < 16 ? alen : 16);
		af = AF_INET6;
	}
	check_classes(&a6);
	r = egress_check_address(l, "fuzz", &t, af,
	    af == AF_INET ? (void *)&a4 : (void *)&a6, &d);
	printable(d.reason, 1);
	if ((r == 0) != (d.allowed != 0))
		fail("return value and decision disagree", addr);
	if (r == 0) {
		const void	*a = af == AF_INET ? (void *)&a4 : (void *)&a6;

		if (egress_classify(af, a) != EGRESS_PUBLIC &&
		    !listed_address(l, af, a, t.port))
			fail("a non-public address allowed unlisted", addr);
		if (t.kind == EGRESS_IPV4 && (af != AF_INET ||
		    memcmp(&t.v4, &a4, 4) != 0))
			fail("an IPv4 literal allowed elsewhere", addr);
		if (t.kind == EGRESS_IPV6 && (af != AF_INET6 ||
		    memcmp(&t.v6, &a6, 16) != 0))
			fail("an IPv6 literal allowed elsewhere", addr);
	} else if (d.rule == NULL)
		fail("a refusal without a rule", addr);
out:
	free(l);
	free(in);
	return 0;
}
