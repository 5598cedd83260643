/*
 * An agent's activity from Claude Code's hooks: the inputs as Claude Code
 * gives them, every transition, late hooks of an old session, and what
 * may be typed into a session as a notification.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "activity.h"
#include "check.h"

static struct hook_event	ev;
static char			err[256];

/* Parse name with json; 0 or -1 as activity_hook_parse. */
static int
parse(const char *name, const char *json)
{
	return (activity_hook_parse(name, json, strlen(json), &ev, err,
	    sizeof(err)));
}

/* Parse and apply; the activity's name after. */
static const char *
step(struct activity_state *s, const char *name, const char *json,
    uint64_t now)
{
	CHECK(parse(name, json) == 0);
	activity_apply(s, &ev, now);
	return (activity_name(s->state));
}

int
main(void)
{
	struct activity_state	s;

	memset(&s, 0, sizeof(s));
	CHECK_STR(activity_name(s.state), "no-session");

	/* launched, started, a prompt, tools, a permission, done */
	CHECK(activity_session_launched(&s, 100) == 1);
	CHECK_STR(activity_name(s.state), "starting");
	CHECK(s.since == 100);
	CHECK_STR(step(&s, "SessionStart", "{\"session_id\":\"S1\","
	    "\"hook_event_name\":\"SessionStart\",\"source\":\"startup\"}", 200),
	    "idle");
	CHECK_STR(s.session, "S1");
	CHECK_STR(step(&s, "UserPromptSubmit", "{\"session_id\":\"S1\","
	    "\"prompt\":\"Task notification: CR-063\"}", 300), "working");
	CHECK(s.since == 300);
	CHECK_STR(step(&s, "PreToolUse", "{\"session_id\":\"S1\","
	    "\"tool_name\":\"mcp__git__git_exec\",\"tool_input\":{}}", 400),
	    "working");
	CHECK(s.since == 300);		/* unchanged: still working */
	CHECK_STR(s.detail, "mcp__git__git_exec");
	CHECK_STR(step(&s, "Notification", "{\"session_id\":\"S1\","
	    "\"notification_type\":\"permission_prompt\",\"message\":\"Claude "
	    "needs your permission to use Bash\"}", 500), "needs-input");
	CHECK(ev.asks == 1);
	CHECK_STR(step(&s, "PostToolUse", "{\"session_id\":\"S1\","
	    "\"tool_name\":\"Bash\"}", 600), "working");
	CHECK_STR(step(&s, "Stop", "{\"session_id\":\"S1\"}", 700), "idle");
	CHECK_STR(s.last, "Stop");

	/* older Claude Code: the type read off the message */
	CHECK_STR(step(&s, "Notification", "{\"session_id\":\"S1\","
	    "\"message\":\"Claude needs your permission to use Edit\"}", 710),
	    "needs-input");
	CHECK_STR(s.detail, "permission_prompt");
	CHECK_STR(step(&s, "Notification", "{\"session_id\":\"S1\","
	    "\"message\":\"Claude is waiting for your input\"}", 720), "idle");
	CHECK_STR(step(&s, "Notification", "{\"session_id\":\"S1\","
	    "\"notification_type\":\"elicitation_dialog\"}", 730),
	    "needs-input");
	/* a notification that wants no one changes nothing */
	CHECK(parse("Notification", "{\"session_id\":\"S1\","
	    "\"notification_type\":\"auth_success\"}") == 0);
	CHECK(activity_apply(&s, &ev, 740) == 0);
	CHECK_STR(activity_name(s.state), "needs-input");

	/* a late hook of another session is ignored; a new start is not */
	CHECK(parse("Stop", "{\"session_id\":\"OLD\"}") == 0);
	CHECK(activity_apply(&s, &ev, 800) == 0);
	CHECK_STR(activity_name(s.state), "needs-input");
	CHECK_STR(step(&s, "SessionStart", "{\"session_id\":\"S2\"}", 900),
	    "idle");
	CHECK_STR(step(&s, "SessionEnd", "{\"session_id\":\"S2\"}", 1000),
	    "no-session");
	CHECK_STR(s.session, "");

	/* tmux went while it worked */
	activity_session_launched(&s, 1100);
	step(&s, "SessionStart", "{\"session_id\":\"S3\"}", 1200);
	step(&s, "UserPromptSubmit", "{\"session_id\":\"S3\"}", 1300);
	CHECK(activity_session_gone(&s, 1400) == 1);
	CHECK_STR(activity_name(s.state), "no-session");
	CHECK(s.since == 1400);
	CHECK(activity_session_launched(&s, 1500) == 1);
	CHECK(activity_session_launched(&s, 1600) == 0);

	/* refused inputs */
	CHECK(parse("Bogus", "{}") == -1);
	CHECK_STR(err, "not a hook qmsd follows");
	CHECK(parse(NULL, "{}") == -1);
	CHECK(parse("Stop", "[1]") == -1);
	CHECK_STR(err, "hook input is not a JSON object");
	CHECK(parse("Stop", "{") == -1);
	CHECK(parse("Stop", "{\"hook_event_name\":\"SessionEnd\"}") == -1);
	CHECK_STR(err, "the input is SessionEnd's, not Stop's");
	CHECK(parse("Stop", "{}") == 0);
	CHECK_STR(ev.session, "");
	/* what the agent sends is kept printable */
	CHECK(parse("PreToolUse", "{\"tool_name\":\"a\\u001b[2Jb\"}") == 0);
	CHECK_STR(ev.detail, "a?[2Jb");

	/* the prompt, as given, for the delivery's confirmation */
	CHECK(parse("UserPromptSubmit", "{\"prompt\":\"Task notification:\\n"
	    "\\u00e9\"}") == 0);
	CHECK_STR(ev.prompt, "Task notification:\n\xc3\xa9");
	CHECK(ev.longer == 0);
	{
		char	big[ACTIVITY_MAX_PROMPT + 64];

		snprintf(big, sizeof(big), "{\"prompt\":\"%0*d\"}",
		    ACTIVITY_MAX_PROMPT + 1, 7);
		CHECK(parse("UserPromptSubmit", big) == 0);
		CHECK(strlen(ev.prompt) == ACTIVITY_MAX_PROMPT);
		CHECK(ev.longer == 1);
		snprintf(big, sizeof(big), "{\"prompt\":\"%0*d\"}",
		    ACTIVITY_MAX_PROMPT, 7);
		CHECK(parse("UserPromptSubmit", big) == 0);
		CHECK(strlen(ev.prompt) == ACTIVITY_MAX_PROMPT);
		CHECK(ev.longer == 0);
	}
	CHECK(parse("Stop", "{\"prompt\":\"x\"}") == 0);
	CHECK_STR(ev.prompt, "");
	CHECK(activity_hook_known("Stop") == 1);
	CHECK(activity_hook_known("stop") == 0);
	CHECK(activity_hook_known(NULL) == 0);

	/* the container went */
	step(&s, "SessionStart", "{\"session_id\":\"S4\"}", 1700);
	CHECK(activity_reset(&s, "the container is not running", 1800) == 1);
	CHECK_STR(activity_name(s.state), "no-session");
	CHECK_STR(s.detail, "the container is not running");
	CHECK_STR(s.session, "");
	CHECK(activity_reset(&s, "again", 1900) == 0);
	CHECK(s.since == 1800);

	/* what may be typed into a session */
	CHECK(activity_notice_check("Task notification: CR-063 review is in "
	    "your inbox", err, sizeof(err)) == 0);
	CHECK(activity_notice_check("yes, do it", err, sizeof(err)) == -1);
	CHECK_STR(err, "a notification may not begin with 'y': an open prompt "
	    "would take it as its answer");
	CHECK(activity_notice_check("No", err, sizeof(err)) == -1);
	CHECK(activity_notice_check("1 item", err, sizeof(err)) == -1);
	CHECK(activity_notice_check(" x", err, sizeof(err)) == -1);
	CHECK(activity_notice_check("", err, sizeof(err)) == -1);
	CHECK(activity_notice_check("a\nb", err, sizeof(err)) == -1);
	CHECK(activity_notice_check("\033[A", err, sizeof(err)) == -1);
	/* A notice: {item} replaced, ".md" dropped; templates checked. */
	{
		char	*t = activity_notice_render(ACTIVITY_NOTICE, "CR-063.md");

		CHECK_STR(t, "Task notification: CR-063 is in your inbox. "
		    "Read it and act on it.");
		free(t);
		t = activity_notice_render("{item}/{item}.", "a.md.md");
		CHECK_STR(t, "a.md/a.md.");
		free(t);
		t = activity_notice_render("none", "x.md");
		CHECK_STR(t, "none");
		free(t);
		CHECK(activity_notice_template_check(ACTIVITY_NOTICE, err,
		    sizeof(err)) == 0);
		CHECK(activity_notice_template_check("{item} is here", err,
		    sizeof(err)) == -1);
		CHECK(activity_notice_template_check("yes {item}", err,
		    sizeof(err)) == -1);
		CHECK(activity_notice_template_check("Item {item}\tnow", err,
		    sizeof(err)) == -1);
	}
	/* Kept across restarts: a round trip, and what is refused. */
	{
		struct activity_state	 k, back;
		char			*t;
		static const char *const bad[] = {
			"[]",
			"{\"activity\":\"asleep\",\"since\":1,\"session\":"
			    "\"\",\"last\":\"\",\"detail\":\"\"}",
			"{\"activity\":\"idle\",\"since\":-1,\"session\":"
			    "\"\",\"last\":\"\",\"detail\":\"\"}",
			"{\"activity\":\"idle\",\"since\":1.5,\"session\":"
			    "\"\",\"last\":\"\",\"detail\":\"\"}",
			"{\"activity\":\"idle\",\"since\":1,\"session\":"
			    "\"a\\u001bb\",\"last\":\"\",\"detail\":\"\"}",
			"{\"activity\":\"idle\",\"since\":1,\"session\":"
			    "\"\",\"last\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
			    "xxxxxxxx\",\"detail\":\"\"}",
			"{\"activity\":\"idle\",\"since\":1}",
		};
		size_t	i;

		memset(&k, 0, sizeof(k));
		k.state = ACT_NEEDS_INPUT;
		k.since = 1796448341123ULL;
		snprintf(k.session, sizeof(k.session), "S9");
		snprintf(k.last, sizeof(k.last), "Notification");
		snprintf(k.detail, sizeof(k.detail), "permission_prompt");
		t = activity_format(&k);
		memset(&back, 0, sizeof(back));
		CHECK(activity_parse(t, strlen(t), &back) == 0);
		CHECK(back.state == ACT_NEEDS_INPUT);
		CHECK(back.since == 1796448341123ULL);
		CHECK_STR(back.detail, "permission_prompt");
		free(t);
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			back.state = ACT_WORKING;
			CHECK(activity_parse(bad[i], strlen(bad[i]), &back) ==
			    -1);
			CHECK(back.state == ACT_WORKING);  /* left as it was */
		}
	}
	return (check_done("activity"));
}
