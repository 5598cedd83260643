#include <sys/queue.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "egress-audit.h"
#include "log.h"
#include "util.h"

/* Agents counted at most: config allows 16 at a time, reloads add more. */
#define AUDIT_MAX_AGENTS	256

/*
 * A record as the ring keeps it: every string copied into a field of a
 * fixed size (cut there, unprintable bytes made '?'), so that the ring's
 * memory is bounded whatever the proxy is handed.
 */
struct stored {
	struct timespec	 time;
	char		 agent[64];
	char		 event[16];
	char		 method[24];
	char		 target[EGRESS_MAX_AUTHORITY + 1];
	char		 path[256];		/* "" for none */
	char		 address[64];		/* "" for none */
	char		 rule[32];		/* "" for none */
	char		 reason[sizeof(((struct egress_decision *)0)->reason)];
	int		 status;
	uint64_t	 bytes_up;
	uint64_t	 bytes_down;
	uint64_t	 duration_ms;
	struct counts	*who;		/* NULL: its agent is not counted */
};

struct counts {
	char			 agent[64];
	uint64_t		 allowed;
	uint64_t		 denied;
	uint64_t		 failed;
	uint64_t		 open;
	uint64_t		 bytes_up;
	uint64_t		 bytes_down;
	size_t			 inring;	/* its records in the ring */
	uint64_t		 jsecond;	/* the journal's: this second */
	unsigned int		 jcount;	/* records journaled in it */
	uint64_t		 jdropped;	/* not journaled, not yet said */
	TAILQ_ENTRY(counts)	 entry;
};

/*
 * Records an agent may put in the journal a second.  journald drops a
 * service's messages past its rate limit (10000 in 30 s by default), all
 * of them: one agent's flood of refusals would silence the others' and
 * qmsd's own.  Past this, an agent's records go to the ring and the
 * counts only, and the journal is told how many it did not get.
 */
#define EGRESS_AUDIT_JOURNAL_RATE	20

struct follower {
	char			 agent[64];	/* "" for all */
	egress_audit_fn		 fn;
	void			*arg;
	int			 dead;		/* removed while telling */
	TAILQ_ENTRY(follower)	 entry;
};

/*
 * The ring: records in a pool, order[] their slots oldest first.  Full,
 * the record that goes is the oldest of an agent holding more than its
 * share (the ring over the agents in it), so that one agent's flood
 * pushes out its own records, not another's.
 */
static struct stored	*ring;
static uint16_t		 order[EGRESS_AUDIT_RING];
static size_t		 ring_count, ring_agents;
static TAILQ_HEAD(, counts) counts = TAILQ_HEAD_INITIALIZER(counts);
static size_t		 ncounts;
static int		 counts_full_said;
static TAILQ_HEAD(, follower) followers = TAILQ_HEAD_INITIALIZER(followers);
static int		 telling;
static void		(*audit_hook)(const char *);

void
egress_audit_init(void)
{
	if (ring == NULL)
		ring = xcalloc(EGRESS_AUDIT_RING, sizeof(*ring));
	ring_count = ring_agents = 0;
}

void
egress_audit_shutdown(void)
{
	struct counts	*c;
	struct follower	*f;

	while ((f = TAILQ_FIRST(&followers)) != NULL) {
		TAILQ_REMOVE(&followers, f, entry);
		free(f);
	}
	while ((c = TAILQ_FIRST(&counts)) != NULL) {
		TAILQ_REMOVE(&counts, c, entry);
		free(c);
	}
	ncounts = 0;
	counts_full_said = 0;
	free(ring);
	ring = NULL;
	ring_count = ring_agents = 0;
	audit_hook = NULL;
}

void
egress_audit_set_hook(void (*fn)(const char *))
{
	audit_hook = fn;
}

/* s (NULL: "") into dst, cut to fit, each byte outside ' '..'~' a '?'. */
static void
copy(char *dst, size_t len, const char *s)
{
	size_t	i;

	for (i = 0; s != NULL && s[i] != '\0' && i + 1 < len; i++)
		dst[i] = s[i] >= ' ' && s[i] <= '~' ? s[i] : '?';
	dst[i] = '\0';
}

static struct counts *
counts_find(const char *agent, int create)
{
	struct counts	*c;

	TAILQ_FOREACH(c, &counts, entry)
		if (strcmp(c->agent, agent) == 0)
			return (c);
	if (!create)
		return (NULL);
	if (ncounts == AUDIT_MAX_AGENTS) {
		if (!counts_full_said)
			log_warnx("egress: more than %d agents seen; the "
			    "others are not counted", AUDIT_MAX_AGENTS);
		counts_full_said = 1;
		return (NULL);
	}
	c = xcalloc(1, sizeof(*c));
	copy(c->agent, sizeof(c->agent), agent);
	TAILQ_INSERT_TAIL(&counts, c, entry);
	ncounts++;
	return (c);
}

/* The view of a stored record that callers see. */
static void
view(const struct stored *s, struct egress_record *r)
{
	memset(r, 0, sizeof(*r));
	r->time = s->time;
	r->agent = s->agent;
	r->event = s->event;
	r->method = s->method;
	r->target = s->target;
	r->path = s->path[0] != '\0' ? s->path : NULL;
	r->address = s->address[0] != '\0' ? s->address : NULL;
	r->status = s->status;
	r->rule = s->rule[0] != '\0' ? s->rule : NULL;
	r->reason = s->reason;
	r->bytes_up = s->bytes_up;
	r->bytes_down = s->bytes_down;
	r->duration_ms = s->duration_ms;
}

/* The journal: the line people read, and every part as a field. */
static void
journal(const struct stored *s)
{
	char		 f[12][sizeof(s->reason) + 32], line[1800];
	const char	*fields[13];
	size_t		 n = 0, i;

	snprintf(f[n++], sizeof(f[0]), "QMSD_AGENT=%s", s->agent);
	snprintf(f[n++], sizeof(f[0]), "QMSD_EGRESS_EVENT=%s", s->event);
	snprintf(f[n++], sizeof(f[0]), "QMSD_EGRESS_METHOD=%s", s->method);
	snprintf(f[n++], sizeof(f[0]), "QMSD_EGRESS_TARGET=%s", s->target);
	if (s->path[0] != '\0')
		snprintf(f[n++], sizeof(f[0]), "QMSD_EGRESS_PATH=%s", s->path);
	if (s->address[0] != '\0')
		snprintf(f[n++], sizeof(f[0]), "QMSD_EGRESS_ADDRESS=%s",
		    s->address);
	snprintf(f[n++], sizeof(f[0]), "QMSD_EGRESS_STATUS=%d", s->status);
	if (s->rule[0] != '\0')
		snprintf(f[n++], sizeof(f[0]), "QMSD_EGRESS_RULE=%s", s->rule);
	if (s->reason[0] != '\0')
		snprintf(f[n++], sizeof(f[0]), "QMSD_EGRESS_REASON=%s",
		    s->reason);
	snprintf(f[n++], sizeof(f[0]), "QMSD_EGRESS_BYTES_UP=%" PRIu64,
	    s->bytes_up);
	snprintf(f[n++], sizeof(f[0]), "QMSD_EGRESS_BYTES_DOWN=%" PRIu64,
	    s->bytes_down);
	snprintf(f[n++], sizeof(f[0]), "QMSD_EGRESS_DURATION_MS=%" PRIu64,
	    s->duration_ms);
	for (i = 0; i < n; i++)
		fields[i] = f[i];
	fields[n] = NULL;

	/* claude: denied CONNECT 127.0.0.1:9 -> 403 by not-listed, ... */
	snprintf(line, sizeof(line), "%s: %s %s %s%s%s%s%s -> %d%s%s, %"
	    PRIu64 " bytes up, %" PRIu64 " down, %" PRIu64 " ms%s%s", s->agent,
	    s->event, s->method, s->target, s->path[0] ? " " : "", s->path,
	    s->address[0] ? " at " : "",
	    s->address, s->status, s->rule[0] ? " by " : "", s->rule,
	    s->bytes_up, s->bytes_down, s->duration_ms,
	    s->reason[0] ? ": " : "", s->reason);
	/* An audit record is kept whatever the log level. */
	log_audit("egress", fields, "%s", line);
}

/*
 * Whether agent's record goes to the journal (at most
 * EGRESS_AUDIT_JOURNAL_RATE a second); the first one after some were
 * held back is preceded by a line that says how many.
 */
static int
journal_allowed(const char *agent)
{
	struct counts	*c;
	uint64_t	 now = now_ms() / 1000;
	char		 f[2][96], line[256];
	const char	*fields[3] = { f[0], f[1], NULL };

	if ((c = counts_find(agent, 1)) == NULL)
		return (1);
	if (c->jsecond != now) {
		c->jsecond = now;
		c->jcount = 0;
	}
	if (c->jcount >= EGRESS_AUDIT_JOURNAL_RATE) {
		c->jdropped++;
		return (0);
	}
	c->jcount++;
	if (c->jdropped > 0) {
		snprintf(f[0], sizeof(f[0]), "QMSD_AGENT=%s", c->agent);
		snprintf(f[1], sizeof(f[1]), "QMSD_EGRESS_NOT_JOURNALED=%"
		    PRIu64, c->jdropped);
		snprintf(line, sizeof(line), "%s: %" PRIu64 " egress records "
		    "over %d a second not journaled (qmsctl egress shows the "
		    "last ones)", c->agent, c->jdropped,
		    EGRESS_AUDIT_JOURNAL_RATE);
		log_audit("egress", fields, "%s", line);
		c->jdropped = 0;
	}
	return (1);
}

static void
count(const struct stored *s)
{
	struct counts	*c;

	if ((c = counts_find(s->agent, 1)) == NULL)
		return;
	if (strcmp(s->event, "denied") == 0)
		c->denied++;
	else if (strcmp(s->event, "open") == 0)
		c->allowed++;
	else if (strcmp(s->event, "failed") == 0) {
		c->allowed++;
		c->failed++;
	} else if (strcmp(s->event, "closed") == 0) {
		c->bytes_up += s->bytes_up;
		c->bytes_down += s->bytes_down;
	} else
		return;
	if (audit_hook != NULL)
		audit_hook(c->agent);
}

static int
matches(const struct stored *s, const char *agent)
{
	return (agent == NULL || agent[0] == '\0' ||
	    strcmp(s->agent, agent) == 0);
}

/* A slot for the newest record, at the end of order[]. */
static struct stored *
ring_take(void)
{
	struct stored	*s;
	size_t		 i, share;
	uint16_t	 slot;

	if (ring_count < EGRESS_AUDIT_RING) {
		order[ring_count] = (uint16_t)ring_count;
		return (&ring[ring_count++]);
	}
	share = EGRESS_AUDIT_RING / (ring_agents > 0 ? ring_agents : 1);
	for (i = 0; i < ring_count; i++) {
		s = &ring[order[i]];
		if (s->who == NULL || s->who->inring > share)
			break;
	}
	if (i == ring_count)
		i = 0;
	slot = order[i];
	s = &ring[slot];
	if (s->who != NULL && --s->who->inring == 0)
		ring_agents--;
	memmove(&order[i], &order[i + 1], (ring_count - 1 - i) *
	    sizeof(order[0]));
	order[ring_count - 1] = slot;
	return (s);
}

void
egress_audit_record(const struct egress_record *r)
{
	struct stored		 tmp, *s;
	struct egress_record	 v;
	struct follower		*f, *next;

	/* After shutdown (a proxy closing late), the journal still. */
	s = ring != NULL ? ring_take() : &tmp;
	memset(s, 0, sizeof(*s));
	s->time = r->time;
	if (s->time.tv_sec == 0 && s->time.tv_nsec == 0)
		clock_gettime(CLOCK_REALTIME, &s->time);
	copy(s->agent, sizeof(s->agent), r->agent);
	copy(s->event, sizeof(s->event), r->event);
	copy(s->method, sizeof(s->method), r->method);
	copy(s->target, sizeof(s->target), r->target);
	copy(s->path, sizeof(s->path), r->path);
	copy(s->address, sizeof(s->address), r->address);
	copy(s->rule, sizeof(s->rule), r->rule);
	copy(s->reason, sizeof(s->reason), r->reason);
	s->status = r->status;
	s->bytes_up = r->bytes_up;
	s->bytes_down = r->bytes_down;
	s->duration_ms = r->duration_ms;
	if (journal_allowed(s->agent))
		journal(s);
	if (ring == NULL)
		return;
	if ((s->who = counts_find(s->agent, 1)) != NULL &&
	    s->who->inring++ == 0)
		ring_agents++;
	count(s);

	/* A follower may leave while being told (its client went away). */
	view(s, &v);
	telling++;
	TAILQ_FOREACH(f, &followers, entry)
		if (!f->dead && matches(s, f->agent))
			f->fn(&v, f->arg);
	if (--telling > 0)
		return;
	for (f = TAILQ_FIRST(&followers); f != NULL; f = next) {
		next = TAILQ_NEXT(f, entry);
		if (f->dead) {
			TAILQ_REMOVE(&followers, f, entry);
			free(f);
		}
	}
}

void
egress_audit_open(const char *agent, int delta)
{
	struct counts	*c;

	if (ring == NULL || (c = counts_find(agent, 1)) == NULL)
		return;
	/* Never below 0, whatever a caller gets wrong. */
	if (delta < 0 && (uint64_t)-(int64_t)delta > c->open)
		c->open = 0;
	else
		c->open = (uint64_t)((int64_t)c->open + delta);
	if (audit_hook != NULL)
		audit_hook(c->agent);
}

cJSON *
egress_audit_counts(const char *agent)
{
	static const struct counts	 none;
	const struct counts		*c;
	cJSON				*o = cJSON_CreateObject();

	if ((c = counts_find(agent, 0)) == NULL)
		c = &none;
	cJSON_AddNumberToObject(o, "allowed", (double)c->allowed);
	cJSON_AddNumberToObject(o, "denied", (double)c->denied);
	cJSON_AddNumberToObject(o, "open", (double)c->open);
	cJSON_AddNumberToObject(o, "bytes_up", (double)c->bytes_up);
	cJSON_AddNumberToObject(o, "bytes_down", (double)c->bytes_down);
	cJSON_AddNumberToObject(o, "failed", (double)c->failed);
	return (o);
}

size_t
egress_audit_tail(const char *agent, size_t n, egress_audit_fn fn,
    void *arg)
{
	struct egress_record	 v;
	const struct stored	*s;
	size_t			 i, found = 0, from = 0;

	if (ring == NULL || n == 0)
		return (0);
	/* Back from the newest to the n-th match, then forward from it. */
	for (i = 0; i < ring_count && found < n; i++) {
		s = &ring[order[ring_count - 1 - i]];
		if (matches(s, agent)) {
			found++;
			from = i;
		}
	}
	for (i = from + 1; found > 0 && i-- > 0;) {
		s = &ring[order[ring_count - 1 - i]];
		if (matches(s, agent)) {
			view(s, &v);
			fn(&v, arg);
		}
	}
	return (found);
}

void *
egress_audit_follow_add(const char *agent, egress_audit_fn fn, void *arg)
{
	struct follower	*f;

	f = xcalloc(1, sizeof(*f));
	copy(f->agent, sizeof(f->agent), agent);
	f->fn = fn;
	f->arg = arg;
	TAILQ_INSERT_TAIL(&followers, f, entry);
	return (f);
}

void
egress_audit_follow_remove(void *handle)
{
	struct follower	*f = handle;

	if (telling > 0) {
		f->dead = 1;
		return;
	}
	TAILQ_REMOVE(&followers, f, entry);
	free(f);
}

cJSON *
egress_audit_record_json(const struct egress_record *r)
{
	cJSON		*o = cJSON_CreateObject();
	struct tm	 tm;
	char		 t[48];
	size_t		 len;

	gmtime_r(&r->time.tv_sec, &tm);
	len = strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(t + len, sizeof(t) - len, ".%03ldZ",
	    (long)(r->time.tv_nsec / 1000000));
	cJSON_AddStringToObject(o, "time", t);
	cJSON_AddStringToObject(o, "agent", r->agent ? r->agent : "");
	cJSON_AddStringToObject(o, "event", r->event ? r->event : "");
	cJSON_AddStringToObject(o, "method", r->method ? r->method : "");
	cJSON_AddStringToObject(o, "target", r->target ? r->target : "");
	if (r->path != NULL)
		cJSON_AddStringToObject(o, "path", r->path);
	else
		cJSON_AddNullToObject(o, "path");
	if (r->address != NULL)
		cJSON_AddStringToObject(o, "address", r->address);
	else
		cJSON_AddNullToObject(o, "address");
	cJSON_AddNumberToObject(o, "status", r->status);
	if (r->rule != NULL)
		cJSON_AddStringToObject(o, "rule", r->rule);
	else
		cJSON_AddNullToObject(o, "rule");
	cJSON_AddStringToObject(o, "reason", r->reason ? r->reason : "");
	cJSON_AddNumberToObject(o, "bytes_up", (double)r->bytes_up);
	cJSON_AddNumberToObject(o, "bytes_down", (double)r->bytes_down);
	cJSON_AddNumberToObject(o, "duration_ms", (double)r->duration_ms);
	return (o);
}

cJSON *
egress_audit_fields(const struct egress_record *r)
{
	cJSON	*o = egress_audit_record_json(r), *v, *next;

	cJSON_DeleteItemFromObjectCaseSensitive(o, "time");
	for (v = o->child; v != NULL; v = next) {
		next = v->next;
		if (cJSON_IsNull(v))
			cJSON_Delete(cJSON_DetachItemViaPointer(o, v));
	}
	return (o);
}
