#include <string.h>

#include "config.h"
#include "restart.h"

int
restart_failure(struct restart_state *rs, const struct restart_conf *rc,
    uint64_t now, uint64_t *delay, size_t *recent)
{
	size_t	i, n = 0;

	/* Only the newest count: the oldest is the first out of the window. */
	if (rs->nfailures == RESTART_MAX_FAILURES) {
		memmove(rs->failures, rs->failures + 1,
		    sizeof(rs->failures[0]) * (RESTART_MAX_FAILURES - 1));
		rs->nfailures--;
	}
	rs->failures[rs->nfailures++] = now;
	for (i = 0; i < rs->nfailures; i++)
		if (now - rs->failures[i] <= rc->give_up_window)
			n++;
	*recent = n;
	*delay = 0;
	if (rc->give_up > 0 && (long long)n >= rc->give_up)
		return (-1);

	/*
	 * 0 stands for backoff-min so that the reset needs no configuration
	 * and a reload's new backoff-min applies from the next failure.
	 * Doubling is written as a comparison with half the maximum, which
	 * cannot overflow.
	 */
	*delay = rs->backoff != 0 ? rs->backoff : rc->backoff_min;
	if (*delay > rc->backoff_max / 2)
		rs->backoff = rc->backoff_max;
	else
		rs->backoff = *delay * 2;
	if (rs->backoff < rc->backoff_min)
		rs->backoff = rc->backoff_min;
	return (0);
}

void
restart_stable(struct restart_state *rs)
{
	rs->backoff = 0;
}

void
restart_clear(struct restart_state *rs)
{
	memset(rs, 0, sizeof(*rs));
}

void
restart_forget_failures(struct restart_state *rs)
{
	rs->nfailures = 0;
}
