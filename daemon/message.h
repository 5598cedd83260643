/*
 * One line for a refusal: printf into a fixed buffer, and a string quoted
 * for logs and HTTP bodies.  Pure: what the parsers and policies say when
 * they refuse, written one way.
 */
#ifndef QMSD_MESSAGE_H
#define QMSD_MESSAGE_H

#include <stdarg.h>
#include <stddef.h>

/* printf into buf (len bytes, cut there); nothing when buf is NULL or len 0. */
void	msg_say(char *buf, size_t len, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	msg_vsay(char *buf, size_t len, const char *fmt, va_list)
	    __attribute__((format(printf, 3, 0)));
/* msg_say, and -1: return (msg_fail(err, errlen, "why")). */
int	msg_fail(char *buf, size_t len, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/*
 * s[0..len) quoted for a message into out (outlen bytes): what an agent
 * sent may hold any byte, and the message goes into a log, an audit record
 * and an HTTP body, so anything but printable ASCII (and " and \) is
 * written \xHH, and past 96 bytes or the room in out it is cut with "...".
 * Empty when outlen is under 8.
 */
void	msg_quote(char *out, size_t outlen, const char *s, size_t len);

#endif
