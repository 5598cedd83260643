/*
 * git-check: what git_exec would do with a command, without running it:
 * the vectors it would run, or the refusal and its rule.
 */
#include <stdio.h>

#include "qmsctl.h"

#define EXIT_DENIED	1

static int	cmd_git_check_exec(int, char **);

const struct cmd_entry cmd_git_check_entry = {
	.name = "git-check",
	.usage = "'command'",
	.summary = "show whether git_exec allows a command; exit 0 allowed, "
	    "1 denied",
	.exec = cmd_git_check_exec,
};

static int
cmd_git_check_exec(int argc, char **argv)
{
	cJSON		*params, *res, *vec, *w, *reason, *rule;
	char		 why[512];
	const char	*sep;
	int		 rc;

	if (argc != 2) {
		cmd_usage(&cmd_git_check_entry);
		return (EXIT_USAGE);
	}
	params = cJSON_CreateObject();
	cJSON_AddStringToObject(params, "command", argv[1]);
	if ((rc = ctl_call("git-check", params, &res, why, sizeof(why))) !=
	    EXIT_OK) {
		if (rc == EXIT_UNREACHABLE)
			fprintf(stderr, "qmsctl: %s\n", why);
		return (rc == EXIT_FAILED ? EXIT_UNREACHABLE : rc);
	}
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res, "allowed"))) {
		printf("allowed; would run:\n");
		cJSON_ArrayForEach(vec,
		    cJSON_GetObjectItemCaseSensitive(res, "argv")) {
			sep = "  ";
			cJSON_ArrayForEach(w, vec) {
				printf("%s%s", sep, cJSON_IsString(w) ?
				    w->valuestring : "?");
				sep = " ";
			}
			printf("\n");
		}
		rc = EXIT_OK;
	} else {
		reason = cJSON_GetObjectItemCaseSensitive(res, "reason");
		rule = cJSON_GetObjectItemCaseSensitive(res, "rule");
		printf("%s\n", cJSON_IsString(reason) ? reason->valuestring :
		    "Denied");
		if (cJSON_IsString(rule))
			printf("rule: %s\n", rule->valuestring);
		rc = EXIT_DENIED;
	}
	cJSON_Delete(res);
	return (rc);
}
