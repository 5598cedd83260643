/* Reading the answer to an MCP initialize, as JSON or as SSE events. */
#include <string.h>

#include "check.h"
#include "probe.h"
#include "url.h"

static int
parse(const char *ctype, const char *body, char *version, char *err)
{
	version[0] = err[0] = '\0';
	return (probe_parse_reply(ctype, body, strlen(body), version, 64, err,
	    256));
}

int
main(void)
{
	char	v[64], e[256], host[64];
	int	port;

	CHECK(parse("application/json", "{\"jsonrpc\":\"2.0\",\"id\":1,"
	    "\"result\":{\"protocolVersion\":\"2025-06-18\"}}", v, e) == 0);
	CHECK_STR(v, "2025-06-18");
	CHECK(parse("application/json; charset=utf-8", "{\"result\":"
	    "{\"protocolVersion\":\"2025-11-25\"}}", v, e) == 0);
	CHECK_STR(v, "2025-11-25");

	/* One event, as the TypeScript SDK sends it. */
	CHECK(parse("text/event-stream", "event: message\nid: 7\ndata: "
	    "{\"result\":{\"protocolVersion\":\"2025-03-26\"},\"id\":1}\n\n",
	    v, e) == 0);
	CHECK_STR(v, "2025-03-26");
	/* CRLF lines, data split over lines, a notification first. */
	CHECK(parse("text/event-stream", "data: {\"method\":\"notifications/"
	    "message\"}\r\n\r\ndata: {\"result\":\r\ndata: {\"protocolVersion\""
	    ":\"x\"}}\r\n\r\n", v, e) == 0);
	CHECK_STR(v, "x");
	/* A stream cut before its blank line still counts. */
	CHECK(parse("text/event-stream", "data:{\"result\":{\"protocol"
	    "Version\":\"y\"}}", v, e) == 0);
	CHECK_STR(v, "y");

	CHECK(parse("application/json", "{\"error\":{\"code\":-32600,"
	    "\"message\":\"bad\"}}", v, e) == -1);
	CHECK_STR(e, "initialize failed: bad");
	CHECK(parse("application/json", "{\"result\":{}}", v, e) == -1);
	CHECK_STR(e, "initialize result has no protocolVersion");
	CHECK(parse("application/json", "not json", v, e) == -1);
	CHECK_STR(e, "reply is not a JSON-RPC answer");
	CHECK(parse("text/html", "<html>", v, e) == -1);
	CHECK_STR(e, "unexpected content type text/html");
	CHECK(parse(NULL, "{}", v, e) == -1);
	CHECK(parse("text/event-stream", ": comment only\n\n", v, e) == -1);
	CHECK_STR(e, "no answer to initialize in the reply");
	CHECK(parse("text/event-stream", "", v, e) == -1);

	CHECK(url_host_port("http://127.0.0.1:8001/mcp", host, sizeof(host),
	    &port) == 0 && port == 8001);
	CHECK_STR(host, "127.0.0.1");
	CHECK(url_host_port("http://[::1]:9/", host, sizeof(host), &port) == 0
	    && port == 9);
	CHECK_STR(host, "::1");
	CHECK(url_host_port("http://localhost:80", host, sizeof(host),
	    &port) == 0 && port == 80);
	CHECK(url_host_port("http://localhost/mcp", NULL, 0, NULL) == -1);
	CHECK(url_host_port("https://h:1/", NULL, 0, NULL) == -1);
	CHECK(url_host_port("http://:1/", NULL, 0, NULL) == -1);
	CHECK(url_host_port("http://h:0/", NULL, 0, NULL) == -1);
	CHECK(url_host_port("http://h:65536/", NULL, 0, NULL) == -1);
	CHECK(url_host_port("http://h:1x/", NULL, 0, NULL) == -1);
	CHECK(url_host_port("http://[::1/", NULL, 0, NULL) == -1);

	return (check_done("test-probe"));
}
