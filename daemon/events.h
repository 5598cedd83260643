/*
 * The agents' events (issue 16): an agent's activity changed, an item
 * arrived in or left its inbox, a notification was delivered or failed,
 * a policy started or stopped it.  Each is one JSON object with at least
 * "time", "type" and "agent", told to the observers as it happens
 * (methods.c turns it into control-socket events, agent.c into status
 * fields), and the last EVENTS_KEPT are kept for a reader that comes
 * later.  Full, the oldest event of an agent holding more than its share
 * goes: one agent's flood of hooks or inbox churn pushes out its own
 * events, not another's.  Domain code: no protocol here.
 */
#ifndef QMSD_EVENTS_H
#define QMSD_EVENTS_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* Events kept for `qmsctl events` without -f. */
#define EVENTS_KEPT	256

/* Keep ev (taken), then tell the observers of agent (and of all). */
void	 events_publish(cJSON *ev, const char *agent);

/*
 * Observers: fn(event, arg) for each event as it happens (the observer
 * copies what it keeps).  agent NULL: every agent's.  The handle removes
 * it; removing from inside fn is allowed.
 */
typedef void (*events_fn)(const cJSON *event, void *arg);
void	*events_observe(const char *agent, events_fn, void *arg);
void	 events_unobserve(void *handle);
/* The last n events kept (agent NULL: all), oldest first, to fn. */
void	 events_tail(const char *agent, size_t n, events_fn, void *arg);
/* Every observer and event goes (after the control socket). */
void	 events_shutdown(void);

#endif
