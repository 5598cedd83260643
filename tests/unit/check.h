/*
 * A minimal check harness for the unit tests: each CHECK records a failure
 * with its file and line and the test goes on, so one run shows every broken
 * case; check_done() prints the count and gives main's exit status.
 */
#ifndef QMSD_CHECK_H
#define QMSD_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures;
static int check_count;

#define CHECK(cond) do {						\
	check_count++;							\
	if (!(cond)) {							\
		check_failures++;					\
		fprintf(stderr, "%s:%d: check failed: %s\n",		\
		    __FILE__, __LINE__, #cond);				\
	}								\
} while (0)

#define CHECK_STR(got, want) do {					\
	const char *check_g_ = (got), *check_w_ = (want);		\
	check_count++;							\
	if (check_g_ == NULL || strcmp(check_g_, check_w_) != 0) {	\
		check_failures++;					\
		fprintf(stderr, "%s:%d: got \"%s\", want \"%s\"\n",	\
		    __FILE__, __LINE__,					\
		    check_g_ ? check_g_ : "(null)", check_w_);		\
	}								\
} while (0)

static inline int
check_done(const char *name)
{
	printf("%s: %d checks, %d failed\n", name, check_count,
	    check_failures);
	return check_failures == 0 ? 0 : 1;
}

#endif
