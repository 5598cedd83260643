/*
 * A POST body of the QMS MCP gateway, read as qmsd passes it on (pure,
 * for fuzzing).  What goes to the QMS server is what qmsd read and
 * recorded: cJSON's own writing of the parsed body, never the client's
 * bytes, so that two parsers' readings of the same bytes cannot differ.
 * What cannot be read, or written again as it came, is refused.
 */
#ifndef QMSD_GATEWAY_BODY_H
#define QMSD_GATEWAY_BODY_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* Messages in one batch: one request makes at most this many records. */
#define GATEWAY_MAX_BATCH	32
/* The significant digits cJSON writes a number with (%1.15g). */
#define GATEWAY_DIGITS		15

/*
 * The body parsed (to cJSON_Delete), with *out its writing to send (to
 * free); or NULL with *code the JSON-RPC error (-32700 not JSON, -32600
 * not to be passed on) and why, in words, in why.
 *
 * Not JSON: bytes that are not UTF-8 (UTF-16 and -32 among them), a
 * control byte outside an escape, anything after the value.  Not passed
 * on: a batch of more than GATEWAY_MAX_BATCH, a \u0000 in a string (cJSON's
 * strings end there), a number of more than GATEWAY_DIGITS significant
 * digits or past a double (cJSON would write it changed), a "method",
 * "params" or params' "name" given twice.
 */
cJSON	*gateway_body_read(const char *in, size_t len, char **out,
	    int *code, char *why, size_t whylen);

#endif
