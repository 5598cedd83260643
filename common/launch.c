/*
 * How a session runs the agent's command; see launch.h.
 */
#include <stdlib.h>
#include <string.h>

#include "argv.h"
#include "launch.h"
#include "util.h"

/*
 * $1 is the loop's text, the rest the command.  tmux is given more than
 * one word, so it runs them as they are (one word it would hand to a
 * shell).  -A: a session already there is attached, its command left
 * running.
 */
static const char launcher[] =
    "loop=$1; shift; "
    "if command -v tmux >/dev/null 2>&1; then "
    "exec tmux new-session -A -s agent sh -c \"$loop\" qmsd-session \"$@\"; "
    "fi; "
    "exec sh -c \"$loop\" qmsd-session \"$@\"";

/*
 * Without a terminal (issue 16's headless start): the same session, made
 * or joined by a control-mode client (tmux -C) that qmsd keeps as its
 * link to it.  -x and -y size the window until a person attaches; the
 * client's flags keep it from sizing the window at all (ignore-size) and
 * from being sent the pane's output (no-output), so a person's terminal
 * decides.  $2 and $3 are the rows and columns, digits qmsd wrote.
 */
static const char headless[] =
    "loop=$1; rows=$2; cols=$3; shift 3; "
    "if ! command -v tmux >/dev/null 2>&1; then "
    "echo 'qmsd-session: no tmux in the image: no headless start' >&2; "
    "exit 127; fi; "
    "exec tmux -C new-session -A -s agent -x \"$cols\" -y \"$rows\" "
    "-f ignore-size,no-output sh -c \"$loop\" qmsd-session \"$@\"";

/*
 * The loop.  With a terminal, job control: the command runs in a process
 * group of its own, in the foreground, and the terminal comes back to the
 * loop when it ends even if it took the terminal for a group of its own
 * (a shell does) and died without giving it back; otherwise Enter could
 * not be read.  A command that died with the terminal in raw mode (Claude
 * runs it so) would leave Enter unread too: stty sane.  A stopped command
 * (Ctrl-Z) has nothing to return to here: it goes on (fg; 148 is 128 +
 * SIGTSTP, and a command may exit 148 too: jobs says whether one is
 * stopped).  INT is caught, not
 * ignored (an ignored signal would stay ignored in the command), since sh
 * raises it on itself when its foreground job died of it.  sh reports a
 * signal as 128 + its number.
 */
static const char loop[] =
    "trap : INT QUIT\n"
    "if [ -t 0 ]; then set -m; fi\n"
    "while :; do\n"
    "	\"$@\"\n"
    "	s=$?\n"
    "	while [ \"$s\" -eq 148 ] && jobs %% >/dev/null 2>&1; do\n"
    "		fg >/dev/null 2>&1\n"
    "		s=$?\n"
    "	done\n"
    "	if [ -t 0 ]; then stty sane 2>/dev/null; fi\n"
    "	if [ -t 1 ]; then printf '\\033[0m\\033[?25h'; fi\n"
    "	why=\n"
    "	if [ \"$s\" -gt 128 ]; then\n"
    "		why=\" (signal $((s - 128)), $(kill -l \"$s\"))\"\n"
    "	fi\n"
    "	printf '\\nClaude exited with status %d%s.\\n' \"$s\" \"$why\"\n"
    "	printf 'Press Enter to start it again, or Ctrl-D to close this "
    "session.\\n'\n"
    "	read -r _ || exit \"$s\"\n"
    "done\n";

char **
launch_argv(char *const *command)
{
	char	**v;
	size_t	  n = 0, i;

	for (i = 0; command[i] != NULL; i++)
		;
	v = xcalloc(i + 6, sizeof(*v));
	v[n++] = xstrdup("sh");
	v[n++] = xstrdup("-c");
	v[n++] = xstrdup(launcher);
	v[n++] = xstrdup("qmsd-session");
	v[n++] = xstrdup(loop);
	for (i = 0; command[i] != NULL; i++)
		v[n++] = xstrdup(command[i]);
	return (v);
}

char **
launch_headless_argv(char *const *command, int rows, int cols)
{
	char	**v;
	size_t	  n = 0, i;

	for (i = 0; command[i] != NULL; i++)
		;
	v = xcalloc(i + 8, sizeof(*v));
	v[n++] = xstrdup("sh");
	v[n++] = xstrdup("-c");
	v[n++] = xstrdup(headless);
	v[n++] = xstrdup("qmsd-session");
	v[n++] = xstrdup(loop);
	xasprintf(&v[n++], "%d", rows);
	xasprintf(&v[n++], "%d", cols);
	for (i = 0; command[i] != NULL; i++)
		v[n++] = xstrdup(command[i]);
	return (v);
}

/*
 * Joining a session already there.  attach-session would start a tmux
 * server where none runs (a server its configuration could fill), which
 * then exits for want of sessions: one started that way at the moment a
 * person's new-session starts its own took that person's client down
 * with it ("server exited unexpectedly").  has-session never starts one.
 */
static const char linker[] =
    "tmux has-session -t agent 2>/dev/null || exit 1; "
    "exec tmux -C attach-session -t agent -f ignore-size,no-output";

char **
launch_link_argv(void)
{
	char	**v;
	size_t	  n = 0;

	v = xcalloc(4, sizeof(*v));
	v[n++] = xstrdup("sh");
	v[n++] = xstrdup("-c");
	v[n++] = xstrdup(linker);
	return (v);
}

int
launch_is_session(const char *line)
{
	static const char	prefix[] = "sh -c ";

	/* Docker's events give the exec's words joined by spaces. */
	return (strncmp(line, prefix, sizeof(prefix) - 1) == 0 &&
	    strncmp(line + sizeof(prefix) - 1, launcher, 40) == 0);
}
