/*
 * libFuzzer harness for qmsd.conf parsing: any file must give a whole
 * configuration or one error naming file:line, never a crash or a leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config	*c;
	char		 err[1024];
	FILE		*fp;

	if (size == 0 || (fp = fmemopen((void *)data, size, "r")) == NULL)
		return (0);
	err[0] = '\0';
	c = config_load_stream(fp, "fuzz.conf", err, sizeof(err));
	fclose(fp);
	if (c == NULL) {
		/* Every error names the file, and a line when in the file. */
		if (strncmp(err, "fuzz.conf:", 10) != 0 &&
		    strstr(err, "project-root") == NULL &&
		    strstr(err, "run-as") == NULL)
			abort();
	}
	config_free(c);
	return (0);
}
