#include <sys/inotify.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "mask.h"
#include "masks.h"
#include "safe-path.h"
#include "templates.h"
#include "util.h"

/* Read at most this many buffers of events per wakeup. */
#define MASKS_BATCH	8
/*
 * Before a lookup, read what is queued, up to this many buffers: more
 * means something writes without pause (an agent can), and the list is
 * dropped rather than read for ever.
 */
#define MASKS_DRAIN	64
/*
 * Watches count against root's inotify limit, shared with systemd and
 * others; a repository (or an agent's workspace) with more directories
 * than this is walked at every lookup instead, as before the list was
 * kept.
 */
#define MASKS_WATCHES	4096

#define MASKS_WATCH	(IN_CREATE | IN_DELETE | IN_MOVED_FROM | \
			    IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | \
			    IN_ONLYDIR | IN_DONT_FOLLOW)

struct masks {
	struct event_base	*base;
	int			 fd;		/* inotify; -1: none */
	size_t			 nwatches;
	struct event		*ev;
	int			 valid;		/* list answers for root */
	char			*root;
	int			 rootfd;	/* root, while it is walked */
	struct masks_file	 list[MASKS_MAX];
	size_t			 n;
	size_t			 ndirs;		/* in this walk */
	char			 stop[512];	/* why the walk stopped short */
	unsigned long		 walks;
	void			(*on_change)(void *);
	void			*on_change_arg;
	int			 unkept;	/* root's last walk not kept */
	struct masks_file	 masked[MASKS_MAX];	/* the answer */
	struct templates	*templates;	/* git's word on the list */
};

static void	masks_read(evutil_socket_t, short, void *);
static int	masks_files(void *, const char **, const struct masks_file **,
		    size_t *);
static void	masks_changed(void *);

/* What git's word reads of the walk (templates.h). */
static const struct templates_walk masks_templates_walk = {
	.files = masks_files,
	.changed = masks_changed,
};

struct masks *
masks_new(struct event_base *base)
{
	struct masks	*m;

	m = xcalloc(1, sizeof(*m));
	m->base = base;
	m->fd = m->rootfd = -1;
	m->templates = templates_new(base, &masks_templates_walk, m);
	return (m);
}

static void
masks_clear(struct masks *m)
{
	size_t	i;

	for (i = 0; i < m->n; i++)
		free(m->list[i].path);
	m->n = 0;
	m->ndirs = 0;
	m->stop[0] = '\0';
}

/* The list no longer answers: stop watching; the next call walks. */
static void
masks_drop(struct masks *m, const char *why)
{
	if (m->valid)
		log_debug("masks: walking again at the next up: %s", why);
	m->valid = 0;
	if (m->ev != NULL) {
		event_free(m->ev);
		m->ev = NULL;
	}
	if (m->fd != -1) {
		close(m->fd);
		m->fd = -1;
	}
}

void
masks_free(struct masks *m)
{
	if (m == NULL)
		return;
	templates_free(m->templates);
	masks_drop(m, "freed");
	masks_clear(m);
	free(m->root);
	free(m);
}

unsigned long
masks_git_runs(const struct masks *m)
{
	return (templates_git_runs(m->templates));
}

unsigned long
masks_walks(const struct masks *m)
{
	return (m->walks);
}

/*
 * Whether an event could change the answer.  Files written, made or
 * removed under other names (the agents' workspaces see that all the
 * time) cannot; a directory made, removed or renamed could hold or hide
 * one, and a watch gone or events lost leave nothing to go by.
 */
static int
changes_answer(const struct inotify_event *e)
{
	if (e->mask & (IN_Q_OVERFLOW | IN_IGNORED | IN_DELETE_SELF |
	    IN_MOVE_SELF | IN_UNMOUNT | IN_ISDIR))
		return (1);
	return (e->len > 0 && mask_secret_name(e->name));
}

/* Events up to a batch (or a drain); 0, or -1: dropped. */
static int
masks_events(struct masks *m, int drain)
{
	char				 buf[4096]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event	*e;
	ssize_t				 n;
	char				*p;
	int				 reads;

	for (reads = 0; reads < (drain ? MASKS_DRAIN : MASKS_BATCH); reads++) {
		if ((n = read(m->fd, buf, sizeof(buf))) == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return (0);	/* all read */
			masks_drop(m, strerror(errno));
			return (-1);
		}
		for (p = buf; p < buf + n; p += sizeof(*e) + e->len) {
			e = (const struct inotify_event *)p;
			if (changes_answer(e)) {
				masks_drop(m, e->len > 0 ? e->name :
				    "a watch changed");
				return (-1);
			}
		}
	}
	if (drain) {
		masks_drop(m, "more events than a drain reads");
		return (-1);
	}
	return (0);
}

static void
masks_read(evutil_socket_t fd, short ev, void *arg)
{
	struct masks	*m = arg;

	if (masks_events(m, 0) == -1 && m->on_change != NULL)
		m->on_change(m->on_change_arg);
}

void
masks_on_change(struct masks *m, void (*fn)(void *), void *arg)
{
	m->on_change = fn;
	m->on_change_arg = arg;
}

static void
masks_add(struct masks *m, char *rel, int dir, int file)
{
	if (m->n == MASKS_MAX) {
		snprintf(m->stop, sizeof(m->stop), "%d or more secrets (.env, "
		    ".env.*, *.env) in %s: mask their directories with "
		    "mask = DIR", MASKS_MAX, m->root);
		free(rel);
		return;
	}
	m->list[m->n].path = rel;
	m->list[m->n].file = file;
	m->list[m->n++].dir = dir;
}

/*
 * Walk the directory open at fd (path, depth below root), watching it
 * before reading it: what is made after the watch is an event, what was
 * made before it is read.  Every directory is opened from its parent's
 * descriptor, following no link (safe-path.h).  -1 when a watch was
 * refused (the list is then not kept); m->stop says when the walk stopped
 * short.  fd is closed.
 */
static int
masks_walk(struct masks *m, int fd, const char *path, const char *rel,
    int depth)
{
	struct dirent	*e;
	struct stat	 st;
	DIR		*d;
	char		*sub, *r;
	int		 rv = 0, type, cfd;

	if (m->fd != -1 && m->nwatches == MASKS_WATCHES) {
		/* Too many to keep: every watch let go of at once. */
		close(m->fd);
		m->fd = -1;
		rv = -1;
	} else if (m->fd != -1 && inotify_add_watch(m->fd, path,
	    MASKS_WATCH) == -1) {
		if (errno != ENOENT && errno != ENOTDIR && errno != EACCES)
			log_warn("masks: cannot watch %s", path);
		rv = -1;
	} else
		m->nwatches++;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return (rv);
	}
	while (m->stop[0] == '\0' && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") ==
		    0 || strcmp(e->d_name, ".git") == 0 ||
		    strcmp(e->d_name, "node_modules") == 0)
			continue;
		xasprintf(&r, "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
		if (mask_agents_tree(r)) {
			free(r);
			continue;
		}
		type = e->d_type;
		if (type == DT_UNKNOWN && fstatat(dirfd(d), e->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) == 0)
			type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISLNK(st.st_mode) ?
			    DT_LNK : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
		if (mask_secret_name(e->d_name)) {
			/*
			 * A link is masked where it leads: Docker resolves a
			 * mount's target inside the container, so the mask
			 * covers what the link shows there.  One that leads
			 * nowhere, out of the repository or to a directory on
			 * its own way shows nothing of it that is not there to
			 * read anyway, and no mount can hide the last
			 * (safe-path.h).
			 */
			if (type == DT_LNK) {
				if (safe_link_beneath(m->rootfd, r, &st) == 0)
					masks_add(m, r, S_ISDIR(st.st_mode), 0);
				else
					free(r);
			} else
				masks_add(m, r, type == DT_DIR, type == DT_REG);
			continue;
		}
		if (type == DT_DIR) {
			if (depth == MASKS_DEPTH)
				snprintf(m->stop, sizeof(m->stop), "%s/%s is "
				    "more than %d directories deep: qmsd looks "
				    "for secrets no deeper; move it up",
				    m->root, r, MASKS_DEPTH);
			else if (++m->ndirs > MASKS_DIRS)
				snprintf(m->stop, sizeof(m->stop), "more than "
				    "%d directories in %s: qmsd looks for "
				    "secrets in no more", MASKS_DIRS, m->root);
			else if ((cfd = safe_open(dirfd(d), e->d_name,
			    O_RDONLY | O_DIRECTORY)) != -1) {
				xasprintf(&sub, "%s/%s", path, e->d_name);
				if (masks_walk(m, cfd, sub, r, depth + 1) == -1)
					rv = -1;
				free(sub);
			}
		}
		free(r);
	}
	closedir(d);
	return (rv);
}

/*
 * Make the list answer for root, walking when it must; -1 when the walk
 * stopped short (m->stop says why).
 */
static int
masks_current(struct masks *m, const char *root)
{
	int	fd;

	/* What the kernel queued before this call counts: read it now. */
	if (m->valid && masks_events(m, 1) == -1)
		m->valid = 0;
	if (m->valid && m->root != NULL && strcmp(m->root, root) == 0)
		return (m->stop[0] != '\0' ? -1 : 0);
	if (m->root != NULL && strcmp(m->root, root) != 0)
		templates_forget(m->templates, "another root");

	masks_drop(m, "walking");
	masks_clear(m);
	free(m->root);
	m->root = xstrdup(root);
	m->walks++;
	m->nwatches = 0;
	m->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (m->fd == -1)
		log_warn("masks: inotify_init1");
	/* root, kept open for the links' lookups; the walk closes fd. */
	fd = -1;
	if ((m->rootfd = safe_dir(root)) == -1 ||
	    (fd = fcntl(m->rootfd, F_DUPFD_CLOEXEC, 0)) == -1)
		snprintf(m->stop, sizeof(m->stop), "%s: %s", root,
		    strerror(errno));
	if (fd != -1 && masks_walk(m, fd, root, "", 0) == 0 && m->fd != -1 &&
	    m->stop[0] == '\0') {
		m->ev = event_new(m->base, m->fd, EV_READ | EV_PERSIST,
		    masks_read, m);
		event_add(m->ev, NULL);
		m->valid = 1;
	} else
		masks_drop(m, "not kept");
	if (m->rootfd != -1)
		close(m->rootfd);
	m->rootfd = -1;
	m->unkept = !m->valid;
	return (m->stop[0] != '\0' ? -1 : 0);
}

int
masks_env_files(struct masks *m, const char *root,
    const struct masks_file **list, size_t *n, char *err, size_t errlen)
{
	size_t	i, k = 0;

	if (masks_current(m, root) == -1) {
		/* Never a secret left visible because the walk stopped. */
		snprintf(err, errlen, "%s", m->stop);
		return (-1);
	}
	(void)templates_current(m->templates);
	for (i = 0; i < m->n; i++) {
		m->masked[k] = m->list[i];
		m->masked[k++].snapshot = templates_snapshot(m->templates,
		    &m->list[i]);
	}
	*list = m->masked;
	*n = k;
	return (0);
}

/* ---- what git's word reads of the walk (templates.h) ---- */

static int
masks_files(void *arg, const char **root, const struct masks_file **list,
    size_t *n)
{
	struct masks	*m = arg;

	*root = m->root;
	*list = m->list;
	*n = m->n;
	return (m->valid);
}

static void
masks_changed(void *arg)
{
	struct masks	*m = arg;

	if (m->on_change != NULL)
		m->on_change(m->on_change_arg);
}

void
masks_configure(struct masks *m, const struct config *c)
{
	templates_configure(m->templates, c);
}

void
masks_prepare(struct masks *m, const char *root, masks_ready_fn fn,
    void *arg)
{
	/*
	 * A root whose walk could not be kept (too many directories to
	 * watch) is walked by masks_env_files at every call: not here too
	 * while git's word holds (a template found since is masked until
	 * the word is dropped).
	 */
	if (m->unkept && !m->valid && m->root != NULL &&
	    strcmp(m->root, root) == 0 && templates_current(m->templates)) {
		fn(arg);
		return;
	}
	if (masks_current(m, root) == -1) {
		fn(arg);
		return;
	}
	templates_prepare(m->templates, fn, arg);
}

void
masks_unwait(struct masks *m, void *arg)
{
	templates_unwait(m->templates, arg);
}
