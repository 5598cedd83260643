/*
 * console-session-store.c's file: parsed strictly, formatted back the
 * same, and what it holds is the session table's (hashes, never ids).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "console-session-store.h"

#define H	"qmsd-console-sessions 1\n"
#define A	"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define B	"2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"

static int
parses(const char *text, size_t *n)
{
	struct console_session	s[CONSOLE_MAX_SESSIONS];
	char			err[256];
	size_t			m;

	return (console_sessions_parse(text, strlen(text), s, n != NULL ? n :
	    &m, err, sizeof(err)) == 0);
}

static void
refused(const char *text, const char *why)
{
	struct console_session	s[CONSOLE_MAX_SESSIONS];
	char			err[256] = "";
	size_t			n;

	CHECK(console_sessions_parse(text, strlen(text), s, &n, err,
	    sizeof(err)) == -1);
	if (strstr(err, why) == NULL)
		fprintf(stderr, "for %s: got \"%s\", want \"%s\"\n", text, err,
		    why);
	CHECK(strstr(err, why) != NULL);
}

static void
test_parse(void)
{
	struct console_session	s[CONSOLE_MAX_SESSIONS];
	char			err[256], *text, *big, *p;
	size_t			n = 99;
	int			i;

	CHECK(parses(H, &n) && n == 0);
	text = H A " 1000 2000\n" B " 0 0\n";
	CHECK(console_sessions_parse(text, strlen(text), s, &n, err,
	    sizeof(err)) == 0);
	CHECK(n == 2);
	CHECK_STR(s[0].hash, A);
	CHECK(s[0].made == 1000 && s[0].used == 2000);
	CHECK_STR(s[1].hash, B);
	CHECK(s[1].made == 0 && s[1].used == 0);
	/* Written back, the same text. */
	p = console_sessions_format(s, n);
	CHECK_STR(p, text);
	free(p);
	p = console_sessions_format(NULL, 0);
	CHECK_STR(p, H);
	free(p);
	/* Fifteen digits: to the year 33000; no more. */
	CHECK(parses(H A " 999999999999999 999999999999999\n", NULL));

	refused("", "line 1");
	refused("qmsd-console-sessions 2\n", "line 1");
	refused(H A " 1000 2000", "line 2: no newline");
	refused(H A " 1000 2000\n\n", "line 3: not a hash");
	refused(H "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F200"
	    "15AD 1 2\n", "line 2: not a hash");
	refused(H "ba7816bf 1 2\n", "not a hash");
	refused(H A "0 1 2\n", "not a hash");
	refused(H A " 1 2 3\n", "HASH MADE USED");
	refused(H A " 1\n", "HASH MADE USED");
	refused(H A "  1 2\n", "HASH MADE USED");
	refused(H A " 1 2 \n", "HASH MADE USED");
	refused(H A " -1 2\n", "HASH MADE USED");
	refused(H A " 01 2\n", "HASH MADE USED");
	refused(H A " 1 0x2\n", "HASH MADE USED");
	refused(H A " 1000000000000000 1000000000000000\n", "HASH MADE USED");
	refused(H A " 2 1\n", "line 2: used before it was made");
	refused(H A " 1 2\n" B " 1 2\n" A " 3 4\n",
	    "line 4: the session of line 2 again");
	/* A NUL is no digit. */
	CHECK(console_sessions_parse(H A " 1 2\n", strlen(H A " 1 2\n") + 1,
	    s, &n, err, sizeof(err)) == -1);
	/* At most CONSOLE_MAX_SESSIONS. */
	big = calloc(1, 8192);
	strcpy(big, H);
	for (i = 0; i <= CONSOLE_MAX_SESSIONS; i++) {
		p = big + strlen(big);
		snprintf(p, 8192 - strlen(big), "%064x 1 2\n", i);
		if (i == CONSOLE_MAX_SESSIONS - 1)
			CHECK(parses(big, &n) && n == CONSOLE_MAX_SESSIONS);
	}
	refused(big, "more than 16 sessions");
	CHECK(strlen(big) <= CONSOLE_SESSIONS_FILE_MAX);
	free(big);
}

/* The table holds hashes: what it lists opens the sessions it listed. */
static void
test_table(void)
{
	struct console_session	s[CONSOLE_MAX_SESSIONS];
	char			id[CONSOLE_SECRET_LEN + 1], h[CONSOLE_SECRET_LEN + 1];
	size_t			n;
	uint64_t		now = 1764900000000ULL;

	console_auth_clear();
	console_auth_random(id);
	console_session_add(id, now);
	CHECK(console_session_check(id, now + 5));
	n = console_session_list(s);
	CHECK(n == 1);
	console_session_hash(id, h);
	CHECK_STR(s[0].hash, h);
	CHECK(strcmp(s[0].hash, id) != 0);	/* never the id */
	CHECK(s[0].made == now && s[0].used == now + 5);
	/* A restart: the table from the file. */
	console_auth_clear();
	CHECK(!console_session_check(id, now + 6));
	console_session_restore(s, n);
	CHECK(console_session_check(id, now + 6));
	/* The idle limit holds across it, */
	console_session_restore(s, n);
	CHECK(console_session_prune(now + 5 + CONSOLE_IDLE_MS - 1) == 0);
	CHECK(!console_session_check(id, now + 5 + CONSOLE_IDLE_MS));
	/* and the cap, */
	s[0].used = now + CONSOLE_MAX_AGE_MS - 1;
	console_session_restore(s, n);
	CHECK(console_session_prune(now + CONSOLE_MAX_AGE_MS) == 1);
	CHECK(console_session_list(s) == 0);
	CHECK(!console_session_check(id, now + CONSOLE_MAX_AGE_MS - 1));
	/* and a logout. */
	console_session_add(id, now);
	CHECK(console_session_end(id) == 1);
	CHECK(console_session_list(s) == 0);
	console_session_add(id, now);
	console_session_clear();
	CHECK(!console_session_check(id, now));
}

int
main(void)
{
	test_parse();
	test_table();
	return (check_done("console-session-store"));
}
