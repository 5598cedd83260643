/*
 * egress: what the egress proxy decided and moved for the agents (or one),
 * one line a record, and with -f every record after them as it comes,
 * until interrupted.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "qmsctl.h"

static int	cmd_egress_exec(int, char **);

const struct cmd_entry cmd_egress_entry = {
	.name = "egress",
	.usage = "[agent] [-n records] [-f] [--json]",
	.summary = "show the egress proxy's recent records; -f follows",
	.exec = cmd_egress_exec,
};

static const char *
str(const cJSON *o, const char *key, const char *none)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, key);

	return (cJSON_IsString(v) ? v->valuestring : none);
}

static unsigned long long
num(const cJSON *o, const char *key)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, key);

	return (cJSON_IsNumber(v) && v->valuedouble > 0 ?
	    (unsigned long long)v->valuedouble : 0);
}

int
egress_counts_text(const cJSON *row, char *buf, size_t len)
{
	const cJSON	*c = cJSON_GetObjectItemCaseSensitive(row, "egress");
	char		 failed[48] = "";

	if (!cJSON_IsObject(c) || num(c, "allowed") + num(c, "denied") +
	    num(c, "open") == 0)
		return (0);
	if (num(c, "failed") > 0)
		snprintf(failed, sizeof(failed), " (%llu failed)",
		    num(c, "failed"));
	snprintf(buf, len, "egress %llu allowed%s, %llu denied, %llu open, "
	    "%llu bytes up, %llu down", num(c, "allowed"), failed,
	    num(c, "denied"), num(c, "open"), num(c, "bytes_up"),
	    num(c, "bytes_down"));
	return (1);
}

/*
 * 2026-12-05T01:55:50.123Z claude denied CONNECT 127.0.0.1:9 -> 403 by
 * not-listed, 0 bytes up, 0 down, 0 ms: egress to 127.0.0.1:9 ...
 */
static void
print_record(const cJSON *r, void *arg)
{
	int		 json = *(int *)arg;
	const char	*address = str(r, "address", NULL);
	const char	*path = str(r, "path", NULL);
	const char	*rule = str(r, "rule", NULL);
	const char	*reason = str(r, "reason", "");
	char		*s;

	if (!cJSON_IsObject(r))
		return;
	if (num(r, "dropped") > 0) {
		if (json)
			printf("{\"dropped\":%llu}\n", num(r, "dropped"));
		else
			printf("[qmsd: %llu records dropped: the reader was "
			    "too slow]\n", num(r, "dropped"));
	}
	if (json) {
		cJSON_DeleteItemFromObjectCaseSensitive((cJSON *)r,
		    "dropped");
		if ((s = cJSON_PrintUnformatted(r)) != NULL)
			printf("%s\n", s);
		cJSON_free(s);
		return;
	}
	printf("%s %s %s %s %s%s%s%s%s -> %llu%s%s, %llu bytes up, %llu down, "
	    "%llu ms%s%s\n", str(r, "time", "-"), str(r, "agent", "-"),
	    str(r, "event", "-"), str(r, "method", "-"), str(r, "target", "-"),
	    path != NULL ? " " : "", path != NULL ? path : "",
	    address != NULL ? " at " : "", address != NULL ? address : "",
	    num(r, "status"), rule != NULL ? " by " : "",
	    rule != NULL ? rule : "", num(r, "bytes_up"), num(r, "bytes_down"),
	    num(r, "duration_ms"), reason[0] != '\0' ? ": " : "", reason);
}

static int
cmd_egress_exec(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	cJSON		*params, *res, *r;
	char		 why[512];
	long		 n = 50;
	int		 ch, follow = 0, json = 0, fd = -1, rc;

	while ((ch = getopt_long(argc, argv, "fn:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			follow = 1;
			break;
		case 'j':
			json = 1;
			break;
		case 'n':
			if ((n = parse_lines(optarg)) == -1)
				return (EXIT_USAGE);
			break;
		default:
			cmd_usage(&cmd_egress_entry);
			return (EXIT_USAGE);
		}
	}
	if (argc - optind > 1) {
		cmd_usage(&cmd_egress_entry);
		return (EXIT_USAGE);
	}
	params = cJSON_CreateObject();
	if (argc - optind == 1)
		cJSON_AddStringToObject(params, "agent", argv[optind]);
	cJSON_AddNumberToObject(params, "lines", (double)n);
	cJSON_AddBoolToObject(params, "follow", follow);

	if ((rc = ctl_call_keep("egress", params, &res, why, sizeof(why),
	    follow ? &fd : NULL)) != EXIT_OK) {
		if (rc == EXIT_UNREACHABLE)
			fprintf(stderr, "qmsctl: %s\n", why);
		return (rc);
	}
	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(res,
	    "records"))
		print_record(r, &json);
	cJSON_Delete(res);
	fflush(stdout);
	if (!follow)
		return (EXIT_OK);
	return (ctl_follow(fd, print_record, &json));
}
