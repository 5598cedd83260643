#include "qmsctl.h"

static int	cmd_restart_exec(int, char **);

const struct cmd_entry cmd_restart_entry = {
	.name = "restart",
	.usage = "component",
	.summary = "restart a component (admin)",
	.exec = cmd_restart_exec,
};

static int
cmd_restart_exec(int argc, char **argv)
{
	return (ctl_component_action(&cmd_restart_entry, "restart", argc, argv));
}
