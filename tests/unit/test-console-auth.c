/* console-auth.c: links once and for a minute, sessions that expire. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "console-auth.h"

static void
secret(char out[CONSOLE_SECRET_LEN + 1], int n)
{
	snprintf(out, CONSOLE_SECRET_LEN + 1, "%064x", n);
}

static void
test_random(void)
{
	char	a[CONSOLE_SECRET_LEN + 1], b[CONSOLE_SECRET_LEN + 1];

	console_auth_random(a);
	console_auth_random(b);
	CHECK(strlen(a) == CONSOLE_SECRET_LEN);
	CHECK(strspn(a, "0123456789abcdef") == CONSOLE_SECRET_LEN);
	CHECK(strcmp(a, b) != 0);
}

static void
test_links(void)
{
	char	s[CONSOLE_SECRET_LEN + 1], t[CONSOLE_SECRET_LEN + 1];
	char	bad[CONSOLE_SECRET_LEN + 2];
	int	i;

	console_auth_clear();
	secret(s, 1);
	console_link_add(s, 1000);
	CHECK(console_links(1000) == 1);
	/* Once. */
	CHECK(console_link_use(s, 1000 + CONSOLE_LINK_MS - 1) ==
	    CONSOLE_LINK_OK);
	CHECK(console_link_use(s, 1001) == CONSOLE_LINK_UNKNOWN);
	CHECK(console_links(1001) == 0);
	/* Not after its minute, and spent by the try. */
	console_link_add(s, 1000);
	CHECK(console_link_use(s, 1000 + CONSOLE_LINK_MS) ==
	    CONSOLE_LINK_EXPIRED);
	CHECK(console_link_use(s, 1000) == CONSOLE_LINK_UNKNOWN);
	/* Only the very secret: not a prefix, not longer, not another. */
	console_link_add(s, 1000);
	secret(t, 2);
	CHECK(console_link_use(t, 1000) == CONSOLE_LINK_UNKNOWN);
	CHECK(console_link_use("", 1000) == CONSOLE_LINK_UNKNOWN);
	CHECK(console_link_use(NULL, 1000) == CONSOLE_LINK_UNKNOWN);
	memcpy(bad, s, CONSOLE_SECRET_LEN);
	bad[CONSOLE_SECRET_LEN - 1] = '\0';
	CHECK(console_link_use(bad, 1000) == CONSOLE_LINK_UNKNOWN);
	memcpy(bad, s, CONSOLE_SECRET_LEN);
	bad[CONSOLE_SECRET_LEN] = '0';
	bad[CONSOLE_SECRET_LEN + 1] = '\0';
	CHECK(console_link_use(bad, 1000) == CONSOLE_LINK_UNKNOWN);
	memcpy(bad, s, CONSOLE_SECRET_LEN + 1);
	bad[0] = 'A';		/* the upper case is another secret */
	CHECK(console_link_use(bad, 1000) == CONSOLE_LINK_UNKNOWN);
	CHECK(console_link_use(s, 1000) == CONSOLE_LINK_OK);
	/* An empty slot matches no all-zero-looking input either. */
	console_auth_clear();
	CHECK(console_link_use("", 0) == CONSOLE_LINK_UNKNOWN);
	/* Bounded: the oldest pending link gives way to the newest. */
	for (i = 0; i < CONSOLE_MAX_LINKS + 1; i++) {
		secret(t, 100 + i);
		console_link_add(t, 2000 + i);
	}
	CHECK(console_links(2000 + i) == CONSOLE_MAX_LINKS);
	secret(t, 100);
	CHECK(console_link_use(t, 2000 + i) == CONSOLE_LINK_UNKNOWN);
	secret(t, 101);
	CHECK(console_link_use(t, 2000 + i) == CONSOLE_LINK_OK);
	secret(t, 100 + CONSOLE_MAX_LINKS);
	CHECK(console_link_use(t, 2000 + i) == CONSOLE_LINK_OK);
}

static void
test_sessions(void)
{
	char		s[CONSOLE_SECRET_LEN + 1], t[CONSOLE_SECRET_LEN + 1];
	uint64_t	now = 5000;
	int		i;

	console_auth_clear();
	secret(s, 7);
	CHECK(!console_session_check(s, now));
	console_session_add(s, now);
	CHECK(console_session_check(s, now));
	/* Idle: alive just before CONSOLE_IDLE_MS, and use restarts it. */
	CHECK(console_session_check(s, now + CONSOLE_IDLE_MS - 1));
	CHECK(console_session_check(s, now + 2 * CONSOLE_IDLE_MS - 2));
	CHECK(!console_session_check(s, now + 3 * CONSOLE_IDLE_MS));
	CHECK(console_sessions(now) == 0);
	/* The absolute cap, however busy. */
	console_session_add(s, now);
	for (i = 1; (uint64_t)i * 3600 * 1000 < CONSOLE_MAX_AGE_MS; i++)
		CHECK(console_session_check(s, now + (uint64_t)i * 3600 *
		    1000));
	CHECK(!console_session_check(s, now + CONSOLE_MAX_AGE_MS));
	/* Logout. */
	console_session_add(s, now);
	CHECK(console_session_end(s) == 1);
	CHECK(console_session_end(s) == 0);
	CHECK(!console_session_check(s, now));
	/* Bounded: the session idle longest gives way. */
	for (i = 0; i < CONSOLE_MAX_SESSIONS; i++) {
		secret(t, 200 + i);
		console_session_add(t, now + i);
	}
	secret(t, 200);
	CHECK(console_session_check(t, now + 100));	/* 201 is idlest */
	secret(t, 999);
	console_session_add(t, now + 101);
	CHECK(console_sessions(now + 101) == CONSOLE_MAX_SESSIONS);
	secret(t, 201);
	CHECK(!console_session_check(t, now + 102));
	secret(t, 200);
	CHECK(console_session_check(t, now + 102));
	secret(t, 999);
	CHECK(console_session_check(t, now + 102));
}

static void
test_hash(void)
{
	char	h[CONSOLE_SECRET_LEN + 1], s[CONSOLE_SECRET_LEN + 1];

	/* FIPS 180-2's example. */
	console_session_hash("abc", h);
	CHECK_STR(h, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	/* A session's time may run back (the wall clock set back): it is
	 * still live, and its last use is not moved back. */
	console_auth_clear();
	secret(s, 8);
	console_session_add(s, 100000);
	CHECK(console_session_check(s, 90000));
	CHECK(console_session_check(s, 100000 + CONSOLE_IDLE_MS - 1));
	console_auth_clear();
}

static void
test_cookie(void)
{
	const char	*v;
	size_t		 len = 0;

	v = console_cookie("a=1; qmsd_console=abc; b=2", "qmsd_console",
	    &len);
	CHECK(v != NULL && len == 3 && strncmp(v, "abc", 3) == 0);
	v = console_cookie("qmsd_console=x", "qmsd_console", &len);
	CHECK(v != NULL && len == 1 && *v == 'x');
	v = console_cookie("qmsd_console=first;qmsd_console=second ",
	    "qmsd_console", &len);
	CHECK(v != NULL && len == 5 && strncmp(v, "first", 5) == 0);
	v = console_cookie("x=1;  qmsd_console=y  ", "qmsd_console", &len);
	CHECK(v != NULL && len == 1 && *v == 'y');
	v = console_cookie("qmsd_console=", "qmsd_console", &len);
	CHECK(v != NULL && len == 0);
	CHECK(console_cookie(NULL, "qmsd_console", &len) == NULL);
	CHECK(console_cookie("", "qmsd_console", &len) == NULL);
	CHECK(console_cookie(";;;", "qmsd_console", &len) == NULL);
	CHECK(console_cookie("xqmsd_console=1", "qmsd_console", &len) == NULL);
	CHECK(console_cookie("qmsd_consolex=1", "qmsd_console", &len) == NULL);
	CHECK(console_cookie("qmsd_console", "qmsd_console", &len) == NULL);
	CHECK(console_cookie("a=qmsd_console=1", "qmsd_console", &len) ==
	    NULL);
}

/* The page's key: lowercase hex, the same for the same id and secret,
 * another for another of either. */
static void
test_key(void)
{
	char	id[CONSOLE_SECRET_LEN + 1], k1[CONSOLE_SECRET_LEN + 1];
	char	k2[CONSOLE_SECRET_LEN + 1], k3[CONSOLE_SECRET_LEN + 1];

	memset(id, 'a', CONSOLE_SECRET_LEN);
	id[CONSOLE_SECRET_LEN] = '\0';
	console_session_key(id, "host token one", k1);
	CHECK(strlen(k1) == CONSOLE_SECRET_LEN);
	CHECK(strspn(k1, "0123456789abcdef") == CONSOLE_SECRET_LEN);
	console_session_key(id, "host token one", k2);
	CHECK(strcmp(k1, k2) == 0);
	console_session_key(id, "host token two", k2);
	CHECK(strcmp(k1, k2) != 0);
	id[0] = 'b';
	console_session_key(id, "host token one", k3);
	CHECK(strcmp(k1, k3) != 0);
	CHECK(strcmp(k1, id) != 0);
}

int
main(void)
{
	test_random();
	test_links();
	test_sessions();
	test_hash();
	test_cookie();
	test_key();
	return (check_done("console-auth"));
}
