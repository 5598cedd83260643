/*
 * libFuzzer harness for env-file parsing: any bytes give a list of at
 * most ENV_FILE_MAX_VARS NAME=VALUE lines, each a line of the input
 * without its line end, none empty or a comment, or one error naming
 * the file; never a crash or a leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "env-file.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	 err[512], **env;
	size_t	 i, n;

	err[0] = '\0';
	env = env_file_parse((const char *)data, size, "fuzz.env", err,
	    sizeof(err));
	if (env == NULL) {
		if (strstr(err, "fuzz.env") == NULL)
			abort();
		return (0);
	}
	for (i = 0; env[i] != NULL; i++) {
		n = strlen(env[i]);
		if (i >= ENV_FILE_MAX_VARS || n == 0 || n > ENV_FILE_MAX_LINE ||
		    env[i][0] == '#' || env[i][0] == '=' ||
		    strchr(env[i], '=') == NULL || strchr(env[i], '\n') != NULL ||
		    memmem(data, size, env[i], n) == NULL)
			abort();
	}
	env_file_free(env);
	return (0);
}
