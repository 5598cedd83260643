/*
 * The web console's sessions kept across restarts of qmsd, in
 * STATE/console-sessions: root's file (0600, in root's state directory),
 * replaced whole (a new file synced, then renamed over) when a session
 * begins or ends, and at most once a minute for the times of last use.
 * It holds each session's hash (console-auth.h), never its id, with its
 * times, so that the idle limit and the cap hold across restarts.  It is
 * read at start-up only; one that is malformed, too long, not a regular
 * file, or another's or readable by others is refused with a log line,
 * and its sessions are logged out: nothing else is lost.
 *
 * The text is a first line "qmsd-console-sessions 1", then one line per
 * session: its hash (64 lowercase hex digits), its making and its last
 * use (decimal milliseconds of the wall clock), one space apart.
 */
#ifndef QMSD_CONSOLE_SESSION_STORE_H
#define QMSD_CONSOLE_SESSION_STORE_H

#include <stddef.h>

#include "console-auth.h"

#define CONSOLE_SESSIONS_FILE		"console-sessions"
#define CONSOLE_SESSIONS_FILE_MAX	4096
#define CONSOLE_SESSIONS_SAVE_MS	(60 * 1000)	/* last uses, at most */

struct event_base;

/*
 * Parse the file's text (len bytes), strictly: at most
 * CONSOLE_MAX_SESSIONS records in out, their number in *n; -1 with why.
 */
int	 console_sessions_parse(const char *text, size_t len,
	    struct console_session out[CONSOLE_MAX_SESSIONS], size_t *n,
	    char *err, size_t);
/* The file's text for these records (a new string). */
char	*console_sessions_format(const struct console_session *, size_t);

/* Load STATE's file into console-auth's table; save on a timer. */
void	 console_store_init(struct event_base *, const char *state_dir);
/* Write the file now if the sessions changed since the last write. */
void	 console_store_save(void);
/* A last save, then nothing more. */
void	 console_store_shutdown(void);

#endif
