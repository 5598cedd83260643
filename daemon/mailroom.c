/*
 * One agent's mail (mailroom.h): the inbox, the kept notifications, and
 * the courier between them and the agent's tmux session.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "activity.h"
#include "courier.h"
#include "deliveries.h"
#include "inbox.h"
#include "log.h"
#include "mailroom.h"
#include "tmux-link.h"
#include "util.h"

#define MAILROOM_PRUNE_MS	250	/* till the inbox's first scan is whole, */
#define MAILROOM_PRUNE_MAX	60000	/* doubling: one not watched may be long */
#define MAILROOM_WAITERS	64	/* persons waiting on one agent */
#define MAILROOM_SAVE_MS	200	/* an inbox's changes, saved together */

struct waiter {
	uint64_t		 id;
	mailroom_done_fn	 fn;
	void			*arg;
	TAILQ_ENTRY(waiter)	 entry;
};

struct mailroom {
	char			 agent[40];
	char			*state;
	char			*notice;
	struct inbox		*inbox;
	struct deliveries	*dl;
	struct courier		*courier;
	struct event		*timer;		/* the courier's */
	struct event		*prune;		/* records of items gone */
	struct event		*later;		/* a save of the inbox's changes */
	uint64_t		 prune_ms;	/* the next wait for a whole scan */
	mailroom_event_fn	 fn;
	void			*arg;
	TAILQ_HEAD(, waiter)	 waiters;
	size_t			 nwaiters;
};

static void
tell(struct mailroom *m, cJSON *ev)
{
	m->fn(m->arg, ev);
}

static void
record_json(const struct delivery *d, cJSON *o)
{
	cJSON_AddNumberToObject(o, "id", (double)d->id);
	cJSON_AddStringToObject(o, "kind", delivery_kind_name(d->kind));
	if (d->item != NULL)
		cJSON_AddStringToObject(o, "item", d->item);
	else
		cJSON_AddNullToObject(o, "item");
	cJSON_AddStringToObject(o, "state", delivery_state_name(d->state));
	cJSON_AddNumberToObject(o, "attempts", d->attempts);
}

/* ---- the courier's hands ---- */

static void
save(void *arg)
{
	struct mailroom	*m = arg;
	char		 err[512];

	if (deliveries_save(m->dl, m->state, err, sizeof(err)) == -1)
		log_warnx("agent %s: notifications not saved: %s", m->agent,
		    err);
}

/*
 * The inbox's changes are saved together, at most every MAILROOM_SAVE_MS:
 * a directory churned by others would otherwise have a file synced at
 * each name.  Losing one to a crash costs nothing: the scan at the next
 * start finds the items again, and a record is saved as typed (at once,
 * by the courier) before anything of it is typed.
 */
static void
save_later(struct mailroom *m)
{
	struct timeval	tv;

	if (evtimer_pending(m->later, NULL))
		return;
	timeval_ms(&tv, MAILROOM_SAVE_MS);
	evtimer_add(m->later, &tv);
}

static void
on_later(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	save(arg);
}

static void
typed(void *arg, const char *error)
{
	struct mailroom	*m = arg;

	courier_typed(m->courier, error, now_ms());
}

static int
type(void *arg, const char *text, int clear)
{
	struct mailroom	*m = arg;
	char		 err[256];

	if (tmux_link_type(m->agent, text, clear, typed, m, err,
	    sizeof(err)) == -1) {
		log_info("agent %s: notification not typed: %s", m->agent,
		    err);
		return (-1);
	}
	return (0);
}

static void
entered(void *arg, const char *error)
{
	struct mailroom	*m = arg;

	if (error != NULL)
		log_info("agent %s: Enter not sent: %s", m->agent, error);
}

static void
enter(void *arg)
{
	struct mailroom	*m = arg;
	char		 err[256];

	if (tmux_link_enter(m->agent, entered, m, err, sizeof(err)) == -1)
		log_info("agent %s: Enter not sent: %s", m->agent, err);
}

static void
settled(void *arg, const struct delivery *d, const char *error)
{
	struct mailroom	*m = arg;
	struct waiter	*w;
	cJSON		*ev;

	if (error != NULL)
		log_warnx("agent %s: notification %llu not delivered: %s",
		    m->agent, (unsigned long long)d->id, error);
	else
		log_info("agent %s: notification %llu delivered (%u "
		    "attempt%s)", m->agent, (unsigned long long)d->id,
		    d->attempts, d->attempts == 1 ? "" : "s");
	ev = cJSON_CreateObject();
	cJSON_AddStringToObject(ev, "type", "delivery");
	record_json(d, ev);
	if (error != NULL)
		cJSON_AddStringToObject(ev, "error", error);
	else
		cJSON_AddNullToObject(ev, "error");
	tell(m, ev);
	TAILQ_FOREACH(w, &m->waiters, entry)
		if (w->id == d->id)
			break;
	if (w != NULL) {
		TAILQ_REMOVE(&m->waiters, w, entry);
		m->nwaiters--;
		w->fn(w->arg, error);
		free(w);
	}
}

static void
arm(void *arg, uint64_t ms)
{
	struct mailroom	*m = arg;
	struct timeval	 tv;

	evtimer_del(m->timer);
	if (ms == 0)
		return;
	timeval_ms(&tv, ms);
	evtimer_add(m->timer, &tv);
}

static const struct courier_ops mailroom_ops = {
	type, enter, save, settled, arm,
};

static void
on_timer(evutil_socket_t fd, short ev, void *arg)
{
	struct mailroom	*m = arg;

	(void)fd;
	(void)ev;
	courier_timeout(m->courier, now_ms());
}

/* ---- the inbox ---- */

static void
inbox_event(struct mailroom *m, const char *name, const char *change)
{
	cJSON	*ev = cJSON_CreateObject();

	cJSON_AddStringToObject(ev, "type", "inbox");
	cJSON_AddStringToObject(ev, "change", change);
	cJSON_AddStringToObject(ev, "item", name);
	cJSON_AddNumberToObject(ev, "count", (double)inbox_count(m->inbox));
	tell(m, ev);
}

static void
on_inbox(void *arg, const char *name, enum inbox_change change)
{
	struct mailroom	*m = arg;
	struct delivery	*d;
	char		*text, err[256];

	d = deliveries_find_item(m->dl, name);
	if (change == INBOX_LEFT) {
		if (d != NULL) {
			courier_forget(m->courier, d);
			deliveries_remove(m->dl, d);
			save_later(m);
		}
		inbox_event(m, name, "left");
		return;
	}
	inbox_event(m, name, "arrived");
	if (d != NULL)
		return;		/* known: from before a restart */
	text = activity_notice_render(m->notice, name);
	if (activity_notice_check(text, err, sizeof(err)) == -1 ||
	    deliveries_add(m->dl, DELIVERY_ITEM, name, text, wall_ms(), err,
	    sizeof(err)) == NULL)
		log_warnx("agent %s: no notification for %s: %s", m->agent,
		    name, err);
	else {
		save_later(m);
		courier_kick(m->courier, now_ms());
	}
	free(text);
}

/* Records of items that left while qmsd was down go, once it knows. */
static void
on_prune(evutil_socket_t fd, short ev, void *arg)
{
	struct mailroom	*m = arg;
	struct delivery	*d, *next;
	struct timeval	 tv;
	int		 changed = 0;

	(void)fd;
	(void)ev;
	if (!inbox_ready(m->inbox)) {
		m->prune_ms = m->prune_ms * 2 < MAILROOM_PRUNE_MAX ?
		    m->prune_ms * 2 : MAILROOM_PRUNE_MAX;
		timeval_ms(&tv, m->prune_ms);
		evtimer_add(m->prune, &tv);
		return;
	}
	for (d = TAILQ_FIRST(&m->dl->list); d != NULL; d = next) {
		next = TAILQ_NEXT(d, entry);
		if (d->kind != DELIVERY_ITEM || inbox_has(m->inbox, d->item))
			continue;
		courier_forget(m->courier, d);
		deliveries_remove(m->dl, d);
		changed = 1;
	}
	if (changed)
		save(m);
	courier_kick(m->courier, now_ms());
}

/* ---- the owner's ---- */

struct mailroom *
mailroom_open(struct event_base *base, const struct mailroom_conf *c,
    mailroom_event_fn fn, void *arg)
{
	struct mailroom	*m = xcalloc(1, sizeof(*m));
	struct timeval	 tv;
	char		 err[512];

	snprintf(m->agent, sizeof(m->agent), "%s", c->agent);
	m->state = xstrdup(c->state);
	m->notice = xstrdup(c->notice != NULL ? c->notice : ACTIVITY_NOTICE);
	m->fn = fn;
	m->arg = arg;
	TAILQ_INIT(&m->waiters);
	if (deliveries_load(m->state, &m->dl, err, sizeof(err)) == -1)
		log_warnx("agent %s: %s", m->agent, err);
	m->timer = evtimer_new(base, on_timer, m);
	m->prune = evtimer_new(base, on_prune, m);
	m->later = evtimer_new(base, on_later, m);
	m->courier = courier_new(m->dl, &mailroom_ops, m, now_ms());
	m->inbox = inbox_open(base, c->root, c->inbox, c->uid, c->gid,
	    on_inbox, m);
	m->prune_ms = MAILROOM_PRUNE_MS;
	timeval_ms(&tv, m->prune_ms);
	evtimer_add(m->prune, &tv);
	return (m);
}

void
mailroom_close(struct mailroom *m)
{
	struct waiter	*w;

	if (m == NULL)
		return;
	tmux_link_cancel(m);
	inbox_close(m->inbox);
	while ((w = TAILQ_FIRST(&m->waiters)) != NULL) {
		TAILQ_REMOVE(&m->waiters, w, entry);
		w->fn(w->arg, "the agent is no longer configured");
		free(w);
	}
	if (evtimer_pending(m->later, NULL))
		save(m);
	courier_free(m->courier);
	event_free(m->timer);
	event_free(m->prune);
	event_free(m->later);
	deliveries_free(m->dl);
	free(m->notice);
	free(m->state);
	free(m);
}

void
mailroom_activity(struct mailroom *m, enum activity act, int fresh)
{
	courier_activity(m->courier, act, fresh, now_ms());
}

void
mailroom_prompt(struct mailroom *m, const char *prompt, int longer)
{
	courier_prompt(m->courier, prompt, longer, now_ms());
}

void
mailroom_linked(struct mailroom *m, int up)
{
	courier_linked(m->courier, up, now_ms());
}

int
mailroom_notify(struct mailroom *m, const char *text, mailroom_done_fn fn,
    void *arg, char *err, size_t errlen)
{
	struct delivery	*d;
	struct waiter	*w;

	if (activity_notice_check(text, err, errlen) == -1)
		return (-1);
	if (m->nwaiters >= MAILROOM_WAITERS) {
		snprintf(err, errlen, "agent %s: %d messages wait already",
		    m->agent, MAILROOM_WAITERS);
		return (-1);
	}
	if ((d = deliveries_add(m->dl, DELIVERY_MESSAGE, NULL, text,
	    wall_ms(), err, errlen)) == NULL)
		return (-1);
	if (fn != NULL) {
		w = xcalloc(1, sizeof(*w));
		w->id = d->id;
		w->fn = fn;
		w->arg = arg;
		TAILQ_INSERT_TAIL(&m->waiters, w, entry);
		m->nwaiters++;
	}
	save(m);
	courier_kick(m->courier, now_ms());
	return (0);
}

void
mailroom_cancel(struct mailroom *m, void *arg)
{
	struct waiter	*w, *next;

	for (w = TAILQ_FIRST(&m->waiters); w != NULL; w = next) {
		next = TAILQ_NEXT(w, entry);
		if (w->arg != arg)
			continue;
		TAILQ_REMOVE(&m->waiters, w, entry);
		m->nwaiters--;
		free(w);
	}
}

int
mailroom_ready(const struct mailroom *m)
{
	/* One that cannot be watched is empty, and that is whole. */
	return (inbox_ready(m->inbox) || inbox_error(m->inbox) != NULL);
}

size_t
mailroom_inbox(const struct mailroom *m)
{
	return (inbox_count(m->inbox));
}

void
mailroom_ps(const struct mailroom *m, cJSON *row)
{
	const struct delivery	*d;
	cJSON			*n;
	size_t			 count[4] = { 0 };
	const char		*why = inbox_error(m->inbox);

	cJSON_AddNumberToObject(row, "inbox", (double)inbox_count(m->inbox));
	if (why != NULL)
		cJSON_AddStringToObject(row, "inbox_error", why);
	else
		cJSON_AddNullToObject(row, "inbox_error");
	TAILQ_FOREACH(d, &m->dl->list, entry)
		if ((size_t)d->state < 4)
			count[d->state]++;
	n = cJSON_AddObjectToObject(row, "notifications");
	cJSON_AddNumberToObject(n, "pending", (double)count[DELIVERY_PENDING]);
	cJSON_AddNumberToObject(n, "typed", (double)count[DELIVERY_TYPED]);
	cJSON_AddNumberToObject(n, "delivered",
	    (double)count[DELIVERY_DELIVERED]);
	cJSON_AddNumberToObject(n, "failed", (double)count[DELIVERY_FAILED]);
}
