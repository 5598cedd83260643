#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/landlock.h>

#include "landlock.h"
#include "util.h"

/*
 * Debian 12's headers stop at ABI 2 or 3; the kernel may be newer.  What
 * is used past the headers is defined here, with the ABI that brought it.
 */
#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER	(1ULL << 13)	/* ABI 2 */
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE	(1ULL << 14)	/* ABI 3 */
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV	(1ULL << 15)	/* ABI 5 */
#endif
#define LL_SCOPE_ABSTRACT_UNIX_SOCKET	(1ULL << 0)	/* ABI 6 */
#define LL_SCOPE_SIGNAL			(1ULL << 1)	/* ABI 6 */

/* The ruleset attribute of ABI 6, whatever the header's size. */
struct ll_ruleset_attr {
	uint64_t	handled_access_fs;
	uint64_t	handled_access_net;
	uint64_t	scoped;
};

#define FS_ABI1	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | \
	LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR | \
	LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE | \
	LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR | \
	LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK | \
	LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK | \
	LANDLOCK_ACCESS_FS_MAKE_SYM)
/* The rights that apply to a file (the others are about directories). */
#define FS_FILE	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | \
	LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE | \
	LANDLOCK_ACCESS_FS_IOCTL_DEV)

static uint64_t	ll_handled;	/* of the ABI, set by landlock_ruleset */

int
landlock_abi(char *why, size_t len)
{
	long	abi;

	abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
	if (abi >= 1)
		return ((int)abi);
	if (errno == ENOSYS)
		snprintf(why, len, "the kernel has no Landlock");
	else if (errno == EOPNOTSUPP)
		snprintf(why, len, "Landlock is disabled at boot (lsm=)");
	else
		snprintf(why, len, "landlock_create_ruleset: %s",
		    strerror(errno));
	return (-1);
}

int
landlock_ruleset(char *err, size_t len)
{
	struct ll_ruleset_attr	attr;
	size_t			size;
	int			abi, fd;

	if ((abi = landlock_abi(err, len)) == -1)
		return (-1);
	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = FS_ABI1;
	if (abi >= 2)
		attr.handled_access_fs |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		attr.handled_access_fs |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		attr.handled_access_fs |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	/*
	 * The network stays open (push to https and ssh remotes connects
	 * out; what git may reach is the remotes policy's to say).  From ABI
	 * 6, the domain's processes cannot signal out of it nor reach
	 * abstract Unix sockets (a D-Bus, an agent's) outside it.
	 */
	size = offsetof(struct ll_ruleset_attr, scoped);
	if (abi >= 6) {
		attr.scoped = LL_SCOPE_ABSTRACT_UNIX_SOCKET | LL_SCOPE_SIGNAL;
		size = sizeof(attr);
	} else if (abi < 4)
		size = offsetof(struct ll_ruleset_attr, handled_access_net);
	fd = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
	if (fd == -1) {
		snprintf(err, len, "landlock_create_ruleset: %s",
		    strerror(errno));
		return (-1);
	}
	ll_handled = attr.handled_access_fs;
	return (fd);
}

int
landlock_allow(int ruleset, const char *path, int how, char *err,
    size_t len)
{
	struct landlock_path_beneath_attr	pb;
	struct stat				st;
	uint64_t				access;
	int					fd, r;

	/* O_PATH opens nothing (no FIFO waits, no device opens). */
	if ((fd = open(path, O_PATH | O_CLOEXEC)) == -1) {
		if (errno == ENOENT || errno == ENOTDIR)
			return (1);
		snprintf(err, len, "%s: %s", path, strerror(errno));
		return (-1);
	}
	access = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
	/*
	 * Writing is never executing: a file git may write (or that an
	 * agent wrote into the repository) must not become a program git
	 * can run.  Execution is granted only where LL_EXEC says.
	 */
	if (how & LL_WRITE)
		access = ll_handled & ~(uint64_t)LANDLOCK_ACCESS_FS_EXECUTE;
	if (how & LL_EXEC)
		access |= LANDLOCK_ACCESS_FS_EXECUTE;
	if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode))
		access &= FS_FILE;
	memset(&pb, 0, sizeof(pb));
	pb.allowed_access = access & ll_handled;
	pb.parent_fd = fd;
	r = (int)syscall(SYS_landlock_add_rule, ruleset,
	    LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
	if (r == -1)
		snprintf(err, len, "%s: landlock_add_rule: %s", path,
		    strerror(errno));
	close(fd);
	return (r == -1 ? -1 : 0);
}

int
landlock_enter(int ruleset)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		return (-1);
	return ((int)syscall(SYS_landlock_restrict_self, ruleset, 0));
}

/*
 * What git needs, and why each.  Executable: git itself, its own programs
 * (the remote helpers among them: git-remote-https, git-upload-pack...),
 * the dynamic loader the kernel maps for them, and ssh, which is how git
 * reaches ssh remotes (a fixed program; GIT_SSH_COMMAND is not in git's
 * environment and core.sshCommand is a refused override).  No shell, and
 * so no alias "!cmd", pager, editor, credential helper or hook that is a
 * script: a hook runs only if it is itself a program (the owner's, in
 * .git/hooks, under the repository's rule).  Readable: the system (/usr,
 * /etc for resolv.conf and certificates), the owner's git configuration,
 * credentials and ssh keys.  Writable: the repository and /dev/null.
 * Never /tmp (git keeps its temporary files in .git), never a home
 * directory as a whole.
 */
static const struct {
	const char	*path;		/* "~/" is the owner's home */
	int		 how;
} git_rules[] = {
	{ "/usr", LL_READ },
	{ "/lib", LL_READ },
	{ "/lib64", LL_READ },
	{ "/etc", LL_READ },
	{ "/dev/null", LL_WRITE },
	{ "/dev/urandom", LL_READ },
	{ "/usr/bin/git", LL_EXEC },
	{ "/usr/lib/git-core", LL_EXEC },
	{ "/usr/local/bin/git", LL_EXEC },
	{ "/usr/local/libexec/git-core", LL_EXEC },
	{ "/usr/bin/ssh", LL_EXEC },
	/* The dynamic loader: opened by the kernel as executed. */
	{ "/lib64/ld-linux-x86-64.so.2", LL_EXEC },
	{ "/lib/ld-linux-aarch64.so.1", LL_EXEC },
	{ "~/.gitconfig", LL_READ },
	{ "~/.config/git", LL_READ },
	{ "~/.git-credentials", LL_READ },
	{ "~/.ssh", LL_READ },
};

/* Whether path is dir or beneath it (both resolved). */
static int
beneath(const char *path, const char *dir)
{
	size_t	n = strlen(dir);

	if (strcmp(dir, "/") == 0)
		return (1);
	return (strncmp(path, dir, n) == 0 && (path[n] == '\0' ||
	    path[n] == '/'));
}

int
landlock_git(const char *root, const char *home, const char *state_dir,
    char *err, size_t len, char *warn, size_t wlen)
{
	char	 path[PATH_MAX], real[PATH_MAX], state[PATH_MAX];
	size_t	 i;
	int	 fd, how;

	warn[0] = '\0';
	if ((fd = landlock_ruleset(err, len)) == -1)
		return (-1);
	if (state_dir == NULL || realpath(state_dir, state) == NULL)
		state[0] = '\0';
	for (i = 0; i <= nitems(git_rules) + 1; i++) {
		if (i == nitems(git_rules)) {
			/* The repository: work tree, .git, submodules. */
			snprintf(path, sizeof(path), "%s", root);
			how = LL_WRITE;
		} else if (i == nitems(git_rules) + 1) {
			/*
			 * The owner's hooks, the one place in the repository
			 * git may execute from: agents cannot write .git.
			 */
			snprintf(path, sizeof(path), "%s/.git/hooks", root);
			how = LL_READ | LL_EXEC;
		} else if (strncmp(git_rules[i].path, "~/", 2) == 0) {
			if (home == NULL)
				continue;
			snprintf(path, sizeof(path), "%s/%s", home,
			    git_rules[i].path + 2);
			how = git_rules[i].how;
		} else {
			snprintf(path, sizeof(path), "%s", git_rules[i].path);
			how = git_rules[i].how;
		}
		if (landlock_allow(fd, path, how, err, len) == -1) {
			close(fd);
			return (-1);
		}
		/* A rule that would open the tokens to git is said. */
		if (state[0] != '\0' && realpath(path, real) != NULL &&
		    beneath(state, real) && warn[0] == '\0')
			snprintf(warn, wlen, "the state directory %s is "
			    "inside %s, which git may read", state, real);
	}
	return (fd);
}
