/*
 * libFuzzer harness for policy.c: the run-time file and the values
 * qmsctl policy and the configuration give.  The invariants: an error
 * is one printable line; what parses formats back to a text that parses
 * to the same policy; a stop of idle stays within its bounds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fail(const char *what)
{
	fprintf(stderr, "invariant broken: %s\n", what);
	abort();
}

static void
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			fail("unprintable error");
}

static void
same(const struct policy_override *a, const struct policy_override *b)
{
	if (a->set != b->set)
		fail("parts differ after a round trip");
	if ((a->set & POLICY_SET_START) && a->p.start != b->p.start)
		fail("start differs after a round trip");
	if ((a->set & POLICY_SET_STOP) && (a->p.stop != b->p.stop ||
	    a->p.idle != b->p.idle))
		fail("stop differs after a round trip");
	if ((a->set & POLICY_SET_STOP) && a->p.stop == POLICY_STOP_IDLE &&
	    (a->p.idle < POLICY_IDLE_MIN || a->p.idle > POLICY_IDLE_MAX))
		fail("idle out of bounds");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy_override	 o, back;
	struct policy		 p;
	char			 err[256], *text, *word;

	err[0] = '\0';
	if (policy_file_parse((const char *)data, size, &o, err,
	    sizeof(err)) == -1)
		printable(err);
	else {
		text = policy_file_format(&o);
		if (policy_file_parse(text, strlen(text), &back, err,
		    sizeof(err)) == -1)
			fail("formatted text does not parse");
		same(&o, &back);
		free(text);
	}

	/* The same bytes as one value, as qmsctl policy passes it. */
	word = malloc(size + 1);
	memcpy(word, data, size);
	word[size] = '\0';
	memset(&o, 0, sizeof(o));
	if (policy_word_parse(word, &o, err, sizeof(err)) == -1)
		printable(err);
	if (policy_stop_parse(word, &p, err, sizeof(err)) == -1)
		printable(err);
	else if (p.stop == POLICY_STOP_IDLE && (p.idle < POLICY_IDLE_MIN ||
	    p.idle > POLICY_IDLE_MAX || p.idle % 1000 != 0))
		fail("idle out of bounds");
	free(word);
	return (0);
}
