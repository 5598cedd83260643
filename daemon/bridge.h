/*
 * Where "docker-bridge" is: the gateway address of a Docker network (the
 * default bridge), asked of the engine whenever it becomes reachable and
 * again every so often, and handed to the HTTP listener, which rebinds
 * when the address changes.
 */
#ifndef QMSD_BRIDGE_H
#define QMSD_BRIDGE_H

#include <event2/event.h>

struct config;

/* After docker_init: it asks whenever the engine becomes reachable. */
void	bridge_init(struct event_base *);
void	bridge_configure(const struct config *);
/* Ask now. */
void	bridge_refresh(void);
void	bridge_shutdown(void);

#endif
