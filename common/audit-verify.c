/*
 * The audit log's verifier (audit-verify.h).  While the log holds, line k
 * is record k and chains to line k-1; the first line that does not says
 * what happened there:
 *
 *	its seq follows, its prev does not	the line before was changed
 *	its seq skips ahead			records removed there, or,
 *						when one turns up later,
 *						records out of order
 *	its seq goes back			out of order
 *	its seq is off but its prev chains	its seq was changed, or,
 *						when the next line chains
 *						to it, records removed and
 *						the chain made again
 *
 * and a head expected is checked where its record is: a line that does
 * not hash to it was changed (or the chain was rewritten up to it, which
 * the next line tells), and a head past the last record means the end
 * was cut off.  Records after the last head are taken as they chain: a
 * hash chain cannot tell them from forgeries, which is why a head is
 * kept where the log's writer alone can write it.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "audit-verify.h"

enum {
	AV_OK,		/* the chain holds so far */
	AV_GAP,		/* records missing at at_line: later, or removed? */
	AV_HEAD,	/* at_line does not hash to head at_head: the last? */
	AV_SEQ,		/* at_line chains but its seq is off: changed? */
	AV_FAILED,	/* msg says why */
	AV_DONE		/* audit_verify_end said the log is intact */
};

static void __attribute__((format(printf, 2, 3)))
fail(struct audit_verify *v, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(v->msg, sizeof(v->msg), fmt, ap);
	va_end(ap);
	v->state = AV_FAILED;
}

void
audit_verify_init(struct audit_verify *v)
{
	memset(v, 0, sizeof(*v));
	v->state = AV_OK;
	memcpy(v->hash, AUDIT_GENESIS, sizeof(v->hash));
}

/* 64 hex digits into lowercase; -1 for anything else. */
static int
hash_copy(char out[AUDIT_HASH_HEX], const char *s, size_t len, int anycase)
{
	size_t	i;
	char	c;

	if (len != AUDIT_HASH_HEX - 1)
		return (-1);
	for (i = 0; i < len; i++) {
		c = s[i];
		if (anycase && c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return (-1);
		out[i] = c;
	}
	out[i] = '\0';
	return (0);
}

int
audit_verify_expect(struct audit_verify *v, uint64_t seq, const char *hash,
    const char *who)
{
	struct audit_verify_head	*h;

	if (v->lines > 0 || v->state != AV_OK ||
	    v->nheads == AUDIT_VERIFY_HEADS)
		return (-1);
	h = &v->heads[v->nheads];
	if (hash_copy(h->hash, hash, strlen(hash), 1) == -1)
		return (-1);
	/* The empty log's head is the genesis, and every log begins there. */
	if (seq == 0 && strcmp(h->hash, AUDIT_GENESIS) != 0)
		return (-1);
	h->seq = seq;
	h->met = seq == 0;
	snprintf(h->who, sizeof(h->who), "%s", who);
	v->nheads++;
	return (0);
}

/*
 * Whether a line is a record: {"seq":N,"time":"...","prev":"<hex>",
 * "kind":"...", ...} as one JSON object and nothing else.  Its seq and
 * prev; -1 with why it is not.
 */
static int
record_parse(const char *line, size_t len, uint64_t *seq,
    char prev[AUDIT_HASH_HEX], char *why, size_t whylen)
{
	static const struct {
		const char	*name;
		int		 type;
	} lead[] = {
		{ "seq", cJSON_Number }, { "time", cJSON_String },
		{ "prev", cJSON_String }, { "kind", cJSON_String },
	};
	const char	*end = NULL;
	cJSON		*o, *m, *p = NULL;
	size_t		 i;
	int		 rc = -1;

	if (len == 0) {
		snprintf(why, whylen, "it is empty");
		return (-1);
	}
	if (len > AUDIT_LINE_MAX) {
		snprintf(why, whylen, "it is longer than %d bytes",
		    AUDIT_LINE_MAX);
		return (-1);
	}
	/* JSON escapes them all, and a NUL would end the parse early. */
	for (i = 0; i < len; i++) {
		if ((unsigned char)line[i] < 0x20) {
			snprintf(why, whylen, "it holds a control character "
			    "(0x%02x) at byte %zu", (unsigned char)line[i],
			    i + 1);
			return (-1);
		}
	}
	if (audit_line_seq(line, len, seq) == -1) {
		snprintf(why, whylen, "it does not begin {\"seq\":N,");
		return (-1);
	}
	o = cJSON_ParseWithLengthOpts(line, len, &end, 0);
	if (o == NULL || end != line + len || !cJSON_IsObject(o)) {
		snprintf(why, whylen, "it is not JSON");
		goto out;
	}
	m = o->child;
	for (i = 0; i < sizeof(lead) / sizeof(lead[0]); i++) {
		if (m == NULL || m->string == NULL ||
		    strcmp(m->string, lead[i].name) != 0 ||
		    (m->type & 0xff) != lead[i].type) {
			snprintf(why, whylen, "it does not begin with seq, "
			    "time, prev and kind");
			goto out;
		}
		if (i == 2)
			p = m;
		m = m->next;
	}
	if (hash_copy(prev, p->valuestring, strlen(p->valuestring), 0) ==
	    -1) {
		snprintf(why, whylen, "its prev is not 64 lowercase hex "
		    "digits");
		goto out;
	}
	rc = 0;
out:
	cJSON_Delete(o);
	return (rc);
}

/* "record 12" or "records 12-14". */
static const char *
range(char *buf, size_t len, uint64_t first, uint64_t last)
{
	if (first == last)
		snprintf(buf, len, "record %llu was", (unsigned long long)first);
	else
		snprintf(buf, len, "records %llu-%llu were",
		    (unsigned long long)first, (unsigned long long)last);
	return (buf);
}

static void
line_ok(struct audit_verify *v, const char *line, size_t len)
{
	struct audit_verify_head	*h;
	char				 prev[AUDIT_HASH_HEX], why[128];
	uint64_t			 s, e = v->seq + 1;
	size_t				 i;

	if (record_parse(line, len, &s, prev, why, sizeof(why)) == -1) {
		fail(v, "line %llu is not a record: %s",
		    (unsigned long long)v->lines, why);
		return;
	}
	if (s == e && strcmp(prev, v->hash) != 0) {
		if (s == 1)
			fail(v, "record 1 (line %llu) names a previous "
			    "record: its prev is not the genesis (64 zeros)",
			    (unsigned long long)v->lines);
		else
			fail(v, "record %llu (line %llu) was changed: record "
			    "%llu names another hash for it",
			    (unsigned long long)v->seq,
			    (unsigned long long)v->lines - 1,
			    (unsigned long long)s);
		return;
	}
	if (s != e) {
		v->at_line = v->lines;
		v->at_seq = s;
		if (strcmp(prev, v->hash) == 0) {
			/* It chains where it stands: its seq was changed,
			 * unless the next line chains to it in turn. */
			v->state = AV_SEQ;
			audit_line_hash(line, len, v->at_hash);
		} else if (s == v->seq)
			fail(v, "record %llu (line %llu) is out of order: it "
			    "repeats record %llu (line %llu)",
			    (unsigned long long)s,
			    (unsigned long long)v->lines,
			    (unsigned long long)s,
			    (unsigned long long)v->lines - 1);
		else if (s < e)
			fail(v, "record %llu (line %llu) is out of order: it "
			    "follows record %llu", (unsigned long long)s,
			    (unsigned long long)v->lines,
			    (unsigned long long)v->seq);
		else	/* Removed, unless later lines hold them. */
			v->state = AV_GAP;
		return;
	}
	v->seq = s;
	audit_line_hash(line, len, v->hash);
	for (i = 0; i < v->nheads; i++) {
		h = &v->heads[i];
		if (h->seq != s)
			continue;
		if (strcmp(h->hash, v->hash) != 0) {
			/* Its words wait for the next line, if any. */
			v->state = AV_HEAD;
			v->at_line = v->lines;
			v->at_seq = s;
			v->at_head = i;
			return;
		}
		h->met = 1;
	}
}

static void
seq_changed(struct audit_verify *v)
{
	fail(v, "record %llu (line %llu) was changed: its seq reads %llu",
	    (unsigned long long)v->seq + 1, (unsigned long long)v->at_line,
	    (unsigned long long)v->at_seq);
}

/*
 * at_line chains to the line before it, and its seq is off: the next
 * line chaining to it and counting on from it says records were removed
 * and the chain made again over the gap; anything else, that its seq was
 * changed.
 */
static void
line_seq(struct audit_verify *v, const char *line, size_t len)
{
	char		prev[AUDIT_HASH_HEX], why[128], what[64];
	uint64_t	s;

	if (v->at_seq > v->seq + 1 &&
	    record_parse(line, len, &s, prev, why, sizeof(why)) == 0 &&
	    s == v->at_seq + 1 && strcmp(prev, v->at_hash) == 0)
		fail(v, "%s removed (after line %llu) and the chain "
		    "rewritten over the gap", range(what, sizeof(what),
		    v->seq + 1, v->at_seq - 1),
		    (unsigned long long)v->at_line - 1);
	else
		seq_changed(v);
}

/* Records were missing at at_line: whether this line holds one. */
static void
line_gap(struct audit_verify *v, const char *line, size_t len)
{
	uint64_t	s;

	if (audit_line_seq(line, len, &s) == -1 || s <= v->seq ||
	    s >= v->at_seq)
		return;
	fail(v, "record %llu (line %llu) is out of order: it comes before "
	    "record %llu (line %llu)", (unsigned long long)v->at_seq,
	    (unsigned long long)v->at_line, (unsigned long long)s,
	    (unsigned long long)v->lines);
}

/* at_line does not hash to a head: what the next line says of it. */
static void
line_head(struct audit_verify *v, const char *line, size_t len)
{
	struct audit_verify_head	*h = &v->heads[v->at_head];
	char				 prev[AUDIT_HASH_HEX], why[128];
	uint64_t			 s;

	if (record_parse(line, len, &s, prev, why, sizeof(why)) == 0 &&
	    s == v->at_seq + 1) {
		if (strcmp(prev, h->hash) == 0) {
			fail(v, "record %llu (line %llu) was changed: record "
			    "%llu names another hash for it, as %s does",
			    (unsigned long long)v->at_seq,
			    (unsigned long long)v->at_line,
			    (unsigned long long)s, h->who);
			return;
		}
		if (strcmp(prev, v->hash) == 0) {
			fail(v, "record %llu (line %llu) does not hash to %s, "
			    "though the chain holds: records up to it were "
			    "changed and the chain rewritten",
			    (unsigned long long)v->at_seq,
			    (unsigned long long)v->at_line, h->who);
			return;
		}
	}
	fail(v, "record %llu (line %llu) was changed: it does not hash to %s",
	    (unsigned long long)v->at_seq, (unsigned long long)v->at_line,
	    h->who);
}

int
audit_verify_line(struct audit_verify *v, const char *line, size_t len)
{
	if (v->state == AV_FAILED || v->state == AV_DONE)
		return (-1);
	v->lines++;
	switch (v->state) {
	case AV_OK:
		line_ok(v, line, len);
		break;
	case AV_GAP:
		line_gap(v, line, len);
		break;
	case AV_HEAD:
		line_head(v, line, len);
		break;
	case AV_SEQ:
		line_seq(v, line, len);
		break;
	}
	return (v->state == AV_OK ? 0 : -1);
}

int
audit_verify_end(struct audit_verify *v)
{
	struct audit_verify_head	*h, *first = NULL;
	char				 what[64];
	size_t				 i;

	switch (v->state) {
	case AV_DONE:
		return (0);
	case AV_FAILED:
		return (-1);
	case AV_GAP:
		if (v->seq == 0)
			fail(v, "%s removed: the log begins at record %llu",
			    range(what, sizeof(what), 1, v->at_seq - 1),
			    (unsigned long long)v->at_seq);
		else
			fail(v, "%s removed (after line %llu)",
			    range(what, sizeof(what), v->seq + 1,
			    v->at_seq - 1), (unsigned long long)v->at_line - 1);
		return (-1);
	case AV_SEQ:
		seq_changed(v);
		return (-1);
	case AV_HEAD:
		h = &v->heads[v->at_head];
		fail(v, "record %llu (line %llu, the last) was changed: it "
		    "does not hash to %s", (unsigned long long)v->at_seq,
		    (unsigned long long)v->at_line, h->who);
		return (-1);
	}
	/* A head never reached: the log was cut before it. */
	for (i = 0; i < v->nheads; i++) {
		h = &v->heads[i];
		if (!h->met && (first == NULL || h->seq < first->seq))
			first = h;
	}
	if (first != NULL) {
		range(what, sizeof(what), v->seq + 1, first->seq);
		if (v->seq == 0)
			fail(v, "the log is empty but %s is record %llu: %s "
			    "removed (truncated)", first->who,
			    (unsigned long long)first->seq, what);
		else
			fail(v, "the log ends at record %llu but %s is record "
			    "%llu: %s removed (truncated)",
			    (unsigned long long)v->seq, first->who,
			    (unsigned long long)first->seq, what);
		return (-1);
	}
	if (v->seq == 0)
		snprintf(v->msg, sizeof(v->msg), "audit log intact: 0 records");
	else
		snprintf(v->msg, sizeof(v->msg), "audit log intact: %llu "
		    "record%s, head record %llu sha256 %s",
		    (unsigned long long)v->seq, v->seq == 1 ? "" : "s",
		    (unsigned long long)v->seq, v->hash);
	v->state = AV_DONE;
	return (0);
}

const char *
audit_verify_message(const struct audit_verify *v)
{
	return (v->msg);
}
