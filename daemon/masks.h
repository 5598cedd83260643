/*
 * The secrets below the project root that every agent's container masks:
 * each file (or link, or directory) whose name says it is one, at any
 * depth up to MASKS_DEPTH, skipping .git and node_modules (never a work
 * tree's files; a package's own .env is no secret of the owner's), and
 * the trees agents write: .claude/users (hidden from each container
 * whole, its own directory mounted back) and .claude/sessions (their
 * shared scratch).  What an agent writes it has read all along, so a mask
 * there protects nothing, and walking it would let an agent make the walk
 * as long as it likes, or push the count past MASKS_MAX and refuse every
 * agent's `up`.  Past MASKS_DEPTH or MASKS_DIRS the walk stops and `up` is
 * refused: a secret is never left visible because qmsd stopped looking.
 *
 * The walk is kept and watched with inotify, so `up` and `exec` do not
 * walk the repository on the loop each time; anything that could change
 * the answer (such a name appearing or going, a directory made, removed or
 * renamed, a lost event, a watch refused) drops the list, and the next
 * call walks afresh.  A list kept past such a change would leave a new
 * secret visible in a container: in every doubt, walk.
 */
#ifndef QMSD_MASKS_H
#define QMSD_MASKS_H

#include <event2/event.h>

#include <stddef.h>

#define MASKS_DEPTH	32	/* directories deeper than this: refuse */
#define MASKS_DIRS	65536	/* more directories than this: refuse */
#define MASKS_MAX	256	/* more secrets than this: refuse */

struct masks;

/* A secret found: masked by /dev/null, or by an empty directory. */
struct masks_file {
	char	*path;		/* relative to the root */
	int	 dir;		/* a directory, or a link to one */
};

struct masks	*masks_new(struct event_base *);
void		 masks_free(struct masks *);
/*
 * The secrets below root, in the order found; valid until the next call.
 * -1 with why when there are too many to mask, or the walk stopped short.
 */
int		 masks_env_files(struct masks *, const char *root,
		    const struct masks_file **list, size_t *n, char *err,
		    size_t);
/*
 * fn(arg) when a change seen in the repository drops the kept list (from
 * the loop, never from inside masks_env_files): what agents would be made
 * from may differ now.
 */
void		 masks_on_change(struct masks *, void (*fn)(void *), void *arg);
/* How many walks so far (the tests and the benchmark count them). */
unsigned long	 masks_walks(const struct masks *);

#endif
