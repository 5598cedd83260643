/* down: stop the agent's container; its volumes and files stay. */
#include <stdio.h>

#include "qmsctl.h"

static int	cmd_down_exec(int, char **);

const struct cmd_entry cmd_down_entry = {
	.name = "down",
	.usage = "[agent]",
	.summary = "stop an agent's container, keeping its volumes (admin)",
	.exec = cmd_down_exec,
};

static int
cmd_down_exec(int argc, char **argv)
{
	cJSON		*params, *res;
	const char	*agent = argc == 2 ? argv[1] : "claude";
	char		 why[512];
	int		 rc;

	if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
		cmd_usage(&cmd_down_entry);
		return (EXIT_USAGE);
	}
	params = cJSON_CreateObject();
	cJSON_AddStringToObject(params, "agent", agent);
	ctl_timeout_ms = 60000;
	if ((rc = ctl_call("down", params, &res, why, sizeof(why))) !=
	    EXIT_OK) {
		if (rc == EXIT_UNREACHABLE)
			fprintf(stderr, "qmsctl: %s\n", why);
		return (rc);
	}
	printf("agent %s: stopped\n", agent);
	cJSON_Delete(res);
	return (EXIT_OK);
}
