/*
 * The console's live terminal per agent: a WebSocket (websocket.h) on
 * GET /console/api/agents/NAME/terminal?rows=R&cols=C, relayed by qmsd
 * to an exec attached to the agent's Claude in tmux, the one `qmsctl
 * session` attaches to (session.h).  console.c has checked the session
 * cookie; this file checks the rest of the handshake.
 */
#ifndef QMSD_CONSOLE_TERMINAL_H
#define QMSD_CONSOLE_TERMINAL_H

#include <stddef.h>

struct http_request;

#define TERMINAL_MAX_PER_AGENT	8
#define TERMINAL_MAX		32

/* Is path a terminal's, /console/api/agents/NAME/terminal?  Its NAME. */
int	 console_terminal_match(const char *path, char *name, size_t);
/* Answer the handshake: upgraded, or refused with a JSON error. */
void	 console_terminal_serve(struct http_request *, const char *agent);

#endif
