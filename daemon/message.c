/*
 * A refusal's line, and strings quoted into it: see message.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "message.h"

void
msg_vsay(char *buf, size_t len, const char *fmt, va_list ap)
{
	if (buf == NULL || len == 0)
		return;
	vsnprintf(buf, len, fmt, ap);
}

void
msg_say(char *buf, size_t len, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	msg_vsay(buf, len, fmt, ap);
	va_end(ap);
}

int
msg_fail(char *buf, size_t len, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	msg_vsay(buf, len, fmt, ap);
	va_end(ap);
	return (-1);
}

void
msg_quote(char *out, size_t outlen, const char *s, size_t len)
{
	static const char	hex[] = "0123456789abcdef";
	size_t			o = 0, i;
	unsigned char		c;

	if (outlen < 8) {
		if (outlen > 0)
			out[0] = '\0';
		return;
	}
	out[o++] = '"';
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		/* Room for \xHH, "...", the quote and the NUL. */
		if (o + 4 + 3 + 2 > outlen || i >= 96) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 0xf];
		} else
			out[o++] = (char)c;
	}
	out[o++] = '"';
	out[o] = '\0';
}
