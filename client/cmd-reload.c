#include <stdio.h>

#include "qmsctl.h"

static int	cmd_reload_exec(int, char **);

const struct cmd_entry cmd_reload_entry = {
	.name = "reload",
	.usage = "",
	.summary = "reload qmsd's configuration (admin)",
	.exec = cmd_reload_exec,
};

static int
cmd_reload_exec(int argc, char **argv)
{
	cJSON	*res, *f;
	char	 why[512];
	int	 rc;

	if (argc != 1) {
		cmd_usage(&cmd_reload_entry);
		return (EXIT_USAGE);
	}
	if ((rc = ctl_call("reload", NULL, &res, why, sizeof(why))) !=
	    EXIT_OK) {
		if (rc == EXIT_UNREACHABLE)
			fprintf(stderr, "qmsctl: %s\n", why);
		return (rc);
	}
	f = cJSON_GetObjectItemCaseSensitive(res, "config");
	printf("reloaded %s\n", cJSON_IsString(f) ? f->valuestring :
	    "built-in defaults");
	cJSON_Delete(res);
	return (EXIT_OK);
}
