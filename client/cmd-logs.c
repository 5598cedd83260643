/*
 * logs: a component's recent output, and with -f everything after it as it
 * comes, until interrupted.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
on_interrupt(int sig)
{
	ctl_interrupted = 1;
}

static void
print_line(const cJSON *l)
{
	const cJSON	*t = cJSON_GetObjectItemCaseSensitive(l, "time");
	const cJSON	*x = cJSON_GetObjectItemCaseSensitive(l, "text");

	printf("%s %s\n", cJSON_IsString(t) ? t->valuestring : "-",
	    cJSON_IsString(x) ? x->valuestring : "");
}

static int
cmd_logs_exec(int argc, char **argv)
{
	struct sigaction	 sa;
	cJSON			*params, *res, *l, *msg;
	char			 why[512], *line, *end;
	long			 n = 50;
	size_t			 len;
	int			 ch, follow = 0, fd, rc;

	while ((ch = getopt(argc, argv, "fn:")) != -1) {
		switch (ch) {
		case 'f':
			follow = 1;
			break;
		case 'n':
			n = strtol(optarg, &end, 10);
			if (*end != '\0' || n < 0 || n > 1000000) {
				fprintf(stderr, "qmsctl: -n: bad number: %s\n",
				    optarg);
				return (EXIT_USAGE);
			}
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

	if ((fd = ctl_connect(why, sizeof(why))) == -1) {
		cJSON_Delete(params);
		fprintf(stderr, "qmsctl: cannot connect to qmsd at %s: %s\n",
		    socket_path, why);
		return (EXIT_UNREACHABLE);
	}
	if (ctl_send(fd, "logs", params, why, sizeof(why)) == -1 ||
	    (line = ctl_readline(fd, &len, 10000, why, sizeof(why))) == NULL) {
		fprintf(stderr, "qmsctl: %s\n", why);
		close(fd);
		return (EXIT_UNREACHABLE);
	}
	rc = ctl_answer("logs", line, len, &res);
	free(line);
	if (rc != EXIT_OK) {
		close(fd);
		return (rc);
	}
	cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(res, "lines"))
		print_line(l);
	cJSON_Delete(res);
	fflush(stdout);
	if (!follow) {
		close(fd);
		return (EXIT_OK);
	}

	/* No SA_RESTART: the signal must end the wait in poll. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_interrupt;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	while (!ctl_interrupted) {
		if ((line = ctl_readline(fd, &len, -1, why, sizeof(why))) ==
		    NULL)
			break;
		msg = cJSON_ParseWithLength(line, len);
		free(line);
		if (msg != NULL)
			print_line(cJSON_GetObjectItemCaseSensitive(msg,
			    "params"));
		cJSON_Delete(msg);
		fflush(stdout);
	}
	close(fd);
	if (ctl_interrupted)
		return (EXIT_OK);
	fprintf(stderr, "qmsctl: %s\n", why);
	return (EXIT_UNREACHABLE);
}
