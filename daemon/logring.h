/*
 * The last lines a component wrote, kept in memory for `qmsctl logs`, and
 * the followers (`logs -f`) that receive each new line as it comes.
 */
#ifndef QMSD_LOGRING_H
#define QMSD_LOGRING_H

#include <stddef.h>
#include <time.h>

#include <cjson/cJSON.h>

struct logring;

struct logline {
	time_t		 time;
	char		*text;
};

typedef void (*logring_follow)(const struct logline *, void *arg);

struct logring	*logring_new(size_t max_lines);
void		 logring_free(struct logring *);
void		 logring_add(struct logring *, const char *text, size_t len);
/* The last n lines, oldest first. */
size_t		 logring_tail(const struct logring *, size_t n,
		    void (*)(const struct logline *, void *), void *);
void		*logring_follow_add(struct logring *, logring_follow, void *);
void		 logring_follow_remove(struct logring *, void *handle);
/* A line as the control protocol shows it: {"time": ..., "text": ...}. */
cJSON		*logring_line_json(const struct logline *);

#endif
