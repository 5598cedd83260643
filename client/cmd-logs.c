/*
 * logs: a component's recent output, and with -f everything after it as it
 * comes, until interrupted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "qmsctl.h"

static int	cmd_logs_exec(int, char **);

const struct cmd_entry cmd_logs_entry = {
	.name = "logs",
	.usage = "component [-n lines] [-f]",
	.summary = "show a component's recent log lines; -f follows",
	.exec = cmd_logs_exec,
};

static void
print_line(const cJSON *l, void *arg)
{
	const cJSON	*t = cJSON_GetObjectItemCaseSensitive(l, "time");
	const cJSON	*x = cJSON_GetObjectItemCaseSensitive(l, "text");

	printf("%s %s\n", cJSON_IsString(t) ? t->valuestring : "-",
	    cJSON_IsString(x) ? x->valuestring : "");
}

static int
cmd_logs_exec(int argc, char **argv)
{
	cJSON		*params, *res, *l;
	char		 why[512];
	long		 n = 50;
	int		 ch, follow = 0, fd = -1, rc;

	while ((ch = getopt(argc, argv, "fn:")) != -1) {
		switch (ch) {
		case 'f':
			follow = 1;
			break;
		case 'n':
			if ((n = parse_lines(optarg)) == -1)
				return (EXIT_USAGE);
			break;
		default:
			cmd_usage(&cmd_logs_entry);
			return (EXIT_USAGE);
		}
	}
	if (argc - optind != 1) {
		cmd_usage(&cmd_logs_entry);
		return (EXIT_USAGE);
	}
	params = cJSON_CreateObject();
	cJSON_AddStringToObject(params, "component", argv[optind]);
	cJSON_AddNumberToObject(params, "lines", (double)n);
	cJSON_AddBoolToObject(params, "follow", follow);

	if ((rc = ctl_call_keep("logs", params, &res, why, sizeof(why),
	    follow ? &fd : NULL)) != EXIT_OK) {
		if (rc == EXIT_UNREACHABLE)
			fprintf(stderr, "qmsctl: %s\n", why);
		return (rc);
	}
	cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(res, "lines"))
		print_line(l, NULL);
	cJSON_Delete(res);
	fflush(stdout);
	if (!follow)
		return (EXIT_OK);
	return (ctl_follow(fd, print_line, NULL));
}
