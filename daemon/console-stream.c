/*
 * The console's live updates: see console-stream.h.  The sources are
 * followed the way `qmsctl events -f`, `logs -f` and `egress -f` follow
 * them (events.h, logring.h, egress-audit.h), without the control
 * protocol, and only while a stream is open.  Each event is made once and
 * written to every stream; a stream whose reader lags past
 * CONSOLE_LAG_BYTES is skipped until it has caught up (it is then sent a
 * "resync"), and dropped after CONSOLE_LAG_MS of that: memory stays
 * bounded by streams times lag, whatever a browser does.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include <cjson/cJSON.h>

#include "component.h"
#include "console-auth.h"
#include "console-api.h"
#include "console-stream.h"
#include "console.h"
#include "egress-audit.h"
#include "events.h"
#include "http.h"
#include "log.h"
#include "logring.h"
#include "qmsd.h"
#include "util.h"

#define STATE_DELAY_MS	250	/* changes within this go as one "state" */

struct stream {
	struct http_stream	*st;
	char			 session[CONSOLE_SECRET_LEN + 1];
	int			 lagging;
	uint64_t		 lag_since;
	TAILQ_ENTRY(stream)	 entry;
};

static TAILQ_HEAD(, stream) streams = TAILQ_HEAD_INITIALIZER(streams);
static int		 nstreams;
static void		*events_handle, *egress_handle;
static void		*audit_handle, *log_handle;
static struct logring	*audit_ring, *log_ring;
static struct event	*heartbeat_ev, *state_ev;

static void	unsubscribe(void);

static void
put(struct stream *s, const char *buf, size_t len)
{
	if (s->lagging)
		return;
	if (http_stream_pending(s->st) > CONSOLE_LAG_BYTES) {
		log_info("console: a browser reads too slowly; its events are "
		    "skipped");
		s->lagging = 1;
		s->lag_since = now_ms();
		return;
	}
	http_stream_write(s->st, buf, len);
}

/* One event, made once, to every stream (o is taken). */
static void
broadcast(const char *name, cJSON *o)
{
	struct stream	*s;
	char		*json, *buf;
	int		 n;

	json = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	/* cJSON escapes newlines: the data is one line. */
	n = xasprintf(&buf, "event: %s\ndata: %s\n\n", name, json);
	cJSON_free(json);
	TAILQ_FOREACH(s, &streams, entry)
		put(s, buf, (size_t)n);
	free(buf);
}

static void
on_state_timer(evutil_socket_t fd, short ev, void *arg)
{
	broadcast("state", console_api_snapshot(0));
}

void
console_stream_changed(void)
{
	struct timeval	tv;

	if (state_ev == NULL || evtimer_pending(state_ev, NULL))
		return;
	timeval_ms(&tv, STATE_DELAY_MS);
	evtimer_add(state_ev, &tv);
}

static void
on_event(const cJSON *ev, void *arg)
{
	broadcast("event", cJSON_Duplicate(ev, 1));
	console_stream_changed();
}

static void
on_audit(const struct logline *l, void *arg)
{
	broadcast("audit", logring_line_json(l));
}

static void
on_log(const struct logline *l, void *arg)
{
	broadcast("log", logring_line_json(l));
}

static void
on_egress(const struct egress_record *rec, void *arg)
{
	broadcast("egress", egress_audit_record_json(rec));
	console_stream_changed();
}

static void
stream_free(struct stream *s)
{
	TAILQ_REMOVE(&streams, s, entry);
	nstreams--;
	explicit_bzero(s->session, sizeof(s->session));
	free(s);
	if (nstreams == 0)
		unsubscribe();
}

/* Heartbeats, and the lagging streams' catching up or going. */
static void
on_heartbeat(evutil_socket_t fd, short ev, void *arg)
{
	static const char	 hb[] = ": heartbeat\n\n";
	static const char	 resync[] = "event: resync\ndata: {}\n\n";
	struct stream		*s, *next;

	/* And the state again: what no source tells of (a policy set by
	 * qmsctl) is at most this late. */
	console_stream_changed();
	for (s = TAILQ_FIRST(&streams); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		if (!console_session_check(s->session, wall_ms())) {
			log_info("console: an event stream ended with its "
			    "session");
			http_stream_end(s->st, 0);
			stream_free(s);
			continue;
		}
		if (!s->lagging) {
			put(s, hb, sizeof(hb) - 1);
			continue;
		}
		if (http_stream_pending(s->st) < CONSOLE_LAG_BYTES / 4) {
			s->lagging = 0;
			put(s, resync, sizeof(resync) - 1);
		} else if (now_ms() - s->lag_since > CONSOLE_LAG_MS) {
			log_info("console: a browser that read nothing for "
			    "%d s was dropped", CONSOLE_LAG_MS / 1000);
			http_stream_end(s->st, 1);
			stream_free(s);
		}
	}
}

static struct logring *
ring_of(const char *name)
{
	struct component	*c = component_find(name);

	return (c != NULL ? component_log(c) : NULL);
}

static void
subscribe(void)
{
	struct timeval	tv;

	events_handle = events_observe(NULL, on_event, NULL);
	egress_handle = egress_audit_follow_add(NULL, on_egress, NULL);
	if ((audit_ring = ring_of("git")) != NULL)
		audit_handle = logring_follow_add(audit_ring, on_audit, NULL);
	if ((log_ring = ring_of("qms-mcp")) != NULL)
		log_handle = logring_follow_add(log_ring, on_log, NULL);
	component_set_watch(console_stream_changed);
	state_ev = evtimer_new(qmsd.base, on_state_timer, NULL);
	heartbeat_ev = event_new(qmsd.base, -1, EV_PERSIST, on_heartbeat,
	    NULL);
	timeval_ms(&tv, CONSOLE_HEARTBEAT_MS);
	event_add(heartbeat_ev, &tv);
}

static void
unsubscribe(void)
{
	component_set_watch(NULL);
	if (events_handle != NULL)
		events_unobserve(events_handle);
	if (egress_handle != NULL)
		egress_audit_follow_remove(egress_handle);
	if (audit_handle != NULL)
		logring_follow_remove(audit_ring, audit_handle);
	if (log_handle != NULL)
		logring_follow_remove(log_ring, log_handle);
	events_handle = egress_handle = audit_handle = log_handle = NULL;
	audit_ring = log_ring = NULL;
	if (state_ev != NULL)
		event_free(state_ev);
	if (heartbeat_ev != NULL)
		event_free(heartbeat_ev);
	state_ev = heartbeat_ev = NULL;
}

/* The browser left: the stream must not be used again. */
static void
on_abort(void *arg)
{
	log_debug("console: an event stream ended (the browser left)");
	stream_free(arg);
}

void
console_stream_serve(struct http_request *r, const char *id)
{
	static const char	 hello[] = "retry: 3000\n\n";
	struct stream		*s;
	cJSON			*o;
	char			*json, *buf;
	int			 n;

	if (nstreams >= CONSOLE_STREAMS) {
		console_api_error(r, 503, "too many console event streams "
		    "(%d) are open", CONSOLE_STREAMS);
		return;
	}
	s = xcalloc(1, sizeof(*s));
	snprintf(s->session, sizeof(s->session), "%s", id);
	if (nstreams++ == 0)
		subscribe();
	TAILQ_INSERT_TAIL(&streams, s, entry);
	s->st = http_respond_stream(r, 200, console_api_headers,
	    "text/event-stream; charset=utf-8", on_abort, NULL, s);
	http_stream_write(s->st, hello, sizeof(hello) - 1);
	/* The whole state first: a browser that reconnects is current. */
	o = console_api_snapshot(1);
	json = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	n = xasprintf(&buf, "event: state\ndata: %s\n\n", json);
	cJSON_free(json);
	http_stream_write(s->st, buf, (size_t)n);
	free(buf);
}

void
console_stream_end_session(const char *id)
{
	struct stream	*s, *next;

	for (s = TAILQ_FIRST(&streams); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		if (strlen(id) == CONSOLE_SECRET_LEN &&
		    equal_secret(s->session, id, CONSOLE_SECRET_LEN)) {
			http_stream_end(s->st, 0);
			stream_free(s);
		}
	}
}

int
console_streams(void)
{
	return (nstreams);
}

void
console_stream_end_all(void)
{
	struct stream	*s;

	while ((s = TAILQ_FIRST(&streams)) != NULL) {
		http_stream_end(s->st, 0);
		stream_free(s);
	}
}

void
console_stream_shutdown(void)
{
	console_stream_end_all();
}
