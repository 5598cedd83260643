/*
 * The egress audit: what the journal gets (the fields), the ring that
 * `qmsctl egress` reads (bounded, per agent, oldest first), the followers
 * of `egress -f`, and the counts that status and ps show.
 */
#include <sys/uio.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "egress-audit.h"
#include "log.h"

/* The last record sent to the "journal", its fields one string each. */
static char	journal[16][1024];
static int	njournal, nsent;

static int
fake_journal(const struct iovec *iov, int n)
{
	int	i;

	nsent++;
	njournal = n;
	for (i = 0; i < n && i < 16; i++)
		snprintf(journal[i], sizeof(journal[i]), "%.*s",
		    (int)iov[i].iov_len, (const char *)iov[i].iov_base);
	return (0);
}

/* The value of field NAME= in the last journal record, or NULL. */
static const char *
field(const char *name)
{
	size_t	len = strlen(name);
	int	i;

	for (i = 0; i < njournal; i++)
		if (strncmp(journal[i], name, len) == 0 &&
		    journal[i][len] == '=')
			return (journal[i] + len + 1);
	return (NULL);
}

static void
rec(const char *agent, const char *event, const char *target, int status)
{
	struct egress_record	r;

	memset(&r, 0, sizeof(r));
	r.time.tv_sec = 1796000000;
	r.time.tv_nsec = 42000000;
	r.agent = agent;
	r.event = event;
	r.method = "CONNECT";
	r.target = target;
	r.status = status;
	if (strcmp(event, "denied") == 0) {
		r.rule = "not-listed";
		r.reason = "not listed";
	} else
		r.address = "127.0.0.1:443";
	if (strcmp(event, "closed") == 0) {
		r.bytes_up = 100;
		r.bytes_down = 2000;
		r.duration_ms = 7;
	}
	egress_audit_record(&r);
}

/* What egress_audit_tail gave, as "agent target" lines. */
static char	got[64 * 1024];

static void
collect(const struct egress_record *r, void *arg)
{
	size_t	len = strlen(got);

	snprintf(got + len, sizeof(got) - len, "%s%s %s", len ? "," : "",
	    r->agent, r->target);
}

static const char *
tail(const char *agent, size_t n)
{
	got[0] = '\0';
	egress_audit_tail(agent, n, collect, NULL);
	return (got);
}

static double
count(const char *agent, const char *key)
{
	cJSON	*o = egress_audit_counts(agent);
	double	 v = cJSON_GetNumberValue(cJSON_GetObjectItem(o, key));

	cJSON_Delete(o);
	return (v);
}

static void
test_journal(void)
{
	nsent = 0;
	rec("claude", "denied", "127.0.0.1:9", 403);
	CHECK(nsent == 1);
	CHECK_STR(field("QMSD_COMPONENT"), "egress");
	CHECK_STR(field("PRIORITY"), "6");
	CHECK_STR(field("QMSD_AGENT"), "claude");
	CHECK_STR(field("QMSD_EGRESS_EVENT"), "denied");
	CHECK_STR(field("QMSD_EGRESS_METHOD"), "CONNECT");
	CHECK_STR(field("QMSD_EGRESS_TARGET"), "127.0.0.1:9");
	CHECK(field("QMSD_EGRESS_ADDRESS") == NULL);
	CHECK_STR(field("QMSD_EGRESS_STATUS"), "403");
	CHECK_STR(field("QMSD_EGRESS_RULE"), "not-listed");
	CHECK_STR(field("QMSD_EGRESS_REASON"), "not listed");
	CHECK_STR(field("QMSD_EGRESS_BYTES_UP"), "0");
	CHECK_STR(field("QMSD_EGRESS_DURATION_MS"), "0");
	CHECK_STR(field("MESSAGE"), "claude: denied CONNECT 127.0.0.1:9 -> "
	    "403 by not-listed, 0 bytes up, 0 down, 0 ms: not listed");

	rec("claude", "closed", "example.com:443", 200);
	CHECK_STR(field("QMSD_EGRESS_ADDRESS"), "127.0.0.1:443");
	CHECK(field("QMSD_EGRESS_RULE") == NULL);
	CHECK_STR(field("QMSD_EGRESS_BYTES_UP"), "100");
	CHECK_STR(field("QMSD_EGRESS_BYTES_DOWN"), "2000");
	CHECK_STR(field("QMSD_EGRESS_DURATION_MS"), "7");
	CHECK_STR(field("MESSAGE"), "claude: closed CONNECT example.com:443 "
	    "at 127.0.0.1:443 -> 200, 100 bytes up, 2000 down, 7 ms");
}

static void
test_ring(void)
{
	char	target[32], want[64];
	int	i;

	egress_audit_shutdown();
	egress_audit_init();
	CHECK_STR(tail(NULL, 50), "");
	rec("a", "denied", "one:1", 403);
	rec("b", "denied", "two:2", 403);
	rec("a", "denied", "three:3", 403);
	CHECK_STR(tail(NULL, 50), "a one:1,b two:2,a three:3");
	CHECK_STR(tail(NULL, 2), "b two:2,a three:3");
	CHECK_STR(tail("a", 50), "a one:1,a three:3");
	CHECK_STR(tail("a", 1), "a three:3");
	CHECK_STR(tail("b", 50), "b two:2");
	CHECK_STR(tail("c", 50), "");
	CHECK_STR(tail(NULL, 0), "");

	/*
	 * Bounded: the oldest go, of the agent over its share (c's flood),
	 * never those of the agents within theirs (a's, b's).
	 */
	for (i = 0; i < EGRESS_AUDIT_RING + 5; i++) {
		snprintf(target, sizeof(target), "h%d:1", i);
		rec(i == EGRESS_AUDIT_RING + 4 ? "b" : "c", "denied", target,
		    403);
	}
	CHECK(egress_audit_tail(NULL, 1000000, collect, NULL) ==
	    EGRESS_AUDIT_RING);
	CHECK_STR(tail("a", 50), "a one:1,a three:3");
	snprintf(want, sizeof(want), "b two:2,b h%d:1", EGRESS_AUDIT_RING + 4);
	CHECK_STR(tail("b", 50), want);
	snprintf(want, sizeof(want), "c h%d:1", EGRESS_AUDIT_RING + 3);
	CHECK_STR(tail("c", 1), want);
	tail(NULL, 1000000);
	CHECK(strncmp(got, "a one:1,b two:2,a three:3,c h8:1,c h9:1,", 40) ==
	    0);
	/* The flood goes on: its own oldest go, a's and b's stay. */
	for (i = 0; i < EGRESS_AUDIT_RING; i++) {
		snprintf(target, sizeof(target), "z%d:1", i);
		rec("c", "denied", target, 403);
	}
	CHECK_STR(tail("a", 50), "a one:1,a three:3");
	tail("c", 1000000);
	CHECK(strncmp(got, "c z4:1,c z5:1,", 14) == 0);
}

/* A string longer than the ring keeps, and bytes no terminal should get. */
static void
test_copies(void)
{
	struct egress_record	r;
	char			 long_target[4096];

	egress_audit_shutdown();
	egress_audit_init();
	memset(long_target, 'x', sizeof(long_target) - 1);
	long_target[sizeof(long_target) - 1] = '\0';
	memset(&r, 0, sizeof(r));
	r.agent = "claude";
	r.event = "denied";
	r.method = "CONNECT";
	r.target = long_target;
	r.reason = "bad\r\n\033[2Jname\xff";
	r.status = 400;
	egress_audit_record(&r);
	got[0] = '\0';
	egress_audit_tail(NULL, 1, collect, NULL);
	CHECK(strlen(got) == strlen("claude ") + EGRESS_MAX_AUTHORITY);
	CHECK_STR(field("QMSD_EGRESS_REASON"), "bad???[2Jname?");
	/* No time given: now, not 1970. */
	CHECK(field("MESSAGE") != NULL);
}

static void
test_counts(void)
{
	egress_audit_shutdown();
	egress_audit_init();
	CHECK(count("claude", "allowed") == 0);
	CHECK(count("claude", "open") == 0);
	rec("claude", "denied", "x:1", 403);
	rec("claude", "denied", "y:1", 403);
	rec("claude", "open", "z:443", 200);
	egress_audit_open("claude", 1);
	rec("claude", "failed", "w:443", 502);
	rec("docs", "open", "z:443", 200);
	egress_audit_open("docs", 1);
	CHECK(count("claude", "allowed") == 2);
	CHECK(count("claude", "failed") == 1);
	CHECK(count("claude", "denied") == 2);
	CHECK(count("claude", "open") == 1);
	CHECK(count("claude", "bytes_up") == 0);
	rec("claude", "closed", "z:443", 200);
	egress_audit_open("claude", -1);
	CHECK(count("claude", "open") == 0);
	CHECK(count("claude", "bytes_up") == 100);
	CHECK(count("claude", "bytes_down") == 2000);
	CHECK(count("claude", "allowed") == 2);
	/* Never below 0. */
	egress_audit_open("claude", -1);
	CHECK(count("claude", "open") == 0);
	CHECK(count("docs", "open") == 1);
	CHECK(count("docs", "allowed") == 1);
	CHECK(count("docs", "denied") == 0);
	CHECK(count("nobody", "allowed") == 0);
}

struct fol {
	int	 n;
	void	*handle;
	void	*other;		/* removed when this one is told */
	char	 last[64];
};

static void
told(const struct egress_record *r, void *arg)
{
	struct fol	*f = arg;

	f->n++;
	snprintf(f->last, sizeof(f->last), "%s %s", r->agent, r->target);
	if (f->other != NULL) {
		egress_audit_follow_remove(f->other);
		f->other = NULL;
	}
}

/* Leaves as it is told, as a follower whose client went away does. */
static void
told_and_left(const struct egress_record *r, void *arg)
{
	struct fol	*f = arg;

	f->n++;
	egress_audit_follow_remove(f->handle);
}

static void
test_followers(void)
{
	struct fol	all = { 0 }, a = { 0 }, gone = { 0 }, victim = { 0 };
	struct fol	after = { 0 };

	egress_audit_shutdown();
	egress_audit_init();
	all.handle = egress_audit_follow_add(NULL, told, &all);
	a.handle = egress_audit_follow_add("a", told, &a);
	rec("a", "denied", "one:1", 403);
	rec("b", "denied", "two:2", 403);
	CHECK(all.n == 2);
	CHECK_STR(all.last, "b two:2");
	CHECK(a.n == 1);
	CHECK_STR(a.last, "a one:1");

	gone.handle = egress_audit_follow_add(NULL, told_and_left, &gone);
	after.handle = egress_audit_follow_add(NULL, told, &after);
	rec("b", "denied", "three:3", 403);
	rec("b", "denied", "four:4", 403);
	CHECK(gone.n == 1);
	CHECK(all.n == 4);
	CHECK(after.n == 2);
	egress_audit_follow_remove(after.handle);

	/* One told removes the next before it is told. */
	victim.handle = egress_audit_follow_add(NULL, told, &victim);
	egress_audit_follow_remove(all.handle);
	all.handle = egress_audit_follow_add(NULL, told, &all);
	/* Order now: a, victim, all; a only hears "a". */
	egress_audit_follow_remove(a.handle);
	a.handle = egress_audit_follow_add(NULL, told, &a);
	/* Order: victim, all, a; all removes a before a is told. */
	all.other = a.handle;
	rec("b", "denied", "five:5", 403);
	CHECK(victim.n == 1);
	CHECK(a.n == 1);
	egress_audit_follow_remove(victim.handle);
	egress_audit_follow_remove(all.handle);
	rec("b", "denied", "six:6", 403);
	CHECK(victim.n == 1);
}

static const char	*hooked[8];
static int		 nhooked;

static void
hook(const char *agent)
{
	if (nhooked < 8)
		hooked[nhooked] = agent;
	nhooked++;
}

static void
test_hook(void)
{
	egress_audit_shutdown();
	egress_audit_init();
	egress_audit_set_hook(hook);
	rec("claude", "denied", "x:1", 403);
	egress_audit_open("docs", 1);
	CHECK(nhooked == 2);
	CHECK_STR(hooked[0], "claude");
	CHECK_STR(hooked[1], "docs");
	egress_audit_set_hook(NULL);
}

static void
test_json(void)
{
	struct egress_record	 r;
	cJSON			*o;
	char			*s;

	memset(&r, 0, sizeof(r));
	r.time.tv_sec = 1796000000;
	r.time.tv_nsec = 42999999;
	r.agent = "claude";
	r.event = "denied";
	r.method = "CONNECT";
	r.target = "127.0.0.1:9";
	r.status = 403;
	r.rule = "not-listed";
	r.reason = "why";
	o = egress_audit_record_json(&r);
	s = cJSON_PrintUnformatted(o);
	CHECK_STR(s, "{\"time\":\"2026-11-30T00:53:20.042Z\","
	    "\"agent\":\"claude\",\"event\":\"denied\",\"method\":\"CONNECT\","
	    "\"target\":\"127.0.0.1:9\",\"path\":null,\"address\":null,"
	    "\"status\":403,\"rule\":\"not-listed\",\"reason\":\"why\","
	    "\"bytes_up\":0,\"bytes_down\":0,\"duration_ms\":0}");
	free(s);
	cJSON_Delete(o);

	/* An intercepted request's record has its path. */
	r.event = "secret";
	r.method = "GET";
	r.path = "/api/v3/user";
	o = egress_audit_record_json(&r);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(o, "path")),
	    "/api/v3/user");
	cJSON_Delete(o);
}

/* A proxy that closes its tunnels after the audit went: journal only. */
static void
test_after_shutdown(void)
{
	egress_audit_shutdown();
	nsent = 0;
	rec("claude", "closed", "x:443", 200);
	egress_audit_open("claude", -1);
	CHECK(nsent == 1);
	CHECK(count("claude", "bytes_up") == 0);
	CHECK_STR(tail(NULL, 10), "");
}

int
main(void)
{
	log_init("test-egress-audit", fake_journal);
	log_use_journal();
	egress_audit_init();
	test_journal();
	test_ring();
	test_copies();
	test_counts();
	test_followers();
	test_hook();
	test_json();
	test_after_shutdown();
	return (check_done("egress-audit"));
}
