/*
 * Who may see the web console: one-time login links (made by `qmsctl
 * console`) and the sessions they open, kept in fixed tables.  The time is
 * passed in, so that expiry is tested without waiting; secrets are random
 * from getrandom(2), compared in time that says nothing of which matched,
 * and never logged.  A session is known by the SHA-256 of its id only
 * (the id itself is the browser's cookie), so that its record can be kept
 * on disk (console-session-store.h); its times are the wall clock's, which
 * outlives qmsd, where a link's may be the monotonic clock's.
 */
#ifndef QMSD_CONSOLE_AUTH_H
#define QMSD_CONSOLE_AUTH_H

#include <stddef.h>
#include <stdint.h>

#define CONSOLE_SECRET_LEN	64		/* hex digits, 256 bits */
#define CONSOLE_LINK_MS		(60 * 1000)	/* a link's life */
#define CONSOLE_IDLE_MS		(12 * 3600 * 1000ULL)	/* unused session */
#define CONSOLE_MAX_AGE_MS	(24 * 3600 * 1000ULL)	/* any session */
#define CONSOLE_MAX_LINKS	8
#define CONSOLE_MAX_SESSIONS	16

enum console_link {
	CONSOLE_LINK_OK,
	CONSOLE_LINK_EXPIRED,
	CONSOLE_LINK_UNKNOWN,		/* never made, or used already */
};

/* A fresh random secret: CONSOLE_SECRET_LEN lowercase hex digits. */
void	 console_auth_random(char out[CONSOLE_SECRET_LEN + 1]);

/* A pending link; when the table is full, the oldest gives way. */
void	 console_link_add(const char *secret, uint64_t now);
/* Spend a link: OK once, within CONSOLE_LINK_MS of its making. */
enum console_link console_link_use(const char *secret, uint64_t now);

/* A session as kept, its id never: see console_session_hash(). */
struct console_session {
	char		hash[CONSOLE_SECRET_LEN + 1];	/* lowercase hex */
	uint64_t	made;				/* wall clock, ms */
	uint64_t	used;				/* its last use */
};

/* The SHA-256 of a session's id, in lowercase hex. */
void	 console_session_hash(const char *id, char out[CONSOLE_SECRET_LEN + 1]);
/*
 * The page's key of a session: HMAC-SHA-256 of its id under secret (qmsd
 * uses the host token), in lowercase hex.  The cookie alone is not enough:
 * cookies are not port-scoped, so a page served on another port of the
 * same host is sent the cookie; the key stays in the page's own storage
 * (scoped to the console's origin, port included), is given to it in the
 * login's redirect as a URL fragment (which no server is sent), and goes
 * with every API request.
 */
void	 console_session_key(const char *id, const char *secret,
	    char out[CONSOLE_SECRET_LEN + 1]);
/* A session; when the table is full, the one idle longest gives way. */
void	 console_session_add(const char *id, uint64_t now);
/* Is id a live session?  A yes counts as use (the idle time restarts). */
int	 console_session_check(const char *id, uint64_t now);
/* End a session: 1 if there was one. */
int	 console_session_end(const char *id);
/* Forget the sessions expired at now: how many. */
size_t	 console_session_prune(uint64_t now);
/* The sessions held (live or not yet pruned): how many are in out. */
size_t	 console_session_list(struct console_session out[CONSOLE_MAX_SESSIONS]);
/* Hold these sessions (at most CONSOLE_MAX_SESSIONS) and no others. */
void	 console_session_restore(const struct console_session *, size_t);
/* End every session. */
void	 console_session_clear(void);

/* How many links and sessions are live at now. */
size_t	 console_links(uint64_t now);
size_t	 console_sessions(uint64_t now);
void	 console_auth_clear(void);

/*
 * The value of cookie name in a Cookie header ("a=1; b=2"), or NULL; its
 * length in *len.  The first of that name wins, as browsers send the most
 * specific first.
 */
const char *console_cookie(const char *header, const char *name, size_t *len);

#endif
