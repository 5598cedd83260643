/*
 * An agent's activity from Claude Code's hooks: see activity.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "activity.h"
#include "message.h"
#include "util.h"

static const struct {
	const char	*name;
	enum hook_kind	 kind;
} hooks[] = {
	{ "SessionStart", HOOK_SESSION_START },
	{ "UserPromptSubmit", HOOK_USER_PROMPT_SUBMIT },
	{ "PreToolUse", HOOK_PRE_TOOL_USE },
	{ "PostToolUse", HOOK_POST_TOOL_USE },
	{ "Notification", HOOK_NOTIFICATION },
	{ "Stop", HOOK_STOP },
	{ "SessionEnd", HOOK_SESSION_END },
};

static const char *const activity_names[] = {
	"no-session", "starting", "working", "needs-input", "idle",
};

const char *
activity_name(enum activity a)
{
	return ((size_t)a < sizeof(activity_names) / sizeof(activity_names[0]) ?
	    activity_names[a] : "unknown");
}

/* A string member, copied printable (any other byte as '?'), or "". */
static void
member(const cJSON *o, const char *key, char *out, size_t len)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, key);
	size_t		 i;

	out[0] = '\0';
	if (!cJSON_IsString(v) || v->valuestring == NULL)
		return;
	for (i = 0; v->valuestring[i] != '\0' && i + 1 < len; i++)
		out[i] = v->valuestring[i] >= ' ' && v->valuestring[i] < 0x7f ?
		    v->valuestring[i] : '?';
	out[i] = '\0';
}

int
activity_hook_known(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++)
		if (name != NULL && strcmp(name, hooks[i].name) == 0)
			return (1);
	return (0);
}

/* The prompt as given (it is compared, not shown), cut where it must be. */
static void
prompt(const cJSON *o, struct hook_event *ev)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, "prompt");
	size_t		 len;

	if (!cJSON_IsString(v) || v->valuestring == NULL)
		return;
	len = strlen(v->valuestring);
	ev->longer = len > ACTIVITY_MAX_PROMPT;
	if (ev->longer)
		len = ACTIVITY_MAX_PROMPT;
	memcpy(ev->prompt, v->valuestring, len);
	ev->prompt[len] = '\0';
}

int
activity_hook_parse(const char *name, const char *json, size_t len,
    struct hook_event *ev, char *err, size_t errlen)
{
	cJSON	*o;
	char	 said[32], type[64];
	size_t	 i;

	memset(ev, 0, sizeof(*ev));
	for (i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++)
		if (name != NULL && strcmp(name, hooks[i].name) == 0)
			break;
	if (i == sizeof(hooks) / sizeof(hooks[0]))
		return (msg_fail(err, errlen, "not a hook qmsd follows"));
	ev->kind = hooks[i].kind;
	if (len > ACTIVITY_MAX_HOOK)
		return (msg_fail(err, errlen, "hook input over %d bytes",
		    ACTIVITY_MAX_HOOK));
	if ((o = cJSON_ParseWithLength(json, len)) == NULL ||
	    !cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return (msg_fail(err, errlen, "hook input is not a JSON "
		    "object"));
	}
	member(o, "hook_event_name", said, sizeof(said));
	if (said[0] != '\0' && strcmp(said, name) != 0) {
		cJSON_Delete(o);
		return (msg_fail(err, errlen, "the input is %s's, not %s's",
		    said, name));
	}
	member(o, "session_id", ev->session, sizeof(ev->session));
	switch (ev->kind) {
	case HOOK_USER_PROMPT_SUBMIT:
		prompt(o, ev);
		break;
	case HOOK_PRE_TOOL_USE:
	case HOOK_POST_TOOL_USE:
		member(o, "tool_name", ev->detail, sizeof(ev->detail));
		break;
	case HOOK_NOTIFICATION:
		/*
		 * notification_type where Claude Code gives it; before that,
		 * its message: "Claude needs your permission to use Bash",
		 * "Claude is waiting for your input".
		 */
		member(o, "notification_type", type, sizeof(type));
		if (type[0] == '\0') {
			member(o, "message", ev->detail, sizeof(ev->detail));
			ev->asks = strstr(ev->detail, "permission") != NULL;
			snprintf(type, sizeof(type), "%s", ev->asks ?
			    "permission_prompt" : strstr(ev->detail,
			    "waiting for your input") != NULL ? "idle_prompt" :
			    "");
		} else
			ev->asks = strcmp(type, "permission_prompt") == 0 ||
			    strcmp(type, "elicitation_dialog") == 0;
		snprintf(ev->detail, sizeof(ev->detail), "%s", type);
		break;
	default:
		break;
	}
	cJSON_Delete(o);
	return (0);
}

static int
enter(struct activity_state *s, enum activity next, const char *event,
    const char *detail, uint64_t now)
{
	int	changed = s->state != next;

	if (changed)
		s->since = now;
	s->state = next;
	snprintf(s->last, sizeof(s->last), "%s", event);
	snprintf(s->detail, sizeof(s->detail), "%s", detail);
	return (changed);
}

int
activity_apply(struct activity_state *s, const struct hook_event *ev,
    uint64_t now)
{
	const char	*name = hooks[ev->kind].name;

	if (ev->kind == HOOK_SESSION_START) {
		snprintf(s->session, sizeof(s->session), "%s", ev->session);
		return (enter(s, ACT_IDLE, name, "", now));
	}
	/* A late hook of a session that is not the current one. */
	if (s->session[0] != '\0' && ev->session[0] != '\0' &&
	    strcmp(s->session, ev->session) != 0)
		return (0);
	/* After a SessionEnd, only a SessionStart begins anything. */
	if (s->state == ACT_NO_SESSION && strcmp(s->last, "SessionEnd") == 0)
		return (0);
	/* Its start was before this qmsd's: it is the current session. */
	if (s->session[0] == '\0')
		snprintf(s->session, sizeof(s->session), "%s", ev->session);
	switch (ev->kind) {
	case HOOK_USER_PROMPT_SUBMIT:
	case HOOK_PRE_TOOL_USE:
	case HOOK_POST_TOOL_USE:
		return (enter(s, ACT_WORKING, name, ev->detail, now));
	case HOOK_NOTIFICATION:
		if (ev->asks)
			return (enter(s, ACT_NEEDS_INPUT, name, ev->detail,
			    now));
		if (strcmp(ev->detail, "idle_prompt") == 0)
			return (enter(s, ACT_IDLE, name, ev->detail, now));
		return (0);	/* auth_success and the like: no change */
	case HOOK_STOP:
		return (enter(s, ACT_IDLE, name, "", now));
	case HOOK_SESSION_END:
		s->session[0] = '\0';
		return (enter(s, ACT_NO_SESSION, name, "", now));
	default:
		return (0);
	}
}

int
activity_session_launched(struct activity_state *s, uint64_t now)
{
	if (s->state != ACT_NO_SESSION)
		return (0);
	s->session[0] = '\0';
	return (enter(s, ACT_STARTING, "", "", now));
}

int
activity_session_gone(struct activity_state *s, uint64_t now)
{
	return (activity_reset(s, "the tmux session is gone", now));
}

int
activity_reset(struct activity_state *s, const char *why, uint64_t now)
{
	s->session[0] = '\0';
	return (enter(s, ACT_NO_SESSION, "", why, now));
}

int
activity_notice_check(const char *text, char *err, size_t errlen)
{
	size_t	i, len = text != NULL ? strlen(text) : 0;

	if (len == 0)
		return (msg_fail(err, errlen, "a notification has text"));
	if (len > 2000)
		return (msg_fail(err, errlen, "a notification is at most 2000 "
		    "bytes"));
	for (i = 0; i < len; i++)
		if ((unsigned char)text[i] < ' ' || text[i] == 0x7f)
			return (msg_fail(err, errlen, "a notification is one "
			    "line without control bytes"));
	if (strchr("yYnN0123456789 ", text[0]) != NULL)
		return (msg_fail(err, errlen, "a notification may not begin "
		    "with '%c': an open prompt would take it as its answer",
		    text[0]));
	return (0);
}

char *
activity_notice_render(const char *notice, const char *item)
{
	const char	*p, *q;
	size_t		 len = strlen(item), n = 0;
	char		*out, *o;

	if (len > 3 && strcmp(item + len - 3, ".md") == 0)
		len -= 3;
	for (p = notice; (q = strstr(p, "{item}")) != NULL; p = q + 6)
		n++;
	out = o = xcalloc(1, strlen(notice) + n * len + 1);
	for (p = notice; (q = strstr(p, "{item}")) != NULL; p = q + 6) {
		memcpy(o, p, (size_t)(q - p));
		o += q - p;
		memcpy(o, item, len);
		o += len;
	}
	strcpy(o, p);
	return (out);
}

int
activity_notice_template_check(const char *notice, char *err, size_t errlen)
{
	char	*text;
	int	 rc;

	if (strncmp(notice, "{item}", 6) == 0)
		return (msg_fail(err, errlen, "a notification may not begin "
		    "with {item}: an item's name could answer an open prompt"));
	text = activity_notice_render(notice, "CR-001.md");
	rc = activity_notice_check(text, err, errlen);
	free(text);
	return (rc);
}

char *
activity_format(const struct activity_state *a)
{
	cJSON	*o = cJSON_CreateObject();
	char	*p, *text;

	cJSON_AddStringToObject(o, "activity", activity_name(a->state));
	cJSON_AddNumberToObject(o, "since", (double)a->since);
	cJSON_AddStringToObject(o, "session", a->session);
	cJSON_AddStringToObject(o, "last", a->last);
	cJSON_AddStringToObject(o, "detail", a->detail);
	p = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	text = xstrdup(p);
	cJSON_free(p);
	return (text);
}

/* A string field that fits, printable ASCII as hooks keep: else -1. */
static int
kept_string(const cJSON *o, const char *key, char *buf, size_t len)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, key);
	const char	*p;

	if (!cJSON_IsString(v) || strlen(v->valuestring) >= len)
		return (-1);
	for (p = v->valuestring; *p != '\0'; p++)
		if (*p < ' ' || *p >= 0x7f)
			return (-1);
	snprintf(buf, len, "%s", v->valuestring);
	return (0);
}

int
activity_parse(const char *text, size_t len, struct activity_state *out)
{
	struct activity_state	 a;
	const cJSON		*v;
	cJSON			*o;
	int			 i, rc = -1;

	if (len > ACTIVITY_KEPT_MAX ||
	    (o = cJSON_ParseWithLength(text, len)) == NULL)
		return (-1);
	memset(&a, 0, sizeof(a));
	v = cJSON_GetObjectItemCaseSensitive(o, "activity");
	for (i = ACT_NO_SESSION; i <= ACT_IDLE; i++)
		if (cJSON_IsString(v) && strcmp(v->valuestring,
		    activity_name((enum activity)i)) == 0)
			break;
	if (!cJSON_IsObject(o) || i > ACT_IDLE)
		goto out;
	a.state = (enum activity)i;
	v = cJSON_GetObjectItemCaseSensitive(o, "since");
	/* Whole milliseconds below 2^53, where a double is exact. */
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 ||
	    v->valuedouble > 9007199254740991.0 ||
	    v->valuedouble != (double)(uint64_t)v->valuedouble)
		goto out;
	a.since = (uint64_t)v->valuedouble;
	if (kept_string(o, "session", a.session, sizeof(a.session)) == -1 ||
	    kept_string(o, "last", a.last, sizeof(a.last)) == -1 ||
	    kept_string(o, "detail", a.detail, sizeof(a.detail)) == -1)
		goto out;
	*out = a;
	rc = 0;
out:
	cJSON_Delete(o);
	return (rc);
}
