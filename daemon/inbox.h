/*
 * One agent's inbox: the regular files named *.md directly in a directory
 * of the repository (by default .claude/users/NAME/inbox), watched with
 * inotify in the loop.  Only names are ever looked at: no item is opened
 * or read here.  What others write there is hostile until shown otherwise:
 *
 * - The directory is reached from the project root one component at a
 *   time through safe-path.h, following no link; a link or anything but a
 *   directory on the way is not watched (logged, the count is 0) and is
 *   looked at again later.  The watch is added through /proc/self/fd of
 *   that descriptor, so it is on the very directory opened, whatever the
 *   path names by then.
 * - It is made at open when missing, as the owner (as the workspace is):
 *   watching for it to appear would take a watch on every directory above
 *   it.  Removed, renamed or replaced later, it is opened again at once
 *   when something stands at its path, else made again after
 *   INBOX_RETRY_MS (not at once: a `mv inbox old; mkdir inbox` in
 *   progress would find it made); what it holds then is scanned and
 *   compared with what was known.  It is held open only while read (a
 *   directory held open says nothing of its removal), opened again by
 *   its path for each batch of events and each scan, and must be the
 *   same directory: a directory above it renamed is seen at its next
 *   event (or at inbox_reopen()).
 * - An item's name is typed into a terminal, so one that looks like an
 *   item (*.md, not hidden) but is not safe to show is refused, logged
 *   escaped and counted, never tracked nor escaped into another name:
 *   inbox_name_ok() says which.
 * - Work is bounded: INBOX_BATCH buffers of events per wakeup, a scan
 *   reads INBOX_SCAN_STEP entries per loop turn, and at most INBOX_MAX
 *   items are tracked (more are counted and logged, and looked for again
 *   once the count falls).  A lost event (IN_Q_OVERFLOW) starts a scan.
 *
 * Arrival order is the order qmsd saw the names arrive; those a scan
 * finds (at open, after a lost event) come after those already known,
 * among themselves by change time, then name.  A file is an item from the
 * moment its name is there: a writer should write it elsewhere and rename
 * it in.
 */
#ifndef QMSD_INBOX_H
#define QMSD_INBOX_H

#include <sys/types.h>

#include <event2/event.h>

#include <stddef.h>

#define INBOX_MAX	10000	/* items tracked; more: counted, not tracked */
#define INBOX_NAME_MAX	128	/* bytes of an item's name, ".md" included */
#define INBOX_BATCH	8	/* buffers of events read per wakeup */
#define INBOX_SCAN_STEP	1024	/* directory entries read per loop turn */
#define INBOX_RETRY_MS	1000	/* first wait to look again; doubles */
#define INBOX_RETRY_MAX	60000	/* longest wait */

enum inbox_change {
	INBOX_ARRIVED,
	INBOX_LEFT,
};

struct inbox;
struct inbox_item;

/*
 * Called from the loop, never from inside an inbox_* call, with the count
 * already changed; name is valid during the call and safe to show.  It
 * may call the inbox_* functions that only read (count, ready, error,
 * untracked, refused, the items, has), and no other of this inbox.
 */
typedef void	(*inbox_change_fn)(void *arg, const char *name,
		    enum inbox_change);

/*
 * Watch rel (relative to root, no "..") for items; made as uid:gid, 0755,
 * when missing.  Never NULL: an inbox that cannot be watched is empty,
 * says why in inbox_error() and is looked at again.  The first items
 * arrive from the loop.
 */
struct inbox	*inbox_open(struct event_base *, const char *root,
		    const char *rel, uid_t, gid_t, inbox_change_fn, void *arg);
/* Stop watching; fn is not called again (nor for the items held). */
void		 inbox_close(struct inbox *);
/* Look at the path again now, as after the directory was replaced. */
void		 inbox_reopen(struct inbox *);

/* How many items are tracked. */
size_t		 inbox_count(const struct inbox *);
/*
 * Whether the count is the directory's: watched, with no scan under way
 * (at open, after a lost event) and nothing over INBOX_MAX.
 */
int		 inbox_ready(const struct inbox *);
/* Why the inbox is not watched now, or NULL when it is. */
const char	*inbox_error(const struct inbox *);
/* Items seen but not tracked: past INBOX_MAX now; refused names so far. */
size_t		 inbox_untracked(const struct inbox *);
unsigned long	 inbox_refused(const struct inbox *);

/* The items, oldest arrival first; NULL at the end. */
const struct inbox_item	*inbox_first(const struct inbox *);
const struct inbox_item	*inbox_next(const struct inbox_item *);
const char		*inbox_item_name(const struct inbox_item *);
/* Whether name is a tracked item. */
int		 inbox_has(const struct inbox *, const char *name);

/*
 * Whether a name in the inbox is an item: 1, or 0 with why when it is
 * refused (not safe to show: more than INBOX_NAME_MAX bytes, invalid
 * UTF-8 (overlong forms and surrogates included), a control character
 * (C0, DEL, C1), or an invisible formatting one (zero-width, bidi
 * embedding, override and isolate, line and paragraph separators, word
 * joiners, BOM, tags, noncharacters)).  A name that is not *.md (with
 * something before it), or is hidden (starts with "."), is no item: -1,
 * ignored without a word.
 */
int		 inbox_name_ok(const char *name, char *why, size_t);
/* name for a log line: printable ASCII kept, the rest as \xNN. */
void		 inbox_name_escape(const char *name, char *buf, size_t);

#endif
