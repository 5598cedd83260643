#include <sys/inotify.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "argv.h"
#include "config.h"
#include "log.h"
#include "mask.h"
#include "masks.h"
#include "process.h"
#include "safe-path.h"
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
/* A template git vouched for: any write, or a change of its mode. */
#define MASKS_FILE_WATCH (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | \
			    IN_DELETE_SELF | IN_MOVE_SELF | IN_DONT_FOLLOW)
/* .git: its index replaced (git renames index.lock) or written. */
#define MASKS_GITDIR_WATCH (MASKS_WATCH | IN_MODIFY | IN_CLOSE_WRITE)
/* git's answer: "H MODE ID 0\tpath\0" per file, at most 2 per file. */
#define MASKS_GIT_OUTPUT (2 * MASKS_MAX * (PATH_MAX + 84))
/* A blob id: SHA-1 or SHA-256, in hex. */
#define MASKS_ID_MAX	64

struct masks_waiter {
	masks_ready_fn			 fn;
	void				*arg;
	TAILQ_ENTRY(masks_waiter)	 entry;
};

struct masks {
	struct event_base	*base;
	int			 fd;		/* inotify; -1: none */
	size_t			 nwatches;
	struct event		*ev;
	int			 valid;		/* list answers for root */
	char			*root;
	struct masks_file	 list[MASKS_MAX];
	size_t			 n;
	size_t			 ndirs;		/* in this walk */
	char			 stop[512];	/* why the walk stopped short */
	unsigned long		 walks;
	void			(*on_change)(void *);
	void			*on_change_arg;
	int			 unkept;	/* root's last walk not kept */
	struct masks_file	 masked[MASKS_MAX];	/* the answer */

	/* git's word on the list (masks.h) */
	char			*user;
	uid_t			 uid;
	gid_t			 gid;
	char			**env;
	/* what git was asked about, and which it vouched for */
	struct {
		char		*path;
		int		 shown;
		int		 exec;		/* mode 100755 */
		char		 id[MASKS_ID_MAX + 1];	/* the index's blob */
		char		*snapshot;	/* STATE/templates/ID */
	}			 asked[MASKS_MAX];
	char			*snapdir;	/* STATE/templates; NULL */
	/* the blob being written, asked[blob]; -1: git ls-files runs */
	int			 blob;
	int			 blob_fd;
	char			*blob_tmp;
	size_t			 blob_len;
	int			 blob_errno;	/* a write failed */
	size_t			 nasked;
	int			 word_valid;
	int			 gfd;		/* inotify for the word; -1 */
	struct event		*gev;
	int			 gitdir_wd;	/* -1: not watched */
	struct proc		*git;
	struct event		*git_deadline;
	struct event		*refresh;	/* ask again after a change */
	int			 git_stale;	/* a change while it ran */
	int			 git_timed_out;
	int			 git_tries;
	char			*git_out;
	size_t			 git_outlen;
	int			 git_overflow;
	char			 git_err[256];
	unsigned long		 git_runs;
	TAILQ_HEAD(, masks_waiter) waiters;
};

static void	masks_read(evutil_socket_t, short, void *);
static void	masks_refresh(evutil_socket_t, short, void *);
static void	masks_git_start(struct masks *);
static void	blob_close(struct masks *, int);
static const struct proc_ops masks_git_ops;

struct masks *
masks_new(struct event_base *base)
{
	struct masks	*m;

	m = xcalloc(1, sizeof(*m));
	m->base = base;
	m->fd = -1;
	m->gfd = -1;
	m->gitdir_wd = -1;
	m->blob = -1;
	m->blob_fd = -1;
	TAILQ_INIT(&m->waiters);
	m->refresh = evtimer_new(base, masks_refresh, m);
	return (m);
}

/*
 * git's word no longer holds: its watches go with it (so that they stay
 * bounded), and one running is asked again when it ends.
 */
static void
masks_forget(struct masks *m, const char *why)
{
	size_t	i;

	if (m->word_valid)
		log_debug("masks: asking git again at the next up: %s", why);
	m->word_valid = 0;
	for (i = 0; i < m->nasked; i++) {
		free(m->asked[i].path);
		free(m->asked[i].snapshot);
		m->asked[i].snapshot = NULL;
	}
	m->nasked = 0;
	if (m->gev != NULL) {
		event_free(m->gev);
		m->gev = NULL;
	}
	if (m->gfd != -1) {
		close(m->gfd);
		m->gfd = -1;
	}
	m->gitdir_wd = -1;
	if (m->git != NULL)
		m->git_stale = 1;
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
	struct masks_waiter	*w;

	if (m == NULL)
		return;
	while ((w = TAILQ_FIRST(&m->waiters)) != NULL) {
		TAILQ_REMOVE(&m->waiters, w, entry);
		free(w);
	}
	proc_free(m->git);
	m->git = NULL;
	blob_close(m, 0);
	if (m->git_deadline != NULL)
		event_free(m->git_deadline);
	event_free(m->refresh);
	masks_forget(m, "freed");
	masks_drop(m, "freed");
	masks_clear(m);
	free(m->git_out);
	argv_free(m->env);
	free(m->user);
	free(m->snapdir);
	free(m->root);
	free(m);
}

unsigned long
masks_git_runs(const struct masks *m)
{
	return (m->git_runs);
}

unsigned long
masks_walks(const struct masks *m)
{
	return (m->walks);
}

/* The trees agents write, which are not walked (masks.h says why). */
static int
agents_tree(const char *rel)
{
	return (strcmp(rel, ".claude/users") == 0 ||
	    strcmp(rel, ".claude/sessions") == 0);
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
		if (agents_tree(r)) {
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
			 * nowhere shows nothing.
			 */
			if (type == DT_LNK) {
				if (fstatat(dirfd(d), e->d_name, &st, 0) == 0)
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
		masks_forget(m, "another root");

	masks_drop(m, "walking");
	masks_clear(m);
	free(m->root);
	m->root = xstrdup(root);
	m->walks++;
	m->nwatches = 0;
	m->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (m->fd == -1)
		log_warn("masks: inotify_init1");
	if ((fd = safe_dir(root)) == -1)
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
	m->unkept = !m->valid;
	return (m->stop[0] != '\0' ? -1 : 0);
}

/*
 * Whether git's word holds and shows this file: the snapshot to mount in
 * its place, or NULL.
 */
static const char *
vouched(const struct masks *m, const struct masks_file *f)
{
	size_t	i;

	if (!m->word_valid || !f->file)
		return (NULL);
	for (i = 0; i < m->nasked; i++)
		if (strcmp(m->asked[i].path, f->path) == 0)
			return (m->asked[i].shown ? m->asked[i].snapshot :
			    NULL);
	return (NULL);
}

/*
 * Whether an event on the word's watches could change it: the index
 * replaced or written, or anything at all of a file it vouched for.
 */
static int
changes_git(const struct masks *m, const struct inotify_event *e)
{
	if (e->wd == m->gitdir_wd && !(e->mask & (IN_Q_OVERFLOW |
	    IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT)))
		return (e->len > 0 && strcmp(e->name, "index") == 0);
	return (1);
}

/*
 * The word's events, all that are queued (up to MASKS_DRAIN buffers: a
 * file written without pause drops the word rather than being read for
 * ever).
 */
static void
masks_git_events(struct masks *m)
{
	char				 buf[4096]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event	*e;
	ssize_t				 n;
	char				*p;
	int				 reads;

	for (reads = 0; m->gfd != -1 && reads < MASKS_DRAIN; reads++) {
		if ((n = read(m->gfd, buf, sizeof(buf))) == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				masks_forget(m, strerror(errno));
			return;
		}
		for (p = buf; p < buf + n; p += sizeof(*e) + e->len) {
			e = (const struct inotify_event *)p;
			if (changes_git(m, e)) {
				masks_forget(m, e->len > 0 ? e->name :
				    "a template changed");
				return;
			}
		}
	}
	if (m->gfd != -1)
		masks_forget(m, "more events than a drain reads");
}

static void
masks_git_read(evutil_socket_t fd, short ev, void *arg)
{
	struct masks	*m = arg;
	struct timeval	 tv = { 0, MASKS_REFRESH_MS * 1000 };
	int		 was = m->word_valid;

	masks_git_events(m);
	/*
	 * Dropped by a change: asked again soon, so that the next up (or
	 * whoever computes the masks without waiting) finds a word.  Changes
	 * in a burst (a rebase rewrites the index many times) make one run.
	 */
	if (was && !m->word_valid)
		evtimer_add(m->refresh, &tv);
}

static void
masks_refresh(evutil_socket_t fd, short ev, void *arg)
{
	struct masks	*m = arg;

	if (m->valid && !m->word_valid && m->git == NULL && m->env != NULL) {
		m->git_tries = 0;
		masks_git_start(m);
	}
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
	masks_git_events(m);
	for (i = 0; i < m->n; i++) {
		m->masked[k] = m->list[i];
		m->masked[k++].snapshot = vouched(m, &m->list[i]);
	}
	*list = m->masked;
	*n = k;
	return (0);
}

/* ---- git's word (masks.h) ---- */

void
masks_configure(struct masks *m, const struct config *c)
{
	struct passwd	*pw;
	char		*env[] = {
		"PATH=/usr/local/bin:/usr/bin:/bin", "LC_ALL=C",
		"GIT_CONFIG_NOSYSTEM=1", "GIT_OPTIONAL_LOCKS=0",
		"GIT_TERMINAL_PROMPT=0",
		/* No command of the configuration's on this path. */
		"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=core.fsmonitor",
		"GIT_CONFIG_VALUE_0=false",
		NULL, NULL, NULL,
	};
	size_t		 i;

	for (i = 0; env[i] != NULL; i++)
		;
	pw = getpwuid(c->run_as_uid);
	xasprintf(&env[i], "HOME=%s", pw != NULL ? pw->pw_dir : "/");
	xasprintf(&env[i + 1], "USER=%s", c->run_as);
	argv_free(m->env);
	m->env = xargv_copy(env);
	free(env[i]);
	free(env[i + 1]);
	free(m->user);
	m->user = xstrdup(c->run_as);
	free(m->snapdir);
	m->snapdir = NULL;
	if (c->state_dir != NULL)
		xasprintf(&m->snapdir, "%s/templates", c->state_dir);
	m->uid = c->run_as_uid;
	m->gid = c->run_as_gid;
	/* Another owner may see another index: ask again. */
	masks_forget(m, "configured");
}

/* Everyone waiting learns the word (or that there is none). */
static void
masks_answer(struct masks *m)
{
	TAILQ_HEAD(, masks_waiter)	 ready;
	struct masks_waiter		*w;

	/* A callback may wait again: it joins the next answer. */
	TAILQ_INIT(&ready);
	TAILQ_CONCAT(&ready, &m->waiters, entry);
	while ((w = TAILQ_FIRST(&ready)) != NULL) {
		TAILQ_REMOVE(&ready, w, entry);
		w->fn(w->arg);
		free(w);
	}
}

/*
 * One record of git's output, "T MODE ID STAGE\tPATH": the tag, whether
 * the mode is 100755, the id and the path; -1 when it is not such a
 * record, or not one of a regular file at stage 0.
 */
static int
git_record(char *rec, size_t len, char *tag, int *exec, char *id,
    const char **path)
{
	char	*tab, *sp;
	size_t	 idlen;

	if ((tab = memchr(rec, '\t', len)) == NULL || len < 2 ||
	    rec[1] != ' ')
		return (-1);
	*tag = rec[0];
	*path = tab + 1;
	if (strncmp(rec + 2, "100644 ", 7) == 0)
		*exec = 0;
	else if (strncmp(rec + 2, "100755 ", 7) == 0)
		*exec = 1;
	else
		return (-1);	/* a link, a submodule: not a template */
	rec += 9;
	if ((sp = memchr(rec, ' ', (size_t)(tab - rec))) == NULL)
		return (-1);
	idlen = (size_t)(sp - rec);
	if ((idlen != 40 && idlen != 64) || strspn(rec, "0123456789abcdef") <
	    idlen || strncmp(sp, " 0\t", 3) != 0)
		return (-1);
	memcpy(id, rec, idlen);
	id[idlen] = '\0';
	return (0);
}

/*
 * git's output: H for a tracked file, C for one modified, per path; the
 * blob it holds.  Anything else said of a path (a conflict's stages, a
 * link) leaves it masked.
 */
static void
masks_git_parse(struct masks *m)
{
	int		 modified[MASKS_MAX], exec;
	char		*rec, *end, tag, id[MASKS_ID_MAX + 1];
	const char	*path;
	size_t		 i, len;

	memset(modified, 0, sizeof(modified));
	if (m->git_out == NULL)
		return;		/* nothing tracked */
	end = m->git_out + m->git_outlen;
	for (rec = m->git_out; rec < end; rec += len + 1) {
		len = strnlen(rec, (size_t)(end - rec));
		if (len < 3 || rec[1] != ' ')
			continue;
		if (git_record(rec, len, &tag, &exec, id, &path) == -1) {
			tag = '?';
			path = memchr(rec, '\t', len) != NULL ?
			    (char *)memchr(rec, '\t', len) + 1 : "";
		}
		for (i = 0; i < m->nasked; i++) {
			if (strcmp(path, m->asked[i].path) != 0)
				continue;
			if (tag == 'H' && m->asked[i].id[0] == '\0') {
				m->asked[i].shown = 1;
				m->asked[i].exec = exec;
				snprintf(m->asked[i].id, sizeof(m->asked[i].id),
				    "%s", id);
			} else
				modified[i] = 1;	/* C, or anything else */
		}
	}
	for (i = 0; i < m->nasked; i++)
		if (modified[i])
			m->asked[i].shown = 0;
}

/* ---- the snapshots of what git vouched for (masks.h) ---- */

/*
 * Where asked[i]'s snapshot goes: named by its blob, and by its mode (git
 * in the container compares that bit too).
 */
static char *
blob_path(const struct masks *m, size_t i)
{
	char	*path;

	xasprintf(&path, "%s/%s%s", m->snapdir, m->asked[i].id,
	    m->asked[i].exec ? "-x" : "");
	return (path);
}

/* The blob's file let go of: renamed into place when whole, or removed. */
static void
blob_close(struct masks *m, int keep)
{
	char	*path;

	if (m->blob_fd != -1 && close(m->blob_fd) == -1 && keep)
		m->blob_errno = errno;
	m->blob_fd = -1;
	if (m->blob_tmp == NULL)
		return;
	if (keep && m->blob_errno == 0) {
		path = blob_path(m, m->blob);
		if (rename(m->blob_tmp, path) == 0) {
			m->asked[m->blob].snapshot = path;
			path = NULL;
		} else
			m->blob_errno = errno;
		free(path);
	}
	if (!keep || m->asked[m->blob].snapshot == NULL)
		unlink(m->blob_tmp);
	free(m->blob_tmp);
	m->blob_tmp = NULL;
}

/*
 * What cat-file writes goes to the file as it comes, never held whole;
 * past MASKS_BLOB_MAX git is stopped and the template stays masked.
 */
static void
blob_write(struct masks *m, const char *buf, size_t len)
{
	ssize_t	n;

	if (m->blob_fd == -1 || m->git_overflow)
		return;
	if (len > MASKS_BLOB_MAX - m->blob_len) {
		m->git_overflow = 1;
		proc_kill(m->git, SIGKILL);
		return;
	}
	m->blob_len += len;
	while (len > 0) {
		if ((n = write(m->blob_fd, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			m->blob_errno = errno;
			close(m->blob_fd);
			m->blob_fd = -1;
			return;
		}
		buf += n;
		len -= (size_t)n;
	}
}

/*
 * Files of older words removed, in every doubt kept: a container made
 * from one keeps reading it, but one still to be made from it (an up
 * between its spec and its create) would be refused by Docker.  Only
 * root's own directory is read; nothing there is the agents'.
 */
static void
blob_prune(struct masks *m)
{
	struct dirent	*e;
	DIR		*d;
	size_t		 i;
	int		 keep;

	if (m->snapdir == NULL || (d = opendir(m->snapdir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		for (keep = 0, i = 0; !keep && i < m->nasked; i++)
			keep = m->asked[i].snapshot != NULL &&
			    strcmp(strrchr(m->asked[i].snapshot, '/') + 1,
			    e->d_name) == 0;
		if (!keep && unlinkat(dirfd(d), e->d_name, 0) == -1)
			log_warn("masks: cannot remove %s/%s", m->snapdir,
			    e->d_name);
	}
	closedir(d);
}

/*
 * The next template git vouched for without a snapshot yet: one already
 * written (the same blob for another path, or from an earlier word) is
 * used again; otherwise git cat-file writes it, and this is called again
 * when it ends.  0 once every one has its snapshot (or stays masked).
 */
static int
blob_next(struct masks *m)
{
	struct proc_spec	 spec;
	struct stat		 st;
	struct timeval		 tv = { MASKS_GIT_TIMEOUT, 0 };
	char			*path, *argv[5], err[256];
	size_t			 i;

	for (i = m->blob + 1; i < m->nasked; i++) {
		if (!m->asked[i].shown)
			continue;
		if (m->snapdir == NULL) {
			m->asked[i].shown = 0;
			continue;
		}
		path = blob_path(m, i);
		if (lstat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			m->asked[i].snapshot = path;
			continue;
		}
		free(path);
		break;
	}
	if ((m->blob = (int)i) == (int)m->nasked) {
		m->blob = -1;
		return (0);
	}

	m->blob_len = 0;
	m->blob_errno = 0;
	m->git_overflow = 0;
	m->git_timed_out = 0;
	m->git_err[0] = '\0';
	xasprintf(&m->blob_tmp, "%s/.%s.new", m->snapdir, m->asked[i].id);
	(void)unlink(m->blob_tmp);
	if ((mkdir_p(m->snapdir, 0700) == -1 && errno != EEXIST) ||
	    (m->blob_fd = open(m->blob_tmp, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1 ||
	    fchmod(m->blob_fd, m->asked[i].exec ? 0555 : 0444) == -1 ||
	    (geteuid() == 0 && fchown(m->blob_fd, m->uid, m->gid) == -1)) {
		log_warn("masks: %s; %s stays masked", m->blob_tmp,
		    m->asked[i].path);
		blob_close(m, 0);
		m->asked[i].shown = 0;
		return (blob_next(m));
	}
	argv[0] = "git";
	argv[1] = "cat-file";
	argv[2] = "blob";
	argv[3] = m->asked[i].id;
	argv[4] = NULL;
	memset(&spec, 0, sizeof(spec));
	spec.argv = argv;
	spec.env = m->env;
	spec.workdir = m->root;
	spec.user = m->user;
	spec.uid = m->uid;
	spec.gid = m->gid;
	m->git_runs++;
	if ((m->git = proc_spawn(m->base, &spec, &masks_git_ops, m, err,
	    sizeof(err))) == NULL) {
		log_warnx("masks: cannot run git: %s; %s stays masked", err,
		    m->asked[i].path);
		blob_close(m, 0);
		m->asked[i].shown = 0;
		return (blob_next(m));
	}
	evtimer_add(m->git_deadline, &tv);
	return (1);
}

/* A cat-file ended: its template has a snapshot, or stays masked. */
static void
blob_done(struct masks *m, int status)
{
	char	how[64], *nl;
	int	ok;

	ok = !m->git_timed_out && !m->git_overflow && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0;
	blob_close(m, ok);
	if (m->asked[m->blob].snapshot != NULL)
		return;
	m->asked[m->blob].shown = 0;
	proc_status_string(status, how, sizeof(how));
	if ((nl = strchr(m->git_err, '\n')) != NULL)
		*nl = '\0';
	log_warnx("masks: git cat-file blob %s (%s): %s%s%s; it stays masked",
	    m->asked[m->blob].id, m->asked[m->blob].path, m->git_timed_out ?
	    "no answer in time" : m->git_overflow ? "larger than "
	    "qmsd shows (1 MiB)" : m->blob_errno != 0 ?
	    strerror(m->blob_errno) : how, m->git_err[0] != '\0' ? ": " : "",
	    m->git_err);
}

static void
masks_git_output(struct proc *p, int stream, const char *buf, size_t len,
    void *arg)
{
	struct masks	*m = arg;
	size_t		 l;
	char		*nb;

	if (stream == 2) {
		l = strlen(m->git_err);
		if (l + 1 < sizeof(m->git_err))
			snprintf(m->git_err + l, sizeof(m->git_err) - l, "%.*s",
			    (int)len, buf);
		return;
	}
	if (m->blob != -1) {
		blob_write(m, buf, len);
		return;
	}
	if (m->git_overflow || m->git_outlen + len > MASKS_GIT_OUTPUT ||
	    (nb = realloc(m->git_out, m->git_outlen + len + 1)) == NULL) {
		m->git_overflow = 1;
		return;
	}
	m->git_out = nb;
	memcpy(m->git_out + m->git_outlen, buf, len);
	m->git_outlen += len;
}

static void
masks_git_exited(struct proc *p, int status, void *arg)
{
	struct masks	*m = arg;
	char		 how[64], *nl;

	/* A change queued while it ran makes its answer stale. */
	masks_git_events(m);
	proc_free(m->git);
	m->git = NULL;
	evtimer_del(m->git_deadline);
	if (m->blob != -1 && m->git_stale) {
		blob_close(m, 0);
		m->blob = -1;
	}
	if (m->git_stale && m->git_tries < MASKS_GIT_TRIES) {
		/* A template or the index changed while git read them. */
		masks_git_start(m);
		return;
	}
	if (m->blob != -1) {
		/* A snapshot written (or not), and the next one. */
		blob_done(m, status);
		if (blob_next(m))
			return;
		m->word_valid = 1;
		blob_prune(m);
	} else if (m->git_stale) {
		log_info("masks: the repository kept changing while git "
		    "looked; tracked templates masked for now");
		masks_forget(m, "changed while git looked");
	} else if (m->git_timed_out || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0 || m->git_overflow) {
		proc_status_string(status, how, sizeof(how));
		if ((nl = strchr(m->git_err, '\n')) != NULL)
			*nl = '\0';
		log_warnx("masks: git ls-files in %s: %s%s%s; tracked templates "
		    "(.env.example) stay masked", m->root, m->git_timed_out ?
		    "no answer in time" : m->git_overflow ? "too much output" :
		    how, m->git_err[0] != '\0' ? ": " : "", m->git_err);
		/* Kept as an answer: asked again when something changes. */
		m->word_valid = 1;
	} else {
		masks_git_parse(m);
		/* What git vouched for, written before the word is given. */
		if (blob_next(m))
			return;
		m->word_valid = 1;
		blob_prune(m);
	}
	masks_answer(m);
	/* A template shown or masked anew is a change, for status. */
	if (m->on_change != NULL)
		m->on_change(m->on_change_arg);
}

static const struct proc_ops masks_git_ops = {
	.output = masks_git_output,
	.exited = masks_git_exited,
};

static void
masks_git_deadline(evutil_socket_t fd, short ev, void *arg)
{
	struct masks	*m = arg;

	m->git_timed_out = 1;
	if (m->git != NULL)
		proc_kill(m->git, SIGKILL);
}

/*
 * Watch what git's word rests on, then ask it: the index and each
 * regular file named like a secret, watched before git reads them.  One
 * that cannot be watched stays masked, and so does every one when .git
 * cannot be (a worktree's .git file, a repository above the root).
 */
static void
masks_git_start(struct masks *m)
{
	struct proc_spec	 spec;
	struct timeval		 tv = { MASKS_GIT_TIMEOUT, 0 };
	char			**argv, *path, err[256];
	size_t			 i, n = 0;

	m->git_tries++;
	m->git_stale = 0;
	blob_close(m, 0);
	m->blob = -1;
	m->git_timed_out = 0;
	m->git_overflow = 0;
	m->git_outlen = 0;
	m->git_err[0] = '\0';
	masks_forget(m, "asking git");
	if ((m->gfd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1)
		log_warn("masks: inotify_init1");
	else {
		m->gev = event_new(m->base, m->gfd, EV_READ | EV_PERSIST,
		    masks_git_read, m);
		event_add(m->gev, NULL);
		xasprintf(&path, "%s/.git", m->root);
		m->gitdir_wd = inotify_add_watch(m->gfd, path,
		    MASKS_GITDIR_WATCH);
		free(path);
	}
	argv = xcalloc(m->n + 10, sizeof(*argv));
	argv[n++] = xstrdup("git");
	argv[n++] = xstrdup("--literal-pathspecs");
	argv[n++] = xstrdup("ls-files");
	argv[n++] = xstrdup("-z");
	argv[n++] = xstrdup("-v");
	argv[n++] = xstrdup("-s");	/* the blob, for its snapshot */
	argv[n++] = xstrdup("-c");
	argv[n++] = xstrdup("-m");
	argv[n++] = xstrdup("--");
	for (i = 0; i < m->n; i++) {
		if (!m->list[i].file)
			continue;
		m->asked[m->nasked].path = xstrdup(m->list[i].path);
		m->asked[m->nasked].id[0] = '\0';
		m->asked[m->nasked].snapshot = NULL;
		m->asked[m->nasked++].shown = 0;
		if (m->gitdir_wd == -1)
			continue;
		xasprintf(&path, "%s/%s", m->root, m->list[i].path);
		if (inotify_add_watch(m->gfd, path, MASKS_FILE_WATCH) != -1)
			argv[n++] = xstrdup(m->list[i].path);
		free(path);
	}
	if (n == 9) {
		/*
		 * Nothing git could vouch for that would stay watched.  No
		 * .git to watch: not kept either, so that a repository made
		 * later is asked about at the next up.
		 */
		argv_free(argv);
		m->word_valid = m->gitdir_wd != -1;
		masks_answer(m);
		return;
	}
	memset(&spec, 0, sizeof(spec));
	spec.argv = argv;
	spec.env = m->env;
	spec.workdir = m->root;
	spec.user = m->user;
	spec.uid = m->uid;
	spec.gid = m->gid;
	m->git_runs++;
	m->git = proc_spawn(m->base, &spec, &masks_git_ops, m, err,
	    sizeof(err));
	argv_free(argv);
	if (m->git == NULL) {
		log_warnx("masks: cannot run git: %s; tracked templates stay "
		    "masked", err);
		m->word_valid = 1;
		masks_answer(m);
		return;
	}
	if (m->git_deadline == NULL)
		m->git_deadline = evtimer_new(m->base, masks_git_deadline, m);
	evtimer_add(m->git_deadline, &tv);
}

/* Whether git's word covers every file that may be a template. */
static int
word_covers(struct masks *m)
{
	size_t	i, j;

	masks_git_events(m);
	if (!m->word_valid)
		return (0);
	for (i = 0; i < m->n; i++) {
		if (!m->list[i].file)
			continue;
		for (j = 0; j < m->nasked; j++)
			if (strcmp(m->asked[j].path, m->list[i].path) == 0)
				break;
		if (j == m->nasked)
			return (0);
	}
	return (1);
}

void
masks_prepare(struct masks *m, const char *root, masks_ready_fn fn,
    void *arg)
{
	struct masks_waiter	*w;

	/*
	 * A root whose walk could not be kept (too many directories to
	 * watch) is walked by masks_env_files at every call: not here too
	 * while git's word holds (a template found since is masked until
	 * the word is dropped).
	 */
	if (m->unkept && !m->valid && m->root != NULL &&
	    strcmp(m->root, root) == 0) {
		masks_git_events(m);
		if (m->word_valid) {
			fn(arg);
			return;
		}
	}
	if (masks_current(m, root) == -1 || m->env == NULL ||
	    word_covers(m)) {
		fn(arg);
		return;
	}
	TAILQ_FOREACH(w, &m->waiters, entry)
		if (w->arg == arg)
			return;
	w = xcalloc(1, sizeof(*w));
	w->fn = fn;
	w->arg = arg;
	TAILQ_INSERT_TAIL(&m->waiters, w, entry);
	if (m->git == NULL) {
		m->git_tries = 0;
		masks_git_start(m);
	}
}

void
masks_unwait(struct masks *m, void *arg)
{
	struct masks_waiter	*w;

	TAILQ_FOREACH(w, &m->waiters, entry) {
		if (w->arg == arg) {
			TAILQ_REMOVE(&m->waiters, w, entry);
			free(w);
			return;
		}
	}
}
