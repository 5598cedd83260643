#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent-identity.h"
#include "agent-spec.h"
#include "config.h"
#include "util.h"

/* What git trims from either end of a name or an email (ident.c's crud). */
static int
crud(unsigned char c)
{
	return (c <= ' ' || c == '.' || c == ',' || c == ':' || c == ';' ||
	    c == '<' || c == '>' || c == '"' || c == '\\' || c == '\'');
}

int
agent_ident_check(const char *v, char *why, size_t len)
{
	size_t		n = strlen(v), i;
	unsigned char	c;

	if (n == 0 || n > AGENT_IDENT_MAX) {
		snprintf(why, len, "must have 1 to %d characters",
		    AGENT_IDENT_MAX);
		return (-1);
	}
	for (i = 0; i < n; i++) {
		c = (unsigned char)v[i];
		if (c < ' ' || c == 0x7f) {
			snprintf(why, len, "a control character (0x%02x) at "
			    "byte %zu", c, i + 1);
			return (-1);
		}
		if (c == '<' || c == '>') {
			snprintf(why, len, "\"%s\": git drops < and >", v);
			return (-1);
		}
	}
	if (crud((unsigned char)v[0]) || crud((unsigned char)v[n - 1])) {
		snprintf(why, len, "\"%s\": git would drop the blank or "
		    "punctuation it starts or ends with", v);
		return (-1);
	}
	return (0);
}

char *
agent_passwd(const struct agent_conf *c, const struct agent_facts *f)
{
	char	*s;

	/* The name is the agent's, which config.c keeps a valid user name. */
	xasprintf(&s, "%s:x:%u:%u:qmsd agent %s:/claude-config:/bin/bash\n",
	    c->name, (unsigned)f->uid, (unsigned)f->gid, c->name);
	return (s);
}

char *
agent_group(const struct agent_conf *c, const struct agent_facts *f)
{
	char	*s;

	xasprintf(&s, "%s:x:%u:\n", c->name, (unsigned)f->gid);
	return (s);
}

/*
 * A value in git-config syntax: always quoted, so that ; and # are not
 * comments and blanks stay, with the escapes git reads back.  The checks
 * keep control characters out already; a newline is escaped here all the
 * same, since it alone could end the value and start a section.
 */
static void
git_quote(FILE *f, const char *v)
{
	fputc('"', f);
	for (; *v != '\0'; v++) {
		switch (*v) {
		case '"':
		case '\\':
			fputc('\\', f);
			fputc(*v, f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		case '\b':
			fputs("\\b", f);
			break;
		default:
			fputc(*v, f);
		}
	}
	fputc('"', f);
}

/*
 * Whether gh has a token for github.com in the container: GH_TOKEN or
 * GITHUB_TOKEN set to something in the env-file.  The token itself is
 * never written anywhere; gh reads it from the environment.
 */
static int
gh_token(char *const *env)
{
	static const char	*vars[] = { "GH_TOKEN=", "GITHUB_TOKEN=" };
	int			 set[2] = { 0, 0 };
	size_t			 i, j, n;

	for (i = 0; env != NULL && env[i] != NULL; i++) {
		for (j = 0; j < nitems(vars); j++) {
			n = strlen(vars[j]);
			/* The last line of a name is the one Docker keeps. */
			if (strncmp(env[i], vars[j], n) == 0)
				set[j] = env[i][n] != '\0';
		}
	}
	return (set[0] || set[1]);
}

char *
agent_gitconfig(const struct agent_conf *c, const struct agent_facts *f)
{
	static const char	*hosts[] = { "https://github.com",
				    "https://gist.github.com" };
	char			*text = NULL;
	size_t			 len = 0, i;
	FILE			*m;

	if ((m = open_memstream(&text, &len)) == NULL)
		fatal("open_memstream");
	fprintf(m, "# Made by qmsd for the agent %s: the system level, which "
	    "~/.gitconfig\n# (git config --global) overrides.\n[user]\n"
	    "\tname = ", c->name);
	git_quote(m, c->git_user_name);
	fputs("\n\temail = ", m);
	git_quote(m, c->git_user_email);
	fputc('\n', m);
	/*
	 * What `gh auth setup-git` writes: the empty helper ends the list of
	 * helpers before it.  gh is found on PATH, wherever the image has it.
	 */
	for (i = 0; gh_token(f->env) && i < nitems(hosts); i++)
		fprintf(m, "[credential \"%s\"]\n\thelper =\n\thelper = "
		    "\"!gh auth git-credential\"\n", hosts[i]);
	if (fclose(m) != 0)
		fatal("open_memstream");
	return (text);
}
