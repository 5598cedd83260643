/*
 * The egress proxy's request head: what is taken, what it becomes, and
 * each way to smuggle a request past the policy or a server behind.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "check.h"
#include "egress-request.h"

static struct egress_request	req;
static char			why[256];
static int			status;

/* Parse head: 1, 0 or -1 as egress_request_parse. */
static int
parse(const char *head)
{
	return (egress_request_parse(head, strlen(head), &req, &status, why,
	    sizeof(why)));
}

/* Refused with this status, and why says part. */
static void
refused(const char *head, int want, const char *part)
{
	int	r = parse(head);

	CHECK(r == -1);
	if (r != -1) {
		fprintf(stderr, "  taken: %s\n", head);
		return;
	}
	CHECK(status == want);
	if (strstr(why, part) == NULL) {
		fprintf(stderr, "  %s: \"%s\" lacks \"%s\"\n", head, why, part);
		CHECK(0);
	}
}

static const struct egress_header *
header(const char *name)
{
	size_t	i;

	for (i = 0; i < req.nheaders; i++)
		if (req.headers[i].nlen == strlen(name) &&
		    strncasecmp(req.headers[i].name, name, strlen(name)) == 0)
			return (&req.headers[i]);
	return (NULL);
}

int
main(void)
{
	const char	*h;
	char		 big[EGRESS_MAX_HEAD + 64];

	/* CONNECT: the authority as given; the head's end found. */
	h = "CONNECT github.com:443 HTTP/1.1\r\nHost: github.com:443\r\n\r\nTLS";
	CHECK(parse(h) == 1);
	CHECK(req.connect == 1);
	CHECK_STR(req.authority, "github.com:443");
	CHECK(req.head_len == strlen(h) - 3);
	CHECK(parse("CONNECT github.com:443 HTTP/1.1\r\n\r\n") == 1);

	/* Not whole yet. */
	CHECK(parse("CONNECT github.com:443 HTTP/1.1\r\n") == 0);
	CHECK(parse("CONNECT github.com:443 HTTP/1.1\r\nHost: x\r") == 0);
	CHECK(parse("") == 0);

	/* Absolute-form: the port written in, the path, Host matched. */
	CHECK(parse("GET http://Example.COM/a?b HTTP/1.1\r\nHost: "
	    "example.com\r\n\r\n") == 1);
	CHECK(req.connect == 0);
	CHECK_STR(req.method, "GET");
	CHECK_STR(req.authority, "Example.COM:80");
	CHECK(req.plen == 4 && memcmp(req.path, "/a?b", 4) == 0);
	CHECK(parse("GET http://example.com HTTP/1.1\r\nHost: "
	    "example.com:80\r\n\r\n") == 1);
	CHECK(req.plen == 0);
	CHECK(parse("POST http://[2001:db8::1]:8080/x HTTP/1.0\r\nHost: "
	    "[2001:db8::1]:8080\r\nContent-Length: 12\r\n\r\n") == 1);
	CHECK_STR(req.authority, "[2001:db8::1]:8080");
	CHECK(req.length == 12);
	CHECK(parse("GET http://example.com./ HTTP/1.1\r\nHost: "
	    "EXAMPLE.com\r\n\r\n") == 1);
	CHECK(header("host") != NULL);

	/* Hop-by-hop: the fixed ones and what Connection lists. */
	CHECK(parse("GET http://e.com/ HTTP/1.1\r\nHost: e.com\r\n"
	    "Connection: keep-alive, X-Token\r\nX-Token: s\r\nX-Keep: k\r\n"
	    "Proxy-Authorization: Basic x\r\nTE: trailers\r\n\r\n") == 1);
	CHECK(egress_request_hop(&req, header("connection")));
	CHECK(egress_request_hop(&req, header("x-token")));
	CHECK(egress_request_hop(&req, header("proxy-authorization")));
	CHECK(egress_request_hop(&req, header("te")));
	CHECK(!egress_request_hop(&req, header("x-keep")));
	CHECK(!egress_request_hop(&req, header("host")));

	/* A CONNECT has no body. */
	refused("CONNECT a.com:443 HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 400,
	    "no body");
	refused("CONNECT a.com:443 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
	    "\r\n", 400, "no body");

	/* Host: one, the target's. */
	refused("GET http://a.com/ HTTP/1.1\r\n\r\n", 400, "one Host");
	refused("GET http://a.com/ HTTP/1.1\r\nHost: a.com\r\nHost: b.com\r\n"
	    "\r\n", 400, "one Host");
	refused("GET http://a.com/ HTTP/1.1\r\nHost: b.com\r\n\r\n", 400,
	    "not the target");
	refused("GET http://a.com/ HTTP/1.1\r\nHost: a.com:8080\r\n\r\n", 400,
	    "not the target");
	refused("GET http://a.com:81/ HTTP/1.1\r\nHost: a.com\r\n\r\n", 400,
	    "not the target");
	refused("GET http://127.0.0.1/ HTTP/1.1\r\nHost: 2130706433\r\n\r\n",
	    400, "not the target");

	/* Bodies: one Content-Length of digits; no chunked. */
	refused("POST http://a.com/ HTTP/1.1\r\nHost: a.com\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", 501, "Content-Length");
	refused("POST http://a.com/ HTTP/1.1\r\nHost: a.com\r\n"
	    "Content-Length: 1\r\nContent-Length: 1\r\n\r\n", 400,
	    "Content-Length");
	refused("POST http://a.com/ HTTP/1.1\r\nHost: a.com\r\n"
	    "Content-Length: +1\r\n\r\n", 400, "Content-Length");
	refused("POST http://a.com/ HTTP/1.1\r\nHost: a.com\r\n"
	    "Content-Length: 1234567890123456\r\n\r\n", 400, "Content-Length");

	/* Lines: CRLF only, no folding, tokens and clean values. */
	refused("CONNECT a.com:443 HTTP/1.1\n\n", 400, "CRLF");
	refused("CONNECT a.com:443 HTTP/1.1\r\nX: a\nY: b\r\n\r\n", 400,
	    "CRLF");
	refused("CONNECT a.com:443 HTTP/1.1\r\nX: a\rY: b\r\n\r\n", 400,
	    "CRLF");
	refused("GET http://a.com/ HTTP/1.1\r\nHost: a.com\r\n x\r\n\r\n",
	    400, "folded");
	refused("CONNECT a.com:443 HTTP/1.1\r\nX Y: a\r\n\r\n", 400, "token");
	refused("CONNECT a.com:443 HTTP/1.1\r\n: a\r\n\r\n", 400, "NAME");
	refused("CONNECT a.com:443 HTTP/1.1\r\nX: a\x01z\r\n\r\n", 400,
	    "control");
	refused("CONNECT a.com:443 HTTP/1.1\r\nX: a\x7f\r\n\r\n", 400,
	    "control");

	/* The request line. */
	refused("CONNECT a.com:443 HTTP/2\r\n\r\n", 400, "HTTP/1");
	refused("CONNECT a.com:443  HTTP/1.1\r\n\r\n", 400, "HTTP/1");
	refused("CONNECT  a.com:443 HTTP/1.1\r\n\r\n", 400, "request line");
	refused("GET /git/mcp HTTP/1.1\r\n\r\n", 400, "target");
	refused("GET * HTTP/1.1\r\n\r\n", 400, "target");
	refused("GET https://a.com/ HTTP/1.1\r\nHost: a.com\r\n\r\n", 400,
	    "CONNECT");
	refused("GET http://u:p@a.com/ HTTP/1.1\r\nHost: a.com\r\n\r\n", 400,
	    "userinfo");
	refused("GET http://a.com/#x HTTP/1.1\r\nHost: a.com\r\n\r\n", 400,
	    "fragment");
	refused("GET http:///x HTTP/1.1\r\nHost: a.com\r\n\r\n", 400,
	    "no host");
	refused("GET http://[::1/ HTTP/1.1\r\nHost: a.com\r\n\r\n", 400,
	    "IPv6");
	refused("GET http://a.com/\x80 HTTP/1.1\r\nHost: a.com\r\n\r\n", 400,
	    "byte");
	refused("VERYLONGMETHODNAME http://a.com/ HTTP/1.1\r\n\r\n", 400,
	    "request line");

	/* Sizes. */
	memset(big, 'a', sizeof(big));
	memcpy(big, "CONNECT a.com:443 HTTP/1.1\r\nX: ", 31);
	big[sizeof(big) - 1] = '\0';
	refused(big, 431, "over");
	{
		char	many[EGRESS_MAX_HEADERS * 8 + 64];
		size_t	n = 0, i;

		n += (size_t)snprintf(many, sizeof(many),
		    "CONNECT a.com:443 HTTP/1.1\r\n");
		for (i = 0; i <= EGRESS_MAX_HEADERS; i++)
			n += (size_t)snprintf(many + n, sizeof(many) - n,
			    "X: a\r\n");
		snprintf(many + n, sizeof(many) - n, "\r\n");
		refused(many, 431, "header fields");
	}
	return (check_done("egress-request"));
}
