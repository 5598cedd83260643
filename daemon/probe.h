/*
 * Readiness by handshake: a component is ready when it answers a real MCP
 * initialize, not when its port merely accepts connections.  The probe runs
 * through the curl loop; parsing the reply is a pure function.
 */
#ifndef QMSD_PROBE_H
#define QMSD_PROBE_H

#include <stddef.h>
#include <stdint.h>

struct probe;

/* ok is 1 with the server's protocol version in detail, else 0 and why. */
typedef void (*probe_done)(int ok, const char *detail, uint64_t latency_ms,
    void *arg);

struct probe	*probe_start(const char *url, uint64_t timeout_ms,
		    probe_done, void *arg);
void		 probe_cancel(struct probe *);
/* Free what is still in flight, before the curl loop goes. */
void		 probe_shutdown(void);

/*
 * Find the JSON-RPC answer to an initialize in a reply that is either one
 * JSON object (application/json) or a stream of SSE events
 * (text/event-stream).  0 with the protocol version, or -1 with why.
 */
int		 probe_parse_reply(const char *content_type, const char *body,
		    size_t len, char *version, size_t vlen, char *err,
		    size_t errlen);

#endif
