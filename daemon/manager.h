/*
 * The per-agent glue of issue 16: what each agent's Claude is doing
 * (activity.h), from its hooks (hooks.c), its container (agent.c) and its
 * tmux session (tmux-link.c).  Later the inbox, deliveries and policies.
 *
 * Domain code: it speaks neither HTTP nor the control protocol.  What
 * changes is told to observers (methods.c turns it into control-socket
 * events, agent.c into status fields) as one JSON object, and the last
 * MANAGER_EVENTS are kept for a reader that comes later.
 */
#ifndef QMSD_MANAGER_H
#define QMSD_MANAGER_H

#include <cjson/cJSON.h>

struct hook_event;

/* Events kept for `qmsctl events` without -f. */
#define MANAGER_EVENTS	256

/* A hook of agent's Claude, parsed (activity_hook_parse). */
void	 manager_hook(const char *agent, const struct hook_event *);
/* agent's container runs, or not (stopped, exited, removed, ...). */
void	 manager_container(const char *agent, int running);
/* tmux-link.c: a session was launched in agent's tmux, or it is gone. */
void	 manager_session_launched(const char *agent);
void	 manager_session_gone(const char *agent);
/* An agent no longer configured: its state goes. */
void	 manager_forget(const char *agent);
void	 manager_shutdown(void);

/*
 * Add to an agent's row (ps, status): "activity", "activity_since"
 * (RFC 3339 with milliseconds, or null before anything happened),
 * "last_event" and "activity_detail".
 */
void	 manager_ps(const char *agent, cJSON *row);

/*
 * Observers: fn(event, arg) for each event as it happens, the event an
 * object with at least "time", "type" and "agent" (the observer copies
 * what it keeps).  agent NULL: every agent's.  The handle removes it;
 * removing from inside fn is allowed.
 */
typedef void (*manager_event_fn)(const cJSON *event, void *arg);
void	*manager_observe(const char *agent, manager_event_fn, void *arg);
void	 manager_unobserve(void *handle);
/* The last n events kept (agent NULL: all), oldest first, to fn. */
void	 manager_events_tail(const char *agent, size_t n, manager_event_fn,
	    void *arg);

#endif
