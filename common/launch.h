/*
 * How a session runs the agent's command in its container, the same
 * whether qmsd brokers the exec or qmsctl runs docker exec itself.
 *
 * In tmux when the image has it (so that the command outlives the
 * terminal, and a second session attaches to the same one), else in the
 * exec itself; either way in a loop that, when the command ends, says so
 * with its status (and signal) and offers to start it again:
 *
 *	Claude exited with status 1.
 *	Press Enter to start it again, or Ctrl-D to close this session.
 *
 * Enter starts it again; end of input ends the session with the command's
 * last status.  A command that exits at once waits for Enter each time, so
 * the loop never spins.  Two fixed texts are all that sh reads: the
 * command travels as arguments ("$@") from the exec to tmux and on to the
 * loop, never as shell text.
 *
 * Not tmux's remain-on-exit: its dead pane says only "Pane is dead", is
 * brought back by a tmux command (respawn-pane) rather than a key until
 * tmux 3.4 (the image has 3.3), and there is no pane at all in an image
 * without tmux.  The loop reads the same everywhere.
 */
#ifndef QMSD_LAUNCH_H
#define QMSD_LAUNCH_H

/*
 * The exec's argv for command (NULL-terminated): sh -c LAUNCHER ...
 * command.  A vector to free with argv_free.
 */
char	**launch_argv(char *const *command);

/*
 * The same session without a terminal: the exec's argv to make (or join)
 * it with a control-mode client on the exec's stdin and stdout, the
 * window rows by cols until a person attaches.  Needs tmux in the image.
 */
char	**launch_headless_argv(char *const *command, int rows, int cols);
/*
 * A control-mode client for a session already there (tmux -C attach), or
 * an exit 1 when there is none; never a tmux server started.
 */
char	**launch_link_argv(void);
/* Whether an exec's command line (as Docker's events give it) is a session's. */
int	 launch_is_session(const char *);

#endif
