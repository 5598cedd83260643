#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <linux/openat2.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "safe-path.h"
#include "util.h"

#define SAFE_OPEN	(O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)

int
safe_dir(const char *path)
{
	return (open(path, O_RDONLY | O_DIRECTORY | SAFE_OPEN));
}

/* A name that stays in its directory. */
static int
name_ok(const char *p)
{
	return (p[0] != '\0' && strcmp(p, ".") != 0 && strcmp(p, "..") != 0);
}

/*
 * The directory that holds rel's last component, reached one directory at
 * a time (O_DIRECTORY|O_NOFOLLOW: a link or anything else on the way
 * stops the walk), and that component in *last, which points into buf.
 */
static int
open_parent(int dirfd, const char *rel, char *buf, size_t len, char **last)
{
	char	*p, *slash;
	int	 fd, nfd;

	if (snprintf(buf, len, "%s", rel) >= (int)len) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	if ((fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0)) == -1)
		return (-1);
	for (p = buf; (slash = strchr(p, '/')) != NULL; p = slash + 1) {
		*slash = '\0';
		if (!name_ok(p)) {
			close(fd);
			errno = EINVAL;
			return (-1);
		}
		nfd = openat(fd, p, O_RDONLY | O_DIRECTORY | SAFE_OPEN);
		close(fd);
		if (nfd == -1)
			return (-1);
		fd = nfd;
	}
	if (!name_ok(p)) {
		close(fd);
		errno = EINVAL;
		return (-1);
	}
	*last = p;
	return (fd);
}

/* Refuse anything but a regular file or a directory; fd closed then. */
static int
checked(int fd)
{
	struct stat	st;

	if (fd == -1)
		return (-1);
	if (fstat(fd, &st) == -1) {
		close(fd);
		return (-1);
	}
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
		close(fd);
		errno = ENXIO;
		return (-1);
	}
	return (fd);
}

int
safe_open(int dirfd, const char *rel, int flags)
{
	char	 buf[4096], *last;
	int	 parent, fd, e;

	if ((parent = open_parent(dirfd, rel, buf, sizeof(buf), &last)) == -1)
		return (-1);
	fd = openat(parent, last, (flags & (O_ACCMODE | O_DIRECTORY)) |
	    SAFE_OPEN);
	e = errno;
	close(parent);
	errno = e;
	return (checked(fd));
}

int
safe_lstat(int dirfd, const char *rel, struct stat *st)
{
	char	 buf[4096], *last;
	int	 parent, rv, e;

	if ((parent = open_parent(dirfd, rel, buf, sizeof(buf), &last)) == -1)
		return (-1);
	rv = fstatat(parent, last, st, AT_SYMLINK_NOFOLLOW);
	e = errno;
	close(parent);
	errno = e;
	return (rv);
}

static int
same_file(const struct stat *a, const struct stat *b)
{
	return (a->st_dev == b->st_dev && a->st_ino == b->st_ino);
}

int
safe_link_beneath(int dirfd, const char *rel, struct stat *st)
{
	struct open_how	 how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	struct stat	 on;
	char		 buf[4096], *p, *slash;
	int		 fd, nfd, rv;

	/* The kernel's own resolution, refusing a way out (EXDEV). */
	if ((fd = (int)syscall(SYS_openat2, dirfd, rel, &how,
	    sizeof(how))) == -1)
		return (-1);
	rv = fstat(fd, st);
	close(fd);
	if (rv == -1 || !S_ISDIR(st->st_mode))
		return (rv);
	/*
	 * dirfd itself and each directory on the way, the parent last,
	 * reached as open_parent reaches them (no link followed).
	 */
	if (snprintf(buf, sizeof(buf), "%s", rel) >= (int)sizeof(buf)) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	if ((fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0)) == -1)
		return (-1);
	for (p = buf;; p = slash + 1) {
		if (fstat(fd, &on) == -1) {
			close(fd);
			return (-1);
		}
		if (same_file(&on, st)) {
			close(fd);
			errno = ELOOP;
			return (-1);
		}
		if ((slash = strchr(p, '/')) == NULL)
			break;
		*slash = '\0';
		nfd = name_ok(p) ? openat(fd, p, O_RDONLY | O_DIRECTORY |
		    SAFE_OPEN) : -1;
		close(fd);
		if (nfd == -1)
			return (-1);
		fd = nfd;
	}
	close(fd);
	return (0);
}

/*
 * Run what makes a file or directory as the owner (setfsuid/setfsgid:
 * qmsd has one thread, so nothing else runs meanwhile): it is the
 * owner's from birth, with no chown after it for a swap to aim at, and
 * root can make nothing where the owner could not.  Not root: as itself.
 */
struct as_owner {
	uid_t	uid;
	gid_t	gid;
	int	on;
};

static void
owner_begin(struct as_owner *o, uid_t uid, gid_t gid)
{
	o->on = geteuid() == 0;
	if (!o->on)
		return;
	o->gid = (gid_t)setfsgid(gid);
	o->uid = (uid_t)setfsuid(uid);
}

static void
owner_end(struct as_owner *o)
{
	int	e = errno;

	if (o->on) {
		setfsuid(o->uid);
		setfsgid(o->gid);
	}
	errno = e;
}

int
safe_mkdir(int dirfd, const char *rel, mode_t mode, uid_t uid, gid_t gid)
{
	struct as_owner	 o;
	char		 buf[4096], *p, *slash;
	int		 fd, nfd, rv;

	if (snprintf(buf, sizeof(buf), "%s", rel) >= (int)sizeof(buf)) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	if ((fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0)) == -1)
		return (-1);
	for (p = buf; p != NULL; p = slash != NULL ? slash + 1 : NULL) {
		if ((slash = strchr(p, '/')) != NULL)
			*slash = '\0';
		if (!name_ok(p)) {
			close(fd);
			errno = EINVAL;
			return (-1);
		}
		owner_begin(&o, uid, gid);
		rv = mkdirat(fd, p, mode);
		owner_end(&o);
		if (rv == -1 && errno != EEXIST) {
			close(fd);
			return (-1);
		}
		nfd = openat(fd, p, O_RDONLY | O_DIRECTORY | SAFE_OPEN);
		close(fd);
		if (nfd == -1)
			return (-1);
		fd = nfd;
	}
	return (fd);
}

int
safe_create(int dirfd, const char *rel, mode_t mode, uid_t uid, gid_t gid)
{
	struct as_owner	 o;
	char		 buf[4096], *last;
	int		 parent, fd, e;

	if ((parent = open_parent(dirfd, rel, buf, sizeof(buf), &last)) == -1)
		return (-1);
	owner_begin(&o, uid, gid);
	fd = openat(parent, last, O_WRONLY | O_CREAT | O_EXCL | SAFE_OPEN,
	    mode);
	owner_end(&o);
	e = errno;
	close(parent);
	errno = e;
	return (fd);
}

const char *
safe_strerror(int e)
{
	switch (e) {
	case ELOOP:
		return ("a symbolic link, not followed");
	case ENOTDIR:
		/* What O_DIRECTORY|O_NOFOLLOW says of a link, too. */
		return ("not a directory (nor a symbolic link followed)");
	case ENXIO:
		return ("not a regular file or directory");
	case EFBIG:
		return ("too large to read");
	default:
		return (strerror(e));
	}
}

char *
safe_read(int dirfd, const char *rel, size_t max, size_t *lenp)
{
	struct stat	 st;
	char		*text;
	size_t		 len = 0, want;
	ssize_t		 n;
	int		 fd, e;

	if ((fd = safe_open(dirfd, rel, O_RDONLY)) == -1)
		return (NULL);
	if (fstat(fd, &st) == -1 || S_ISDIR(st.st_mode) ||
	    (size_t)st.st_size > max) {
		e = S_ISDIR(st.st_mode) ? EISDIR : EFBIG;
		close(fd);
		errno = e;
		return (NULL);
	}
	/* What it held when looked at: never more, whatever it grows to. */
	want = (size_t)st.st_size;
	text = xcalloc(1, want + 1);
	while (len < want) {
		if ((n = read(fd, text + len, want - len)) == -1) {
			if (errno == EINTR)
				continue;
			e = errno;
			free(text);
			close(fd);
			errno = e;
			return (NULL);
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	text[len] = '\0';
	if (lenp != NULL)
		*lenp = len;
	return (text);
}

int
safe_replace(int dirfd, const char *rel, const char *text, size_t len,
    mode_t mode, uid_t uid, gid_t gid)
{
	struct as_owner	 o;
	char		 buf[4096], *last, *tmp;
	size_t		 off = 0;
	ssize_t		 n;
	int		 parent, fd, rv = -1, e;

	if ((parent = open_parent(dirfd, rel, buf, sizeof(buf), &last)) == -1)
		return (-1);
	xasprintf(&tmp, "%s.qmsd-new", last);
	owner_begin(&o, uid, gid);
	(void)unlinkat(parent, tmp, 0);
	fd = openat(parent, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, mode);
	owner_end(&o);
	if (fd == -1)
		goto out;
	while (off < len) {
		if ((n = write(fd, text + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		off += (size_t)n;
	}
	if (off == len && fchmod(fd, mode) == 0 && fsync(fd) == 0) {
		owner_begin(&o, uid, gid);
		rv = renameat(parent, tmp, parent, last);
		owner_end(&o);
	}
	e = errno;
	close(fd);
	if (rv == -1) {
		owner_begin(&o, uid, gid);
		(void)unlinkat(parent, tmp, 0);
		owner_end(&o);
	}
	errno = e;
out:
	free(tmp);
	close(parent);
	return (rv);
}
