/*
 * exec: one command in an agent's container, brokered by qmsd like a
 * session; with a terminal when stdin is one, else with stdout and stderr
 * kept apart.  The command's exit code is qmsctl's.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "qmsctl.h"

static int	cmd_exec_exec(int, char **);

const struct cmd_entry cmd_exec_entry = {
	.name = "exec",
	.usage = "[--force] agent -- command [argument ...]",
	.summary = "run a command in an agent's container (admin)",
	.exec = cmd_exec_exec,
};

static int
cmd_exec_exec(int argc, char **argv)
{
	int	force = 0;

	if (argc > 1 && strcmp(argv[1], "--force") == 0) {
		force = 1;
		argc--;
		argv++;
	}
	if (argc < 4 || strcmp(argv[2], "--") != 0 || argv[1][0] == '-') {
		cmd_usage(&cmd_exec_entry);
		return (EXIT_USAGE);
	}
	return (relay_session(argv[1], argv + 3, isatty(STDIN_FILENO) &&
	    isatty(STDOUT_FILENO), force, "exec"));
}
