/*
 * libFuzzer harness for the console's API path parser, which reads the
 * path of whatever URL a browser (or any local process) asks for.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "console-path.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*a;
	char		*s, name[16];

	if ((s = malloc(size + 1)) == NULL)
		return (0);
	memcpy(s, data, size);
	s[size] = '\0';
	if ((a = console_path_agent(s, name, sizeof(name))) != NULL) {
		/* A name and an action, neither empty nor holding a '/'. */
		if (a < s || a > s + strlen(s) || *a == '\0' ||
		    strchr(a, '/') != NULL || name[0] == '\0' ||
		    strchr(name, '/') != NULL || strlen(name) >= sizeof(name) ||
		    strncmp(s + 7, name, strlen(name)) != 0)
			abort();
	}
	free(s);
	return (0);
}
