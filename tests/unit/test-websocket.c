/* websocket.c: RFC 6455's handshake, client frames decoded, server frames. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "websocket.h"

#define KEY	"dGhlIHNhbXBsZSBub25jZQ=="	/* RFC 6455, 1.3 */

static void
test_handshake(void)
{
	char		 acc[WS_ACCEPT_LEN + 1];
	const char	*why;
	int		 vbad;

	/* The RFC's own example. */
	CHECK(ws_handshake("GET", "websocket", "Upgrade", "13", KEY, acc,
	    &vbad, &why) == 0);
	CHECK_STR(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	/* As browsers send them: lists, any case. */
	CHECK(ws_handshake("GET", "WebSocket", "keep-alive, Upgrade", "13",
	    KEY, acc, &vbad, &why) == 0);
	CHECK(ws_handshake("GET", "h2c, websocket", "keep-alive,upgrade ",
	    "13", KEY, acc, &vbad, &why) == 0);

	CHECK(ws_handshake("POST", "websocket", "Upgrade", "13", KEY, acc,
	    &vbad, &why) == -1);
	CHECK(ws_handshake("HEAD", "websocket", "Upgrade", "13", KEY, acc,
	    &vbad, &why) == -1);
	CHECK(ws_handshake("GET", NULL, "Upgrade", "13", KEY, acc, &vbad,
	    &why) == -1);
	CHECK(ws_handshake("GET", "websockets", "Upgrade", "13", KEY, acc,
	    &vbad, &why) == -1);
	CHECK(ws_handshake("GET", "websocket", "keep-alive", "13", KEY, acc,
	    &vbad, &why) == -1);
	CHECK(ws_handshake("GET", "websocket", "upgraded", "13", KEY, acc,
	    &vbad, &why) == -1);
	CHECK(ws_handshake("GET", "websocket", NULL, "13", KEY, acc, &vbad,
	    &why) == -1);
	/* The version alone wrong: 426 with the one spoken. */
	CHECK(ws_handshake("GET", "websocket", "Upgrade", "8", KEY, acc,
	    &vbad, &why) == -1 && vbad);
	CHECK(ws_handshake("GET", "websocket", "Upgrade", NULL, KEY, acc,
	    &vbad, &why) == -1 && vbad);
	CHECK(ws_handshake("GET", "websocket", "Upgrade", "13 ", KEY, acc,
	    &vbad, &why) == -1 && vbad);
	/* Keys: 16 bytes in base64, nothing else. */
	CHECK(ws_handshake("GET", "websocket", "Upgrade", "13", NULL, acc,
	    &vbad, &why) == -1 && !vbad);
	CHECK(ws_handshake("GET", "websocket", "Upgrade", "13", "", acc,
	    &vbad, &why) == -1);
	CHECK(ws_handshake("GET", "websocket", "Upgrade", "13",
	    "dGhlIHNhbXBsZSBub25jZQ", acc, &vbad, &why) == -1);
	CHECK(ws_handshake("GET", "websocket", "Upgrade", "13",
	    "dGhlIHNhbXBsZSBub25jZQ==x", acc, &vbad, &why) == -1);
	CHECK(ws_handshake("GET", "websocket", "Upgrade", "13",
	    "dGhlIHNhbXBsZSBub25j*Q==", acc, &vbad, &why) == -1);
	CHECK(ws_handshake("GET", "websocket", "Upgrade", "13",
	    "dGhlIHNhbXBsZSBub25jZR==", acc, &vbad, &why) == -1);
	CHECK(ws_handshake("GET", "websocket", "Upgrade", "13",
	    "dGhlIHNhbXBsZSBub25jZQ=A", acc, &vbad, &why) == -1);
	/* 17 bytes are not 16. */
	CHECK(ws_handshake("GET", "websocket", "Upgrade", "13",
	    "dGhlIHNhbXBsZSBub25jZXM=", acc, &vbad, &why) == -1);
}

/* A client frame: masked with mask, its length in the shortest form. */
static size_t
frame(uint8_t *out, int fin, int opcode, const void *data, size_t len)
{
	static const uint8_t	mask[4] = { 0x37, 0xfa, 0x21, 0x3d };
	size_t			i, n;

	out[0] = (fin ? 0x80 : 0) | opcode;
	if (len < 126) {
		out[1] = 0x80 | len;
		n = 2;
	} else if (len <= 0xffff) {
		out[1] = 0x80 | 126;
		out[2] = len >> 8;
		out[3] = len & 0xff;
		n = 4;
	} else {
		out[1] = 0x80 | 127;
		for (i = 0; i < 8; i++)
			out[2 + i] = (uint64_t)len >> (56 - 8 * i);
		n = 10;
	}
	memcpy(out + n, mask, 4);
	n += 4;
	for (i = 0; i < len; i++)
		out[n + i] = ((const uint8_t *)data)[i] ^ mask[i % 4];
	return (n + len);
}

static void
test_decode(void)
{
	struct ws_decoder	 d;
	struct ws_message	 m;
	uint8_t			 buf[70000 + 20], *big;
	size_t			 n, used, i, at;
	int			 rv = 0;

	/* The RFC's masked "Hello". */
	static const uint8_t hello[] = { 0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
	    0x7f, 0x9f, 0x4d, 0x51, 0x58 };

	ws_decoder_init(&d, 65536);
	CHECK(ws_decode(&d, hello, sizeof(hello), &used, &m) == 1);
	CHECK(used == sizeof(hello) && m.opcode == WS_TEXT && m.len == 5 &&
	    memcmp(m.data, "Hello", 5) == 0);

	/* Byte by byte: the same message, at the last byte. */
	for (i = 0; i < sizeof(hello); i++) {
		rv = ws_decode(&d, hello + i, 1, &used, &m);
		CHECK(used == 1);
		CHECK(rv == (i == sizeof(hello) - 1 ? 1 : 0));
	}
	CHECK(m.len == 5 && memcmp(m.data, "Hello", 5) == 0);

	/* Fragments, with a ping between them; two messages in one read. */
	n = frame(buf, 0, WS_BINARY, "ab", 2);
	n += frame(buf + n, 1, WS_PING, "p", 1);
	n += frame(buf + n, 0, WS_CONTINUATION, "cd", 2);
	n += frame(buf + n, 1, WS_CONTINUATION, "e", 1);
	n += frame(buf + n, 1, WS_BINARY, "", 0);
	at = 0;
	CHECK(ws_decode(&d, buf, n, &used, &m) == 1);
	CHECK(m.opcode == WS_PING && m.len == 1 && m.data[0] == 'p');
	at += used;
	CHECK(ws_decode(&d, buf + at, n - at, &used, &m) == 1);
	CHECK(m.opcode == WS_BINARY && m.len == 5 &&
	    memcmp(m.data, "abcde", 5) == 0);
	at += used;
	CHECK(ws_decode(&d, buf + at, n - at, &used, &m) == 1);
	CHECK(m.opcode == WS_BINARY && m.len == 0);
	at += used;
	CHECK(at == n);

	/* Lengths in 16 and 64 bits. */
	big = calloc(1, 65536);
	memset(big, 'x', 65536);
	n = frame(buf, 1, WS_BINARY, big, 300);
	CHECK(buf[1] == (0x80 | 126));
	CHECK(ws_decode(&d, buf, n, &used, &m) == 1 && m.len == 300);
	n = frame(buf, 1, WS_BINARY, big, 65536);
	CHECK(buf[1] == (0x80 | 127));
	CHECK(ws_decode(&d, buf, n, &used, &m) == 1 && m.len == 65536);

	/* Close: code and reason. */
	memcpy(buf + 40, "\x03\xe8" "bye", 5);
	n = frame(buf, 1, WS_CLOSE, buf + 40, 5);
	CHECK(ws_decode(&d, buf, n, &used, &m) == 1);
	CHECK(m.opcode == WS_CLOSE && m.code == 1000 && m.len == 5);
	n = frame(buf, 1, WS_CLOSE, "", 0);
	CHECK(ws_decode(&d, buf, n, &used, &m) == 1);
	CHECK(m.code == WS_CLOSE_NO_STATUS);
	ws_decoder_free(&d);
	free(big);
}

/* One frame (or a few) that must fail with code. */
static void
bad(const uint8_t *in, size_t len, int code)
{
	struct ws_decoder	d;
	struct ws_message	m;
	size_t			used, at = 0;
	int			rv;

	ws_decoder_init(&d, 65536);
	do {
		rv = ws_decode(&d, in + at, len - at, &used, &m);
		at += used;
	} while (rv == 1 && at < len);
	CHECK(rv == -1);
	CHECK(m.code == code);
	if (rv != -1 || m.code != code)
		fprintf(stderr, "  (got %d, code %d: %s)\n", rv, m.code,
		    m.why ? m.why : "");
	/* Failed stays failed. */
	CHECK(ws_decode(&d, in, len, &used, &m) == -1);
	ws_decoder_free(&d);
}

static void
test_refused(void)
{
	uint8_t	buf[70000 + 40], *big;
	size_t	n;

	/* Unmasked. */
	bad((const uint8_t *)"\x82\x01x", 3, WS_CLOSE_PROTOCOL);
	/* Reserved bits, unknown opcodes. */
	n = frame(buf, 1, WS_BINARY, "x", 1);
	buf[0] |= 0x40;
	bad(buf, n, WS_CLOSE_PROTOCOL);
	n = frame(buf, 1, 0x3, "x", 1);
	bad(buf, n, WS_CLOSE_PROTOCOL);
	n = frame(buf, 1, 0xb, "x", 1);
	bad(buf, n, WS_CLOSE_PROTOCOL);
	/* A fragmented control frame; one over 125 bytes. */
	n = frame(buf, 0, WS_PING, "x", 1);
	bad(buf, n, WS_CLOSE_PROTOCOL);
	big = calloc(1, 70000);
	n = frame(buf, 1, WS_PING, big, 126);
	bad(buf, n, WS_CLOSE_PROTOCOL);
	/* A continuation with nothing begun; a new message in the middle. */
	n = frame(buf, 1, WS_CONTINUATION, "x", 1);
	bad(buf, n, WS_CLOSE_PROTOCOL);
	n = frame(buf, 0, WS_TEXT, "x", 1);
	n += frame(buf + n, 1, WS_BINARY, "y", 1);
	bad(buf, n, WS_CLOSE_PROTOCOL);
	/* Lengths not in their shortest form, or with the top bit set. */
	bad((const uint8_t *)"\x82\xfe\x00\x05mask", 8, WS_CLOSE_PROTOCOL);
	bad((const uint8_t *)"\x82\xff\x00\x00\x00\x00\x00\x00\x00\x05mask",
	    14, WS_CLOSE_PROTOCOL);
	bad((const uint8_t *)"\x82\xff\x80\x00\x00\x00\x00\x01\x00\x00mask",
	    14, WS_CLOSE_PROTOCOL);
	/* Too big: one frame, or fragments that add up. */
	bad((const uint8_t *)"\x82\xff\x00\x00\x00\x00\x00\x01\x00\x01mask",
	    14, WS_CLOSE_TOO_BIG);
	n = frame(buf, 0, WS_BINARY, big, 40000);
	n += frame(buf + n, 1, WS_CONTINUATION, big, 30000);
	bad(buf, n, WS_CLOSE_TOO_BIG);
	/* Text that is not UTF-8: bytes, overlong, a surrogate. */
	n = frame(buf, 1, WS_TEXT, "\xff", 1);
	bad(buf, n, WS_CLOSE_BAD_DATA);
	n = frame(buf, 1, WS_TEXT, "\xc0\xaf", 2);
	bad(buf, n, WS_CLOSE_BAD_DATA);
	n = frame(buf, 1, WS_TEXT, "\xed\xa0\x80", 3);
	bad(buf, n, WS_CLOSE_BAD_DATA);
	n = frame(buf, 1, WS_TEXT, "\xe2\x82", 2);
	bad(buf, n, WS_CLOSE_BAD_DATA);
	/* Close frames: half a code, codes that may not be sent. */
	n = frame(buf, 1, WS_CLOSE, "\x03", 1);
	bad(buf, n, WS_CLOSE_PROTOCOL);
	n = frame(buf, 1, WS_CLOSE, "\x03\xed", 2);	/* 1005 */
	bad(buf, n, WS_CLOSE_PROTOCOL);
	n = frame(buf, 1, WS_CLOSE, "\x03\xe7", 2);	/* 999 */
	bad(buf, n, WS_CLOSE_PROTOCOL);
	n = frame(buf, 1, WS_CLOSE, "\x13\x88", 2);	/* 5000 */
	bad(buf, n, WS_CLOSE_PROTOCOL);
	n = frame(buf, 1, WS_CLOSE, "\x03\xe8\xff", 3);
	bad(buf, n, WS_CLOSE_BAD_DATA);
	free(big);
}

static void
test_encode(void)
{
	uint8_t	h[WS_MAX_HEADER], p[WS_MAX_CONTROL];
	char	reason[200];
	size_t	n;

	CHECK(ws_frame_header(h, WS_BINARY, 5) == 2);
	CHECK(h[0] == 0x82 && h[1] == 5);
	CHECK(ws_frame_header(h, WS_TEXT, 125) == 2 && h[1] == 125);
	CHECK(ws_frame_header(h, WS_TEXT, 126) == 4);
	CHECK(h[1] == 126 && h[2] == 0 && h[3] == 126);
	CHECK(ws_frame_header(h, WS_BINARY, 65535) == 4);
	CHECK(ws_frame_header(h, WS_BINARY, 65536) == 10);
	CHECK(h[1] == 127 && h[7] == 1 && h[8] == 0 && h[9] == 0);
	CHECK(ws_frame_header(h, WS_CLOSE, 0) == 2 && h[0] == 0x88);

	n = ws_close_payload(p, 1011, "boom");
	CHECK(n == 6 && p[0] == 0x03 && p[1] == 0xf3 &&
	    memcmp(p + 2, "boom", 4) == 0);
	/* Cut to fit, never inside a character. */
	memset(reason, 'a', sizeof(reason));
	memcpy(reason + 122, "\xc3\xa9", 2);
	reason[sizeof(reason) - 1] = '\0';
	n = ws_close_payload(p, 1000, reason);
	CHECK(n == 124);
	CHECK(ws_utf8_ok(p + 2, n - 2));
	CHECK(ws_close_payload(p, 1000, NULL) == 2);
}

static void
test_utf8(void)
{
	CHECK(ws_utf8_ok((const uint8_t *)"", 0));
	CHECK(ws_utf8_ok((const uint8_t *)"h\xc3\xa9\xe2\x82\xac\xf0\x9f\x98"
	    "\x80", 10));
	CHECK(!ws_utf8_ok((const uint8_t *)"\xf4\x90\x80\x80", 4));
	CHECK(!ws_utf8_ok((const uint8_t *)"\xf0\x9f\x98", 3));
	CHECK(!ws_utf8_ok((const uint8_t *)"\x80", 1));
	CHECK(!ws_utf8_ok((const uint8_t *)"\xe0\x80\x80", 3));
}

int
main(void)
{
	test_handshake();
	test_decode();
	test_refused();
	test_encode();
	test_utf8();
	return (check_done("websocket"));
}
