/*
 * The console's live updates: GET /console/api/events, a Server-Sent
 * Events stream.  Events: "state" (the snapshot of console-api.h, sent
 * at the start and, coalesced, after agents or servers change), "event"
 * (an agent's event from events.h: activity, inbox, delivery, policy),
 * "audit" (a git tool audit line), "log" (a QMS MCP server log line),
 * "egress" (an egress decision), "resync" (events were skipped: fetch
 * the state again).  A stream ends with its session (checked at each
 * heartbeat, and at once on logout).  Bounded: CONSOLE_STREAMS at once, and a reader that
 * falls behind is skipped, then dropped.
 */
#ifndef QMSD_CONSOLE_STREAM_H
#define QMSD_CONSOLE_STREAM_H

struct http_request;

#define CONSOLE_STREAMS		16
#define CONSOLE_LAG_BYTES	(256 * 1024)	/* unread: skip events */
#define CONSOLE_LAG_MS		(60 * 1000)	/* skipping this long: drop */
#define CONSOLE_HEARTBEAT_MS	(15 * 1000)

/* A stream for the session id (its streams end with it). */
void	 console_stream_serve(struct http_request *, const char *id);
/* The session id ended (logout): its streams end now. */
void	 console_stream_end_session(const char *id);
/* Every session ended (qmsctl console --logout-all): every stream ends. */
void	 console_stream_end_all(void);
/*
 * Something the snapshot shows changed that no source tells of (a policy
 * set from the console): a "state" soon, one for all changes till then.
 */
void	 console_stream_changed(void);
/* How many streams are open. */
int	 console_streams(void);
/* Every stream ends (qmsd stops). */
void	 console_stream_shutdown(void);

#endif
