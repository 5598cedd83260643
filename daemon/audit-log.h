/*
 * The audit trail: one append-only, hash-chained log of every
 * security-relevant record, STATE/audit.log (its format and chain:
 * common/audit-chain.h).  Git calls, gateway tool calls, egress
 * decisions and admin actions on the control socket each append one.
 *
 * A record is on disk before the answer it records goes out: the caller
 * holds its answer until done() says so.  The writing and the syncing are
 * a child process's (fork at start, no exec): the loop hashes and queues
 * the line and goes on; the child writes what has come, fdatasync()s once
 * for all of it, and says how far it got.  So a sync costs the loop
 * nothing, and many records waiting share one sync.
 *
 * A record that cannot be written (the writer stopped, the disk refused,
 * too much waits for it) is done() with why: the caller refuses what it
 * would have answered, for nothing unrecorded may happen.
 */
#ifndef QMSD_AUDIT_LOG_H
#define QMSD_AUDIT_LOG_H

#include <stdint.h>

#include <event2/event.h>

#include <cjson/cJSON.h>

#include "audit-chain.h"

/* A journal line with the head, this often (and at start and stop). */
#define AUDIT_HEAD_EVERY_MS	60000
/*
 * Bytes waiting for the disk past which a waited-for record is refused
 * (an admin's or the host's at twice that).  An agent's records have a
 * share besides: so many a second (in bursts of so many) and so many
 * bytes waiting; past it they are refused, and a record a second counts
 * them.  Records nothing waits for (a tunnel's end) always go.
 */
#define AUDIT_MAX_PENDING	(8u * 1024 * 1024)
#define AUDIT_AGENT_RATE	200
#define AUDIT_AGENT_BURST	1000
#define AUDIT_AGENT_PENDING	(1024 * 1024)
#define AUDIT_MAX_SOURCES	1024

struct audit_wait;
typedef void (*audit_done)(void *arg, const char *error);

/*
 * Open (or create) STATE/audit.log and read its head from its last line,
 * before qmsd detaches, so that a log it cannot go on with stops its
 * start where the error can be seen; then, detached, start the writer
 * (this process's child) and record qmsd's start.  -1 with err: qmsd
 * must not run without it.
 */
int	 audit_log_prepare(const char *state_dir, char *err, size_t errlen);
int	 audit_log_open(struct event_base *, char *err, size_t errlen);
/* Record the stop, let the writer finish (briefly waited for), close. */
void	 audit_log_close(const char *why);

/*
 * Append a record of kind ("git", "tool", "egress", "admin"), its members
 * those of fields (an object, taken over; strings are cut to fit a line).
 * done(arg, NULL) once it is on disk, or done(arg, why) when it cannot
 * be; never from inside this call.  The handle lets a caller whose client
 * left forget it (done is then not called; the record still goes).
 * done NULL: nothing waits, and NULL is returned.
 */
struct audit_wait *audit_record(const char *kind, cJSON *fields,
	    audit_done done, void *arg);
void	 audit_forget(struct audit_wait *);

/* The last record on disk: seq 0 and the genesis hash when none. */
void	 audit_head(uint64_t *seq, char hash[AUDIT_HASH_HEX]);
/* The log, opened read-only for a reader (-1 with err). */
int	 audit_open_read(char *err, size_t errlen);
const char *audit_path(void);

/* fn(line, len, arg) for each record once it is on disk, in order. */
void	*audit_follow_add(void (*fn)(const char *, size_t, void *), void *);
void	 audit_follow_remove(void *);

/*
 * {"records": N, "bytes": N, "syncs": N, "pending": N, "max_pending": N,
 *  "loop_ns_per_record": N, "seq": N}: for status and the benchmark.
 */
cJSON	*audit_stats(void);

#endif
