/*
 * libFuzzer harness for what an agent's container sends qmsd's tmux link:
 * Docker's framed exec stream carrying tmux's control-mode output.  The
 * invariants: an answer's flags are what a %begin said, every answer
 * and %exit comes from a complete line, nothing is read after %exit, and
 * the first output line given is cut to the line buffer.  The input's
 * first byte also picks a text to quote: a quoted text holds no control
 * character and is one single-quoted word.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker-stream.h"
#include "tmux-control.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int	exited;

static void
fail(const char *what)
{
	fprintf(stderr, "invariant broken: %s\n", what);
	abort();
}

static void
on_reply(void *arg, int flags, int ok, const char *first)
{
	if (exited)
		fail("an answer after %exit");
	if (flags < 0 || flags > 0xffff)
		fail("flags out of range");
	if (strlen(first) >= TMUX_CONTROL_LINE || strchr(first, '\n') != NULL)
		fail("first line not one cut line");
}

static void
on_exit_(void *arg, const char *reason)
{
	if (exited++)
		fail("two %exits");
	if (strlen(reason) >= TMUX_CONTROL_LINE)
		fail("reason too long");
}

static const struct tmux_control_cb cb = { on_reply, on_exit_ };

static void
on_frame(void *arg, int kind, const char *data, size_t len)
{
	if (kind < 0 || kind > 2)
		fail("a stream that is none");
	if (kind == 1)
		tmux_control_feed(arg, data, len);
}

static void
check_quote(const uint8_t *data, size_t size)
{
	char	 text[256], out[1200];
	size_t	 n = size < sizeof(text) - 1 ? size : sizeof(text) - 1, i;
	int	 open = 0;

	memcpy(text, data, n);
	text[n] = '\0';
	if (tmux_quote(text, out, sizeof(out)) == -1)
		return;
	if (out[0] != '\'' || out[strlen(out) - 1] != '\'')
		fail("not quoted");
	for (i = 0; out[i] != '\0'; i++) {
		if ((unsigned char)out[i] < ' ' || out[i] == 0x7f)
			fail("a control character quoted");
		if (out[i] == '\'')
			open = !open;
		else if (!open && out[i] == '\\' && out[i + 1] == '\'')
			i++;	/* outside quotes only \' may stand */
		else if (!open)
			fail("text outside the quotes");
	}
	if (open)
		fail("a quote left open");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct docker_stream	ds;
	struct tmux_control	tc;
	size_t			half = size / 2;

	check_quote(data, size);
	exited = 0;
	memset(&ds, 0, sizeof(ds));
	tmux_control_init(&tc, &cb, NULL);
	/* In two pieces: the parsers keep what a piece left unfinished. */
	if (docker_stream_feed(&ds, (const char *)data, half, on_frame,
	    &tc) == 0)
		docker_stream_feed(&ds, (const char *)data + half, size - half,
		    on_frame, &tc);
	/* Unframed, as tmux writes it. */
	exited = 0;
	tmux_control_init(&tc, &cb, NULL);
	tmux_control_feed(&tc, (const char *)data, size);
	return (0);
}
