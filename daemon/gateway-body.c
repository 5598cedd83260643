/* A gateway POST body, read as qmsd passes it on (gateway-body.h). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "gateway-body.h"
#include "websocket.h"

/* A member given twice: what qmsd reads and what the child reads differ. */
static int
twice(const cJSON *o, const char *key)
{
	const cJSON	*v;
	int		 n = 0;

	cJSON_ArrayForEach(v, o)
		if (v->string != NULL && strcmp(v->string, key) == 0)
			n++;
	return (n > 1);
}

/*
 * What is not JSON as RFC 8259 has it, though cJSON would read it: bytes
 * that are not UTF-8 (UTF-16 and UTF-32 among them, whose NULs cJSON
 * takes for blanks), a control byte outside an escape (cJSON takes any
 * byte below 0x21 for a blank and lets one stand in a string).  NULL, or
 * why.
 */
static const char *
not_json(const char *s, size_t len)
{
	size_t	i;

	if (!ws_utf8_ok((const uint8_t *)s, len))
		return ("Parse error: the body is not UTF-8");
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 && s[i] != '\t' &&
		    s[i] != '\n' && s[i] != '\r')
			return ("Parse error: a control byte in the body "
			    "(JSON is UTF-8, and escapes them)");
	return (NULL);
}

/*
 * A \u0000 in a string of a body cJSON has parsed (so every backslash is
 * in a string, and each takes the byte after it): cJSON's strings end at
 * a NUL, so the string qmsd would read and pass on is not the client's.
 */
static int
has_nul(const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i + 1 < len; i++) {
		if (s[i] != '\\')
			continue;
		if (s[i + 1] == 'u' && i + 5 < len && memcmp(s + i + 2, "0000",
		    4) == 0)
			return (1);
		i++;
	}
	return (0);
}

/*
 * A number cJSON would not write again as the server reads it: cJSON
 * keeps a double and writes 15 significant digits (%1.15g), so one of
 * more (9007199254740993, 0.12345678901234567) would reach the server
 * changed; with at most 15, the double it writes reads back the same.
 * The body has parsed, so outside its strings each number is
 * [-]DIGITS[.DIGITS][(e|E)[+-]DIGITS]; one byte's work each.
 */
static int
long_number(const char *s, size_t len)
{
	size_t	i, digits;
	int	lead, in_str = 0;

	for (i = 0; i < len; i++) {
		if (in_str) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				in_str = 0;
			continue;
		}
		if (s[i] == '"') {
			in_str = 1;
			continue;
		}
		if (s[i] != '-' && (s[i] < '0' || s[i] > '9'))
			continue;
		if (s[i] == '-')
			i++;
		for (digits = 0, lead = 1; i < len && ((s[i] >= '0' &&
		    s[i] <= '9') || s[i] == '.'); i++) {
			if (s[i] == '.' || (lead && s[i] == '0'))
				continue;
			lead = 0;
			digits++;
		}
		if (digits > GATEWAY_DIGITS)
			return (1);
		while (i < len && (s[i] == 'e' || s[i] == 'E' || s[i] == '+' ||
		    s[i] == '-' || (s[i] >= '0' && s[i] <= '9')))
			i++;
		i--;
	}
	return (0);
}

/* A number past a double (1e400): cJSON would write null in its place. */
static int
infinite(const cJSON *o)
{
	const cJSON	*v;

	if (cJSON_IsNumber(o))
		return (!isfinite(o->valuedouble));
	cJSON_ArrayForEach(v, o)
		if (infinite(v))
			return (1);
	return (0);
}

cJSON *
gateway_body_read(const char *in, size_t len, char **out, int *code,
    char *why, size_t whylen)
{
	const char	*bad, *end = NULL;
	const cJSON	*msg, *p;
	cJSON		*all;

	*out = NULL;
	*code = -32700;
	if ((bad = not_json(in, len)) != NULL) {
		snprintf(why, whylen, "%s", bad);
		return (NULL);
	}
	all = cJSON_ParseWithLengthOpts(in, len, &end, 0);
	while (all != NULL && end < in + len && strchr(" \t\r\n", *end) !=
	    NULL && *end != '\0')
		end++;
	if (all == NULL || end != in + len) {
		cJSON_Delete(all);
		snprintf(why, whylen, "Parse error: the body is not JSON");
		return (NULL);
	}
	*code = -32600;
	bad = NULL;
	if (cJSON_IsArray(all) && cJSON_GetArraySize(all) > GATEWAY_MAX_BATCH)
		snprintf(why, whylen, "Invalid Request: a batch of more than "
		    "%d messages", GATEWAY_MAX_BATCH);
	else if (has_nul(in, len))
		bad = "Invalid Request: a NUL (\\u0000) in a string";
	else if (long_number(in, len) || infinite(all))
		bad = "Invalid Request: a number of more than 15 significant "
		    "digits, or past a double, which qmsd cannot pass on as it "
		    "came";
	else
		why[0] = '\0';
	for (msg = cJSON_IsArray(all) ? all->child : all; bad == NULL &&
	    why[0] == '\0' && msg != NULL; msg = cJSON_IsArray(all) ?
	    msg->next : NULL) {
		p = cJSON_GetObjectItemCaseSensitive(msg, "params");
		if (twice(msg, "method") || twice(msg, "params") ||
		    (cJSON_IsObject(p) && twice(p, "name")))
			bad = "Invalid Request: a member given twice";
	}
	if (bad != NULL)
		snprintf(why, whylen, "%s", bad);
	if (why[0] != '\0') {
		cJSON_Delete(all);
		return (NULL);
	}
	if ((*out = cJSON_PrintUnformatted(all)) == NULL) {
		cJSON_Delete(all);
		*code = -32603;
		snprintf(why, whylen, "Internal error: out of memory");
		return (NULL);
	}
	return (all);
}
