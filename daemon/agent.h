/*
 * Agent containers: one per [agent "NAME"], made as the original
 * docker-compose service was, only safer (read-only repository, masked
 * secrets, the owner's uid, limits, a token of its own), watched through
 * Docker's events, restarted by its policy, and adopted by label when qmsd
 * itself restarts.
 */
#ifndef QMSD_AGENT_H
#define QMSD_AGENT_H

#include <event2/event.h>

#include <stddef.h>

#include <cjson/cJSON.h>

struct config;

/* After docker_init. */
void	 agent_init(struct event_base *);
void	 agent_configure(const struct config *);
void	 agent_shutdown(void);

/*
 * Bring an agent up; fn is called once with NULL or why, and its id.
 * A changed configuration recreates its container, but for a container
 * in which a session runs: then AGENT_UP_REFUSE says so and fails,
 * AGENT_UP_FORCE recreates all the same, and AGENT_UP_ATTACH (a session
 * coming back to it) keeps the container and succeeds.
 */
#define AGENT_UP_REFUSE	0
#define AGENT_UP_FORCE	1
#define AGENT_UP_ATTACH	2
typedef void (*agent_up_done)(void *arg, const char *error, const char *id);
int	 agent_bring_up(const char *name, int how, agent_up_done, void *arg,
	    char *err, size_t);
/* Whether a running agent's configuration no longer matches its container. */
int	 agent_recreate_pending(const char *name);
/* A running agent's container, session command and uid:gid; 0 or -1. */
int	 agent_info(const char *name, char *id, size_t, char ***command,
	    char *user, size_t);

/*
 * fn(name, arg) each time an agent's container is found running: made,
 * started, or adopted when qmsd starts (one subscriber).
 */
void	 agent_on_running(void (*)(const char *, void *), void *);

/* Forget a waiter (its owner is going away). */
void	 agent_unwait(void *arg);
/* The container id of an agent, or NULL. */
const char *agent_container(const char *name);

/* Whether an agent of that name is configured. */
int	 agent_known(const char *name);
/*
 * Stop an agent's container (an up under way is told it was interrupted);
 * fn is called once with NULL or why, and its id.  -1 with why when it
 * cannot begin.
 */
int	 agent_take_down(const char *name, agent_up_done, void *arg,
	    char *err, size_t);
cJSON	*agent_ps(void);
/* The .mcp.json an agent's container gets (NULL name: the host's). */
cJSON	*agent_mcp_config(const char *name, char *err, size_t);

#endif
