/* policy: show or change when an agent starts and stops by itself. */
#include <stdio.h>
#include <string.h>

#include "qmsctl.h"

static int	cmd_policy_exec(int, char **);

const struct cmd_entry cmd_policy_entry = {
	.name = "policy",
	.usage = "agent [start=POLICY] [stop=POLICY] | agent --reset",
	.summary = "show or set an agent's start and stop policies "
	    "(setting: admin)",
	.exec = cmd_policy_exec,
};

static const char *
s(const cJSON *o, const char *k)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, k);

	return (cJSON_IsString(v) ? v->valuestring : "?");
}

static int
cmd_policy_exec(int argc, char **argv)
{
	cJSON		*params, *res;
	const char	*method = "policy";
	char		 why[512];
	int		 i, rc, reset = 0;

	if (argc < 2 || argv[1][0] == '-') {
		cmd_usage(&cmd_policy_entry);
		return (EXIT_USAGE);
	}
	params = cJSON_CreateObject();
	cJSON_AddStringToObject(params, "agent", argv[1]);
	for (i = 2; i < argc; i++) {
		const char	*w = argv[i], *key = NULL;

		if (strcmp(w, "--reset") == 0 && !reset && argc == 3)
			reset = 1;
		else if (strncmp(w, "start=", 6) == 0)
			key = "start";
		else if (strncmp(w, "stop=", 5) == 0)
			key = "stop";
		if ((key == NULL && !reset) || (key != NULL &&
		    cJSON_GetObjectItemCaseSensitive(params, key) != NULL)) {
			cJSON_Delete(params);
			cmd_usage(&cmd_policy_entry);
			return (EXIT_USAGE);
		}
		/* The value as given; qmsd says what is wrong with it. */
		if (key != NULL)
			cJSON_AddStringToObject(params, key,
			    w + strlen(key) + 1);
		method = "policy-set";
	}
	if (reset)
		cJSON_AddTrueToObject(params, "reset");
	if ((rc = ctl_call(method, params, &res, why, sizeof(why))) !=
	    EXIT_OK) {
		if (rc == EXIT_UNREACHABLE)
			fprintf(stderr, "qmsctl: %s\n", why);
		return (rc);
	}
	printf("start=%s (%s)\nstop=%s (%s)\n", s(res, "start"),
	    s(res, "start_from"), s(res, "stop"), s(res, "stop_from"));
	cJSON_Delete(res);
	return (EXIT_OK);
}
