/*
 * An agent's one link to the world when its network is none: a Unix
 * socket of its own, STATE/agents/NAME/link/qmsd.sock, in a directory
 * (the owner's, 0700) that is bind-mounted alone into that agent's
 * container at AGENT_LINK_DIR.  A directory, not the socket itself: a
 * qmsd that restarts makes the socket anew, and a container keeps the
 * directory it was given.
 *
 * The socket is the identity: a connection accepted on it is that
 * agent's, whatever it sends.  Its first bytes say what it is for:
 *	CONNECT host:port ...		the egress proxy (egress-proxy.h)
 *	METHOD http://host... ...	the egress proxy, plain HTTP
 *	anything else			qmsd's HTTP routes (/git/mcp,
 *					/qms/mcp), given to http.c with the
 *					agent's name, where the bearer token
 *					must also be that agent's
 * The bytes are peeked, not read, so the HTTP listener sees them whole.
 */
#ifndef QMSD_AGENT_SOCKET_H
#define QMSD_AGENT_SOCKET_H

#include <event2/event.h>

struct config;

/* Where the directory is mounted in the container, and the socket's name. */
#define AGENT_LINK_DIR		"/run/qmsd"
#define AGENT_LINK_SOCKET	"qmsd.sock"
/* The relay in the container listens on 127.0.0.1 at this port. */
#define AGENT_RELAY_PORT	3128

void	 agent_socket_init(struct event_base *);
/*
 * A socket for each enabled agent with network = none, made or kept;
 * those of agents gone or changed are closed (their connections stay).
 */
void	 agent_socket_configure(const struct config *);
void	 agent_socket_shutdown(void);
/* The directory that holds NAME's socket (free it). */
char	*agent_socket_dir(const char *state_dir, const char *name);

#endif
