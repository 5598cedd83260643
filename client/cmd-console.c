/*
 * console: a one-time login link to the web console, valid for a minute
 * (admin only: whoever opens it is logged in); or, with --logout-all,
 * every browser logged out.
 */
#include <stdio.h>
#include <string.h>

#include "qmsctl.h"

static int	cmd_console_exec(int, char **);

const struct cmd_entry cmd_console_entry = {
	.name = "console",
	.usage = "[--logout-all]",
	.summary = "print a one-time login link to the web console, or log "
	    "every browser out (admin)",
	.exec = cmd_console_exec,
};

static int
cmd_console_exec(int argc, char **argv)
{
	cJSON	*params = NULL, *res, *url, *ended;
	char	 why[512];
	int	 rc, all = argc == 2 && strcmp(argv[1], "--logout-all") == 0;

	if (argc != 1 && !all) {
		cmd_usage(&cmd_console_entry);
		return (EXIT_USAGE);
	}
	if (all) {
		params = cJSON_CreateObject();
		cJSON_AddTrueToObject(params, "logout_all");
	}
	if ((rc = ctl_call("console", params, &res, why, sizeof(why))) !=
	    EXIT_OK) {
		if (rc == EXIT_UNREACHABLE)
			fprintf(stderr, "qmsctl: %s\n", why);
		return (rc);
	}
	if (all) {
		ended = cJSON_GetObjectItemCaseSensitive(res, "ended");
		if (!cJSON_IsNumber(ended)) {
			fprintf(stderr, "qmsctl: qmsd's answer has no count\n");
			cJSON_Delete(res);
			return (EXIT_FAILED);
		}
		printf("%d console session%s logged out\n", ended->valueint,
		    ended->valueint == 1 ? "" : "s");
		cJSON_Delete(res);
		return (EXIT_OK);
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
