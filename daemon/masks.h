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
 *
 * A tracked template (docker/.env.example) that git finds unmodified is
 * shown instead as its committed copy: git's word on the list, asked and
 * kept by templates.c (templates.h says how).
 */
#ifndef QMSD_MASKS_H
#define QMSD_MASKS_H

#include <event2/event.h>

#include <stddef.h>

#define MASKS_DEPTH	32	/* directories deeper than this: refuse */
#define MASKS_DIRS	65536	/* more directories than this: refuse */
#define MASKS_MAX	256	/* more secrets than this: refuse */

struct config;

struct masks;

/*
 * A secret found: masked by /dev/null, or by an empty directory; or a
 * template git vouched for, shown by its snapshot.
 */
struct masks_file {
	char		*path;		/* relative to the root */
	int		 dir;		/* a directory, or a link to one */
	int		 file;		/* a regular file: git may vouch for it */
	const char	*snapshot;	/* the committed copy to mount; NULL */
};

typedef void	(*masks_ready_fn)(void *arg);

struct masks	*masks_new(struct event_base *);
void		 masks_free(struct masks *);
/* Who git runs as (the owner, [qmsd] run-as); where snapshots go. */
void		 masks_configure(struct masks *, const struct config *);
/*
 * Make the list current for root, git's word included; fn(arg) once it
 * is, at once when it already is (or when git cannot be asked: then
 * every secret is masked).  An arg already waiting is not added twice.
 */
void		 masks_prepare(struct masks *, const char *root,
		    masks_ready_fn, void *arg);
/* arg no longer waits (it is going away). */
void		 masks_unwait(struct masks *, void *arg);
/*
 * The secrets below root to mask, in the order found; the templates git
 * vouched for (after masks_prepare, while its word holds) carry the
 * snapshot to mount in their place.  Valid until the next call.  -1 with
 * why when there are too many to mask, or the walk stopped short.
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
/* How many times git was asked so far. */
unsigned long	 masks_git_runs(const struct masks *);

#endif
