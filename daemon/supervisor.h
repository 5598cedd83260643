/*
 * The supervisor of one child process that serves MCP over HTTP (the QMS
 * MCP server): started, probed with a real handshake until ready, restarted
 * with backoff, stopped with a deadline.  Its state machine is the switch in
 * supervisor.c; the states are named in status exactly as in the code.
 */
#ifndef QMSD_SUPERVISOR_H
#define QMSD_SUPERVISOR_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

struct config;
struct supervisor;

struct supervisor *supervisor_new(struct event_base *, const char *name);
/* Take up (or take up again, on reload) the configuration. */
void	 supervisor_configure(struct supervisor *, const struct config *);
/* Stop for good; done() once the child is gone (at once if none). */
void	 supervisor_shutdown(struct supervisor *, void (*done)(void *),
	    void *);
void	 supervisor_free(struct supervisor *);

const char *supervisor_state_name(const struct supervisor *);
int	 supervisor_ready(const struct supervisor *);
/*
 * Call fn(arg, NULL) once ready (at once if it is), or fn(arg, why) if it
 * fails, stops or is disabled; a stopped or failed child is started.
 * -1 with why when it cannot even begin (disabled).
 */
int	 supervisor_wait_ready(struct supervisor *, void (*fn)(void *,
	    const char *), void *arg, char *err, size_t);
void	 supervisor_unwait(struct supervisor *, void *arg);
int	 supervisor_disabled(const struct supervisor *);
const char *supervisor_url(const struct supervisor *);
const char *supervisor_detail(const struct supervisor *);

/* Milliseconds until the next start attempt, when in backoff. */
uint64_t supervisor_next_start(const struct supervisor *);

#endif
