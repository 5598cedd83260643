/*
 * libFuzzer harness for secret-rule.h.  The first byte picks what the rest
 * is: a secret value, a secret-repos word, a secret-push-refs word, a
 * request ("METHOD TARGET") or a pushed ref.  The invariants are the ones
 * a token carried elsewhere would break:
 *
 * - a secret that parses has a valid name and 1..SECRET_MAX_HOSTS distinct
 *   hosts, each in the normal form egress_target_parse gives (parsing it
 *   again gives it back) and covered by the rule; one that does not parse
 *   is zeroed and says why;
 * - a request allowed under a list of repositories has an origin-form
 *   path of RFC 3986 path bytes without '%', ';', '\', no empty, "." or
 *   ".." segment but a trailing one, and is an account read by GET or
 *   HEAD or names a listed repository in one of GitHub's two forms;
 * - a pushed ref allowed is one of the patterns or starts with a pattern's
 *   part before its '*', and is a ref git would take;
 * - every message is one line of printable ASCII.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "secret-rule.h"

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
check_rule(const char *s)
{
	struct secret_rule	r;
	struct egress_target	t;
	char			err[512], back[EGRESS_MAX_AUTHORITY + 8];
	size_t			i, j;

	if (secret_rule_parse(s, &r, err, sizeof(err)) == -1) {
		printable(err, 1);
		if (r.nhosts != 0 || r.name[0] != '\0')
			fail("a refused rule not zeroed", s);
		return;
	}
	printable(err, 0);
	if (r.name[0] == '\0' || strlen(r.name) > SECRET_MAX_NAME ||
	    strspn(r.name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") !=
	    strlen(r.name) || (r.name[0] >= '0' && r.name[0] <= '9'))
		fail("a bad name taken", s);
	if (r.nhosts < 1 || r.nhosts > SECRET_MAX_HOSTS)
		fail("host count", s);
	for (i = 0; i < r.nhosts; i++) {
		if (egress_target_parse(r.hosts[i], &t, NULL, 0) == -1)
			fail("a host that does not parse", r.hosts[i]);
		if (t.kind == EGRESS_IPV6)
			snprintf(back, sizeof(back), "[%s]:%u", t.host,
			    (unsigned)t.port);
		else
			snprintf(back, sizeof(back), "%s:%u", t.host,
			    (unsigned)t.port);
		if (strcmp(back, r.hosts[i]) != 0)
			fail("a host not in its normal form", r.hosts[i]);
		if (!secret_rule_covers(&r, r.hosts[i]))
			fail("a host not covered", r.hosts[i]);
		for (j = 0; j < i; j++)
			if (strcmp(r.hosts[i], r.hosts[j]) == 0)
				fail("a duplicate host", r.hosts[i]);
	}
}

static void
check_words(const char *s)
{
	char	 err[512];
	size_t	 len = strlen(s);

	if (secret_repo_check(s, err, sizeof(err)) == -1)
		printable(err, 1);
	else {
		const char *slash = strchr(s, '/');

		if (slash == NULL || strchr(slash + 1, '/') != NULL ||
		    slash == s || slash[1] == '\0' ||
		    (strchr(s, '*') != NULL && strcmp(slash, "/*") != 0) ||
		    (len >= 4 && strcmp(s + len - 4, ".git") == 0) ||
		    strstr(s, "%") != NULL)
			fail("a bad secret-repos word taken", s);
	}
	if (secret_ref_check(s, err, sizeof(err)) == -1)
		printable(err, 1);
	else if (strncmp(s, "refs/", 5) != 0 || strstr(s, "..") != NULL ||
	    strstr(s, "//") != NULL || (strchr(s, '*') != NULL &&
	    strchr(s, '*') != s + len - 1) || strpbrk(s, " ~^:?[\\") != NULL)
		fail("a bad secret-push-refs word taken", s);
}

static char *const	repos[] = { "octo/hello", "Team/*", NULL };
static char *const	refs[] = { "refs/heads/agent/a/*", "refs/tags/v1",
	NULL };

static int
seg_eq(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && strncasecmp(s, word, len) == 0;
}

static void
check_request(const char *s)
{
	const char	*target, *p, *seg[3];
	char		 method[16], why[768];
	size_t		 plen, i, n, slen[3], nseg = 0;

	if ((target = strchr(s, ' ')) == NULL) {
		snprintf(method, sizeof(method), "GET");
		target = s;
	} else {
		snprintf(method, sizeof(method), "%.*s",
		    (int)(target - s) < 15 ? (int)(target - s) : 15, s);
		target++;
	}
	if (secret_scope_request(method, target, NULL, "a", why,
	    sizeof(why)) == 0 && target[0] != '/')
		fail("not origin-form, allowed without a list", target);
	if (secret_scope_request(method, target, repos, "a", why,
	    sizeof(why)) == -1) {
		printable(why, 1);
		if (strstr(why, "[agent \"a\"] secret-repos") == NULL)
			fail("a refusal not naming the key", why);
		return;
	}
	printable(why, 0);
	if (target[0] != '/')
		fail("not origin-form", target);
	p = target;
	plen = strcspn(p, "?");
	for (i = 0; i < plen; i++)
		if (!((p[i] >= 'a' && p[i] <= 'z') ||
		    (p[i] >= 'A' && p[i] <= 'Z') ||
		    (p[i] >= '0' && p[i] <= '9') ||
		    strchr("-._~!$&'()*+,=:@/", p[i]) != NULL))
			fail("a path byte", target);
	if (plen >= 8 && memcmp(p, "/api/v3/", 8) == 0) {
		p += 7;
		plen -= 7;
	}
	for (i = 1; i <= plen; i += n + 1) {
		n = strcspn(p + i, "/?");
		if (i + n > plen)
			n = plen - i;
		if (n == 0 && i + n < plen)
			fail("an empty segment", target);
		if ((n == 1 && p[i] == '.') ||
		    (n == 2 && p[i] == '.' && p[i + 1] == '.'))
			fail("a dot segment", target);
		if (n > 0 && nseg < 3) {
			seg[nseg] = p + i;
			slen[nseg++] = n;
		}
	}
	if (nseg == 0)
		fail("no segment", target);
	if ((slen[0] == 4 && memcmp(seg[0], "user", 4) == 0) ||
	    (plen == 11 && memcmp(p, "/rate_limit", 11) == 0) ||
	    (plen == 5 && memcmp(p, "/meta", 5) == 0) ||
	    (plen == 8 && memcmp(p, "/octocat", 8) == 0) ||
	    (plen == 4 && memcmp(p, "/zen", 4) == 0)) {
		if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
			fail("an account write", s);
		return;
	}
	if (slen[0] == 5 && memcmp(seg[0], "repos", 5) == 0) {
		if (nseg < 3)
			fail("/repos without a repository", target);
		seg[0] = seg[1];
		slen[0] = slen[1];
		seg[1] = seg[2];
		slen[1] = slen[2];
	} else if (nseg < 2)
		fail("no repository", target);
	else if (slen[1] > 4 && memcmp(seg[1] + slen[1] - 4, ".git", 4) == 0)
		slen[1] -= 4;
	if (seg_eq(seg[0], slen[0], "octo") && seg_eq(seg[1], slen[1], "hello"))
		return;
	if (seg_eq(seg[0], slen[0], "team") && slen[1] > 0 &&
	    !seg_eq(seg[1], slen[1], ".") && !seg_eq(seg[1], slen[1], ".."))
		return;
	fail("a repository not listed", target);
}

static void
check_ref(const char *s)
{
	char	err[512];
	size_t	i, n;

	if (secret_scope_ref(s, NULL) != 0)
		fail("a ref refused without a list", s);
	if (secret_scope_ref(s, refs) == -1)
		return;
	if (secret_ref_check(s, err, sizeof(err)) == -1 || strchr(s, '*'))
		fail("a ref git would refuse, allowed", s);
	for (i = 0; refs[i] != NULL; i++) {
		n = strlen(refs[i]);
		if (refs[i][n - 1] == '*' ? strncmp(s, refs[i], n - 1) == 0 :
		    strcmp(s, refs[i]) == 0)
			return;
	}
	fail("a ref matching no pattern", s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*s;

	if (size < 1 || size > 70000)
		return 0;
	if ((s = malloc(size)) == NULL)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (data[0] % 4) {
	case 0:
		check_rule(s);
		break;
	case 1:
		check_words(s);
		break;
	case 2:
		check_request(s);
		break;
	case 3:
		check_ref(s);
		break;
	}
	free(s);
	return 0;
}
