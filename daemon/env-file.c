#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "env-file.h"
#include "util.h"

char **
env_file_parse(const char *text, size_t len, const char *path, char *err,
    size_t errlen)
{
	const char	*s = text, *end = text + len, *nl;
	char		**env;
	size_t		  n = 0, lineno = 0, ll;

	if (memchr(text, '\0', len) != NULL) {
		snprintf(err, errlen, "env-file %s: a NUL byte; it is not a "
		    "text file", path);
		return (NULL);
	}
	env = xcalloc(ENV_FILE_MAX_VARS + 1, sizeof(*env));
	for (; s < end; s = nl + 1) {
		lineno++;
		if ((nl = memchr(s, '\n', (size_t)(end - s))) == NULL)
			nl = end;
		ll = (size_t)(nl - s);
		if (ll > 0 && s[ll - 1] == '\r')
			ll--;
		if (ll == 0 || s[0] == '#')
			continue;
		if (ll > ENV_FILE_MAX_LINE) {
			snprintf(err, errlen, "%s:%zu: longer than %d bytes",
			    path, lineno, ENV_FILE_MAX_LINE);
			goto fail;
		}
		if (s[0] == '=' || memchr(s, '=', ll) == NULL) {
			snprintf(err, errlen, "%s:%zu: not KEY=VALUE", path,
			    lineno);
			goto fail;
		}
		if (n == ENV_FILE_MAX_VARS) {
			snprintf(err, errlen, "%s:%zu: more than %d variables",
			    path, lineno, ENV_FILE_MAX_VARS);
			goto fail;
		}
		env[n] = xcalloc(1, ll + 1);
		memcpy(env[n++], s, ll);
	}
	return (env);
fail:
	env_file_free(env);
	return (NULL);
}

char **
env_file_read(const char *path, struct stat *stp, char *err, size_t errlen)
{
	struct stat	  st;
	char		 *buf, **env;
	size_t		  len = 0;
	ssize_t		  r;
	int		  fd;

	/*
	 * Never a blocking open on the loop: a FIFO at the path would hold
	 * every client.  Only a regular file is an env-file.
	 */
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "env-file %s: %s", path, strerror(errno));
		return (NULL);
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "env-file %s: not a regular file", path);
		close(fd);
		return (NULL);
	}
	if (st.st_size > ENV_FILE_MAX_SIZE) {
		snprintf(err, errlen, "env-file %s: larger than %d bytes",
		    path, ENV_FILE_MAX_SIZE);
		close(fd);
		return (NULL);
	}
	/* One byte more than allowed tells a file that grew meanwhile. */
	buf = xcalloc(1, ENV_FILE_MAX_SIZE + 1);
	while (len <= ENV_FILE_MAX_SIZE && (r = read(fd, buf + len,
	    ENV_FILE_MAX_SIZE + 1 - len)) != 0) {
		if (r == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "env-file %s: %s", path,
			    strerror(errno));
			goto fail;
		}
		len += (size_t)r;
	}
	if (len > ENV_FILE_MAX_SIZE) {
		snprintf(err, errlen, "env-file %s: larger than %d bytes",
		    path, ENV_FILE_MAX_SIZE);
		goto fail;
	}
	close(fd);
	env = env_file_parse(buf, len, path, err, errlen);
	explicit_bzero(buf, len);
	free(buf);
	if (env != NULL && stp != NULL)
		*stp = st;
	return (env);
fail:
	close(fd);
	explicit_bzero(buf, len);
	free(buf);
	return (NULL);
}

const char *
env_file_get(char *const *env, const char *name)
{
	const char	*v = NULL;
	size_t		 n = strlen(name), i;

	for (i = 0; env != NULL && env[i] != NULL; i++)
		if (strncmp(env[i], name, n) == 0 && env[i][n] == '=')
			v = env[i] + n + 1;
	return (v);
}

void
env_file_free(char **env)
{
	size_t	i;

	if (env == NULL)
		return;
	for (i = 0; env[i] != NULL; i++) {
		explicit_bzero(env[i], strlen(env[i]));
		free(env[i]);
	}
	free(env);
}
