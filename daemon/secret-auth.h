/*
 * A placeholder swapped for its secret in an Authorization header value.
 * Pure: no I/O, no global state.
 *
 * Only where the credential is the placeholder, whole:
 *	Bearer PLACEHOLDER		(scheme matched without case)
 *	token PLACEHOLDER
 *	Basic base64(USER:PASSWORD)	USER or PASSWORD is the placeholder
 * A placeholder anywhere else (inside a longer word, another scheme, a
 * Basic value that does not decode) is not replaced: the value goes as
 * it came, and is no secret.
 */
#ifndef QMSD_SECRET_AUTH_H
#define QMSD_SECRET_AUTH_H

#include <stddef.h>

/* An Authorization value longer than this is refused by the caller. */
#define SECRET_AUTH_MAX		8192

/*
 * value (vlen bytes, blanks trimmed) with placeholder replaced by secret:
 * returns 1 and a new NUL-terminated string in *out (free it), 0 when
 * there is no placeholder to replace (*out NULL).
 */
int	secret_auth_replace(const char *value, size_t vlen,
	    const char *placeholder, const char *secret, char **out);

/*
 * placeholder for agent's secret name: "qmsd-placeholder-NAME-" and 32
 * hex digits of HMAC-SHA-256(key, "qmsd secret placeholder\n" agent "\n"
 * name), so it stays the same while key (the host token) does, and says
 * nothing of the secret.  out has SECRET_PLACEHOLDER_MAX + 1 bytes.
 */
void	secret_placeholder(const char *key, const char *agent,
	    const char *name, char *out, size_t outlen);

#endif
