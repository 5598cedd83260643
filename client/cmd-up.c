/* up: create the agent's container if missing, start it, wait till running. */
#include <stdio.h>
#include <string.h>

#include "qmsctl.h"

static int	cmd_up_exec(int, char **);

const struct cmd_entry cmd_up_entry = {
	.name = "up",
	.usage = "[--force] [agent]",
	.summary = "create and start an agent's container (admin)",
	.exec = cmd_up_exec,
};

static int
cmd_up_exec(int argc, char **argv)
{
	cJSON		*params, *res, *id;
	const char	*agent = "claude";
	char		 why[512];
	int		 i, force = 0, rc;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--force") == 0)
			force = 1;
		else if (argv[i][0] == '-' || i != argc - 1) {
			cmd_usage(&cmd_up_entry);
			return (EXIT_USAGE);
		} else
			agent = argv[i];
	}
	params = cJSON_CreateObject();
	cJSON_AddStringToObject(params, "agent", agent);
	cJSON_AddBoolToObject(params, "force", force);
	ctl_timeout_ms = 600000;	/* a first start may unpack an image */
	if ((rc = ctl_call("up", params, &res, why, sizeof(why))) != EXIT_OK) {
		if (rc == EXIT_UNREACHABLE)
			fprintf(stderr, "qmsctl: %s\n", why);
		return (rc);
	}
	id = cJSON_GetObjectItemCaseSensitive(res, "container");
	printf("agent %s: running (%.12s)\n", agent, cJSON_IsString(id) ?
	    id->valuestring : "?");
	cJSON_Delete(res);
	return (EXIT_OK);
}
