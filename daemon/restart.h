/*
 * The restart arithmetic of whatever qmsd restarts (the QMS MCP server, agent
 * containers): a delay that doubles from backoff-min to backoff-max, set back
 * once the thing ran stable-after, and giving up after give-up failures
 * within give-up-window.  Pure: the time is passed in.
 */
#ifndef QMSD_RESTART_H
#define QMSD_RESTART_H

#include <stddef.h>
#include <stdint.h>

struct restart_conf;	/* config.h: policy, backoff_min, backoff_max,
			   stable_after, give_up, give_up_window (ms) */

/*
 * Failures remembered for give-up; a give-up count above this is never
 * reached.  64, as the supervisor always kept: fewer would make a give-up
 * of 17 to 64 that works today never fire.
 */
#define RESTART_MAX_FAILURES	64

struct restart_state {
	uint64_t	backoff;	/* the next delay, ms; 0: backoff-min */
	uint64_t	failures[RESTART_MAX_FAILURES];	/* when, ms */
	size_t		nfailures;
};

/*
 * A failure at now (ms): 0 with *delay (ms) to wait before the next start,
 * or -1: give up.  *recent: the failures within the window, this one
 * included (for the message).
 */
int	 restart_failure(struct restart_state *, const struct restart_conf *,
	    uint64_t now, uint64_t *delay, size_t *recent);
/* Up long enough: past failures no longer lengthen the backoff. */
void	 restart_stable(struct restart_state *);
/* A person asked for a start: failures and backoff forgotten. */
void	 restart_clear(struct restart_state *);
/*
 * Failures forgotten for give-up, the backoff kept (qmsctl up of an agent:
 * the count starts again, the delay does not).
 */
void	 restart_forget_failures(struct restart_state *);

#endif
