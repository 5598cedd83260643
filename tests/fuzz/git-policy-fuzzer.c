/*
 * libFuzzer harness for the tokenizer and the git policy.  Arbitrary bytes
 * go in as a counted string (a NUL must be refused) and as a C string; the
 * invariants checked are the ones a bypass would break:
 *
 * - a refusal names a rule, starts "Denied: ", holds no control byte and
 *   leaves nothing allocated;
 * - an allowed vector starts "git <allowed subcommand>", holds no word
 *   spelling an option that is never allowed, pushes and fetches only to
 *   "origin", never a +refspec or :delete, and no command that changes
 *   files names a protected path (checked with a normaliser of its own);
 * - an agent's diff that may read the work tree (no --cached, fewer than
 *   two revisions before a "--") ends with the exclusions of what its
 *   container masks, and its status never prints unstaged changes;
 * - an agent's commit ends its options with its own trailer, once, and no
 *   word of it names the trailer otherwise; under push-refs, an agent's
 *   push names each ref in full, within the list;
 * - the vectors are a fixpoint: quoted and checked again they are allowed
 *   and come out the same, but for the exclude pathspecs and the trailer
 *   the policy adds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "argv.h"
#include "git-policy.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define EXCL	":(top,literal,exclude)"
#define WEXCL	":(top,exclude)"
/* The last exclusion of an agent's read (mask_read_pathspecs). */
#define LASTRX	WEXCL "*/.env.*"

/* What an agent's commit ends its options with. */
#define TRAILER	"--trailer=" GIT_POLICY_TRAILER ": alice"

/* Words the policy adds, which it would refuse from the agent. */
static int
is_excl(const char *w)
{
	return strncmp(w, EXCL, strlen(EXCL)) == 0 ||
	    strncmp(w, WEXCL, strlen(WEXCL)) == 0 || strcmp(w, TRAILER) == 0;
}

/* Allowed options with a value and no long name. */
#define SHORTARG "SGlLebC"

static const char *const prot[] = { "flow-state", "qms-cli" };
static const char *const origin[] = { "origin" };
static const char *const fuzz_users[] = { "alice", "bob", NULL };
static const char *const fuzz_refs[] = { "refs/heads/agent/alice/*", NULL };
#define NPOLICIES	4
static const struct git_policy policies[NPOLICIES] = {
	{ "/abs/root", origin, 1, prot, 2, NULL, NULL, 0, NULL, NULL },
	{ "/", NULL, 0, NULL, 0, NULL, NULL, 0, NULL, NULL },
	{ "/abs/root", origin, 1, prot, 2, "alice", NULL, 0, fuzz_users, NULL },
	{ "/abs/root", origin, 1, prot, 2, "alice", NULL, 1, fuzz_users,
	    fuzz_refs },
};

/* Options that no table allows, as git would spell them. */
static const char *const never[] = {
	"--exec", "--upload-pack", "--receive-pack", "--git-dir",
	"--work-tree", "--force", "--force-with-lease", "--force-if-includes",
	"--force-create", "--mirror", "--hard", "--no-index",
	"--ext-diff", "--textconv", "--filters", "--gpg-sign", "--output",
	"--open-files-in-pager", "--recurse-submodules", "--prune",
	"--prune-tags", "--edit-todo", "--signed", "--sign", "--local-user",
	"--show-signature", "--verify-signatures", "--discard-changes",
	"--pathspec-from-file", "--config-env", "--interactive", "--repo",
	"--multiple", "--depth", "--update-head-ok", "--edit-description",
	"--file", "--template", "--contents", "--ignore-revs-file",
	"--exclude-from", "--output-directory", "--signature-file", NULL
};

static void
fail(const char *what, const char *word)
{
	fprintf(stderr, "invariant broken: %s: \"%s\"\n", what, word);
	abort();
}

/* A lexical normaliser of its own, to cross-check the policy's. */
static int
leaves_or_protected(const char *w)
{
	char	buf[4096], *c[512], *save = NULL, *t;
	size_t	n = 0, i;
	char	joined[4096];
	size_t	len = 0;

	if (strlen(w) >= sizeof(buf) || w[0] == '/' || w[0] == ':')
		return 0;
	strcpy(buf, w);
	for (t = strtok_r(buf, "/", &save); t != NULL;
	    t = strtok_r(NULL, "/", &save)) {
		if (strcmp(t, ".") == 0)
			continue;
		if (strcmp(t, "..") == 0) {
			if (n == 0)
				return 1;
			n--;
			continue;
		}
		if (n < 512)
			c[n++] = t;
	}
	joined[0] = '\0';
	for (i = 0; i < n; i++)
		len += snprintf(joined + len, sizeof(joined) - len, "%s%s",
		    i > 0 ? "/" : "", c[i]);
	for (i = 0; i < 2; i++) {
		size_t l = strlen(prot[i]);

		if (strncmp(joined, prot[i], l) == 0 &&
		    (joined[l] == '\0' || joined[l] == '/'))
			return 1;
	}
	return 0;
}

/* What an agent's vector may not do: read the work tree unmasked. */
static void
check_agent(char **v)
{
	size_t	i, n, before = 0, verbose = 0;
	int	dd = 0, cached = 0;

	for (n = 0; v[n] != NULL; n++)
		;
	for (i = 2; i < n; i++) {
		if (strcmp(v[i], "--") == 0 && !dd) {
			dd = 1;
			continue;
		}
		if (dd)
			continue;
		if (strcmp(v[i], "--cached") == 0 ||
		    strcmp(v[i], "--staged") == 0)
			cached = 1;
		else if (strcmp(v[i], "--verbose") == 0)
			verbose++;
		else if (strcmp(v[i], "--no-verbose") == 0)
			verbose = 0;
		else if (v[i][0] != '-' && !is_excl(v[i]))
			before++;
		else if (v[i][0] == '-' && v[i][1] != '-' && v[i][1] != '\0' &&
		    v[i][2] == '\0' && strchr(SHORTARG, v[i][1]) != NULL &&
		    i + 1 < n)
			i++;		/* -S VALUE: not a revision */
	}
	if (strcmp(v[1], "diff") == 0 && !cached && !(dd && before >= 2) &&
	    strcmp(v[n - 1], LASTRX) != 0)
		fail("an agent's diff of the work tree without the masks", v[1]);
	if ((strcmp(v[1], "status") == 0 || strcmp(v[1], "commit") == 0) &&
	    verbose >= 2)
		fail("an agent's status -v -v", v[1]);
	if (strcmp(v[1], "stash") == 0 && (v[2] == NULL ||
	    strcmp(v[2], "save") == 0 || (strcmp(v[2], "push") == 0 &&
	    !is_excl(v[n - 1]))))
		fail("an agent's stash without the masks", v[1]);
}

/*
 * An agent's commit: the trailer once, the last word before any "--"
 * (so after every option of the agent's), and no other word of an option
 * names it.  An agent's push under push-refs: a refspec written out in
 * full, within the list.
 */
static void
check_accountable(const struct git_policy *p, char **v)
{
	size_t	i, n = 0, last = 0, remote = 0;
	int	dd = 0;

	for (i = 2; v[i] != NULL && !dd; i++) {
		if (strcmp(v[i], "--") == 0) {
			dd = 1;
			break;
		}
		if (strcmp(v[i], TRAILER) == 0) {
			n++;
			last = i;
		} else if (strncmp(v[i], "--trailer=", 10) == 0 &&
		    strncasecmp(v[i] + 10 + strspn(v[i] + 10, " \t"),
		    GIT_POLICY_TRAILER, strlen(GIT_POLICY_TRAILER)) == 0)
			fail("an agent's own QMS-Agent trailer", v[i]);
	}
	if (strcmp(v[1], "commit") == 0 && (n != 1 || last != i - 1))
		fail("an agent's commit without its trailer last", v[1]);
	if (strcmp(v[1], "commit") != 0 && n != 0)
		fail("a trailer outside a commit", v[1]);
	if (strcmp(v[1], "push") != 0 || p->push_refs == NULL)
		return;
	for (i = 2, n = 0; v[i] != NULL; i++) {
		const char *c, *dst;

		if (strcmp(v[i], "--all") == 0 || strcmp(v[i], "--tags") == 0 ||
		    strcmp(v[i], "--branches") == 0 ||
		    strcmp(v[i], "--follow-tags") == 0)
			fail("a push of refs it does not name", v[i]);
		if (v[i][0] == '-')
			continue;
		if (remote++ == 0)
			continue;
		if (strcmp(v[i], "tag") == 0 || (i > 2 &&
		    strcmp(v[i - 1], "tag") == 0)) {
			fail("a tag pushed outside the list", v[i]);
			continue;
		}
		n++;
		c = strchr(v[i], ':');
		dst = c != NULL ? c + 1 : v[i];
		if (strncmp(dst, "refs/heads/agent/alice/", 23) != 0 ||
		    strstr(dst, "..") != NULL)
			fail("a push outside push-refs", v[i]);
	}
	if (n == 0)
		fail("a push under push-refs naming no ref", v[1]);
}

static void
check_vector(const struct git_policy *p, char **v)
{
	const char *const	*n;
	const char		*sub;
	size_t			 i, l;
	int			 dd = 0, remote = 0, mutate, push;

	if (v[0] == NULL || strcmp(v[0], "git") != 0)
		fail("vector does not start with git", v[0] ? v[0] : "");
	if (v[1] == NULL || !git_policy_subcommand(v[1]))
		fail("not an allowed subcommand", v[1] ? v[1] : "");
	sub = v[1];
	push = strcmp(sub, "push") == 0;
	remote = push || strcmp(sub, "fetch") == 0 ||
	    strcmp(sub, "pull") == 0 || strcmp(sub, "ls-remote") == 0;
	mutate = strcmp(sub, "add") == 0 || strcmp(sub, "rm") == 0 ||
	    strcmp(sub, "mv") == 0 || strcmp(sub, "restore") == 0 ||
	    strcmp(sub, "commit") == 0 || strcmp(sub, "reset") == 0;
	for (i = 2; v[i] != NULL; i++) {
		const char *w = v[i];

		for (; *w != '\0'; w++)
			if (((unsigned char)*w < 0x20 && *w != '\n' &&
			    *w != '\t') || *w == 0x7f)
				fail("control character in a word", v[i]);
		w = v[i];
		/*
		 * The value of an option with no long name is written as the
		 * next word (-S --force searches for "--force").
		 */
		if (!dd && w[0] == '-' && w[1] != '\0' && w[2] == '\0' &&
		    strchr(SHORTARG, w[1]) != NULL && v[i + 1] != NULL) {
			i++;
			continue;
		}
		/* After "--" a word is a path, even "--hard". */
		for (n = never; !dd && *n != NULL; n++) {
			l = strlen(*n);
			if (strncmp(w, *n, l) == 0 &&
			    (w[l] == '\0' || w[l] == '='))
				fail("forbidden option", w);
		}
		if (strcmp(w, "--") == 0) {
			dd = 1;
			continue;
		}
		if (w[0] == '-' && !dd)
			continue;
		/* The first word that is not an option is the remote. */
		if (remote == 1) {
			if (strcmp(w, "origin") != 0)
				fail("remote not allowed", w);
			remote = 2;
			continue;
		}
		if (push && (w[0] == '+' || (w[0] == ':' && w[1] != '\0')))
			fail("forced or deleting refspec", w);
		if (mutate && p->nprotected > 0 && leaves_or_protected(w))
			fail("protected or outside path in a change", w);
	}
	if (p->agent != NULL)
		check_agent(v);
	if (p->agent != NULL)
		check_accountable(p, v);
}

/* Single-quote each word and join: the vectors as a command again. */
static char *
requote(char ***vv, size_t nv)
{
	size_t	 i, j, len = 1;
	char	*s, *o, *w;

	for (i = 0; i < nv; i++)
		for (j = 0; vv[i][j] != NULL; j++)
			len += 4 * strlen(vv[i][j]) + 8;
	if ((s = malloc(len)) == NULL)
		return NULL;
	o = s;
	for (i = 0; i < nv; i++) {
		if (i > 0)
			o += sprintf(o, " && ");
		for (j = 0; vv[i][j] != NULL; j++) {
			if (is_excl(vv[i][j]))
				continue;
			if (j > 0)
				*o++ = ' ';
			*o++ = '\'';
			for (w = vv[i][j]; *w != '\0'; w++) {
				if (*w == '\'') {
					memcpy(o, "'\\''", 4);
					o += 4;
				} else
					*o++ = *w;
			}
			*o++ = '\'';
		}
	}
	*o = '\0';
	return s;
}

/* Vectors equal, but for the exclude pathspecs. */
static int
same(const struct git_verdict *a, const struct git_verdict *b)
{
	size_t	i, j, k;

	if (a->nargv != b->nargv)
		return 0;
	for (i = 0; i < a->nargv; i++) {
		for (j = 0, k = 0;; j++, k++) {
			while (a->argv[i][j] != NULL && is_excl(a->argv[i][j]))
				j++;
			while (b->argv[i][k] != NULL && is_excl(b->argv[i][k]))
				k++;
			if (a->argv[i][j] == NULL || b->argv[i][k] == NULL) {
				if (a->argv[i][j] != b->argv[i][k])
					return 0;
				break;
			}
			if (strcmp(a->argv[i][j], b->argv[i][k]) != 0)
				return 0;
		}
	}
	return 1;
}

static void
check_verdict(const struct git_policy *p, const struct git_verdict *v,
    int r, int again)
{
	struct git_verdict	 v2;
	const char		*c;
	char			*s;
	size_t			 i;

	if ((r == 0) != (v->allowed != 0))
		fail("return value and verdict disagree", "");
	if (!v->allowed) {
		if (v->rule == NULL || v->argv != NULL || v->nargv != 0)
			fail("refusal without a rule, or with vectors", "");
		if (strncmp(v->reason, "Denied: ", 8) != 0 ||
		    strstr(v->reason, "(rule: ") == NULL)
			fail("refusal text", v->reason);
		for (c = v->reason; *c != '\0'; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				fail("control character in a refusal",
				    v->reason);
		return;
	}
	if (v->rule != NULL || v->nargv == 0 || v->argv == NULL)
		fail("allowed without vectors", "");
	for (i = 0; i < v->nargv; i++)
		check_vector(p, v->argv[i]);
	if (!again || (s = requote(v->argv, v->nargv)) == NULL)
		return;
	if (git_policy_check(p, s, &v2) != 0)
		fail("vectors refused when checked again", v2.reason);
	if (!same(v, &v2))
		fail("vectors not a fixpoint", s);
	check_verdict(p, &v2, 0, 0);
	git_verdict_free(&v2);
	free(s);
}

static void
check_tokenizer(const char *s, size_t len, const char *cstr)
{
	struct argv_chain	c;
	char			err[256], **v;
	size_t			i;
	int			r;

	r = argv_split_chain_n(s, len, &c, err, sizeof(err));
	if (r >= 0) {
		if ((size_t)r != c.nseg || memchr(s, '\0', len) != NULL)
			fail("chain count, or a NUL accepted", "");
		for (i = 0; i < c.nseg; i++)
			if (c.segv[i][0] == NULL)
				fail("empty command in a chain", "");
	} else if (c.segv != NULL || c.nseg != 0 || err[0] == '\0')
		fail("chain error leaves state or no message", "");
	argv_chain_free(&c);

	r = argv_split(cstr, &v, err, sizeof(err));
	if (r >= 0) {
		if (v == NULL || argv_count(v) != (size_t)r)
			fail("split count", "");
		argv_free(v);
	} else if (v != NULL)
		fail("split error leaves a vector", "");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct git_policy	*p;
	struct git_verdict	 v, vc;
	char			*cstr;
	int			 r, rc;

	if (size == 0 || size > 4096)
		return 0;
	p = &policies[data[0] % NPOLICIES];
	data++;
	size--;
	if ((cstr = malloc(size + 1)) == NULL)
		return 0;
	memcpy(cstr, data, size);
	cstr[size] = '\0';

	check_tokenizer((const char *)data, size, cstr);

	r = git_policy_checkn(p, (const char *)data, size, &v);
	check_verdict(p, &v, r, 1);
	rc = git_policy_check(p, cstr, &vc);
	check_verdict(p, &vc, rc, 0);
	/* Without a NUL, the counted and the C string are one input. */
	if (memchr(data, '\0', size) == NULL && (r != rc ||
	    (r != 0 && strcmp(v.reason, vc.reason) != 0) ||
	    (r == 0 && !same(&v, &vc))))
		fail("counted and C string disagree", cstr);
	git_verdict_free(&v);
	git_verdict_free(&vc);
	free(cstr);
	return 0;
}
