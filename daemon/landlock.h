/*
 * Landlock: confining a child to the files it needs, built in the parent
 * once per configuration and entered by the child between vfork and exec
 * with two system calls (landlock_enter), so that a case the git policy
 * missed still cannot run a program, read a secret or write outside the
 * repository.  The kernel's ABI decides what can be handled; what it
 * cannot, is said (landlock_abi's reason), never silently dropped.
 */
#ifndef QMSD_LANDLOCK_H
#define QMSD_LANDLOCK_H

#include <stddef.h>
#include <stdint.h>

/* What a hierarchy (or one file) is opened to. */
#define LL_READ		0x1	/* read files, list directories */
#define LL_EXEC		0x2	/* and execute */
#define LL_WRITE	0x4	/* everything but execute: create, write,
				   remove, rename */

/* The kernel's Landlock ABI (1..), or -1 and why not in why. */
int	 landlock_abi(char *why, size_t);

/*
 * A ruleset handling every filesystem right the ABI knows (and, from ABI
 * 6, signals and abstract Unix sockets scoped to the domain; the network
 * is left alone).  Returns its descriptor (close-on-exec), or -1 and err.
 */
int	 landlock_ruleset(char *err, size_t);
/*
 * Allow path beneath (a directory) or itself (a file), as LL_* says.  A
 * path that does not exist is not an error (returns 1, nothing added):
 * optional files come and go.  -1 and err on other failures.
 */
int	 landlock_allow(int ruleset, const char *path, int how, char *err,
	    size_t);

/*
 * In a child about to exec: no new privileges, then the ruleset.  Raw
 * system calls only, for a vfork child.  0, or -1 with errno.
 */
int	 landlock_enter(int ruleset);

/*
 * git's ruleset: it may execute git's own programs (and ssh, for ssh
 * remotes, and the owner's hooks in root/.git/hooks), never a file of
 * the work tree, read the system's files and the owner's git configuration,
 * and write the repository at root (work tree and .git) and /dev/null;
 * nothing else, and so nothing under state_dir.  Returns the descriptor,
 * or -1 and why in err.  A warning that does not prevent confinement (the
 * state directory lies inside something git may read) goes to warn.
 */
int	 landlock_git(const char *root, const char *home,
	    const char *state_dir, char *err, size_t, char *warn, size_t);

#endif
