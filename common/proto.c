#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

/*
 * cJSON stops at the end of the first value; anything but white space after
 * it makes the line malformed, so "{}{}" is not taken as "{}".
 */
static cJSON *
parse_whole(const char *line, size_t len)
{
	const char	*end = NULL;
	cJSON		*root;

	root = cJSON_ParseWithLengthOpts(line, len, &end, 0);
	if (root == NULL)
		return (NULL);
	for (; end != NULL && end < line + len; end++) {
		if (*end != ' ' && *end != '\t' && *end != '\r' &&
		    *end != '\n' && *end != '\0') {
			cJSON_Delete(root);
			return (NULL);
		}
		/* cJSON may report the terminating NUL as consumed. */
		if (*end == '\0')
			break;
	}
	return (root);
}

static int
valid_id(const cJSON *id)
{
	return (cJSON_IsNumber(id) || cJSON_IsString(id) || cJSON_IsNull(id));
}

int
proto_decode_request(const char *line, size_t len, struct proto_request *req,
    cJSON **idp, char *err, size_t errlen)
{
	cJSON	*root, *v, *id, *method, *params;

	memset(req, 0, sizeof(*req));
	*idp = NULL;
	if (memchr(line, '\0', len) != NULL) {
		snprintf(err, errlen, "request contains a NUL byte");
		return (PROTO_PARSE_ERROR);
	}
	if ((root = parse_whole(line, len)) == NULL) {
		snprintf(err, errlen, "parse error: not a JSON value");
		return (PROTO_PARSE_ERROR);
	}
	if (cJSON_IsArray(root)) {
		cJSON_Delete(root);
		snprintf(err, errlen, "batch requests are not supported");
		return (PROTO_INVALID_REQUEST);
	}
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		snprintf(err, errlen, "a request must be a JSON object");
		return (PROTO_INVALID_REQUEST);
	}
	id = cJSON_GetObjectItemCaseSensitive(root, "id");
	if (id != NULL && valid_id(id))
		*idp = cJSON_Duplicate(id, 1);

	v = cJSON_GetObjectItemCaseSensitive(root, "jsonrpc");
	if (!cJSON_IsString(v) || strcmp(v->valuestring, "2.0") != 0) {
		snprintf(err, errlen, "\"jsonrpc\" must be \"2.0\"");
		goto invalid;
	}
	if (id != NULL && !valid_id(id)) {
		snprintf(err, errlen, "\"id\" must be a number, a string "
		    "or null");
		goto invalid;
	}
	method = cJSON_GetObjectItemCaseSensitive(root, "method");
	if (!cJSON_IsString(method) || method->valuestring[0] == '\0') {
		snprintf(err, errlen, "\"method\" must be a non-empty string");
		goto invalid;
	}
	params = cJSON_GetObjectItemCaseSensitive(root, "params");
	if (params != NULL && !cJSON_IsObject(params) &&
	    !cJSON_IsArray(params)) {
		snprintf(err, errlen, "\"params\" must be an object or an "
		    "array");
		goto invalid;
	}
	req->root = root;
	req->method = method->valuestring;
	req->id = id;
	req->params = params;
	return (0);

invalid:
	cJSON_Delete(root);
	return (PROTO_INVALID_REQUEST);
}

void
proto_request_free(struct proto_request *req)
{
	cJSON_Delete(req->root);
	memset(req, 0, sizeof(*req));
}

/* Print compactly and append the newline that ends a message. */
static char *
proto_finish(cJSON *msg)
{
	char	*s, *line = NULL;

	if ((s = cJSON_PrintUnformatted(msg)) != NULL) {
		if (asprintf(&line, "%s\n", s) == -1)
			line = NULL;
		free(s);
	}
	cJSON_Delete(msg);
	return (line);
}

static cJSON *
envelope(const cJSON *id)
{
	cJSON	*msg;

	if ((msg = cJSON_CreateObject()) == NULL)
		return (NULL);
	cJSON_AddStringToObject(msg, "jsonrpc", "2.0");
	if (id != NULL)
		cJSON_AddItemToObject(msg, "id", cJSON_Duplicate(id, 1));
	else
		cJSON_AddNullToObject(msg, "id");
	return (msg);
}

char *
proto_encode_result(const cJSON *id, cJSON *result)
{
	cJSON	*msg;

	if ((msg = envelope(id)) == NULL) {
		cJSON_Delete(result);
		return (NULL);
	}
	if (result == NULL)
		result = cJSON_CreateObject();
	cJSON_AddItemToObject(msg, "result", result);
	return (proto_finish(msg));
}

char *
proto_encode_error(const cJSON *id, int code, const char *message)
{
	cJSON	*msg, *e;

	if ((msg = envelope(id)) == NULL)
		return (NULL);
	e = cJSON_AddObjectToObject(msg, "error");
	cJSON_AddNumberToObject(e, "code", code);
	cJSON_AddStringToObject(e, "message", message);
	return (proto_finish(msg));
}

/* A request, or without an id (has_id 0) a notification. */
static char *
encode_call(int has_id, long id, const char *method, cJSON *params)
{
	cJSON	*msg;

	if ((msg = cJSON_CreateObject()) == NULL) {
		cJSON_Delete(params);
		return (NULL);
	}
	cJSON_AddStringToObject(msg, "jsonrpc", "2.0");
	if (has_id)
		cJSON_AddNumberToObject(msg, "id", (double)id);
	cJSON_AddStringToObject(msg, "method", method);
	if (params != NULL)
		cJSON_AddItemToObject(msg, "params", params);
	return (proto_finish(msg));
}

char *
proto_encode_request(long id, const char *method, cJSON *params)
{
	return (encode_call(1, id, method, params));
}

char *
proto_encode_notification(const char *method, cJSON *params)
{
	return (encode_call(0, 0, method, params));
}

int
proto_decode_response(const char *line, size_t len,
    struct proto_response *resp, char *err, size_t errlen)
{
	cJSON	*root, *id, *e, *code, *message;

	memset(resp, 0, sizeof(*resp));
	if ((root = parse_whole(line, len)) == NULL ||
	    !cJSON_IsObject(root)) {
		cJSON_Delete(root);
		snprintf(err, errlen, "malformed response from qmsd");
		return (-1);
	}
	id = cJSON_GetObjectItemCaseSensitive(root, "id");
	resp->root = root;
	/* Only an id qmsctl could have sent is one it can match. */
	if (cJSON_IsNumber(id) && id->valuedouble >= 0 &&
	    id->valuedouble <= 1e15)
		resp->id = (long)id->valuedouble;
	else
		resp->id = -1;
	e = cJSON_GetObjectItemCaseSensitive(root, "error");
	if (e != NULL) {
		code = cJSON_GetObjectItemCaseSensitive(e, "code");
		message = cJSON_GetObjectItemCaseSensitive(e, "message");
		resp->code = cJSON_IsNumber(code) ? code->valueint :
		    PROTO_FAILED;
		resp->message = cJSON_IsString(message) ?
		    message->valuestring : "unknown error";
		return (0);
	}
	resp->result = cJSON_GetObjectItemCaseSensitive(root, "result");
	if (resp->result == NULL) {
		proto_response_free(resp);
		snprintf(err, errlen, "response from qmsd has neither "
		    "result nor error");
		return (-1);
	}
	return (0);
}

void
proto_response_free(struct proto_response *resp)
{
	cJSON_Delete(resp->root);
	memset(resp, 0, sizeof(*resp));
}
