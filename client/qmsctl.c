/*
 * qmsctl: the table of commands, tmux style.  Each command lives in its own
 * cmd-NAME.c; a name may be shortened to any unique prefix.
 */
#include <sys/stat.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qmsctl.h"
#include "util.h"

extern const struct cmd_entry cmd_audit_entry;
extern const struct cmd_entry cmd_console_entry;
extern const struct cmd_entry cmd_down_entry;
extern const struct cmd_entry cmd_egress_entry;
extern const struct cmd_entry cmd_events_entry;
extern const struct cmd_entry cmd_exec_entry;
extern const struct cmd_entry cmd_git_check_entry;
static const struct cmd_entry cmd_help_entry;
extern const struct cmd_entry cmd_logs_entry;
extern const struct cmd_entry cmd_mcp_config_entry;
extern const struct cmd_entry cmd_notify_entry;
extern const struct cmd_entry cmd_policy_entry;
extern const struct cmd_entry cmd_ps_entry;
extern const struct cmd_entry cmd_reload_entry;
extern const struct cmd_entry cmd_restart_entry;
extern const struct cmd_entry cmd_session_entry;
extern const struct cmd_entry cmd_start_entry;
extern const struct cmd_entry cmd_status_entry;
extern const struct cmd_entry cmd_stop_entry;
extern const struct cmd_entry cmd_up_entry;
extern const struct cmd_entry cmd_version_entry;

static const struct cmd_entry *const cmd_table[] = {
	&cmd_audit_entry,
	&cmd_console_entry,
	&cmd_down_entry,
	&cmd_egress_entry,
	&cmd_events_entry,
	&cmd_exec_entry,
	&cmd_git_check_entry,
	&cmd_help_entry,
	&cmd_logs_entry,
	&cmd_mcp_config_entry,
	&cmd_notify_entry,
	&cmd_policy_entry,
	&cmd_ps_entry,
	&cmd_reload_entry,
	&cmd_restart_entry,
	&cmd_session_entry,
	&cmd_start_entry,
	&cmd_status_entry,
	&cmd_stop_entry,
	&cmd_up_entry,
	&cmd_version_entry,
};

#define NCMDS	(sizeof(cmd_table) / sizeof(cmd_table[0]))

const char *socket_path;

static void
list_commands(FILE *f)
{
	size_t	i;

	fprintf(f, "commands:\n");
	for (i = 0; i < NCMDS; i++)
		fprintf(f, "  %-10s %s\n", cmd_table[i]->name,
		    cmd_table[i]->summary);
}

/*
 * Asked for (-h, --help, help): stdout and 0.  Otherwise stderr and 64.
 * Either way the list ends the text: the bash completion reads it.
 */
static void __attribute__((noreturn))
usage(int asked)
{
	FILE	*f = asked ? stdout : stderr;

	fprintf(f, "usage: qmsctl [-h] [-S socket] command [arguments]\n");
	if (asked)
		fprintf(f, "  -h, --help  this help; qmsctl help COMMAND "
		    "for one command\n"
		    "  -S socket   qmsd's control socket (default: "
		    "$QMSD_SOCKET, or see qmsctl(1))\n"
		    "A command may be shortened to any unique prefix.  "
		    "See qmsctl(1).\n");
	list_commands(f);
	exit(asked ? EXIT_OK : EXIT_USAGE);
}

static void
print_usage(FILE *f, const struct cmd_entry *e)
{
	fprintf(f, "usage: qmsctl %s%s%s\n", e->name,
	    e->usage[0] != '\0' ? " " : "", e->usage);
}

void
cmd_usage(const struct cmd_entry *e)
{
	print_usage(stderr, e);
}

int
column_width(const cJSON *list, const char *key, int min)
{
	const cJSON	*e, *v;
	int		 w = min;

	cJSON_ArrayForEach(e, list) {
		v = cJSON_GetObjectItemCaseSensitive(e, key);
		if (cJSON_IsString(v) && (int)strlen(v->valuestring) > w)
			w = (int)strlen(v->valuestring);
	}
	return (w);
}

long
parse_lines(const char *s)
{
	char	*end;
	long	 n;

	n = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || n < 0 || n > 1000000) {
		fprintf(stderr, "qmsctl: -n: bad number: %s\n", s);
		return (-1);
	}
	return (n);
}

/* An exact name wins; otherwise a prefix must name exactly one command. */
static const struct cmd_entry *
find_command(const char *name)
{
	const struct cmd_entry	*found = NULL;
	size_t			 i, len = strlen(name), n = 0;

	for (i = 0; i < NCMDS; i++) {
		if (strcmp(cmd_table[i]->name, name) == 0)
			return (cmd_table[i]);
		if (strncmp(cmd_table[i]->name, name, len) == 0) {
			found = cmd_table[i];
			n++;
		}
	}
	if (n == 1)
		return (found);
	if (n == 0)
		fprintf(stderr, "qmsctl: unknown command: %s\n", name);
	else {
		fprintf(stderr, "qmsctl: ambiguous command: %s, could be:",
		    name);
		for (i = 0; i < NCMDS; i++)
			if (strncmp(cmd_table[i]->name, name, len) == 0)
				fprintf(stderr, " %s", cmd_table[i]->name);
		fprintf(stderr, "\n");
	}
	list_commands(stderr);
	return (NULL);
}

/* help [command]: the usage and summary the table holds, on stdout. */
static int
cmd_help_exec(int argc, char **argv)
{
	const struct cmd_entry	*e;

	if (argc == 1)
		usage(1);
	if (argc != 2) {
		cmd_usage(&cmd_help_entry);
		return (EXIT_USAGE);
	}
	if ((e = find_command(argv[1])) == NULL)
		return (EXIT_USAGE);
	print_usage(stdout, e);
	printf("  %s\n", e->summary);
	return (EXIT_OK);
}

/* Here, not in a cmd-help.c: it is the one command that reads the table. */
static const struct cmd_entry cmd_help_entry = {
	.name = "help",
	.usage = "[command]",
	.summary = "print the usage of qmsctl or of one command",
	.exec = cmd_help_exec,
};

/*
 * Without -S or QMSD_SOCKET: a daemon of the user's own (under
 * XDG_RUNTIME_DIR) if one is there, else the system daemon.
 */
static const char *
default_socket(void)
{
	char		*user;
	struct stat	 st;

	/* Kept for the process's life, as the path it names is. */
	if ((user = default_user_socket()) != NULL) {
		if (stat(user, &st) == 0 && S_ISSOCK(st.st_mode))
			return (user);
		free(user);
	}
	return (QMSD_SYSTEM_SOCKET);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cmd_entry	*e;
	int			 ch;

	socket_path = getenv("QMSD_SOCKET");
	/* "+": stop at the command, whose own options follow it. */
	while ((ch = getopt_long(argc, argv, "+S:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'S':
			socket_path = optarg;
			break;
		case 'h':
			usage(1);
		default:
			usage(0);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		usage(0);
	if (socket_path == NULL || socket_path[0] == '\0')
		socket_path = default_socket();
	if ((e = find_command(argv[0])) == NULL)
		return (EXIT_USAGE);
	/* Each command runs getopt over its own words; 0 makes glibc start
	 * afresh, forgetting the "+" of the global options. */
	optind = 0;
	return (e->exec(argc, argv));
}
