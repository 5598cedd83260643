/*
 * The audit log's verifier against each way of tampering with a log: real
 * chained lines are made here as qmsd writes them (audit-chain.h), then
 * changed, removed, reordered, cut or forged, and the verdict must name
 * the first spot in words.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit-verify.h"
#include "check.h"

#define MAXLINES	64

struct log {
	char	 line[MAXLINES][AUDIT_LINE_MAX + 2];
	size_t	 n;
};

static const char *const kinds[] = {
	"\"kind\":\"git\",\"agent\":\"claude\",\"caller\":\"agent\","
	    "\"verdict\":\"allowed\",\"rule\":\"default\","
	    "\"command\":\"git status\",\"outcome\":\"ok\",\"ms\":3,"
	    "\"bytes\":120",
	"\"kind\":\"tool\",\"agent\":\"docs\",\"server\":\"github\","
	    "\"tool\":\"create_issue\",\"outcome\":\"ok\"",
	"\"kind\":\"egress\",\"agent\":\"claude\",\"event\":\"denied\","
	    "\"method\":\"CONNECT\",\"target\":\"example.com:443\","
	    "\"status\":403,\"rule\":\"not-listed\",\"up\":0,\"down\":0,"
	    "\"ms\":0",
	"\"kind\":\"admin\",\"uid\":1000,\"pid\":4242,\"method\":\"up\","
	    "\"agent\":\"claude\",\"outcome\":\"ok\"",
};

/* Record seq (1-based) of body, chained to what is before it. */
static void
put(struct log *l, size_t i, unsigned long long seq, const char *body)
{
	char	prev[AUDIT_HASH_HEX];
	int	n;

	if (i == 0)
		snprintf(prev, sizeof(prev), "%s", AUDIT_GENESIS);
	else
		audit_line_hash(l->line[i - 1], strlen(l->line[i - 1]), prev);
	n = snprintf(l->line[i], sizeof(l->line[i]), "{\"seq\":%llu,\"time\":"
	    "\"2026-12-05T14:%02llu:%02llu.123Z\",\"prev\":\"%s\",%s}", seq,
	    seq / 60 % 60, seq % 60, prev, body);
	if (n < 0 || (size_t)n >= sizeof(l->line[i]))
		abort();	/* a body this test never makes */
}

/* A log of n records, as qmsd writes it. */
static void
make(struct log *l, size_t n)
{
	size_t	i;

	memset(l, 0, sizeof(*l));
	for (i = 0; i < n; i++)
		put(l, i, i + 1, kinds[i % 4]);
	l->n = n;
}

/* What one who knows the format does after changing line i: chain anew. */
static void
rechain(struct log *l, size_t from)
{
	char	body[AUDIT_LINE_MAX];
	char   *k;
	size_t	i;

	for (i = from; i < l->n; i++) {
		k = strstr(l->line[i], "\"kind\"");
		snprintf(body, sizeof(body), "%.*s", (int)strlen(k) - 1, k);
		put(l, i, strtoull(l->line[i] + 7, NULL, 10), body);
	}
}

static void
drop(struct log *l, size_t i, size_t count)
{
	memmove(l->line[i], l->line[i + count],
	    (l->n - i - count) * sizeof(l->line[0]));
	l->n -= count;
}

static void
move(struct log *l, size_t from, size_t to)
{
	char	tmp[AUDIT_LINE_MAX + 2];

	memcpy(tmp, l->line[from], sizeof(tmp));
	if (from < to)
		memmove(l->line[from], l->line[from + 1],
		    (to - from) * sizeof(l->line[0]));
	else
		memmove(l->line[to + 1], l->line[to],
		    (from - to) * sizeof(l->line[0]));
	memcpy(l->line[to], tmp, sizeof(tmp));
}

/* A byte of line i changed, the JSON still good: its milliseconds. */
static void
edit(struct log *l, size_t i)
{
	strstr(l->line[i], ".123Z")[3] = '4';
}

static void
hash_of(const struct log *l, size_t i, char out[AUDIT_HASH_HEX])
{
	audit_line_hash(l->line[i], strlen(l->line[i]), out);
}

struct head {
	unsigned long long	 seq;
	char			 hash[AUDIT_HASH_HEX];
	const char		*who;
};

static char	msg[AUDIT_VERIFY_MSG];

/* The verdict on l with heads; its message in msg. */
static int
verify(const struct log *l, const struct head *h, size_t nh)
{
	struct audit_verify	v;
	size_t			i;
	int			rc, failed = 0;

	audit_verify_init(&v);
	for (i = 0; i < nh; i++)
		if (audit_verify_expect(&v, h[i].seq, h[i].hash,
		    h[i].who) == -1)
			return (-2);
	for (i = 0; i < l->n; i++) {
		rc = audit_verify_line(&v, l->line[i], strlen(l->line[i]));
		/* Once -1, -1 for good. */
		if (failed && rc != -1)
			return (-3);
		failed = rc == -1;
	}
	rc = audit_verify_end(&v);
	if (failed && rc != -1)
		return (-3);
	snprintf(msg, sizeof(msg), "%s", audit_verify_message(&v));
	return (rc);
}

/* qmsd's head at record seq of the intact log orig. */
static struct head
head_at(const struct log *orig, size_t seq, const char *who)
{
	struct head	h;

	h.seq = seq;
	h.who = who;
	if (seq == 0)
		snprintf(h.hash, sizeof(h.hash), "%s", AUDIT_GENESIS);
	else
		hash_of(orig, seq - 1, h.hash);
	return (h);
}

static void
intact(void)
{
	struct log	l;
	struct head	h[2];
	char		want[256], hash[AUDIT_HASH_HEX];

	make(&l, 20);
	hash_of(&l, 19, hash);
	snprintf(want, sizeof(want), "audit log intact: 20 records, head "
	    "record 20 sha256 %s", hash);
	CHECK(verify(&l, NULL, 0) == 0);
	CHECK_STR(msg, want);
	h[0] = head_at(&l, 20, "qmsd's head");
	h[1] = head_at(&l, 7, "the head given");
	CHECK(verify(&l, h, 2) == 0);
	CHECK_STR(msg, want);

	/* Records past qmsd's head, written since it answered. */
	h[0] = head_at(&l, 17, "qmsd's head");
	CHECK(verify(&l, h, 1) == 0);
	CHECK_STR(msg, want);

	make(&l, 1);
	hash_of(&l, 0, hash);
	snprintf(want, sizeof(want), "audit log intact: 1 record, head "
	    "record 1 sha256 %s", hash);
	CHECK(verify(&l, NULL, 0) == 0);
	CHECK_STR(msg, want);

	/* The empty log: its head is record 0, the genesis. */
	make(&l, 0);
	CHECK(verify(&l, NULL, 0) == 0);
	CHECK_STR(msg, "audit log intact: 0 records");
	h[0] = head_at(&l, 0, "qmsd's head");
	CHECK(verify(&l, h, 1) == 0);
	make(&l, 3);
	CHECK(verify(&l, h, 1) == 0);
}

static void
changed(void)
{
	struct log	l, orig;
	struct head	h[2];

	make(&orig, 20);
	h[0] = head_at(&orig, 20, "qmsd's head");

	/* A byte of a record in the middle, of the first. */
	l = orig;
	edit(&l, 6);
	CHECK(verify(&l, h, 1) == -1);
	CHECK_STR(msg, "record 7 (line 7) was changed: record 8 names "
	    "another hash for it");
	l = orig;
	edit(&l, 0);
	CHECK(verify(&l, NULL, 0) == -1);
	CHECK_STR(msg, "record 1 (line 1) was changed: record 2 names "
	    "another hash for it");

	/* The last: only a head can tell. */
	l = orig;
	edit(&l, 19);
	CHECK(verify(&l, NULL, 0) == 0);
	CHECK(verify(&l, h, 1) == -1);
	CHECK_STR(msg, "record 20 (line 20, the last) was changed: it does "
	    "not hash to qmsd's head");

	/* A record's prev: the one before it no longer matches. */
	l = orig;
	l.line[9][strstr(l.line[9], "\"prev\":\"") - l.line[9] + 8] =
	    l.line[9][strstr(l.line[9], "\"prev\":\"") - l.line[9] + 8] ==
	    'a' ? 'b' : 'a';
	CHECK(verify(&l, NULL, 0) == -1);
	CHECK_STR(msg, "record 9 (line 9) was changed: record 10 names "
	    "another hash for it");

	/* Its seq, where the chain still holds. */
	l = orig;
	memcpy(l.line[6], "{\"seq\":9,", 9);
	CHECK(verify(&l, NULL, 0) == -1);
	CHECK_STR(msg, "record 7 (line 7) was changed: its seq reads 9");
	l = orig;
	memcpy(l.line[6], "{\"seq\":3,", 9);
	CHECK(verify(&l, NULL, 0) == -1);
	CHECK_STR(msg, "record 7 (line 7) was changed: its seq reads 3");
	l = orig;
	memcpy(l.line[19] + 7, "21", 2);
	CHECK(verify(&l, NULL, 0) == -1);
	CHECK_STR(msg, "record 20 (line 20) was changed: its seq reads 21");

	/* Record 1 naming a record before it. */
	l = orig;
	memcpy(strstr(l.line[0], "\"prev\":\"") + 8, "ab", 2);
	rechain(&l, 1);
	CHECK(verify(&l, NULL, 0) == -1);
	CHECK_STR(msg, "record 1 (line 1) names a previous record: its prev "
	    "is not the genesis (64 zeros)");

	/* Changed and the chain made again after it: the heads tell. */
	l = orig;
	edit(&l, 9);
	rechain(&l, 10);
	CHECK(verify(&l, NULL, 0) == 0);
	CHECK(verify(&l, h, 1) == -1);
	CHECK_STR(msg, "record 20 (line 20, the last) was changed: it does "
	    "not hash to qmsd's head");
	h[1] = head_at(&orig, 15, "the head given");
	CHECK(verify(&l, h, 2) == -1);
	CHECK_STR(msg, "record 15 (line 15) does not hash to the head given, "
	    "though the chain holds: records up to it were changed and the "
	    "chain rewritten");

	/* A record at a head changed alone: the next one says so too. */
	l = orig;
	edit(&l, 14);
	CHECK(verify(&l, h, 2) == -1);
	CHECK_STR(msg, "record 15 (line 15) was changed: record 16 names "
	    "another hash for it, as the head given does");
	/* ... and when the next line is not a record. */
	snprintf(l.line[15], sizeof(l.line[15]), "junk");
	CHECK(verify(&l, h, 2) == -1);
	CHECK_STR(msg, "record 15 (line 15) was changed: it does not hash to "
	    "the head given");
}

static void
removed(void)
{
	struct log	l, orig;
	struct head	h[2];

	make(&orig, 20);
	h[0] = head_at(&orig, 20, "qmsd's head");

	l = orig;
	drop(&l, 6, 1);
	CHECK(verify(&l, h, 1) == -1);
	CHECK_STR(msg, "record 7 was removed (after line 6)");
	l = orig;
	drop(&l, 16, 3);
	CHECK(verify(&l, h, 1) == -1);
	CHECK_STR(msg, "records 17-19 were removed (after line 16)");

	/* The first ones. */
	l = orig;
	drop(&l, 0, 1);
	CHECK(verify(&l, NULL, 0) == -1);
	CHECK_STR(msg, "record 1 was removed: the log begins at record 2");
	l = orig;
	drop(&l, 0, 3);
	CHECK(verify(&l, h, 1) == -1);
	CHECK_STR(msg, "records 1-3 were removed: the log begins at record 4");

	/* The last ones, the end cut: only a head can tell. */
	l = orig;
	drop(&l, 19, 1);
	CHECK(verify(&l, NULL, 0) == 0);
	CHECK(verify(&l, h, 1) == -1);
	CHECK_STR(msg, "the log ends at record 19 but qmsd's head is record "
	    "20: record 20 was removed (truncated)");
	l = orig;
	l.n = 12;
	CHECK(verify(&l, h, 1) == -1);
	CHECK_STR(msg, "the log ends at record 12 but qmsd's head is record "
	    "20: records 13-20 were removed (truncated)");
	/* The first head past the end is named. */
	h[1] = head_at(&orig, 15, "the head given");
	CHECK(verify(&l, h, 2) == -1);
	CHECK_STR(msg, "the log ends at record 12 but the head given is "
	    "record 15: records 13-15 were removed (truncated)");
	l.n = 0;
	CHECK(verify(&l, h, 1) == -1);
	CHECK_STR(msg, "the log is empty but qmsd's head is record 20: "
	    "records 1-20 were removed (truncated)");

	/* A problem before the end is the one named. */
	l = orig;
	l.n = 12;
	drop(&l, 4, 1);
	CHECK(verify(&l, h, 1) == -1);
	CHECK_STR(msg, "record 5 was removed (after line 4)");

	/* Removed, and the chain made again: the heads tell. */
	l = orig;
	drop(&l, 4, 1);
	rechain(&l, 4);
	CHECK(verify(&l, NULL, 0) == -1);
	CHECK_STR(msg, "record 5 was removed (after line 4) and the chain "
	    "rewritten over the gap");
	l = orig;
	drop(&l, 4, 3);
	rechain(&l, 4);
	CHECK(verify(&l, NULL, 0) == -1);
	CHECK_STR(msg, "records 5-7 were removed (after line 4) and the "
	    "chain rewritten over the gap");
}

static void
reordered(void)
{
	struct log	l, orig;
	struct head	h[1];

	make(&orig, 20);
	h[0] = head_at(&orig, 20, "qmsd's head");

	/* Two swapped. */
	l = orig;
	move(&l, 6, 7);
	CHECK(verify(&l, h, 1) == -1);
	CHECK_STR(msg, "record 8 (line 7) is out of order: it comes before "
	    "record 7 (line 8)");
	l = orig;
	move(&l, 0, 1);
	CHECK(verify(&l, h, 1) == -1);
	CHECK_STR(msg, "record 2 (line 1) is out of order: it comes before "
	    "record 1 (line 2)");
	l = orig;
	move(&l, 18, 19);
	CHECK(verify(&l, h, 1) == -1);
	CHECK_STR(msg, "record 20 (line 19) is out of order: it comes before "
	    "record 19 (line 20)");

	/* One moved later, one moved earlier. */
	l = orig;
	move(&l, 11, 13);
	CHECK(verify(&l, h, 1) == -1);
	CHECK_STR(msg, "record 13 (line 12) is out of order: it comes before "
	    "record 12 (line 14)");
	l = orig;
	move(&l, 13, 11);
	CHECK(verify(&l, h, 1) == -1);
	CHECK_STR(msg, "record 14 (line 12) is out of order: it comes before "
	    "record 12 (line 13)");

	/* Copied: again at once, or further on. */
	l = orig;
	memmove(l.line[14], l.line[13], 7 * sizeof(l.line[0]));
	l.n = 21;
	CHECK(verify(&l, h, 1) == -1);
	CHECK_STR(msg, "record 14 (line 15) is out of order: it repeats "
	    "record 14 (line 14)");
	l = orig;
	memcpy(l.line[20], l.line[11], sizeof(l.line[0]));
	l.n = 21;
	CHECK(verify(&l, h, 1) == -1);
	CHECK_STR(msg, "record 12 (line 21) is out of order: it follows "
	    "record 20");
}

static void
forged(void)
{
	static const char	*forgery = "\"kind\":\"git\",\"agent\":"
				    "\"mallory\",\"verdict\":\"allowed\"";
	struct log	l, orig;
	struct head	h[2];
	char		want[256], hash[AUDIT_HASH_HEX];

	make(&orig, 20);
	h[0] = head_at(&orig, 20, "qmsd's head");

	/* Appended past qmsd's head, chained right: a chain cannot tell. */
	l = orig;
	put(&l, 20, 21, kinds[3]);
	put(&l, 21, 22, kinds[0]);
	l.n = 22;
	hash_of(&l, 21, hash);
	snprintf(want, sizeof(want), "audit log intact: 22 records, head "
	    "record 22 sha256 %s", hash);
	CHECK(verify(&l, h, 1) == 0);
	CHECK_STR(msg, want);

	/* The end cut and forged records put in its place: the head tells. */
	l = orig;
	put(&l, 17, 18, forgery);
	put(&l, 18, 19, forgery);
	put(&l, 19, 20, forgery);
	put(&l, 20, 21, forgery);
	l.n = 21;
	CHECK(verify(&l, NULL, 0) == 0);
	CHECK(verify(&l, h, 1) == -1);
	CHECK_STR(msg, "record 20 (line 20) does not hash to qmsd's head, "
	    "though the chain holds: records up to it were changed and the "
	    "chain rewritten");
	/* A journal's older head tells it earlier. */
	h[1] = head_at(&orig, 18, "the head given");
	CHECK(verify(&l, h, 2) == -1);
	CHECK_STR(msg, "record 18 (line 18) does not hash to the head given, "
	    "though the chain holds: records up to it were changed and the "
	    "chain rewritten");
}

static void
not_records(void)
{
	static const struct {
		const char	*line;
		const char	*want;
	} rows[] = {
		{ "", "line 5 is not a record: it is empty" },
		{ "hello", "line 5 is not a record: it does not begin "
		    "{\"seq\":N," },
		{ "{\"seq\": 5,\"time\":\"x\"}", "line 5 is not a record: it "
		    "does not begin {\"seq\":N," },
		{ "{\"seq\":05,", "line 5 is not a record: it does not begin "
		    "{\"seq\":N," },
		{ "{\"seq\":5,\"time\":", "line 5 is not a record: it is not "
		    "JSON" },
		{ "{\"seq\":5}", "line 5 is not a record: it does not begin "
		    "{\"seq\":N," },
		{ "{\"seq\":5,\"time\":\"t\",\"prev\":\"" AUDIT_GENESIS
		    "\",\"kind\":\"git\"}{}", "line 5 is not a record: it is "
		    "not JSON" },
		{ "{\"seq\":5,\"time\":\"t\",\"prev\":\"" AUDIT_GENESIS
		    "\",\"kind\":\"git\"} ", "line 5 is not a record: it is "
		    "not JSON" },
		{ "{\"seq\":5,\"prev\":\"" AUDIT_GENESIS "\",\"time\":\"t\","
		    "\"kind\":\"git\"}", "line 5 is not a record: it does not "
		    "begin with seq, time, prev and kind" },
		{ "{\"seq\":5,\"time\":\"t\",\"prev\":\"" AUDIT_GENESIS
		    "\"}", "line 5 is not a record: it does not begin with "
		    "seq, time, prev and kind" },
		{ "{\"seq\":5,\"time\":7,\"prev\":\"" AUDIT_GENESIS
		    "\",\"kind\":\"git\"}", "line 5 is not a record: it does "
		    "not begin with seq, time, prev and kind" },
		{ "{\"seq\":5,\"time\":\"t\",\"prev\":\"abc\",\"kind\":"
		    "\"git\"}", "line 5 is not a record: its prev is not 64 "
		    "lowercase hex digits" },
		{ "{\"seq\":5,\"time\":\"t\",\"prev\":\"" "ABCDEF"
		    "0000000000000000000000000000000000000000000000000000000000"
		    "\",\"kind\":\"git\"}", "line 5 is not a record: its prev "
		    "is not 64 lowercase hex digits" },
		{ "{\"seq\":5,\"time\":\"t\",\"prev\":\"\t\"}",
		    "line 5 is not a record: it holds a control character "
		    "(0x09) at byte 29" },
	};
	struct log	l, orig;
	size_t		i;

	make(&orig, 8);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		l = orig;
		snprintf(l.line[4], sizeof(l.line[4]), "%s", rows[i].line);
		CHECK(verify(&l, NULL, 0) == -1);
		CHECK_STR(msg, rows[i].want);
	}

	/* Too long, by one byte; just long enough, as a writer may make. */
	l = orig;
	memset(l.line[4], 'x', AUDIT_LINE_MAX + 1);
	CHECK(verify(&l, NULL, 0) == -1);
	CHECK_STR(msg, "line 5 is not a record: it is longer than 4096 "
	    "bytes");
	l = orig;
	l.n = 5;
	snprintf(l.line[4], sizeof(l.line[4]), "%.*s,\"pad\":\"%*s\"}",
	    (int)strlen(orig.line[4]) - 1, orig.line[4],
	    (int)(AUDIT_LINE_MAX - strlen(orig.line[4]) - 9), "");
	CHECK(strlen(l.line[4]) == AUDIT_LINE_MAX);
	CHECK(verify(&l, NULL, 0) == 0);

	/* A NUL in a line: not read past, not a record. */
	l = orig;
	l.line[4][20] = '\0';
	CHECK(verify(&l, NULL, 0) == -1);
	CHECK_STR(msg, "line 5 is not a record: it is not JSON");
	l = orig;
	{
		struct audit_verify	v;

		audit_verify_init(&v);
		for (i = 0; i < 4; i++)
			CHECK(audit_verify_line(&v, l.line[i],
			    strlen(l.line[i])) == 0);
		CHECK(audit_verify_line(&v, l.line[4] - 0, 30) == -1);
		CHECK(audit_verify_end(&v) == -1);
		CHECK_STR(audit_verify_message(&v), "line 5 is not a record: "
		    "it is not JSON");
		l.line[5][10] = '\0';
		audit_verify_init(&v);
		for (i = 0; i < 5; i++)
			audit_verify_line(&v, l.line[i], strlen(l.line[i]));
		CHECK(audit_verify_line(&v, l.line[5],
		    strlen(orig.line[5])) == -1);
		audit_verify_end(&v);
		CHECK_STR(audit_verify_message(&v), "line 6 is not a record: "
		    "it holds a control character (0x00) at byte 11");
	}
}

static void
expectations(void)
{
	struct audit_verify	v;
	struct log		l;
	char			hash[AUDIT_HASH_HEX], upper[AUDIT_HASH_HEX];
	size_t			i;

	make(&l, 3);
	hash_of(&l, 2, hash);
	audit_verify_init(&v);
	CHECK(audit_verify_expect(&v, 3, "abc", "x") == -1);
	CHECK(audit_verify_expect(&v, 3, "", "x") == -1);
	snprintf(upper, sizeof(upper), "%s", hash);
	upper[0] = 'g';
	CHECK(audit_verify_expect(&v, 3, upper, "x") == -1);
	/* The empty log's head is the genesis and nothing else. */
	CHECK(audit_verify_expect(&v, 0, hash, "x") == -1);
	CHECK(audit_verify_expect(&v, 0, AUDIT_GENESIS, "x") == 0);
	/* Either case: a hash copied by hand. */
	for (i = 0; hash[i] != '\0'; i++)
		upper[i] = hash[i] >= 'a' ? (char)(hash[i] - 'a' + 'A') :
		    hash[i];
	CHECK(audit_verify_expect(&v, 3, upper, "x") == 0);
	CHECK(audit_verify_expect(&v, 3, hash, "x") == 0);
	CHECK(audit_verify_expect(&v, 2, hash, "the wrong one") == 0);
	CHECK(audit_verify_expect(&v, 1, hash, "x") == -1);
	for (i = 0; i < l.n; i++)
		audit_verify_line(&v, l.line[i], strlen(l.line[i]));
	CHECK(audit_verify_end(&v) == -1);
	/* A head that is wrong is a log rewritten, as far as a log tells. */
	CHECK_STR(audit_verify_message(&v), "record 2 (line 2) does not hash "
	    "to the wrong one, though the chain holds: records up to it were "
	    "changed and the chain rewritten");

	/* Not after the first line: its record may be gone by. */
	audit_verify_init(&v);
	CHECK(audit_verify_line(&v, l.line[0], strlen(l.line[0])) == 0);
	CHECK(audit_verify_expect(&v, 3, hash, "x") == -1);

	/* Done is done: more lines change nothing. */
	CHECK(audit_verify_end(&v) == 0);
	CHECK(audit_verify_line(&v, "junk", 4) == -1);
	CHECK(audit_verify_end(&v) == 0);
	CHECK(strncmp(audit_verify_message(&v), "audit log intact: 1 record,",
	    27) == 0);
}

int
main(void)
{
	intact();
	changed();
	removed();
	reordered();
	forged();
	not_records();
	expectations();
	return (check_done("audit-verify"));
}
