/*
 * The web console, served to a person's browser on the loopback listener
 * (http_route_browser()): its login and logout, its page and static
 * files (console-files.h), its data API (console-api.h) and live updates
 * (console-stream.h), and each agent's terminal.  Who may see it is
 * console-auth.h's; this file checks it on every request.
 */
#ifndef QMSD_CONSOLE_H
#define QMSD_CONSOLE_H

#include <stddef.h>

#define CONSOLE_PATH	"/console/"

void	 console_init(void);
/* Streams end and actions waiting are let go: before agents go. */
void	 console_shutdown(void);
/* Headers of the API's answers and of the static files. */
extern const char *const console_api_headers[];
/*
 * A one-time login link, valid CONSOLE_LINK_MS: its URL in url, or -1 and
 * why in err (no loopback listener is open).
 */
int	 console_link(char *url, size_t, char *err, size_t);
/* Log every browser out, now and after restarts: how many sessions. */
size_t	 console_logout_all(void);

#endif
