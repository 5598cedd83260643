/*
 * notify: a person's message typed into an agent's Claude session the
 * way inbox notifications are: when it is idle, confirmed by Claude's
 * UserPromptSubmit hook.  Waits for that unless -n; leaving early does
 * not withdraw the message.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qmsctl.h"
#include "util.h"

static int	cmd_notify_exec(int, char **);

const struct cmd_entry cmd_notify_entry = {
	.name = "notify",
	.usage = "[-n] agent text ...",
	.summary = "type a message into an agent's session when it is idle "
	    "(admin)",
	.exec = cmd_notify_exec,
};

static int
cmd_notify_exec(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "no-wait", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	cJSON		*params, *res;
	char		 why[512], *text;
	size_t		 len = 0;
	int		 ch, rc, wait = 1, i;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "+n", longopts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			wait = 0;
			break;
		default:
			cmd_usage(&cmd_notify_entry);
			return (EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 2) {
		cmd_usage(&cmd_notify_entry);
		return (EXIT_USAGE);
	}
	/* The words of the text, as one line with blanks between. */
	for (i = 1; i < argc; i++)
		len += strlen(argv[i]) + 1;
	text = xcalloc(1, len + 1);
	for (i = 1; i < argc; i++) {
		if (i > 1)
			strcat(text, " ");
		strcat(text, argv[i]);
	}
	params = cJSON_CreateObject();
	cJSON_AddStringToObject(params, "agent", argv[0]);
	cJSON_AddStringToObject(params, "text", text);
	cJSON_AddBoolToObject(params, "wait", wait);
	free(text);
	/* Till the agent is idle and takes it: no limit. */
	ctl_timeout_ms = wait ? -1 : 10000;
	if ((rc = ctl_call("notify", params, &res, why, sizeof(why))) !=
	    EXIT_OK) {
		if (rc == EXIT_UNREACHABLE)
			fprintf(stderr, "qmsctl: %s\n", why);
		return (rc);
	}
	if (wait)
		printf("agent %s: delivered\n", argv[0]);
	else
		printf("agent %s: queued; qmsctl events %s shows when it is "
		    "delivered\n", argv[0], argv[0]);
	cJSON_Delete(res);
	return (EXIT_OK);
}
