#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent-identity.h"
#include "agent-spec.h"
#include "config.h"
#include "secret-rule.h"
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

/*
 * git's URL for a secret's "host:port": https and the port but for 443,
 * which git leaves out when it matches a credential.<url> section.
 */
static void
secret_url(const char *authority, char *out, size_t len)
{
	size_t	n = strlen(authority);

	if (n > 4 && strcmp(authority + n - 4, ":443") == 0)
		snprintf(out, len, "https://%.*s", (int)(n - 4), authority);
	else
		snprintf(out, len, "https://%s", authority);
}

/*
 * Whether one of the agent's secrets is for authority: git asks its own
 * helper there, which gives the placeholder (gitconfig_secrets).
 */
static int
secret_host(const struct agent_conf *c, const char *authority)
{
	struct secret_rule	rule;
	char			why[128];
	size_t			i;

	for (i = 0; c->secrets != NULL && c->secrets[i] != NULL; i++)
		if (secret_rule_parse(c->secrets[i], &rule, why,
		    sizeof(why)) == 0 && secret_rule_covers(&rule, authority))
			return (1);
	return (0);
}

/*
 * For each host of each secret, a credential helper that answers git's
 * "get" with x-access-token and the placeholder, which the egress proxy
 * swaps for the secret: what GitHub takes for a token over https, and
 * any host that takes a token as a Basic password.  The empty helper
 * first ends the list before it.  The placeholder is written here, not
 * read from the environment, so that git finds it whatever environment
 * the agent gives it; it is a word of letters, digits, - and _, and the
 * helper is the agent's own shell, run by its git in its container.
 */
static void
gitconfig_secrets(FILE *m, const struct agent_conf *c,
    const struct agent_facts *f)
{
	struct secret_rule	 rule;
	char			 why[128], url[EGRESS_MAX_AUTHORITY + 16];
	char			*helper;
	size_t			 i, j;

	for (i = 0; f->placeholders != NULL && c->secrets != NULL &&
	    c->secrets[i] != NULL &&
	    f->placeholders[i] != NULL; i++) {
		if (secret_rule_parse(c->secrets[i], &rule, why,
		    sizeof(why)) == -1)
			continue;
		xasprintf(&helper, "!f() { test \"$1\" = get || return 0; "
		    "echo username=x-access-token; echo password=%s; }; f",
		    f->placeholders[i]);
		for (j = 0; j < rule.nhosts; j++) {
			secret_url(rule.hosts[j], url, sizeof(url));
			fprintf(m, "[credential \"%s\"]\n\thelper =\n"
			    "\thelper = ", url);
			git_quote(m, helper);
			fputc('\n', m);
		}
		free(helper);
	}
}

char *
agent_gitconfig(const struct agent_conf *c, const struct agent_facts *f)
{
	static const struct {
		const char	*url;
		const char	*authority;
	} hosts[] = {
		{ "https://github.com", "github.com:443" },
		{ "https://gist.github.com", "gist.github.com:443" },
	};
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
		if (!secret_host(c, hosts[i].authority))
			fprintf(m, "[credential \"%s\"]\n\thelper =\n"
			    "\thelper = \"!gh auth git-credential\"\n",
			    hosts[i].url);
	gitconfig_secrets(m, c, f);
	if (fclose(m) != 0)
		fatal("open_memstream");
	return (text);
}
