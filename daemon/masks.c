#include <sys/inotify.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "masks.h"
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
			    IN_ONLYDIR)

struct masks {
	struct event_base	*base;
	int			 fd;		/* inotify; -1: none */
	size_t			 nwatches;
	struct event		*ev;
	int			 valid;		/* list answers for root */
	char			*root;
	char			*list[MASKS_MAX];
	size_t			 n;
	unsigned long		 walks;
};

static void	masks_read(evutil_socket_t, short, void *);

struct masks *
masks_new(struct event_base *base)
{
	struct masks	*m;

	m = xcalloc(1, sizeof(*m));
	m->base = base;
	m->fd = -1;
	return (m);
}

static void
masks_clear(struct masks *m)
{
	size_t	i;

	for (i = 0; i < m->n; i++)
		free(m->list[i]);
	m->n = 0;
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
	masks_drop(m, "freed");
	masks_clear(m);
	free(m->root);
	free(m);
}

unsigned long
masks_walks(const struct masks *m)
{
	return (m->walks);
}

static int
is_env_name(const char *name)
{
	return (strcmp(name, ".env") == 0 || strncmp(name, ".env.", 5) == 0);
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
	return (e->len > 0 && is_env_name(e->name));
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
	masks_events(arg, 0);
}

/*
 * Walk dir (depth below root), watching each directory before reading it:
 * what is made after the watch is an event, what was made before it is
 * read.  -1 when a watch was refused (the list is then not kept).
 */
static int
masks_walk(struct masks *m, const char *dir, const char *rel, int depth)
{
	struct dirent	*e;
	DIR		*d;
	char		*path, *r;
	int		 rv = 0;

	if (depth > MASKS_DEPTH)
		return (0);
	if (m->fd != -1 && m->nwatches == MASKS_WATCHES) {
		/* Too many to keep: every watch let go of at once. */
		close(m->fd);
		m->fd = -1;
		rv = -1;
	} else if (m->fd != -1 && inotify_add_watch(m->fd, dir,
	    MASKS_WATCH) == -1) {
		if (errno != ENOENT && errno != ENOTDIR && errno != EACCES)
			log_warn("masks: cannot watch %s", dir);
		rv = -1;
	} else
		m->nwatches++;
	if ((d = opendir(dir)) == NULL)
		return (rv);
	while ((e = readdir(d)) != NULL && m->n < MASKS_MAX) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") ==
		    0 || strcmp(e->d_name, ".git") == 0 ||
		    strcmp(e->d_name, "node_modules") == 0)
			continue;
		xasprintf(&r, "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
		if (e->d_type == DT_REG && is_env_name(e->d_name)) {
			m->list[m->n++] = r;
			continue;
		}
		if (e->d_type == DT_DIR) {
			xasprintf(&path, "%s/%s", dir, e->d_name);
			if (masks_walk(m, path, r, depth + 1) == -1)
				rv = -1;
			free(path);
		}
		free(r);
	}
	closedir(d);
	return (rv);
}

int
masks_env_files(struct masks *m, const char *root, char *const **list,
    size_t *n, char *err, size_t errlen)
{
	/* What the kernel queued before this call counts: read it now. */
	if (m->valid && masks_events(m, 1) == -1)
		m->valid = 0;
	if (m->valid && m->root != NULL && strcmp(m->root, root) == 0)
		goto out;

	masks_drop(m, "walking");
	masks_clear(m);
	free(m->root);
	m->root = xstrdup(root);
	m->walks++;
	m->nwatches = 0;
	m->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (m->fd == -1)
		log_warn("masks: inotify_init1");
	if (masks_walk(m, root, "", 0) == 0 && m->fd != -1 &&
	    m->n < MASKS_MAX) {
		m->ev = event_new(m->base, m->fd, EV_READ | EV_PERSIST,
		    masks_read, m);
		event_add(m->ev, NULL);
		m->valid = 1;
	} else
		masks_drop(m, "not kept");
out:
	if (m->n == MASKS_MAX) {
		/* Never a secret left visible because the list was full. */
		snprintf(err, errlen, "%d or more .env files in %s: mask "
		    "their directories with mask = DIR", MASKS_MAX, root);
		return (-1);
	}
	*list = m->list;
	*n = m->n;
	return (0);
}
