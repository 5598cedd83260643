/*
 * The secrets below the project root that every agent's container masks:
 * each .env and .env.* file, to a depth, skipping .git and node_modules.
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

#define MASKS_DEPTH	6	/* how deep .env files are looked for */
#define MASKS_MAX	256	/* more .env files than this: refuse */

struct masks;

struct masks	*masks_new(struct event_base *);
void		 masks_free(struct masks *);
/*
 * The .env files below root, relative to it, in the order found; valid
 * until the next call.  -1 with why when there are too many to mask.
 */
int		 masks_env_files(struct masks *, const char *root,
		    char *const **list, size_t *n, char *err, size_t);
/* How many walks so far (the tests and the benchmark count them). */
unsigned long	 masks_walks(const struct masks *);

#endif
