/*
 * libFuzzer harness for websocket.c: the frame decoder, which reads what
 * any page a person has open in the console sends, fed the input in
 * pieces whose sizes the input's first byte chooses; and the handshake's
 * checks, on the input taken as its headers.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "websocket.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
handshake(const uint8_t *data, size_t size)
{
	char		*s, *f[4], acc[WS_ACCEPT_LEN + 1];
	const char	*why;
	size_t		 i, n = 0;
	int		 vbad;

	if ((s = malloc(size + 1)) == NULL)
		return;
	memcpy(s, data, size);
	s[size] = '\0';
	/* Four fields, split at newlines. */
	f[0] = s;
	for (i = 0; i < size && n < 3; i++)
		if (s[i] == '\n') {
			s[i] = '\0';
			f[++n] = s + i + 1;
		}
	while (n < 3)
		f[++n] = NULL;
	if (ws_handshake("GET", f[0], f[1], f[2], f[3], acc, &vbad,
	    &why) == 0 && strlen(acc) != WS_ACCEPT_LEN)
		abort();
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ws_decoder	 d;
	struct ws_message	 m;
	size_t			 at, piece, used, n;
	int			 rv;

	if (size == 0)
		return (0);
	handshake(data, size);
	piece = data[0] % 16 + 1;
	data++;
	size--;
	ws_decoder_init(&d, 4096);
	for (at = 0; at < size; ) {
		n = size - at < piece ? size - at : piece;
		rv = ws_decode(&d, data + at, n, &used, &m);
		if (used > n)
			abort();
		at += used;
		if (rv == -1) {
			if (m.why == NULL || m.code < 1000 || m.code > 1011)
				abort();
			break;
		}
		if (rv == 1) {
			/* Within bounds, whole, and as the RFC allows. */
			if (m.len > 4096 || (m.opcode >= WS_CLOSE &&
			    m.len > WS_MAX_CONTROL))
				abort();
			if (m.len > 0 && m.data == NULL)
				abort();
			if (m.opcode == WS_TEXT &&
			    !ws_utf8_ok(m.data, m.len))
				abort();
			if (m.len > 0 && ((volatile const uint8_t *)m.data)
			    [m.len - 1] == 0xfe)
				;	/* touched: ASan sees any overrun */
		} else if (used != n)
			abort();	/* 0 means all of the piece was read */
	}
	ws_decoder_free(&d);
	return (0);
}
