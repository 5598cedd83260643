/*
 * events: what happened to the agents (or one): their activity from
 * Claude Code's hooks, one line an event, and with -f every event after
 * them as it comes, until interrupted.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qmsctl.h"

static int	cmd_events_exec(int, char **);

const struct cmd_entry cmd_events_entry = {
	.name = "events",
	.usage = "[agent] [-n events] [-f] [--json]",
	.summary = "show the agents' recent events (activity); -f follows",
	.exec = cmd_events_exec,
};

static const char *
str(const cJSON *o, const char *key, const char *none)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, key);

	return (cJSON_IsString(v) && v->valuestring[0] != '\0' ?
	    v->valuestring : none);
}

/*
 * 2026-12-05T01:55:50.123Z claude activity idle -> working
 *     (PreToolUse Bash)
 * An event of another type: its other fields, as JSON.
 */
static void
print_event(const cJSON *e, void *arg)
{
	int		 json = *(int *)arg;
	const cJSON	*d = cJSON_GetObjectItemCaseSensitive(e, "dropped");
	const cJSON	*count, *id;
	const char	*detail;
	cJSON		*rest;
	char		*s;

	if (!cJSON_IsObject(e))
		return;
	if (cJSON_IsNumber(d) && d->valuedouble > 0) {
		if (json)
			printf("{\"dropped\":%.0f}\n", d->valuedouble);
		else
			printf("[qmsd: %.0f events dropped: the reader was "
			    "too slow]\n", d->valuedouble);
	}
	if (json) {
		rest = cJSON_Duplicate(e, 1);
		cJSON_DeleteItemFromObjectCaseSensitive(rest, "dropped");
		if ((s = cJSON_PrintUnformatted(rest)) != NULL)
			printf("%s\n", s);
		cJSON_free(s);
		cJSON_Delete(rest);
		return;
	}
	printf("%s %s %s", str(e, "time", "-"), str(e, "agent", "-"),
	    str(e, "type", "-"));
	if (strcmp(str(e, "type", "-"), "activity") == 0) {
		detail = str(e, "activity_detail", NULL);
		printf(" %s -> %s (%s%s%s)\n", str(e, "previous", "-"),
		    str(e, "activity", "-"), str(e, "last_event", "-"),
		    detail != NULL ? ": " : "", detail != NULL ? detail : "");
		return;
	}
	/* ... docs inbox arrived CR-063.md (1 in the inbox) */
	if (strcmp(str(e, "type", "-"), "inbox") == 0) {
		count = cJSON_GetObjectItemCaseSensitive(e, "count");
		printf(" %s %s (%.0f in the inbox)\n", str(e, "change", "-"),
		    str(e, "item", "-"), cJSON_IsNumber(count) ?
		    count->valuedouble : 0);
		return;
	}
	/* ... docs delivery 3 item CR-063.md delivered (1 attempt) */
	if (strcmp(str(e, "type", "-"), "delivery") == 0) {
		id = cJSON_GetObjectItemCaseSensitive(e, "id");
		count = cJSON_GetObjectItemCaseSensitive(e, "attempts");
		printf(" %.0f %s %s %s (%.0f attempt%s)%s%s\n",
		    cJSON_IsNumber(id) ? id->valuedouble : 0,
		    str(e, "kind", "-"), str(e, "item", "-"),
		    str(e, "state", "-"), cJSON_IsNumber(count) ?
		    count->valuedouble : 0, cJSON_IsNumber(count) &&
		    count->valuedouble == 1 ? "" : "s",
		    str(e, "error", NULL) != NULL ? ": " : "",
		    str(e, "error", ""));
		return;
	}
	/* ... docs policy started, or: policy started: why it could not */
	if (strcmp(str(e, "type", "-"), "policy") == 0) {
		printf(" %s%s%s\n", str(e, "action", "-"),
		    str(e, "error", NULL) != NULL ? ": " : "",
		    str(e, "error", ""));
		return;
	}
	rest = cJSON_Duplicate(e, 1);
	cJSON_DeleteItemFromObjectCaseSensitive(rest, "time");
	cJSON_DeleteItemFromObjectCaseSensitive(rest, "agent");
	cJSON_DeleteItemFromObjectCaseSensitive(rest, "type");
	cJSON_DeleteItemFromObjectCaseSensitive(rest, "dropped");
	if ((s = cJSON_PrintUnformatted(rest)) != NULL)
		printf(" %s\n", s);
	cJSON_free(s);
	cJSON_Delete(rest);
}

static int
cmd_events_exec(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	cJSON		*params, *res, *e;
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
			cmd_usage(&cmd_events_entry);
			return (EXIT_USAGE);
		}
	}
	if (argc - optind > 1) {
		cmd_usage(&cmd_events_entry);
		return (EXIT_USAGE);
	}
	params = cJSON_CreateObject();
	if (argc - optind == 1)
		cJSON_AddStringToObject(params, "agent", argv[optind]);
	cJSON_AddNumberToObject(params, "lines", (double)n);
	cJSON_AddBoolToObject(params, "follow", follow);

	if ((rc = ctl_call_keep("events", params, &res, why, sizeof(why),
	    follow ? &fd : NULL)) != EXIT_OK) {
		if (rc == EXIT_UNREACHABLE)
			fprintf(stderr, "qmsctl: %s\n", why);
		return (rc);
	}
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(res, "events"))
		print_event(e, &json);
	cJSON_Delete(res);
	fflush(stdout);
	if (!follow)
		return (EXIT_OK);
	return (ctl_follow(fd, print_event, &json));
}
