/*
 * RFC 6455, server side: see websocket.h.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "log.h"
#include "websocket.h"

#define WS_GUID		"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_KEY_LEN	24		/* base64 of 16 bytes */

/* Does the comma-separated list v hold token (any case)? */
static int
has_token(const char *v, const char *token)
{
	size_t	n, tlen = strlen(token);

	while (v != NULL && *v != '\0') {
		v += strspn(v, " \t,");
		n = strcspn(v, ",");
		/* Trailing blanks are not the token's. */
		while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
			n--;
		if (n == tlen && strncasecmp(v, token, n) == 0)
			return (1);
		v += strcspn(v, ",");
	}
	return (0);
}

/* 16 bytes in base64, padded: 22 characters of the alphabet, then "==". */
static int
key_ok(const char *key)
{
	static const char	 b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned char		 out[WS_KEY_LEN];

	if (strlen(key) != WS_KEY_LEN || strspn(key, b64) != WS_KEY_LEN - 2 ||
	    strcmp(key + WS_KEY_LEN - 2, "==") != 0)
		return (0);
	/* The last character before the padding holds 4 unused bits, 0. */
	if ((strchr(b64, key[WS_KEY_LEN - 3]) - b64) % 16 != 0)
		return (0);
	return (EVP_DecodeBlock(out, (const unsigned char *)key,
	    WS_KEY_LEN) == 18);
}

int
ws_handshake(const char *method, const char *upgrade, const char *connection,
    const char *version, const char *key, char accept[WS_ACCEPT_LEN + 1],
    int *version_bad, const char **why)
{
	unsigned char	 md[SHA_DIGEST_LENGTH];
	char		 buf[WS_KEY_LEN + sizeof(WS_GUID)];

	*version_bad = 0;
	accept[0] = '\0';
	if (method == NULL || strcmp(method, "GET") != 0)
		*why = "a WebSocket handshake is a GET";
	else if (upgrade == NULL || !has_token(upgrade, "websocket"))
		*why = "no \"Upgrade: websocket\" header";
	else if (connection == NULL || !has_token(connection, "upgrade"))
		*why = "no \"upgrade\" in the Connection header";
	else if (version == NULL || strcmp(version, "13") != 0) {
		*version_bad = 1;
		*why = "Sec-WebSocket-Version must be 13";
	} else if (key == NULL || !key_ok(key))
		*why = "Sec-WebSocket-Key is not 16 bytes in base64";
	else {
		memcpy(buf, key, WS_KEY_LEN);
		memcpy(buf + WS_KEY_LEN, WS_GUID, sizeof(WS_GUID) - 1);
		SHA1((const unsigned char *)buf, WS_KEY_LEN +
		    sizeof(WS_GUID) - 1, md);
		EVP_EncodeBlock((unsigned char *)accept, md, sizeof(md));
		return (0);
	}
	return (-1);
}

void
ws_decoder_init(struct ws_decoder *d, size_t max)
{
	memset(d, 0, sizeof(*d));
	d->max = max;
}

void
ws_decoder_free(struct ws_decoder *d)
{
	free(d->msg);
	d->msg = NULL;
	d->msgsize = d->msglen = 0;
}

int
ws_utf8_ok(const uint8_t *s, size_t len)
{
	size_t		i = 0, n, k;
	uint32_t	c;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			n = 1;
			c = s[i] & 0x1f;
		} else if ((s[i] & 0xf0) == 0xe0) {
			n = 2;
			c = s[i] & 0x0f;
		} else if ((s[i] & 0xf8) == 0xf0) {
			n = 3;
			c = s[i] & 0x07;
		} else
			return (0);
		if (len - i - 1 < n)
			return (0);
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return (0);
			c = (c << 6) | (s[i + k] & 0x3f);
		}
		/* Overlong forms, surrogates, past U+10FFFF. */
		if ((n == 1 && c < 0x80) || (n == 2 && c < 0x800) ||
		    (n == 3 && c < 0x10000) || c > 0x10ffff ||
		    (c >= 0xd800 && c <= 0xdfff))
			return (0);
		i += n + 1;
	}
	return (1);
}

static int
fail(struct ws_decoder *d, struct ws_message *m, int code, const char *why)
{
	d->failed = 1;
	m->code = code;
	m->why = why;
	return (-1);
}

/* How long the header whose first bytes are in d->head is, in all. */
static size_t
head_len(const struct ws_decoder *d)
{
	size_t	n = 2;

	if (d->nhead < 2)
		return (2);
	if ((d->head[1] & 0x7f) == 126)
		n += 2;
	else if ((d->head[1] & 0x7f) == 127)
		n += 8;
	if (d->head[1] & 0x80)
		n += 4;
	return (n);
}

/* The header is whole: check it; 0, or -1 (m says why). */
static int
head_done(struct ws_decoder *d, struct ws_message *m)
{
	const uint8_t	*h = d->head;
	uint64_t	 len;
	size_t		 i, at = 2;
	int		 control;

	d->fin = (h[0] & 0x80) != 0;
	d->opcode = h[0] & 0x0f;
	if (h[0] & 0x70)
		return (fail(d, m, WS_CLOSE_PROTOCOL, "a reserved bit is set "
		    "(no extension was agreed)"));
	switch (d->opcode) {
	case WS_CONTINUATION:
	case WS_TEXT:
	case WS_BINARY:
	case WS_CLOSE:
	case WS_PING:
	case WS_PONG:
		break;
	default:
		return (fail(d, m, WS_CLOSE_PROTOCOL, "an unknown opcode"));
	}
	if (!(h[1] & 0x80))
		return (fail(d, m, WS_CLOSE_PROTOCOL, "a client frame must be "
		    "masked"));
	len = h[1] & 0x7f;
	if (len == 126) {
		len = (uint64_t)h[2] << 8 | h[3];
		at = 4;
		if (len < 126)
			return (fail(d, m, WS_CLOSE_PROTOCOL, "a length not in "
			    "its shortest form"));
	} else if (len == 127) {
		for (len = 0, i = 2; i < 10; i++)
			len = len << 8 | h[i];
		at = 10;
		if (len >> 63)
			return (fail(d, m, WS_CLOSE_PROTOCOL, "a length with "
			    "its top bit set"));
		if (len <= 0xffff)
			return (fail(d, m, WS_CLOSE_PROTOCOL, "a length not in "
			    "its shortest form"));
	}
	memcpy(d->mask, h + at, 4);
	d->maskpos = 0;
	d->left = len;
	control = d->opcode >= WS_CLOSE;
	if (control) {
		if (!d->fin)
			return (fail(d, m, WS_CLOSE_PROTOCOL, "a fragmented "
			    "control frame"));
		if (len > WS_MAX_CONTROL)
			return (fail(d, m, WS_CLOSE_PROTOCOL, "a control frame "
			    "over 125 bytes"));
		d->ctllen = 0;
		return (0);
	}
	if (d->opcode == WS_CONTINUATION && d->msg_opcode == 0)
		return (fail(d, m, WS_CLOSE_PROTOCOL, "a continuation with no "
		    "message begun"));
	if (d->opcode != WS_CONTINUATION && d->msg_opcode != 0)
		return (fail(d, m, WS_CLOSE_PROTOCOL, "a new message before "
		    "the last one ended"));
	if (d->opcode != WS_CONTINUATION) {
		d->msg_opcode = d->opcode;
		d->msglen = 0;
	}
	if (len > d->max - d->msglen)
		return (fail(d, m, WS_CLOSE_TOO_BIG, "a message over the size "
		    "allowed"));
	return (0);
}

/* Room in msg for the frame's payload (within max, checked before). */
static void
msg_grow(struct ws_decoder *d)
{
	size_t	want = d->msglen + (size_t)d->left, size;
	uint8_t	*tmp;

	if (want <= d->msgsize)
		return;
	for (size = d->msgsize ? d->msgsize : 256; size < want; size *= 2)
		;
	if (size > d->max)
		size = d->max;
	if ((tmp = realloc(d->msg, size)) == NULL)
		fatal("realloc");
	d->msg = tmp;
	d->msgsize = size;
}

/* The frame's payload is all in: 1 with a message, 0, or -1. */
static int
frame_done(struct ws_decoder *d, struct ws_message *m)
{
	d->nhead = 0;
	d->in_payload = 0;
	if (d->opcode >= WS_CLOSE) {
		m->opcode = d->opcode;
		m->data = d->ctl;
		m->len = d->ctllen;
		m->code = 0;
		if (d->opcode != WS_CLOSE)
			return (1);
		if (d->ctllen == 1)
			return (fail(d, m, WS_CLOSE_PROTOCOL, "a close frame "
			    "with half a code"));
		if (d->ctllen == 0) {
			m->code = WS_CLOSE_NO_STATUS;
			return (1);
		}
		m->code = d->ctl[0] << 8 | d->ctl[1];
		/* 7.4: the codes an endpoint may send. */
		if (m->code < 1000 || m->code >= 5000 || m->code == 1004 ||
		    m->code == 1005 || m->code == 1006 ||
		    (m->code > 1014 && m->code < 3000))
			return (fail(d, m, WS_CLOSE_PROTOCOL, "a close code that "
			    "may not be sent"));
		if (!ws_utf8_ok(d->ctl + 2, d->ctllen - 2))
			return (fail(d, m, WS_CLOSE_BAD_DATA, "a close reason "
			    "that is not UTF-8"));
		return (1);
	}
	if (!d->fin)
		return (0);
	m->opcode = d->msg_opcode;
	m->data = d->msg;
	m->len = d->msglen;
	m->code = 0;
	d->msg_opcode = 0;
	d->returned = 1;
	if (m->opcode == WS_TEXT && !ws_utf8_ok(d->msg, d->msglen))
		return (fail(d, m, WS_CLOSE_BAD_DATA, "a text message that is "
		    "not UTF-8"));
	return (1);
}

int
ws_decode(struct ws_decoder *d, const uint8_t *in, size_t len, size_t *used,
    struct ws_message *m)
{
	size_t	 i = 0, n, k, want;
	uint8_t	*to;
	int	 rv;

	memset(m, 0, sizeof(*m));
	*used = 0;
	if (d->failed)
		return (fail(d, m, WS_CLOSE_PROTOCOL, "the connection failed "
		    "already"));
	if (d->returned) {
		d->returned = 0;
		d->msglen = 0;
	}
	while (i < len || (d->in_payload && d->left == 0)) {
		if (!d->in_payload) {
			/* Byte by byte: the header's length depends on it. */
			want = head_len(d);
			while (d->nhead < want && i < len) {
				d->head[d->nhead++] = in[i++];
				want = head_len(d);
			}
			if (d->nhead < want)
				break;
			if (head_done(d, m) == -1) {
				*used = i;
				return (-1);
			}
			d->in_payload = 1;
			if (d->opcode < WS_CLOSE)
				msg_grow(d);
		}
		n = len - i < d->left ? len - i : (size_t)d->left;
		if (n > 0) {
			to = d->opcode >= WS_CLOSE ? d->ctl + d->ctllen :
			    d->msg + d->msglen;
			for (k = 0; k < n; k++)
				to[k] = in[i + k] ^ d->mask[d->maskpos++ & 3];
		}
		if (d->opcode >= WS_CLOSE)
			d->ctllen += n;
		else
			d->msglen += n;
		d->left -= n;
		i += n;
		/* A fragment that is not the last: on to the next frame. */
		if (d->left == 0 && (rv = frame_done(d, m)) != 0) {
			*used = i;
			return (rv);
		}
	}
	*used = i;
	return (0);
}

size_t
ws_frame_header(uint8_t out[WS_MAX_HEADER], int opcode, size_t len)
{
	size_t	i;

	out[0] = 0x80 | (opcode & 0x0f);
	if (len < 126) {
		out[1] = (uint8_t)len;
		return (2);
	}
	if (len <= 0xffff) {
		out[1] = 126;
		out[2] = (uint8_t)(len >> 8);
		out[3] = (uint8_t)len;
		return (4);
	}
	out[1] = 127;
	for (i = 0; i < 8; i++)
		out[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
	return (10);
}

size_t
ws_close_payload(uint8_t out[WS_MAX_CONTROL], int code, const char *reason)
{
	size_t	n = reason != NULL ? strlen(reason) : 0;

	out[0] = (uint8_t)(code >> 8);
	out[1] = (uint8_t)code;
	if (n > WS_MAX_CONTROL - 2)
		n = WS_MAX_CONTROL - 2;
	/* Not in the middle of a character. */
	while (n > 0 && !ws_utf8_ok((const uint8_t *)reason, n))
		n--;
	if (n > 0)
		memcpy(out + 2, reason, n);
	return (n + 2);
}
