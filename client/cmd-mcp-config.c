/*
 * mcp-config: the .mcp.json a Claude Code on the host uses to reach qmsd's
 * MCP servers, with the host's bearer token (so: admin only).
 */
#include <stdio.h>

#include "qmsctl.h"

static int	cmd_mcp_config_exec(int, char **);

const struct cmd_entry cmd_mcp_config_entry = {
	.name = "mcp-config",
	.usage = "[agent]",
	.summary = "print the .mcp.json of the host or of an agent (admin)",
	.exec = cmd_mcp_config_exec,
};

static int
cmd_mcp_config_exec(int argc, char **argv)
{
	cJSON	*res, *params = NULL;
	char	 why[512], *s;
	int	 rc;

	if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
		cmd_usage(&cmd_mcp_config_entry);
		return (EXIT_USAGE);
	}
	if (argc == 2) {
		params = cJSON_CreateObject();
		cJSON_AddStringToObject(params, "agent", argv[1]);
	}
	if ((rc = ctl_call("mcp-config", params, &res, why, sizeof(why))) !=
	    EXIT_OK) {
		if (rc == EXIT_UNREACHABLE)
			fprintf(stderr, "qmsctl: %s\n", why);
		return (rc);
	}
	if ((s = cJSON_Print(res)) != NULL)
		printf("%s\n", s);
	cJSON_free(s);
	cJSON_Delete(res);
	return (EXIT_OK);
}
