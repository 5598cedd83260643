#include <sys/inotify.h>
#include <sys/queue.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inbox.h"
#include "log.h"
#include "safe-path.h"
#include "util.h"

/*
 * What changes the items, and the directory itself going.  Not
 * IN_DONT_FOLLOW: the watch is added through /proc/self/fd/N, a link to
 * be followed to the very directory held open (inbox.h), never a path
 * looked up again.
 */
#define INBOX_WATCH	(IN_CREATE | IN_DELETE | IN_MOVED_FROM | \
			    IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | \
			    IN_ONLYDIR)
/* Refusals logged per open: a name made over and over is said once. */
#define INBOX_LOG_MAX	16

struct inbox_item {
	TAILQ_ENTRY(inbox_item)	 entry;
	unsigned int		 gen;		/* the last scan that saw it */
	char			 name[];
};
TAILQ_HEAD(inbox_items, inbox_item);

/* A name a scan found, kept to the scan's end to be put in order. */
struct inbox_found {
	char		*name;
	struct timespec	 ctime;
};

struct inbox {
	struct event_base	*base;
	char			*root;
	char			*rel;
	uid_t			 uid;
	gid_t			 gid;
	inbox_change_fn		 fn;
	void			*arg;

	/*
	 * The directory watched, held open only while it is read: held,
	 * its removal would say nothing (IN_DELETE_SELF waits for the last
	 * reference), so it is opened again by its path for each batch and
	 * each scan, and must be the same directory.
	 */
	int			 dirfd;		/* -1: not open now */
	dev_t			 dev;
	ino_t			 ino;
	int			 ifd;		/* inotify; -1: not watched */
	struct event		*ev;		/* ifd readable */
	struct event		*retry;		/* look at the path again */
	uint64_t		 retry_ms;
	char			 error[256];	/* why not watched; "" */

	struct event		*step;		/* a scan's next step */
	DIR			*scan;		/* a scan under way; NULL */
	int			 rescan;	/* another asked for meanwhile */
	unsigned int		 gen;
	struct inbox_found	*found;
	size_t			 nfound;

	struct inbox_items	 items;		/* in arrival order */
	struct inbox_item	**byname;	/* the same, sorted by name */
	size_t			 n;
	size_t			 over;		/* items past INBOX_MAX */
	unsigned long		 refused;
	unsigned int		 logged;
};

static void	inbox_read(evutil_socket_t, short, void *);
static void	inbox_step(evutil_socket_t, short, void *);
static void	inbox_retry(evutil_socket_t, short, void *);

/* ---- names ---- */

/* The code point at s, of its bytes; -1: not UTF-8 (overlong included). */
static int
utf8_next(const unsigned char *s, uint32_t *cp)
{
	size_t		need, i;
	uint32_t	c = s[0], min;

	if (c < 0x80) {
		*cp = c;
		return (1);
	}
	if (c < 0xc2)
		return (-1);	/* a continuation byte, or overlong */
	if (c < 0xe0) {
		need = 1;
		c &= 0x1f;
		min = 0x80;
	} else if (c < 0xf0) {
		need = 2;
		c &= 0x0f;
		min = 0x800;
	} else if (c < 0xf5) {
		need = 3;
		c &= 0x07;
		min = 0x10000;
	} else
		return (-1);
	for (i = 1; i <= need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return (-1);	/* the NUL at the end stops here too */
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return (-1);
	*cp = c;
	return ((int)need + 1);
}

/*
 * Characters a terminal acts on or a reader cannot see: controls, and
 * the invisible ones that hide or reorder what is shown.
 */
static int
unshown(uint32_t c)
{
	return (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0xad ||
	    c == 0x61c || c == 0x180e || (c >= 0x200b && c <= 0x200f) ||
	    (c >= 0x2028 && c <= 0x202e) || (c >= 0x2060 && c <= 0x206f) ||
	    c == 0xfeff || (c >= 0xfff9 && c <= 0xfffb) ||
	    (c >= 0xfdd0 && c <= 0xfdef) || (c & 0xfffe) == 0xfffe ||
	    (c >= 0xe0000 && c <= 0xe007f));
}

int
inbox_name_ok(const char *name, char *why, size_t len)
{
	const unsigned char	*p = (const unsigned char *)name;
	size_t			 n = strlen(name);
	uint32_t		 c;
	int			 k;

	if (n <= 3 || strcmp(name + n - 3, ".md") != 0 || name[0] == '.')
		return (-1);
	if (n > INBOX_NAME_MAX) {
		snprintf(why, len, "longer than %d bytes", INBOX_NAME_MAX);
		return (0);
	}
	while (*p != '\0') {
		if ((k = utf8_next(p, &c)) == -1) {
			snprintf(why, len, "not UTF-8");
			return (0);
		}
		if (unshown(c)) {
			snprintf(why, len, "a control or invisible character "
			    "(U+%04X)", (unsigned)c);
			return (0);
		}
		p += k;
	}
	return (1);
}

void
inbox_name_escape(const char *name, char *buf, size_t len)
{
	const unsigned char	*p;
	size_t			 o = 0;

	if (len == 0)
		return;
	for (p = (const unsigned char *)name; *p != '\0' && o + 5 < len; p++) {
		if (*p < 0x20 || *p >= 0x7f || *p == '\\' || *p == '"')
			o += (size_t)snprintf(buf + o, len - o, "\\x%02x", *p);
		else
			buf[o++] = (char)*p;
	}
	buf[o] = '\0';
}

/* ---- the items ---- */

/* Where name is in byname, or would go; 1 when it is there. */
static int
index_find(const struct inbox *ib, const char *name, size_t *at)
{
	size_t	lo = 0, hi = ib->n, mid;
	int	c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = strcmp(name, ib->byname[mid]->name)) == 0) {
			*at = mid;
			return (1);
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	*at = lo;
	return (0);
}

static struct inbox_item *
item_find(const struct inbox *ib, const char *name)
{
	size_t	at;

	return (index_find(ib, name, &at) ? ib->byname[at] : NULL);
}

/* Track name (not tracked yet), or count it over INBOX_MAX. */
static void
item_add(struct inbox *ib, const char *name)
{
	struct inbox_item	*it;
	size_t			 at, len = strlen(name);

	if (ib->n == INBOX_MAX) {
		if (ib->over++ == 0)
			log_warnx("inbox %s: more than %d items; the rest are "
			    "counted, not tracked, until some leave", ib->rel,
			    INBOX_MAX);
		return;
	}
	if (index_find(ib, name, &at))
		return;
	if (ib->byname == NULL)
		ib->byname = xcalloc(INBOX_MAX, sizeof(*ib->byname));
	it = xcalloc(1, sizeof(*it) + len + 1);
	memcpy(it->name, name, len + 1);
	it->gen = ib->gen;
	memmove(&ib->byname[at + 1], &ib->byname[at],
	    (ib->n - at) * sizeof(*ib->byname));
	ib->byname[at] = it;
	ib->n++;
	TAILQ_INSERT_TAIL(&ib->items, it, entry);
	ib->fn(ib->arg, it->name, INBOX_ARRIVED);
}

static void
item_remove(struct inbox *ib, struct inbox_item *it)
{
	size_t	at;

	if (index_find(ib, it->name, &at)) {
		memmove(&ib->byname[at], &ib->byname[at + 1],
		    (ib->n - at - 1) * sizeof(*ib->byname));
		ib->n--;
	}
	TAILQ_REMOVE(&ib->items, it, entry);
	ib->fn(ib->arg, it->name, INBOX_LEFT);
	free(it);
}

/* Whether name, looked at in the directory, is an item to track now. */
static int
item_there(struct inbox *ib, const char *name, struct stat *st)
{
	char	why[128], shown[INBOX_NAME_MAX * 4 + 8];
	int	ok;

	if ((ok = inbox_name_ok(name, why, sizeof(why))) == -1)
		return (0);
	if (ok == 0) {
		ib->refused++;
		if (ib->logged < INBOX_LOG_MAX) {
			inbox_name_escape(name, shown, sizeof(shown));
			log_warnx("inbox %s: \"%s\" refused: %s%s", ib->rel,
			    shown, why, ++ib->logged == INBOX_LOG_MAX ?
			    " (more refusals are counted, not logged)" : "");
		}
		return (0);
	}
	/* Its name only: what it is, never what it holds. */
	return (fstatat(ib->dirfd, name, st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st->st_mode));
}

/* ---- watching ---- */

/*
 * A scan from the next loop turn (one under way: another after it); not
 * watched, the scan finds nothing there.
 */
static void
scan_start(struct inbox *ib)
{
	const struct timeval	tv = { 0, 0 };

	if (ib->scan != NULL) {
		ib->rescan = 1;
		return;
	}
	evtimer_add(ib->step, &tv);
}

static void
scan_stop(struct inbox *ib)
{
	size_t	i;

	evtimer_del(ib->step);
	if (ib->scan != NULL) {
		if (ib->dirfd == dirfd(ib->scan))
			ib->dirfd = -1;
		closedir(ib->scan);
	}
	ib->scan = NULL;
	ib->rescan = 0;
	for (i = 0; i < ib->nfound; i++)
		free(ib->found[i].name);
	free(ib->found);
	ib->found = NULL;
	ib->nfound = 0;
}

/* No longer watched: everything let go of; the items stay until said. */
static void
unwatch(struct inbox *ib)
{
	scan_stop(ib);
	if (ib->ev != NULL) {
		event_free(ib->ev);
		ib->ev = NULL;
	}
	if (ib->ifd != -1) {
		close(ib->ifd);
		ib->ifd = -1;
	}
	if (ib->dirfd != -1) {
		close(ib->dirfd);
		ib->dirfd = -1;
	}
}

/* The watched directory, by its path again; -1 when it is not there. */
static int
dir_open(struct inbox *ib)
{
	struct stat	st;
	int		rootfd, fd;

	if ((rootfd = safe_dir(ib->root)) == -1)
		return (-1);
	fd = safe_open(rootfd, ib->rel, O_RDONLY | O_DIRECTORY);
	close(rootfd);
	if (fd != -1 && (fstat(fd, &st) == -1 || st.st_dev != ib->dev ||
	    st.st_ino != ib->ino)) {
		close(fd);
		return (-1);
	}
	return (fd);
}

/*
 * Open the path and watch it (made when missing and make is set), then
 * scan it; 0, or -1 with ib->error said (once per new reason) and a look
 * again later.
 */
static int
watch(struct inbox *ib, int make)
{
	struct timeval	 tv;
	struct stat	 st;
	char		 proc[64], why[sizeof(ib->error)];
	int		 rootfd, e = 0;

	unwatch(ib);
	why[0] = '\0';
	if ((rootfd = safe_dir(ib->root)) == -1) {
		e = errno;
		snprintf(why, sizeof(why), "the project root: %s",
		    safe_strerror(e));
	} else {
		ib->dirfd = make ? safe_mkdir(rootfd, ib->rel, 0755, ib->uid,
		    ib->gid) : safe_open(rootfd, ib->rel, O_RDONLY |
		    O_DIRECTORY);
		if (ib->dirfd == -1) {
			e = errno;
			snprintf(why, sizeof(why), "%s", safe_strerror(e));
		}
		close(rootfd);
	}
	if (why[0] == '\0' &&
	    (ib->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1)
		snprintf(why, sizeof(why), "inotify: %s", strerror(errno));
	if (why[0] == '\0') {
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", ib->dirfd);
		if (fstat(ib->dirfd, &st) == -1 ||
		    inotify_add_watch(ib->ifd, proc, INBOX_WATCH) == -1)
			snprintf(why, sizeof(why), "cannot watch: %s",
			    strerror(errno));
		else {
			ib->dev = st.st_dev;
			ib->ino = st.st_ino;
		}
	}
	if (why[0] != '\0') {
		unwatch(ib);
		if (strcmp(why, ib->error) != 0)
			log_warnx("inbox %s/%s: %s; not watched, its count is 0 "
			    "until it can be", ib->root, ib->rel, why);
		snprintf(ib->error, sizeof(ib->error), "%s", why);
		/* Gone: made again soon; refused: looked at less often. */
		if (!make && e == ENOENT)
			ib->retry_ms = INBOX_RETRY_MS;
		timeval_ms(&tv, ib->retry_ms);
		evtimer_add(ib->retry, &tv);
		if (ib->retry_ms < INBOX_RETRY_MAX)
			ib->retry_ms = ib->retry_ms * 2 > INBOX_RETRY_MAX ?
			    INBOX_RETRY_MAX : ib->retry_ms * 2;
		return (-1);
	}
	if (ib->error[0] != '\0')
		log_info("inbox %s/%s: watched again", ib->root, ib->rel);
	ib->error[0] = '\0';
	ib->retry_ms = INBOX_RETRY_MS;
	ib->logged = 0;
	close(ib->dirfd);
	ib->dirfd = -1;
	evtimer_del(ib->retry);
	ib->ev = event_new(ib->base, ib->ifd, EV_READ | EV_PERSIST, inbox_read,
	    ib);
	event_add(ib->ev, NULL);
	scan_start(ib);
	return (0);
}

/* Not watched: nothing is known to be there any more. */
static void
forget_items(struct inbox *ib)
{
	struct inbox_item	*it;

	ib->over = 0;
	while ((it = TAILQ_FIRST(&ib->items)) != NULL)
		item_remove(ib, it);
}

/*
 * The directory went (removed, renamed, replaced, unmounted): opened
 * again at once if something stands at its path, else made again later
 * (inbox.h says why not at once).
 */
static void
lost(struct inbox *ib, const char *why)
{
	log_info("inbox %s/%s: %s; looking again", ib->root, ib->rel, why);
	if (watch(ib, 0) == -1)
		forget_items(ib);
}

/* ---- the loop ---- */

static int
found_cmp(const void *a, const void *b)
{
	const struct inbox_found	*x = a, *y = b;

	if (x->ctime.tv_sec != y->ctime.tv_sec)
		return (x->ctime.tv_sec < y->ctime.tv_sec ? -1 : 1);
	if (x->ctime.tv_nsec != y->ctime.tv_nsec)
		return (x->ctime.tv_nsec < y->ctime.tv_nsec ? -1 : 1);
	return (strcmp(x->name, y->name));
}

/*
 * The scan's end: what it did not see (nor an event since its start)
 * has left; what it found new arrives in order, if still there.
 */
static void
scan_end(struct inbox *ib)
{
	struct inbox_item	*it, *next;
	struct stat		 st;
	size_t			 i;

	for (it = TAILQ_FIRST(&ib->items); it != NULL; it = next) {
		next = TAILQ_NEXT(it, entry);
		if (it->gen != ib->gen)
			item_remove(ib, it);
	}
	qsort(ib->found, ib->nfound, sizeof(*ib->found), found_cmp);
	for (i = 0; i < ib->nfound; i++) {
		if (item_find(ib, ib->found[i].name) == NULL &&
		    fstatat(ib->dirfd, ib->found[i].name, &st,
		    AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
			item_add(ib, ib->found[i].name);
		free(ib->found[i].name);
	}
	free(ib->found);
	ib->found = NULL;
	ib->nfound = 0;
	ib->dirfd = -1;
	closedir(ib->scan);
	ib->scan = NULL;
	if (ib->rescan) {
		ib->rescan = 0;
		scan_start(ib);
	}
}

static void
inbox_step(evutil_socket_t fd, short ev, void *arg)
{
	struct inbox		*ib = arg;
	const struct timeval	 tv = { 0, 0 };
	struct inbox_item	*it;
	struct dirent		*e;
	struct stat		 st;
	int			 i, dfd;

	if (ib->ifd == -1) {
		forget_items(ib);
		return;
	}
	if (ib->scan == NULL) {
		if ((dfd = dir_open(ib)) == -1 ||
		    (ib->scan = fdopendir(dfd)) == NULL) {
			if (dfd != -1)
				close(dfd);
			lost(ib, "not at its path any more");
			return;
		}
		ib->gen++;
		ib->over = 0;
		ib->dirfd = dfd;
		ib->found = xcalloc(INBOX_MAX, sizeof(*ib->found));
	}
	for (i = 0; i < INBOX_SCAN_STEP; i++) {
		if ((e = readdir(ib->scan)) == NULL) {
			scan_end(ib);
			return;
		}
		if (e->d_type != DT_REG && e->d_type != DT_UNKNOWN)
			continue;
		if ((it = item_find(ib, e->d_name)) != NULL) {
			it->gen = ib->gen;
			continue;
		}
		if (!item_there(ib, e->d_name, &st))
			continue;
		if (ib->n + ib->nfound >= INBOX_MAX) {
			if (ib->over++ == 0)
				log_warnx("inbox %s: more than %d items; the "
				    "rest are counted, not tracked, until some "
				    "leave", ib->rel, INBOX_MAX);
			continue;
		}
		ib->found[ib->nfound].name = xstrdup(e->d_name);
		ib->found[ib->nfound++].ctime = st.st_ctim;
	}
	evtimer_add(ib->step, &tv);
}

/* One event; -1 when the watch is gone (ib->ifd closed). */
static int
handle(struct inbox *ib, const struct inotify_event *e)
{
	struct inbox_item	*it;
	struct stat		 st;

	if (e->mask & IN_Q_OVERFLOW) {
		log_info("inbox %s: events lost; scanning", ib->rel);
		scan_start(ib);
		return (0);
	}
	if (e->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF |
	    IN_UNMOUNT)) {
		lost(ib, e->mask & IN_MOVE_SELF ? "renamed" :
		    e->mask & IN_UNMOUNT ? "unmounted" : "removed");
		return (-1);
	}
	if (e->len == 0 || (e->mask & IN_ISDIR))
		return (0);
	it = item_find(ib, e->name);
	if (e->mask & (IN_DELETE | IN_MOVED_FROM)) {
		if (it != NULL)
			item_remove(ib, it);
		/* One not tracked may fit now: the scan counts again. */
		if (ib->over > 0)
			scan_start(ib);
	} else if (e->mask & (IN_CREATE | IN_MOVED_TO)) {
		/* A name renamed over may be something else now. */
		if (!item_there(ib, e->name, &st)) {
			if (it != NULL)
				item_remove(ib, it);
		} else if (it != NULL)
			it->gen = ib->gen;
		else
			item_add(ib, e->name);
	}
	return (0);
}

static void
inbox_read(evutil_socket_t fd, short ev, void *arg)
{
	struct inbox			*ib = arg;
	char				 buf[4096]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event	*e;
	ssize_t				 n;
	char				*p;
	int				 reads;

	/* A scan under way holds it open already. */
	if (ib->scan == NULL && (ib->dirfd = dir_open(ib)) == -1) {
		lost(ib, "not at its path any more");
		return;
	}
	for (reads = 0; reads < INBOX_BATCH; reads++) {
		if ((n = read(ib->ifd, buf, sizeof(buf))) == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN) {
				lost(ib, strerror(errno));
				return;
			}
			break;
		}
		for (p = buf; p < buf + n; p += sizeof(*e) + e->len) {
			e = (const struct inotify_event *)p;
			if (handle(ib, e) == -1)
				return;		/* let go of already */
		}
	}
	if (ib->scan == NULL) {
		close(ib->dirfd);
		ib->dirfd = -1;
	}
}

static void
inbox_retry(evutil_socket_t fd, short ev, void *arg)
{
	struct inbox	*ib = arg;

	(void)watch(ib, 1);
}

/* ---- the interface ---- */

struct inbox *
inbox_open(struct event_base *base, const char *root, const char *rel,
    uid_t uid, gid_t gid, inbox_change_fn fn, void *arg)
{
	struct inbox	*ib;

	ib = xcalloc(1, sizeof(*ib));
	ib->base = base;
	ib->root = xstrdup(root);
	ib->rel = xstrdup(rel);
	ib->uid = uid;
	ib->gid = gid;
	ib->fn = fn;
	ib->arg = arg;
	ib->dirfd = ib->ifd = -1;
	ib->retry_ms = INBOX_RETRY_MS;
	TAILQ_INIT(&ib->items);
	ib->step = evtimer_new(base, inbox_step, ib);
	ib->retry = evtimer_new(base, inbox_retry, ib);
	(void)watch(ib, 1);
	return (ib);
}

void
inbox_close(struct inbox *ib)
{
	struct inbox_item	*it;

	if (ib == NULL)
		return;
	unwatch(ib);
	event_free(ib->step);
	event_free(ib->retry);
	while ((it = TAILQ_FIRST(&ib->items)) != NULL) {
		TAILQ_REMOVE(&ib->items, it, entry);
		free(it);
	}
	free(ib->byname);
	free(ib->root);
	free(ib->rel);
	free(ib);
}

void
inbox_reopen(struct inbox *ib)
{
	ib->retry_ms = INBOX_RETRY_MS;
	if (watch(ib, 1) == -1)
		scan_start(ib);
}

size_t
inbox_count(const struct inbox *ib)
{
	return (ib->n);
}

int
inbox_ready(const struct inbox *ib)
{
	return (ib->ifd != -1 && ib->scan == NULL &&
	    !evtimer_pending(ib->step, NULL) && ib->over == 0);
}

const char *
inbox_error(const struct inbox *ib)
{
	return (ib->error[0] != '\0' ? ib->error : NULL);
}

size_t
inbox_untracked(const struct inbox *ib)
{
	return (ib->over);
}

unsigned long
inbox_refused(const struct inbox *ib)
{
	return (ib->refused);
}

const struct inbox_item *
inbox_first(const struct inbox *ib)
{
	return (TAILQ_FIRST(&ib->items));
}

const struct inbox_item *
inbox_next(const struct inbox_item *it)
{
	return (TAILQ_NEXT(it, entry));
}

const char *
inbox_item_name(const struct inbox_item *it)
{
	return (it->name);
}

int
inbox_has(const struct inbox *ib, const char *name)
{
	return (item_find(ib, name) != NULL);
}
