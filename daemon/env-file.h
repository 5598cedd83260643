/*
 * An agent's env-file (qmsd.conf(5): env-file): NAME=VALUE lines, empty
 * lines and lines starting with # skipped, everything else taken as it
 * is (no quotes removed, no "export").  The one reader of it: the
 * container's environment (agent-host.c) and the secrets kept for the
 * egress proxy (secret-store.c) both come from here.
 */
#ifndef QMSD_ENV_FILE_H
#define QMSD_ENV_FILE_H

#include <sys/stat.h>

#include <stddef.h>

#define ENV_FILE_MAX_VARS	64
#define ENV_FILE_MAX_LINE	4095
#define ENV_FILE_MAX_SIZE	(1024 * 1024)

/*
 * The NAME=VALUE lines of text (len bytes), path naming it in errors:
 * a NULL-terminated list (env_file_free it), or NULL with why.  Pure.
 */
char	**env_file_parse(const char *text, size_t len, const char *path,
	    char *err, size_t errlen);

/*
 * The same from the file at path, opened without waiting (a FIFO there
 * is refused, not waited on), a regular file only, at most
 * ENV_FILE_MAX_SIZE; st (NULL: not wanted) gets what fstat said of it.
 */
char	**env_file_read(const char *path, struct stat *st, char *err,
	    size_t errlen);

/* The value of the last line naming name, or NULL. */
const char *env_file_get(char *const *env, const char *name);

/* Each line wiped (it may hold a secret) and freed. */
void	 env_file_free(char **env);

#endif
