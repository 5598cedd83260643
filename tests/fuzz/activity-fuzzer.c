/*
 * libFuzzer harness for the hook input of activity.c.  The input is
 * NAME|JSON.  The invariants: a parse that succeeds names one of the
 * hooks followed and keeps only printable text; applying it never leaves
 * an activity outside the five, never moves "since" when the activity
 * did not change, a Notification moves to needs-input only when it
 * asks for a person, and a prompt is kept for UserPromptSubmit alone,
 * within its bound.  An input KEPT|TEXT is an activity as qmsd keeps it:
 * one that parses formats to a text that parses to the same.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "activity.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fail(const char *what)
{
	fprintf(stderr, "invariant broken: %s\n", what);
	abort();
}

static void
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s < ' ' || *s == 0x7f)
			fail("unprintable text kept");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct activity_state	 s;
	struct activity_state		 before;
	struct hook_event		 ev;
	const char			*bar;
	char				 name[64], err[256];
	size_t				 n;
	int				 changed;

	if (size >= 5 && memcmp(data, "KEPT|", 5) == 0) {
		struct activity_state	 k, k2;
		char			*text;

		memset(&k, 0, sizeof(k));
		if (activity_parse((const char *)data + 5, size - 5, &k) == -1)
			return (0);
		printable(k.session);
		printable(k.last);
		printable(k.detail);
		text = activity_format(&k);
		memset(&k2, 0, sizeof(k2));
		if (activity_parse(text, strlen(text), &k2) == -1 ||
		    k2.state != k.state || k2.since != k.since ||
		    strcmp(k2.session, k.session) != 0 ||
		    strcmp(k2.last, k.last) != 0 ||
		    strcmp(k2.detail, k.detail) != 0)
			fail("a kept activity does not round-trip");
		free(text);
		return (0);
	}
	if ((bar = memchr(data, '|', size)) == NULL)
		return (0);
	n = (size_t)(bar - (const char *)data);
	if (n >= sizeof(name))
		return (0);
	memcpy(name, data, n);
	name[n] = '\0';
	if (activity_hook_parse(name, bar + 1, size - n - 1, &ev, err,
	    sizeof(err)) == -1) {
		printable(err);
		return (0);
	}
	printable(ev.session);
	printable(ev.detail);
	if (strlen(ev.prompt) > ACTIVITY_MAX_PROMPT ||
	    (ev.kind != HOOK_USER_PROMPT_SUBMIT && (ev.prompt[0] != '\0' ||
	    ev.longer)))
		fail("a prompt where none belongs");
	before = s;
	changed = activity_apply(&s, &ev, before.since + 1);
	if ((unsigned)s.state > ACT_IDLE)
		fail("activity out of range");
	if (!changed && s.since != before.since)
		fail("since moved without a change");
	if (changed != (s.state != before.state))
		fail("changed says otherwise");
	if (ev.kind == HOOK_NOTIFICATION && !ev.asks &&
	    s.state == ACT_NEEDS_INPUT && before.state != ACT_NEEDS_INPUT)
		fail("needs-input without a question");
	printable(s.detail);
	return (0);
}
