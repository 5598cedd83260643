/*
 * The control protocol: newline-delimited JSON-RPC 2.0 on a Unix stream
 * socket (docs/control-protocol.md).  This file is the codec only: pure
 * functions from bytes to requests and from results to bytes, shared by
 * qmsd and qmsctl and fuzzed on their own.
 */
#ifndef QMSD_PROTO_H
#define QMSD_PROTO_H

#include <stddef.h>

#include <cjson/cJSON.h>

#define PROTO_VERSION		1
#define PROTO_MAX_LINE		65536

#define PROTO_PARSE_ERROR	-32700
#define PROTO_INVALID_REQUEST	-32600
#define PROTO_METHOD_NOT_FOUND	-32601
#define PROTO_INVALID_PARAMS	-32602
#define PROTO_PERMISSION_DENIED	-32001
#define PROTO_FAILED		-32002

struct proto_request {
	cJSON		*root;		/* owns everything below */
	const char	*method;
	const cJSON	*id;		/* NULL for a notification */
	const cJSON	*params;	/* object, array, or NULL */
};

/*
 * Decode one line (without its newline).  On success returns 0 and fills
 * req; the caller frees it with proto_request_free.  On failure returns the
 * JSON-RPC error code, writes a message into err, and sets *idp to a copy of
 * the request's id when one could be read (the reply must echo it), or NULL.
 */
int	 proto_decode_request(const char *line, size_t len,
	    struct proto_request *req, cJSON **idp, char *err, size_t errlen);
void	 proto_request_free(struct proto_request *);

/* Encoders return a malloc'd line ending in '\n'; they take ownership of
 * result/params and do not take id. */
char	*proto_encode_result(const cJSON *id, cJSON *result);
char	*proto_encode_error(const cJSON *id, int code, const char *message);
char	*proto_encode_request(long id, const char *method, cJSON *params);
/* A message without an id, from qmsd: progress, a log line. */
char	*proto_encode_notification(const char *method, cJSON *params);

struct proto_response {
	cJSON		*root;
	long		 id;
	const cJSON	*result;	/* NULL when error */
	int		 code;		/* error code, 0 on success */
	const char	*message;	/* error message */
};

/* Decode a response line on the client; 0 or -1 with err filled. */
int	 proto_decode_response(const char *line, size_t len,
	    struct proto_response *resp, char *err, size_t errlen);
void	 proto_response_free(struct proto_response *);

#endif
