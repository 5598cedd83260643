#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "agent.h"
#include "argv.h"
#include "component.h"
#include "config.h"
#include "console.h"
#include "console-auth.h"
#include "control.h"
#include "audit-log.h"
#include "egress-audit.h"
#include "git-tool.h"
#include "logring.h"
#include "events.h"
#include "manager.h"
#include "methods.h"
#include "policy-store.h"
#include "proto.h"
#include "qmsd.h"
#include "session.h"
#include "tmux-link.h"
#include "util.h"

static void	method_version(struct ctl_req *, const cJSON *);
static void	method_status(struct ctl_req *, const cJSON *);
static void	method_reload(struct ctl_req *, const cJSON *);
static void	method_start(struct ctl_req *, const cJSON *);
static void	method_stop(struct ctl_req *, const cJSON *);
static void	method_restart(struct ctl_req *, const cJSON *);
static void	method_logs(struct ctl_req *, const cJSON *);
static void	method_egress(struct ctl_req *, const cJSON *);
static void	method_events(struct ctl_req *, const cJSON *);
static void	method_git_check(struct ctl_req *, const cJSON *);
static void	method_up(struct ctl_req *, const cJSON *);
static void	method_down(struct ctl_req *, const cJSON *);
static void	method_ps(struct ctl_req *, const cJSON *);
static void	method_session(struct ctl_req *, const cJSON *);
static void	method_exec_resize(struct ctl_req *, const cJSON *);
static void	method_exec_status(struct ctl_req *, const cJSON *);
static void	method_mcp_config(struct ctl_req *, const cJSON *);
static void	method_policy(struct ctl_req *, const cJSON *);
static void	method_policy_set(struct ctl_req *, const cJSON *);
static void	method_tmux_link(struct ctl_req *, const cJSON *);
static void	method_notify(struct ctl_req *, const cJSON *);
static void	method_console(struct ctl_req *, const cJSON *);
static void	method_audit(struct ctl_req *, const cJSON *);
static void	reply_tmux_link(void *, const char *);
static void	tmux_link_gone(void *);

/* session -d: its asker left; the start goes on. */
static void
detach_gone(void *arg)
{
	manager_start_cancel(arg);
	ctl_error(arg, PROTO_FAILED, "the client went away");
}

/* Read-only (1): anyone who can connect; else root, run-as, admin group. */
const struct ctl_method methods[] = {
	{ "version", 1, method_version, 0 },
	{ "status", 1, method_status, 0 },
	{ "logs", 1, method_logs, 0 },
	{ "egress", 1, method_egress, 0 },
	{ "events", 1, method_events, 0 },
	{ "git-check", 1, method_git_check, 0 },
	{ "ps", 1, method_ps, 0 },
	{ "policy", 1, method_policy, 0 },
	{ "policy-set", 0, method_policy_set, 0 },
	{ "up", 0, method_up, 0 },
	{ "down", 0, method_down, 0 },
	{ "session", 0, method_session, 0 },
	{ "exec-resize", 0, method_exec_resize, 1 },
	{ "exec-status", 0, method_exec_status, 1 },
	{ "mcp-config", 0, method_mcp_config, 0 },
	{ "reload", 0, method_reload, 0 },
	{ "start", 0, method_start, 0 },
	{ "stop", 0, method_stop, 0 },
	{ "restart", 0, method_restart, 0 },
	{ "tmux-link", 0, method_tmux_link, 0 },
	{ "notify", 0, method_notify, 0 },
	{ "console", 0, method_console, 0 },
	{ "audit", 0, method_audit, 1 },
};
const size_t nmethods = nitems(methods);

static void
method_version(struct ctl_req *r, const cJSON *params)
{
	cJSON	*o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "version", QMSD_VERSION);
	cJSON_AddNumberToObject(o, "protocol", PROTO_VERSION);
	ctl_reply(r, o);
}

static void
method_status(struct ctl_req *r, const cJSON *params)
{
	ctl_reply(r, qmsd_status_json());
}

static void
method_reload(struct ctl_req *r, const cJSON *params)
{
	char	 err[1024];
	cJSON	*o;

	if (qmsd_reload(err, sizeof(err)) == -1) {
		ctl_error(r, PROTO_FAILED, "%s", err);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "reloaded", 1);
	if (qmsd.conf->file != NULL)
		cJSON_AddStringToObject(o, "config", qmsd.conf->file);
	else
		cJSON_AddNullToObject(o, "config");
	ctl_reply(r, o);
}

/* params.component names a registered component, or an error is sent. */
static struct component *
param_component(struct ctl_req *r, const cJSON *params)
{
	const cJSON		*name;
	struct component	*c;
	char			 names[512];

	name = cJSON_GetObjectItemCaseSensitive(params, "component");
	if (!cJSON_IsString(name)) {
		ctl_error(r, PROTO_INVALID_PARAMS, "%s needs params.component",
		    ctl_req_method(r));
		return (NULL);
	}
	if ((c = component_find(name->valuestring)) == NULL) {
		component_names(names, sizeof(names));
		ctl_error(r, PROTO_INVALID_PARAMS, "unknown component \"%s\"; "
		    "components are: %s", name->valuestring, names);
	}
	return (c);
}

static void
component_method(struct ctl_req *r, const cJSON *params, const char *action)
{
	struct component	*c;
	char			 err[512];
	cJSON			*o;

	if ((c = param_component(r, params)) == NULL)
		return;
	if (component_action(c, action, err, sizeof(err)) == -1) {
		ctl_error(r, PROTO_FAILED, "%s", err);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "component", component_name(c));
	cJSON_AddStringToObject(o, "state", component_state(c));
	ctl_reply(r, o);
}

static void
method_start(struct ctl_req *r, const cJSON *params)
{
	component_method(r, params, "start");
}

static void
method_stop(struct ctl_req *r, const cJSON *params)
{
	component_method(r, params, "stop");
}

static void
method_restart(struct ctl_req *r, const cJSON *params)
{
	component_method(r, params, "restart");
}

/* params.lines, how many of the last to send (50 if absent); -1 if bad. */
static int
param_lines(struct ctl_req *r, const cJSON *params, size_t *want)
{
	const cJSON	*n = cJSON_GetObjectItemCaseSensitive(params, "lines");

	*want = 50;
	if (n == NULL)
		return (0);
	if (!cJSON_IsNumber(n) || n->valuedouble < 0 || n->valuedouble > 1e6) {
		ctl_error(r, PROTO_INVALID_PARAMS, "params.lines must be a "
		    "number from 0 to 1000000");
		return (-1);
	}
	*want = (size_t)n->valuedouble;
	return (0);
}

static void
collect_line(const struct logline *l, void *arg)
{
	cJSON_AddItemToArray(arg, logring_line_json(l));
}

static void
method_logs(struct ctl_req *r, const cJSON *params)
{
	struct component	*c;
	struct logring		*ring;
	const cJSON		*follow;
	cJSON			*o, *lines;
	size_t			 want;

	if ((c = param_component(r, params)) == NULL)
		return;
	if ((ring = component_log(c)) == NULL) {
		ctl_error(r, PROTO_FAILED, "%s keeps no log",
		    component_name(c));
		return;
	}
	if (param_lines(r, params, &want) == -1)
		return;
	follow = cJSON_GetObjectItemCaseSensitive(params, "follow");
	o = cJSON_CreateObject();
	lines = cJSON_AddArrayToObject(o, "lines");
	logring_tail(ring, want, collect_line, lines);
	cJSON_AddBoolToObject(o, "follow", cJSON_IsTrue(follow));
	ctl_reply(r, o);
	if (cJSON_IsTrue(follow))
		ctl_follow_log(r, ring, component_name(c));
}

/* An `egress -f`: the records of one agent (or all) as they come. */
struct egress_follow {
	struct ctl_sub	*sub;
	void		*handle;
};

static void
egress_follow_record(const struct egress_record *rec, void *arg)
{
	struct egress_follow	*f = arg;

	ctl_sub_notify(f->sub, "egress", egress_audit_record_json(rec));
}

static void
egress_follow_cancel(void *arg)
{
	struct egress_follow	*f = arg;

	egress_audit_follow_remove(f->handle);
	free(f);
}

static void
collect_record(const struct egress_record *rec, void *arg)
{
	cJSON_AddItemToArray(arg, egress_audit_record_json(rec));
}

static void
method_egress(struct ctl_req *r, const cJSON *params)
{
	const cJSON		*a, *follow;
	const char		*agent = NULL;
	struct egress_follow	*f;
	cJSON			*o, *records;
	size_t			 want;

	a = cJSON_GetObjectItemCaseSensitive(params, "agent");
	if (a != NULL && !cJSON_IsNull(a)) {
		if (!cJSON_IsString(a)) {
			ctl_error(r, PROTO_INVALID_PARAMS, "params.agent must "
			    "be a string");
			return;
		}
		if (!agent_known(a->valuestring)) {
			ctl_error(r, PROTO_INVALID_PARAMS, "no agent \"%s\"",
			    a->valuestring);
			return;
		}
		agent = a->valuestring;
	}
	if (param_lines(r, params, &want) == -1)
		return;
	follow = cJSON_GetObjectItemCaseSensitive(params, "follow");
	o = cJSON_CreateObject();
	records = cJSON_AddArrayToObject(o, "records");
	egress_audit_tail(agent, want, collect_record, records);
	cJSON_AddBoolToObject(o, "follow", cJSON_IsTrue(follow));
	if (!cJSON_IsTrue(follow)) {
		ctl_reply(r, o);
		return;
	}
	/* Subscribed before the answer goes, which may end the request. */
	f = xcalloc(1, sizeof(*f));
	if ((f->sub = ctl_subscribe(r, egress_follow_cancel, f)) == NULL) {
		free(f);
		ctl_reply(r, o);
		return;
	}
	f->handle = egress_audit_follow_add(agent, egress_follow_record, f);
	ctl_reply(r, o);
}

/*
 * audit: the log itself, handed over as a read-only descriptor (the
 * reader reads and verifies it, not the loop), with the head on disk;
 * with follow, each record after it as it reaches the disk.
 */
struct audit_follow {
	struct ctl_sub	*sub;
	void		*handle;
};

static void
audit_follow_line(const char *line, size_t len, void *arg)
{
	struct audit_follow	*f = arg;
	cJSON			*o = cJSON_CreateObject();
	char			*copy = xcalloc(1, len + 1);

	memcpy(copy, line, len);
	cJSON_AddStringToObject(o, "line", copy);
	free(copy);
	ctl_sub_notify(f->sub, "audit", o);
}

static void
audit_follow_cancel(void *arg)
{
	struct audit_follow	*f = arg;

	audit_follow_remove(f->handle);
	free(f);
}

static void
method_audit(struct ctl_req *r, const cJSON *params)
{
	const cJSON		*follow;
	struct audit_follow	*f;
	char			 err[512], hash[AUDIT_HASH_HEX];
	uint64_t		 seq;
	cJSON			*o;
	int			 fd;

	follow = cJSON_GetObjectItemCaseSensitive(params, "follow");
	if (follow != NULL && !cJSON_IsBool(follow)) {
		ctl_error(r, PROTO_INVALID_PARAMS, "params.follow must be a "
		    "boolean");
		return;
	}
	if ((fd = audit_open_read(err, sizeof(err))) == -1) {
		ctl_error(r, PROTO_FAILED, "%s", err);
		return;
	}
	audit_head(&seq, hash);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "path", audit_path());
	cJSON_AddNumberToObject(o, "seq", (double)seq);
	cJSON_AddStringToObject(o, "hash", hash);
	if (cJSON_IsTrue(follow)) {
		/* Subscribed before the answer: nothing falls between. */
		f = xcalloc(1, sizeof(*f));
		if ((f->sub = ctl_subscribe(r, audit_follow_cancel, f)) ==
		    NULL)
			free(f);
		else
			f->handle = audit_follow_add(audit_follow_line, f);
	}
	ctl_reply_fd(r, o, fd);
}

/* An `events -f`: the agents' events (manager.h) as they happen. */
struct events_follow {
	struct ctl_sub	*sub;
	void		*handle;
};

static void
events_follow_event(const cJSON *ev, void *arg)
{
	struct events_follow	*f = arg;

	ctl_sub_notify(f->sub, "event", cJSON_Duplicate(ev, 1));
}

static void
events_follow_cancel(void *arg)
{
	struct events_follow	*f = arg;

	events_unobserve(f->handle);
	free(f);
}

static void
collect_event(const cJSON *ev, void *arg)
{
	cJSON_AddItemToArray(arg, cJSON_Duplicate(ev, 1));
}

static void
method_events(struct ctl_req *r, const cJSON *params)
{
	const cJSON		*a, *follow;
	const char		*agent = NULL;
	struct events_follow	*f;
	cJSON			*o, *events;
	size_t			 want;

	a = cJSON_GetObjectItemCaseSensitive(params, "agent");
	if (a != NULL && !cJSON_IsNull(a)) {
		if (!cJSON_IsString(a)) {
			ctl_error(r, PROTO_INVALID_PARAMS, "params.agent must "
			    "be a string");
			return;
		}
		if (!agent_known(a->valuestring)) {
			ctl_error(r, PROTO_INVALID_PARAMS, "no agent \"%s\"",
			    a->valuestring);
			return;
		}
		agent = a->valuestring;
	}
	if (param_lines(r, params, &want) == -1)
		return;
	follow = cJSON_GetObjectItemCaseSensitive(params, "follow");
	o = cJSON_CreateObject();
	events = cJSON_AddArrayToObject(o, "events");
	events_tail(agent, want, collect_event, events);
	cJSON_AddBoolToObject(o, "follow", cJSON_IsTrue(follow));
	if (!cJSON_IsTrue(follow)) {
		ctl_reply(r, o);
		return;
	}
	/* Subscribed before the answer goes, which may end the request. */
	f = xcalloc(1, sizeof(*f));
	if ((f->sub = ctl_subscribe(r, events_follow_cancel, f)) == NULL) {
		free(f);
		ctl_reply(r, o);
		return;
	}
	f->handle = events_observe(agent, events_follow_event, f);
	ctl_reply(r, o);
}

static void
method_git_check(struct ctl_req *r, const cJSON *params)
{
	const cJSON	*cmd = cJSON_GetObjectItemCaseSensitive(params,
			    "command");
	const cJSON	*agent = cJSON_GetObjectItemCaseSensitive(params,
			    "agent");
	cJSON		*o;

	if (!cJSON_IsString(cmd)) {
		ctl_error(r, PROTO_INVALID_PARAMS, "git-check needs "
		    "params.command");
		return;
	}
	if (agent != NULL && !cJSON_IsNull(agent) && !cJSON_IsString(agent)) {
		ctl_error(r, PROTO_INVALID_PARAMS, "params.agent must be an "
		    "agent's name");
		return;
	}
	/* As that agent's call would be checked and run; else the host's. */
	if ((o = git_tool_check(cmd->valuestring, cJSON_IsString(agent) ?
	    agent->valuestring : NULL)) == NULL) {
		ctl_error(r, PROTO_INVALID_PARAMS, "no agent \"%s\"",
		    agent->valuestring);
		return;
	}
	ctl_reply(r, o);
}

/*
 * The .mcp.json a Claude Code uses: the host's (with the host token), or
 * an agent's, as its container gets it.
 */
/* A one-time login link to the web console, or every session ended. */
static void
method_console(struct ctl_req *r, const cJSON *params)
{
	const cJSON	*all;
	char		 url[256], err[256];
	cJSON		*o;

	all = cJSON_GetObjectItemCaseSensitive(params, "logout_all");
	if (all != NULL && !cJSON_IsBool(all)) {
		ctl_error(r, PROTO_INVALID_PARAMS, "console takes no params "
		    "but optionally params.logout_all (a boolean)");
		return;
	}
	if (cJSON_IsTrue(all)) {
		o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "ended",
		    (double)console_logout_all());
		ctl_reply(r, o);
		return;
	}
	if (console_link(url, sizeof(url), err, sizeof(err)) == -1) {
		ctl_error(r, PROTO_FAILED, "%s", err);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "url", url);
	cJSON_AddNumberToObject(o, "expires_in", CONSOLE_LINK_MS / 1000);
	explicit_bzero(url, sizeof(url));
	ctl_reply(r, o);
}

static void
method_mcp_config(struct ctl_req *r, const cJSON *params)
{
	const cJSON	*a = cJSON_GetObjectItemCaseSensitive(params, "agent");
	char		 err[256];
	cJSON		*doc;

	if (a != NULL && !cJSON_IsString(a)) {
		ctl_error(r, PROTO_INVALID_PARAMS, "params.agent must be a "
		    "string");
		return;
	}
	if ((doc = agent_mcp_config(a != NULL ? a->valuestring : NULL, err,
	    sizeof(err))) == NULL) {
		ctl_error(r, PROTO_FAILED, "%s", err);
		return;
	}
	ctl_reply(r, doc);
}

/*
 * params.agent, "claude" when absent; NULL after an error: a malformed
 * name must never act on the default agent.
 */
static const char *
param_agent(struct ctl_req *r, const cJSON *params)
{
	const cJSON	*a = cJSON_GetObjectItemCaseSensitive(params, "agent");

	if (a == NULL)
		return ("claude");
	if (!cJSON_IsString(a)) {
		ctl_error(r, PROTO_INVALID_PARAMS, "params.agent must be a "
		    "string");
		return (NULL);
	}
	return (a->valuestring);
}

/* up and down: the answer once it is done. */
static void
reply_agent(void *arg, const char *error, const char *id)
{
	struct ctl_req	*r = arg;
	cJSON		*o;

	if (error != NULL) {
		ctl_error(r, PROTO_FAILED, "%s", error);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "container", id);
	ctl_reply(r, o);
}

/* An asker of up that went away waits no longer (nor holds a place). */
static void
up_gone(void *arg)
{
	agent_unwait(arg);
	ctl_error(arg, PROTO_FAILED, "the client went away");
}

static void
method_up(struct ctl_req *r, const cJSON *params)
{
	const char	*name;
	struct ctl_req	*later;
	char		 err[512];

	if ((name = param_agent(r, params)) == NULL)
		return;
	later = ctl_defer(r);
	manager_person(name, 1);
	/* Before the up, which may answer (and free later) at once. */
	ctl_on_gone(later, up_gone, later);
	if (agent_bring_up(name, cJSON_IsTrue(
	    cJSON_GetObjectItemCaseSensitive(params, "force")), reply_agent,
	    later, err, sizeof(err)) == -1)
		ctl_error(later, PROTO_FAILED, "%s", err);
}

static void
method_down(struct ctl_req *r, const cJSON *params)
{
	const char	*name;
	struct ctl_req	*later;
	char		 err[512];

	if ((name = param_agent(r, params)) == NULL)
		return;
	if (!agent_known(name)) {
		ctl_error(r, PROTO_INVALID_PARAMS, "no agent \"%s\"", name);
		return;
	}
	later = ctl_defer(r);
	manager_person(name, 0);
	if (agent_take_down(name, reply_agent, later, err, sizeof(err)) == -1)
		ctl_error(later, PROTO_FAILED, "%s", err);
}

static void
method_ps(struct ctl_req *r, const cJSON *params)
{
	cJSON	*o = cJSON_CreateObject();

	cJSON_AddItemToObject(o, "agents", agent_ps());
	ctl_reply(r, o);
}

/* An agent's policy in force, and where each part comes from. */
static void
policy_reply(struct ctl_req *r, const char *name)
{
	cJSON	*o = policy_store_json(name);

	cJSON_AddStringToObject(o, "agent", name);
	ctl_reply(r, o);
}

/* params.agent, which must be given and configured; NULL after an error. */
static const char *
param_policy_agent(struct ctl_req *r, const cJSON *params)
{
	const cJSON	*a = cJSON_GetObjectItemCaseSensitive(params, "agent");

	if (!cJSON_IsString(a)) {
		ctl_error(r, PROTO_INVALID_PARAMS, "%s needs params.agent",
		    ctl_req_method(r));
		return (NULL);
	}
	if (policy_store_get(a->valuestring, NULL, NULL) == -1) {
		ctl_error(r, PROTO_INVALID_PARAMS, "no agent \"%s\"",
		    a->valuestring);
		return (NULL);
	}
	return (a->valuestring);
}

static void
method_policy(struct ctl_req *r, const cJSON *params)
{
	const char	*name;

	if ((name = param_policy_agent(r, params)) != NULL)
		policy_reply(r, name);
}

/*
 * params.start and params.stop (either or both) set the run-time
 * policy; params.reset, alone, returns to the configuration's.
 */
static void
method_policy_set(struct ctl_req *r, const cJSON *params)
{
	const cJSON	*start, *stop, *reset;
	const char	*name;
	char		 err[512];
	int		 rc;

	if ((name = param_policy_agent(r, params)) == NULL)
		return;
	start = cJSON_GetObjectItemCaseSensitive(params, "start");
	stop = cJSON_GetObjectItemCaseSensitive(params, "stop");
	reset = cJSON_GetObjectItemCaseSensitive(params, "reset");
	if ((start != NULL && !cJSON_IsString(start)) ||
	    (stop != NULL && !cJSON_IsString(stop)) ||
	    (reset != NULL && !cJSON_IsBool(reset))) {
		ctl_error(r, PROTO_INVALID_PARAMS, "params.start and "
		    "params.stop must be strings, params.reset true or false");
		return;
	}
	if ((rc = policy_store_change(name, start != NULL ? start->valuestring :
	    NULL, stop != NULL ? stop->valuestring : NULL, cJSON_IsTrue(reset),
	    err, sizeof(err))) != 0) {
		ctl_error(r, rc == -1 ? PROTO_INVALID_PARAMS : PROTO_FAILED,
		    "%s", err);
		return;
	}
	policy_reply(r, name);
}

/* ---- session and exec: the control half of session.c ---- */

static void
session_progressed(void *arg, const char *step, const char *message,
    double seconds)
{
	cJSON	*p = cJSON_CreateObject();

	cJSON_AddStringToObject(p, "step", step);
	cJSON_AddStringToObject(p, "message", message);
	cJSON_AddNumberToObject(p, "seconds", seconds);
	ctl_notify(arg, "progress", p);
}

static int
session_asker_gone(void *arg)
{
	return (ctl_req_gone(arg));
}

static void
session_done(void *arg, const char *error, const struct session_result *res,
    int fd)
{
	struct ctl_req	*r = arg;
	cJSON		*o;
	char		*hex, *p;
	size_t		 i;

	if (error != NULL) {
		ctl_error(r, PROTO_FAILED, "%s", error);
		return;
	}
	/* Bytes dockerd sent past its headers belong to the stream. */
	hex = xcalloc(res->npending * 2 + 1, 1);
	for (i = 0, p = hex; i < res->npending; i++, p += 2)
		snprintf(p, 3, "%02x", (unsigned char)res->pending[i]);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "exec", res->exec_id);
	cJSON_AddBoolToObject(o, "tty", res->tty);
	cJSON_AddStringToObject(o, "pending", hex);
	cJSON_AddNumberToObject(o, "seconds", res->seconds);
	free(hex);
	ctl_reply_fd(r, o, fd);
}

static const struct session_cb session_cb = {
	.progress = session_progressed,
	.gone = session_asker_gone,
	.done = session_done,
};

/* A terminal dimension: absent or 0 (unknown), else 1 to 10000. */
static int
param_size(struct ctl_req *r, const cJSON *params, const char *key, int *out)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(params, key);

	*out = 0;
	if (v == NULL)
		return (0);
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 ||
	    v->valuedouble > 10000 || v->valuedouble != (int)v->valuedouble) {
		ctl_error(r, PROTO_INVALID_PARAMS, "params.%s must be a whole "
		    "number from 1 to 10000", key);
		return (-1);
	}
	*out = (int)v->valuedouble;
	return (0);
}

static void
method_session(struct ctl_req *r, const cJSON *params)
{
	struct session_params	 p;
	struct ctl_req		*later;
	const cJSON		*v, *w;
	size_t			 n = 0;
	char			 err[512];

	memset(&p, 0, sizeof(p));
	if ((p.agent = param_agent(r, params)) == NULL)
		return;
	/* Detached: the same path, without a terminal (tmux-link.h). */
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(params, "detach"))) {
		if (!agent_known(p.agent)) {
			ctl_error(r, PROTO_INVALID_PARAMS, "no agent \"%s\"",
			    p.agent);
			return;
		}
		later = ctl_defer(r);
		ctl_on_gone(later, detach_gone, later);
		if (manager_start(p.agent, reply_tmux_link, later, err,
		    sizeof(err)) == -1)
			ctl_error(later, PROTO_FAILED, "%s", err);
		return;
	}
	p.tty = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(params, "tty"));
	p.force = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(params,
	    "force"));
	if (param_size(r, params, "rows", &p.rows) == -1 ||
	    param_size(r, params, "cols", &p.cols) == -1)
		return;
	v = cJSON_GetObjectItemCaseSensitive(params, "term");
	if (cJSON_IsString(v) && strlen(v->valuestring) < 64 &&
	    strspn(v->valuestring, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-+._") ==
	    strlen(v->valuestring))
		p.term = v->valuestring;
	v = cJSON_GetObjectItemCaseSensitive(params, "argv");
	if (v != NULL) {
		if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) == 0 ||
		    cJSON_GetArraySize(v) > 1024) {
			ctl_error(r, PROTO_INVALID_PARAMS, "params.argv must be "
			    "a non-empty array of strings");
			return;
		}
		p.argv = xcalloc((size_t)cJSON_GetArraySize(v) + 1,
		    sizeof(char *));
		cJSON_ArrayForEach(w, v) {
			if (!cJSON_IsString(w)) {
				argv_free(p.argv);
				ctl_error(r, PROTO_INVALID_PARAMS,
				    "params.argv must hold strings");
				return;
			}
			p.argv[n++] = xstrdup(w->valuestring);
		}
	}
	p.owner = ctl_req_connection(r);
	/* A person's session lifts a person's down off the start policy. */
	if (p.argv == NULL)
		manager_person(p.agent, 1);
	later = ctl_defer(r);
	/* Before the start, which may answer (and free later) at once. */
	ctl_on_gone(later, session_abandon, later);
	session_start(&p, &session_cb, later);
}

static void
method_exec_answered(void *arg, const char *error, const cJSON *json)
{
	struct ctl_req	*r = arg;

	if (error != NULL)
		ctl_error(r, PROTO_FAILED, "%s", error);
	else
		ctl_reply(r, cJSON_CreateObject());
}

static void
exec_inspected(void *arg, const char *error, const cJSON *json)
{
	struct ctl_req	*r = arg;
	const cJSON	*code;
	cJSON		*o;

	if (error != NULL) {
		ctl_error(r, PROTO_FAILED, "%s", error);
		return;
	}
	code = cJSON_GetObjectItemCaseSensitive(json, "ExitCode");
	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "running", cJSON_IsTrue(
	    cJSON_GetObjectItemCaseSensitive(json, "Running")));
	if (cJSON_IsNumber(code))
		cJSON_AddNumberToObject(o, "exit_code", code->valuedouble);
	else
		cJSON_AddNullToObject(o, "exit_code");
	ctl_reply(r, o);
}

/* params.exec as an exec id; NULL after an error. */
static const char *
param_exec(struct ctl_req *r, const cJSON *params)
{
	const cJSON	*id = cJSON_GetObjectItemCaseSensitive(params, "exec");

	if (!cJSON_IsString(id) || id->valuestring[0] == '\0' ||
	    strspn(id->valuestring, "0123456789abcdef") !=
	    strlen(id->valuestring)) {
		ctl_error(r, PROTO_INVALID_PARAMS, "params.exec must be an exec "
		    "id");
		return (NULL);
	}
	return (id->valuestring);
}

static void
method_exec_resize(struct ctl_req *r, const cJSON *params)
{
	const cJSON	*rows, *cols;
	const char	*id;
	struct ctl_req	*later;
	char		 err[256];

	rows = cJSON_GetObjectItemCaseSensitive(params, "rows");
	cols = cJSON_GetObjectItemCaseSensitive(params, "cols");
	if (!cJSON_IsNumber(rows) || !cJSON_IsNumber(cols) ||
	    rows->valueint < 1 || cols->valueint < 1 ||
	    rows->valueint > 10000 || cols->valueint > 10000) {
		ctl_error(r, PROTO_INVALID_PARAMS, "exec-resize needs rows and "
		    "cols from 1 to 10000");
		return;
	}
	if ((id = param_exec(r, params)) == NULL)
		return;
	later = ctl_defer(r);
	if (session_exec_resize(id, ctl_req_connection(r), rows->valueint,
	    cols->valueint, method_exec_answered, later, err, sizeof(err)) == -1)
		ctl_error(later, PROTO_PERMISSION_DENIED, "%s", err);
}

static void
method_exec_status(struct ctl_req *r, const cJSON *params)
{
	const char	*id;
	struct ctl_req	*later;
	char		 err[256];

	if ((id = param_exec(r, params)) == NULL)
		return;
	later = ctl_defer(r);
	if (session_exec_inspect(id, ctl_req_connection(r), exec_inspected,
	    later, err, sizeof(err)) == -1)
		ctl_error(later, PROTO_PERMISSION_DENIED, "%s", err);
}

/* tmux-link: the answer once tmux has it. */
static void
reply_tmux_link(void *arg, const char *error)
{
	struct ctl_req	*r = arg;
	cJSON		*o;

	if (error != NULL) {
		ctl_error(r, PROTO_FAILED, "%s", error);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "done", 1);
	ctl_reply(r, o);
}

static void
tmux_link_gone(void *arg)
{
	tmux_link_cancel(arg);
	ctl_error(arg, PROTO_FAILED, "the client went away");
}

/*
 * Groundwork for issue 16, until its policies and `notify` drive it: a
 * headless start, and typing into an agent's tmux session.
 */
static void
method_tmux_link(struct ctl_req *r, const cJSON *params)
{
	const char	*name, *act;
	const cJSON	*action, *text;
	struct ctl_req	*later;
	char		 err[512];
	int		 rc = 0;

	if ((name = param_agent(r, params)) == NULL)
		return;
	if (!agent_known(name)) {
		ctl_error(r, PROTO_INVALID_PARAMS, "no agent \"%s\"", name);
		return;
	}
	action = cJSON_GetObjectItemCaseSensitive(params, "action");
	text = cJSON_GetObjectItemCaseSensitive(params, "text");
	act = cJSON_IsString(action) ? action->valuestring : "";
	if (strcmp(act, "start") != 0 && strcmp(act, "enter") != 0 &&
	    (strcmp(act, "type") != 0 || !cJSON_IsString(text))) {
		ctl_error(r, PROTO_INVALID_PARAMS, "tmux-link needs "
		    "params.action start, enter, or type with params.text");
		return;
	}
	later = ctl_defer(r);
	ctl_on_gone(later, tmux_link_gone, later);
	if (strcmp(act, "start") == 0)
		tmux_link_start(name, reply_tmux_link, later);
	else if (strcmp(act, "enter") == 0)
		rc = tmux_link_enter(name, reply_tmux_link, later, err,
		    sizeof(err));
	else
		rc = tmux_link_type(name, text->valuestring, 0, reply_tmux_link,
		    later, err, sizeof(err));
	if (rc == -1)
		ctl_error(later, PROTO_FAILED, "%s", err);
}

/* notify: answered once the message is delivered, or failed. */
static void
reply_notify(void *arg, const char *error)
{
	cJSON	*o;

	if (error != NULL) {
		ctl_error(arg, PROTO_FAILED, "%s", error);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "delivered", 1);
	ctl_reply(arg, o);
}

static void
notify_gone(void *arg)
{
	manager_cancel(arg);
	ctl_error(arg, PROTO_FAILED, "the client went away");
}

/* A person's message, typed into the agent's session as a notification. */
static void
method_notify(struct ctl_req *r, const cJSON *params)
{
	const char	*name;
	const cJSON	*text, *wait;
	struct ctl_req	*later;
	char		 err[512];
	cJSON		*o;

	if ((name = param_agent(r, params)) == NULL)
		return;
	if (!agent_known(name)) {
		ctl_error(r, PROTO_INVALID_PARAMS, "no agent \"%s\"", name);
		return;
	}
	text = cJSON_GetObjectItemCaseSensitive(params, "text");
	wait = cJSON_GetObjectItemCaseSensitive(params, "wait");
	if (!cJSON_IsString(text) || (wait != NULL && !cJSON_IsBool(wait))) {
		ctl_error(r, PROTO_INVALID_PARAMS, "notify needs params.text "
		    "(a string) and optionally params.wait (a boolean)");
		return;
	}
	if (wait != NULL && cJSON_IsFalse(wait)) {
		if (manager_notify(name, text->valuestring, NULL, NULL, err,
		    sizeof(err)) == -1) {
			ctl_error(r, PROTO_FAILED, "%s", err);
			return;
		}
		o = cJSON_CreateObject();
		cJSON_AddBoolToObject(o, "queued", 1);
		ctl_reply(r, o);
		return;
	}
	later = ctl_defer(r);
	ctl_on_gone(later, notify_gone, later);
	if (manager_notify(name, text->valuestring, reply_notify, later, err,
	    sizeof(err)) == -1)
		ctl_error(later, PROTO_FAILED, "%s", err);
}
