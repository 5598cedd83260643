/*
 * The kept list of .env files: a change that could alter it is seen at
 * the next lookup (no loop run in between: what the kernel queued before
 * the lookup counts), and files written under other names, as agents
 * write their workspaces, do not make it walk again.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "check.h"
#include "config.h"
#include "mask.h"
#include "masks.h"
#include "safe-path.h"
#include "templates.h"

static char	root[] = "/tmp/qmsd-test-masks.XXXXXX";

static void
touch(const char *rel)
{
	char	path[512];
	int	fd;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) != -1)
		close(fd);
}

static void
dir(const char *rel)
{
	char	path[512];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	mkdir(path, 0755);
}

/*
 * Whether rel is masked in the list at (and how many are masked in n);
 * a template shown by its snapshot is not, and snap says which.
 */
static int
has_snap(struct masks *m, const char *at, const char *rel, size_t *n,
    const char **snap)
{
	const struct masks_file	*list;
	char			 err[256];
	size_t			 i, k;
	int			 rv = 0;

	*snap = NULL;
	if (masks_env_files(m, at, &list, &k, err, sizeof(err)) == -1)
		return (-1);
	for (*n = 0, i = 0; i < k; i++) {
		if (list[i].snapshot == NULL)
			(*n)++;
		if (strcmp(list[i].path, rel) != 0)
			continue;
		if (list[i].snapshot == NULL)
			rv = 1;
		else
			*snap = list[i].snapshot;
	}
	return (rv);
}

static int
has_at(struct masks *m, const char *at, const char *rel, size_t *n)
{
	const char	*snap;

	return (has_snap(m, at, rel, n, &snap));
}

/* What a file holds (at most 255 bytes), or "" when it cannot be read. */
static const char *
content(const char *path)
{
	static char	buf[256];
	ssize_t		n;
	int		fd;

	buf[0] = '\0';
	if (path != NULL && (fd = open(path, O_RDONLY)) != -1) {
		if ((n = read(fd, buf, sizeof(buf) - 1)) >= 0)
			buf[n] = '\0';
		close(fd);
	}
	return (buf);
}

static int
has(struct masks *m, const char *rel, size_t *n)
{
	return (has_at(m, root, rel, n));
}

static int	ready;

static void
on_ready(void *arg)
{
	ready++;
}

/* masks_prepare, and the loop run until it has answered. */
static void
prepare(struct event_base *base, struct masks *m, const char *at)
{
	int	before = ready;

	masks_prepare(m, at, on_ready, NULL);
	while (ready == before)
		event_base_loop(base, EVLOOP_ONCE);
}

static int	sh(const char *, ...) __attribute__((format(printf, 1, 2)));

static int
sh(const char *fmt, ...)
{
	char	cmd[1024];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return (system(cmd));
}

/*
 * Tracked templates: git's word leaves a tracked file with an unmodified
 * working copy unmasked, and only that; any write, an assume-unchanged
 * bit, no repository at all mask it.  A real git, run by templates.c.
 */
static void
templates(struct event_base *base)
{
	char		 groot[] = "/tmp/qmsd-test-masks-git.XXXXXX";
	char		 state[] = "/tmp/qmsd-test-masks-state.XXXXXX";
	char		 first[512];
	const char	*snap;
	struct config	 c;
	struct masks	*m = masks_new(base);
	unsigned long	 runs;
	size_t		 n;
	int		 held;

	CHECK(mkdtemp(groot) != NULL);
	CHECK(mkdtemp(state) != NULL);
	memset(&c, 0, sizeof(c));
	c.state_dir = state;
	c.run_as = getenv("USER") != NULL ? getenv("USER") : "root";
	c.run_as_uid = getuid();
	c.run_as_gid = getgid();
	masks_configure(m, &c);
	CHECK(sh("mkdir %s/docker && echo A=1 > %s/docker/.env.example"
	    " && echo S=1 > %s/.env", groot, groot, groot) == 0);
	CHECK(sh("git -C %s init -q && git -C %s add docker/.env.example",
	    groot, groot) == 0);
	CHECK(sh("git -C %s -c user.name=T -c user.email=t@t.invalid "
	    "commit -q -m t", groot) == 0);

	prepare(base, m, groot);
	CHECK(has_snap(m, groot, "docker/.env.example", &n, &snap) == 0 &&
	    n == 1);
	CHECK(has_at(m, groot, ".env", &n) == 1);
	/* Shown by a snapshot of what git holds, in the state directory. */
	CHECK(snap != NULL && strncmp(snap, state, strlen(state)) == 0);
	CHECK_STR(content(snap), "A=1\n");
	snprintf(first, sizeof(first), "%s", snap != NULL ? snap : "");
	runs = masks_git_runs(m);
	CHECK(runs == 2);			/* ls-files, cat-file */
	prepare(base, m, groot);
	CHECK(masks_git_runs(m) == runs);	/* kept */

	/*
	 * Written in place: masked, and git asked again; the snapshot, which
	 * a running container holds as a bind mount holds it (an open file),
	 * still holds what git vouched for: never written over.
	 */
	held = open(first, O_RDONLY);
	CHECK(held != -1);
	CHECK(sh("echo TOKEN=real >> %s/docker/.env.example", groot) == 0);
	CHECK(has_at(m, groot, "docker/.env.example", &n) == 1);
	prepare(base, m, groot);
	CHECK(masks_git_runs(m) == runs + 1);
	CHECK(has_at(m, groot, "docker/.env.example", &n) == 1);

	/* Back to what git holds: shown again, the same snapshot. */
	CHECK(sh("echo A=1 > %s/docker/.env.example", groot) == 0);
	runs = masks_git_runs(m);
	prepare(base, m, groot);
	CHECK(has_snap(m, groot, "docker/.env.example", &n, &snap) == 0);
	CHECK_STR(snap != NULL ? snap : "", first);
	CHECK_STR(content(snap), "A=1\n");

	/*
	 * Committed anew: another snapshot, the older one removed.  Larger
	 * than qmsd shows (TEMPLATES_BLOB_MAX): masked.
	 */
	CHECK(sh("echo B=2 > %s/docker/.env.example && git -C %s -c "
	    "user.name=T -c user.email=t@t.invalid commit -q -a -m b", groot,
	    groot) == 0);
	prepare(base, m, groot);
	CHECK(has_snap(m, groot, "docker/.env.example", &n, &snap) == 0);
	CHECK_STR(content(snap), "B=2\n");
	CHECK(snap != NULL && strcmp(snap, first) != 0);
	CHECK(access(first, F_OK) == -1);
	{
		char	buf[64];
		ssize_t	k = pread(held, buf, sizeof(buf), 0);

		CHECK(k == 4 && memcmp(buf, "A=1\n", 4) == 0);
		close(held);
	}
	CHECK(sh("head -c %d /dev/zero > %s/docker/.env.example && git -C %s "
	    "-c user.name=T -c user.email=t@t.invalid commit -q -a -m c",
	    TEMPLATES_BLOB_MAX + 1, groot, groot) == 0);
	prepare(base, m, groot);
	CHECK(has_at(m, groot, "docker/.env.example", &n) == 1);
	CHECK(sh("echo A=1 > %s/docker/.env.example && git -C %s -c "
	    "user.name=T -c user.email=t@t.invalid commit -q -a -m d", groot,
	    groot) == 0);
	prepare(base, m, groot);
	CHECK(has_at(m, groot, "docker/.env.example", &n) == 0);

	/* Another index (git add of another file): asked again, same word. */
	runs = masks_git_runs(m);
	CHECK(sh("echo r > %s/README && git -C %s add README", groot,
	    groot) == 0);
	prepare(base, m, groot);
	CHECK(masks_git_runs(m) == runs + 1);
	CHECK(has_at(m, groot, "docker/.env.example", &n) == 0);

	/*
	 * Left to itself after a change, it asks again: the next up (or a
	 * check that does not wait) finds a word at once.
	 */
	runs = masks_git_runs(m);
	CHECK(sh("git -C %s rm -q --cached README", groot) == 0);
	{
		struct timeval	tv = { 2, 0 };

		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
	CHECK(masks_git_runs(m) == runs + 1);
	{
		int	before = ready;

		masks_prepare(m, groot, on_ready, NULL);
		CHECK(ready == before + 1);	/* answered at once */
	}
	CHECK(has_at(m, groot, "docker/.env.example", &n) == 0);

	/* git told not to look (assume-unchanged): masked. */
	CHECK(sh("git -C %s update-index --assume-unchanged "
	    "docker/.env.example", groot) == 0);
	CHECK(sh("echo TOKEN=real >> %s/docker/.env.example", groot) == 0);
	prepare(base, m, groot);
	CHECK(has_at(m, groot, "docker/.env.example", &n) == 1);
	CHECK(sh("git -C %s update-index --no-assume-unchanged "
	    "docker/.env.example && git -C %s checkout -q -- docker", groot,
	    groot) == 0);
	prepare(base, m, groot);
	CHECK(has_at(m, groot, "docker/.env.example", &n) == 0);

	/* No repository: masked. */
	CHECK(sh("rm -rf %s/.git", groot) == 0);
	prepare(base, m, groot);
	CHECK(has_at(m, groot, "docker/.env.example", &n) == 1);

	masks_free(m);
	CHECK(sh("rm -rf %s %s", groot, state) == 0);
}

int
main(void)
{
	struct event_base	*base = event_base_new();
	struct masks		*m = masks_new(base);
	unsigned long		 walks;
	size_t			 n;
	char			 cmd[600];

	if (mkdtemp(root) == NULL)
		return (1);
	dir("a");
	dir("a/work");
	dir(".git");
	touch(".git/.env");
	touch(".env");
	CHECK(has(m, ".env", &n) == 1 && n == 1);
	CHECK(masks_walks(m) == 1);

	/* Ordinary writes: the list is kept. */
	touch("a/work/notes.md");
	touch("a/work/env");
	CHECK(has(m, ".env", &n) == 1 && n == 1);
	CHECK(masks_walks(m) == 1);

	/* A secret appears in a walked directory. */
	walks = masks_walks(m);
	touch("a/work/.env.local");
	CHECK(has(m, "a/work/.env.local", &n) == 1 && n == 2);
	CHECK(masks_walks(m) == walks + 1);

	/* A directory made since, with a secret in it. */
	dir("a/new");
	touch("a/new/.env");
	CHECK(has(m, "a/new/.env", &n) == 1 && n == 3);

	/* One renamed into place, and one gone. */
	touch("a/staged");
	snprintf(cmd, sizeof(cmd), "%s/a/staged", root);
	{
		char	to[600];

		snprintf(to, sizeof(to), "%s/a/.env.prod", root);
		CHECK(rename(cmd, to) == 0);
	}
	CHECK(has(m, "a/.env.prod", &n) == 1 && n == 4);
	snprintf(cmd, sizeof(cmd), "%s/.env", root);
	unlink(cmd);
	CHECK(has(m, ".env", &n) == 0 && n == 3);

	/* Nothing changed: no walk. */
	walks = masks_walks(m);
	CHECK(has(m, "a/.env.prod", &n) == 1);
	CHECK(masks_walks(m) == walks);

	/* The name rule: .env, .env.*, *.env, and nothing else. */
	CHECK(mask_secret_name(".env") && mask_secret_name(".env.local") &&
	    mask_secret_name("prod.env") && mask_secret_name("a.b.env"));
	CHECK(!mask_secret_name("env") && !mask_secret_name(".envrc") &&
	    !mask_secret_name("prod.env.bak") && !mask_secret_name(".env_x") &&
	    !mask_secret_name("environment"));

	/* *.env at any depth, a link by what it shows, a directory whole. */
	dir("config");
	touch("config/secrets.env");
	dir("d1");
	dir("d1/d2");
	dir("d1/d2/d3");
	dir("d1/d2/d3/d4");
	dir("d1/d2/d3/d4/d5");
	dir("d1/d2/d3/d4/d5/d6");
	dir("d1/d2/d3/d4/d5/d6/d7");
	touch("d1/d2/d3/d4/d5/d6/d7/.env");
	dir("store");
	touch("store/real");
	snprintf(cmd, sizeof(cmd), "%s/config/linked.env", root);
	CHECK(symlink("../store/real", cmd) == 0);
	snprintf(cmd, sizeof(cmd), "%s/config/nowhere.env", root);
	CHECK(symlink("../store/none", cmd) == 0);
	dir("config/keys.env");
	/*
	 * A link out of the repository (absolute, or up and out), or to a
	 * directory on its own way (itself, an ancestor, the root), is not
	 * masked: no mount can be made over the last, and what the others
	 * show in the container is not the repository's; a link to a
	 * directory beside it is, as a directory.
	 */
	snprintf(cmd, sizeof(cmd), "%s/config/abs.env", root);
	CHECK(symlink(root, cmd) == 0);
	snprintf(cmd, sizeof(cmd), "%s/config/out.env", root);
	CHECK(symlink("../../", cmd) == 0);
	snprintf(cmd, sizeof(cmd), "%s/config/self.env", root);
	CHECK(symlink(".", cmd) == 0);
	snprintf(cmd, sizeof(cmd), "%s/d1/d2/up.env", root);
	CHECK(symlink("../..", cmd) == 0);
	snprintf(cmd, sizeof(cmd), "%s/d1/d2/side.env", root);
	CHECK(symlink("../../store", cmd) == 0);
	CHECK(has(m, "config/abs.env", &n) == 0);
	CHECK(has(m, "config/out.env", &n) == 0);
	CHECK(has(m, "config/self.env", &n) == 0);
	CHECK(has(m, "d1/d2/up.env", &n) == 0);
	CHECK(has(m, "d1/d2/side.env", &n) == 1);
	{
		struct stat	 st;
		int		 rfd = open(root, O_RDONLY | O_DIRECTORY);

		CHECK(safe_link_beneath(rfd, "d1/d2/side.env", &st) == 0 &&
		    S_ISDIR(st.st_mode));
		CHECK(safe_link_beneath(rfd, "config/linked.env", &st) == 0 &&
		    S_ISREG(st.st_mode));
		errno = 0;
		CHECK(safe_link_beneath(rfd, "d1/d2/up.env", &st) == -1 &&
		    errno == ELOOP);
		errno = 0;
		CHECK(safe_link_beneath(rfd, "config/out.env", &st) == -1 &&
		    errno == EXDEV);
		errno = 0;
		CHECK(safe_link_beneath(rfd, "config/abs.env", &st) == -1 &&
		    errno == EXDEV);
		CHECK(safe_link_beneath(rfd, "config/nowhere.env", &st) ==
		    -1 && errno == ENOENT);
		close(rfd);
	}
	CHECK(has(m, "config/secrets.env", &n) == 1);
	CHECK(has(m, "d1/d2/d3/d4/d5/d6/d7/.env", &n) == 1);
	CHECK(has(m, "config/linked.env", &n) == 1);
	CHECK(has(m, "config/nowhere.env", &n) == 0);
	CHECK(has(m, "config/keys.env", &n) == 1);
	{
		const struct masks_file	*list;
		char			 err[256];
		size_t			 i, k = 0;

		CHECK(masks_env_files(m, root, &list, &n, err,
		    sizeof(err)) == 0);
		for (i = 0; i < n; i++)
			if (strcmp(list[i].path, "config/keys.env") == 0 ||
			    strcmp(list[i].path, "config/secrets.env") == 0)
				k += list[i].dir ? 10 : 1;
		CHECK(k == 11);
	}

	/* The trees agents write are not walked, nor watched. */
	dir(".claude");
	dir(".claude/users");
	dir(".claude/users/x");
	touch(".claude/users/x/.env");
	dir(".claude/sessions");
	touch(".claude/sessions/a.env");
	touch(".claude/.env");
	CHECK(has(m, ".claude/.env", &n) == 1);
	CHECK(has(m, ".claude/users/x/.env", &n) == 0);
	CHECK(has(m, ".claude/sessions/a.env", &n) == 0);
	walks = masks_walks(m);
	touch(".claude/users/x/more.env");
	dir(".claude/users/x/sub");
	touch(".claude/sessions/b.env");
	CHECK(has(m, ".claude/.env", &n) == 1);
	CHECK(masks_walks(m) == walks);

	/* Deeper than the limit: refused, never left unmasked. */
	{
		char	rel[600] = "deep";
		int	i;

		dir(rel);
		for (i = 0; i < MASKS_DEPTH; i++) {
			strcat(rel, "/d");
			dir(rel);
		}
		CHECK(has(m, ".claude/.env", &n) == -1);
		snprintf(cmd, sizeof(cmd), "rm -rf %s/deep/d/d", root);
		CHECK(system(cmd) == 0);
		CHECK(has(m, ".claude/.env", &n) == 1);
	}

	masks_free(m);
	templates(base);
	event_base_free(base);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd) != 0)
		return (1);
	return (check_done("masks"));
}
