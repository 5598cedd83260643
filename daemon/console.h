/*
 * The web console, served to a person's browser on the loopback listener
 * (http_route_browser()): for now its login and logout, and a placeholder
 * where its views will be (issue 17).  Who may see it is console-auth.h's.
 */
#ifndef QMSD_CONSOLE_H
#define QMSD_CONSOLE_H

#include <stddef.h>

#define CONSOLE_PATH	"/console/"

void	 console_init(void);
/*
 * A one-time login link, valid CONSOLE_LINK_MS: its URL in url, or -1 and
 * why in err (no loopback listener is open).
 */
int	 console_link(char *url, size_t, char *err, size_t);

#endif
