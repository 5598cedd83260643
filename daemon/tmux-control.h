/*
 * tmux's control mode (tmux -C), the part qmsd speaks: pure, no I/O.
 *
 * What qmsd writes is one command per line, its untrusted text quoted by
 * tmux_quote.  What tmux writes back is lines: each command's answer is a
 * block, "%begin TIME NUMBER FLAGS", its output, then "%end" or "%error"
 * with the same three numbers (FLAGS 1 for a command this client sent, 0
 * for the one given on tmux's command line, which answers first);
 * outside blocks come notifications ("%session-changed ...") and, last,
 * "%exit [REASON]" when the client leaves (its session was killed, the
 * server went, it was detached).  Only a %end or %error of the open
 * block's number closes it, so no output line can pose as one.
 */
#ifndef QMSD_TMUX_CONTROL_H
#define QMSD_TMUX_CONTROL_H

#include <stddef.h>

/* Longer lines are cut here: only their start is ever read. */
#define TMUX_CONTROL_LINE	512

/*
 * text as one word of tmux's command language, taken literally: in
 * single quotes, where tmux expands nothing ($, ~, #{}, \ and ; are
 * plain), each ' written as '\'' (close, an escaped quote, reopen).
 * Control characters (below space, and DEL) are refused: a newline would
 * end the command line.  0, or -1 when refused or out is too small.
 */
int	 tmux_quote(const char *text, char *out, size_t outlen);

struct tmux_control_cb {
	/*
	 * A block ended: flags as tmux gave them (1: ours), ok or not, and
	 * the first line of its output ("" if none), cut to a line.
	 */
	void	(*reply)(void *, int flags, int ok, const char *first);
	/* %exit: the client leaves; reason "" when tmux gave none. */
	void	(*exit)(void *, const char *reason);
};

struct tmux_control {
	const struct tmux_control_cb	*cb;
	void				*arg;
	char				 line[TMUX_CONTROL_LINE];
	size_t				 len;
	int				 in_block;
	unsigned long			 number;
	int				 flags;
	char				 first[TMUX_CONTROL_LINE];
	int				 have_first;
	int				 exited;
};

void	 tmux_control_init(struct tmux_control *,
	    const struct tmux_control_cb *, void *arg);
/*
 * Feed what tmux wrote, in pieces of any size; callbacks run as lines
 * complete.  Nothing is read after %exit.
 */
void	 tmux_control_feed(struct tmux_control *, const char *, size_t);

#endif
