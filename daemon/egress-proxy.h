/*
 * The egress proxy: an HTTP proxy on each agent's socket (agent-socket.h)
 * through which a container with no network reaches what its allow-list
 * (the agent's egress key, egress-policy.h) names, and nothing else.
 *
 *	CONNECT host:port HTTP/1.1	a tunnel, bytes both ways, no TLS
 *					interception
 *	GET http://host[:port]/path	plain HTTP, one request a connection
 *
 * Names are resolved with evdns inside the loop; each address is checked
 * before it is connected to.  A refusal is a 403 whose body names the
 * host:port and the key that would allow it.  Every decision is recorded
 * (egress-audit.h).  Limits per agent: open tunnels, the connect timeout,
 * the idle timeout.
 */
#ifndef QMSD_EGRESS_PROXY_H
#define QMSD_EGRESS_PROXY_H

#include <event2/event.h>

struct agent_conf;
struct config;

void	 egress_proxy_init(struct event_base *);
/* The allow-lists and limits of conf's agents, for new requests. */
void	 egress_proxy_configure(const struct config *);
void	 egress_proxy_shutdown(void);
/* Serve fd, a connection on agent's socket whose first bytes are a
 * proxy request: the proxy owns it from here. */
void	 egress_proxy_accept(int fd, const char *agent);

#endif
