/*
 * mcp-config: the .mcp.json a Claude Code on the host uses to reach qmsd's
 * MCP servers, with the host's bearer token (so: admin only).  With -o the
 * file is written 0600 by qmsctl itself, whatever the umask or the mode of
 * a file already there: the token must never be readable by others.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qmsctl.h"
#include "util.h"

static int	cmd_mcp_config_exec(int, char **);

const struct cmd_entry cmd_mcp_config_entry = {
	.name = "mcp-config",
	.usage = "[-o file] [agent]",
	.summary = "print (or write 0600) the .mcp.json of the host or of an "
	    "agent (admin)",
	.exec = cmd_mcp_config_exec,
};

/*
 * A new file beside the old, 0600 from its creation, renamed over it: no
 * moment where the token is in a file others can read, and a symbolic
 * link at path is replaced, never followed.
 */
static int
write_private(const char *path, const char *text)
{
	char	*copy, *tmp;
	int	 fd, saved;

	copy = xstrdup(path);
	xasprintf(&tmp, "%s/.mcp-config.XXXXXX", dirname(copy));
	free(copy);
	if ((fd = mkstemp(tmp)) == -1) {
		fprintf(stderr, "qmsctl: %s: %s\n", tmp, strerror(errno));
		free(tmp);
		return (-1);
	}
	if (fchmod(fd, 0600) == -1 || write_all(fd, text, strlen(text)) ==
	    -1 || fsync(fd) == -1 || close(fd) == -1) {
		saved = errno;
		close(fd);
		unlink(tmp);
		fprintf(stderr, "qmsctl: %s: %s\n", path, strerror(saved));
		free(tmp);
		return (-1);
	}
	if (rename(tmp, path) == -1) {
		fprintf(stderr, "qmsctl: %s: %s\n", path, strerror(errno));
		unlink(tmp);
		free(tmp);
		return (-1);
	}
	free(tmp);
	return (0);
}

static int
cmd_mcp_config_exec(int argc, char **argv)
{
	cJSON		*res, *params = NULL;
	char		 why[512], *s, *text;
	const char	*out = NULL;
	int		 rc, ch;

	while ((ch = getopt(argc, argv, "o:")) != -1) {
		switch (ch) {
		case 'o':
			out = optarg;
			break;
		default:
			cmd_usage(&cmd_mcp_config_entry);
			return (EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 1 || (out != NULL && out[0] == '\0')) {
		cmd_usage(&cmd_mcp_config_entry);
		return (EXIT_USAGE);
	}
	if (argc == 1) {
		params = cJSON_CreateObject();
		cJSON_AddStringToObject(params, "agent", argv[0]);
	}
	if ((rc = ctl_call("mcp-config", params, &res, why, sizeof(why))) !=
	    EXIT_OK) {
		if (rc == EXIT_UNREACHABLE)
			fprintf(stderr, "qmsctl: %s\n", why);
		return (rc);
	}
	s = cJSON_Print(res);
	cJSON_Delete(res);
	if (s == NULL) {
		fprintf(stderr, "qmsctl: out of memory\n");
		return (EXIT_FAILED);
	}
	xasprintf(&text, "%s\n", s);
	cJSON_free(s);
	if (out == NULL || strcmp(out, "-") == 0) {
		fputs(text, stdout);
		rc = EXIT_OK;
	} else
		rc = write_private(out, text) == 0 ? EXIT_OK : EXIT_FAILED;
	free(text);
	return (rc);
}
