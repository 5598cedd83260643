/*
 * Each agent's policy in force: its configuration's (config.h), with
 * what qmsctl policy set at run time over it.  The run-time part is kept
 * in STATE/agents/NAME/policy (policy.h gives its text), 0600, replaced
 * whole (a temporary file renamed over it), so that it survives a qmsd
 * restart; a file that does not parse is said in the log and ignored.
 * Whoever acts on policies (the manager) is told of each change through
 * the observer: this file knows nothing of the control protocol, nor of
 * containers.
 */
#ifndef QMSD_POLICY_STORE_H
#define QMSD_POLICY_STORE_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "policy.h"

struct config;

/*
 * At start and at each reload: every configured agent's policy, and its
 * run-time part read again from its file.  An agent no longer configured
 * is forgotten (its file stays, for when it comes back).
 */
void	 policy_store_configure(const struct config *);
void	 policy_store_shutdown(void);

/*
 * An agent's policy in force, and the run-time part (set = 0: none);
 * either may be NULL.  0, or -1 when no such agent is configured.
 */
int	 policy_store_get(const char *agent, struct policy *effective,
	    struct policy_override *);
/*
 * The policy in force as ps and qmsctl policy show it: {"start":
 * "on-task", "stop": "idle 10m", "start_from": "config" or "run-time",
 * "stop_from": ...}; JSON null for an unknown agent.
 */
cJSON	*policy_store_json(const char *agent);
/*
 * Set the parts o sets over the run-time part (the others stay as they
 * were), or with o NULL drop the run-time part (--reset).  The file is
 * written first: nothing changes when it cannot be.  Then the observer
 * is told.  0, or -1 with err.
 */
int	 policy_store_set(const char *agent, const struct policy_override *o,
	    char *err, size_t);

/*
 * A change as a person asks it (qmsctl policy, the console): start and
 * stop, either NULL, parsed and set; or, with reset and neither, the
 * run-time part dropped.  0; -1 with err when the request is bad (no such
 * agent, a value that does not parse); -2 with err when it could not be
 * done.
 */
int	 policy_store_change(const char *agent, const char *start,
	    const char *stop, int reset, char *err, size_t);

/*
 * Told after each change of an agent's policy in force by
 * policy_store_set (not at configure: the caller of that knows).  One
 * observer; NULL removes it.
 */
typedef void (*policy_observer)(const char *agent, const struct policy *,
	    void *arg);
void	 policy_store_observe(policy_observer, void *arg);

#endif
