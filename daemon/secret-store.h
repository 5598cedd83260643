/*
 * The values of the agents' secrets (secret-rule.h), kept in qmsd's
 * memory for the egress proxy and nowhere else: read from each agent's
 * env-file at start and at every reload, for the names its secret keys
 * declare and only those.  Never logged, never written.
 */
#ifndef QMSD_SECRET_STORE_H
#define QMSD_SECRET_STORE_H

#include <stddef.h>

struct config;

/*
 * Read the secrets of every agent of the configuration, replacing those
 * held only when all are read; -1 with why (the old ones kept).  An
 * env-file that holds a secret must be root's (or qmsd's user's) with
 * no permission for group or others; a declared name it lacks, or
 * gives an empty value, is an error.  Blocking: at start and reload.
 */
int		 secret_store_load(const struct config *, char *err,
		    size_t errlen);

/* agent's secret name, or NULL when there is none such. */
const char	*secret_store_value(const char *agent, const char *name);

/*
 * What the container has in place of the value: secret_placeholder
 * (secret-auth.h) keyed by the host token (token.h), so token_init has
 * run.  out has SECRET_PLACEHOLDER_MAX + 1 bytes.
 */
void		 secret_store_placeholder(const char *agent, const char *name,
		    char *out, size_t outlen);

/* Every value wiped and forgotten. */
void		 secret_store_clear(void);

#endif
