/*
 * The console's data API: see console-api.h.  What it shows is built by
 * the domain files (agent_ps(), qmsd_status_json(), the logs' and audits'
 * tails); what it does goes through the same domain calls as qmsctl's
 * methods (methods.c), so the checks and the errors are the same.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include <cjson/cJSON.h>

#include "agent.h"
#include "audit-log.h"
#include "component.h"
#include "console-api.h"
#include "console-stream.h"
#include "console.h"
#include "egress-audit.h"
#include "http.h"
#include "log.h"
#include "logring.h"
#include "manager.h"
#include "policy-store.h"
#include "qmsd.h"
#include "util.h"

/* An action answered later: up, down, restart. */
struct action {
	struct http_request	*req;
	char			 agent[128];
	int			 restart;	/* the down of a restart */
	struct event		*next;		/* then the up */
	TAILQ_ENTRY(action)	 entry;
};

static TAILQ_HEAD(, action) actions = TAILQ_HEAD_INITIALIZER(actions);

/* o (taken) as the answer, with the console's headers and extra, if any. */
static void
answer_json(struct http_request *r, int status, const char *extra, cJSON *o)
{
	const char	*h[8];
	char		*s = cJSON_PrintUnformatted(o);
	size_t		 n = 0;

	while (console_api_headers[n] != NULL && n < nitems(h) - 2) {
		h[n] = console_api_headers[n];
		n++;
	}
	h[n++] = extra;
	h[n] = NULL;
	http_respond(r, status, h, "application/json; charset=utf-8", s,
	    strlen(s));
	cJSON_free(s);
	cJSON_Delete(o);
}

void
console_api_json(struct http_request *r, int status, cJSON *o)
{
	answer_json(r, status, NULL, o);
}

static void
verror(struct http_request *r, int status, const char *extra,
    const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));

static void
verror(struct http_request *r, int status, const char *extra,
    const char *fmt, va_list ap)
{
	char	 msg[1024];
	cJSON	*o;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "error", msg);
	answer_json(r, status, extra, o);
}

void
console_api_error(struct http_request *r, int status, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	verror(r, status, NULL, fmt, ap);
	va_end(ap);
}

void
console_api_refuse(struct http_request *r, int status, const char *extra,
    const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	verror(r, status, extra, fmt, ap);
	va_end(ap);
}

static void
add_line(const struct logline *l, void *arg)
{
	cJSON_AddItemToArray(arg, logring_line_json(l));
}

static void
add_record(const struct egress_record *rec, void *arg)
{
	cJSON_AddItemToArray(arg, egress_audit_record_json(rec));
}

/* The last lines of a component's log, or none. */
static cJSON *
tail_of(const char *component)
{
	struct component	*c;
	struct logring		*ring;
	cJSON			*a = cJSON_CreateArray();

	if ((c = component_find(component)) != NULL &&
	    (ring = component_log(c)) != NULL)
		logring_tail(ring, CONSOLE_TAIL, add_line, a);
	return (a);
}

cJSON *
console_api_snapshot(int tails)
{
	cJSON	*o, *servers, *e;

	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "agents", agent_ps());
	servers = qmsd_status_json();
	if (tails) {
		cJSON_AddItemToObject(servers, "log", tail_of("qms-mcp"));
		cJSON_AddItemToObject(servers, "audit", tail_of("git"));
		e = cJSON_AddArrayToObject(servers, "egress");
		egress_audit_tail(NULL, CONSOLE_TAIL, add_record, e);
	}
	cJSON_AddItemToObject(o, "servers", servers);
	return (o);
}

void
console_api_state(struct http_request *r)
{
	console_api_json(r, 200, console_api_snapshot(1));
}

/* ---- actions ---- */

static void
action_free(struct action *a)
{
	TAILQ_REMOVE(&actions, a, entry);
	if (a->next != NULL)
		event_free(a->next);
	free(a);
}

/* The browser left (or the listener stopped): nothing waits for it. */
static void
action_gone(void *arg)
{
	struct action	*a = arg;

	agent_unwait(a);
	log_debug("console: %s's %s: the browser left", a->agent,
	    a->restart ? "restart" : "action");
	action_free(a);
}

static void
action_done(void *arg, const char *error, const char *id)
{
	struct action	*a = arg;
	cJSON		*o;

	if (error != NULL)
		console_api_error(a->req, 409, "%s", error);
	else {
		o = cJSON_CreateObject();
		cJSON_AddBoolToObject(o, "ok", 1);
		cJSON_AddStringToObject(o, "container", id != NULL ? id : "");
		console_api_json(a->req, 200, o);
	}
	action_free(a);
}

static void
bring_up(struct action *a)
{
	char	err[512];

	manager_person(a->agent, 1);
	if (agent_bring_up(a->agent, AGENT_UP_REFUSE, action_done, a, err,
	    sizeof(err)) == -1) {
		console_api_error(a->req, 409, "%s", err);
		action_free(a);
	}
}

/* A restart's up, on the loop's next turn: not inside the down's answer. */
static void
restart_up(evutil_socket_t fd, short ev, void *arg)
{
	bring_up(arg);
}

static void
restart_down_done(void *arg, const char *error, const char *id)
{
	struct action	*a = arg;
	struct timeval	 tv = { 0, 0 };

	if (error != NULL) {
		action_done(a, error, id);
		return;
	}
	a->restart = 0;
	a->next = evtimer_new(qmsd.base, restart_up, a);
	evtimer_add(a->next, &tv);
}

static void
take_down(struct action *a, int restart)
{
	char	err[512];

	a->restart = restart;
	manager_person(a->agent, 0);
	if (agent_take_down(a->agent, restart ? restart_down_done :
	    action_done, a, err, sizeof(err)) == -1) {
		console_api_error(a->req, 409, "%s", err);
		action_free(a);
	}
}

/* The body as a JSON object, or NULL after an error. */
static cJSON *
body_json(struct http_request *r)
{
	const char	*body, *ct;
	size_t		 len;
	cJSON		*o;

	ct = http_header(r, "Content-Type");
	if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0 ||
	    (ct[16] != '\0' && ct[16] != ';')) {
		console_api_error(r, 415, "the body must be application/json");
		return (NULL);
	}
	body = http_body(r, &len);
	if (body == NULL || len == 0)
		body = "{}", len = 2;
	o = cJSON_ParseWithLength(body, len);
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		console_api_error(r, 400, "the body must be a JSON object");
		return (NULL);
	}
	return (o);
}

static void
do_notify(struct http_request *r, const char *agent, const cJSON *body)
{
	const cJSON	*text = cJSON_GetObjectItemCaseSensitive(body, "text");
	char		 err[512];
	cJSON		*o;

	if (!cJSON_IsString(text)) {
		console_api_error(r, 400, "notify needs text (a string)");
		return;
	}
	/* Queued, as `qmsctl notify --no-wait`: its delivery is an event. */
	if (manager_notify(agent, text->valuestring, NULL, NULL, err,
	    sizeof(err)) == -1) {
		console_api_error(r, 409, "%s", err);
		return;
	}
	console_stream_changed();
	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", 1);
	cJSON_AddBoolToObject(o, "queued", 1);
	console_api_json(r, 200, o);
}

static void
do_policy(struct http_request *r, const char *agent, const cJSON *body)
{
	const cJSON	*start, *stop, *reset;
	char		 err[512];
	cJSON		*o;
	int		 rc;

	start = cJSON_GetObjectItemCaseSensitive(body, "start");
	stop = cJSON_GetObjectItemCaseSensitive(body, "stop");
	reset = cJSON_GetObjectItemCaseSensitive(body, "reset");
	if ((start != NULL && !cJSON_IsString(start)) ||
	    (stop != NULL && !cJSON_IsString(stop)) ||
	    (reset != NULL && !cJSON_IsBool(reset))) {
		console_api_error(r, 400, "start and stop must be strings, "
		    "reset true or false");
		return;
	}
	if ((rc = policy_store_change(agent, start != NULL ?
	    start->valuestring : NULL, stop != NULL ? stop->valuestring : NULL,
	    cJSON_IsTrue(reset), err, sizeof(err))) != 0) {
		console_api_error(r, rc == -1 ? 400 : 500, "%s", err);
		return;
	}
	console_stream_changed();
	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", 1);
	cJSON_AddItemToObject(o, "policy", policy_store_json(agent));
	console_api_json(r, 200, o);
}

/* An action waiting for its record to be on disk. */
struct pending {
	struct http_request	*req;
	char			 agent[128];
	char			 action[16];
	cJSON			*body;
	struct audit_wait	*wait;
	TAILQ_ENTRY(pending)	 entry;
};
static TAILQ_HEAD(, pending) pendings = TAILQ_HEAD_INITIALIZER(pendings);

static void
pending_free(struct pending *p)
{
	TAILQ_REMOVE(&pendings, p, entry);
	audit_forget(p->wait);
	cJSON_Delete(p->body);
	free(p);
}

/* The browser left before the record was on disk: nothing is done. */
static void
pending_gone(void *arg)
{
	pending_free(arg);
}

static void
perform(struct http_request *r, const char *agent, const char *action,
    const cJSON *body)
{
	struct action	*a;

	log_info("console: %s %s", action, agent);
	if (strcmp(action, "notify") == 0)
		do_notify(r, agent, body);
	else if (strcmp(action, "policy") == 0)
		do_policy(r, agent, body);
	else {
		a = xcalloc(1, sizeof(*a));
		a->req = r;
		snprintf(a->agent, sizeof(a->agent), "%s", agent);
		TAILQ_INSERT_TAIL(&actions, a, entry);
		/* Before the action, which may answer (and free a) at once. */
		http_on_gone(r, action_gone, a);
		if (strcmp(action, "up") == 0)
			bring_up(a);
		else
			take_down(a, strcmp(action, "restart") == 0);
	}
}

static void
pending_recorded(void *arg, const char *error)
{
	struct pending	*p = arg;

	p->wait = NULL;
	http_on_gone(p->req, NULL, NULL);
	if (error != NULL)
		console_api_error(p->req, 503, "qmsd could not record this "
		    "action: %s", error);
	else
		perform(p->req, p->agent, p->action, p->body);
	pending_free(p);
}

void
console_api_action(struct http_request *r, const char *agent,
    const char *action, const char *session)
{
	struct pending	*p;
	cJSON		*body, *o;

	if (strcmp(action, "up") != 0 && strcmp(action, "down") != 0 &&
	    strcmp(action, "restart") != 0 && strcmp(action, "notify") != 0 &&
	    strcmp(action, "policy") != 0) {
		console_api_error(r, 404, "no action \"%s\": up, down, restart, "
		    "notify or policy", action);
		return;
	}
	if ((body = body_json(r)) == NULL)
		return;
	if (!agent_known(agent)) {
		console_api_error(r, 404, "no agent \"%s\"", agent);
		cJSON_Delete(body);
		return;
	}
	p = xcalloc(1, sizeof(*p));
	p->req = r;
	snprintf(p->agent, sizeof(p->agent), "%s", agent);
	snprintf(p->action, sizeof(p->action), "%s", action);
	p->body = body;
	TAILQ_INSERT_TAIL(&pendings, p, entry);
	http_on_gone(r, pending_gone, p);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "via", "console");
	cJSON_AddStringToObject(o, "session", session);
	cJSON_AddStringToObject(o, "method", action);
	cJSON_AddStringToObject(o, "agent", agent);
	p->wait = audit_record("admin", o, pending_recorded, p);
}

void
console_api_shutdown(void)
{
	struct action	*a;
	struct pending	*p;

	while ((a = TAILQ_FIRST(&actions)) != NULL) {
		agent_unwait(a);
		console_api_error(a->req, 503, "qmsd is stopping");
		action_free(a);
	}
	while ((p = TAILQ_FIRST(&pendings)) != NULL) {
		http_on_gone(p->req, NULL, NULL);
		console_api_error(p->req, 503, "qmsd is stopping");
		pending_free(p);
	}
}
