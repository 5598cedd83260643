/*
 * For test_hostile_confine.py: run one command the way qmsd runs git, by
 * proc_spawn with the ruleset landlock_git builds (or none with -u, to
 * show the test's attack works when unconfined).  Usage:
 *   confined-spawn [-u] ROOT HOME STATE-DIR ARGV...
 * Prints the child's output and exits with its status.
 */
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "argv.h"
#include "landlock.h"
#include "process.h"

static int	exit_code = 125;

static void
on_output(struct proc *p, int stream, const char *buf, size_t len,
    void *arg)
{
	fwrite(buf, 1, len, stream == 1 ? stdout : stderr);
}

static void
on_exited(struct proc *p, int status, void *arg)
{
	exit_code = WIFEXITED(status) ? WEXITSTATUS(status) :
	    128 + WTERMSIG(status);
	event_base_loopbreak(arg);
}

int
main(int argc, char **argv)
{
	static const struct proc_ops ops = { on_output, on_exited };
	struct event_base	*base;
	struct proc_spec	 spec;
	struct proc		*p;
	char			 err[300], warn[300], **env;
	char			*extra[] = { "GIT_CONFIG_NOSYSTEM=1",
				    "LC_ALL=C.UTF-8", NULL };
	int			 confine = 1;

	if (argc > 1 && strcmp(argv[1], "-u") == 0) {
		confine = 0;
		argv++;
		argc--;
	}
	if (argc < 5) {
		fprintf(stderr, "usage: confined-spawn [-u] ROOT HOME "
		    "STATE-DIR ARGV...\n");
		return (100);
	}
	memset(&spec, 0, sizeof(spec));
	if (confine) {
		spec.landlock = landlock_git(argv[1], argv[2], argv[3], err,
		    sizeof(err), warn, sizeof(warn));
		if (spec.landlock == -1) {
			fprintf(stderr, "landlock: %s\n", err);
			return (77);
		}
	}
	base = event_base_new();
	env = proc_environ(NULL, argv[2], extra);
	spec.argv = argv + 4;
	spec.env = env;
	spec.workdir = argv[1];
	spec.uid = getuid();
	spec.gid = getgid();
	if ((p = proc_spawn(base, &spec, &ops, base, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "spawn: %s\n", err);
		return (126);
	}
	event_base_dispatch(base);
	proc_free(p);
	argv_free(env);
	event_base_free(base);
	if (spec.landlock > 0)
		close(spec.landlock);
	return (exit_code);
}
