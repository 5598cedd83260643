#include "qmsctl.h"

static int	cmd_start_exec(int, char **);

const struct cmd_entry cmd_start_entry = {
	.name = "start",
	.usage = "component",
	.summary = "start a component (admin); clears a failed one's give-up",
	.exec = cmd_start_exec,
};

static int
cmd_start_exec(int argc, char **argv)
{
	return (ctl_component_action(&cmd_start_entry, "start", argc, argv));
}
