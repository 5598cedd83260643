/* ps: every agent, its container and how it has fared. */
#include <stdio.h>
#include <string.h>

#include "qmsctl.h"
#include "util.h"

static int	cmd_ps_exec(int, char **);

const struct cmd_entry cmd_ps_entry = {
	.name = "ps",
	.usage = "[--json]",
	.summary = "list the agents and their containers",
	.exec = cmd_ps_exec,
};

static const char *
s(const cJSON *o, const char *k)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, k);

	return (cJSON_IsString(v) && v->valuestring[0] ? v->valuestring :
	    "-");
}

/*
 * Its inbox and notifications, when there is something to say:
 *	inbox 2 items; notifications 1 pending, 1 delivered
 */
static void
inbox_text(const cJSON *a, int wa)
{
	static const char *const states[] = {
		"pending", "typed", "delivered", "failed"
	};
	const cJSON	*in = cJSON_GetObjectItemCaseSensitive(a, "inbox");
	const cJSON	*n = cJSON_GetObjectItemCaseSensitive(a, "notifications");
	const cJSON	*v, *why = cJSON_GetObjectItemCaseSensitive(a,
			    "inbox_error");
	char		 line[256];
	size_t		 i, len = 0;
	int		 any = 0;

	if (!cJSON_IsNumber(in))
		return;
	len += snprintf(line, sizeof(line), "inbox %.0f item%s",
	    in->valuedouble, in->valuedouble == 1 ? "" : "s");
	if (cJSON_IsString(why))
		len += snprintf(line + len, sizeof(line) - len, " (not "
		    "watched: %.100s)", why->valuestring);
	for (i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		v = cJSON_GetObjectItemCaseSensitive(n, states[i]);
		if (!cJSON_IsNumber(v) || v->valuedouble == 0 ||
		    len >= sizeof(line))
			continue;
		len += snprintf(line + len, sizeof(line) - len, "%s %.0f %s",
		    any ? "," : "; notifications", v->valuedouble, states[i]);
		any = 1;
	}
	if (in->valuedouble == 0 && !any && !cJSON_IsString(why))
		return;
	printf("%-*s %s\n", wa, "", line);
}

static int
cmd_ps_exec(int argc, char **argv)
{
	cJSON		*res, *a, *up, *rs, *agents, *pol;
	char		 why[512], uptime[32], egress[256], *text;
	int		 rc, wa, wi, json = argc == 2 &&
			    strcmp(argv[1], "--json") == 0;

	if (argc > 2 || (argc == 2 && !json)) {
		cmd_usage(&cmd_ps_entry);
		return (EXIT_USAGE);
	}
	if ((rc = ctl_call("ps", NULL, &res, why, sizeof(why))) != EXIT_OK) {
		if (rc == EXIT_UNREACHABLE)
			fprintf(stderr, "qmsctl: %s\n", why);
		return (rc);
	}
	if (json) {
		text = cJSON_Print(res);
		printf("%s\n", text);
		cJSON_free(text);
		cJSON_Delete(res);
		return (EXIT_OK);
	}
	agents = cJSON_GetObjectItemCaseSensitive(res, "agents");
	wa = column_width(agents, "agent", 12);
	wi = column_width(agents, "image", 22);
	printf("%-*s %-10s %-12s %-*s %-9s %-8s %s\n", wa, "AGENT", "STATE",
	    "CONTAINER", wi, "IMAGE", "UPTIME", "RESTARTS", "LAST EXIT");
	cJSON_ArrayForEach(a, agents) {
		up = cJSON_GetObjectItemCaseSensitive(a, "uptime");
		rs = cJSON_GetObjectItemCaseSensitive(a, "restarts");
		if (cJSON_IsNumber(up) && (up->valuedouble > 0 ||
		    strcmp(s(a, "state"), "running") == 0))
			format_duration((uint64_t)(up->valuedouble * 1000),
			    uptime, sizeof(uptime));
		else
			snprintf(uptime, sizeof(uptime), "-");
		printf("%-*s %-10s %-12.12s %-*s %-9s %-8d %s\n",
		    wa, s(a, "agent"), s(a, "state"), s(a, "container"),
		    wi, s(a, "image"), uptime, cJSON_IsNumber(rs) ? rs->valueint :
		    0, s(a, "last_exit"));
		/* A recreate the next up would need --force for. */
		if (strcmp(s(a, "pending"), "-") != 0)
			printf("%-*s %s, %s\n", wa, "", s(a, "state"),
			    s(a, "pending"));
		/* When it starts or stops by itself. */
		pol = cJSON_GetObjectItemCaseSensitive(a, "policy");
		if (cJSON_IsObject(pol) &&
		    (strcmp(s(pol, "start"), "manual") != 0 ||
		    strcmp(s(pol, "stop"), "manual") != 0))
			printf("%-*s policy start=%s stop=%s\n", wa, "",
			    s(pol, "start"), s(pol, "stop"));
		/* What its Claude does, while there is one. */
		if (strcmp(s(a, "activity"), "no-session") != 0 &&
		    strcmp(s(a, "activity"), "-") != 0)
			printf("%-*s %s since %s (%s%s%s)\n", wa, "",
			    s(a, "activity"), s(a, "activity_since"),
			    s(a, "last_event"), strcmp(s(a, "activity_detail"),
			    "-") != 0 ? ": " : "", strcmp(s(a,
			    "activity_detail"), "-") != 0 ?
			    s(a, "activity_detail") : "");
		inbox_text(a, wa);
		if (egress_counts_text(a, egress, sizeof(egress)))
			printf("%-*s %s\n", wa, "", egress);
	}
	cJSON_Delete(res);
	return (EXIT_OK);
}
