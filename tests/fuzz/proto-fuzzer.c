/*
 * libFuzzer harness for the control-protocol decoder: whatever bytes a
 * client sends, decoding must neither crash nor leak, and an accepted
 * request must hold a method string and params of an allowed type.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_request	 req;
	struct proto_response	 resp;
	cJSON			*id = NULL;
	char			 err[256], *line;
	int			 rc;

	rc = proto_decode_request((const char *)data, size, &req, &id, err,
	    sizeof(err));
	if (rc == 0) {
		if (req.method == NULL || req.method[0] == '\0')
			abort();
		if (req.params != NULL && !cJSON_IsObject(req.params) &&
		    !cJSON_IsArray(req.params))
			abort();
		/* An answer to it always encodes. */
		line = proto_encode_result(req.id, NULL);
		if (line == NULL || line[strlen(line) - 1] != '\n')
			abort();
		free(line);
		proto_request_free(&req);
	} else {
		if (rc != PROTO_PARSE_ERROR && rc != PROTO_INVALID_REQUEST)
			abort();
		if (err[0] == '\0')
			abort();
		line = proto_encode_error(id, rc, err);
		if (line == NULL)
			abort();
		free(line);
	}
	cJSON_Delete(id);

	if (proto_decode_response((const char *)data, size, &resp, err,
	    sizeof(err)) == 0)
		proto_response_free(&resp);
	return (0);
}
