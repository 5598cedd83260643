/*
 * What an agent's Claude is doing, from Claude Code's hooks rather than
 * its screen: groundwork for issue 16, not yet wired (no file calls it
 * but its unit test and fuzzer).  Pure: no I/O, no clock of its own;
 * the caller passes the time.
 *
 * A hook's command sends the event's name and what Claude Code gave it
 * on stdin (a JSON object); activity_hook_parse takes what matters of it
 * and activity_apply moves the agent's activity:
 *
 *	no-session	no Claude: the container is down, or its tmux
 *			session is gone (activity_session_gone)
 *	starting	a session was launched, no SessionStart yet
 *			(activity_session_launched)
 *	working		a prompt went in (UserPromptSubmit), a tool runs
 *			(PreToolUse, PostToolUse)
 *	needs-input	a permission or question prompt is open
 *			(Notification: permission_prompt, elicitation_dialog)
 *	idle		waiting for a prompt (SessionStart, Stop, Notification:
 *			idle_prompt)
 *
 * SessionEnd is no-session, and only a SessionStart follows it.  An event
 * of another session than the current one is ignored (a late hook of a
 * session that ended), except SessionStart, which begins the new one.
 * The first event seen of a session that began before this qmsd (no
 * SessionStart seen) makes it the current one.
 */
#ifndef QMSD_ACTIVITY_H
#define QMSD_ACTIVITY_H

#include <stddef.h>
#include <stdint.h>

enum activity {
	ACT_NO_SESSION,
	ACT_STARTING,
	ACT_WORKING,
	ACT_NEEDS_INPUT,
	ACT_IDLE,
};

enum hook_kind {
	HOOK_SESSION_START,
	HOOK_USER_PROMPT_SUBMIT,
	HOOK_PRE_TOOL_USE,
	HOOK_POST_TOOL_USE,
	HOOK_NOTIFICATION,
	HOOK_STOP,
	HOOK_SESSION_END,
};

/* Hook input larger than this is refused (PreToolUse carries the input). */
#define ACTIVITY_MAX_HOOK	(1024 * 1024)
/* The most of a UserPromptSubmit's prompt kept, in bytes. */
#define ACTIVITY_MAX_PROMPT	4096

struct hook_event {
	enum hook_kind	 kind;
	char		 session[64];	/* session_id; "" if none was given */
	char		 detail[128];	/* the tool, or the notification's type */
	int		 asks;		/* a Notification that wants a person */
	/*
	 * UserPromptSubmit: the prompt as Claude Code gave it (any bytes
	 * but NUL), its first ACTIVITY_MAX_PROMPT bytes; longer is set when
	 * there was more.  "" for the other hooks.
	 */
	char		 prompt[ACTIVITY_MAX_PROMPT + 1];
	int		 longer;
};

struct activity_state {
	enum activity	 state;
	uint64_t	 since;		/* ms, the caller's clock */
	char		 session[64];
	char		 last[32];	/* the last event's name, or "" */
	char		 detail[128];
};

/*
 * Parse a hook's input: name is the event as the hook's command says
 * it (its argument), json what Claude Code passed on stdin.  The two
 * must agree where the input names its event (hook_event_name).  Returns
 * 0, or -1 with err saying why (one printable line).
 */
int	 activity_hook_parse(const char *name, const char *json, size_t len,
	    struct hook_event *, char *err, size_t errlen);
/* Whether name is a hook qmsd follows ("Stop", ...). */
int	 activity_hook_known(const char *name);
/* Apply an event at time now; returns 1 if the activity changed. */
int	 activity_apply(struct activity_state *, const struct hook_event *,
	    uint64_t now);
/* A session was launched in tmux (starting), or its tmux session went. */
int	 activity_session_launched(struct activity_state *, uint64_t now);
int	 activity_session_gone(struct activity_state *, uint64_t now);
/* No session, for why (the container is down, ...); 1 if it changed. */
int	 activity_reset(struct activity_state *, const char *why,
	    uint64_t now);
/*
 * An activity as qmsd keeps it across its restarts, a JSON object (free
 * it), and back: 0, or -1 leaving the state as it was when the text is
 * not one (at most ACTIVITY_KEPT_MAX bytes, every field of its type and
 * within its bound).
 */
#define ACTIVITY_KEPT_MAX	1024
char	*activity_format(const struct activity_state *);
int	 activity_parse(const char *text, size_t len, struct activity_state *);
/* "no-session", "starting", "working", "needs-input", "idle". */
const char *activity_name(enum activity);

/*
 * Whether text may be typed into a session as a notification: one line
 * of printable text, at most 2000 bytes, that does not begin with what
 * a prompt open at that moment would take as an answer (y, n, a digit,
 * a blank, Escape).  0, or -1 with err.
 */
int	 activity_notice_check(const char *text, char *err, size_t errlen);

/* The default notification of an inbox item. */
#define ACTIVITY_NOTICE	"Task notification: {item} is in your inbox. " \
			"Read it and act on it."
/*
 * An item's notification: notice with each {item} replaced by the
 * item's name without ".md" (free it).
 */
char	*activity_notice_render(const char *notice, const char *item);
/*
 * Whether a configured notice may be typed: it does not begin with
 * {item} (a name could answer a prompt), and rendered it passes
 * activity_notice_check.  0, or -1 with err.
 */
int	 activity_notice_template_check(const char *notice, char *err,
	    size_t errlen);

#endif
