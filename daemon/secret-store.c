#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "argv.h"
#include "config.h"
#include "env-file.h"
#include "secret-auth.h"
#include "secret-rule.h"
#include "secret-store.h"
#include "token.h"
#include "util.h"

struct secret_value {
	char	 agent[64];
	char	 name[SECRET_MAX_NAME + 1];
	char	*value;
};

static struct secret_value	*values;
static size_t			 nvalues;

static void
values_free(struct secret_value *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (v[i].value != NULL) {
			explicit_bzero(v[i].value, strlen(v[i].value));
			free(v[i].value);
		}
	}
	if (v != NULL)
		explicit_bzero(v, n * sizeof(*v));
	free(v);
}

/*
 * Whether the env-file may hold a secret: root's (or the user qmsd runs
 * as, who could read it anyway), and nobody else's to read or write.
 */
static int
private_enough(const char *path, const struct stat *st, const char *name,
    char *err, size_t errlen)
{
	if (st->st_uid != 0 && st->st_uid != geteuid()) {
		snprintf(err, errlen, "env-file %s holds secret %s but is owned "
		    "by uid %u: chown root it, mode 600", path, name,
		    (unsigned)st->st_uid);
		return (-1);
	}
	if ((st->st_mode & 077) != 0) {
		snprintf(err, errlen, "env-file %s holds secret %s but is mode "
		    "%04o: chmod 600 it, owned by root", path, name,
		    (unsigned)(st->st_mode & 07777));
		return (-1);
	}
	return (0);
}

/* One agent's secrets into v (room for SECRET_MAX_PER_AGENT more). */
static int
load_agent(const struct agent_conf *a, struct secret_value *v, size_t *nv,
    char *err, size_t errlen)
{
	struct secret_rule	 rule;
	struct stat		 st;
	char			 why[256], **env;
	const char		*val;
	size_t			 i;

	if (argv_count(a->secrets) == 0)
		return (0);
	if (a->env_file == NULL) {	/* config.c refuses it */
		snprintf(err, errlen, "agent %s: secrets without an env-file",
		    a->name);
		return (-1);
	}
	if ((env = env_file_read(a->env_file, &st, why, sizeof(why))) ==
	    NULL) {
		snprintf(err, errlen, "agent %s: %s", a->name, why);
		return (-1);
	}
	for (i = 0; a->secrets[i] != NULL && i < SECRET_MAX_PER_AGENT; i++) {
		if (secret_rule_parse(a->secrets[i], &rule, why,
		    sizeof(why)) == -1) {
			snprintf(err, errlen, "agent %s: secret: %s", a->name,
			    why);
			goto fail;
		}
		if (i == 0 && private_enough(a->env_file, &st, rule.name, err,
		    errlen) == -1)
			goto fail;
		if ((val = env_file_get(env, rule.name)) == NULL ||
		    val[0] == '\0') {
			snprintf(err, errlen, "agent %s: env-file %s %s secret "
			    "%s", a->name, a->env_file, val == NULL ?
			    "does not give" : "gives an empty value for",
			    rule.name);
			goto fail;
		}
		snprintf(v[*nv].agent, sizeof(v[*nv].agent), "%s", a->name);
		snprintf(v[*nv].name, sizeof(v[*nv].name), "%s", rule.name);
		v[(*nv)++].value = xstrdup(val);
	}
	env_file_free(env);
	return (0);
fail:
	env_file_free(env);
	return (-1);
}

int
secret_store_load(const struct config *c, char *err, size_t errlen)
{
	struct secret_value	*v;
	size_t			 nv = 0, i;

	v = xcalloc(CONFIG_MAX_AGENTS * SECRET_MAX_PER_AGENT, sizeof(*v));
	for (i = 0; i < c->nagents; i++) {
		if (load_agent(&c->agents[i], v, &nv, err, errlen) == -1) {
			values_free(v, nv);
			return (-1);
		}
	}
	values_free(values, nvalues);
	values = v;
	nvalues = nv;
	return (0);
}

const char *
secret_store_value(const char *agent, const char *name)
{
	size_t	i;

	for (i = 0; i < nvalues; i++)
		if (strcmp(values[i].agent, agent) == 0 &&
		    strcmp(values[i].name, name) == 0)
			return (values[i].value);
	return (NULL);
}

void
secret_store_placeholder(const char *agent, const char *name, char *out,
    size_t outlen)
{
	secret_placeholder(token_host(), agent, name, out, outlen);
}

void
secret_store_clear(void)
{
	values_free(values, nvalues);
	values = NULL;
	nvalues = 0;
}
