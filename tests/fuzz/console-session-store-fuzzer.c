/*
 * libFuzzer harness for the console's sessions file (console-session-
 * store.c), which qmsd reads at start-up.  The invariants: a parse that
 * succeeds gives at most CONSOLE_MAX_SESSIONS records, each a hash of
 * the right shape, used no earlier than made, no hash twice; what it
 * gives, written out, is the very text read; and the records go into the
 * session table and out again unchanged.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console-session-store.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fail(const char *what)
{
	fprintf(stderr, "invariant broken: %s\n", what);
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct console_session	 s[CONSOLE_MAX_SESSIONS];
	struct console_session	 t[CONSOLE_MAX_SESSIONS];
	char			 err[256], *text;
	size_t			 n, m, i, j;

	err[0] = '\0';
	if (console_sessions_parse((const char *)data, size, s, &n, err,
	    sizeof(err)) == -1) {
		if (err[0] == '\0')
			fail("refused without a reason");
		return (0);
	}
	if (n > CONSOLE_MAX_SESSIONS)
		fail("too many sessions");
	for (i = 0; i < n; i++) {
		if (strlen(s[i].hash) != CONSOLE_SECRET_LEN ||
		    strspn(s[i].hash, "0123456789abcdef") != CONSOLE_SECRET_LEN)
			fail("a hash not of its shape");
		if (s[i].used < s[i].made)
			fail("used before made");
		for (j = 0; j < i; j++)
			if (strcmp(s[i].hash, s[j].hash) == 0)
				fail("a hash twice");
	}
	text = console_sessions_format(s, n);
	if (strlen(text) != size || memcmp(text, data, size) != 0)
		fail("formatted back, not the text read");
	free(text);
	console_session_restore(s, n);
	m = console_session_list(t);
	if (m != n)
		fail("not all restored");
	for (i = 0; i < n; i++)
		if (strcmp(t[i].hash, s[i].hash) != 0 ||
		    t[i].made != s[i].made || t[i].used != s[i].used)
			fail("restored otherwise");
	console_session_clear();
	return (0);
}
