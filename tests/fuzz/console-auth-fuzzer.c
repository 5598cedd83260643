/*
 * libFuzzer harness for the Cookie header parser of the console, which
 * reads what any browser (or any local process) sends, and for the secret
 * lookups, which take any string.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "console-auth.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*v;
	char		*s;
	size_t		 len;

	if ((s = malloc(size + 1)) == NULL)
		return (0);
	memcpy(s, data, size);
	s[size] = '\0';
	if ((v = console_cookie(s, "qmsd_console", &len)) != NULL) {
		/* Within the header, and never ending in a space. */
		if (v < s || v + len > s + strlen(s) || (len > 0 &&
		    (v[len - 1] == ' ' || v[len - 1] == '\t')))
			abort();
	}
	if (console_link_use(s, 0) == CONSOLE_LINK_OK ||
	    console_session_check(s, 0))
		abort();	/* nothing was ever made */
	free(s);
	return (0);
}
