/*
 * The WebSocket protocol (RFC 6455), server side, and nothing else: the
 * opening handshake's checks and answer, a decoder for what a client sends
 * (fed bytes as they come, in pieces of any size) and the header of what a
 * server sends.  No I/O here: console-terminal.c moves the bytes.
 */
#ifndef QMSD_WEBSOCKET_H
#define QMSD_WEBSOCKET_H

#include <stddef.h>
#include <stdint.h>

#define WS_ACCEPT_LEN		28	/* base64 of a SHA-1 */
#define WS_MAX_CONTROL		125	/* a control frame's payload */
#define WS_MAX_HEADER		14	/* 2 + 8 (length) + 4 (mask) */

enum ws_opcode {
	WS_CONTINUATION = 0x0,
	WS_TEXT = 0x1,
	WS_BINARY = 0x2,
	WS_CLOSE = 0x8,
	WS_PING = 0x9,
	WS_PONG = 0xa,
};

/* Close codes (RFC 6455, 7.4.1) that qmsd sends. */
#define WS_CLOSE_NORMAL		1000
#define WS_CLOSE_GOING_AWAY	1001
#define WS_CLOSE_PROTOCOL	1002
#define WS_CLOSE_NO_STATUS	1005	/* never sent: a close without one */
#define WS_CLOSE_BAD_DATA	1007	/* a text that is not UTF-8 */
#define WS_CLOSE_POLICY		1008
#define WS_CLOSE_TOO_BIG	1009
#define WS_CLOSE_ERROR		1011
#define WS_CLOSE_TRY_AGAIN	1013

/*
 * The opening handshake (RFC 6455, 4.2.1) from the request's method and
 * headers (NULL: absent): 0 with the Sec-WebSocket-Accept value in accept,
 * or -1 with why (and *version_bad set when only the version is wrong,
 * which is answered 426 with the version qmsd speaks).
 */
int	 ws_handshake(const char *method, const char *upgrade,
	    const char *connection, const char *version, const char *key,
	    char accept[WS_ACCEPT_LEN + 1], int *version_bad,
	    const char **why);

/*
 * What a client sends: frames, masked, assembled into messages of at most
 * max bytes (fragments included).  Control frames may come between the
 * fragments of a message and are returned as they come.
 */
struct ws_decoder {
	size_t		 max;
	/* The frame being read. */
	uint8_t		 head[WS_MAX_HEADER];
	size_t		 nhead;
	int		 in_payload;
	int		 fin, opcode;
	uint64_t	 left;		/* payload bytes still to come */
	uint8_t		 mask[4];
	size_t		 maskpos;
	/* The data message being assembled (opcode 0: none). */
	int		 msg_opcode;
	uint8_t		*msg;
	size_t		 msglen, msgsize;
	/* A control frame's payload. */
	uint8_t		 ctl[WS_MAX_CONTROL];
	size_t		 ctllen;
	int		 returned;	/* msg was returned: reset it next */
	int		 failed;
};

struct ws_message {
	int		 opcode;	/* WS_TEXT, WS_BINARY, or control */
	const uint8_t	*data;		/* valid until the next ws_decode */
	size_t		 len;
	/* WS_CLOSE: the code (WS_CLOSE_NO_STATUS if none) and reason. */
	int		 code;
	/* On an error: the close code to answer with, and why. */
	const char	*why;
};

void	 ws_decoder_init(struct ws_decoder *, size_t max);
void	 ws_decoder_free(struct ws_decoder *);
/*
 * Decode from in: 1 with a whole message in m, 0 when all of in was read
 * and no message is whole yet, -1 on a protocol error (m->code, m->why:
 * the connection must be closed with that code; the decoder stays
 * failed).  *used says how much of in was read, in every case.
 */
int	 ws_decode(struct ws_decoder *, const uint8_t *in, size_t len,
	    size_t *used, struct ws_message *m);

/* A server frame's header (FIN set, unmasked) for len bytes; its size. */
size_t	 ws_frame_header(uint8_t out[WS_MAX_HEADER], int opcode, size_t len);
/* A close frame's payload: the code and as much of reason as fits. */
size_t	 ws_close_payload(uint8_t out[WS_MAX_CONTROL], int code,
	    const char *reason);
/* Is s (len bytes) well-formed UTF-8? */
int	 ws_utf8_ok(const uint8_t *s, size_t len);

#endif
