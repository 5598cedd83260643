/*
 * landlock.c: git's ruleset applied in a forked child, where allowed
 * reads, writes and git itself succeed and a read of the state directory,
 * a write outside the repository and an exec of /bin/sh fail with EACCES.
 * Skipped (77) where the kernel has no Landlock.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "landlock.h"

static char	base[] = "/tmp/qmsd-landlock.XXXXXX";

static void
put(const char *rel, const char *text)
{
	char	path[512];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", base, rel);
	if ((f = fopen(path, "w")) == NULL) {
		perror(path);
		exit(1);
	}
	fputs(text, f);
	fclose(f);
}

static void
put_dir(const char *rel)
{
	char	path[512];

	snprintf(path, sizeof(path), "%s/%s", base, rel);
	mkdir(path, 0700);
}

/* -1 and errno, or 0 after closing. */
static int
try_open(const char *rel, int flags)
{
	char	path[512];
	int	fd;

	snprintf(path, sizeof(path), "%s/%s", base, rel);
	if ((fd = open(path, flags | O_CLOEXEC, 0600)) == -1)
		return (-1);
	close(fd);
	return (0);
}

/* The exit status of argv run in a child, or 1000 + errno of execve. */
static int
try_exec(char *const argv[])
{
	int	p[2], status, err = 0;
	pid_t	pid;

	if (pipe2(p, O_CLOEXEC) == -1)
		return (-1);
	if ((pid = fork()) == 0) {
		int	devnull = open("/dev/null", O_WRONLY);

		dup2(devnull, 1);
		dup2(devnull, 2);
		execv(argv[0], argv);
		err = errno;
		if (write(p[1], &err, sizeof(err)) == -1)
			_exit(126);
		_exit(127);
	}
	close(p[1]);
	if (read(p[0], &err, sizeof(err)) != (ssize_t)sizeof(err))
		err = 0;
	close(p[0]);
	waitpid(pid, &status, 0);
	if (err != 0)
		return (1000 + err);
	return (WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

static int
confined(int fd)
{
	char	*sh[] = { "/bin/sh", "-c", "true", NULL };
	char	*git[] = { "/usr/bin/git", "--version", NULL };
	char	*touch[] = { "/usr/bin/touch", "/dev/null", NULL };
	char	 tool[600], hook[600];
	char	*planted[] = { tool, NULL }, *hooked[] = { hook, NULL };

	/* A program in the work tree (an agent's), one in the hooks. */
	snprintf(tool, sizeof(tool), "%s/repo/tool", base);
	snprintf(hook, sizeof(hook), "%s/repo/.git/hooks/pre-commit", base);

	if (landlock_enter(fd) == -1) {
		perror("landlock_enter");
		return (1);
	}
	/* Allowed. */
	CHECK(try_open("repo/file", O_RDONLY) == 0);
	CHECK(try_open("repo/new", O_WRONLY | O_CREAT) == 0);
	CHECK(try_open("repo/.git/index.lock", O_WRONLY | O_CREAT) == 0);
	CHECK(try_open("home/.gitconfig", O_RDONLY) == 0);
	CHECK(open("/etc/passwd", O_RDONLY) >= 0);
	CHECK(try_exec(git) == 0);
	CHECK(try_exec(hooked) == 0);
	/* Refused. */
	CHECK(try_exec(planted) == 1000 + EACCES);
	CHECK(try_open("state/host.token", O_RDONLY) == -1 &&
	    errno == EACCES);
	CHECK(try_open("home/secret", O_RDONLY) == -1 && errno == EACCES);
	CHECK(try_open("outside", O_WRONLY | O_CREAT) == -1 &&
	    errno == EACCES);
	CHECK(try_open("home/.gitconfig", O_WRONLY) == -1 &&
	    errno == EACCES);
	CHECK(try_exec(sh) == 1000 + EACCES);
	CHECK(try_exec(touch) == 1000 + EACCES);
	return (check_failures);
}

int
main(void)
{
	char	why[200], err[300], warn[300], root[600], home[600],
		state[600];
	int	fd, status;
	pid_t	pid;

	if (landlock_abi(why, sizeof(why)) == -1) {
		printf("skipped: %s\n", why);
		return (77);
	}
	if (mkdtemp(base) == NULL)
		return (1);
	snprintf(root, sizeof(root), "%s/repo", base);
	snprintf(home, sizeof(home), "%s/home", base);
	snprintf(state, sizeof(state), "%s/state", base);
	mkdir(root, 0700);
	put_dir("repo/.git");
	mkdir(home, 0700);
	mkdir(state, 0700);
	put("repo/file", "tracked\n");
	put("home/.gitconfig", "[user]\n\tname = Owner\n");
	put("home/secret", "owner's\n");
	put("state/host.token", "token\n");
	put_dir("repo/.git/hooks");
	snprintf(err, sizeof(err), "cp /bin/true '%s/repo/tool' && "
	    "cp /bin/true '%s/repo/.git/hooks/pre-commit'", base, base);
	if (system(err) != 0)
		return (1);

	fd = landlock_git(root, home, state, err, sizeof(err), warn,
	    sizeof(warn));
	CHECK(fd > 0);
	CHECK_STR(warn, "");
	if (fd > 0) {
		if ((pid = fork()) == 0)
			_exit(confined(fd));
		waitpid(pid, &status, 0);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		close(fd);
	}
	/* The repository holding the state directory is said. */
	fd = landlock_git(base, home, state, err, sizeof(err), warn,
	    sizeof(warn));
	CHECK(fd > 0 && strstr(warn, "state directory") != NULL);
	if (fd > 0)
		close(fd);

	snprintf(err, sizeof(err), "rm -rf '%s'", base);
	if (system(err) != 0)
		return (1);
	return (check_done("landlock"));
}
