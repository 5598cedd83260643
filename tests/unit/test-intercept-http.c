/*
 * HTTP/1.1 inside an intercepted tunnel: what is taken, what goes
 * upstream, where a body ends, and each way to smuggle a second request
 * past the scope check.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "intercept-http.h"

#define AUTH	"github.com:443"

static struct ihttp_request	req;
static char			why[256];
static int			status;

static int
parse_at(const char *head, const char *authority)
{
	return (ihttp_request_parse(head, strlen(head), authority, &req,
	    &status, why, sizeof(why)));
}

static int
parse(const char *head)
{
	return (parse_at(head, AUTH));
}

/* Refused with this status, and why says part. */
static void
refused_line(int line, const char *head, int want, const char *part)
{
	int	r = parse(head);

	CHECK(r == -1);
	if (r != -1) {
		fprintf(stderr, "  line %d taken: %s\n", line, head);
		return;
	}
	if (status != want) {
		fprintf(stderr, "  line %d: status %d, want %d (%s)\n", line,
		    status, want, why);
		CHECK(0);
	}
	if (strstr(why, part) == NULL) {
		fprintf(stderr, "  line %d: \"%s\" lacks \"%s\"\n", line, why,
		    part);
		CHECK(0);
	}
}
#define refused(h, s, p)	refused_line(__LINE__, h, s, p)

/* The whole body fed at once: bytes taken, or -1. */
static long
body(const char *head, const char *b, size_t blen, char *data, size_t *dlen)
{
	struct ihttp_body	bd;

	if (parse(head) != 1)
		return (-2);
	ihttp_body_init(&bd, &req);
	return (ihttp_body_feed(&bd, b, blen, data, dlen, why, sizeof(why)));
}

/* A chunked body fed byte by byte: its end, or -1; done checked. */
static long
chunked_bytewise(const char *b, size_t blen, char *data, size_t cap)
{
	struct ihttp_body	bd;
	size_t			i, dlen, got = 0;
	long			n;

	CHECK(parse("POST / HTTP/1.1\r\nHost: github.com\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n") == 1);
	ihttp_body_init(&bd, &req);
	for (i = 0; i < blen && !bd.done; i++) {
		dlen = cap - got;
		n = ihttp_body_feed(&bd, b + i, 1, data + got, &dlen, why,
		    sizeof(why));
		if (n == -1)
			return (-1);
		got += dlen;
	}
	data[got] = '\0';
	return (bd.done ? (long)i : 0);
}

static long
chunked(const char *b)
{
	char	data[256];
	size_t	dlen = sizeof(data);

	return (body("POST / HTTP/1.1\r\nHost: github.com\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", b, strlen(b), data, &dlen));
}

static void
test_request(void)
{
	const char	*h;
	char		 big[IHTTP_MAX_HEAD + 64];
	size_t		 i;

	h = "GET /repos/o/r?x=1 HTTP/1.1\r\nHost: github.com\r\n"
	    "Authorization: Bearer PH\r\nUser-Agent: git/2\r\n\r\nrest";
	CHECK(parse(h) == 1);
	CHECK_STR(req.method, "GET");
	CHECK(req.tlen == 14 && memcmp(req.target, "/repos/o/r?x=1", 14) == 0);
	CHECK(req.minor == 1);
	CHECK(req.length == 0 && !req.chunked && !req.expect_continue);
	CHECK(req.authorization != NULL && req.authorization->vlen == 9 &&
	    memcmp(req.authorization->value, "Bearer PH", 9) == 0);
	CHECK(req.head_len == strlen(h) - 4);
	CHECK(req.nheaders == 3);

	/* Host: the authority, any case, or the host alone on 443. */
	CHECK(parse("GET / HTTP/1.1\r\nHost: GitHub.COM:443\r\n\r\n") == 1);
	CHECK(parse_at("GET / HTTP/1.0\r\nHost: git.example:8443\r\n\r\n",
	    "git.example:8443") == 1);
	CHECK(req.minor == 0);
	CHECK(parse_at("GET / HTTP/1.1\r\nHost: git.example\r\n\r\n",
	    "git.example:8443") == -1);
	CHECK(parse_at("GET / HTTP/1.1\r\nHost: [::1]:443\r\n\r\n",
	    "[::1]:443") == 1);
	CHECK(parse_at("GET / HTTP/1.1\r\nHost: [::1]\r\n\r\n",
	    "[::1]:443") == 1);
	CHECK(parse_at("GET / HTTP/1.1\r\nHost: [::1]\r\n\r\n",
	    "[::1]:8443") == -1);
	refused("GET / HTTP/1.1\r\nHost: evil.com\r\n\r\n", 400, "Host");
	refused("GET / HTTP/1.1\r\nHost: github.com.\r\n\r\n", 400, "Host");
	refused("GET / HTTP/1.1\r\nHost: github.com:80\r\n\r\n", 400, "Host");
	refused("GET / HTTP/1.1\r\n\r\n", 400, "Host");
	refused("GET / HTTP/1.1\r\nHost: github.com\r\nHost: github.com\r\n"
	    "\r\n", 400, "one Host");

	/* Lengths, chunked, Expect. */
	CHECK(parse("POST /x HTTP/1.1\r\nHost: github.com\r\nContent-Length: "
	    "42\r\n\r\n") == 1 && req.length == 42 && !req.chunked);
	CHECK(parse("POST /x HTTP/1.1\r\nHost: github.com\r\ncontent-length:"
	    "7\r\n\r\n") == 1 && req.length == 7);
	CHECK(parse("POST /x HTTP/1.1\r\nHost: github.com\r\n\r\n") == 1 &&
	    req.length == 0);
	CHECK(parse("POST /x HTTP/1.1\r\nHost: github.com\r\nTransfer-Encoding:"
	    " Chunked\r\nExpect: 100-continue\r\n\r\n") == 1 && req.chunked &&
	    req.length == -1 && req.expect_continue);
	CHECK(parse("HEAD / HTTP/1.1\r\nHost: github.com\r\n\r\n") == 1 &&
	    req.length == 0);

	/* Not whole yet. */
	CHECK(parse("") == 0);
	CHECK(parse("GET / HTTP/1.1\r\nHost: github.com\r\n") == 0);
	CHECK(parse("GET / HTTP/1.1\r\nHost: github.com\r\n\r") == 0);

	/* The request line. */
	refused("GET http://github.com/ HTTP/1.1\r\nHost: github.com\r\n\r\n",
	    400, "origin-form");
	refused("OPTIONS * HTTP/1.1\r\nHost: github.com\r\n\r\n", 400,
	    "origin-form");
	refused("CONNECT github.com:443 HTTP/1.1\r\nHost: github.com\r\n\r\n",
	    400, "CONNECT");
	refused("GET / HTTP/2.0\r\nHost: github.com\r\n\r\n", 400, "HTTP/1");
	refused("GET / HTTP/0.9\r\nHost: github.com\r\n\r\n", 400, "HTTP/1");
	refused("GET /\r\n\r\n", 400, "request line");
	refused("GET  / HTTP/1.1\r\nHost: github.com\r\n\r\n", 400,
	    "request line");
	refused("G(T / HTTP/1.1\r\nHost: github.com\r\n\r\n", 400,
	    "request line");
	refused("ABCDEFGHIJKLMNOP / HTTP/1.1\r\nHost: github.com\r\n\r\n", 400,
	    "method over 15");
	CHECK(parse("ABCDEFGHIJKLMNO / HTTP/1.1\r\nHost: github.com\r\n\r\n")
	    == 1);
	refused("GET /a\x80 HTTP/1.1\r\nHost: github.com\r\n\r\n", 400,
	    "target");
	refused("GET /a#f HTTP/1.1\r\nHost: github.com\r\n\r\n", 400,
	    "fragment");
	memcpy(big, "GET /", 5);
	memset(big + 5, 'a', IHTTP_MAX_TARGET);
	snprintf(big + 5 + IHTTP_MAX_TARGET, 64, " HTTP/1.1\r\nHost: "
	    "github.com\r\n\r\n");
	refused(big, 400, "target over");
	memmove(big + 5 + IHTTP_MAX_TARGET - 1, big + 5 + IHTTP_MAX_TARGET,
	    strlen(big + 5 + IHTTP_MAX_TARGET) + 1);
	CHECK(parse(big) == 1 && req.tlen == IHTTP_MAX_TARGET);

	/* Smuggling: framing read two ways. */
	refused("POST / HTTP/1.1\r\nHost: github.com\r\nContent-Length: 5\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", 400, "together");
	refused("POST / HTTP/1.1\r\nHost: github.com\r\nTransfer-Encoding: "
	    "chunked\r\nContent-Length: 5\r\n\r\n", 400, "together");
	refused("POST / HTTP/1.1\r\nHost: github.com\r\nTransfer-Encoding: "
	    "chunked, gzip\r\n\r\n", 501, "chunked");
	refused("POST / HTTP/1.1\r\nHost: github.com\r\nTransfer-Encoding: "
	    "gzip, chunked\r\n\r\n", 501, "chunked");
	refused("POST / HTTP/1.1\r\nHost: github.com\r\nTransfer-Encoding:  "
	    "chunked\r\n\r\n", 501, "chunked");
	refused("POST / HTTP/1.1\r\nHost: github.com\r\nTransfer-Encoding:"
	    "\tchunked\r\n\r\n", 501, "chunked");
	refused("POST / HTTP/1.1\r\nHost: github.com\r\nTransfer-Encoding: "
	    "chunked \r\n\r\n", 501, "chunked");
	refused("POST / HTTP/1.1\r\nHost: github.com\r\nTransfer-Encoding: "
	    "xchunked\r\n\r\n", 501, "chunked");
	refused("POST / HTTP/1.1\r\nHost: github.com\r\nTransfer-Encoding: "
	    "chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 501, "one");
	refused("POST / HTTP/1.1\r\nHost: github.com\r\nTransfer-Encoding : "
	    "chunked\r\n\r\n", 400, "token");
	refused("POST / HTTP/1.0\r\nHost: github.com\r\nTransfer-Encoding: "
	    "chunked\r\n\r\n", 400, "HTTP/1.0");
	refused("POST / HTTP/1.1\r\nHost: github.com\r\nContent-Length: 5\r\n"
	    "Content-Length: 5\r\n\r\n", 400, "one Content-Length");
	refused("POST / HTTP/1.1\r\nHost: github.com\r\nContent-Length: 5, 5"
	    "\r\n\r\n", 400, "digits");
	refused("POST / HTTP/1.1\r\nHost: github.com\r\nContent-Length: +5"
	    "\r\n\r\n", 400, "digits");
	refused("POST / HTTP/1.1\r\nHost: github.com\r\nContent-Length: -1"
	    "\r\n\r\n", 400, "digits");
	refused("POST / HTTP/1.1\r\nHost: github.com\r\nContent-Length: 0x5"
	    "\r\n\r\n", 400, "digits");
	refused("POST / HTTP/1.1\r\nHost: github.com\r\nContent-Length:  5"
	    "\r\n\r\n", 400, "Content-Length");
	refused("POST / HTTP/1.1\r\nHost: github.com\r\nContent-Length: 5 "
	    "\r\n\r\n", 400, "Content-Length");
	refused("POST / HTTP/1.1\r\nHost: github.com\r\nContent-Length: 1 2"
	    "\r\n\r\n", 400, "digits");
	refused("POST / HTTP/1.1\r\nHost: github.com\r\nContent-Length: "
	    "\r\n\r\n", 400, "Content-Length");
	refused("POST / HTTP/1.1\r\nHost: github.com\r\nContent-Length: "
	    "99999999999999999999\r\n\r\n", 413, "15 digits");
	refused("GET / HTTP/1.1\r\nHost: github.com\r\nUpgrade: h2c\r\n"
	    "Connection: Upgrade\r\n\r\n", 400, "Upgrade");
	refused("GET / HTTP/1.1\r\nHost: github.com\r\nConnection: close, "
	    "Content-Length\r\nContent-Length: 5\r\n\r\n", 400, "Connection");
	refused("GET / HTTP/1.1\r\nHost: github.com\r\nConnection: host\r\n"
	    "\r\n", 400, "Connection");
	refused("GET / HTTP/1.1\r\nHost: github.com\r\nExpect: x\r\n\r\n", 400,
	    "100-continue");

	/* Lines: CRLF only, no fold, no NUL, no control byte. */
	refused("GET / HTTP/1.1\nHost: github.com\n\n", 400, "bare CR or LF");
	refused("GET / HTTP/1.1\r\nHost: github.com\n\r\n", 400, "bare");
	refused("GET / HTTP/1.1\r\nHost: github.com\rX: y\r\n\r\n", 400,
	    "bare");
	refused("GET / HTTP/1.1\r\nHost: github.com\r\nX-A: b\r\n c\r\n\r\n",
	    400, "folded");
	refused("GET / HTTP/1.1\r\nHost: github.com\r\n\tX-A: b\r\n\r\n", 400,
	    "folded");
	refused("GET / HTTP/1.1\r\nHost: github.com\r\nX-A: b\x01\r\n\r\n",
	    400, "control");
	refused("GET / HTTP/1.1\r\nHost: github.com\r\nX-A: b\x7f\r\n\r\n",
	    400, "control");
	refused("GET / HTTP/1.1\r\nHost: github.com\r\nX-A b\r\n\r\n", 400,
	    "NAME: VALUE");
	refused("GET / HTTP/1.1\r\nHost: github.com\r\n: b\r\n\r\n", 400,
	    "NAME: VALUE");
	{
		static const char nul[] = "GET / HTTP/1.1\r\nHost: github.com"
		    "\r\nX-A: a\0b\r\n\r\n";

		CHECK(ihttp_request_parse(nul, sizeof(nul) - 1, AUTH, &req,
		    &status, why, sizeof(why)) == -1 && status == 400 &&
		    strstr(why, "NUL") != NULL);
	}

	/* Authorization: at most one. */
	refused("GET / HTTP/1.1\r\nHost: github.com\r\nAuthorization: a\r\n"
	    "authorization: b\r\n\r\n", 400, "one Authorization");
	CHECK(parse("GET / HTTP/1.1\r\nHost: github.com\r\n\r\n") == 1 &&
	    req.authorization == NULL);

	/* Size: the head, the number of fields. */
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET / HTTP/1.1\r\nHost: github.com\r\nX: ", 37);
	CHECK(ihttp_request_parse(big, sizeof(big), AUTH, &req, &status, why,
	    sizeof(why)) == -1 && status == 431);
	{
		char	*many = malloc(64 * (IHTTP_MAX_HEADERS + 2));
		size_t	 o;

		o = (size_t)sprintf(many, "GET / HTTP/1.1\r\nHost: github.com"
		    "\r\n");
		for (i = 0; i < IHTTP_MAX_HEADERS - 1; i++)
			o += (size_t)sprintf(many + o, "X-%zu: y\r\n", i);
		sprintf(many + o, "\r\n");
		CHECK(parse(many) == 1 && req.nheaders == IHTTP_MAX_HEADERS);
		sprintf(many + o, "X-Last: y\r\n\r\n");
		refused(many, 431, "header fields");
		free(many);
	}
}

static void
test_upstream(void)
{
	char	*out;
	size_t	 len;

	CHECK(parse("POST /o/r.git/git-receive-pack HTTP/1.0\r\n"
	    "Host: github.com\r\nUser-Agent: git/2.39\r\n"
	    "Connection: keep-alive, X-Drop\r\nKeep-Alive: 5\r\n"
	    "X-Drop: 1\r\nProxy-Authorization: Basic x\r\n"
	    "Proxy-Connection: keep-alive\r\nTE: trailers\r\n"
	    "Trailer: X-T\r\nExpect: 100-continue\r\n"
	    "authorization:   Basic UExBQ0U=  \r\nX-Keep:  a\tb  \r\n"
	    "Content-Length: 3\r\n\r\nabc") == 1);
	out = ihttp_upstream_head(&req, "Basic U0VDUkVU", &len);
	CHECK(out != NULL);
	if (out != NULL) {
		CHECK(len == strlen("POST /o/r.git/git-receive-pack HTTP/1.1\r\n"
		    "Host: github.com\r\nUser-Agent: git/2.39\r\n"
		    "authorization: Basic U0VDUkVU\r\nX-Keep:  a\tb  \r\n"
		    "Content-Length: 3\r\nConnection: close\r\n\r\n"));
		CHECK(memcmp(out, "POST /o/r.git/git-receive-pack HTTP/1.1\r\n"
		    "Host: github.com\r\nUser-Agent: git/2.39\r\n"
		    "authorization: Basic U0VDUkVU\r\nX-Keep:  a\tb  \r\n"
		    "Content-Length: 3\r\nConnection: close\r\n\r\n", len) == 0);
		free(out);
	}
	/* No replacement: Authorization as it came. */
	CHECK(parse("GET / HTTP/1.1\r\nHost: github.com\r\nAuthorization: "
	    "token x\r\nTransfer-Encoding: chunked\r\n\r\n") == 1);
	out = ihttp_upstream_head(&req, NULL, &len);
	CHECK(out != NULL && len == strlen("GET / HTTP/1.1\r\nHost: "
	    "github.com\r\nAuthorization: token x\r\nTransfer-Encoding: "
	    "chunked\r\nConnection: close\r\n\r\n") && memcmp(out,
	    "GET / HTTP/1.1\r\nHost: github.com\r\nAuthorization: token x\r\n"
	    "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n", len) ==
	    0);
	free(out);
}

static void
test_body(void)
{
	char	data[256];
	size_t	dlen;
	long	n;

	/* Content-Length: counted down, the rest is not the body's. */
	dlen = sizeof(data);
	n = body("POST / HTTP/1.1\r\nHost: github.com\r\nContent-Length: 5\r\n"
	    "\r\n", "helloGET / HTTP/1.1", 19, data, &dlen);
	CHECK(n == 5 && dlen == 5 && memcmp(data, "hello", 5) == 0);
	dlen = 2;
	n = body("POST / HTTP/1.1\r\nHost: github.com\r\nContent-Length: 5\r\n"
	    "\r\n", "hel", 3, data, &dlen);
	CHECK(n == 3 && dlen == 2);
	dlen = sizeof(data);
	CHECK(body("GET / HTTP/1.1\r\nHost: github.com\r\n\r\n", "x", 1, data,
	    &dlen) == 0 && dlen == 0);

	/* Chunked: decoded, its end found, what follows left. */
	dlen = sizeof(data);
	n = body("POST / HTTP/1.1\r\nHost: github.com\r\nTransfer-Encoding: "
	    "chunked\r\n\r\n", "5\r\nhello\r\nA;x=\"y\"\r\n0123456789\r\n"
	    "0\r\nX-T: 1\r\n\r\nNEXT", 48, data, &dlen);
	CHECK(n == 44 && dlen == 15 && memcmp(data, "hello0123456789", 15) ==
	    0);
	CHECK(chunked_bytewise("5\r\nhello\r\nA;x=\"y\"\r\n0123456789\r\n"
	    "0\r\nX-T: 1\r\n\r\nNEXT", 48, data, sizeof(data) - 1) == 44);
	CHECK_STR(data, "hello0123456789");
	CHECK(chunked_bytewise("3\r\nabc\r\n0\r\n", 11, data,
	    sizeof(data) - 1) == 0);
	CHECK(chunked("0\r\n\r\n") == 5);
	CHECK(chunked("00000f\r\n0123456789abcde\r\n0\r\n\r\n") == 30);

	/* Chunked, malformed. */
	CHECK(chunked("ffffffffffffffffff\r\n") == -1 &&
	    strstr(why, "hex digits") != NULL);
	CHECK(chunked("1000000000000000\r\n") == -1);
	CHECK(chunked("-5\r\nhello\r\n0\r\n\r\n") == -1);
	CHECK(chunked("+5\r\nhello\r\n0\r\n\r\n") == -1);
	CHECK(chunked("0x5\r\nhello\r\n0\r\n\r\n") == -1);
	CHECK(chunked("\r\nhello\r\n0\r\n\r\n") == -1);
	CHECK(chunked(" 5\r\nhello\r\n0\r\n\r\n") == -1);
	CHECK(chunked("5 \r\nhello\r\n0\r\n\r\n") == -1);
	CHECK(chunked("5\nhello\r\n0\r\n\r\n") == -1);
	CHECK(chunked("5\r\nhelloX\r\n0\r\n\r\n") == -1 &&
	    strstr(why, "CRLF") != NULL);
	CHECK(chunked("5\r\nhello\n0\r\n\r\n") == -1);
	CHECK(chunked("5\r\nhello0\r\n\r\n") == -1);
	CHECK(chunked("5\r\nhello\r\n0\r\n\n") == -1);
	CHECK(chunked("5;a\x01\r\nhello\r\n0\r\n\r\n") == -1);
	CHECK(chunked("0\r\nX-T: a\nb\r\n\r\n") == -1);
	CHECK(chunked("0\r\n X-T: a\r\n\r\n") == -1);
	CHECK(chunked("0\r\nX-T\r\n\r\n") == -1);
	{
		char	*flood = malloc(16384);
		size_t	 i, o = 3;
		struct ihttp_body bd;

		memcpy(flood, "0\r\n", 3);
		for (i = 0; i < 1000; i++)
			o += (size_t)sprintf(flood + o, "X-%zu: y\r\n", i);
		CHECK(parse("POST / HTTP/1.1\r\nHost: github.com\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n") == 1);
		ihttp_body_init(&bd, &req);
		CHECK(ihttp_body_feed(&bd, flood, o, NULL, NULL, why,
		    sizeof(why)) == -1 && strstr(why, "trailer") != NULL);

		/* A size line of extensions, bounded. */
		memcpy(flood, "5;", 2);
		memset(flood + 2, 'a', 2000);
		ihttp_body_init(&bd, &req);
		CHECK(ihttp_body_feed(&bd, flood, 2002, NULL, NULL, why,
		    sizeof(why)) == -1 && strstr(why, "size line") != NULL);
		free(flood);
	}
}

static void
test_response(void)
{
	const char	*h;
	char		*out;
	size_t		 hl, len;
	int		 st;

	h = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
	    "Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n"
	    "Content-Length: 2\r\n\r\nok";
	CHECK(ihttp_response_parse(h, strlen(h), &st, &hl) == 1);
	CHECK(st == 200 && hl == strlen(h) - 2);
	out = ihttp_response_head(h, hl, &len);
	CHECK(out != NULL && len == strlen("HTTP/1.1 200 OK\r\nContent-Type: "
	    "text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\n") &&
	    memcmp(out, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
	    "Content-Length: 2\r\nConnection: close\r\n\r\n", len) == 0);
	free(out);

	h = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
	CHECK(ihttp_response_parse(h, strlen(h), &st, &hl) == 1 && st == 100 &&
	    hl == 25);
	CHECK(ihttp_response_parse(h + hl, strlen(h + hl), &st, &hl) == 1 &&
	    st == 204);
	CHECK(ihttp_response_parse("HTTP/1.0 404\r\n\r\n", 16, &st, &hl) ==
	    1 && st == 404);
	CHECK(ihttp_response_parse("HTTP/1.1 200 OK\r\nX: y\r\n", 23, &st,
	    &hl) == 0);
	CHECK(ihttp_response_parse("HTTP/1.1 200 OK\r\n", 17, &st, &hl) == 0);
	CHECK(ihttp_response_parse("HTTP/2 200\r\n\r\n", 14, &st, &hl) == -1);
	CHECK(ihttp_response_parse("HTTP/1.1 20 OK\r\n\r\n", 18, &st, &hl) ==
	    -1);
	CHECK(ihttp_response_parse("HTTP/1.1 2000 OK\r\n\r\n", 20, &st,
	    &hl) == -1);
	CHECK(ihttp_response_parse("HTTP/1.1 200 OK\nX: y\n\n", 22, &st,
	    &hl) == -1);
	CHECK(ihttp_response_parse("HTTP/1.1 200 OK\r\nX y\r\n\r\n", 24, &st,
	    &hl) == -1);
	CHECK(ihttp_response_parse("HTTP/1.1 200 OK\r\nX: y\r\n z\r\n\r\n",
	    29, &st, &hl) == -1);
	CHECK(ihttp_response_parse("HTTP/1.1 200 O\x01K\r\n\r\n", 20, &st,
	    &hl) == -1);
	{
		char	*big = malloc(IHTTP_MAX_HEAD + 16);

		memset(big, 'a', IHTTP_MAX_HEAD + 16);
		memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
		CHECK(ihttp_response_parse(big, IHTTP_MAX_HEAD + 16, &st,
		    &hl) == -1);
		free(big);
	}
}

int
main(void)
{
	test_request();
	test_upstream();
	test_body();
	test_response();
	return (check_done("intercept-http"));
}
