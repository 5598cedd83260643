/* The control-protocol codec, both directions, and every error it names. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "proto.h"

static int
decode(const char *line, char *method, size_t mlen, char *idbuf, size_t ilen)
{
	struct proto_request	 req;
	cJSON			*id = NULL;
	char			 err[256];
	char			*s;
	int			 rc;

	method[0] = idbuf[0] = '\0';
	rc = proto_decode_request(line, strlen(line), &req, &id, err,
	    sizeof(err));
	if (rc == 0) {
		snprintf(method, mlen, "%s", req.method);
		if (req.id != NULL) {
			s = cJSON_PrintUnformatted(req.id);
			snprintf(idbuf, ilen, "%s", s);
			free(s);
		}
		proto_request_free(&req);
	} else {
		snprintf(method, mlen, "%s", err);
		if (id != NULL) {
			s = cJSON_PrintUnformatted(id);
			snprintf(idbuf, ilen, "%s", s);
			free(s);
		}
	}
	cJSON_Delete(id);
	return (rc);
}

int
main(void)
{
	static const struct {
		const char	*line;
		int		 code;
		const char	*id;
	} cases[] = {
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"status\"}", 0, "1" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"x\",\"params\":{}}", 0, "\"a\"" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"x\",\"params\":[]}", 0, "null" },
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"x\"}", 0, "" },
		{ "  {\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"x\"}  \r", 0, "2" },
		{ "garbage", PROTO_PARSE_ERROR, "" },
		{ "", PROTO_PARSE_ERROR, "" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\"", PROTO_PARSE_ERROR, "" },
		{ "{}{}", PROTO_PARSE_ERROR, "" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\"} x", PROTO_PARSE_ERROR, "" },
		{ "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\"}]", PROTO_INVALID_REQUEST, "" },
		{ "42", PROTO_INVALID_REQUEST, "" },
		{ "\"status\"", PROTO_INVALID_REQUEST, "" },
		{ "{\"id\":3,\"method\":\"x\"}", PROTO_INVALID_REQUEST, "3" },
		{ "{\"jsonrpc\":\"1.0\",\"id\":3,\"method\":\"x\"}", PROTO_INVALID_REQUEST, "3" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":4}", PROTO_INVALID_REQUEST, "4" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"\"}", PROTO_INVALID_REQUEST, "5" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":7}", PROTO_INVALID_REQUEST, "6" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"x\"}", PROTO_INVALID_REQUEST, "" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"x\",\"params\":1}", PROTO_INVALID_REQUEST, "7" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"x\",\"params\":\"s\"}", PROTO_INVALID_REQUEST, "8" },
	};
	struct proto_response	 resp;
	char			 method[256], id[64], err[128], *line;
	cJSON			*jid, *params;
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = decode(cases[i].line, method, sizeof(method), id,
		    sizeof(id));
		if (rc != cases[i].code)
			fprintf(stderr, "case %zu: %s -> %d (%s)\n", i,
			    cases[i].line, rc, method);
		CHECK(rc == cases[i].code);
		CHECK_STR(id, cases[i].id);
	}

	/* A NUL inside the line is refused, not silently cut short. */
	{
		struct proto_request	req;
		const char		buf[] = "{\"jsonrpc\":\"2.0\",\"id\":1,"
		    "\"method\":\"x\"}\0junk";
		CHECK(proto_decode_request(buf, sizeof(buf) - 1, &req, &jid,
		    err, sizeof(err)) == PROTO_PARSE_ERROR);
		cJSON_Delete(jid);
	}

	/* Encoders end in one newline and round-trip through the decoder. */
	params = cJSON_CreateObject();
	cJSON_AddStringToObject(params, "k", "v\nw");
	line = proto_encode_request(9, "status", params);
	CHECK(line != NULL && strchr(line, '\n') == line + strlen(line) - 1);
	CHECK(decode(line, method, sizeof(method), id, sizeof(id)) == 0);
	CHECK_STR(method, "status");
	CHECK_STR(id, "9");
	free(line);

	jid = cJSON_CreateNumber(9);
	line = proto_encode_result(jid, cJSON_CreateString("fine"));
	CHECK(proto_decode_response(line, strlen(line) - 1, &resp, err,
	    sizeof(err)) == 0);
	CHECK(resp.id == 9 && cJSON_IsString(resp.result) && resp.code == 0);
	proto_response_free(&resp);
	free(line);

	line = proto_encode_error(jid, PROTO_METHOD_NOT_FOUND, "no such");
	CHECK(proto_decode_response(line, strlen(line) - 1, &resp, err,
	    sizeof(err)) == 0);
	CHECK(resp.result == NULL && resp.code == PROTO_METHOD_NOT_FOUND);
	CHECK_STR(resp.message, "no such");
	proto_response_free(&resp);
	free(line);
	cJSON_Delete(jid);

	/* An error without an id says "id": null, as JSON-RPC asks. */
	line = proto_encode_error(NULL, PROTO_PARSE_ERROR, "bad");
	CHECK(line != NULL && strstr(line, "\"id\":null") != NULL);
	free(line);

	CHECK(proto_decode_response("{\"jsonrpc\":\"2.0\",\"id\":1}", 24,
	    &resp, err, sizeof(err)) == -1);
	CHECK(proto_decode_response("nope", 4, &resp, err, sizeof(err)) == -1);

	return (check_done("test-proto"));
}
