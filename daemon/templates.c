#include <sys/inotify.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "argv.h"
#include "config.h"
#include "log.h"
#include "masks.h"
#include "process.h"
#include "templates.h"
#include "util.h"

/*
 * Read at most this many buffers of events at once: more means something
 * writes without pause (an agent can), and the word is dropped rather
 * than read for ever.
 */
#define TEMPLATES_DRAIN	64
/* A template git vouched for: any write, or a change of its mode. */
#define TEMPLATES_FILE_WATCH (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | \
			    IN_DELETE_SELF | IN_MOVE_SELF | IN_DONT_FOLLOW)
/* .git: its index replaced (git renames index.lock) or written. */
#define TEMPLATES_GITDIR_WATCH (IN_CREATE | IN_DELETE | IN_MOVED_FROM | \
			    IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | \
			    IN_ONLYDIR | IN_DONT_FOLLOW | IN_MODIFY | \
			    IN_CLOSE_WRITE)
/* git's answer: "H MODE ID 0\tpath\0" per file, at most 2 per file. */
#define TEMPLATES_GIT_OUTPUT (2 * MASKS_MAX * (PATH_MAX + 84))
/* A blob id: SHA-1 or SHA-256, in hex. */
#define TEMPLATES_ID_MAX 64

struct templates_waiter {
	masks_ready_fn			 fn;
	void				*arg;
	TAILQ_ENTRY(templates_waiter)	 entry;
};

struct templates {
	struct event_base	*base;
	const struct templates_walk *walk;	/* the list asked about */
	void			*walk_arg;
	char			*root;		/* where git last ran */
	char			*user;
	uid_t			 uid;
	gid_t			 gid;
	char			**env;
	/* what git was asked about, and which it vouched for */
	struct {
		char		*path;
		int		 shown;
		int		 exec;		/* mode 100755 */
		/* the index's blob */
		char		 id[TEMPLATES_ID_MAX + 1];
		char		*snapshot;	/* STATE/templates/ID */
	}			 asked[MASKS_MAX];
	char			*snapdir;	/* STATE/templates; NULL */
	/* the blob being written, asked[blob]; -1: git ls-files runs */
	int			 blob;
	int			 blob_fd;
	char			*blob_tmp;
	size_t			 blob_len;
	int			 blob_errno;	/* a write failed */
	size_t			 nasked;
	int			 word_valid;
	int			 gfd;		/* inotify for the word; -1 */
	struct event		*gev;
	int			 gitdir_wd;	/* -1: not watched */
	struct proc		*git;
	struct event		*git_deadline;
	struct event		*refresh;	/* ask again after a change */
	int			 git_stale;	/* a change while it ran */
	int			 git_timed_out;
	int			 git_tries;
	char			*git_out;
	size_t			 git_outlen;
	int			 git_overflow;
	char			 git_err[256];
	unsigned long		 git_runs;
	TAILQ_HEAD(, templates_waiter) waiters;
};

static void	git_read(evutil_socket_t, short, void *);
static void	git_events(struct templates *);
static void	templates_refresh(evutil_socket_t, short, void *);
static void	git_start(struct templates *);
static void	blob_close(struct templates *, int);
static const struct proc_ops git_ops;

struct templates *
templates_new(struct event_base *base, const struct templates_walk *walk,
    void *arg)
{
	struct templates	*t;

	t = xcalloc(1, sizeof(*t));
	t->base = base;
	t->walk = walk;
	t->walk_arg = arg;
	t->gfd = -1;
	t->gitdir_wd = -1;
	t->blob = -1;
	t->blob_fd = -1;
	TAILQ_INIT(&t->waiters);
	t->refresh = evtimer_new(base, templates_refresh, t);
	return (t);
}

void
templates_free(struct templates *t)
{
	struct templates_waiter	*w;

	if (t == NULL)
		return;
	while ((w = TAILQ_FIRST(&t->waiters)) != NULL) {
		TAILQ_REMOVE(&t->waiters, w, entry);
		free(w);
	}
	proc_free(t->git);
	t->git = NULL;
	blob_close(t, 0);
	if (t->git_deadline != NULL)
		event_free(t->git_deadline);
	event_free(t->refresh);
	templates_forget(t, "freed");
	free(t->git_out);
	argv_free(t->env);
	free(t->user);
	free(t->snapdir);
	free(t->root);
	free(t);
}

unsigned long
templates_git_runs(const struct templates *t)
{
	return (t->git_runs);
}

/*
 * git's word no longer holds: its watches go with it (so that they stay
 * bounded), and one running is asked again when it ends.
 */
void
templates_forget(struct templates *t, const char *why)
{
	size_t	i;

	if (t->word_valid)
		log_debug("masks: asking git again at the next up: %s", why);
	t->word_valid = 0;
	for (i = 0; i < t->nasked; i++) {
		free(t->asked[i].path);
		free(t->asked[i].snapshot);
		t->asked[i].snapshot = NULL;
	}
	t->nasked = 0;
	if (t->gev != NULL) {
		event_free(t->gev);
		t->gev = NULL;
	}
	if (t->gfd != -1) {
		close(t->gfd);
		t->gfd = -1;
	}
	t->gitdir_wd = -1;
	if (t->git != NULL)
		t->git_stale = 1;
}

void
templates_configure(struct templates *t, const struct config *c)
{
	struct passwd	*pw;
	char		*env[] = {
		"PATH=/usr/local/bin:/usr/bin:/bin", "LC_ALL=C",
		"GIT_CONFIG_NOSYSTEM=1", "GIT_OPTIONAL_LOCKS=0",
		"GIT_TERMINAL_PROMPT=0",
		/* No command of the configuration's on this path. */
		"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=core.fsmonitor",
		"GIT_CONFIG_VALUE_0=false",
		NULL, NULL, NULL,
	};
	size_t		 i;

	for (i = 0; env[i] != NULL; i++)
		;
	pw = getpwuid(c->run_as_uid);
	xasprintf(&env[i], "HOME=%s", pw != NULL ? pw->pw_dir : "/");
	xasprintf(&env[i + 1], "USER=%s", c->run_as);
	argv_free(t->env);
	t->env = xargv_copy(env);
	free(env[i]);
	free(env[i + 1]);
	free(t->user);
	t->user = xstrdup(c->run_as);
	free(t->snapdir);
	t->snapdir = NULL;
	if (c->state_dir != NULL)
		xasprintf(&t->snapdir, "%s/templates", c->state_dir);
	t->uid = c->run_as_uid;
	t->gid = c->run_as_gid;
	/* Another owner may see another index: ask again. */
	templates_forget(t, "configured");
}

/* Everyone waiting learns the word (or that there is none). */
static void
templates_answer(struct templates *t)
{
	TAILQ_HEAD(, templates_waiter)	 ready;
	struct templates_waiter		*w;

	/* A callback may wait again: it joins the next answer. */
	TAILQ_INIT(&ready);
	TAILQ_CONCAT(&ready, &t->waiters, entry);
	while ((w = TAILQ_FIRST(&ready)) != NULL) {
		TAILQ_REMOVE(&ready, w, entry);
		w->fn(w->arg);
		free(w);
	}
}

/*
 * One record of git's output, "T MODE ID STAGE\tPATH": the tag, whether
 * the mode is 100755, the id and the path; -1 when it is not such a
 * record, or not one of a regular file at stage 0.
 */
static int
git_record(char *rec, size_t len, char *tag, int *exec, char *id,
    const char **path)
{
	char	*tab, *sp;
	size_t	 idlen;

	if ((tab = memchr(rec, '\t', len)) == NULL || len < 2 ||
	    rec[1] != ' ')
		return (-1);
	*tag = rec[0];
	*path = tab + 1;
	if (strncmp(rec + 2, "100644 ", 7) == 0)
		*exec = 0;
	else if (strncmp(rec + 2, "100755 ", 7) == 0)
		*exec = 1;
	else
		return (-1);	/* a link, a submodule: not a template */
	rec += 9;
	if ((sp = memchr(rec, ' ', (size_t)(tab - rec))) == NULL)
		return (-1);
	idlen = (size_t)(sp - rec);
	if ((idlen != 40 && idlen != 64) || strspn(rec, "0123456789abcdef") <
	    idlen || strncmp(sp, " 0\t", 3) != 0)
		return (-1);
	memcpy(id, rec, idlen);
	id[idlen] = '\0';
	return (0);
}

/*
 * git's output: H for a tracked file, C for one modified, per path; the
 * blob it holds.  Anything else said of a path (a conflict's stages, a
 * link) leaves it masked.
 */
static void
git_parse(struct templates *t)
{
	int		 modified[MASKS_MAX], exec;
	char		*rec, *end, tag, id[TEMPLATES_ID_MAX + 1];
	const char	*path;
	size_t		 i, len;

	memset(modified, 0, sizeof(modified));
	if (t->git_out == NULL)
		return;		/* nothing tracked */
	end = t->git_out + t->git_outlen;
	for (rec = t->git_out; rec < end; rec += len + 1) {
		len = strnlen(rec, (size_t)(end - rec));
		if (len < 3 || rec[1] != ' ')
			continue;
		if (git_record(rec, len, &tag, &exec, id, &path) == -1) {
			tag = '?';
			path = memchr(rec, '\t', len) != NULL ?
			    (char *)memchr(rec, '\t', len) + 1 : "";
		}
		for (i = 0; i < t->nasked; i++) {
			if (strcmp(path, t->asked[i].path) != 0)
				continue;
			if (tag == 'H' && t->asked[i].id[0] == '\0') {
				t->asked[i].shown = 1;
				t->asked[i].exec = exec;
				snprintf(t->asked[i].id, sizeof(t->asked[i].id),
				    "%s", id);
			} else
				modified[i] = 1;	/* C, or anything else */
		}
	}
	for (i = 0; i < t->nasked; i++)
		if (modified[i])
			t->asked[i].shown = 0;
}

/* ---- the snapshots of what git vouched for (templates.h) ---- */

/*
 * Where asked[i]'s snapshot goes: named by its blob, and by its mode (git
 * in the container compares that bit too).
 */
static char *
blob_path(const struct templates *t, size_t i)
{
	char	*path;

	xasprintf(&path, "%s/%s%s", t->snapdir, t->asked[i].id,
	    t->asked[i].exec ? "-x" : "");
	return (path);
}

/* The blob's file let go of: renamed into place when whole, or removed. */
static void
blob_close(struct templates *t, int keep)
{
	char	*path;

	if (t->blob_fd != -1 && close(t->blob_fd) == -1 && keep)
		t->blob_errno = errno;
	t->blob_fd = -1;
	if (t->blob_tmp == NULL)
		return;
	if (keep && t->blob_errno == 0) {
		path = blob_path(t, t->blob);
		if (rename(t->blob_tmp, path) == 0) {
			t->asked[t->blob].snapshot = path;
			path = NULL;
		} else
			t->blob_errno = errno;
		free(path);
	}
	if (!keep || t->asked[t->blob].snapshot == NULL)
		unlink(t->blob_tmp);
	free(t->blob_tmp);
	t->blob_tmp = NULL;
}

/*
 * What cat-file writes goes to the file as it comes, never held whole;
 * past TEMPLATES_BLOB_MAX git is stopped and the template stays masked.
 */
static void
blob_write(struct templates *t, const char *buf, size_t len)
{
	ssize_t	n;

	if (t->blob_fd == -1 || t->git_overflow)
		return;
	if (len > TEMPLATES_BLOB_MAX - t->blob_len) {
		t->git_overflow = 1;
		proc_kill(t->git, SIGKILL);
		return;
	}
	t->blob_len += len;
	while (len > 0) {
		if ((n = write(t->blob_fd, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			t->blob_errno = errno;
			close(t->blob_fd);
			t->blob_fd = -1;
			return;
		}
		buf += n;
		len -= (size_t)n;
	}
}

/*
 * Files of older words removed, in every doubt kept: a container made
 * from one keeps reading it, but one still to be made from it (an up
 * between its spec and its create) would be refused by Docker.  Only
 * root's own directory is read; nothing there is the agents'.
 */
static void
blob_prune(struct templates *t)
{
	struct dirent	*e;
	DIR		*d;
	size_t		 i;
	int		 keep;

	if (t->snapdir == NULL || (d = opendir(t->snapdir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		for (keep = 0, i = 0; !keep && i < t->nasked; i++)
			keep = t->asked[i].snapshot != NULL &&
			    strcmp(strrchr(t->asked[i].snapshot, '/') + 1,
			    e->d_name) == 0;
		if (!keep && unlinkat(dirfd(d), e->d_name, 0) == -1)
			log_warn("masks: cannot remove %s/%s", t->snapdir,
			    e->d_name);
	}
	closedir(d);
}

/* git as the owner in the project root, with the fixed environment. */
static struct proc *
git_spawn(struct templates *t, char **argv, char *err, size_t errlen)
{
	struct proc_spec	spec;

	memset(&spec, 0, sizeof(spec));
	spec.argv = argv;
	spec.env = t->env;
	spec.workdir = t->root;
	spec.user = t->user;
	spec.uid = t->uid;
	spec.gid = t->gid;
	t->git_runs++;
	return (proc_spawn(t->base, &spec, &git_ops, t, err, errlen));
}

/*
 * The next template git vouched for without a snapshot yet: one already
 * written (the same blob for another path, or from an earlier word) is
 * used again; otherwise git cat-file writes it, and this is called again
 * when it ends.  0 once every one has its snapshot (or stays masked).
 */
static int
blob_next(struct templates *t)
{
	struct stat		 st;
	struct timeval		 tv = { TEMPLATES_GIT_TIMEOUT, 0 };
	char			*path, *argv[5], err[256];
	size_t			 i;

	for (i = t->blob + 1; i < t->nasked; i++) {
		if (!t->asked[i].shown)
			continue;
		if (t->snapdir == NULL) {
			t->asked[i].shown = 0;
			continue;
		}
		path = blob_path(t, i);
		if (lstat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			t->asked[i].snapshot = path;
			continue;
		}
		free(path);
		break;
	}
	if ((t->blob = (int)i) == (int)t->nasked) {
		t->blob = -1;
		return (0);
	}

	t->blob_len = 0;
	t->blob_errno = 0;
	t->git_overflow = 0;
	t->git_timed_out = 0;
	t->git_err[0] = '\0';
	xasprintf(&t->blob_tmp, "%s/.%s.new", t->snapdir, t->asked[i].id);
	(void)unlink(t->blob_tmp);
	if ((mkdir_p(t->snapdir, 0700) == -1 && errno != EEXIST) ||
	    (t->blob_fd = open(t->blob_tmp, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1 ||
	    fchmod(t->blob_fd, t->asked[i].exec ? 0555 : 0444) == -1 ||
	    (geteuid() == 0 && fchown(t->blob_fd, t->uid, t->gid) == -1)) {
		log_warn("masks: %s; %s stays masked", t->blob_tmp,
		    t->asked[i].path);
		blob_close(t, 0);
		t->asked[i].shown = 0;
		return (blob_next(t));
	}
	argv[0] = "git";
	argv[1] = "cat-file";
	argv[2] = "blob";
	argv[3] = t->asked[i].id;
	argv[4] = NULL;
	if ((t->git = git_spawn(t, argv, err, sizeof(err))) == NULL) {
		log_warnx("masks: cannot run git: %s; %s stays masked", err,
		    t->asked[i].path);
		blob_close(t, 0);
		t->asked[i].shown = 0;
		return (blob_next(t));
	}
	evtimer_add(t->git_deadline, &tv);
	return (1);
}

/* A cat-file ended: its template has a snapshot, or stays masked. */
static void
blob_done(struct templates *t, int status)
{
	char	how[64], *nl;
	int	ok;

	ok = !t->git_timed_out && !t->git_overflow && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0;
	blob_close(t, ok);
	if (t->asked[t->blob].snapshot != NULL)
		return;
	t->asked[t->blob].shown = 0;
	proc_status_string(status, how, sizeof(how));
	if ((nl = strchr(t->git_err, '\n')) != NULL)
		*nl = '\0';
	log_warnx("masks: git cat-file blob %s (%s): %s%s%s; it stays masked",
	    t->asked[t->blob].id, t->asked[t->blob].path, t->git_timed_out ?
	    "no answer in time" : t->git_overflow ? "larger than "
	    "qmsd shows (1 MiB)" : t->blob_errno != 0 ?
	    strerror(t->blob_errno) : how, t->git_err[0] != '\0' ? ": " : "",
	    t->git_err);
}

static void
git_output(struct proc *p, int stream, const char *buf, size_t len,
    void *arg)
{
	struct templates	*t = arg;
	size_t		 l;
	char		*nb;

	if (stream == 2) {
		l = strlen(t->git_err);
		if (l + 1 < sizeof(t->git_err))
			snprintf(t->git_err + l, sizeof(t->git_err) - l, "%.*s",
			    (int)len, buf);
		return;
	}
	if (t->blob != -1) {
		blob_write(t, buf, len);
		return;
	}
	if (t->git_overflow || t->git_outlen + len > TEMPLATES_GIT_OUTPUT ||
	    (nb = realloc(t->git_out, t->git_outlen + len + 1)) == NULL) {
		t->git_overflow = 1;
		return;
	}
	t->git_out = nb;
	memcpy(t->git_out + t->git_outlen, buf, len);
	t->git_outlen += len;
}

static void
git_exited(struct proc *p, int status, void *arg)
{
	struct templates	*t = arg;
	char		 how[64], *nl;

	/* A change queued while it ran makes its answer stale. */
	git_events(t);
	proc_free(t->git);
	t->git = NULL;
	evtimer_del(t->git_deadline);
	if (t->blob != -1 && t->git_stale) {
		blob_close(t, 0);
		t->blob = -1;
	}
	if (t->git_stale && t->git_tries < TEMPLATES_GIT_TRIES) {
		/* A template or the index changed while git read them. */
		git_start(t);
		return;
	}
	if (t->blob != -1) {
		/* A snapshot written (or not), and the next one. */
		blob_done(t, status);
		if (blob_next(t))
			return;
		t->word_valid = 1;
		blob_prune(t);
	} else if (t->git_stale) {
		log_info("masks: the repository kept changing while git "
		    "looked; tracked templates masked for now");
		templates_forget(t, "changed while git looked");
	} else if (t->git_timed_out || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0 || t->git_overflow) {
		proc_status_string(status, how, sizeof(how));
		if ((nl = strchr(t->git_err, '\n')) != NULL)
			*nl = '\0';
		log_warnx("masks: git ls-files in %s: %s%s%s; tracked templates "
		    "(.env.example) stay masked", t->root, t->git_timed_out ?
		    "no answer in time" : t->git_overflow ? "too much output" :
		    how, t->git_err[0] != '\0' ? ": " : "", t->git_err);
		/* Kept as an answer: asked again when something changes. */
		t->word_valid = 1;
	} else {
		git_parse(t);
		/* What git vouched for, written before the word is given. */
		if (blob_next(t))
			return;
		t->word_valid = 1;
		blob_prune(t);
	}
	templates_answer(t);
	/* A template shown or masked anew is a change, for status. */
	t->walk->changed(t->walk_arg);
}

static const struct proc_ops git_ops = {
	.output = git_output,
	.exited = git_exited,
};

static void
git_deadline(evutil_socket_t fd, short ev, void *arg)
{
	struct templates	*t = arg;

	t->git_timed_out = 1;
	if (t->git != NULL)
		proc_kill(t->git, SIGKILL);
}

/*
 * Watch what git's word rests on, then ask it: the index and each
 * regular file named like a secret, watched before git reads them.  One
 * that cannot be watched stays masked, and so does every one when .git
 * cannot be (a worktree's .git file, a repository above the root).
 */
static void
git_start(struct templates *t)
{
	struct timeval		 tv = { TEMPLATES_GIT_TIMEOUT, 0 };
	const struct masks_file	*list;
	const char		*root;
	char			**argv, *path, err[256];
	size_t			 i, nlist, n = 0;

	/* The walk as it is now: another root or file is asked about. */
	(void)t->walk->files(t->walk_arg, &root, &list, &nlist);
	if (t->root == NULL || strcmp(t->root, root) != 0) {
		free(t->root);
		t->root = xstrdup(root);
	}
	t->git_tries++;
	t->git_stale = 0;
	blob_close(t, 0);
	t->blob = -1;
	t->git_timed_out = 0;
	t->git_overflow = 0;
	t->git_outlen = 0;
	t->git_err[0] = '\0';
	templates_forget(t, "asking git");
	if ((t->gfd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1)
		log_warn("masks: inotify_init1");
	else {
		t->gev = event_new(t->base, t->gfd, EV_READ | EV_PERSIST,
		    git_read, t);
		event_add(t->gev, NULL);
		xasprintf(&path, "%s/.git", t->root);
		t->gitdir_wd = inotify_add_watch(t->gfd, path,
		    TEMPLATES_GITDIR_WATCH);
		free(path);
	}
	argv = xcalloc(nlist + 10, sizeof(*argv));
	argv[n++] = xstrdup("git");
	argv[n++] = xstrdup("--literal-pathspecs");
	argv[n++] = xstrdup("ls-files");
	argv[n++] = xstrdup("-z");
	argv[n++] = xstrdup("-v");
	argv[n++] = xstrdup("-s");	/* the blob, for its snapshot */
	argv[n++] = xstrdup("-c");
	argv[n++] = xstrdup("-m");
	argv[n++] = xstrdup("--");
	for (i = 0; i < nlist; i++) {
		if (!list[i].file)
			continue;
		t->asked[t->nasked].path = xstrdup(list[i].path);
		t->asked[t->nasked].id[0] = '\0';
		t->asked[t->nasked].snapshot = NULL;
		t->asked[t->nasked++].shown = 0;
		if (t->gitdir_wd == -1)
			continue;
		xasprintf(&path, "%s/%s", t->root, list[i].path);
		if (inotify_add_watch(t->gfd, path, TEMPLATES_FILE_WATCH) != -1)
			argv[n++] = xstrdup(list[i].path);
		free(path);
	}
	if (n == 9) {
		/*
		 * Nothing git could vouch for that would stay watched.  No
		 * .git to watch: not kept either, so that a repository made
		 * later is asked about at the next up.
		 */
		argv_free(argv);
		t->word_valid = t->gitdir_wd != -1;
		templates_answer(t);
		return;
	}
	t->git = git_spawn(t, argv, err, sizeof(err));
	argv_free(argv);
	if (t->git == NULL) {
		log_warnx("masks: cannot run git: %s; tracked templates stay "
		    "masked", err);
		t->word_valid = 1;
		templates_answer(t);
		return;
	}
	if (t->git_deadline == NULL)
		t->git_deadline = evtimer_new(t->base, git_deadline, t);
	evtimer_add(t->git_deadline, &tv);
}

/* Whether git's word covers every file that may be a template. */
static int
word_covers(struct templates *t)
{
	const struct masks_file	*list;
	const char		*root;
	size_t			 i, j, n;

	git_events(t);
	if (!t->word_valid)
		return (0);
	(void)t->walk->files(t->walk_arg, &root, &list, &n);
	for (i = 0; i < n; i++) {
		if (!list[i].file)
			continue;
		for (j = 0; j < t->nasked; j++)
			if (strcmp(t->asked[j].path, list[i].path) == 0)
				break;
		if (j == t->nasked)
			return (0);
	}
	return (1);
}

/*
 * Whether git's word holds and shows this file: the snapshot to mount in
 * its place, or NULL.
 */
const char *
templates_snapshot(const struct templates *t, const struct masks_file *f)
{
	size_t	i;

	if (!t->word_valid || !f->file)
		return (NULL);
	for (i = 0; i < t->nasked; i++)
		if (strcmp(t->asked[i].path, f->path) == 0)
			return (t->asked[i].shown ? t->asked[i].snapshot :
			    NULL);
	return (NULL);
}

/*
 * Whether an event on the word's watches could change it: the index
 * replaced or written, or anything at all of a file it vouched for.
 */
static int
changes_git(const struct templates *t, const struct inotify_event *e)
{
	if (e->wd == t->gitdir_wd && !(e->mask & (IN_Q_OVERFLOW |
	    IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT)))
		return (e->len > 0 && strcmp(e->name, "index") == 0);
	return (1);
}

/*
 * The word's events, all that are queued (up to TEMPLATES_DRAIN buffers:
 * a file written without pause drops the word rather than being read for
 * ever).
 */
static void
git_events(struct templates *t)
{
	char				 buf[4096]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event	*e;
	ssize_t				 n;
	char				*p;
	int				 reads;

	for (reads = 0; t->gfd != -1 && reads < TEMPLATES_DRAIN; reads++) {
		if ((n = read(t->gfd, buf, sizeof(buf))) == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				templates_forget(t, strerror(errno));
			return;
		}
		for (p = buf; p < buf + n; p += sizeof(*e) + e->len) {
			e = (const struct inotify_event *)p;
			if (changes_git(t, e)) {
				templates_forget(t, e->len > 0 ? e->name :
				    "a template changed");
				return;
			}
		}
	}
	if (t->gfd != -1)
		templates_forget(t, "more events than a drain reads");
}

static void
git_read(evutil_socket_t fd, short ev, void *arg)
{
	struct templates	*t = arg;
	struct timeval		 tv = { 0, TEMPLATES_REFRESH_MS * 1000 };
	int			 was = t->word_valid;

	git_events(t);
	/*
	 * Dropped by a change: asked again soon, so that the next up (or
	 * whoever computes the masks without waiting) finds a word.  Changes
	 * in a burst (a rebase rewrites the index many times) make one run.
	 */
	if (was && !t->word_valid)
		evtimer_add(t->refresh, &tv);
}

static void
templates_refresh(evutil_socket_t fd, short ev, void *arg)
{
	struct templates	*t = arg;
	const struct masks_file	*list;
	const char		*root;
	size_t			 n;

	/*
	 * Only while the walk is kept: one that is not may have missed a
	 * file, and is walked (and git asked) at the next up anyway.
	 */
	if (t->walk->files(t->walk_arg, &root, &list, &n) && !t->word_valid &&
	    t->git == NULL && t->env != NULL) {
		t->git_tries = 0;
		git_start(t);
	}
}

int
templates_current(struct templates *t)
{
	git_events(t);
	return (t->word_valid);
}

void
templates_prepare(struct templates *t, masks_ready_fn fn, void *arg)
{
	struct templates_waiter	*w;

	if (t->env == NULL || word_covers(t)) {
		fn(arg);
		return;
	}
	TAILQ_FOREACH(w, &t->waiters, entry)
		if (w->arg == arg)
			return;
	w = xcalloc(1, sizeof(*w));
	w->fn = fn;
	w->arg = arg;
	TAILQ_INSERT_TAIL(&t->waiters, w, entry);
	if (t->git == NULL) {
		t->git_tries = 0;
		git_start(t);
	}
}

void
templates_unwait(struct templates *t, void *arg)
{
	struct templates_waiter	*w;

	TAILQ_FOREACH(w, &t->waiters, entry) {
		if (w->arg == arg) {
			TAILQ_REMOVE(&t->waiters, w, entry);
			free(w);
			return;
		}
	}
}
