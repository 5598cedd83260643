/*
 * The courier (courier.h): one record at a time, typed while the agent
 * is idle, confirmed by the prompt Claude reports.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "courier.h"
#include "util.h"

#define COURIER_PAUSE_MS	1000	/* after the link failed to type */

enum phase {
	C_IDLE,		/* nothing typed is waited for */
	C_HELD,		/* records typed before a restart: their hooks may come */
	C_TYPING,	/* ops->type called, its answer owed */
	C_WAIT,		/* typed: UserPromptSubmit awaited */
	C_ENTERED,	/* a second Enter sent: awaited once more */
	C_PAUSE,	/* typing failed: a moment before the next try */
};

struct courier {
	struct deliveries		*d;
	const struct courier_ops	*ops;
	void				*arg;
	enum phase			 phase;
	struct delivery			*cur;
	enum activity			 act;
	int				 fresh;
	uint64_t			 act_since;
	int				 linked;
};

static void	courier_next(struct courier *, uint64_t);

static void
courier_phase(struct courier *c, enum phase p, uint64_t ms)
{
	c->phase = p;
	c->ops->timer(c->arg, ms);
}

/* d is settled: delivered (why NULL) or failed; a message is done with. */
static void
settle(struct courier *c, struct delivery *d, const char *why, uint64_t now)
{
	deliveries_set_state(d, why == NULL ? DELIVERY_DELIVERED :
	    DELIVERY_FAILED, now);
	c->ops->settled(c->arg, d, why);
	if (c->cur == d) {
		c->cur = NULL;
		courier_phase(c, C_IDLE, 0);
	}
	if (d->kind == DELIVERY_MESSAGE)
		deliveries_remove(c->d, d);
	c->ops->save(c->arg);
}

struct courier *
courier_new(struct deliveries *d, const struct courier_ops *ops, void *arg,
    uint64_t now)
{
	struct courier	*c = xcalloc(1, sizeof(*c));
	struct delivery	*r;

	c->d = d;
	c->ops = ops;
	c->arg = arg;
	c->act = ACT_NO_SESSION;
	c->act_since = now;
	TAILQ_FOREACH(r, &d->list, entry)
		if (r->state == DELIVERY_TYPED) {
			courier_phase(c, C_HELD, COURIER_CONFIRM_MS);
			break;
		}
	return (c);
}

void
courier_free(struct courier *c)
{
	free(c);
}

const struct delivery *
courier_current(const struct courier *c)
{
	return (c->cur);
}

/* The oldest record to type, failing those that had their tries. */
static struct delivery *
next_record(struct courier *c, uint64_t now)
{
	struct delivery	*r, *t;
	char		 why[128];

	for (r = TAILQ_FIRST(&c->d->list); r != NULL; r = t) {
		t = TAILQ_NEXT(r, entry);
		if (r->state != DELIVERY_PENDING && r->state != DELIVERY_TYPED)
			continue;
		if (r->attempts < COURIER_ATTEMPTS)
			return (r);
		snprintf(why, sizeof(why), "no prompt reported after %u "
		    "attempts", r->attempts);
		settle(c, r, why, now);
	}
	return (NULL);
}

static void
courier_next(struct courier *c, uint64_t now)
{
	struct delivery	*r;
	int		 clear;

	if (c->phase != C_IDLE)
		return;
	if (!c->linked || c->act != ACT_IDLE) {
		c->ops->timer(c->arg, 0);
		return;
	}
	if (c->fresh && now - c->act_since < COURIER_SETTLE_MS) {
		c->ops->timer(c->arg, COURIER_SETTLE_MS - (now - c->act_since));
		return;
	}
	if ((r = next_record(c, now)) == NULL)
		return;
	/* Typed before: what is left of it in the box goes first. */
	clear = r->attempts > 0;
	/* Saved as typed before it is: a crash between leaves it held. */
	deliveries_set_state(r, DELIVERY_TYPED, now);
	c->ops->save(c->arg);
	c->cur = r;
	courier_phase(c, C_TYPING, 0);
	if (c->ops->type(c->arg, r->text, clear) == -1) {
		/* Nothing went: no attempt, and no link to try again. */
		r->attempts--;
		if (r->attempts == 0)
			r->state = DELIVERY_PENDING;
		c->ops->save(c->arg);
		c->cur = NULL;
		c->linked = 0;
		courier_phase(c, C_IDLE, 0);
	}
}

void
courier_activity(struct courier *c, enum activity act, int fresh,
    uint64_t now)
{
	if (act != c->act)
		c->act_since = now;
	c->act = act;
	c->fresh = act == ACT_IDLE && fresh;
	courier_next(c, now);
}

void
courier_linked(struct courier *c, int up, uint64_t now)
{
	c->linked = up;
	courier_next(c, now);
}

void
courier_kick(struct courier *c, uint64_t now)
{
	courier_next(c, now);
}

void
courier_typed(struct courier *c, const char *error, uint64_t now)
{
	char	why[256];

	if (c->phase != C_TYPING)
		return;
	if (c->cur == NULL) {		/* forgotten meanwhile */
		courier_phase(c, C_IDLE, 0);
		courier_next(c, now);
		return;
	}
	if (error == NULL) {
		courier_phase(c, C_WAIT, COURIER_CONFIRM_MS);
		return;
	}
	if (c->cur->attempts >= COURIER_ATTEMPTS) {
		snprintf(why, sizeof(why), "could not type it: %s", error);
		settle(c, c->cur, why, now);
		courier_next(c, now);
		return;
	}
	c->cur = NULL;
	courier_phase(c, C_PAUSE, COURIER_PAUSE_MS);
}

void
courier_prompt(struct courier *c, const char *prompt, int longer,
    uint64_t now)
{
	struct delivery	*r, *mine = NULL;

	(void)longer;
	TAILQ_FOREACH(r, &c->d->list, entry) {
		if (r->state != DELIVERY_TYPED || r->text[0] == '\0' ||
		    strstr(prompt, r->text) == NULL)
			continue;
		mine = r;
		break;
	}
	if (mine != NULL) {
		settle(c, mine, NULL, now);
		courier_next(c, now);
		return;
	}
	/*
	 * Someone else's prompt while ours waited: ours was lost or is still
	 * in the box.  It waits for the agent to be idle again, and goes
	 * over a cleared line then.
	 */
	if (c->cur != NULL && (c->phase == C_WAIT || c->phase == C_ENTERED)) {
		c->cur = NULL;
		courier_phase(c, C_IDLE, 0);
	}
}

void
courier_timeout(struct courier *c, uint64_t now)
{
	switch (c->phase) {
	case C_WAIT:
		if (c->act == ACT_IDLE && c->linked && c->cur != NULL) {
			c->ops->enter(c->arg);
			courier_phase(c, C_ENTERED, COURIER_CONFIRM_MS);
			return;
		}
		break;
	case C_TYPING:
		return;		/* the link answers, or says it is gone */
	default:
		break;
	}
	c->cur = NULL;
	courier_phase(c, C_IDLE, 0);
	courier_next(c, now);
}

void
courier_forget(struct courier *c, const struct delivery *d)
{
	if (c->cur != d)
		return;
	c->cur = NULL;
	if (c->phase != C_TYPING)	/* the answer still comes */
		courier_phase(c, C_IDLE, 0);
}
