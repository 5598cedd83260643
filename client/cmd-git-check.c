/*
 * git-check: what git_exec would do with a command, without running it:
 * the vectors it would run, or the refusal and its rule; with --agent, as
 * that agent's call, and what its git would run with besides.
 */
#include <stdio.h>
#include <string.h>

#include "qmsctl.h"

#define EXIT_DENIED	1

static int	cmd_git_check_exec(int, char **);

const struct cmd_entry cmd_git_check_entry = {
	.name = "git-check",
	.usage = "[--agent agent] 'command'",
	.summary = "show whether git_exec allows a command; exit 0 allowed, "
	    "1 denied",
	.exec = cmd_git_check_exec,
};

static int
cmd_git_check_exec(int argc, char **argv)
{
	cJSON		*params, *res, *vec, *w, *reason, *rule;
	char		 why[512];
	const char	*sep, *agent = NULL, *command = NULL;
	int		 rc;

	/*
	 * By hand, not getopt: the command is one word that may itself
	 * start with '-' ('-c x status' is for the policy to refuse).
	 */
	if (argc == 2)
		command = argv[1];
	else if (argc == 3 && strncmp(argv[1], "--agent=", 8) == 0 &&
	    argv[1][8] != '\0') {
		agent = argv[1] + 8;
		command = argv[2];
	} else if (argc == 4 && strcmp(argv[1], "--agent") == 0) {
		agent = argv[2];
		command = argv[3];
	}
	if (command == NULL) {
		cmd_usage(&cmd_git_check_entry);
		return (EXIT_USAGE);
	}
	params = cJSON_CreateObject();
	cJSON_AddStringToObject(params, "command", command);
	if (agent != NULL)
		cJSON_AddStringToObject(params, "agent", agent);
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
		if (agent != NULL) {
			printf("as agent %s, with:\n", agent);
			cJSON_ArrayForEach(w,
			    cJSON_GetObjectItemCaseSensitive(res, "env"))
				printf("  %s\n", cJSON_IsString(w) ?
				    w->valuestring : "?");
			cJSON_ArrayForEach(w,
			    cJSON_GetObjectItemCaseSensitive(res, "config"))
				printf("  config %s\n", cJSON_IsString(w) ?
				    w->valuestring : "?");
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
