/*
 * Shell-like word splitting with POSIX quoting and no expansion; see argv.h
 * for what is refused and why.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "argv.h"

struct tok {
	const char	 *s;
	size_t		  len;
	size_t		  i;
	int		  chain;	/* && separates commands */
	char		 *err;
	size_t		  errlen;

	char		 *w;		/* the word being built */
	size_t		  wlen;
	size_t		  wcap;
	int		  inword;	/* begun, even if only by '' */
	int		  brace;	/* inside an unquoted { */
	char		  prev;		/* last unquoted byte, 0 if quoted */

	char		**v;		/* the command being built */
	size_t		  vlen;
	size_t		  vcap;

	struct argv_chain chain_out;
	size_t		  segcap;
};

static int	tok_fail(struct tok *, enum argv_error, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/* Columns are 1-based byte offsets, as an editor would show them. */
static int
tok_fail(struct tok *t, enum argv_error e, const char *fmt, ...)
{
	va_list	ap;

	if (t->err != NULL && t->errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(t->err, t->errlen, fmt, ap);
		va_end(ap);
	}
	return -(int)e;
}

static int
tok_nomem(struct tok *t)
{
	return tok_fail(t, ARGV_ENOMEM, "out of memory");
}

static int
tok_putc(struct tok *t, char c)
{
	char	*nw;
	size_t	 ncap;

	if (t->wlen + 1 >= t->wcap) {
		ncap = t->wcap == 0 ? 32 : t->wcap * 2;
		if ((nw = realloc(t->w, ncap)) == NULL)
			return tok_nomem(t);
		t->w = nw;
		t->wcap = ncap;
	}
	t->w[t->wlen++] = c;
	t->inword = 1;
	return 0;
}

static int
tok_endword(struct tok *t)
{
	char	**nv, *word;
	size_t	  ncap;

	if (!t->inword)
		return 0;
	if (t->vlen + 2 > t->vcap) {
		ncap = t->vcap == 0 ? 8 : t->vcap * 2;
		if ((nv = reallocarray(t->v, ncap, sizeof(*nv))) == NULL)
			return tok_nomem(t);
		t->v = nv;
		t->vcap = ncap;
	}
	if (t->w == NULL) {
		/* An empty word: '' or "". */
		if ((word = strdup("")) == NULL)
			return tok_nomem(t);
	} else {
		t->w[t->wlen] = '\0';
		word = t->w;
		t->w = NULL;
		t->wcap = 0;
	}
	t->v[t->vlen++] = word;
	t->v[t->vlen] = NULL;
	t->wlen = 0;
	t->inword = 0;
	t->brace = 0;
	t->prev = 0;
	return 0;
}

static int
tok_endseg(struct tok *t)
{
	struct argv_chain	*c = &t->chain_out;
	char			***ns;
	size_t			 ncap;

	if (t->v == NULL) {
		if ((t->v = calloc(1, sizeof(*t->v))) == NULL)
			return tok_nomem(t);
	}
	if (c->nseg == t->segcap) {
		ncap = t->segcap == 0 ? 4 : t->segcap * 2;
		if ((ns = reallocarray(c->segv, ncap, sizeof(*ns))) == NULL)
			return tok_nomem(t);
		c->segv = ns;
		t->segcap = ncap;
	}
	c->segv[c->nseg++] = t->v;
	t->v = NULL;
	t->vlen = 0;
	t->vcap = 0;
	return 0;
}

/* Control characters other than tab: newline is treated by the callers. */
static int
is_ctl(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

static int
tok_ctl(struct tok *t, unsigned char c, size_t at)
{
	if (c == '\0')
		return tok_fail(t, ARGV_ECONTROL, "NUL byte at column %zu",
		    at + 1);
	if (c == '\n')
		return tok_fail(t, ARGV_ECONTROL, "newline at column %zu "
		    "outside quotes would end the command", at + 1);
	return tok_fail(t, ARGV_ECONTROL, "control character 0x%02x at "
	    "column %zu", c, at + 1);
}

static int
tok_single(struct tok *t)
{
	size_t	open = t->i++;
	int	r;

	t->inword = 1;
	t->prev = 0;
	for (; t->i < t->len; t->i++) {
		unsigned char c = t->s[t->i];

		if (c == '\'') {
			t->i++;
			return 0;
		}
		if (c != '\n' && is_ctl(c))
			return tok_ctl(t, c, t->i);
		if ((r = tok_putc(t, c)) != 0)
			return r;
	}
	return tok_fail(t, ARGV_EQUOTE, "unterminated single quote opened "
	    "at column %zu", open + 1);
}

static int
tok_double(struct tok *t)
{
	size_t	open = t->i++;
	int	r;

	t->inword = 1;
	t->prev = 0;
	while (t->i < t->len) {
		unsigned char c = t->s[t->i];

		if (c == '"') {
			t->i++;
			return 0;
		}
		if (c == '$')
			return tok_fail(t, ARGV_EEXPAND, "'$' at column %zu "
			    "inside double quotes would expand; use single "
			    "quotes, or write \\$", t->i + 1);
		if (c == '`')
			return tok_fail(t, ARGV_EEXPAND, "'`' at column %zu "
			    "inside double quotes is command substitution",
			    t->i + 1);
		if (c == '\\' && t->i + 1 < t->len) {
			unsigned char n = t->s[t->i + 1];

			if (n == '\n')
				return tok_fail(t, ARGV_ECONTROL,
				    "backslash-newline at column %zu",
				    t->i + 1);
			if (n == '$' || n == '`' || n == '"' || n == '\\') {
				if ((r = tok_putc(t, n)) != 0)
					return r;
				t->i += 2;
				continue;
			}
			/* Any other backslash is itself. */
		}
		if (c != '\n' && is_ctl(c))
			return tok_ctl(t, c, t->i);
		if ((r = tok_putc(t, c)) != 0)
			return r;
		t->i++;
	}
	return tok_fail(t, ARGV_EQUOTE, "unterminated double quote opened "
	    "at column %zu", open + 1);
}

static int
tok_dollar(struct tok *t)
{
	size_t		col = t->i + 1, l;
	unsigned char	n = t->i + 1 < t->len ? t->s[t->i + 1] : '\0';

	if (n == '(')
		return tok_fail(t, ARGV_EEXPAND, "'$(' at column %zu is "
		    "command substitution", col);
	if (n == '{')
		return tok_fail(t, ARGV_EEXPAND, "'${' at column %zu is "
		    "parameter expansion", col);
	if (n == '\'' || n == '"')
		return tok_fail(t, ARGV_EEXPAND, "'$%c' at column %zu is "
		    "shell-specific quoting", n, col);
	if (n == '_' || (n >= 'A' && n <= 'Z') || (n >= 'a' && n <= 'z')) {
		for (l = 1; l < 32 && t->i + l + 1 < t->len; l++) {
			n = t->s[t->i + l + 1];
			if (n != '_' && !(n >= 'A' && n <= 'Z') &&
			    !(n >= 'a' && n <= 'z') && !(n >= '0' && n <= '9'))
				break;
		}
		return tok_fail(t, ARGV_EEXPAND, "'$%.*s' at column %zu is a "
		    "shell variable; nothing is expanded here, so quote it "
		    "('...') to pass it literally", (int)l, t->s + t->i + 1,
		    col);
	}
	if ((n >= '0' && n <= '9') || (n != '\0' && strchr("@*#?-$!", n)))
		return tok_fail(t, ARGV_EEXPAND, "'$%c' at column %zu is a "
		    "shell parameter; nothing is expanded here, so quote it "
		    "('...') to pass it literally", n, col);
	return tok_fail(t, ARGV_EEXPAND, "'$' at column %zu: nothing is "
	    "expanded here, so quote it ('...') to pass it literally", col);
}

static int
tok_operator(struct tok *t, unsigned char c)
{
	size_t		col = t->i + 1;
	unsigned char	n = t->i + 1 < t->len ? t->s[t->i + 1] : '\0';
	const char	*only;

	only = t->chain ? "only '&&' may join commands" :
	    "only one command is allowed";
	switch (c) {
	case ';':
		return tok_fail(t, ARGV_EOPERATOR, "';' at column %zu would "
		    "run another command; %s", col, only);
	case '&':
		if (n == '&')
			return tok_fail(t, ARGV_EOPERATOR, "'&&' at column "
			    "%zu would run another command; %s", col, only);
		return tok_fail(t, ARGV_EOPERATOR, "'&' at column %zu would "
		    "run a command in the background; %s", col, only);
	case '|':
		if (n == '|')
			return tok_fail(t, ARGV_EOPERATOR, "'||' at column "
			    "%zu would run another command; %s", col, only);
		return tok_fail(t, ARGV_EOPERATOR, "'|' at column %zu would "
		    "start a pipeline; %s", col, only);
	case '<':
	case '>':
		return tok_fail(t, ARGV_EOPERATOR, "'%c' at column %zu is a "
		    "redirection; output comes back to you anyway", c, col);
	default:
		return tok_fail(t, ARGV_EOPERATOR, "'%c' at column %zu would "
		    "start a subshell; quote it to pass it literally", c, col);
	}
}

static int
tok_run(struct tok *t)
{
	int	r;

	while (t->i < t->len) {
		unsigned char	c = t->s[t->i];
		unsigned char	n = t->i + 1 < t->len ? t->s[t->i + 1] : '\0';
		size_t		col = t->i + 1;

		switch (c) {
		case ' ':
		case '\t':
			if ((r = tok_endword(t)) != 0)
				return r;
			t->i++;
			continue;
		case '\'':
			if ((r = tok_single(t)) != 0)
				return r;
			continue;
		case '"':
			if ((r = tok_double(t)) != 0)
				return r;
			continue;
		case '\\':
			if (t->i + 1 >= t->len)
				return tok_fail(t, ARGV_EQUOTE, "trailing "
				    "backslash at column %zu", col);
			if (n == '\n')
				return tok_fail(t, ARGV_ECONTROL,
				    "backslash-newline at column %zu", col);
			if (is_ctl(n))
				return tok_ctl(t, n, t->i + 1);
			if ((r = tok_putc(t, n)) != 0)
				return r;
			t->prev = 0;
			t->i += 2;
			continue;
		case '&':
			if (n != '&' || !t->chain)
				break;
			if ((r = tok_endword(t)) != 0)
				return r;
			if (t->vlen == 0)
				return tok_fail(t, ARGV_EEMPTY, "no command "
				    "before '&&' at column %zu", col);
			if ((r = tok_endseg(t)) != 0)
				return r;
			t->i += 2;
			continue;
		case ';':
		case '|':
		case '<':
		case '>':
		case '(':
		case ')':
			break;
		case '`':
			return tok_fail(t, ARGV_EEXPAND, "'`' at column %zu is "
			    "command substitution", col);
		case '$':
			return tok_dollar(t);
		case '*':
		case '?':
		case '[':
			return tok_fail(t, ARGV_EEXPAND, "'%c' at column %zu "
			    "would be expanded to file names by a shell; quote "
			    "the word ('...') to pass a pattern to git", c,
			    col);
		case '#':
			if (t->inword)
				goto plain;
			return tok_fail(t, ARGV_ECOMMENT, "'#' at column %zu "
			    "would start a comment; quote it", col);
		case '~':
			if (t->inword && t->prev != '=' && t->prev != ':')
				goto plain;
			return tok_fail(t, ARGV_EEXPAND, "'~' at column %zu "
			    "would be expanded to a home directory; quote it",
			    col);
		case '{':
			t->brace = 1;
			goto plain;
		case '}':
			t->brace = 0;
			goto plain;
		case ',':
			if (t->brace)
				return tok_fail(t, ARGV_EEXPAND, "',' at "
				    "column %zu inside '{' is brace expansion; "
				    "quote it", col);
			goto plain;
		case '.':
			if (t->brace && n == '.')
				return tok_fail(t, ARGV_EEXPAND, "'..' at "
				    "column %zu inside '{' is brace expansion; "
				    "quote it", col);
			goto plain;
		default:
			if (c == '\n' || is_ctl(c))
				return tok_ctl(t, c, t->i);
			goto plain;
		}
		return tok_operator(t, c);
plain:
		if ((r = tok_putc(t, c)) != 0)
			return r;
		t->prev = c;
		t->i++;
	}
	if ((r = tok_endword(t)) != 0)
		return r;
	if (t->vlen == 0 && t->chain_out.nseg > 0)
		return tok_fail(t, ARGV_EEMPTY, "no command after the last "
		    "'&&'");
	if (t->vlen > 0 || !t->chain)
		return tok_endseg(t);
	return 0;
}

static int
tok_split(const char *s, size_t len, int chain, struct argv_chain *out,
    char *err, size_t errlen)
{
	struct tok	t;
	const char	*nul;
	int		r;

	memset(&t, 0, sizeof(t));
	t.s = s;
	t.len = len;
	t.chain = chain;
	t.err = err;
	t.errlen = errlen;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	out->segv = NULL;
	out->nseg = 0;

	if ((nul = memchr(s, '\0', len)) != NULL)
		r = tok_ctl(&t, '\0', nul - s);
	else
		r = tok_run(&t);

	free(t.w);
	argv_free(t.v);
	if (r != 0) {
		argv_chain_free(&t.chain_out);
		return r;
	}
	*out = t.chain_out;
	return (int)out->nseg;
}

int
argv_split(const char *s, char ***argvp, char *err, size_t errlen)
{
	struct argv_chain	c;
	int			r;

	*argvp = NULL;
	if ((r = tok_split(s, strlen(s), 0, &c, err, errlen)) < 0)
		return r;
	/* Not a chain: exactly one vector, maybe empty. */
	*argvp = c.segv[0];
	free(c.segv);
	return (int)argv_count(*argvp);
}

int
argv_split_chain(const char *s, struct argv_chain *c, char *err,
    size_t errlen)
{
	return tok_split(s, strlen(s), 1, c, err, errlen);
}

int
argv_split_chain_n(const char *s, size_t len, struct argv_chain *c,
    char *err, size_t errlen)
{
	return tok_split(s, len, 1, c, err, errlen);
}

void
argv_free(char **v)
{
	size_t	i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

void
argv_chain_free(struct argv_chain *c)
{
	size_t	i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nseg; i++)
		argv_free(c->segv[i]);
	free(c->segv);
	c->segv = NULL;
	c->nseg = 0;
}

size_t
argv_count(char *const *v)
{
	size_t	n = 0;

	while (v != NULL && v[n] != NULL)
		n++;
	return n;
}

char **
argv_copy(char *const *v)
{
	char	**c;
	size_t	  n = argv_count(v), i;

	if ((c = calloc(n + 1, sizeof(*c))) == NULL)
		return (NULL);
	for (i = 0; i < n; i++) {
		if ((c[i] = strdup(v[i])) == NULL) {
			argv_free(c);
			return (NULL);
		}
	}
	return (c);
}
