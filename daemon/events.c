/*
 * The agents' events (events.h): kept, and told to who listens.
 */
#include <sys/queue.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "events.h"
#include "util.h"

struct observer {
	char			 agent[64];	/* "": every agent's */
	events_fn		 fn;
	void			*arg;
	int			 dead;
	TAILQ_ENTRY(observer)	 entry;
};

static TAILQ_HEAD(, observer)	observers = TAILQ_HEAD_INITIALIZER(observers);
static int			telling;	/* observers being told */

/*
 * The last events, oldest first.  Full, the event that goes is the oldest
 * of an agent holding more than its share (the ring over the agents in
 * it), so that one agent's flood of hooks or inbox churn pushes out its
 * own events, not another's.
 */
static cJSON			*ring[EVENTS_KEPT];
static size_t			 nkept;

static const char *
agent_of(const cJSON *ev)
{
	const cJSON	*a = cJSON_GetObjectItemCaseSensitive(ev, "agent");

	return (cJSON_IsString(a) ? a->valuestring : "");
}

/* The ring is full: one event goes (see ring). */
static void
ring_evict(void)
{
	const char	*names[EVENTS_KEPT], *a;
	size_t		 counts[EVENTS_KEPT], n = 0, i, j, share;
	uint16_t	 who[EVENTS_KEPT];

	for (i = 0; i < nkept; i++) {
		a = agent_of(ring[i]);
		for (j = 0; j < n && strcmp(names[j], a) != 0; j++)
			;
		if (j == n) {
			names[n] = a;
			counts[n++] = 0;
		}
		counts[j]++;
		who[i] = (uint16_t)j;
	}
	share = EVENTS_KEPT / (n > 0 ? n : 1);
	for (i = 0; i < nkept; i++)
		if (counts[who[i]] > share)
			break;
	if (i == nkept)
		i = 0;
	cJSON_Delete(ring[i]);
	memmove(&ring[i], &ring[i + 1], (nkept - 1 - i) * sizeof(ring[0]));
	ring[--nkept] = NULL;
}

/* Keep the event, then tell who listens. */
void
events_publish(cJSON *ev, const char *agent)
{
	struct observer	*o, *next;

	if (nkept == EVENTS_KEPT)
		ring_evict();
	ring[nkept++] = ev;
	telling++;
	TAILQ_FOREACH(o, &observers, entry)
		if (!o->dead && (o->agent[0] == '\0' ||
		    strcmp(o->agent, agent) == 0))
			o->fn(ev, o->arg);
	if (--telling > 0)
		return;
	for (o = TAILQ_FIRST(&observers); o != NULL; o = next) {
		next = TAILQ_NEXT(o, entry);
		if (o->dead) {
			TAILQ_REMOVE(&observers, o, entry);
			free(o);
		}
	}
}

void *
events_observe(const char *agent, events_fn fn, void *arg)
{
	struct observer	*o = xcalloc(1, sizeof(*o));

	snprintf(o->agent, sizeof(o->agent), "%s", agent != NULL ? agent : "");
	o->fn = fn;
	o->arg = arg;
	TAILQ_INSERT_TAIL(&observers, o, entry);
	return (o);
}

void
events_unobserve(void *handle)
{
	struct observer	*o = handle;

	if (telling > 0) {
		o->dead = 1;
		return;
	}
	TAILQ_REMOVE(&observers, o, entry);
	free(o);
}

static int
event_of(const cJSON *ev, const char *agent)
{
	const cJSON	*a = cJSON_GetObjectItemCaseSensitive(ev, "agent");

	return (agent == NULL || (cJSON_IsString(a) &&
	    strcmp(a->valuestring, agent) == 0));
}

void
events_tail(const char *agent, size_t n, events_fn fn,
    void *arg)
{
	size_t	i, found = 0, from = nkept;

	/* Back from the newest to the n-th match, then forward from it. */
	for (i = nkept; i-- > 0 && found < n;)
		if (event_of(ring[i], agent)) {
			found++;
			from = i;
		}
	for (i = from; found > 0 && i < nkept; i++)
		if (event_of(ring[i], agent))
			fn(ring[i], arg);
}

void
events_shutdown(void)
{
	struct observer	*o;
	size_t		 i;

	while ((o = TAILQ_FIRST(&observers)) != NULL) {
		TAILQ_REMOVE(&observers, o, entry);
		free(o);
	}
	for (i = 0; i < nkept; i++) {
		cJSON_Delete(ring[i]);
		ring[i] = NULL;
	}
	nkept = 0;
}
