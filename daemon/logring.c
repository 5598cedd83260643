#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include "logring.h"
#include "util.h"

struct follower {
	logring_follow		 fn;
	void			*arg;
	TAILQ_ENTRY(follower)	 entry;
};

struct logring {
	struct logline		*lines;
	size_t			 max;
	size_t			 next;		/* slot for the next line */
	size_t			 count;
	TAILQ_HEAD(, follower)	 followers;
};

struct logring *
logring_new(size_t max)
{
	struct logring	*r;

	r = xcalloc(1, sizeof(*r));
	r->lines = xcalloc(max, sizeof(*r->lines));
	r->max = max;
	TAILQ_INIT(&r->followers);
	return (r);
}

void
logring_free(struct logring *r)
{
	struct follower	*f;
	size_t		 i;

	if (r == NULL)
		return;
	while ((f = TAILQ_FIRST(&r->followers)) != NULL) {
		TAILQ_REMOVE(&r->followers, f, entry);
		free(f);
	}
	for (i = 0; i < r->max; i++)
		free(r->lines[i].text);
	free(r->lines);
	free(r);
}

void
logring_add(struct logring *r, const char *text, size_t len)
{
	struct logline	*l = &r->lines[r->next];
	struct follower	*f, *tmp;

	free(l->text);
	l->text = strndup(text, len);
	if (l->text == NULL)
		l->text = xstrdup("");
	l->time = time(NULL);
	r->next = (r->next + 1) % r->max;
	if (r->count < r->max)
		r->count++;
	/* A follower may leave while being told (its client went away). */
	for (f = TAILQ_FIRST(&r->followers); f != NULL; f = tmp) {
		tmp = TAILQ_NEXT(f, entry);
		f->fn(l, f->arg);
	}
}

size_t
logring_tail(const struct logring *r, size_t n,
    void (*fn)(const struct logline *, void *), void *arg)
{
	size_t	i, first;

	if (n > r->count)
		n = r->count;
	first = (r->next + r->max - n) % r->max;
	for (i = 0; i < n; i++)
		fn(&r->lines[(first + i) % r->max], arg);
	return (n);
}

void *
logring_follow_add(struct logring *r, logring_follow fn, void *arg)
{
	struct follower	*f;

	f = xcalloc(1, sizeof(*f));
	f->fn = fn;
	f->arg = arg;
	TAILQ_INSERT_TAIL(&r->followers, f, entry);
	return (f);
}

void
logring_follow_remove(struct logring *r, void *handle)
{
	TAILQ_REMOVE(&r->followers, (struct follower *)handle, entry);
	free(handle);
}

cJSON *
logring_line_json(const struct logline *l)
{
	cJSON	*o = cJSON_CreateObject();
	char	 t[32];

	format_time(l->time, t, sizeof(t));
	cJSON_AddStringToObject(o, "time", t);
	cJSON_AddStringToObject(o, "text", l->text);
	return (o);
}
