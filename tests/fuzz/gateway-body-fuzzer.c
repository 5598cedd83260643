/*
 * libFuzzer harness for gateway_body_read.  The invariants:
 *
 * - a body passed on is written anew, and reading that writing passes it
 *   on unchanged (what the QMS server gets, qmsd reads the same way);
 * - a body refused gives no writing, a JSON-RPC code of -32700 or
 *   -32600, and words;
 * - a writing holds no byte below 0x20 and no \u0000.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway-body.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	 why[160], *out, *again;
	cJSON	*all, *all2;
	size_t	 i;
	int	 code;

	all = gateway_body_read((const char *)data, size, &out, &code, why,
	    sizeof(why));
	if (all == NULL) {
		if (out != NULL || (code != -32700 && code != -32600) ||
		    why[0] == '\0')
			abort();
		return (0);
	}
	for (i = 0; out[i] != '\0'; i++)
		if ((unsigned char)out[i] < 0x20)
			abort();
	if (strstr(out, "\\u0000") != NULL && strstr(out, "\\\\u0000") == NULL)
		abort();
	if ((all2 = gateway_body_read(out, strlen(out), &again, &code, why,
	    sizeof(why))) == NULL || strcmp(out, again) != 0)
		abort();
	cJSON_Delete(all);
	cJSON_Delete(all2);
	free(out);
	free(again);
	return (0);
}
