/*
 * The QMS MCP gateway at /qms/mcp: containers reach the QMS MCP server
 * only through qmsd, which takes the caller's identity from its bearer
 * token (never from a header it sent), relays the request to the child on
 * loopback, and streams the answer back as it comes, SSE event by event.
 */
#ifndef QMSD_GATEWAY_H
#define QMSD_GATEWAY_H

struct supervisor;

void	gateway_init(struct supervisor *);
void	gateway_configure(void);
void	gateway_shutdown(void);

#endif
