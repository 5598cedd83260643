#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "deliveries.h"
#include "log.h"
#include "safe-path.h"
#include "util.h"

#define DELIVERIES_VERSION	1

static const char *const kinds[] = {
	[DELIVERY_ITEM] = "item",
	[DELIVERY_MESSAGE] = "message",
};

static const char *const states[] = {
	[DELIVERY_PENDING] = "pending",
	[DELIVERY_TYPED] = "typed",
	[DELIVERY_DELIVERED] = "delivered",
	[DELIVERY_FAILED] = "failed",
};

const char *
delivery_kind_name(enum delivery_kind k)
{
	return (kinds[k]);
}

const char *
delivery_state_name(enum delivery_state s)
{
	return (states[s]);
}

struct deliveries *
deliveries_new(void)
{
	struct deliveries	*ds;

	ds = xcalloc(1, sizeof(*ds));
	TAILQ_INIT(&ds->list);
	ds->next_id = 1;
	return (ds);
}

static void
delivery_free(struct delivery *d)
{
	free(d->item);
	free(d->text);
	free(d);
}

void
deliveries_free(struct deliveries *ds)
{
	struct delivery	*d;

	if (ds == NULL)
		return;
	while ((d = TAILQ_FIRST(&ds->list)) != NULL) {
		TAILQ_REMOVE(&ds->list, d, entry);
		delivery_free(d);
	}
	free(ds);
}

struct delivery *
deliveries_find(const struct deliveries *ds, uint64_t id)
{
	struct delivery	*d;

	TAILQ_FOREACH(d, &ds->list, entry)
		if (d->id == id)
			return (d);
	return (NULL);
}

struct delivery *
deliveries_find_item(const struct deliveries *ds, const char *item)
{
	struct delivery	*d;

	TAILQ_FOREACH(d, &ds->list, entry)
		if (d->item != NULL && strcmp(d->item, item) == 0)
			return (d);
	return (NULL);
}

/* Whether an item's name could be one: a name in a directory. */
static int
item_ok(const char *item)
{
	size_t	n = strlen(item);

	return (n > 0 && n <= DELIVERY_ITEM_MAX && strchr(item, '/') == NULL &&
	    strcmp(item, ".") != 0 && strcmp(item, "..") != 0);
}

/* What a record must be, wherever it comes from; 0, or -1 with why. */
static int
record_ok(const struct deliveries *ds, enum delivery_kind kind,
    const char *item, const char *text, char *err, size_t len)
{
	if (ds->n >= DELIVERIES_MAX) {
		snprintf(err, len, "more than %d deliveries", DELIVERIES_MAX);
		return (-1);
	}
	if ((kind == DELIVERY_ITEM) != (item != NULL)) {
		snprintf(err, len, "an item's delivery names its item, a "
		    "message's none");
		return (-1);
	}
	if (item != NULL && !item_ok(item)) {
		snprintf(err, len, "not an item's name");
		return (-1);
	}
	if (item != NULL && deliveries_find_item(ds, item) != NULL) {
		snprintf(err, len, "the item has a delivery already");
		return (-1);
	}
	if (strlen(text) == 0 || strlen(text) > DELIVERY_TEXT_MAX) {
		snprintf(err, len, "the text is empty or over %d bytes",
		    DELIVERY_TEXT_MAX);
		return (-1);
	}
	return (0);
}

struct delivery *
deliveries_add(struct deliveries *ds, enum delivery_kind kind,
    const char *item, const char *text, uint64_t now, char *err, size_t len)
{
	struct delivery	*d;

	if (record_ok(ds, kind, item, text, err, len) == -1)
		return (NULL);
	if (ds->next_id > DELIVERY_NUMBER_MAX) {
		snprintf(err, len, "no ids left");
		return (NULL);
	}
	d = xcalloc(1, sizeof(*d));
	d->id = ds->next_id++;
	d->kind = kind;
	d->item = item != NULL ? xstrdup(item) : NULL;
	d->text = xstrdup(text);
	d->state = DELIVERY_PENDING;
	d->created = now;
	TAILQ_INSERT_TAIL(&ds->list, d, entry);
	ds->n++;
	return (d);
}

void
deliveries_set_state(struct delivery *d, enum delivery_state state,
    uint64_t now)
{
	if (state == DELIVERY_TYPED) {
		d->attempts++;
		d->typed = now;
	}
	d->state = state;
}

void
deliveries_remove(struct deliveries *ds, struct delivery *d)
{
	TAILQ_REMOVE(&ds->list, d, entry);
	ds->n--;
	delivery_free(d);
}

/* ---- the file's text ---- */

/* A whole number in [0, max]; 0, or -1. */
static int
number(const cJSON *v, uint64_t max, uint64_t *out)
{
	double	x;

	if (!cJSON_IsNumber(v))
		return (-1);
	x = v->valuedouble;
	/* NaN fails every comparison; infinity is past max. */
	if (!(x >= 0 && x <= (double)max) || (double)(uint64_t)x != x)
		return (-1);
	*out = (uint64_t)x;
	return (0);
}

static int
word(const cJSON *v, const char *const *words, size_t n)
{
	size_t	i;

	if (!cJSON_IsString(v))
		return (-1);
	for (i = 0; i < n; i++)
		if (strcmp(v->valuestring, words[i]) == 0)
			return ((int)i);
	return (-1);
}

/* Whether o, an object, has only these keys, each once. */
static int
only_keys(const cJSON *o, const char *const *keys, size_t n)
{
	const cJSON	*a, *b;
	size_t		 i;

	for (a = o->child; a != NULL; a = a->next) {
		for (i = 0; i < n; i++)
			if (a->string != NULL && strcmp(a->string, keys[i]) == 0)
				break;
		if (i == n)
			return (-1);
		for (b = a->next; b != NULL; b = b->next)
			if (strcmp(a->string, b->string) == 0)
				return (-1);
	}
	return (0);
}

static const char *const top_keys[] = { "version", "next_id", "deliveries" };
static const char *const record_keys[] = {
	"id", "kind", "item", "text", "state", "attempts", "created", "typed",
};

/* One record into ds; 0, or -1 with why. */
static int
parse_record(struct deliveries *ds, const cJSON *r, char *err, size_t len)
{
	const cJSON	*v;
	struct delivery	*d;
	const char	*item = NULL;
	uint64_t	 id, attempts, created, typed;
	int		 kind, state;
	char		 why[128];

	if (!cJSON_IsObject(r) || only_keys(r, record_keys,
	    nitems(record_keys)) == -1) {
		snprintf(err, len, "not an object of the known fields");
		return (-1);
	}
	if (number(cJSON_GetObjectItemCaseSensitive(r, "id"),
	    DELIVERY_NUMBER_MAX, &id) == -1 || id == 0) {
		snprintf(err, len, "id: not a whole number from 1");
		return (-1);
	}
	if ((kind = word(cJSON_GetObjectItemCaseSensitive(r, "kind"), kinds,
	    nitems(kinds))) == -1) {
		snprintf(err, len, "id %llu: kind: not item or message",
		    (unsigned long long)id);
		return (-1);
	}
	if ((state = word(cJSON_GetObjectItemCaseSensitive(r, "state"),
	    states, nitems(states))) == -1) {
		snprintf(err, len, "id %llu: state: not one of pending, typed, "
		    "delivered, failed", (unsigned long long)id);
		return (-1);
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(r, "item")) != NULL) {
		if (!cJSON_IsString(v)) {
			snprintf(err, len, "id %llu: item: not a string",
			    (unsigned long long)id);
			return (-1);
		}
		item = v->valuestring;
	}
	v = cJSON_GetObjectItemCaseSensitive(r, "text");
	if (!cJSON_IsString(v)) {
		snprintf(err, len, "id %llu: text: not a string",
		    (unsigned long long)id);
		return (-1);
	}
	if (number(cJSON_GetObjectItemCaseSensitive(r, "attempts"), 1000000,
	    &attempts) == -1 || number(cJSON_GetObjectItemCaseSensitive(r,
	    "created"), DELIVERY_NUMBER_MAX, &created) == -1 ||
	    number(cJSON_GetObjectItemCaseSensitive(r, "typed"),
	    DELIVERY_NUMBER_MAX, &typed) == -1) {
		snprintf(err, len, "id %llu: attempts, created or typed: not a "
		    "whole number in bounds", (unsigned long long)id);
		return (-1);
	}
	if (deliveries_find(ds, id) != NULL || (!TAILQ_EMPTY(&ds->list) &&
	    TAILQ_LAST(&ds->list, delivery_list)->id >= id)) {
		snprintf(err, len, "id %llu: not after the one before",
		    (unsigned long long)id);
		return (-1);
	}
	/* The same bounds as a record added now; never crash on a rename. */
	if (record_ok(ds, (enum delivery_kind)kind, item, v->valuestring,
	    why, sizeof(why)) == -1) {
		snprintf(err, len, "id %llu: %s", (unsigned long long)id, why);
		return (-1);
	}
	d = xcalloc(1, sizeof(*d));
	d->id = id;
	d->kind = (enum delivery_kind)kind;
	d->item = item != NULL ? xstrdup(item) : NULL;
	d->text = xstrdup(v->valuestring);
	d->state = (enum delivery_state)state;
	d->attempts = (unsigned int)attempts;
	d->created = created;
	d->typed = typed;
	TAILQ_INSERT_TAIL(&ds->list, d, entry);
	ds->n++;
	return (0);
}

struct deliveries *
deliveries_parse(const char *text, size_t len, char *err, size_t errlen)
{
	struct deliveries	*ds;
	const cJSON		*list, *r;
	cJSON			*doc;
	uint64_t		 version, next;
	char			 why[256];

	if (memchr(text, '\0', len) != NULL || text[len] != '\0') {
		snprintf(err, errlen, "a NUL byte in the file");
		return (NULL);
	}
	/* All of it, its NUL included: nothing may follow the document. */
	if ((doc = cJSON_ParseWithLengthOpts(text, len + 1, NULL, 1)) ==
	    NULL) {
		snprintf(err, errlen, "not JSON");
		return (NULL);
	}
	if (!cJSON_IsObject(doc) || only_keys(doc, top_keys,
	    nitems(top_keys)) == -1 ||
	    number(cJSON_GetObjectItemCaseSensitive(doc, "version"), 1000,
	    &version) == -1 || version != DELIVERIES_VERSION ||
	    number(cJSON_GetObjectItemCaseSensitive(doc, "next_id"),
	    DELIVERY_NUMBER_MAX + 1, &next) == -1 || next == 0 ||
	    !cJSON_IsArray(list = cJSON_GetObjectItemCaseSensitive(doc,
	    "deliveries"))) {
		cJSON_Delete(doc);
		snprintf(err, errlen, "not a version %d deliveries file "
		    "(version, next_id, deliveries)", DELIVERIES_VERSION);
		return (NULL);
	}
	ds = deliveries_new();
	cJSON_ArrayForEach(r, list) {
		if (parse_record(ds, r, why, sizeof(why)) == -1) {
			snprintf(err, errlen, "delivery %zu: %s", ds->n + 1, why);
			goto fail;
		}
	}
	if (!TAILQ_EMPTY(&ds->list) &&
	    TAILQ_LAST(&ds->list, delivery_list)->id >= next) {
		snprintf(err, errlen, "next_id %llu is not after the last id",
		    (unsigned long long)next);
		goto fail;
	}
	ds->next_id = next;
	cJSON_Delete(doc);
	return (ds);
fail:
	deliveries_free(ds);
	cJSON_Delete(doc);
	return (NULL);
}

char *
deliveries_format(const struct deliveries *ds)
{
	const struct delivery	*d;
	cJSON			*doc, *list, *r;
	char			*text;

	doc = cJSON_CreateObject();
	cJSON_AddNumberToObject(doc, "version", DELIVERIES_VERSION);
	cJSON_AddNumberToObject(doc, "next_id", (double)ds->next_id);
	list = cJSON_AddArrayToObject(doc, "deliveries");
	TAILQ_FOREACH(d, &ds->list, entry) {
		r = cJSON_CreateObject();
		cJSON_AddNumberToObject(r, "id", (double)d->id);
		cJSON_AddStringToObject(r, "kind", kinds[d->kind]);
		if (d->item != NULL)
			cJSON_AddStringToObject(r, "item", d->item);
		cJSON_AddStringToObject(r, "text", d->text);
		cJSON_AddStringToObject(r, "state", states[d->state]);
		cJSON_AddNumberToObject(r, "attempts", d->attempts);
		cJSON_AddNumberToObject(r, "created", (double)d->created);
		cJSON_AddNumberToObject(r, "typed", (double)d->typed);
		cJSON_AddItemToArray(list, r);
	}
	text = cJSON_Print(doc);
	cJSON_Delete(doc);
	if (text == NULL)
		fatalx("deliveries: out of memory");
	return (text);
}

/* ---- the file ---- */

/*
 * The directory of path, open (its last component not followed), and
 * path's last component in *base; -1 with errno.
 */
static int
open_dir(const char *path, char **dir, const char **base)
{
	const char	*slash;

	*dir = NULL;
	if ((slash = strrchr(path, '/')) == NULL || slash[1] == '\0') {
		errno = EINVAL;
		return (-1);
	}
	*dir = slash == path ? xstrdup("/") : strndup(path,
	    (size_t)(slash - path));
	if (*dir == NULL)
		fatalx("deliveries: out of memory");
	*base = slash + 1;
	return (safe_dir(*dir));
}

int
deliveries_load(const char *path, struct deliveries **out, char *err,
    size_t errlen)
{
	const char	*base;
	char		*dir, *text = NULL, *aside, why[512];
	size_t		 len = 0;
	int		 dfd, e;

	*out = NULL;
	if ((dfd = open_dir(path, &dir, &base)) != -1) {
		text = safe_read(dfd, base, DELIVERIES_FILE_MAX, &len);
		e = errno;
		close(dfd);
		errno = e;
	}
	free(dir);
	if (text == NULL && errno == ENOENT) {
		*out = deliveries_new();
		return (0);
	}
	if (text == NULL)
		snprintf(why, sizeof(why), "%s", safe_strerror(errno));
	else
		*out = deliveries_parse(text, len, why, sizeof(why));
	free(text);
	if (*out != NULL)
		return (0);
	*out = deliveries_new();
	xasprintf(&aside, "%s.corrupt", path);
	if (rename(path, aside) == 0)
		snprintf(err, errlen, "%s: %s; kept as %s, starting with no "
		    "deliveries", path, why, aside);
	else
		snprintf(err, errlen, "%s: %s; starting with no deliveries "
		    "(cannot keep it as %s: %s)", path, why, aside,
		    strerror(errno));
	free(aside);
	return (-1);
}

int
deliveries_save(const struct deliveries *ds, const char *path, char *err,
    size_t errlen)
{
	const char	*base;
	char		*dir, *text;
	int		 dfd, rv = -1;

	if ((dfd = open_dir(path, &dir, &base)) == -1 && errno == ENOENT &&
	    mkdir_p(dir, 0700) == 0)
		dfd = safe_dir(dir);
	if (dfd == -1) {
		snprintf(err, errlen, "%s: %s", dir != NULL ? dir : path,
		    safe_strerror(errno));
		free(dir);
		return (-1);
	}
	text = deliveries_format(ds);
	/* Root's file in root's directory, whole or not at all. */
	if ((rv = safe_replace(dfd, base, text, strlen(text), 0600, geteuid(),
	    getegid())) == -1)
		snprintf(err, errlen, "%s: %s", path, safe_strerror(errno));
	free(text);
	close(dfd);
	free(dir);
	return (rv);
}
