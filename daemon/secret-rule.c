/*
 * An agent's secrets and their scope: see secret-rule.h.  Hosts are read
 * by egress-policy.c's parser (egress_target_parse), so that a secret's
 * host and the CONNECT that reaches it are normalised by one set of rules.
 *
 * The scope of a request is read conservatively: anything a server, a
 * proxy in front of it, or a framework might read as another repository
 * than the one matched here (encodings, dot segments, doubled slashes,
 * parameters, case variants of the API's own words) is refused rather
 * than interpreted.
 */
#include <string.h>
#include <strings.h>

#include "message.h"
#include "secret-rule.h"

#define BLANKS		" \t\r\n\v\f"
/* A secret value: at most SECRET_MAX_HOSTS hosts, however often repeated. */
#define SECRET_MAX_VALUE	65536
/* OWNER and REPO of a secret-repos word (GitHub's own limit is 100). */
#define SECRET_MAX_PART		100
/* A secret-push-refs word. */
#define SECRET_MAX_REF		1024
/* A request target; longer is refused without reading it. */
#define SECRET_MAX_TARGET	16384

static int
name_ok(const char *s, size_t len)
{
	size_t	i;

	if (len == 0 || len > SECRET_MAX_NAME)
		return 0;
	for (i = 0; i < len; i++) {
		if ((s[i] >= 'A' && s[i] <= 'Z') || s[i] == '_')
			continue;
		if (i > 0 && s[i] >= '0' && s[i] <= '9')
			continue;
		return 0;
	}
	return 1;
}

/* host:port as egress_check_target's reason writes it. */
static void
target_format(const struct egress_target *t, char *buf, size_t len)
{
	if (t->kind == EGRESS_IPV6)
		msg_say(buf, len, "[%s]:%u", t->host, (unsigned)t->port);
	else
		msg_say(buf, len, "%s:%u", t->host, (unsigned)t->port);
}

/*
 * One HOST[:PORT] word into its normalised "host:port"; a word without a
 * port (no ':' outside brackets) gets 443.
 */
static int
host_parse(const char *s, size_t len, char *out, size_t outlen, char *err,
    size_t errlen)
{
	struct egress_target	 t;
	const char		*colon, *close, *why;
	char			 buf[EGRESS_MAX_AUTHORITY + 8], perr[512];
	size_t			 need;

	if (len > EGRESS_MAX_AUTHORITY) {
		msg_say(err, errlen, "it is longer than any host:port");
		return -1;
	}
	if (s[0] == '[') {
		close = memchr(s, ']', len);
		colon = close != NULL && close + 1 < s + len ? close + 1 : NULL;
	} else
		colon = memchr(s, ':', len);
	need = len + (colon == NULL ? 4 : 0);
	if (need >= sizeof(buf)) {
		msg_say(err, errlen, "it is longer than any host:port");
		return -1;
	}
	memcpy(buf, s, len);
	if (colon == NULL)
		memcpy(buf + len, ":443", 4);
	buf[need] = '\0';
	if (egress_target_parse(buf, &t, perr, sizeof(perr)) == -1) {
		/* Its message quotes buf; only the reason is wanted. */
		why = strstr(perr, " is refused: ");
		msg_say(err, errlen, "%s", why != NULL ? why + 13 : perr);
		return -1;
	}
	target_format(&t, out, outlen);
	return 0;
}

int
secret_rule_parse(const char *value, struct secret_rule *r, char *err,
    size_t errlen)
{
	const char	*s, *end, *v;
	char		 q[128], host[EGRESS_MAX_AUTHORITY + 1], why[384];
	size_t		 len, i;
	int		 first = 1;

	memset(r, 0, sizeof(*r));
	msg_say(err, errlen, "%s", "");
	if (value == NULL)
		value = "";
	len = strnlen(value, SECRET_MAX_VALUE + 1);
	if (len > SECRET_MAX_VALUE) {
		msg_say(err, errlen, "secret: the value is longer than %d "
		    "bytes", SECRET_MAX_VALUE);
		return -1;
	}
	v = value;
	for (s = v; s < v + len; s = end) {
		while (s < v + len && strchr(BLANKS, *s) != NULL)
			s++;
		if (s == v + len)
			break;
		for (end = s; end < v + len && strchr(BLANKS, *end) == NULL;
		    end++)
			;
		msg_quote(q, sizeof(q), s, (size_t)(end - s));
		if (first) {
			if (!name_ok(s, (size_t)(end - s))) {
				msg_say(err, errlen, "secret name %s: an "
				    "environment variable's name, "
				    "[A-Z_][A-Z0-9_]*, at most %d bytes, then "
				    "the hosts it is for", q, SECRET_MAX_NAME);
				goto fail;
			}
			memcpy(r->name, s, (size_t)(end - s));
			r->name[end - s] = '\0';
			first = 0;
			continue;
		}
		if (host_parse(s, (size_t)(end - s), host, sizeof(host), why,
		    sizeof(why)) == -1) {
			msg_say(err, errlen, "secret %s: host %s: %s", r->name,
			    q, why);
			goto fail;
		}
		for (i = 0; i < r->nhosts; i++)
			if (strcmp(r->hosts[i], host) == 0)
				break;
		if (i < r->nhosts)
			continue;
		if (r->nhosts == SECRET_MAX_HOSTS) {
			msg_say(err, errlen, "secret %s: host %s: more than %d "
			    "hosts", r->name, q, SECRET_MAX_HOSTS);
			goto fail;
		}
		memcpy(r->hosts[r->nhosts++], host, sizeof(host));
	}
	if (first) {
		msg_say(err, errlen, "secret: empty; write \"NAME HOST ...\", "
		    "the env-file's variable and the hosts it is for");
		goto fail;
	}
	if (r->nhosts == 0) {
		msg_say(err, errlen, "secret %s: no host; write \"%s HOST "
		    "...\", the hosts it is for (github.com api.github.com)",
		    r->name, r->name);
		goto fail;
	}
	return 0;
fail:
	memset(r, 0, sizeof(*r));
	return -1;
}

/* [A-Za-z0-9._-]+, not "." or "..": an OWNER or a REPO. */
static const char *
part_bad(const char *s, size_t len)
{
	size_t	i;

	if (len == 0)
		return "is empty";
	if (len > SECRET_MAX_PART)
		return "is longer than 100 bytes";
	if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' &&
	    s[1] == '.'))
		return "is \".\" or \"..\"";
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return "holds a byte other than letters, digits, "
			    "'.', '_' and '-'";
	return NULL;
}

static int
ends_with(const char *s, size_t len, const char *suffix)
{
	size_t	n = strlen(suffix);

	return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

int
secret_repo_check(const char *word, char *err, size_t errlen)
{
	const char	*slash, *why;
	char		 q[128];
	size_t		 len, olen, rlen;

	if (word == NULL)
		word = "";
	len = strnlen(word, 2 * SECRET_MAX_PART + 2);
	msg_quote(q, sizeof(q), word, len);
	if ((slash = memchr(word, '/', len)) == NULL) {
		msg_say(err, errlen, "secret-repos entry %s: write OWNER/REPO, "
		    "or OWNER/* for all of an owner's repositories", q);
		return -1;
	}
	olen = (size_t)(slash - word);
	rlen = len - olen - 1;
	if ((why = part_bad(word, olen)) != NULL) {
		msg_say(err, errlen, "secret-repos entry %s: the owner %s", q,
		    why);
		return -1;
	}
	if (rlen == 1 && slash[1] == '*')
		return 0;
	if (memchr(slash + 1, '/', rlen) != NULL) {
		msg_say(err, errlen, "secret-repos entry %s: write OWNER/REPO, "
		    "one '/'", q);
		return -1;
	}
	if ((why = part_bad(slash + 1, rlen)) != NULL) {
		msg_say(err, errlen, "secret-repos entry %s: the repository "
		    "%s%s", q, why, memchr(slash + 1, '*', rlen) != NULL ?
		    " ('*' only alone, OWNER/*)" : "");
		return -1;
	}
	if (ends_with(slash + 1, rlen, ".git")) {
		msg_say(err, errlen, "secret-repos entry %s: name the "
		    "repository without \".git\"", q);
		return -1;
	}
	return 0;
}

/*
 * git check-ref-format's rules, and '*' only as the last byte (allow_star),
 * for a pattern.  NULL if good, else why.
 */
static const char *
ref_bad(const char *s, size_t len, int allow_star)
{
	const char	*c, *end = s + len, *comp = s;
	size_t		 clen;
	int		 star = 0;

	if (len > SECRET_MAX_REF)
		return "it is longer than 1024 bytes";
	if (len < 5 || memcmp(s, "refs/", 5) != 0)
		return "it does not start with refs/";
	if (allow_star && s[len - 1] == '*') {
		star = 1;
		end--;
	}
	for (c = s; c < end; c++) {
		unsigned char	u = (unsigned char)*c;

		if (u < 0x20 || u == 0x7f)
			return "it holds a control byte";
		if (*c == '*')
			return allow_star ? "'*' may only be the last byte" :
			    "it holds '*'";
		if (strchr(" ~^:?[\\", *c) != NULL)
			return "it holds one of space ~ ^ : ? [ \\";
		if (*c == '.' && c + 1 < end && c[1] == '.')
			return "it holds \"..\"";
		if (*c == '@' && c + 1 < end && c[1] == '{')
			return "it holds \"@{\"";
		if (*c == '/' && c + 1 < end && c[1] == '/')
			return "it holds \"//\"";
	}
	/* Each component: no leading '.', no trailing ".lock". */
	for (c = s; c <= end; c++) {
		if (c < end && *c != '/')
			continue;
		clen = (size_t)(c - comp);
		if (clen > 0 && comp[0] == '.')
			return "a component starts with '.'";
		if (c < end || !star)
			if (ends_with(comp, clen, ".lock"))
				return "a component ends with \".lock\"";
		comp = c + 1;
	}
	if (!star) {
		if (s[len - 1] == '/')
			return "it ends with '/'";
		if (s[len - 1] == '.')
			return "it ends with '.'";
	}
	return NULL;
}

int
secret_ref_check(const char *word, char *err, size_t errlen)
{
	const char	*why;
	char		 q[128];
	size_t		 len;

	if (word == NULL)
		word = "";
	len = strnlen(word, SECRET_MAX_REF + 1);
	if ((why = ref_bad(word, len, 1)) == NULL)
		return 0;
	msg_quote(q, sizeof(q), word, len);
	msg_say(err, errlen, "secret-push-refs entry %s: %s (a ref as git "
	    "check-ref-format takes it, with '*' only at the end: "
	    "refs/heads/agent/NAME/*)", q, why);
	return -1;
}

int
secret_rule_covers(const struct secret_rule *r, const char *authority)
{
	struct egress_target	t;
	char			norm[EGRESS_MAX_AUTHORITY + 8];
	size_t			i;

	if (r == NULL || authority == NULL ||
	    egress_target_parse(authority, &t, NULL, 0) == -1)
		return 0;
	target_format(&t, norm, sizeof(norm));
	for (i = 0; i < r->nhosts && i < SECRET_MAX_HOSTS; i++)
		if (strcmp(r->hosts[i], norm) == 0)
			return 1;
	return 0;
}

/*
 * What GitHub's API (and its web) answers at the top level: a first
 * segment naming one of these is never an owner, whatever the case.
 */
static const char *const reserved[] = {
	"admin", "api", "app", "applications", "apps", "authorizations",
	"enterprises", "events", "feeds", "gists", "graphql", "installation",
	"issues", "licenses", "login", "markdown", "marketplace_listing",
	"meta", "networks", "notifications", "octocat", "organizations",
	"orgs", "projects", "rate_limit", "repos", "repositories", "search",
	"settings", "setup", "teams", "user", "users", "zen", NULL
};

static int
seg_exact(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && memcmp(s, word, len) == 0;
}

static int
seg_is(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && strncasecmp(s, word, len) == 0;
}

/* pchar of RFC 3986 without '%' and ';', and '/'. */
static int
path_byte_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' &&
	    strchr("-._~!$&'()*+,=:@/", c) != NULL);
}

static int
part_ok(const char *s, size_t len)
{
	return part_bad(s, len) == NULL;
}

/* Whether repos allows OWNER/REPO (compared without case). */
static int
repo_listed(char *const *repos, const char *o, size_t olen, const char *r,
    size_t rlen)
{
	const char	*slash;
	size_t		 i, n;

	for (i = 0; repos[i] != NULL; i++) {
		n = strlen(repos[i]);
		if ((slash = memchr(repos[i], '/', n)) == NULL)
			continue;
		if ((size_t)(slash - repos[i]) != olen ||
		    strncasecmp(repos[i], o, olen) != 0)
			continue;
		if (strcmp(slash + 1, "*") == 0)
			return 1;
		if (strlen(slash + 1) == rlen &&
		    strncasecmp(slash + 1, r, rlen) == 0)
			return 1;
	}
	return 0;
}

static int
refuse_path(char *why, size_t whylen, const char *agent, const char *p,
    size_t plen, const char *what)
{
	char	q[160];

	msg_quote(q, sizeof(q), p, plen);
	msg_say(why, whylen, "secret: path %s %s; [agent \"%s\"] secret-repos "
	    "limits the token to its repositories", q, what, agent);
	return -1;
}

int
secret_scope_request(const char *method, const char *target,
    char *const *repos, const char *agent, char *why, size_t whylen)
{
	const char	*p, *seg[3], *o, *r;
	size_t		 len, plen, i, slen[3], nseg, olen, rlen;
	char		 q[160], mq[64];
	int		 rest;

	msg_say(why, whylen, "%s", "");
	if (agent == NULL)
		agent = "";
	if (target == NULL)
		target = "";
	len = strnlen(target, SECRET_MAX_TARGET + 1);
	if (len > SECRET_MAX_TARGET)
		return refuse_path(why, whylen, agent, target, len,
		    "is longer than any allowed");
	if (len == 0 || target[0] != '/')
		return refuse_path(why, whylen, agent, target, len,
		    "is not origin-form (it must start with '/')");
	if (repos == NULL || repos[0] == NULL)
		return 0;
	if (method == NULL)
		method = "";

	/* The path: the query dropped, then one /api/v3. */
	p = target;
	plen = strcspn(target, "?");
	for (i = 0; i < plen; i++) {
		if (!path_byte_ok((unsigned char)p[i]))
			return refuse_path(why, whylen, agent, target, plen,
			    p[i] == '%' ? "holds '%' (an encoding another "
			    "reader may decode)" :
			    "holds a byte outside RFC 3986's path (or '%' "
			    "or ';')");
	}
	if (plen >= 8 && memcmp(p, "/api/v3/", 8) == 0) {
		p += 7;
		plen -= 7;
	}

	/* Segments: none empty (but a last), ".", or ".." anywhere. */
	nseg = 0;
	for (i = 1; i <= plen; i++) {
		const char	*s = p + i;
		size_t		 n = strcspn(s, "/?");

		if (s + n > p + plen)
			n = (size_t)(p + plen - s);
		if (n == 0 && i + n < plen)
			return refuse_path(why, whylen, agent, target, plen,
			    "has an empty segment (//)");
		if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' &&
		    s[1] == '.'))
			return refuse_path(why, whylen, agent, target, plen,
			    "has a \".\" or \"..\" segment");
		if (nseg < 3 && n > 0) {
			seg[nseg] = s;
			slen[nseg] = n;
			nseg++;
		}
		i += n;
	}
	rest = nseg >= 1 && p + plen > seg[0] + slen[0];

	/* Account reads: the words exactly, GET or HEAD. */
	if (nseg >= 1 && (seg_is(seg[0], slen[0], "user") ||
	    seg_is(seg[0], slen[0], "rate_limit") ||
	    seg_is(seg[0], slen[0], "meta") ||
	    seg_is(seg[0], slen[0], "octocat") ||
	    seg_is(seg[0], slen[0], "zen"))) {
		if (!seg_exact(seg[0], slen[0], "user") &&
		    (rest || !(seg_exact(seg[0], slen[0], "rate_limit") ||
		    seg_exact(seg[0], slen[0], "meta") ||
		    seg_exact(seg[0], slen[0], "octocat") ||
		    seg_exact(seg[0], slen[0], "zen"))))
			return refuse_path(why, whylen, agent, target, plen,
			    "names no repository (of the account's, only "
			    "GET /user[/...], /rate_limit, /meta, /octocat, "
			    "/zen are read)");
		if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
			msg_quote(q, sizeof(q), target, plen);
			msg_quote(mq, sizeof(mq), method, strnlen(method, 32));
			msg_say(why, whylen, "secret: %s %s names no "
			    "repository, and of the account's only GET and "
			    "HEAD are allowed; [agent \"%s\"] secret-repos "
			    "limits the token to its repositories", mq, q,
			    agent);
			return -1;
		}
		return 0;
	}

	if (nseg >= 1 && seg_exact(seg[0], slen[0], "repos")) {
		/* /repos/OWNER/REPO[/...] */
		if (nseg < 3)
			return refuse_path(why, whylen, agent, target, plen,
			    "names no repository");
		o = seg[1];
		olen = slen[1];
		r = seg[2];
		rlen = slen[2];
	} else {
		/* /OWNER/REPO[.git][/...] */
		if (nseg < 2)
			return refuse_path(why, whylen, agent, target, plen,
			    "names no repository");
		for (i = 0; reserved[i] != NULL; i++)
			if (seg_is(seg[0], slen[0], reserved[i]))
				return refuse_path(why, whylen, agent, target,
				    plen, "is not a repository's (its first "
				    "segment is one of GitHub's own)");
		o = seg[0];
		olen = slen[0];
		r = seg[1];
		rlen = slen[1];
		if (ends_with(r, rlen, ".git"))
			rlen -= 4;
	}
	if (!part_ok(o, olen) || !part_ok(r, rlen))
		return refuse_path(why, whylen, agent, target, plen,
		    "names no repository as OWNER/REPO (letters, digits, "
		    "'.', '_', '-')");
	if (repo_listed(repos, o, olen, r, rlen))
		return 0;
	/* Both are letters, digits and ._- here, at most 100 bytes. */
	msg_say(why, whylen, "secret: repository %.*s/%.*s is not in agent "
	    "%s's secret-repos; add \"%.*s/%.*s\" to [agent \"%s\"] "
	    "secret-repos", (int)olen, o, (int)rlen, r, agent, (int)olen, o,
	    (int)rlen, r, agent);
	return -1;
}

int
secret_scope_ref(const char *ref, char *const *refs)
{
	size_t	i, n, len;

	if (refs == NULL || refs[0] == NULL)
		return 0;
	if (ref == NULL)
		return -1;
	len = strnlen(ref, SECRET_MAX_REF + 1);
	/* A ref git itself would refuse never matches a pattern. */
	if (ref_bad(ref, len, 0) != NULL)
		return -1;
	for (i = 0; refs[i] != NULL; i++) {
		n = strlen(refs[i]);
		if (n > 0 && refs[i][n - 1] == '*') {
			if (len >= n - 1 && memcmp(ref, refs[i], n - 1) == 0)
				return 0;
		} else if (strcmp(ref, refs[i]) == 0)
			return 0;
	}
	return -1;
}

/* N, a number of an issue or pull request. */
static int
seg_number(const char *s, size_t len)
{
	size_t	i;

	if (len == 0 || len > 12 || s[0] == '0')
		return (0);
	for (i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return (0);
	return (1);
}

int
secret_scope_write(const char *method, const char *target,
    char *const *refs, const char *agent, char *why, size_t whylen)
{
	const char	*p, *seg[8];
	size_t		 plen, slen[8], nseg = 0, i, n;
	char		 q[160], mq[64];

	msg_say(why, whylen, "%s", "");
	if (refs == NULL || refs[0] == NULL)
		return (0);
	if (method == NULL || target == NULL || agent == NULL)
		return (-1);
	if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
		return (0);

	/* Segments of the path, each plain: else no write matches. */
	p = target;
	plen = strcspn(target, "?");
	if (plen > SECRET_MAX_TARGET || plen == 0 || p[0] != '/')
		goto refused;
	for (i = 0; i < plen; i++)
		if (!path_byte_ok((unsigned char)p[i]))
			goto refused;
	if (plen >= 8 && memcmp(p, "/api/v3/", 8) == 0) {
		p += 7;
		plen -= 7;
	}
	for (i = 1; i <= plen; i += n + 1) {
		n = strcspn(p + i, "/");
		if (i + n > plen)
			n = plen - i;
		if (n == 0 || (n == 1 && p[i] == '.') || (n == 2 &&
		    p[i] == '.' && p[i + 1] == '.') || nseg == sizeof(seg) / sizeof(seg[0]))
			goto refused;
		seg[nseg] = p + i;
		slen[nseg++] = n;
	}

	if (strcmp(method, "POST") != 0)
		goto refused;
	/* git over https: a fetch goes; a push is read and held (1). */
	if (nseg == 3 && !seg_exact(seg[0], slen[0], "repos")) {
		if (seg_exact(seg[2], slen[2], "git-upload-pack"))
			return (0);
		if (seg_exact(seg[2], slen[2], "git-receive-pack"))
			return (1);
	}
	/* Issues and pull requests opened, commented on, reviewed. */
	if (nseg >= 4 && seg_exact(seg[0], slen[0], "repos")) {
		if (nseg == 4 && (seg_exact(seg[3], slen[3], "issues") ||
		    seg_exact(seg[3], slen[3], "pulls")))
			return (0);
		if (nseg == 6 && seg_exact(seg[3], slen[3], "issues") &&
		    seg_number(seg[4], slen[4]) &&
		    seg_exact(seg[5], slen[5], "comments"))
			return (0);
		if (nseg == 6 && seg_exact(seg[3], slen[3], "pulls") &&
		    seg_number(seg[4], slen[4]) &&
		    (seg_exact(seg[5], slen[5], "comments") ||
		    seg_exact(seg[5], slen[5], "reviews")))
			return (0);
	}
refused:
	msg_quote(q, sizeof(q), target, strnlen(target, SECRET_MAX_TARGET));
	msg_quote(mq, sizeof(mq), method, strnlen(method, 32));
	msg_say(why, whylen, "secret: %s %s could change a ref outside agent "
	    "%s's secret-push-refs: with [agent \"%s\"] secret-push-refs "
	    "the token writes only by git push (held to those refs) and by "
	    "opening, commenting on and reviewing issues and pull requests",
	    mq, q, agent, agent);
	return (-1);
}
