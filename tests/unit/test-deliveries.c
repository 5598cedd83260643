/*
 * An agent's kept notifications: records added, found, moved and removed;
 * the file written and read back the same, 0600, ids never given twice;
 * a file that is not exactly ours refused, set aside and started empty.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "deliveries.h"
#include "util.h"

static char	dir[] = "/tmp/qmsd-test-deliveries.XXXXXX";
static char	err[512];

/* Whether text parses. */
static int
parses(const char *text)
{
	struct deliveries	*ds;

	ds = deliveries_parse(text, strlen(text), err, sizeof(err));
	deliveries_free(ds);
	return (ds != NULL);
}

static void
write_file(const char *path, const char *text)
{
	int	fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1)
		return;
	if (write(fd, text, strlen(text)) == -1)
		perror(path);
	close(fd);
}

static void
test_records(void)
{
	struct deliveries	*ds = deliveries_new();
	struct delivery		*a, *b, *c;
	char			 big[DELIVERY_TEXT_MAX + 2];

	a = deliveries_add(ds, DELIVERY_ITEM, "CR-063.md", "Task notification: "
	    "CR-063.md is in your inbox", 1000, err, sizeof(err));
	b = deliveries_add(ds, DELIVERY_MESSAGE, NULL, "Please rebase", 2000,
	    err, sizeof(err));
	CHECK(a != NULL && b != NULL);
	CHECK(a->id == 1 && b->id == 2);
	CHECK(a->state == DELIVERY_PENDING && a->attempts == 0 &&
	    a->created == 1000 && a->typed == 0);
	CHECK(deliveries_find(ds, 2) == b);
	CHECK(deliveries_find(ds, 3) == NULL);
	CHECK(deliveries_find_item(ds, "CR-063.md") == a);
	CHECK(deliveries_find_item(ds, "CR-064.md") == NULL);

	/* One record per item; a message names none, an item one. */
	CHECK(deliveries_add(ds, DELIVERY_ITEM, "CR-063.md", "again", 3000, err,
	    sizeof(err)) == NULL);
	CHECK(strstr(err, "already") != NULL);
	CHECK(deliveries_add(ds, DELIVERY_MESSAGE, "x.md", "t", 1, err,
	    sizeof(err)) == NULL);
	CHECK(deliveries_add(ds, DELIVERY_ITEM, NULL, "t", 1, err,
	    sizeof(err)) == NULL);
	CHECK(deliveries_add(ds, DELIVERY_ITEM, "../x.md", "t", 1, err,
	    sizeof(err)) == NULL);
	CHECK(deliveries_add(ds, DELIVERY_MESSAGE, NULL, "", 1, err,
	    sizeof(err)) == NULL);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(deliveries_add(ds, DELIVERY_MESSAGE, NULL, big, 1, err,
	    sizeof(err)) == NULL);
	big[DELIVERY_TEXT_MAX] = '\0';
	CHECK((c = deliveries_add(ds, DELIVERY_MESSAGE, NULL, big, 1, err,
	    sizeof(err))) != NULL);
	CHECK(ds->n == 3);

	deliveries_set_state(a, DELIVERY_TYPED, 5000);
	deliveries_set_state(a, DELIVERY_PENDING, 6000);
	deliveries_set_state(a, DELIVERY_TYPED, 7000);
	CHECK(a->attempts == 2 && a->typed == 7000);
	deliveries_set_state(a, DELIVERY_DELIVERED, 8000);
	CHECK(a->state == DELIVERY_DELIVERED && a->typed == 7000);
	CHECK_STR(delivery_state_name(a->state), "delivered");

	/* A removed record's id is not given again. */
	deliveries_remove(ds, c);
	c = deliveries_add(ds, DELIVERY_MESSAGE, NULL, "next", 9, err,
	    sizeof(err));
	CHECK(c != NULL && c->id == 4);
	deliveries_free(ds);
}

/* Full: DELIVERIES_MAX records, and not one more, added or read. */
static void
test_bounds(void)
{
	struct deliveries	*ds = deliveries_new(), *back;
	char			*text;
	int			 i;

	for (i = 0; i < DELIVERIES_MAX; i++)
		if (deliveries_add(ds, DELIVERY_MESSAGE, NULL, "m", 1, err,
		    sizeof(err)) == NULL)
			break;
	CHECK(i == DELIVERIES_MAX);
	CHECK(deliveries_add(ds, DELIVERY_MESSAGE, NULL, "m", 1, err,
	    sizeof(err)) == NULL);
	text = deliveries_format(ds);
	back = deliveries_parse(text, strlen(text), err, sizeof(err));
	CHECK(back != NULL && back->n == DELIVERIES_MAX);
	deliveries_free(back);
	free(text);

	/* One more, by hand: refused. */
	ds->n--;
	CHECK(deliveries_add(ds, DELIVERY_MESSAGE, NULL, "m", 1, err,
	    sizeof(err)) != NULL);
	text = deliveries_format(ds);
	ds->n = DELIVERIES_MAX + 1;
	back = deliveries_parse(text, strlen(text), err, sizeof(err));
	CHECK(back == NULL);
	CHECK(strstr(err, "more than") != NULL);
	free(text);
	deliveries_free(ds);
}

static void
test_parse(void)
{
	const char	*ok = "{\"version\":1,\"next_id\":5,\"deliveries\":["
	    "{\"id\":1,\"kind\":\"item\",\"item\":\"a.md\",\"text\":\"t\","
	    "\"state\":\"typed\",\"attempts\":1,\"created\":1,\"typed\":2},"
	    "{\"id\":4,\"kind\":\"message\",\"text\":\"m\",\"state\":"
	    "\"failed\",\"attempts\":3,\"created\":1,\"typed\":2}]}";
	const char	*bad[] = {
		"",
		"[]",
		"{}",
		"{\"version\":2,\"next_id\":1,\"deliveries\":[]}",
		"{\"version\":1,\"next_id\":0,\"deliveries\":[]}",
		"{\"version\":1,\"next_id\":1,\"deliveries\":{}}",
		"{\"version\":1,\"next_id\":1,\"deliveries\":[],\"x\":1}",
		"{\"version\":1,\"version\":1,\"next_id\":1,\"deliveries\":[]}",
		"{\"version\":1,\"next_id\":1,\"deliveries\":[]} trailing",
		"{\"version\":1,\"next_id\":1.5,\"deliveries\":[]}",
		"{\"version\":1,\"next_id\":-1,\"deliveries\":[]}",
		"{\"version\":1,\"next_id\":1e300,\"deliveries\":[]}",
		"{\"version\":1,\"next_id\":\"2\",\"deliveries\":[]}",
		/* next_id not after the last id */
		"{\"version\":1,\"next_id\":1,\"deliveries\":[{\"id\":1,\"kind\":"
		"\"message\",\"text\":\"m\",\"state\":\"pending\",\"attempts\":"
		"0,\"created\":1,\"typed\":0}]}",
		/* ids out of order, or twice */
		"{\"version\":1,\"next_id\":9,\"deliveries\":[{\"id\":2,\"kind\":"
		"\"message\",\"text\":\"m\",\"state\":\"pending\",\"attempts\":"
		"0,\"created\":1,\"typed\":0},{\"id\":2,\"kind\":\"message\","
		"\"text\":\"m\",\"state\":\"pending\",\"attempts\":0,\"created\""
		":1,\"typed\":0}]}",
		/* one item twice */
		"{\"version\":1,\"next_id\":9,\"deliveries\":[{\"id\":1,\"kind\":"
		"\"item\",\"item\":\"a.md\",\"text\":\"m\",\"state\":\"pending\","
		"\"attempts\":0,\"created\":1,\"typed\":0},{\"id\":2,\"kind\":"
		"\"item\",\"item\":\"a.md\",\"text\":\"m\",\"state\":\"pending\","
		"\"attempts\":0,\"created\":1,\"typed\":0}]}",
		/* an unknown state, kind, field; a missing one; a wrong type */
		"{\"version\":1,\"next_id\":9,\"deliveries\":[{\"id\":1,\"kind\":"
		"\"message\",\"text\":\"m\",\"state\":\"lost\",\"attempts\":0,"
		"\"created\":1,\"typed\":0}]}",
		"{\"version\":1,\"next_id\":9,\"deliveries\":[{\"id\":1,\"kind\":"
		"\"mail\",\"text\":\"m\",\"state\":\"pending\",\"attempts\":0,"
		"\"created\":1,\"typed\":0}]}",
		"{\"version\":1,\"next_id\":9,\"deliveries\":[{\"id\":1,\"kind\":"
		"\"message\",\"text\":\"m\",\"state\":\"pending\",\"attempts\":0,"
		"\"created\":1,\"typed\":0,\"extra\":0}]}",
		"{\"version\":1,\"next_id\":9,\"deliveries\":[{\"id\":1,\"kind\":"
		"\"message\",\"text\":\"m\",\"state\":\"pending\",\"attempts\":0,"
		"\"created\":1}]}",
		"{\"version\":1,\"next_id\":9,\"deliveries\":[{\"id\":1,\"kind\":"
		"\"message\",\"text\":7,\"state\":\"pending\",\"attempts\":0,"
		"\"created\":1,\"typed\":0}]}",
		/* a message with an item, an item without, a path for a name */
		"{\"version\":1,\"next_id\":9,\"deliveries\":[{\"id\":1,\"kind\":"
		"\"message\",\"item\":\"a.md\",\"text\":\"m\",\"state\":"
		"\"pending\",\"attempts\":0,\"created\":1,\"typed\":0}]}",
		"{\"version\":1,\"next_id\":9,\"deliveries\":[{\"id\":1,\"kind\":"
		"\"item\",\"text\":\"m\",\"state\":\"pending\",\"attempts\":0,"
		"\"created\":1,\"typed\":0}]}",
		"{\"version\":1,\"next_id\":9,\"deliveries\":[{\"id\":1,\"kind\":"
		"\"item\",\"item\":\"../a.md\",\"text\":\"m\",\"state\":"
		"\"pending\",\"attempts\":0,\"created\":1,\"typed\":0}]}",
		/* id 0; a number past 2^53 */
		"{\"version\":1,\"next_id\":9,\"deliveries\":[{\"id\":0,\"kind\":"
		"\"message\",\"text\":\"m\",\"state\":\"pending\",\"attempts\":0,"
		"\"created\":1,\"typed\":0}]}",
		"{\"version\":1,\"next_id\":9,\"deliveries\":[{\"id\":1,\"kind\":"
		"\"message\",\"text\":\"m\",\"state\":\"pending\",\"attempts\":0,"
		"\"created\":18014398509481984,\"typed\":0}]}",
	};
	struct deliveries	*ds;
	struct delivery		*d;
	size_t			 i;

	ds = deliveries_parse(ok, strlen(ok), err, sizeof(err));
	CHECK(ds != NULL);
	if (ds != NULL) {
		CHECK(ds->n == 2 && ds->next_id == 5);
		d = deliveries_find_item(ds, "a.md");
		CHECK(d != NULL && d->state == DELIVERY_TYPED &&
		    d->attempts == 1 && d->typed == 2);
		d = deliveries_find(ds, 4);
		CHECK(d != NULL && d->kind == DELIVERY_MESSAGE &&
		    d->state == DELIVERY_FAILED && d->item == NULL);
		d = deliveries_add(ds, DELIVERY_MESSAGE, NULL, "n", 1, err,
		    sizeof(err));
		CHECK(d != NULL && d->id == 5);
		deliveries_free(ds);
	}
	for (i = 0; i < nitems(bad); i++)
		if (parses(bad[i])) {
			CHECK(!"parsed");
			fprintf(stderr, "  parsed: %s\n", bad[i]);
		}
	/* A NUL inside is no file of ours. */
	CHECK(deliveries_parse("{}\0{}", 5, err, sizeof(err)) == NULL);
}

static void
test_file(void)
{
	struct deliveries	*ds, *back;
	struct delivery		*d;
	struct stat		 st;
	char			 path[256], aside[300], *a, *b;

	snprintf(path, sizeof(path), "%s/agents/claude/deliveries", dir);
	snprintf(aside, sizeof(aside), "%s.corrupt", path);

	/* None yet: empty, and no error. */
	CHECK(deliveries_load(path, &ds, err, sizeof(err)) == 0);
	CHECK(ds != NULL && ds->n == 0 && ds->next_id == 1);

	d = deliveries_add(ds, DELIVERY_ITEM, "CR-063 review.md",
	    "Task notification: \"CR-063 review.md\" \xe2\x80\x94 in your inbox",
	    1790000000000ULL, err, sizeof(err));
	deliveries_set_state(d, DELIVERY_TYPED, 1790000000123ULL);
	(void)deliveries_add(ds, DELIVERY_MESSAGE, NULL, "line one\nline two",
	    1790000000200ULL, err, sizeof(err));
	deliveries_remove(ds, deliveries_add(ds, DELIVERY_MESSAGE, NULL, "gone",
	    1, err, sizeof(err)));
	CHECK(deliveries_save(ds, path, err, sizeof(err)) == 0);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);

	CHECK(deliveries_load(path, &back, err, sizeof(err)) == 0);
	a = deliveries_format(ds);
	b = deliveries_format(back);
	CHECK_STR(b, a);
	CHECK(back->next_id == 4);
	d = deliveries_find_item(back, "CR-063 review.md");
	CHECK(d != NULL && d->attempts == 1 && d->typed == 1790000000123ULL);
	free(a);
	free(b);
	deliveries_free(back);
	deliveries_free(ds);

	/* Not ours: set aside whole, started empty, said. */
	write_file(path, "{\"version\":1,\"next_id\":1,\"deliveries\":[tru");
	CHECK(deliveries_load(path, &ds, err, sizeof(err)) == -1);
	CHECK(ds != NULL && ds->n == 0);
	CHECK(strstr(err, "not JSON") != NULL && strstr(err, aside) != NULL);
	CHECK(access(path, F_OK) == -1);
	CHECK(stat(aside, &st) == 0 && st.st_size > 0);
	deliveries_free(ds);

	/* Something else at the path: the same. */
	CHECK(unlink(aside) == 0);
	CHECK(mkdir(path, 0700) == 0);
	CHECK(deliveries_load(path, &ds, err, sizeof(err)) == -1);
	CHECK(ds != NULL && ds->n == 0);
	deliveries_free(ds);
	CHECK(access(path, F_OK) == -1);

	/* A link is not followed, for reading or writing. */
	CHECK(symlink(aside, path) == 0);
	CHECK(deliveries_load(path, &ds, err, sizeof(err)) == -1);
	CHECK(ds != NULL && ds->n == 0);
	CHECK(deliveries_save(ds, path, err, sizeof(err)) == 0);
	CHECK(lstat(path, &st) == 0 && S_ISREG(st.st_mode));
	deliveries_free(ds);
}

int
main(void)
{
	char	cmd[300];

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return (1);
	}
	test_records();
	test_bounds();
	test_parse();
	test_file();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	return (check_done("test-deliveries"));
}
