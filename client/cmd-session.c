/*
 * session: from nothing running to Claude's prompt in one command.  qmsd
 * brings up what is missing and hands over a terminal on the agent's
 * command (in tmux, so that it outlives this terminal; launch.h).  With
 * -d the same without a terminal: Claude started detached in tmux, for
 * a later session to attach to.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "argv.h"
#include "launch.h"
#include "qmsctl.h"

static int	cmd_session_exec(int, char **);

const struct cmd_entry cmd_session_entry = {
	.name = "session",
	.usage = "[-d] [--force] [--via-docker] [agent]",
	.summary = "attach a terminal to the agent's Claude (admin)",
	.exec = cmd_session_exec,
};

/* For users in the docker group: docker exec -it, as a fallback. */
static int
via_docker(const char *agent)
{
	cJSON		*res, *a, *name, *user, *cmd;
	char		 why[512], container[128], uid[64], **words = NULL;
	char		**launched;
	char		*args[256];
	int		 rc, n = 0, i;

	if ((rc = ctl_call("ps", NULL, &res, why, sizeof(why))) != EXIT_OK) {
		if (rc == EXIT_UNREACHABLE)
			fprintf(stderr, "qmsctl: %s\n", why);
		return (rc);
	}
	container[0] = uid[0] = '\0';
	cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(res, "agents")) {
		name = cJSON_GetObjectItemCaseSensitive(a, "agent");
		if (!cJSON_IsString(name) || strcmp(name->valuestring, agent))
			continue;
		name = cJSON_GetObjectItemCaseSensitive(a, "name");
		user = cJSON_GetObjectItemCaseSensitive(a, "user");
		if (cJSON_IsString(name))
			snprintf(container, sizeof(container), "%s",
			    name->valuestring);
		if (cJSON_IsString(user))
			snprintf(uid, sizeof(uid), "%s", user->valuestring);
		cmd = cJSON_GetObjectItemCaseSensitive(a, "command");
		if (cJSON_IsString(cmd) && argv_split(cmd->valuestring, &words,
		    why, sizeof(why)) <= 0) {
			argv_free(words);
			words = NULL;
		}
	}
	cJSON_Delete(res);
	if (container[0] == '\0') {
		fprintf(stderr, "qmsctl: no agent %s\n", agent);
		return (EXIT_FAILED);
	}
	if (words == NULL) {
		fprintf(stderr, "qmsctl: agent %s has no command\n", agent);
		return (EXIT_FAILED);
	}
	args[n++] = "docker";
	args[n++] = "exec";
	args[n++] = "-it";
	args[n++] = "-u";
	args[n++] = uid;
	args[n++] = "-w";
	args[n++] = "/pipe-dream";
	args[n++] = container;
	launched = launch_argv(words);
	for (i = 0; launched[i] != NULL && n < 255; i++)
		args[n++] = launched[i];
	args[n] = NULL;
	execvp("docker", args);
	perror("qmsctl: docker");
	argv_free(launched);
	argv_free(words);
	return (EXIT_FAILED);
}

/* -d: started headless by qmsd, answered once its tmux link is up. */
static int
detached(const char *agent)
{
	cJSON	*params, *res;
	char	 why[512];
	int	 rc;

	params = cJSON_CreateObject();
	cJSON_AddStringToObject(params, "agent", agent);
	cJSON_AddBoolToObject(params, "detach", 1);
	ctl_timeout_ms = 600000;	/* a first start may unpack an image */
	if ((rc = ctl_call("session", params, &res, why, sizeof(why))) !=
	    EXIT_OK) {
		if (rc == EXIT_UNREACHABLE)
			fprintf(stderr, "qmsctl: %s\n", why);
		return (rc);
	}
	cJSON_Delete(res);
	printf("agent %s: Claude runs detached in tmux; attach with: qmsctl "
	    "session %s\n", agent, agent);
	return (EXIT_OK);
}

static int
cmd_session_exec(int argc, char **argv)
{
	const char	*agent = "claude";
	int		 i, docker = 0, force = 0, detach = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-d") == 0 ||
		    strcmp(argv[i], "--detach") == 0)
			detach = 1;
		else if (strcmp(argv[i], "--via-docker") == 0)
			docker = 1;
		else if (strcmp(argv[i], "--force") == 0)
			force = 1;
		else if (argv[i][0] == '-' || i != argc - 1) {
			cmd_usage(&cmd_session_entry);
			return (EXIT_USAGE);
		} else
			agent = argv[i];
	}
	if (detach) {
		if (docker || force) {
			cmd_usage(&cmd_session_entry);
			return (EXIT_USAGE);
		}
		return (detached(agent));
	}
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		fprintf(stderr, "qmsctl: session needs a terminal; without one "
		    "use: qmsctl exec %s -- COMMAND\n", agent);
		return (EXIT_USAGE);
	}
	if (docker)
		return (via_docker(agent));
	return (relay_session(agent, NULL, 1, force, "session"));
}
