/*
 * What the egress proxy decided and moved, for each agent: every
 * decision goes to the journal (with fields), to a ring that `qmsctl
 * egress [AGENT] [-f]` shows, and to counters that status and ps show.
 *
 * A request that is refused is one record (event "denied").  One that is
 * allowed is two: "open" once the upstream is connected (or "failed" if
 * it could not be), and "closed" with the bytes each way and the
 * duration when either side ends it.  Inside an intercepted tunnel
 * (egress-intercept.h) each request is one more: "secret" when it went
 * on (its reason says whether a secret was put in), "denied" when it was
 * refused, both with the request's path.
 */
#ifndef QMSD_EGRESS_AUDIT_H
#define QMSD_EGRESS_AUDIT_H

#include <stdint.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "egress-policy.h"

struct egress_record {
	struct timespec	 time;		/* CLOCK_REALTIME */
	const char	*agent;
	const char	*event;		/* denied, open, failed, closed */
	const char	*method;	/* CONNECT, GET, ... */
	const char	*target;	/* host:port as asked (printable) */
	const char	*path;		/* an intercepted request's, or NULL */
	const char	*address;	/* connected to, "1.2.3.4:443"; or NULL */
	int		 status;	/* what the client was answered */
	const char	*rule;		/* why refused (egress_decision), or NULL */
	const char	*reason;	/* one line, printable */
	uint64_t	 bytes_up;	/* agent to upstream */
	uint64_t	 bytes_down;
	uint64_t	 duration_ms;	/* from the request's head */
};

void	 egress_audit_init(void);
void	 egress_audit_shutdown(void);
/* Record one event: journal, ring, counters.  Strings are copied. */
void	 egress_audit_record(const struct egress_record *);
/* Tunnels (and plain requests) open now, per agent: +1 or -1. */
void	 egress_audit_open(const char *agent, int delta);
/*
 * {"allowed": N, "denied": N, "open": N, "bytes_up": N, "bytes_down": N,
 *  "failed": N}: allowed counts "open" and "failed" records (the policy
 * allowed them), failed those of them whose upstream could not be
 * reached; bytes are those of "closed" records.  All 0 for an agent
 * never recorded.
 */
cJSON	*egress_audit_counts(const char *agent);

/*
 * For qmsctl egress (added by the audit, additive): the ring holds the
 * last EGRESS_AUDIT_RING records over all agents, strings cut to a cap;
 * full, the oldest of an agent over its share goes (egress-audit.c).
 */
#define EGRESS_AUDIT_RING	1000
typedef void (*egress_audit_fn)(const struct egress_record *, void *arg);
/* The last n records of agent (NULL: of all), oldest first; how many. */
size_t	 egress_audit_tail(const char *agent, size_t n, egress_audit_fn,
	    void *);
/* fn for each new record of agent (NULL: of all) until removed. */
void	*egress_audit_follow_add(const char *agent, egress_audit_fn, void *);
void	 egress_audit_follow_remove(void *handle);
/* Called with the agent's name whenever its counts change. */
void	 egress_audit_set_hook(void (*)(const char *agent));
/* A record as data: time (RFC 3339, UTC, milliseconds), the fields above
 * by name, null for an absent address or rule. */
cJSON	*egress_audit_record_json(const struct egress_record *);
/*
 * The same members for the audit log (audit-log.h), which has a time of
 * its own: without "time", and without those that are null.
 */
cJSON	*egress_audit_fields(const struct egress_record *);

#endif
