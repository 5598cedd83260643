/* What start, stop and restart share: one component, one admin request. */
#include <stdio.h>

#include "qmsctl.h"

int
ctl_component_action(const struct cmd_entry *e, const char *method,
    int argc, char **argv)
{
	cJSON		*params, *res, *state;
	char		 why[512];
	int		 rc;

	if (argc != 2) {
		cmd_usage(e);
		return (EXIT_USAGE);
	}
	params = cJSON_CreateObject();
	cJSON_AddStringToObject(params, "component", argv[1]);
	if ((rc = ctl_call(method, params, &res, why, sizeof(why))) !=
	    EXIT_OK) {
		if (rc == EXIT_UNREACHABLE)
			fprintf(stderr, "qmsctl: %s\n", why);
		return (rc);
	}
	state = cJSON_GetObjectItemCaseSensitive(res, "state");
	printf("%s: %s\n", argv[1], cJSON_IsString(state) ?
	    state->valuestring : "?");
	cJSON_Delete(res);
	return (EXIT_OK);
}
