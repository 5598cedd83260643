/* The console's URL paths: see console-path.h. */
#include <string.h>

#include "console-path.h"

const char *
console_path_agent(const char *rest, char *name, size_t len)
{
	const char	*slash;
	size_t		 n;

	if (strncmp(rest, "agents/", 7) != 0)
		return (NULL);
	rest += 7;
	if ((slash = strchr(rest, '/')) == NULL ||
	    (n = (size_t)(slash - rest)) == 0 || n >= len ||
	    slash[1] == '\0' || strchr(slash + 1, '/') != NULL)
		return (NULL);
	memcpy(name, rest, n);
	name[n] = '\0';
	return (slash + 1);
}
