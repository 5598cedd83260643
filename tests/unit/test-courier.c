/*
 * The courier: typed only while idle and linked, never in a fresh
 * session's first moment, saved as typed before typing, confirmed by a
 * prompt that holds the text, a second Enter then a retype over a cleared
 * line, failed after its tries, held after a restart, and let go of when
 * its item leaves.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "courier.h"

static char		 typed[4096];
static int		 ntyped, nclear, nenter, nsave, nsettled, typefail;
static uint64_t		 timer_ms;
static char		 settled_why[256];
static uint64_t		 settled_id;
static enum delivery_state saved_state;	/* the first record's, at a save */
static struct deliveries *ds;

static int
op_type(void *arg, const char *text, int clear)
{
	(void)arg;
	if (typefail)
		return (-1);
	snprintf(typed, sizeof(typed), "%s", text);
	ntyped++;
	nclear += clear;
	return (0);
}

static void
op_enter(void *arg)
{
	(void)arg;
	nenter++;
}

static void
op_save(void *arg)
{
	(void)arg;
	nsave++;
	if (TAILQ_FIRST(&ds->list) != NULL)
		saved_state = TAILQ_FIRST(&ds->list)->state;
}

static void
op_settled(void *arg, const struct delivery *d, const char *why)
{
	(void)arg;
	nsettled++;
	settled_id = d->id;
	snprintf(settled_why, sizeof(settled_why), "%s", why ? why : "");
}

static void
op_timer(void *arg, uint64_t ms)
{
	(void)arg;
	timer_ms = ms;
}

static const struct courier_ops ops = {
	op_type, op_enter, op_save, op_settled, op_timer,
};

static void
reset(void)
{
	typed[0] = '\0';
	ntyped = nclear = nenter = nsave = nsettled = typefail = 0;
	timer_ms = 0;
	settled_why[0] = '\0';
	settled_id = 0;
}

static struct delivery *
add(enum delivery_kind k, const char *item, const char *text)
{
	char	err[256];
	struct delivery *d;

	d = deliveries_add(ds, k, item, text, 1, err, sizeof(err));
	CHECK(d != NULL);
	return (d);
}

int
main(void)
{
	struct courier	*c;
	struct delivery	*a, *b, *m;
	uint64_t	 t = 1000, id;

	ds = deliveries_new();
	c = courier_new(ds, &ops, NULL, t);
	reset();

	/* Nothing typed without a link or while not idle. */
	a = add(DELIVERY_ITEM, "CR-063.md", "Task notification: CR-063");
	courier_kick(c, t);
	CHECK(ntyped == 0);
	courier_linked(c, 1, t);
	CHECK(ntyped == 0);			/* no session */
	courier_activity(c, ACT_WORKING, 0, t);
	CHECK(ntyped == 0);
	courier_activity(c, ACT_NEEDS_INPUT, 0, t);
	CHECK(ntyped == 0);

	/* A fresh session: not before it settled. */
	courier_activity(c, ACT_IDLE, 1, t);
	CHECK(ntyped == 0);
	CHECK(timer_ms == COURIER_SETTLE_MS);
	t += COURIER_SETTLE_MS;
	courier_timeout(c, t);
	CHECK(ntyped == 1);
	CHECK(nclear == 0);
	CHECK_STR(typed, "Task notification: CR-063");
	CHECK(saved_state == DELIVERY_TYPED);	/* saved before typing */
	CHECK(a->attempts == 1);
	CHECK(courier_current(c) == a);

	/* Typed; confirmed by a prompt holding it. */
	courier_typed(c, NULL, t);
	CHECK(timer_ms == COURIER_CONFIRM_MS);
	courier_prompt(c, "draft Task notification: CR-063 more", 0, t);
	CHECK(nsettled == 1 && settled_id == a->id);
	CHECK_STR(settled_why, "");
	CHECK(a->state == DELIVERY_DELIVERED);	/* kept: its item is there */
	CHECK(courier_current(c) == NULL);
	courier_activity(c, ACT_WORKING, 0, t);

	/* Two more: one at a time, in order; a message is removed once in. */
	reset();
	b = add(DELIVERY_ITEM, "CR-064.md", "Task notification: CR-064");
	m = add(DELIVERY_MESSAGE, NULL, "Please stop and commit");
	courier_kick(c, t);
	CHECK(ntyped == 0);			/* working */
	courier_activity(c, ACT_IDLE, 0, t);	/* Stop: not fresh */
	CHECK(ntyped == 1);
	CHECK_STR(typed, "Task notification: CR-064");
	courier_typed(c, NULL, t);

	/* Not confirmed: a second Enter, then typed anew over a clear line. */
	t += COURIER_CONFIRM_MS;
	courier_timeout(c, t);
	CHECK(nenter == 1);
	CHECK(ntyped == 1);
	t += COURIER_CONFIRM_MS;
	courier_timeout(c, t);
	CHECK(ntyped == 2);
	CHECK(nclear == 1);
	CHECK(b->attempts == 2);
	courier_typed(c, NULL, t);
	courier_prompt(c, "Task notification: CR-064", 0, t);
	CHECK(b->state == DELIVERY_DELIVERED);
	courier_activity(c, ACT_WORKING, 0, t);
	courier_activity(c, ACT_IDLE, 0, t);
	CHECK_STR(typed, "Please stop and commit");
	courier_typed(c, NULL, t);
	courier_prompt(c, "Please stop and commit", 0, t);
	CHECK(deliveries_find(ds, 3) == NULL);	/* the message is gone */
	CHECK(ds->n == 2);

	/* Someone else's prompt while ours waits: ours waits for idle. */
	reset();
	courier_activity(c, ACT_WORKING, 0, t);
	a = add(DELIVERY_ITEM, "CR-065.md", "Task notification: CR-065");
	courier_activity(c, ACT_IDLE, 0, t);
	CHECK(ntyped == 1);
	courier_typed(c, NULL, t);
	courier_prompt(c, "a person's own question", 0, t);
	courier_activity(c, ACT_WORKING, 0, t);
	CHECK(courier_current(c) == NULL);
	CHECK(a->state == DELIVERY_TYPED);
	courier_timeout(c, t + COURIER_CONFIRM_MS);
	CHECK(nenter == 0);			/* not idle: no Enter */
	CHECK(ntyped == 1);
	courier_activity(c, ACT_NEEDS_INPUT, 0, t);
	CHECK(ntyped == 1);			/* never at a prompt */
	courier_activity(c, ACT_IDLE, 0, t);
	CHECK(ntyped == 2 && nclear == 1);

	/* Never confirmed: failed after its tries; the next goes. */
	b = add(DELIVERY_MESSAGE, NULL, "Next one");
	courier_typed(c, NULL, t);
	t += COURIER_CONFIRM_MS;
	courier_timeout(c, t);			/* Enter */
	t += COURIER_CONFIRM_MS;
	courier_timeout(c, t);			/* third typing */
	CHECK(a->attempts == COURIER_ATTEMPTS);
	courier_typed(c, NULL, t);
	t += COURIER_CONFIRM_MS;
	courier_timeout(c, t);
	t += COURIER_CONFIRM_MS;
	courier_timeout(c, t);
	CHECK(a->state == DELIVERY_FAILED);
	CHECK(strstr(settled_why, "attempts") != NULL);
	CHECK_STR(typed, "Next one");

	/* Its item leaves while being typed: the answer settles nothing. */
	reset();
	courier_forget(c, courier_current(c));
	deliveries_remove(ds, deliveries_find(ds, 5));
	courier_typed(c, NULL, t);
	CHECK(nsettled == 0);
	CHECK(courier_current(c) == NULL);

	/* No link: nothing counted as an attempt. */
	reset();
	typefail = 1;
	m = add(DELIVERY_MESSAGE, NULL, "After the link");
	courier_kick(c, t);
	CHECK(m->attempts == 0 && m->state == DELIVERY_PENDING);
	typefail = 0;
	courier_kick(c, t);
	CHECK(ntyped == 0);			/* waits for the link */
	courier_linked(c, 1, t);
	CHECK(ntyped == 1);
	courier_free(c);

	/*
	 * A restart with m typed: held for its late confirmation, then
	 * typed again over a cleared line.
	 */
	reset();
	c = courier_new(ds, &ops, NULL, t);
	CHECK(timer_ms == COURIER_CONFIRM_MS);
	courier_linked(c, 1, t);
	courier_activity(c, ACT_IDLE, 0, t);
	CHECK(ntyped == 0);
	id = m->id;
	courier_prompt(c, "After the link", 0, t);
	CHECK(nsettled == 1);
	CHECK(deliveries_find(ds, id) == NULL);
	courier_free(c);

	reset();
	m = add(DELIVERY_MESSAGE, NULL, "Held then typed");
	deliveries_set_state(m, DELIVERY_TYPED, t);
	c = courier_new(ds, &ops, NULL, t);
	courier_linked(c, 1, t);
	courier_activity(c, ACT_IDLE, 0, t);
	CHECK(ntyped == 0);
	courier_timeout(c, t + COURIER_CONFIRM_MS);
	CHECK(ntyped == 1 && nclear == 1);
	courier_free(c);
	deliveries_free(ds);
	return (check_done("courier"));
}
