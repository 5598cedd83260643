/*
 * Claude Code's hooks, over HTTP: see hooks.h.
 */
#include <stdio.h>
#include <string.h>

#include "activity.h"
#include "hooks.h"
#include "http.h"
#include "log.h"
#include "manager.h"

static void
hooks_serve(struct http_request *r, void *arg)
{
	const char		*allow[] = { "Allow: POST", NULL };
	const char		*who = http_identity(r), *body, *name;
	struct hook_event	 ev;
	char			 err[256];
	size_t			 len;

	if (strcmp(http_method(r), "POST") != 0) {
		http_respond_rpc_error(r, 405, allow, -32600, "hooks are "
		    "POSTed");
		return;
	}
	/* Only an agent's own token says whose Claude it is. */
	if (who == NULL || strcmp(who, "host") == 0) {
		http_respond_rpc_error(r, 403, NULL, -32001, "hooks are an "
		    "agent's: its own token is required");
		return;
	}
	name = http_path(r) + strlen(HOOKS_PATH);
	if (!activity_hook_known(name)) {
		http_respond_rpc_error(r, 404, NULL, -32601, "not a hook qmsd "
		    "follows (SessionStart, UserPromptSubmit, PreToolUse, "
		    "PostToolUse, Notification, Stop, SessionEnd)");
		return;
	}
	body = http_body(r, &len);
	if (activity_hook_parse(name, body, len, &ev, err, sizeof(err)) == -1) {
		log_debug("hooks: agent %s: %s: %s", who, name, err);
		http_respond_rpc_error(r, 400, NULL, -32602, err);
		return;
	}
	manager_hook(who, &ev);
	http_respond(r, 204, NULL, NULL, "", 0);
}

void
hooks_init(void)
{
	http_route_prefix(HOOKS_PATH, hooks_serve, NULL, ACTIVITY_MAX_HOOK);
}
