/*
 * An agent's inbox watched in a real loop over a real directory: items
 * made, renamed in, removed; the directory made when missing, removed,
 * replaced by another and by a link; events lost; more items than are
 * tracked; names unsafe to type refused; and an inbox that is a link
 * from the start never watched.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "check.h"
#include "inbox.h"

#define REL	".claude/users/claude/inbox"

static char			 root[] = "/tmp/qmsd-test-inbox.XXXXXX";
static struct event_base	*base;
static char			 seen[65536];	/* "+a.md -b.md ..." */
static int			 nseen;

static void
changed(void *arg, const char *name, enum inbox_change how)
{
	struct inbox	*ib = *(struct inbox **)arg;
	size_t		 len = strlen(seen);

	nseen++;
	/* The count has changed already. */
	if (how == INBOX_ARRIVED)
		CHECK(inbox_has(ib, name));
	else
		CHECK(!inbox_has(ib, name));
	if (len + strlen(name) + 3 < sizeof(seen))
		snprintf(seen + len, sizeof(seen) - len, "%s%c%s",
		    len > 0 ? " " : "", how == INBOX_ARRIVED ? '+' : '-', name);
}

static void
path(char *buf, size_t len, const char *rel)
{
	snprintf(buf, len, "%s/%s", root, rel);
}

static void
touch(const char *rel)
{
	char	p[1024];
	int	fd;

	path(p, sizeof(p), rel);
	if ((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1)
		perror(p);
	else
		close(fd);
}

static void
run(const char *cmd)
{
	char	c[2048];

	snprintf(c, sizeof(c), "cd '%s' && %s", root, cmd);
	if (system(c) != 0)
		fprintf(stderr, "failed: %s\n", c);
}

static int	guard_fired;

static void
guard(evutil_socket_t fd, short ev, void *arg)
{
	guard_fired = 1;
}

/*
 * Run the loop until cond holds (or, as a guard against a hang only, a
 * minute passes: the test then fails, it never waits on purpose).
 */
#define UNTIL(cond) do {						\
	struct timeval	 until_tv = { 60, 0 };				\
	struct event	*until_ev = evtimer_new(base, guard, NULL);	\
	guard_fired = 0;						\
	evtimer_add(until_ev, &until_tv);				\
	while (!(cond) && !guard_fired)					\
		event_base_loop(base, EVLOOP_ONCE);			\
	event_free(until_ev);						\
	CHECK(cond);							\
} while (0)

/* Run the loop for a while, for what must not happen meanwhile. */
static void
idle(int ms)
{
	struct timeval	tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

/* The items' names in order, joined by blanks. */
static const char *
items(struct inbox *ib)
{
	static char		 buf[4096];
	const struct inbox_item	*it;
	size_t			 len = 0;

	buf[0] = '\0';
	for (it = inbox_first(ib); it != NULL && len < sizeof(buf) - 200;
	    it = inbox_next(it))
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s",
		    len > 0 ? " " : "", inbox_item_name(it));
	return (buf);
}

static void
test_names(void)
{
	char	why[128], name[INBOX_NAME_MAX + 2], esc[64];

	CHECK(inbox_name_ok("CR-063 review.md", why, sizeof(why)) == 1);
	CHECK(inbox_name_ok("\xc3\x9c" "berpr\xc3\xbc" "fung.md", why,
	    sizeof(why)) == 1);
	CHECK(inbox_name_ok("\xf0\x9f\x93\xac.md", why, sizeof(why)) == 1);
	/* Not items: said nothing of. */
	CHECK(inbox_name_ok("notes.txt", why, sizeof(why)) == -1);
	CHECK(inbox_name_ok(".md", why, sizeof(why)) == -1);
	CHECK(inbox_name_ok(".draft.md", why, sizeof(why)) == -1);
	CHECK(inbox_name_ok("a.md.swp", why, sizeof(why)) == -1);
	/* Unsafe to type: refused. */
	CHECK(inbox_name_ok("a\x1b[2J.md", why, sizeof(why)) == 0);
	CHECK(strstr(why, "U+001B") != NULL);
	CHECK(inbox_name_ok("a\r.md", why, sizeof(why)) == 0);
	CHECK(inbox_name_ok("a\x7f.md", why, sizeof(why)) == 0);
	CHECK(inbox_name_ok("a\xc2\x9b" "2J.md", why, sizeof(why)) == 0);
	CHECK(inbox_name_ok("a\xe2\x80\xae" "dm.exe.md", why,
	    sizeof(why)) == 0);
	CHECK(inbox_name_ok("a\xe2\x80\x8b.md", why, sizeof(why)) == 0);
	CHECK(inbox_name_ok("a\xef\xbb\xbf.md", why, sizeof(why)) == 0);
	CHECK(inbox_name_ok("\xff.md", why, sizeof(why)) == 0);
	CHECK_STR(why, "not UTF-8");
	CHECK(inbox_name_ok("\xc0\xae.md", why, sizeof(why)) == 0);
	CHECK(inbox_name_ok("\xe0\x80\xae.md", why, sizeof(why)) == 0);
	CHECK(inbox_name_ok("\xed\xa0\x80.md", why, sizeof(why)) == 0);
	CHECK(inbox_name_ok("\xf4\x90\x80\x80.md", why, sizeof(why)) == 0);
	CHECK(inbox_name_ok("a\xc3.md", why, sizeof(why)) == 0);
	CHECK(inbox_name_ok("a\xe2\x80.md", why, sizeof(why)) == 0);
	memset(name, 'a', sizeof(name));
	strcpy(name + INBOX_NAME_MAX - 3, ".md");
	CHECK(inbox_name_ok(name, why, sizeof(why)) == 1);
	strcpy(name + INBOX_NAME_MAX - 2, ".md");
	CHECK(inbox_name_ok(name, why, sizeof(why)) == 0);
	CHECK(strstr(why, "longer") != NULL);

	inbox_name_escape("a\x1b[\"\\\xff.md", esc, sizeof(esc));
	CHECK_STR(esc, "a\\x1b[\\x22\\x5c\\xff.md");
}

static void
test_watch(void)
{
	struct inbox	*ib;
	struct stat	 st;
	char		 p[1024];

	/* Missing: made, the owner's (here: ours), and empty. */
	ib = inbox_open(base, root, REL, getuid(), getgid(), changed, &ib);
	path(p, sizeof(p), REL);
	CHECK(lstat(p, &st) == 0 && S_ISDIR(st.st_mode));
	CHECK(inbox_error(ib) == NULL);
	UNTIL(inbox_ready(ib));
	CHECK(inbox_count(ib) == 0 && nseen == 0);
	inbox_close(ib);

	/* Items there before: found, oldest first, never from inside open. */
	touch(REL "/1-first.md");
	touch(REL "/2-second.md");
	touch(REL "/notes.txt");
	seen[0] = '\0';
	nseen = 0;
	ib = inbox_open(base, root, REL, getuid(), getgid(), changed, &ib);
	CHECK(nseen == 0);
	UNTIL(inbox_ready(ib));
	CHECK_STR(seen, "+1-first.md +2-second.md");
	CHECK(inbox_count(ib) == 2);

	/* Made, renamed in: in the order they came, whatever their names. */
	seen[0] = '\0';
	touch(REL "/z.md");
	run("printf 'x' > " REL "/a.tmp && mv " REL "/a.tmp " REL "/a.md");
	UNTIL(inbox_count(ib) == 4);
	CHECK_STR(seen, "+z.md +a.md");
	CHECK_STR(items(ib), "1-first.md 2-second.md z.md a.md");

	/* Not items: other names, hidden ones, directories, links, FIFOs. */
	seen[0] = '\0';
	touch(REL "/readme.txt");
	touch(REL "/.hidden.md");
	run("mkdir " REL "/dir.md && ln -s /etc/passwd " REL "/link.md && "
	    "mkfifo " REL "/fifo.md");
	/* Names unsafe to type: refused, counted. */
	touch(REL "/bad\x1b[2J.md");
	touch(REL "/bad\xff.md");
	touch(REL "/last.md");
	UNTIL(inbox_has(ib, "last.md"));
	CHECK_STR(seen, "+last.md");
	CHECK(inbox_refused(ib) == 2);
	CHECK(inbox_count(ib) == 5);

	/* Removed, renamed within, renamed away. */
	seen[0] = '\0';
	run("rm " REL "/z.md && mv " REL "/a.md " REL "/b.md && mv " REL
	    "/last.md " REL "/../last.md");
	UNTIL(inbox_count(ib) == 3 && inbox_has(ib, "b.md"));
	CHECK_STR(seen, "-z.md -a.md +b.md -last.md");
	CHECK_STR(items(ib), "1-first.md 2-second.md b.md");

	/* A link renamed over an item: no item any more. */
	seen[0] = '\0';
	run("ln -s /etc/passwd " REL "/l && mv -T " REL "/l " REL "/b.md");
	UNTIL(!inbox_has(ib, "b.md"));
	CHECK_STR(seen, "-b.md");

	/* Replaced by another directory: what it holds is what counts. */
	seen[0] = '\0';
	run("mkdir " REL ".new && touch " REL ".new/new.md " REL
	    ".new/1-first.md && mv " REL " " REL ".old && mv " REL ".new "
	    REL);
	UNTIL(inbox_ready(ib) && inbox_has(ib, "new.md") &&
	    inbox_count(ib) == 2);
	CHECK_STR(items(ib), "1-first.md new.md");
	touch(REL "/after.md");
	UNTIL(inbox_has(ib, "after.md"));
	touch(REL ".old/old.md");	/* the old one is not watched */

	/* Removed with nothing in its place: empty, then made again. */
	seen[0] = '\0';
	run("rm -rf " REL);
	UNTIL(inbox_error(ib) != NULL);
	CHECK(inbox_count(ib) == 0 && !inbox_ready(ib));
	UNTIL(inbox_error(ib) == NULL && inbox_ready(ib));
	CHECK(lstat(p, &st) == 0 && S_ISDIR(st.st_mode));
	CHECK(!inbox_has(ib, "old.md"));
	touch(REL "/again.md");
	UNTIL(inbox_has(ib, "again.md"));

	/* Swapped for a link to elsewhere: not followed, count 0. */
	run("mkdir elsewhere && touch elsewhere/evil.md && rm -rf " REL
	    " && ln -s ../../../elsewhere " REL);
	UNTIL(inbox_error(ib) != NULL);
	CHECK(inbox_count(ib) == 0 && !inbox_ready(ib));
	CHECK(inbox_error(ib) != NULL &&
	    strstr(inbox_error(ib), "symbolic link") != NULL);
	touch("elsewhere/evil2.md");
	idle(1500);	/* a retry, refused again */
	CHECK(inbox_count(ib) == 0 && !inbox_has(ib, "evil.md"));

	/* A real directory again: watched at the next look. */
	run("rm " REL " && mkdir " REL " && touch " REL "/back.md");
	inbox_reopen(ib);
	CHECK(inbox_error(ib) == NULL);
	UNTIL(inbox_has(ib, "back.md") && inbox_ready(ib));
	CHECK(inbox_count(ib) == 1);
	inbox_close(ib);
}

/* Events lost: a scan finds what they said. */
static void
test_overflow(void)
{
	struct inbox	*ib;
	char		 name[64];
	int		 i;

	run("rm -rf " REL " && mkdir " REL);
	ib = inbox_open(base, root, REL, getuid(), getgid(), changed, &ib);
	UNTIL(inbox_ready(ib));
	/* More events than the kernel queues (16384 here), none read. */
	for (i = 0; i < 20000; i++) {
		snprintf(name, sizeof(name), REL "/n%d.txt", i);
		touch(name);
	}
	touch(REL "/kept.md");
	run("touch " REL "/gone.md && rm " REL "/gone.md");
	seen[0] = '\0';
	UNTIL(inbox_has(ib, "kept.md") && inbox_ready(ib));
	CHECK(inbox_count(ib) == 1 && !inbox_has(ib, "gone.md"));
	inbox_close(ib);
}

/* More than INBOX_MAX: counted, not tracked, taken in as others leave. */
static void
test_cap(void)
{
	struct inbox	*ib;
	char		 name[64];
	int		 i;

	run("rm -rf " REL " && mkdir " REL);
	for (i = 0; i < INBOX_MAX + 5; i++) {
		snprintf(name, sizeof(name), REL "/i%05d.md", i);
		touch(name);
	}
	ib = inbox_open(base, root, REL, getuid(), getgid(), changed, &ib);
	UNTIL(inbox_count(ib) == INBOX_MAX && inbox_untracked(ib) == 5);
	CHECK(!inbox_ready(ib));
	for (i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "rm " REL "/i%05d.md", i);
		run(name);
	}
	UNTIL(inbox_count(ib) == INBOX_MAX - 5 && inbox_ready(ib));
	CHECK(inbox_untracked(ib) == 0);
	CHECK(inbox_has(ib, "i10004.md"));
	inbox_close(ib);
}

/* A link from the start, at the inbox or above it: never watched. */
static void
test_hostile(void)
{
	struct inbox	*ib;

	run("rm -rf .claude elsewhere && mkdir -p elsewhere/inbox "
	    ".claude/users && touch elsewhere/evil.md elsewhere/inbox/x.md && "
	    "mkdir .claude/users/claude && ln -s ../../../elsewhere " REL);
	seen[0] = '\0';
	nseen = 0;
	ib = inbox_open(base, root, REL, getuid(), getgid(), changed, &ib);
	CHECK(inbox_error(ib) != NULL);
	CHECK(inbox_error(ib) != NULL &&
	    strstr(inbox_error(ib), "symbolic link") != NULL);
	touch("elsewhere/new.md");
	idle(300);
	CHECK(inbox_count(ib) == 0 && nseen == 0 && !inbox_ready(ib));
	inbox_close(ib);

	/* A directory above it a link: the same. */
	run("rm -rf .claude/users/claude && ln -s ../../elsewhere "
	    ".claude/users/claude");
	ib = inbox_open(base, root, ".claude/users/claude/inbox", getuid(),
	    getgid(), changed, &ib);
	CHECK(inbox_error(ib) != NULL);
	idle(300);
	CHECK(inbox_count(ib) == 0 && nseen == 0);
	inbox_close(ib);
}

int
main(void)
{
	char	cmd[300];

	if (mkdtemp(root) == NULL) {
		perror("mkdtemp");
		return (1);
	}
	base = event_base_new();
	test_names();
	test_watch();
	test_overflow();
	test_cap();
	test_hostile();
	event_base_free(base);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", root);
	return (check_done("test-inbox"));
}
