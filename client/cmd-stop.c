#include "qmsctl.h"

static int	cmd_stop_exec(int, char **);

const struct cmd_entry cmd_stop_entry = {
	.name = "stop",
	.usage = "component",
	.summary = "stop a component (admin)",
	.exec = cmd_stop_exec,
};

static int
cmd_stop_exec(int argc, char **argv)
{
	return (ctl_component_action(&cmd_stop_entry, "stop", argc, argv));
}
