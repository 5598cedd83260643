/*
 * sd_notify(3) without blocking: libsystemd's sd_notify sends on a blocking
 * socket, and a manager that stops reading would stop qmsd's loop with it.
 * Here a message that cannot be queued at once is dropped and counted.
 * STATUS= updates are coalesced, since a crash loop changes state often.
 */
#ifndef QMSD_NOTIFY_H
#define QMSD_NOTIFY_H

#include <event2/event.h>

/* Take NOTIFY_SOCKET out of the environment, so no child inherits it. */
void	notify_init(struct event_base *);
void	notify_send(const char *);
/* Send "STATUS=text" soon, once, with the latest text. */
void	notify_status_soon(void (*make)(char *, size_t));
void	notify_shutdown(void);

#endif
