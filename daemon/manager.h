/*
 * The per-agent glue of issue 16: what each agent's Claude is doing
 * (activity.h), from its hooks (hooks.c), its container (agent.c) and its
 * tmux session (tmux-link.c); its mail (mailroom.h: the inbox and the
 * notifications typed into its session); and its start and stop policies
 * (policy.h, policy-store.h) at work: asked at every change of what they
 * decide on, and at the time they name, they start the agent headless
 * (tmux_link_start: the path of qmsctl session without a terminal) or
 * take its container down.  A start that fails is tried again after a
 * backoff (MANAGER_BACKOFF_MIN, doubling to MANAGER_BACKOFF_MAX).
 *
 * Domain code: it speaks neither HTTP nor the control protocol.  What
 * changes is published as an event (events.h).
 */
#ifndef QMSD_MANAGER_H
#define QMSD_MANAGER_H

#include <stddef.h>

#include <cjson/cJSON.h>

struct hook_event;

struct config;
struct event_base;

/* After session_init: it links the tmux links and policies to itself. */
void	 manager_init(struct event_base *);
/* At start and each reload, after agent_configure. */
void	 manager_configure(const struct config *);

/*
 * A person's message for the agent's session (qmsctl notify): -1 with
 * why at once, else fn once it is delivered or failed (not after
 * manager_cancel(arg)).
 */
typedef void (*manager_done_fn)(void *arg, const char *error);
int	 manager_notify(const char *agent, const char *text, manager_done_fn,
	    void *arg, char *err, size_t);
void	 manager_cancel(void *arg);
/*
 * A person's qmsctl session -d: the agent started detached in tmux
 * (tmux_link_start), its policies held while it runs; fn once its link is
 * up or with why not (not after manager_start_cancel(arg)).  -1 with why
 * at once.
 */
int	 manager_start(const char *agent, manager_done_fn, void *arg,
	    char *err, size_t);
void	 manager_start_cancel(void *arg);
/*
 * A person brought the agent up (up, session: 1) or took it down (0):
 * a person's down holds its start policy off until a person's up.
 */
void	 manager_person(const char *agent, int up);

/* A hook of agent's Claude, parsed (activity_hook_parse). */
void	 manager_hook(const char *agent, const struct hook_event *);
/* agent's container runs, or not (stopped, exited, removed, ...). */
void	 manager_container(const char *agent, int running);
/* tmux-link.c: a session was launched in agent's tmux, or it is gone. */
void	 manager_session_launched(const char *agent);
void	 manager_session_gone(const char *agent);
/* An agent no longer configured: its state goes. */
void	 manager_forget(const char *agent);
/* Before the links and agents go: no policy acts any more. */
void	 manager_stop(void);
/* After the control socket: its observers and events go too. */
void	 manager_shutdown(void);

/*
 * Add to an agent's row (ps, status): "activity", "activity_since"
 * (RFC 3339 with milliseconds, or null before anything happened),
 * "last_event" and "activity_detail".
 */
void	 manager_ps(const char *agent, cJSON *row);

#endif
