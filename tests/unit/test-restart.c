/* The restart arithmetic: delays, the stable reset, the give-up window. */
#include <string.h>

#include "check.h"
#include "config.h"
#include "restart.h"

/* The delay of a failure at now, or -1 on give-up. */
static long long
fail(struct restart_state *rs, const struct restart_conf *rc, uint64_t now)
{
	uint64_t	delay = 12345;
	size_t		recent;

	if (restart_failure(rs, rc, now, &delay, &recent) == -1)
		return (-1);
	return ((long long)delay);
}

static size_t
recent_of(struct restart_state *rs, const struct restart_conf *rc,
    uint64_t now)
{
	uint64_t	delay;
	size_t		recent = 12345;

	restart_failure(rs, rc, now, &delay, &recent);
	return (recent);
}

int
main(void)
{
	struct restart_state	rs;
	struct restart_conf	rc;
	uint64_t		delay;
	size_t			recent, i;
	int			gave_up;

	memset(&rc, 0, sizeof(rc));
	rc.backoff_min = 100;
	rc.backoff_max = 1000;
	rc.give_up_window = 300000;

	/* From backoff-min, doubling, held at backoff-max. */
	memset(&rs, 0, sizeof(rs));
	CHECK(fail(&rs, &rc, 1) == 100);
	CHECK(fail(&rs, &rc, 2) == 200);
	CHECK(fail(&rs, &rc, 3) == 400);
	CHECK(fail(&rs, &rc, 4) == 800);
	CHECK(fail(&rs, &rc, 5) == 1000);
	CHECK(fail(&rs, &rc, 6) == 1000);

	/* Stable: back to backoff-min, the failures still remembered. */
	restart_stable(&rs);
	CHECK(rs.nfailures == 6);
	CHECK(fail(&rs, &rc, 7) == 100);
	CHECK(fail(&rs, &rc, 8) == 200);

	/* A maximum that is no power of two times the minimum. */
	rc.backoff_min = 300;
	rc.backoff_max = 1000;
	memset(&rs, 0, sizeof(rs));
	CHECK(fail(&rs, &rc, 1) == 300);
	CHECK(fail(&rs, &rc, 2) == 600);
	CHECK(fail(&rs, &rc, 3) == 1000);
	CHECK(fail(&rs, &rc, 4) == 1000);

	/* An odd maximum: exactly half of it, rounded down, still doubles. */
	rc.backoff_min = 250;
	rc.backoff_max = 501;
	memset(&rs, 0, sizeof(rs));
	CHECK(fail(&rs, &rc, 1) == 250);
	CHECK(fail(&rs, &rc, 2) == 500);
	CHECK(fail(&rs, &rc, 3) == 501);

	/* min > max (config.c refuses it): never below the minimum. */
	rc.backoff_min = 500;
	rc.backoff_max = 200;
	memset(&rs, 0, sizeof(rs));
	CHECK(fail(&rs, &rc, 1) == 500);
	CHECK(fail(&rs, &rc, 2) == 500);
	CHECK(fail(&rs, &rc, 3) == 500);

	/* min = max: always that. */
	rc.backoff_min = rc.backoff_max = 700;
	memset(&rs, 0, sizeof(rs));
	CHECK(fail(&rs, &rc, 1) == 700);
	CHECK(fail(&rs, &rc, 2) == 700);

	/* A huge maximum: doubling does not overflow. */
	rc.backoff_min = UINT64_MAX / 2 + 1;
	rc.backoff_max = UINT64_MAX;
	memset(&rs, 0, sizeof(rs));
	CHECK(fail(&rs, &rc, 1) == (long long)(UINT64_MAX / 2 + 1));
	CHECK(rs.backoff == UINT64_MAX);

	/* A new backoff-min applies after a stable reset. */
	rc.backoff_min = 100;
	rc.backoff_max = 1000;
	memset(&rs, 0, sizeof(rs));
	CHECK(fail(&rs, &rc, 1) == 100);
	rc.backoff_min = 50;
	CHECK(fail(&rs, &rc, 2) == 200);
	restart_stable(&rs);
	CHECK(fail(&rs, &rc, 3) == 50);

	/* give-up = 3 within 1000 ms; the window includes its edge. */
	rc.backoff_min = 100;
	rc.backoff_max = 1000;
	rc.give_up = 3;
	rc.give_up_window = 1000;
	memset(&rs, 0, sizeof(rs));
	CHECK(restart_failure(&rs, &rc, 10000, &delay, &recent) == 0 &&
	    recent == 1 && delay == 100);
	CHECK(restart_failure(&rs, &rc, 10500, &delay, &recent) == 0 &&
	    recent == 2 && delay == 200);
	CHECK(restart_failure(&rs, &rc, 11000, &delay, &recent) == -1 &&
	    recent == 3);
	/* Giving up leaves the backoff where it was. */
	CHECK(rs.backoff == 400);

	/* Older than the window: not counted. */
	memset(&rs, 0, sizeof(rs));
	CHECK(fail(&rs, &rc, 10000) == 100);
	CHECK(fail(&rs, &rc, 10500) == 200);
	CHECK(restart_failure(&rs, &rc, 11001, &delay, &recent) == 0 &&
	    recent == 2 && delay == 400);
	CHECK(rs.nfailures == 3);
	/* 10500 is still within it. */
	CHECK(restart_failure(&rs, &rc, 11400, &delay, &recent) == -1 &&
	    recent == 3);

	/* restart_clear: failures and backoff forgotten. */
	restart_clear(&rs);
	CHECK(rs.nfailures == 0 && rs.backoff == 0);
	CHECK(recent_of(&rs, &rc, 11600) == 1);
	CHECK(fail(&rs, &rc, 11700) == 200);
	restart_clear(&rs);
	CHECK(fail(&rs, &rc, 11800) == 100);

	/* restart_forget_failures: the count starts again, the delay not. */
	CHECK(fail(&rs, &rc, 11900) == 200);
	restart_forget_failures(&rs);
	CHECK(rs.nfailures == 0 && rs.backoff == 400);
	CHECK(fail(&rs, &rc, 12000) == 400);
	CHECK(fail(&rs, &rc, 12100) == 800);
	CHECK(fail(&rs, &rc, 12200) == -1);

	/* give-up = 0: never, however many. */
	rc.give_up = 0;
	memset(&rs, 0, sizeof(rs));
	gave_up = 0;
	for (i = 0; i < 3 * RESTART_MAX_FAILURES; i++)
		if (fail(&rs, &rc, 1000 + i) == -1)
			gave_up = 1;
	CHECK(!gave_up);
	CHECK(rs.nfailures == RESTART_MAX_FAILURES);

	/* A give-up of every slot fires at the failure that fills them. */
	rc.give_up = RESTART_MAX_FAILURES;
	rc.give_up_window = 1000000;
	memset(&rs, 0, sizeof(rs));
	for (i = 0; i < RESTART_MAX_FAILURES - 1; i++)
		CHECK(fail(&rs, &rc, 1000 + i) >= 0);
	CHECK(restart_failure(&rs, &rc, 1000 + RESTART_MAX_FAILURES - 1,
	    &delay, &recent) == -1 && recent == RESTART_MAX_FAILURES);

	/* One failure more than the slots drops the oldest. */
	rc.give_up = 0;
	memset(&rs, 0, sizeof(rs));
	for (i = 0; i < RESTART_MAX_FAILURES; i++)
		CHECK(fail(&rs, &rc, 1000 + i) >= 0);
	CHECK(rs.nfailures == RESTART_MAX_FAILURES);
	CHECK(rs.failures[0] == 1000);
	CHECK(restart_failure(&rs, &rc, 1000 + RESTART_MAX_FAILURES, &delay,
	    &recent) == 0 && recent == RESTART_MAX_FAILURES);
	CHECK(rs.nfailures == RESTART_MAX_FAILURES);
	CHECK(rs.failures[0] == 1001);
	CHECK(rs.failures[RESTART_MAX_FAILURES - 1] ==
	    1000 + RESTART_MAX_FAILURES);

	/* A give-up above the slots is never reached. */
	rc.give_up = RESTART_MAX_FAILURES + 1;
	rc.give_up_window = 1000000;
	memset(&rs, 0, sizeof(rs));
	gave_up = 0;
	for (i = 0; i < 2 * RESTART_MAX_FAILURES; i++)
		if (fail(&rs, &rc, 1000 + i) == -1)
			gave_up = 1;
	CHECK(!gave_up);

	return (check_done("restart"));
}
