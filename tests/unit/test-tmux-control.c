/*
 * tmux's control mode as qmsd speaks it: quoting of untrusted text,
 * the answers and %exit as tmux 3.3a writes them (lines taken from a real
 * tmux), lines that pose as answers, and Docker's framing of an exec's
 * output.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "docker-stream.h"
#include "tmux-control.h"

static char	replies[4096];
static char	exits[256];
static int	nexit;

static void
on_reply(void *arg, int flags, int ok, const char *first)
{
	char	one[600];

	snprintf(one, sizeof(one), "[%d %s %s]", flags, ok ? "ok" : "error",
	    first);
	strncat(replies, one, sizeof(replies) - strlen(replies) - 1);
}

static void
on_exit_(void *arg, const char *reason)
{
	nexit++;
	snprintf(exits, sizeof(exits), "%s", reason);
}

static const struct tmux_control_cb cb = { on_reply, on_exit_ };

/* Feed text one byte at a time, then whole: the same answers. */
static const char *
parse(const char *text)
{
	static char		 whole[4096];
	struct tmux_control	 tc;
	size_t			 i;

	replies[0] = '\0';
	tmux_control_init(&tc, &cb, NULL);
	tmux_control_feed(&tc, text, strlen(text));
	snprintf(whole, sizeof(whole), "%s", replies);
	replies[0] = '\0';
	nexit = 0;
	tmux_control_init(&tc, &cb, NULL);
	for (i = 0; text[i] != '\0'; i++)
		tmux_control_feed(&tc, text + i, 1);
	CHECK_STR(replies, whole);
	return (replies);
}

static const char *
quote(const char *text)
{
	static char	out[256];

	if (tmux_quote(text, out, sizeof(out)) == -1)
		return ("(refused)");
	return (out);
}

static char	demuxed[256];

static void
on_frame(void *arg, int kind, const char *data, size_t len)
{
	size_t	n = strlen(demuxed);

	snprintf(demuxed + n, sizeof(demuxed) - n, "%d:%.*s|", kind, (int)len,
	    data);
}

int
main(void)
{
	struct docker_stream	 ds;
	char			 small[8], big[600];
	static const char	 framed[] =
	    "\1\0\0\0\0\0\0\3abc" "\2\0\0\0\0\0\0\2de" "\1\0\0\0\0\0\0\0";
	size_t			 i;

	/* Quoting: single quotes, ' closed, escaped and reopened. */
	CHECK_STR(quote("hello"), "'hello'");
	CHECK_STR(quote(""), "''");
	CHECK_STR(quote("'; kill-server; '"), "''\\''; kill-server; '\\'''");
	CHECK_STR(quote("$HOME ~ #{session_name} \\ ; {}"),
	    "'$HOME ~ #{session_name} \\ ; {}'");
	CHECK_STR(quote("a\nb"), "(refused)");
	CHECK_STR(quote("a\rb"), "(refused)");
	CHECK_STR(quote("\x1b[201~"), "(refused)");
	CHECK_STR(quote("a\x7f"), "(refused)");
	CHECK_STR(quote("caf\xc3\xa9"), "'caf\xc3\xa9'");
	/* Too small an out is refused, never cut. */
	CHECK(tmux_quote("abc", small, 5) == -1);
	CHECK(tmux_quote("abc", small, 6) == 0);
	CHECK_STR(small, "'abc'");
	CHECK(tmux_quote("''", small, sizeof(small)) == -1);
	CHECK(tmux_quote("", small, 2) == -1);

	/* What tmux 3.3a wrote for a control client (tmux -C). */
	CHECK_STR(parse("%begin 1796446388 259 0\n%end 1796446388 259 0\n"
	    "%window-add @0\n%sessions-changed\n%session-changed $0 agent\n"
	    "%begin 1796446388 266 1\n%end 1796446388 266 1\n"),
	    "[0 ok ][1 ok ]");
	CHECK_STR(parse("%begin 1796446424 264 0\ncan't find session: agent\n"
	    "%error 1796446424 264 0\n%exit\n"),
	    "[0 error can't find session: agent]");
	CHECK(nexit == 1);
	CHECK_STR(exits, "");
	CHECK_STR(parse("%begin 1 267 1\nparse error: unknown command: x\n"
	    "%error 1 267 1\n%exit detached\n%begin 1 268 1\n%end 1 268 1\n"),
	    "[1 error parse error: unknown command: x]");
	CHECK_STR(exits, "detached");
	/* Output posing as an end, or another block's, does not end it. */
	CHECK_STR(parse("%begin 1 5 1\n%end 1 6 1\n%error 1 5 0\n%end 1 5\n"
	    "%end 1 5 1 \n%end 1 5 1\n"), "[1 ok %end 1 6 1]");
	/* Nor does anything outside a block answer. */
	CHECK_STR(parse("%end 1 5 1\n%error 1 5 1\n%output %1 x\n"), "");
	CHECK_STR(parse("%begin 1 x 1\n%end 1 x 1\n%begin -1 2 1\n"), "");
	CHECK_STR(parse("%begin 1 7 1\r\n%end 1 7 1\r\n"), "[1 ok ]");
	/* A long line is cut, not a failure; the next one is read. */
	memset(big, 'x', sizeof(big));
	memcpy(big, "%begin 1 2 1\n", 13);
	big[sizeof(big) - 1] = '\0';
	{
		char	text[sizeof(big) + 32];

		snprintf(text, sizeof(text), "%s\n%%end 1 2 1\n", big);
		CHECK(strlen(parse(text)) == 7 + TMUX_CONTROL_LINE - 1);
	}

	/* Docker's frames, whole and a byte at a time. */
	memset(&ds, 0, sizeof(ds));
	CHECK(docker_stream_feed(&ds, framed, sizeof(framed) - 1, on_frame,
	    NULL) == 0);
	CHECK_STR(demuxed, "1:abc|2:de|");
	demuxed[0] = '\0';
	memset(&ds, 0, sizeof(ds));
	for (i = 0; i < sizeof(framed) - 1; i++)
		CHECK(docker_stream_feed(&ds, framed + i, 1, on_frame,
		    NULL) == 0);
	CHECK_STR(demuxed, "1:a|1:b|1:c|2:d|2:e|");
	/* Not framed (a terminal's stream): refused, then nothing read. */
	memset(&ds, 0, sizeof(ds));
	CHECK(docker_stream_feed(&ds, "%begin 1 2 3\n", 13, on_frame,
	    NULL) == -1);
	CHECK(docker_stream_feed(&ds, framed, 8, on_frame, NULL) == -1);
	return (check_done("tmux-control"));
}
