/*
 * Word splitting: POSIX quoting, no expansion, and every construct a shell
 * would do more with refused by its error code.  Rows give the input, the
 * result (a count, or minus an error) and the words joined by "|", with
 * " && " between the commands of a chain.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "argv.h"
#include "check.h"

struct tcase {
	const char	*in;
	int		 rc;
	const char	*want;	/* when rc >= 0 */
};

#define E(x)	(-ARGV_E##x)

/* argv_split_chain. */
static const struct tcase chain[] = {
	{ "", 0, "" },
	{ "   \t ", 0, "" },
	{ "status", 1, "status" },
	{ "  git   log  --oneline\t-10  ", 1, "git|log|--oneline|-10" },
	{ "a && b", 2, "a && b" },
	{ "a&&b", 2, "a && b" },
	{ "a && b && c d", 3, "a && b && c|d" },
	{ "'a b' c", 1, "a b|c" },
	{ "\"a b\" c", 1, "a b|c" },
	{ "a'b'c\"d\"e", 1, "abcde" },
	{ "''", 1, "" },
	{ "\"\"", 1, "" },
	{ "x '' y", 1, "x||y" },
	{ "'it'\\''s'", 1, "it's" },
	{ "\"say \\\"hi\\\"\"", 1, "say \"hi\"" },
	{ "\"a\\\\b\"", 1, "a\\b" },
	{ "\"a\\$b\"", 1, "a$b" },
	{ "\"a\\`b\"", 1, "a`b" },
	{ "\"a\\nb\"", 1, "a\\nb" },
	{ "'a\\nb'", 1, "a\\nb" },
	{ "a\\ b", 1, "a b" },
	{ "a\\;b", 1, "a;b" },
	{ "\\$HOME", 1, "$HOME" },
	{ "\\&\\&", 1, "&&" },
	{ "'a && b'", 1, "a && b" },
	{ "'$(id)' '`id`' '${x}'", 1, "$(id)|`id`|${x}" },
	{ "'*.md' '~' '#x'", 1, "*.md|~|#x" },
	{ "\"*.md\" \"~\" \"#x\"", 1, "*.md|~|#x" },
	{ "'line one\nline two'", 1, "line one\nline two" },
	{ "\"tab\there\"", 1, "tab\there" },
	{ "a\tb", 1, "a|b" },
	{ "stash@{0} HEAD@{1}", 1, "stash@{0}|HEAD@{1}" },
	{ "HEAD@{1}..HEAD", 1, "HEAD@{1}..HEAD" },
	{ "a,b {x} x}y", 1, "a,b|{x}|x}y" },
	{ "'{a,b}'", 1, "{a,b}" },
	{ "{a\\,b}", 1, "{a,b}" },
	{ "HEAD~1 HEAD^ HEAD^{tree} a=b a=b~ x~", 1,
	    "HEAD~1|HEAD^|HEAD^{tree}|a=b|a=b~|x~" },
	{ "issue#12 a#b", 1, "issue#12|a#b" },
	{ "'#x' ''#x", 1, "#x|#x" },
	{ "caf\xc3\xa9 \xff", 1, "caf\xc3\xa9|\xff" },
	{ "--message=x -mmsg", 1, "--message=x|-mmsg" },
	{ "a ] b !x %y ^z @w", 1, "a|]|b|!x|%y|^z|@w" },

	{ "a ; b", E(OPERATOR), NULL },
	{ "a;b", E(OPERATOR), NULL },
	{ "a | b", E(OPERATOR), NULL },
	{ "a || b", E(OPERATOR), NULL },
	{ "a & b", E(OPERATOR), NULL },
	{ "a &", E(OPERATOR), NULL },
	{ "a &&& b", E(OPERATOR), NULL },
	{ "a > f", E(OPERATOR), NULL },
	{ "a >> f", E(OPERATOR), NULL },
	{ "a 2>&1", E(OPERATOR), NULL },
	{ "a < f", E(OPERATOR), NULL },
	{ "a <<EOF", E(OPERATOR), NULL },
	{ "(a)", E(OPERATOR), NULL },
	{ "a )", E(OPERATOR), NULL },
	{ "$(id)", E(EXPAND), NULL },
	{ "x$(id)", E(EXPAND), NULL },
	{ "`id`", E(EXPAND), NULL },
	{ "${HOME}", E(EXPAND), NULL },
	{ "$HOME", E(EXPAND), NULL },
	{ "a$b", E(EXPAND), NULL },
	{ "$1", E(EXPAND), NULL },
	{ "$?", E(EXPAND), NULL },
	{ "$", E(EXPAND), NULL },
	{ "a $ b", E(EXPAND), NULL },
	{ "$'a'", E(EXPAND), NULL },
	{ "$\"a\"", E(EXPAND), NULL },
	{ "\"$(id)\"", E(EXPAND), NULL },
	{ "\"$HOME\"", E(EXPAND), NULL },
	{ "\"`id`\"", E(EXPAND), NULL },
	{ "\"a $\"", E(EXPAND), NULL },
	{ "*.md", E(EXPAND), NULL },
	{ "a?b", E(EXPAND), NULL },
	{ "[ab]", E(EXPAND), NULL },
	{ "~", E(EXPAND), NULL },
	{ "~/x", E(EXPAND), NULL },
	{ "~root", E(EXPAND), NULL },
	{ "a=~/x", E(EXPAND), NULL },
	{ "PATH=a:~/b", E(EXPAND), NULL },
	{ "{a,b}", E(EXPAND), NULL },
	{ "x{1..3}", E(EXPAND), NULL },
	{ "#", E(COMMENT), NULL },
	{ "a #b", E(COMMENT), NULL },
	{ "a\nb", E(CONTROL), NULL },
	{ "a\rb", E(CONTROL), NULL },
	{ "a\033b", E(CONTROL), NULL },
	{ "a\x7f", E(CONTROL), NULL },
	{ "'a\033b'", E(CONTROL), NULL },
	{ "\"a\001b\"", E(CONTROL), NULL },
	{ "a\\\nb", E(CONTROL), NULL },
	{ "\"a\\\nb\"", E(CONTROL), NULL },
	{ "a\\\001", E(CONTROL), NULL },
	{ "'a", E(QUOTE), NULL },
	{ "\"a", E(QUOTE), NULL },
	{ "\"a\\\"", E(QUOTE), NULL },
	{ "a\\", E(QUOTE), NULL },
	{ "&& a", E(EMPTY), NULL },
	{ "a &&", E(EMPTY), NULL },
	{ "a && ", E(EMPTY), NULL },
	{ "a && && b", E(EMPTY), NULL },
	{ "&&", E(EMPTY), NULL },
};

/* argv_split: one command, where && is an operator like any other. */
static const struct tcase single[] = {
	{ "", 0, "" },
	{ "python3 -m qms_mcp --port 8001", 5,
	    "python3|-m|qms_mcp|--port|8001" },
	{ "sh -c 'a && b'", 3, "sh|-c|a && b" },
	{ "a '' b", 3, "a||b" },
	{ "a && b", E(OPERATOR), NULL },
	{ "a&&b", E(OPERATOR), NULL },
	{ "a; b", E(OPERATOR), NULL },
	{ "$HOME/x", E(EXPAND), NULL },
	{ "'a", E(QUOTE), NULL },
};

static void
join_chain(const struct argv_chain *c, char *buf, size_t len)
{
	size_t	i, j, n = 0;

	buf[0] = '\0';
	for (i = 0; i < c->nseg && n < len; i++) {
		if (i > 0)
			n += snprintf(buf + n, len - n, " && ");
		for (j = 0; c->segv[i][j] != NULL && n < len; j++)
			n += snprintf(buf + n, len - n, "%s%s",
			    j > 0 ? "|" : "", c->segv[i][j]);
	}
}

static void
test_chain(void)
{
	struct argv_chain	c;
	char			err[256], got[1024];
	size_t			i;
	int			r;

	for (i = 0; i < sizeof(chain) / sizeof(chain[0]); i++) {
		err[0] = 'x';
		r = argv_split_chain(chain[i].in, &c, err, sizeof(err));
		if (r != chain[i].rc)
			fprintf(stderr, "chain \"%s\": %d, want %d (%s)\n",
			    chain[i].in, r, chain[i].rc, r < 0 ? err : "");
		CHECK(r == chain[i].rc);
		if (r >= 0) {
			CHECK(c.nseg == (size_t)r);
			CHECK(err[0] == '\0');
			join_chain(&c, got, sizeof(got));
			CHECK_STR(got, chain[i].want);
		} else {
			CHECK(c.segv == NULL && c.nseg == 0);
			/* A refusal says where. */
			CHECK(err[0] != '\0');
			CHECK(r == E(NOMEM) || r == E(EMPTY) ||
			    strstr(err, "column") != NULL ||
			    r == E(QUOTE));
		}
		argv_chain_free(&c);
	}
}

static void
test_single(void)
{
	char	**v, err[256], got[1024];
	size_t	  i, j, n;
	int	  r;

	for (i = 0; i < sizeof(single) / sizeof(single[0]); i++) {
		r = argv_split(single[i].in, &v, err, sizeof(err));
		if (r != single[i].rc)
			fprintf(stderr, "single \"%s\": %d, want %d (%s)\n",
			    single[i].in, r, single[i].rc, r < 0 ? err : "");
		CHECK(r == single[i].rc);
		if (r < 0) {
			CHECK(v == NULL);
			continue;
		}
		CHECK(v != NULL && argv_count(v) == (size_t)r);
		for (j = 0, n = 0, got[0] = '\0'; v[j] != NULL; j++)
			n += snprintf(got + n, sizeof(got) - n, "%s%s",
			    j > 0 ? "|" : "", v[j]);
		CHECK_STR(got, single[i].want);
		argv_free(v);
	}
}

static void
test_misc(void)
{
	struct argv_chain	c;
	char			err[256];
	static const char	nul[] = "status\0; id";
	char			**v;

	/* A NUL in a counted string is refused, never a terminator. */
	CHECK(argv_split_chain_n(nul, sizeof(nul) - 1, &c, err,
	    sizeof(err)) == E(CONTROL));
	CHECK(strstr(err, "NUL") != NULL && strstr(err, "column 7") != NULL);
	CHECK(argv_split_chain_n("a && b", 6, &c, err, sizeof(err)) == 2);
	argv_chain_free(&c);
	CHECK(argv_split_chain_n("a && b", 1, &c, err, sizeof(err)) == 1);
	argv_chain_free(&c);

	/* The error buffer is optional, and truncated rather than overrun. */
	CHECK(argv_split_chain("a;b", &c, NULL, 0) == E(OPERATOR));
	CHECK(argv_split_chain("a;b", &c, err, 4) == E(OPERATOR));
	CHECK(strlen(err) == 3);
	CHECK(argv_split("a", &v, NULL, 0) == 1);
	argv_free(v);

	/* Columns count bytes from 1. */
	argv_split_chain("git status; id", &c, err, sizeof(err));
	CHECK(strstr(err, "column 11") != NULL);
	argv_split_chain("git log 'x", &c, err, sizeof(err));
	CHECK(strstr(err, "column 9") != NULL);

	/* Freeing nothing is fine. */
	argv_free(NULL);
	argv_chain_free(NULL);
	CHECK(argv_count(NULL) == 0);
}

int
main(void)
{
	test_chain();
	test_single();
	test_misc();
	printf("test-argv: %zu chain cases, %zu single cases\n",
	    sizeof(chain) / sizeof(chain[0]),
	    sizeof(single) / sizeof(single[0]));
	return check_done("test-argv");
}
