/*
 * The console's live terminal per agent: a WebSocket (websocket.h) on
 * GET /console/api/agents/NAME/terminal?rows=R&cols=C, relayed by qmsd
 * to an exec attached to the agent's Claude in tmux, the one `qmsctl
 * session` attaches to (session.h).  console.c has checked the session,
 * its key, Sec-Fetch-Site and the Origin; this file checks the rest of
 * the handshake.
 */
#ifndef QMSD_CONSOLE_TERMINAL_H
#define QMSD_CONSOLE_TERMINAL_H

#include <stddef.h>

struct http_request;

#define TERMINAL_MAX_PER_AGENT	8
#define TERMINAL_MAX		32

/*
 * Answer the handshake: upgraded, or refused with a JSON error.  session
 * is the login's id (console-auth.h): the terminal ends with it; label
 * names it in the audit log (audit-log.h), where the terminal is an admin
 * action recorded before its session starts.
 */
void	 console_terminal_serve(struct http_request *, const char *agent,
	    const char *session, const char *label);
/* Close the terminals of that login (logout), or of every one. */
void	 console_terminal_end_session(const char *id);
void	 console_terminal_end_all(void);

#endif
