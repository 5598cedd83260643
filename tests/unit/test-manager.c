/*
 * manager.c's activity: hooks move it, a container that stops ends it,
 * each change is one event to the observers that want that agent's, kept
 * for a later reader, and ps rows carry it.
 */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "activity.h"
#include "check.h"
#include "events.h"
#include "manager.h"

static int	 seen, seen_b;
static char	 last[64];
static void	*handle;

static void
on_event(const cJSON *ev, void *arg)
{
	const cJSON	*a = cJSON_GetObjectItemCaseSensitive(ev, "activity");

	seen++;
	snprintf(last, sizeof(last), "%s", cJSON_IsString(a) ?
	    a->valuestring : "?");
}

/* Removes itself as it is told: allowed. */
static void
on_event_once(const cJSON *ev, void *arg)
{
	seen_b++;
	events_unobserve(handle);
}

static void
collect(const cJSON *ev, void *arg)
{
	(*(int *)arg)++;
}

static void
hook(const char *agent, const char *name, const char *json)
{
	struct hook_event	ev;
	char			err[256];

	CHECK(activity_hook_parse(name, json, strlen(json), &ev, err,
	    sizeof(err)) == 0);
	manager_hook(agent, &ev);
}

static const char *
field(const char *agent, const char *key)
{
	static char	 buf[128];
	cJSON		*row = cJSON_CreateObject();
	const cJSON	*v;

	manager_ps(agent, row);
	v = cJSON_GetObjectItemCaseSensitive(row, key);
	snprintf(buf, sizeof(buf), "%s", cJSON_IsString(v) ? v->valuestring :
	    cJSON_IsNull(v) ? "null" : "?");
	cJSON_Delete(row);
	return (buf);
}

int
main(void)
{
	int	n, i;

	CHECK_STR(field("a", "activity"), "no-session");
	CHECK_STR(field("a", "activity_since"), "null");
	events_observe("a", on_event, NULL);
	handle = events_observe(NULL, on_event_once, NULL);

	hook("a", "SessionStart", "{\"session_id\":\"S\"}");
	CHECK(seen == 1 && seen_b == 1);
	CHECK_STR(last, "idle");
	CHECK_STR(field("a", "activity"), "idle");
	CHECK_STR(field("a", "last_event"), "SessionStart");
	CHECK(strlen(field("a", "activity_since")) == 24);
	hook("a", "PreToolUse", "{\"session_id\":\"S\",\"tool_name\":\"Bash\"}");
	CHECK(seen == 2 && seen_b == 1);	/* the other one went */
	CHECK_STR(field("a", "activity_detail"), "Bash");
	/* no change, no event */
	hook("a", "PostToolUse", "{\"session_id\":\"S\",\"tool_name\":\"Bash\"}");
	CHECK(seen == 2);
	/* another agent's: not this observer's */
	hook("b", "SessionStart", "{}");
	CHECK(seen == 2);
	CHECK_STR(field("b", "activity"), "idle");

	/* the container stops, and starts again with no session */
	manager_container("a", 0);
	CHECK(seen == 3);
	CHECK_STR(last, "no-session");
	CHECK_STR(field("a", "activity_detail"), "the container is not "
	    "running");
	manager_container("a", 0);
	manager_container("a", 1);
	CHECK(seen == 3);

	/* tmux */
	manager_session_launched("a");
	CHECK_STR(last, "starting");
	manager_session_gone("a");
	CHECK_STR(last, "no-session");

	/* the events kept: all, one agent's, the last n */
	n = 0;
	events_tail(NULL, 100, collect, &n);
	CHECK(n == 6);
	n = 0;
	events_tail("b", 100, collect, &n);
	CHECK(n == 1);
	n = 0;
	events_tail("a", 2, collect, &n);
	CHECK(n == 2);
	n = 0;
	events_tail("a", 0, collect, &n);
	CHECK(n == 0);
	/* the ring keeps EVENTS_KEPT; c's flood pushes out its own */
	for (i = 0; i < EVENTS_KEPT; i++) {
		manager_session_launched("c");
		manager_session_gone("c");
	}
	n = 0;
	events_tail(NULL, EVENTS_KEPT * 4, collect, &n);
	CHECK(n == EVENTS_KEPT);
	n = 0;
	events_tail("a", 100, collect, &n);
	CHECK(n == 5);
	n = 0;
	events_tail("b", 100, collect, &n);
	CHECK(n == 1);

	/* a forgotten agent starts again with nothing */
	manager_forget("b");
	CHECK_STR(field("b", "activity"), "no-session");
	manager_shutdown();
	CHECK_STR(field("a", "activity"), "no-session");
	return (check_done("manager"));
}
