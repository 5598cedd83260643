/*
 * The per-agent glue: see manager.h.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "activity.h"
#include "manager.h"
#include "util.h"

struct magent {
	char			 name[64];
	struct activity_state	 act;
	TAILQ_ENTRY(magent)	 entry;
};

struct observer {
	char			 agent[64];	/* "": every agent's */
	manager_event_fn	 fn;
	void			*arg;
	int			 dead;
	TAILQ_ENTRY(observer)	 entry;
};

static TAILQ_HEAD(, magent)	m_agents = TAILQ_HEAD_INITIALIZER(m_agents);
static TAILQ_HEAD(, observer)	m_observers =
				    TAILQ_HEAD_INITIALIZER(m_observers);
static int			m_telling;	/* observers being told */

/* The last events, a ring. */
static cJSON			*m_ring[MANAGER_EVENTS];
static size_t			 m_next, m_count;

/* Milliseconds of the wall clock: "since" is shown as a date. */
static uint64_t
wall_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

/* RFC 3339 UTC with milliseconds. */
static void
format_ms(uint64_t ms, char *buf, size_t len)
{
	time_t		t = (time_t)(ms / 1000);
	struct tm	tm;
	size_t		n;

	gmtime_r(&t, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03uZ", (unsigned)(ms % 1000));
}

static struct magent *
find(const char *name, int make)
{
	struct magent	*m;

	TAILQ_FOREACH(m, &m_agents, entry)
		if (strcmp(m->name, name) == 0)
			return (m);
	if (!make || strlen(name) >= sizeof(m->name))
		return (NULL);
	m = xcalloc(1, sizeof(*m));	/* ACT_NO_SESSION, since 0 */
	snprintf(m->name, sizeof(m->name), "%s", name);
	TAILQ_INSERT_TAIL(&m_agents, m, entry);
	return (m);
}

/* Keep the event, then tell who listens. */
static void
publish(cJSON *ev, const char *agent)
{
	struct observer	*o, *next;

	cJSON_Delete(m_ring[m_next]);
	m_ring[m_next] = ev;
	m_next = (m_next + 1) % MANAGER_EVENTS;
	if (m_count < MANAGER_EVENTS)
		m_count++;
	m_telling++;
	TAILQ_FOREACH(o, &m_observers, entry)
		if (!o->dead && (o->agent[0] == '\0' ||
		    strcmp(o->agent, agent) == 0))
			o->fn(ev, o->arg);
	if (--m_telling > 0)
		return;
	for (o = TAILQ_FIRST(&m_observers); o != NULL; o = next) {
		next = TAILQ_NEXT(o, entry);
		if (o->dead) {
			TAILQ_REMOVE(&m_observers, o, entry);
			free(o);
		}
	}
}

static void
add_activity(const struct activity_state *s, cJSON *o)
{
	char	since[40];

	cJSON_AddStringToObject(o, "activity", activity_name(s->state));
	if (s->since != 0) {
		format_ms(s->since, since, sizeof(since));
		cJSON_AddStringToObject(o, "activity_since", since);
	} else
		cJSON_AddNullToObject(o, "activity_since");
	cJSON_AddStringToObject(o, "last_event", s->last);
	cJSON_AddStringToObject(o, "activity_detail", s->detail);
}

/* The activity changed (from was): an event says so. */
static void
changed(struct magent *m, enum activity from)
{
	cJSON	*ev = cJSON_CreateObject();
	char	 t[40];

	format_ms(wall_ms(), t, sizeof(t));
	cJSON_AddStringToObject(ev, "time", t);
	cJSON_AddStringToObject(ev, "type", "activity");
	cJSON_AddStringToObject(ev, "agent", m->name);
	add_activity(&m->act, ev);
	cJSON_AddStringToObject(ev, "previous", activity_name(from));
	publish(ev, m->name);
}

void
manager_hook(const char *agent, const struct hook_event *ev)
{
	struct magent	*m;
	enum activity	 from;

	if ((m = find(agent, 1)) == NULL)
		return;
	from = m->act.state;
	if (activity_apply(&m->act, ev, wall_ms()))
		changed(m, from);
}

void
manager_container(const char *agent, int running)
{
	struct magent	*m;
	enum activity	 from;

	/* A container that runs has no session until one is seen. */
	if (running || (m = find(agent, 0)) == NULL)
		return;
	from = m->act.state;
	if (activity_reset(&m->act, "the container is not running",
	    wall_ms()))
		changed(m, from);
}

void
manager_session_launched(const char *agent)
{
	struct magent	*m;
	enum activity	 from;

	if ((m = find(agent, 1)) == NULL)
		return;
	from = m->act.state;
	if (activity_session_launched(&m->act, wall_ms()))
		changed(m, from);
}

void
manager_session_gone(const char *agent)
{
	struct magent	*m;
	enum activity	 from;

	if ((m = find(agent, 0)) == NULL)
		return;
	from = m->act.state;
	if (activity_session_gone(&m->act, wall_ms()))
		changed(m, from);
}

void
manager_forget(const char *agent)
{
	struct magent	*m;

	if ((m = find(agent, 0)) == NULL)
		return;
	TAILQ_REMOVE(&m_agents, m, entry);
	free(m);
}

void
manager_shutdown(void)
{
	struct magent	*m;
	struct observer	*o;
	size_t		 i;

	while ((m = TAILQ_FIRST(&m_agents)) != NULL) {
		TAILQ_REMOVE(&m_agents, m, entry);
		free(m);
	}
	while ((o = TAILQ_FIRST(&m_observers)) != NULL) {
		TAILQ_REMOVE(&m_observers, o, entry);
		free(o);
	}
	for (i = 0; i < MANAGER_EVENTS; i++) {
		cJSON_Delete(m_ring[i]);
		m_ring[i] = NULL;
	}
	m_next = m_count = 0;
}

void
manager_ps(const char *agent, cJSON *row)
{
	static const struct activity_state	 none;
	const struct magent			*m = find(agent, 0);

	add_activity(m != NULL ? &m->act : &none, row);
}

void *
manager_observe(const char *agent, manager_event_fn fn, void *arg)
{
	struct observer	*o = xcalloc(1, sizeof(*o));

	snprintf(o->agent, sizeof(o->agent), "%s", agent != NULL ? agent : "");
	o->fn = fn;
	o->arg = arg;
	TAILQ_INSERT_TAIL(&m_observers, o, entry);
	return (o);
}

void
manager_unobserve(void *handle)
{
	struct observer	*o = handle;

	if (m_telling > 0) {
		o->dead = 1;
		return;
	}
	TAILQ_REMOVE(&m_observers, o, entry);
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
manager_events_tail(const char *agent, size_t n, manager_event_fn fn,
    void *arg)
{
	size_t	i, first, found = 0, from = m_count;

	first = (m_next + MANAGER_EVENTS - m_count) % MANAGER_EVENTS;
	/* Back from the newest to the n-th match, then forward from it. */
	for (i = m_count; i-- > 0 && found < n;)
		if (event_of(m_ring[(first + i) % MANAGER_EVENTS], agent)) {
			found++;
			from = i;
		}
	for (i = from; found > 0 && i < m_count; i++)
		if (event_of(m_ring[(first + i) % MANAGER_EVENTS], agent))
			fn(m_ring[(first + i) % MANAGER_EVENTS], arg);
}
