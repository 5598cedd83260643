/*
 * What an agent must not read of the project; see mask.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "argv.h"
#include "mask.h"

#define USERS	".claude/users/"

/* .env, .env.local, prod.env: the names secrets are kept under. */
static int
env_name(const char *c, size_t l)
{
	if (l == 4 && memcmp(c, ".env", 4) == 0)
		return 1;
	if (l >= 5 && memcmp(c, ".env.", 5) == 0)
		return 1;
	return l > 4 && memcmp(c + l - 4, ".env", 4) == 0;
}

int
mask_secret_name(const char *name)
{
	return (env_name(name, strlen(name)));
}

int
mask_agents_tree(const char *path)
{
	static const char	*trees[] = { ".claude/users", ".claude/sessions" };
	size_t			 i, n;

	for (i = 0; i < sizeof(trees) / sizeof(trees[0]); i++) {
		n = strlen(trees[i]);
		if (strncmp(path, trees[i], n) == 0 &&
		    (path[n] == '\0' || path[n] == '/'))
			return (1);
	}
	return (0);
}

static int
hide(char *why, size_t whylen, const char *s, size_t l)
{
	if (whylen > 0)
		snprintf(why, whylen, "%.*s", (int)l, s);
	return 1;
}

int
mask_path(const char *agent, const char *const *masks, const char *path,
    char *why, size_t whylen)
{
	const char	*c = path;
	size_t		 l, ml, i, ul = strlen(USERS);

	if (agent == NULL)
		return 0;
	for (i = 0; masks != NULL && masks[i] != NULL; i++) {
		ml = strlen(masks[i]);
		if (ml == 0 || (strncmp(path, masks[i], ml) == 0 &&
		    (path[ml] == '\0' || path[ml] == '/')))
			return hide(why, whylen, masks[i], ml);
	}
	if (strcmp(path, ".mcp.json") == 0 ||
	    strcmp(path, ".claude/settings.local.json") == 0)
		return hide(why, whylen, path, strlen(path));
	if (strncmp(path, USERS, ul) == 0 && path[ul] != '\0') {
		l = strcspn(path + ul, "/");
		if (l != strlen(agent) || strncmp(path + ul, agent, l) != 0)
			return hide(why, whylen, path, ul + l);
	}
	while (*c != '\0') {
		l = strcspn(c, "/");
		if (env_name(c, l))
			return hide(why, whylen, path, (size_t)(c - path) + l);
		c += l;
		if (*c == '/')
			c++;
	}
	return 0;
}

static int
add(char ***v, size_t *n, char *s)
{
	char	**nv;

	if (s == NULL || (nv = reallocarray(*v, *n + 2, sizeof(*nv))) ==
	    NULL) {
		free(s);
		return -1;
	}
	*v = nv;
	nv[(*n)++] = s;
	nv[*n] = NULL;
	return 0;
}

static int	addf(char ***, size_t *, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static int
addf(char ***v, size_t *n, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	int	 r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r == -1)
		return -1;
	return add(v, n, s);
}

char **
mask_pathspecs(const char *agent, const char *const *masks,
    const char *const *users)
{
	char				**v;
	size_t				  n = 0, i;

	if ((v = calloc(1, sizeof(*v))) == NULL)
		return NULL;
	if (agent == NULL)
		return v;
	/*
	 * No wildcard: git matches an exclude against the leading
	 * directories of what it adds, so a glob of *.env at any depth
	 * would drop a whole directory named to add.  Files named like secrets are found by
	 * the probe instead (git-tool.c), which refuses the call.
	 */
	if (add(&v, &n, strdup(":(top,literal,exclude).mcp.json")) == -1 ||
	    add(&v, &n, strdup(":(top,literal,exclude).claude/"
	    "settings.local.json")) == -1)
		goto fail;
	/*
	 * Every other entry of .claude/users, by its literal name: git's
	 * wildcard excludes also drop a path named in full below the one
	 * that must stay (the agent's own).
	 */
	for (i = 0; users != NULL && users[i] != NULL; i++)
		if (strcmp(users[i], agent) != 0 && addf(&v, &n,
		    ":(top,literal,exclude)" USERS "%s", users[i]) == -1)
			goto fail;
	for (i = 0; masks != NULL && masks[i] != NULL; i++)
		if (addf(&v, &n, ":(top,literal,exclude)%s", masks[i]) == -1)
			goto fail;
	return v;
fail:
	argv_free(v);
	return NULL;
}

char **
mask_read_pathspecs(const char *agent, const char *const *masks,
    const char *const *users)
{
	/*
	 * Without "glob" magic git's "*" matches "/" too, so these four are
	 * exactly mask_secret_name on some component: one ending in .env
	 * (.env itself included) last or before a "/", one starting with
	 * .env. at the top or after a "/".  Case-sensitive, as the rule.
	 */
	static const char *const	 env[] = {
		":(top,exclude)*.env", ":(top,exclude)*.env/*",
		":(top,exclude).env.*", ":(top,exclude)*/.env.*", NULL
	};
	char				**v;
	size_t				  n, i;

	if ((v = mask_pathspecs(agent, masks, users)) == NULL)
		return NULL;
	if (agent == NULL)
		return v;
	n = argv_count(v);
	for (i = 0; env[i] != NULL; i++)
		if (add(&v, &n, strdup(env[i])) == -1) {
			argv_free(v);
			return NULL;
		}
	return v;
}
