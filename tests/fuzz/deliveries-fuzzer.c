/*
 * libFuzzer harness for the deliveries file of deliveries.c.  The
 * invariants: a parse that succeeds keeps records within their bounds
 * (at most DELIVERIES_MAX, ids from 1 rising and below next_id, one
 * record per item, an item's name exactly for the item kind, texts
 * neither empty nor over DELIVERY_TEXT_MAX); and what it gives, written
 * out and read back, is the same text again.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deliveries.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fail(const char *what)
{
	fprintf(stderr, "invariant broken: %s\n", what);
	abort();
}

static void
check(const struct deliveries *ds)
{
	const struct delivery	*d, *e;
	uint64_t		 last = 0;
	size_t			 n = 0, len;

	TAILQ_FOREACH(d, &ds->list, entry) {
		n++;
		if (d->id <= last || d->id >= ds->next_id)
			fail("ids not rising below next_id");
		last = d->id;
		if ((d->kind == DELIVERY_ITEM) != (d->item != NULL))
			fail("an item's name out of its kind");
		if (d->item != NULL) {
			if (strchr(d->item, '/') != NULL ||
			    strlen(d->item) > DELIVERY_ITEM_MAX)
				fail("an item's name not a name");
			for (e = TAILQ_NEXT(d, entry); e != NULL;
			    e = TAILQ_NEXT(e, entry))
				if (e->item != NULL &&
				    strcmp(e->item, d->item) == 0)
					fail("an item twice");
		}
		len = strlen(d->text);
		if (len == 0 || len > DELIVERY_TEXT_MAX)
			fail("a text out of bounds");
	}
	if (n != ds->n || n > DELIVERIES_MAX)
		fail("the count");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct deliveries	*ds, *back;
	char			*text, *again, *again2, err[512];

	text = malloc(size + 1);
	if (text == NULL)
		return (0);
	memcpy(text, data, size);
	text[size] = '\0';
	ds = deliveries_parse(text, size, err, sizeof(err));
	free(text);
	if (ds == NULL) {
		if (err[0] == '\0')
			fail("refused without a reason");
		return (0);
	}
	check(ds);
	again = deliveries_format(ds);
	back = deliveries_parse(again, strlen(again), err, sizeof(err));
	if (back == NULL)
		fail("its own text refused");
	again2 = deliveries_format(back);
	if (strcmp(again, again2) != 0)
		fail("not the same text read back");
	free(again);
	free(again2);
	deliveries_free(back);
	deliveries_free(ds);
	return (0);
}
