/*
 * libFuzzer harness for the reply parser of the readiness probe: a child
 * may answer anything, as JSON or as an SSE stream.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"
#include "url.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	version[64], err[256], host[64], *s;
	int	port;

	if (size == 0)
		return (0);
	/* The first byte picks the content type. */
	probe_parse_reply(data[0] & 1 ? "text/event-stream" :
	    "application/json", (const char *)data + 1, size - 1, version,
	    sizeof(version), err, sizeof(err));
	if ((s = malloc(size + 1)) == NULL)
		return (0);
	memcpy(s, data, size);
	s[size] = '\0';
	if (url_host_port(s, host, sizeof(host), &port) == 0 &&
	    (port < 1 || port > 65535))
		abort();
	free(s);
	return (0);
}
