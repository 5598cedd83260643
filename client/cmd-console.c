/*
 * console: a one-time login link to the web console, valid for a minute
 * (admin only: whoever opens it is logged in).
 */
#include <stdio.h>

#include "qmsctl.h"

static int	cmd_console_exec(int, char **);

const struct cmd_entry cmd_console_entry = {
	.name = "console",
	.usage = "",
	.summary = "print a one-time login link to the web console (admin)",
	.exec = cmd_console_exec,
};

static int
cmd_console_exec(int argc, char **argv)
{
	cJSON	*res, *url;
	char	 why[512];
	int	 rc;

	if (argc != 1) {
		cmd_usage(&cmd_console_entry);
		return (EXIT_USAGE);
	}
	if ((rc = ctl_call("console", NULL, &res, why, sizeof(why))) !=
	    EXIT_OK) {
		if (rc == EXIT_UNREACHABLE)
			fprintf(stderr, "qmsctl: %s\n", why);
		return (rc);
	}
	url = cJSON_GetObjectItemCaseSensitive(res, "url");
	if (!cJSON_IsString(url)) {
		fprintf(stderr, "qmsctl: qmsd's answer has no url\n");
		cJSON_Delete(res);
		return (EXIT_FAILED);
	}
	printf("%s\n", url->valuestring);
	cJSON_Delete(res);
	return (EXIT_OK);
}
