/*
 * status: the health check.  Exit codes follow the monitoring-plugin
 * convention so that Nagios, Icinga or a shell script can call it as is.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "qmsctl.h"
#include "util.h"

#define STATUS_OK		0
#define STATUS_WARNING		1
#define STATUS_CRITICAL		2
#define STATUS_UNKNOWN		3

static int	cmd_status_exec(int, char **);

const struct cmd_entry cmd_status_entry = {
	.name = "status",
	.usage = "[--json]",
	.summary = "show qmsd and its components; exit 0 ok, 1 warning, "
	    "2 critical, 3 unknown",
	.exec = cmd_status_exec,
};

static const char *
str(const cJSON *o, const char *key)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, key);

	return (cJSON_IsString(v) ? v->valuestring : NULL);
}

static double
num(const cJSON *o, const char *key)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, key);

	return (cJSON_IsNumber(v) ? v->valuedouble : 0);
}

/* "since" is RFC 3339 UTC; shown as an age, which is what people read. */
static void
age(const char *since, char *buf, size_t len)
{
	struct tm	tm;
	time_t		t;

	memset(&tm, 0, sizeof(tm));
	if (since == NULL || strptime(since, "%Y-%m-%dT%H:%M:%SZ", &tm) ==
	    NULL) {
		snprintf(buf, len, "-");
		return;
	}
	t = timegm(&tm);
	format_duration((uint64_t)(time(NULL) > t ? time(NULL) - t : 0) * 1000,
	    buf, len);
}

/* A second line for what a supervised component adds to its row. */
static void
print_facts(const cJSON *c, int w)
{
	const cJSON	*pid = cJSON_GetObjectItemCaseSensitive(c, "pid");
	const cJSON	*restarts = cJSON_GetObjectItemCaseSensitive(c,
			    "restarts");
	const cJSON	*probe = cJSON_GetObjectItemCaseSensitive(c,
			    "probe_ms");
	const char	*last = str(c, "last_exit");
	char		 buf[256];
	size_t		 off = 0;

	buf[0] = '\0';
	if (cJSON_IsNumber(pid))
		off += (size_t)snprintf(buf + off, sizeof(buf) - off,
		    ", pid %d", pid->valueint);
	if (cJSON_IsNumber(restarts) && (cJSON_IsNumber(pid) ||
	    restarts->valueint > 0))
		off += (size_t)snprintf(buf + off, sizeof(buf) - off,
		    ", %d restart%s", restarts->valueint,
		    restarts->valueint == 1 ? "" : "s");
	if (last != NULL && off < sizeof(buf))
		off += (size_t)snprintf(buf + off, sizeof(buf) - off,
		    ", last exit: %s", last);
	if (cJSON_IsNumber(probe) && off < sizeof(buf))
		snprintf(buf + off, sizeof(buf) - off, ", probe %.0f ms",
		    probe->valuedouble);
	if (buf[0] != '\0')
		printf("%-*s %s\n", w, "", buf + 2);
	if (egress_counts_text(c, buf, sizeof(buf)))
		printf("%-*s %s\n", w, "", buf);
	/* What the component says its configuration exposes. */
	if ((last = str(c, "warning")) != NULL)
		printf("%-*s warning: %s\n", w, "", last);
}

static void
print_text(const cJSON *res)
{
	const cJSON	*d = cJSON_GetObjectItemCaseSensitive(res, "daemon");
	const cJSON	*list, *c;
	const char	*s;
	char		 up[32], ago[32];
	int		 w;

	format_duration((uint64_t)(num(d, "uptime") * 1000), up, sizeof(up));
	printf("qmsd %s: %s\n", (s = str(d, "version")) ? s : "?",
	    str(res, "health") ? str(res, "health") : "?");
	printf("  pid      %.0f, up %s\n", num(d, "pid"), up);
	printf("  config   %s\n", (s = str(d, "config")) ? s :
	    "built-in defaults");
	if ((s = str(d, "reload_error")) != NULL)
		printf("  reload   failed at %s; running the configuration "
		    "loaded at %s\n", s, str(d, "config_loaded") ?
		    str(d, "config_loaded") : "?");
	printf("  socket   %s\n", (s = str(d, "socket")) ? s : "?");
	printf("  project  %s (run as %s)\n",
	    (s = str(d, "project_root")) ? s : "?",
	    str(d, "run_as") ? str(d, "run_as") : "?");
	list = cJSON_GetObjectItemCaseSensitive(res, "components");
	w = column_width(list, "name", 16);
	printf("\n%-*s %-11s %-9s %s\n", w, "COMPONENT", "STATE", "SINCE",
	    "DETAIL");
	cJSON_ArrayForEach(c, list) {
		age(str(c, "since"), ago, sizeof(ago));
		printf("%-*s %-11s %-9s %s\n", w, str(c, "name"),
		    str(c, "state"), ago, (s = str(c, "detail")) ? s : "");
		print_facts(c, w);
	}
}

static int
cmd_status_exec(int argc, char **argv)
{
	cJSON		*res;
	const char	*health;
	char		 why[512], *s;
	int		 json = 0, rc;

	if (argc == 2 && (strcmp(argv[1], "--json") == 0 ||
	    strcmp(argv[1], "-j") == 0))
		json = 1;
	else if (argc != 1) {
		cmd_usage(&cmd_status_entry);
		return (EXIT_USAGE);
	}
	if ((rc = ctl_call("status", NULL, &res, why, sizeof(why))) !=
	    EXIT_OK) {
		if (rc == EXIT_UNREACHABLE)
			printf("UNKNOWN: %s\n", why);
		return (STATUS_UNKNOWN);
	}
	if (json) {
		if ((s = cJSON_Print(res)) != NULL)
			printf("%s\n", s);
		cJSON_free(s);
	} else
		print_text(res);

	health = str(res, "health");
	if (health == NULL)
		rc = STATUS_UNKNOWN;
	else if (strcmp(health, "ok") == 0)
		rc = STATUS_OK;
	else if (strcmp(health, "warning") == 0)
		rc = STATUS_WARNING;
	else if (strcmp(health, "critical") == 0)
		rc = STATUS_CRITICAL;
	else
		rc = STATUS_UNKNOWN;
	cJSON_Delete(res);
	return (rc);
}
