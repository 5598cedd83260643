/*
 * gateway_body_read: what the QMS MCP gateway passes on is what it read,
 * and what two parsers could read differently is refused.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gateway-body.h"

#define S(lit)	(lit), strlen(lit)

/* The body's fate: NULL passed on (as *sent), else the error's words. */
static const char *
read_body(const char *in, size_t len, int *code, char **sent)
{
	static char	 why[160];
	char		*out;
	cJSON		*all;

	*sent = NULL;
	*code = 0;
	if ((all = gateway_body_read(in, len, &out, code, why,
	    sizeof(why))) == NULL) {
		CHECK(out == NULL);
		return (why);
	}
	cJSON_Delete(all);
	*sent = out;
	return (NULL);
}

static void
refused(const char *in, size_t len, int want, const char *words)
{
	const char	*why;
	char		*sent;
	int		 code;

	why = read_body(in, len, &code, &sent);
	CHECK(why != NULL && sent == NULL);
	CHECK(code == want);
	CHECK(why != NULL && strstr(why, words) != NULL);
	if (why == NULL || strstr(why, words) == NULL)
		fprintf(stderr, "  for %.*s: %s\n", (int)len, in,
		    why ? why : "(passed)");
}

static void
passed(const char *in, const char *want)
{
	const char	*why;
	char		*sent;
	int		 code;

	why = read_body(in, strlen(in), &code, &sent);
	CHECK(why == NULL);
	CHECK_STR(sent, want);
	free(sent);
}

/* A batch of k tools/call messages. */
static size_t
batch(char *buf, size_t size, int k)
{
	size_t	n = 0;
	int	i;

	buf[n++] = '[';
	for (i = 0; i < k; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s{\"method\":"
		    "\"tools/call\"}", i > 0 ? "," : "");
	buf[n++] = ']';
	buf[n] = '\0';
	return (n);
}

int
main(void)
{
	static const char	 u16[] = "{\0\"\0m\0\"\0:\0\"\0x\0\"\0}\0";
	char			 big[4096], *sent;
	size_t			 n;
	int			 code;

	/* What goes on is qmsd's own writing of what it read. */
	passed("{ \"jsonrpc\" : \"2.0\", \"id\" : 1,\n \"method\": "
	    "\"tools/call\", \"params\": {\"name\": \"qms_read\"} }\r\n",
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
	    "\"params\":{\"name\":\"qms_read\"}}");
	passed("[]", "[]");
	passed("\"\\u00e9\\\\u0000\"", "\"\xc3\xa9\\\\u0000\"");
	passed("{\"id\":123456789012345,\"x\":-0.000123456789012345,\"y\":"
	    "1.5e300,\"s\":\"12345678901234567\"}", "{\"id\":123456789012345,"
	    "\"x\":-0.000123456789012345,\"y\":1.5e+300,"
	    "\"s\":\"12345678901234567\"}");

	/* Not JSON as RFC 8259 has it, though cJSON would take it. */
	refused(u16, sizeof(u16) - 1, -32700, "control byte");
	refused("{\"a\":\"\xff\"}", 8, -32700, "not UTF-8");
	refused("{\"a\":\"\x01\"}", 8, -32700, "control byte");
	refused("{}\v", 3, -32700, "control byte");
	refused("{} {}", 5, -32700, "not JSON");
	refused("{\"a\":", 5, -32700, "not JSON");
	refused("", 0, -32700, "not JSON");

	/* JSON that cannot go on as it came. */
	refused(S("{\"method\":\"tools/call\",\"params\":{\"name\":\"qms_"
	    "status\\u0000--x\"}}"), -32600, "NUL");
	refused(S("{\"\\u0000\":1}"), -32600, "NUL");
	refused(S("{\"id\":9007199254740993}"), -32600, "significant");
	refused(S("{\"x\":0.12345678901234567}"), -32600, "significant");
	refused(S("{\"id\":1e400}"), -32600, "significant");
	passed("[1E-400,23e300]", "[0,2.3e+301]");	/* as Python reads them */
	refused("{\"method\":\"tools/list\",\"method\":\"tools/call\"}", 45,
	    -32600, "given twice");
	refused("{\"params\":{},\"params\":{}}", 25, -32600, "given twice");
	refused("{\"params\":{\"name\":\"a\",\"name\":\"b\"}}", 34, -32600,
	    "given twice");
	refused("[{\"method\":\"a\",\"method\":\"b\"}]", 29, -32600,
	    "given twice");

	/* A batch: 32 messages go, 33 do not. */
	n = batch(big, sizeof(big), 32);
	CHECK(read_body(big, n, &code, &sent) == NULL);
	free(sent);
	n = batch(big, sizeof(big), 33);
	refused(big, n, -32600, "more than 32");
	return (check_done("gateway-body"));
}
