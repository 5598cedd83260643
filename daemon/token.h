/*
 * Bearer tokens for the HTTP listener.  The host token is made at first
 * start and kept 0600 in the state directory; agents get theirs when their
 * containers are created.  A token says who is calling; comparisons take
 * the same time whatever the token, and tokens are never logged.
 */
#ifndef QMSD_TOKEN_H
#define QMSD_TOKEN_H

#include <stddef.h>

#define TOKEN_LEN	68	/* "qms_" and 64 hex digits */

/* Load the host token from state_dir, making it (and the dir) if needed. */
int		 token_init(const char *state_dir, char *err, size_t);
const char	*token_host(void);
/* Give an identity (an agent's name) a token, replacing any it had. */
void		 token_set(const char *identity, const char *token);
void		 token_remove(const char *identity);
/* A fresh random token. */
void		 token_generate(char out[TOKEN_LEN + 1]);
/* The identity a presented token belongs to ("host" for the host token). */
const char	*token_lookup(const char *presented);
void		 token_shutdown(void);

#endif
