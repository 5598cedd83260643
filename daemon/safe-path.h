/*
 * How root touches a path an agent or the owner can write (the repository
 * with its workspaces and sessions, the agents' Docker volumes): from a
 * directory descriptor qmsd trusts, one component at a time, following no
 * symbolic link anywhere on the way, opening with O_NONBLOCK so that a
 * FIFO cannot hold the loop, and accepting nothing but a regular file or a
 * directory.  A name that is not one of those is never followed into
 * somewhere else by root: a link planted on the way fails with ELOOP (or
 * ENOTDIR), a FIFO, socket or device with ENXIO.  Every such place in
 * qmsd goes through here, so that there is one rule to read and test.
 */
#ifndef QMSD_SAFE_PATH_H
#define QMSD_SAFE_PATH_H

#include <sys/types.h>
#include <sys/stat.h>

#include <stddef.h>

/* What a file qmsd reads from such a place may weigh at most. */
#define SAFE_READ_MAX	(16 * 1024 * 1024)

/*
 * A trusted directory by its absolute path (the project root from the
 * configuration, a volume's mount point from Docker): its last component
 * is not followed, the rest is the administrator's or Docker's.
 */
int	 safe_dir(const char *path);
/*
 * rel (no "..", no leading "/") below dirfd: flags are O_RDONLY, O_WRONLY
 * or O_RDWR, with O_DIRECTORY to ask for a directory.  The descriptor, or
 * -1 with errno.
 */
int	 safe_open(int dirfd, const char *rel, int flags);
/* What rel below dirfd is, itself (a link is not followed). */
int	 safe_lstat(int dirfd, const char *rel, struct stat *);
/*
 * What the link at rel below dirfd leads to, resolved by the kernel
 * without leaving dirfd (an absolute link, or one that goes up and out,
 * is refused with EXDEV): 0 with st; -1 with ELOOP when it leads to
 * dirfd or a directory on the way to it, which a mount on the link would
 * hide the link under.
 */
int	 safe_link_beneath(int dirfd, const char *rel, struct stat *);
/*
 * mkdir -p rel below dirfd, each directory made given to uid:gid; the
 * last one's descriptor, or -1 with errno.
 */
int	 safe_mkdir(int dirfd, const char *rel, mode_t, uid_t, gid_t);
/*
 * A new regular file rel below dirfd, made as uid:gid with mode (O_EXCL:
 * EEXIST when anything is there, a link included); open for writing.
 */
int	 safe_create(int dirfd, const char *rel, mode_t, uid_t, gid_t);
/*
 * A regular file's contents, NUL-terminated, of at most max bytes (EFBIG
 * past that); NULL with errno.  *len may be NULL.
 */
char	*safe_read(int dirfd, const char *rel, size_t max, size_t *len);
/*
 * Replace rel below dirfd whole, or leave it as it was: a new file (made
 * O_EXCL beside it, never through a link) given to uid:gid with mode,
 * synced, then renamed over rel.  0, or -1 with errno.
 */
int	 safe_replace(int dirfd, const char *rel, const char *text, size_t len,
	    mode_t, uid_t, gid_t);

/* strerror, with what these refusals mean said plainly. */
const char *safe_strerror(int);

#endif
