/*
 * The audit trail (audit-log.h): the chain is made here, on the loop;
 * the writes and syncs are the writer child's.
 *
 * The loop and the writer share a socketpair.  The loop sends whole
 * lines; the writer takes all that has come, appends it with one write,
 * fdatasync()s, and answers "A <bytes on disk so far>".  Each record
 * knows the stream offset its line ends at, so an answer releases every
 * record up to it: their waiters' answers go out, and followers see them.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/queue.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "audit-log.h"
#include "audit-writer.h"
#include "component.h"
#include "config-build.h"
#include "log.h"
#include "util.h"

#define AUDIT_STATUS_MS	1000

struct audit_wait {
	audit_done		 done;	/* NULL once forgotten */
	void			*arg;
	char			*error;	/* failed: told on the next turn */
	TAILQ_ENTRY(audit_wait)	 entry;	/* in a_failing */
};

struct audit_rec {
	uint64_t		 seq;
	uint64_t		 end;	/* stream offset past its line */
	char			 hash[AUDIT_HASH_HEX];
	char			*line;	/* without its newline */
	size_t			 len;
	struct audit_wait	*wait;
	struct audit_source	*src;	/* an agent's, or NULL */
	TAILQ_ENTRY(audit_rec)	 entry;
};

/*
 * An agent's share: its audited requests a second, and its bytes waiting
 * for the disk.  One agent's flood is refused before it fills the disk
 * or takes the queue from the others.
 */
struct audit_source {
	char			 name[64];
	double			 tokens;
	uint64_t		 last_ms;
	uint64_t		 pending;	/* bytes not yet on disk */
	uint64_t		 refused;	/* since the last summary */
	TAILQ_ENTRY(audit_source) entry;
};

struct audit_follower {
	void			(*fn)(const char *, size_t, void *);
	void			*arg;
	int			 gone;
	TAILQ_ENTRY(audit_follower) entry;
};

static struct event_base	*a_base;
static struct component		*a_comp;
static char			*a_path;
static int			 a_fd = -1;	/* prepared, for the writer */
static int			 a_sock = -1;	/* to the writer */
static pid_t			 a_pid = -1;
static int			 a_pidfd = -1;
static struct event		*a_rd, *a_wr, *a_exit, *a_fail_ev, *a_head_ev;
static struct evbuffer		*a_out;
static char			 a_in[256];
static size_t			 a_inlen;
static char			*a_broken;	/* why nothing can be written */
static char			*a_stalled;	/* why the writer waits */
static uint64_t			 a_health_ms;	/* status last told */
static struct event		*a_status_ev;

/* The chain as queued, and as on disk. */
static uint64_t			 a_seq, a_sent;
static char			 a_hash[AUDIT_HASH_HEX];
static uint64_t			 a_dseq, a_synced;
static char			 a_dhash[AUDIT_HASH_HEX];
static uint64_t			 a_jseq;	/* the head last journalled */

static TAILQ_HEAD(, audit_rec)	 a_pending = TAILQ_HEAD_INITIALIZER(a_pending);
static TAILQ_HEAD(, audit_wait)	 a_failing = TAILQ_HEAD_INITIALIZER(a_failing);
static TAILQ_HEAD(, audit_follower) a_followers =
    TAILQ_HEAD_INITIALIZER(a_followers);
static TAILQ_HEAD(, audit_source) a_sources =
    TAILQ_HEAD_INITIALIZER(a_sources);
static size_t			 a_nsources;
static struct event		*a_sum_ev;
static int			 a_notifying;

static uint64_t			 st_records, st_bytes, st_syncs, st_max_pending;
static uint64_t			 st_loop_ns;

static void	writer_lost(const char *);
static void	on_summary(evutil_socket_t, short, void *);

/* ---- the loop's side ---- */

static void
set_health(void)
{
	if (a_comp == NULL)
		return;
	/* Counted since start: status shows them, the benchmark reads them. */
	component_set_field(a_comp, "stats", audit_stats());
	a_health_ms = now_ms();
	if (a_broken != NULL)
		component_set(a_comp, "failed", HEALTH_CRITICAL, "%s: %s "
		    "(audited actions are refused)", a_path, a_broken);
	else if (a_stalled != NULL)
		component_set(a_comp, "failed", HEALTH_CRITICAL, "%s: %s "
		    "(audited actions wait, and past %u MiB are refused)",
		    a_path, a_stalled, AUDIT_MAX_PENDING >> 20);
	else
		component_set(a_comp, "ready", HEALTH_OK, "%s: record %llu",
		    a_path, (unsigned long long)a_dseq);
}

/*
 * After a sync: status is told at most every AUDIT_STATUS_MS (it tells
 * the console and systemd in turn), not at each of thousands a second.
 */
static void
on_status_timer(evutil_socket_t fd, short ev, void *arg)
{
	set_health();
}

static void
sync_health(void)
{
	struct timeval	tv;

	if (now_ms() - a_health_ms >= AUDIT_STATUS_MS)
		set_health();
	else if (!evtimer_pending(a_status_ev, NULL)) {
		timeval_ms(&tv, AUDIT_STATUS_MS);
		evtimer_add(a_status_ev, &tv);
	}
}

static void
journal_head(const char *what)
{
	char		 f[2][96];
	const char	*fields[3];

	snprintf(f[0], sizeof(f[0]), "QMSD_AUDIT_SEQ=%llu",
	    (unsigned long long)a_dseq);
	snprintf(f[1], sizeof(f[1]), "QMSD_AUDIT_HASH=%s", a_dhash);
	fields[0] = f[0];
	fields[1] = f[1];
	fields[2] = NULL;
	a_jseq = a_dseq;
	log_audit("audit", fields, "log head%s: record %llu sha256 %s",
	    what, (unsigned long long)a_dseq, a_dhash);
}

static void
on_head_timer(evutil_socket_t fd, short ev, void *arg)
{
	struct timeval	tv;

	if (a_dseq != a_jseq)
		journal_head("");
	timeval_ms(&tv, AUDIT_HEAD_EVERY_MS);
	evtimer_add(a_head_ev, &tv);
}

/* Waits told of their failure, on a turn of their own. */
static void
on_failing(evutil_socket_t fd, short ev, void *arg)
{
	struct audit_wait	*w;

	while ((w = TAILQ_FIRST(&a_failing)) != NULL) {
		TAILQ_REMOVE(&a_failing, w, entry);
		if (w->done != NULL)
			w->done(w->arg, w->error);
		free(w->error);
		free(w);
	}
}

static void
fail_wait(struct audit_wait *w, const char *why)
{
	if (w == NULL)
		return;
	w->error = xstrdup(why);
	TAILQ_INSERT_TAIL(&a_failing, w, entry);
	event_active(a_fail_ev, EV_TIMEOUT, 0);
}

static void
rec_free(struct audit_rec *r)
{
	if (r->src != NULL)
		r->src->pending -= r->len + 1;
	free(r->line);
	free(r);
}

static void
followers_tell(const struct audit_rec *r)
{
	struct audit_follower	*f;

	a_notifying++;
	TAILQ_FOREACH(f, &a_followers, entry)
		if (!f->gone)
			f->fn(r->line, r->len, f->arg);
	a_notifying--;
}

static void
followers_sweep(void)
{
	struct audit_follower	*f, *next;

	if (a_notifying)
		return;
	for (f = TAILQ_FIRST(&a_followers); f != NULL; f = next) {
		next = TAILQ_NEXT(f, entry);
		if (f->gone) {
			TAILQ_REMOVE(&a_followers, f, entry);
			free(f);
		}
	}
}

/* The writer has this much on disk: release what it covers. */
static void
synced_to(uint64_t at)
{
	struct audit_rec	*r;
	struct audit_wait	*w;

	if (at <= a_synced || at > a_sent) {
		writer_lost("the writer answered an offset qmsd never sent");
		return;
	}
	a_synced = at;
	st_syncs++;
	while ((r = TAILQ_FIRST(&a_pending)) != NULL && r->end <= at) {
		TAILQ_REMOVE(&a_pending, r, entry);
		a_dseq = r->seq;
		memcpy(a_dhash, r->hash, sizeof(a_dhash));
		/* Followers first: one the answer subscribes has it. */
		followers_tell(r);
		if ((w = r->wait) != NULL) {
			if (w->done != NULL)
				w->done(w->arg, NULL);
			free(w);
		}
		rec_free(r);
	}
	followers_sweep();
	sync_health();
}

static void
on_writer_read(evutil_socket_t fd, short ev, void *arg)
{
	ssize_t			 n;
	char			*nl, why[300];
	unsigned long long	 at;

	n = read(fd, a_in + a_inlen, sizeof(a_in) - 1 - a_inlen);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		writer_lost(n == 0 ? "the writer stopped" : strerror(errno));
		return;
	}
	a_inlen += (size_t)n;
	a_in[a_inlen] = '\0';
	while ((nl = strchr(a_in, '\n')) != NULL) {
		*nl = '\0';
		if (a_in[0] == 'A' && sscanf(a_in, "A %llu", &at) == 1) {
			if (a_stalled != NULL) {
				log_info("audit: writing again");
				free(a_stalled);
				a_stalled = NULL;
				set_health();
			}
			synced_to(at);
		} else if (a_in[0] == 'W') {
			if (a_stalled == NULL)
				log_warnx("audit: %s", a_in + 2);
			free(a_stalled);
			a_stalled = xstrdup(a_in + 2);
			set_health();
		} else {
			snprintf(why, sizeof(why), "%s", a_in[0] == 'E' ?
			    a_in + 2 : "the writer said something else");
			writer_lost(why);
			return;
		}
		if (a_sock == -1)
			return;		/* lost meanwhile */
		a_inlen -= (size_t)(nl + 1 - a_in);
		memmove(a_in, nl + 1, a_inlen + 1);
	}
	if (a_inlen == sizeof(a_in) - 1)
		writer_lost("the writer's answer is too long");
}

static void
on_writer_write(evutil_socket_t fd, short ev, void *arg)
{
	if (evbuffer_write(a_out, fd) == -1 && errno != EAGAIN &&
	    errno != EINTR) {
		writer_lost(strerror(errno));
		return;
	}
	if (evbuffer_get_length(a_out) == 0)
		event_del(a_wr);
}

/*
 * The writer's last words may still be in the socket (what it synced,
 * or why it stopped): read them first, so that what reached the disk is
 * answered, and the reason is its own.
 */
static void
on_writer_exit(evutil_socket_t fd, short ev, void *arg)
{
	int	i;

	for (i = 0; i < 64 && a_sock != -1 && a_broken == NULL; i++)
		on_writer_read(a_sock, EV_READ, NULL);
	writer_lost("the writer exited");
}

static void
reap_writer(int wait_ms)
{
	int	status, i;

	if (a_pid == -1)
		return;
	for (i = 0; waitpid(a_pid, &status, WNOHANG) == 0; i++) {
		if (i * 10 >= wait_ms) {
			kill(a_pid, SIGKILL);
			(void)waitpid(a_pid, &status, 0);
			break;
		}
		usleep(10000);
	}
	a_pid = -1;
}

/* A writer let go of: reaped when it has died, on its pidfd. */
static void
on_dead_writer(evutil_socket_t fd, short ev, void *arg)
{
	(void)waitpid((pid_t)(intptr_t)arg, NULL, WNOHANG);
	close(fd);
}

/* wait_ms < 0: never waited for on the loop (killed, reaped later). */
static void
writer_stop(int wait_ms)
{
	if (a_rd != NULL)
		event_free(a_rd);
	if (a_wr != NULL)
		event_free(a_wr);
	if (a_exit != NULL)
		event_free(a_exit);
	a_rd = a_wr = a_exit = NULL;
	if (a_sock != -1)
		close(a_sock);
	a_sock = -1;
	if (wait_ms < 0 && a_pid != -1) {
		kill(a_pid, SIGKILL);
		if (waitpid(a_pid, NULL, WNOHANG) == 0 && a_pidfd != -1 &&
		    event_base_once(a_base, a_pidfd, EV_READ, on_dead_writer,
		    (void *)(intptr_t)a_pid, NULL) == 0)
			a_pidfd = -1;	/* on_dead_writer's now */
		a_pid = -1;
	}
	reap_writer(wait_ms);
	if (a_pidfd != -1)
		close(a_pidfd);
	a_pidfd = -1;
}

/*
 * The writer is gone: what waited for it fails, and nothing more is
 * written until qmsd starts again (and reads the log's end anew).
 */
static void
writer_lost(const char *why)
{
	struct audit_rec	*r;
	char			 msg[400];

	if (a_broken != NULL)
		return;
	snprintf(msg, sizeof(msg), "the audit log cannot be written: %s",
	    why);
	log_warnx("audit: %s; audited actions are refused until qmsd "
	    "restarts", msg);
	a_broken = xstrdup(msg);
	writer_stop(-1);
	while ((r = TAILQ_FIRST(&a_pending)) != NULL) {
		TAILQ_REMOVE(&a_pending, r, entry);
		fail_wait(r->wait, a_broken);
		rec_free(r);
	}
	evbuffer_drain(a_out, evbuffer_get_length(a_out));
	set_health();
}

static int
writer_start(int fd, char *err, size_t errlen)
{
	int	sv[2];
	pid_t	pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		snprintf(err, errlen, "audit: socketpair: %s",
		    strerror(errno));
		return (-1);
	}
	switch ((pid = fork())) {
	case -1:
		snprintf(err, errlen, "audit: fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return (-1);
	case 0:
		audit_writer_close_others(sv[1], fd);
		audit_writer_main(sv[1], fd);
	}
	close(sv[1]);
	a_pid = pid;
	a_sock = sv[0];
	evutil_make_socket_nonblocking(a_sock);
	if ((a_pidfd = (int)syscall(SYS_pidfd_open, pid, 0)) == -1) {
		snprintf(err, errlen, "audit: pidfd_open: %s",
		    strerror(errno));
		writer_stop(0);
		return (-1);
	}
	a_rd = event_new(a_base, a_sock, EV_READ | EV_PERSIST,
	    on_writer_read, NULL);
	a_wr = event_new(a_base, a_sock, EV_WRITE | EV_PERSIST,
	    on_writer_write, NULL);
	a_exit = event_new(a_base, a_pidfd, EV_READ, on_writer_exit, NULL);
	event_add(a_rd, NULL);
	event_add(a_exit, NULL);
	return (0);
}

/*
 * Where the chain stands: the last line's hash and seq.  A last line cut
 * short (a crash mid-write) is ended, and the chain goes on from it:
 * qmsctl audit --verify names it.
 */
static int
read_head(int wfd, char *err, size_t errlen)
{
	/* Two lines' worth, and room for a newline and a NUL. */
	char		 buf[2 * AUDIT_LINE_MAX + 3], *p, *line, *end;
	struct stat	 st;
	ssize_t		 n;
	size_t		 len, after = 0;
	off_t		 off;
	uint64_t	 seq;
	int		 rfd;

	a_seq = 0;
	memcpy(a_hash, AUDIT_GENESIS, sizeof(a_hash));
	if ((rfd = open(a_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK)) == -1 || fstat(rfd, &st) == -1) {
		snprintf(err, errlen, "audit: %s: %s", a_path,
		    strerror(errno));
		if (rfd != -1)
			close(rfd);
		return (-1);
	}
	if (st.st_size == 0) {
		close(rfd);
		return (0);
	}
	off = st.st_size > (off_t)sizeof(buf) - 2 ?
	    st.st_size - (off_t)sizeof(buf) + 2 : 0;
	n = pread(rfd, buf, sizeof(buf) - 2, off);
	close(rfd);
	if (n <= 0) {
		snprintf(err, errlen, "audit: cannot read %s: %s", a_path,
		    n == 0 ? "it shrank" : strerror(errno));
		return (-1);
	}
	len = (size_t)n;
	buf[len] = '\0';
	if (buf[len - 1] != '\n') {
		log_warnx("audit: %s ends in a line cut short (a write "
		    "interrupted); it is ended, and qmsctl audit --verify "
		    "names it", a_path);
		if (audit_write_all(wfd, "\n", 1) == -1 ||
		    fdatasync(wfd) == -1) {
			snprintf(err, errlen, "audit: cannot end %s's last "
			    "line: %s", a_path, strerror(errno));
			return (-1);
		}
		buf[len++] = '\n';
		buf[len] = '\0';
	}
	/* The last line: between the newline before it and the last one. */
	end = buf + len - 1;
	*end = '\0';
	p = memrchr(buf, '\n', (size_t)(end - buf));
	line = p != NULL ? p + 1 : buf;
	if (p == NULL && off > 0) {
		snprintf(err, errlen, "audit: the last line of %s is longer "
		    "than any record; move the file aside to start a new log",
		    a_path);
		return (-1);
	}
	audit_line_hash(line, (size_t)(end - line), a_hash);
	/* Its seq, or the last one before it in reach and the lines after. */
	for (;;) {
		if (audit_line_seq(line, strlen(line), &seq) == 0) {
			a_seq = seq + after;
			break;
		}
		if (line == buf) {
			snprintf(err, errlen, "audit: no record near the end "
			    "of %s tells where the chain stands; move the file "
			    "aside to start a new log", a_path);
			return (-1);
		}
		if (after == 0)
			log_warnx("audit: the last line of %s is not a record; "
			    "the chain goes on from it, and qmsctl audit "
			    "--verify names it", a_path);
		after++;
		line[-1] = '\0';
		p = memrchr(buf, '\n', (size_t)(line - 1 - buf));
		line = p != NULL ? p + 1 : buf;
		if (p == NULL && off > 0) {
			snprintf(err, errlen, "audit: no record near the end "
			    "of %s tells where the chain stands; move the file "
			    "aside to start a new log", a_path);
			return (-1);
		}
	}
	return (0);
}

int
audit_log_prepare(const char *state_dir, char *err, size_t errlen)
{
	struct stat	 st;
	int		 fd, created, dfd;

	xasprintf(&a_path, "%s/audit.log", state_dir);
	created = lstat(a_path, &st) == -1 && errno == ENOENT;
	if ((fd = open(a_path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC | O_NONBLOCK, 0600)) == -1 || fstat(fd, &st) == -1) {
		snprintf(err, errlen, "audit: cannot open %s: %s", a_path,
		    strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077) != 0) {
		snprintf(err, errlen, "audit: %s must be a regular file of "
		    "qmsd's user (uid %u), mode 0600", a_path,
		    (unsigned)geteuid());
		goto fail;
	}
	if (created && (dfd = open(state_dir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) != -1) {
		(void)fsync(dfd);	/* the new name itself */
		close(dfd);
	}
	if (read_head(fd, err, errlen) == -1)
		goto fail;
	a_fd = fd;
	return (0);
fail:
	if (fd != -1)
		close(fd);
	free(a_path);
	a_path = NULL;
	return (-1);
}

int
audit_log_open(struct event_base *base, char *err, size_t errlen)
{
	struct timeval	 tv;
	cJSON		*o;

	a_base = base;
	if (a_fd == -1 || writer_start(a_fd, err, errlen) == -1) {
		if (a_fd == -1)
			snprintf(err, errlen, "audit: the log was not "
			    "prepared");
		free(a_path);
		a_path = NULL;
		return (-1);
	}
	close(a_fd);
	a_fd = -1;
	a_sent = a_synced = 0;
	a_dseq = a_seq;
	memcpy(a_dhash, a_hash, sizeof(a_dhash));
	a_out = evbuffer_new();
	a_fail_ev = event_new(base, -1, 0, on_failing, NULL);
	a_head_ev = evtimer_new(base, on_head_timer, NULL);
	a_sum_ev = evtimer_new(base, on_summary, NULL);
	a_status_ev = evtimer_new(base, on_status_timer, NULL);
	a_comp = component_add("audit");
	set_health();
	journal_head(" at start");
	timeval_ms(&tv, AUDIT_HEAD_EVERY_MS);
	evtimer_add(a_head_ev, &tv);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "event", "start");
	cJSON_AddStringToObject(o, "version", QMSD_VERSION);
	audit_record("qmsd", o, NULL, NULL);
	return (0);
}

void
audit_log_close(const char *why)
{
	struct audit_follower	*f;
	struct audit_source	*src;
	struct pollfd		 pfd;
	cJSON			*o;
	int			 i;

	if (a_path == NULL)
		return;
	if (a_sock != -1) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "event", "stop");
		cJSON_AddStringToObject(o, "reason", why);
		audit_record("qmsd", o, NULL, NULL);
		/* What is queued goes, briefly waited for; then EOF. */
		for (i = 0; i < 200 && a_sock != -1 && a_broken == NULL &&
		    !TAILQ_EMPTY(&a_pending); i++) {
			pfd.fd = a_sock;
			pfd.events = POLLIN | (evbuffer_get_length(a_out) > 0 ?
			    POLLOUT : 0);
			if (poll(&pfd, 1, 10) <= 0)
				continue;
			if (pfd.revents & POLLOUT)
				on_writer_write(a_sock, EV_WRITE, NULL);
			if (a_sock != -1 && (pfd.revents & (POLLIN | POLLHUP)))
				on_writer_read(a_sock, EV_READ, NULL);
		}
	}
	journal_head(" at stop");
	writer_stop(2000);
	on_failing(-1, 0, NULL);
	while ((f = TAILQ_FIRST(&a_followers)) != NULL) {
		TAILQ_REMOVE(&a_followers, f, entry);
		free(f);
	}
	if (a_fail_ev != NULL)
		event_free(a_fail_ev);
	if (a_head_ev != NULL)
		event_free(a_head_ev);
	if (a_sum_ev != NULL)
		event_free(a_sum_ev);
	if (a_status_ev != NULL)
		event_free(a_status_ev);
	a_sum_ev = a_status_ev = NULL;
	while ((src = TAILQ_FIRST(&a_sources)) != NULL) {
		TAILQ_REMOVE(&a_sources, src, entry);
		free(src);
	}
	a_nsources = 0;
	if (a_out != NULL)
		evbuffer_free(a_out);
	component_remove(a_comp);
	a_comp = NULL;
	a_fail_ev = a_head_ev = NULL;
	a_out = NULL;
	free(a_broken);
	free(a_stalled);
	free(a_path);
	a_broken = a_stalled = a_path = NULL;
}

/*
 * The line in ASCII: each character past it as \uXXXX (a pair past the
 * BMP), each byte that is not UTF-8 as \ufffd.  Whatever bytes an agent
 * gave, every reader sees one line of JSON, and U+2028 ends none.  s is
 * JSON whose non-ASCII bytes are all inside strings.
 */
static char *
ascii_line(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	struct evbuffer		*b = evbuffer_new();
	unsigned int		 cp, min;
	size_t			 n, i, len;
	char			*out;

	while (*p != '\0') {
		if (*p < 0x80) {
			evbuffer_add(b, p++, 1);
			continue;
		}
		if (*p >= 0xc2 && *p <= 0xdf) {
			n = 1, cp = *p & 0x1f, min = 0x80;
		} else if (*p >= 0xe0 && *p <= 0xef) {
			n = 2, cp = *p & 0x0f, min = 0x800;
		} else if (*p >= 0xf0 && *p <= 0xf4) {
			n = 3, cp = *p & 0x07, min = 0x10000;
		} else
			n = 0, cp = 0, min = 0;
		for (i = 1; n > 0 && i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80) {
				n = 0;
				break;
			}
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if (n == 0 || cp < min || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff)) {
			evbuffer_add_printf(b, "\\ufffd");
			p++;
			continue;
		}
		if (cp >= 0x10000)
			evbuffer_add_printf(b, "\\u%04x\\u%04x",
			    0xd800 + ((cp - 0x10000) >> 10),
			    0xdc00 + ((cp - 0x10000) & 0x3ff));
		else
			evbuffer_add_printf(b, "\\u%04x", cp);
		p += n + 1;
	}
	len = evbuffer_get_length(b);
	out = xcalloc(1, len + 1);
	evbuffer_remove(b, out, len);
	evbuffer_free(b);
	return (out);
}

static struct audit_source *
source(const char *name)
{
	struct audit_source	*src;

	TAILQ_FOREACH(src, &a_sources, entry)
		if (strcmp(src->name, name) == 0)
			return (src);
	/* Agents are configured, so few; past that, they share one. */
	if (a_nsources >= AUDIT_MAX_SOURCES)
		return (TAILQ_FIRST(&a_sources));
	src = xcalloc(1, sizeof(*src));
	snprintf(src->name, sizeof(src->name), "%s", name);
	src->tokens = AUDIT_AGENT_BURST;
	src->last_ms = now_ms();
	TAILQ_INSERT_TAIL(&a_sources, src, entry);
	a_nsources++;
	return (src);
}

/* What was refused for want of share, said once a second. */
static void
on_summary(evutil_socket_t fd, short ev, void *arg)
{
	struct audit_source	*src;
	cJSON			*o;
	char			 why[128];

	TAILQ_FOREACH(src, &a_sources, entry) {
		if (src->refused == 0)
			continue;
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "agent", src->name);
		cJSON_AddStringToObject(o, "event", "refused");
		cJSON_AddNumberToObject(o, "count", (double)src->refused);
		snprintf(why, sizeof(why), "past the agent's share: %d audited "
		    "requests a second, %d MiB waiting for the disk",
		    AUDIT_AGENT_RATE, AUDIT_AGENT_PENDING >> 20);
		cJSON_AddStringToObject(o, "reason", why);
		src->refused = 0;
		audit_record("qmsd", o, NULL, NULL);
	}
}

/* Whether an agent may have one more record waited for, or why not. */
static const char *
within_share(struct audit_source *src)
{
	static char	 why[200];
	uint64_t	 now = now_ms();
	struct timeval	 tv = { 1, 0 };

	src->tokens += (double)(now - src->last_ms) * AUDIT_AGENT_RATE / 1000;
	if (src->tokens > AUDIT_AGENT_BURST)
		src->tokens = AUDIT_AGENT_BURST;
	src->last_ms = now;
	if (src->tokens >= 1 && src->pending <= AUDIT_AGENT_PENDING) {
		src->tokens -= 1;
		return (NULL);
	}
	if (src->refused++ == 0 && !evtimer_pending(a_sum_ev, NULL))
		evtimer_add(a_sum_ev, &tv);
	snprintf(why, sizeof(why), "agent %s is past its share of the audit "
	    "log (%d audited requests a second, %d MiB waiting for the "
	    "disk): refused, and counted in a record", src->name,
	    AUDIT_AGENT_RATE, AUDIT_AGENT_PENDING >> 20);
	return (why);
}

/* Each string member cut to max bytes (whole UTF-8 sequences kept). */
static void
cut_strings(cJSON *o, size_t max)
{
	cJSON	*v;
	size_t	 n;

	cJSON_ArrayForEach(v, o) {
		if (!cJSON_IsString(v) || (n = strlen(v->valuestring)) <= max)
			continue;
		n = max;
		while (n > 0 && ((unsigned char)v->valuestring[n] & 0xc0) ==
		    0x80)
			n--;
		v->valuestring[n] = '\0';
	}
}

/* The record's line: seq, time, prev and kind first, then fields. */
static char *
make_line(uint64_t seq, const char *kind, cJSON *fields, size_t *len)
{
	struct timespec	 ts;
	struct tm	 tm;
	char		 t[40], *raw, *body, *line;
	size_t		 max;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%S", &tm);
	for (max = 1024;; max /= 4) {
		cut_strings(fields, max);
		if ((raw = cJSON_PrintUnformatted(fields)) == NULL)
			fatalx("audit: out of memory");
		body = ascii_line(raw);
		cJSON_free(raw);
		xasprintf(&line, "{\"seq\":%llu,\"time\":\"%s.%03ldZ\","
		    "\"prev\":\"%s\",\"kind\":\"%s\"%s%s", (unsigned long long)
		    seq, t, ts.tv_nsec / 1000000, a_hash, kind,
		    body[1] != '}' ? "," : "", body + 1);
		free(body);
		*len = strlen(line);
		if (*len <= AUDIT_LINE_MAX || max < 16)
			return (line);
		free(line);
	}
}

struct audit_wait *
audit_record(const char *kind, cJSON *fields, audit_done done, void *arg)
{
	struct audit_rec	*r;
	struct audit_wait	*w = NULL;
	struct audit_source	*src = NULL;
	const cJSON		*agent;
	const char		*why;
	struct timespec		 t0, t1;

	/* Every caller is set up after the log and stopped before it. */
	if (a_path == NULL)
		fatalx("audit: a %s record while the log is closed", kind);
	if (done != NULL) {
		w = xcalloc(1, sizeof(*w));
		w->done = done;
		w->arg = arg;
	}
	if (a_broken != NULL || a_sock == -1) {
		cJSON_Delete(fields);
		fail_wait(w, a_broken != NULL ? a_broken :
		    "the audit log's writer is not running");
		return (w);
	}
	/*
	 * What is waited for has a bound: an agent's share, then the
	 * queue's, which admins and the host may go twice past.  What
	 * nothing waits for (a tunnel's end) follows what was, and goes.
	 */
	agent = cJSON_GetObjectItemCaseSensitive(fields, "agent");
	if (w != NULL && cJSON_IsString(agent) && strcmp(kind, "admin") != 0) {
		/* An agent's doing (an admin's record names the agent acted
		 * on, and is the admin's). */
		src = source(agent->valuestring);
		if ((why = within_share(src)) != NULL) {
			cJSON_Delete(fields);
			fail_wait(w, why);
			return (w);
		}
	}
	if (w != NULL && a_sent - a_synced > (src != NULL ?
	    AUDIT_MAX_PENDING : 2 * (uint64_t)AUDIT_MAX_PENDING)) {
		cJSON_Delete(fields);
		fail_wait(w, "the audit log is behind: more than 8 MiB of "
		    "records wait for the disk");
		return (w);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = xcalloc(1, sizeof(*r));
	r->seq = ++a_seq;
	r->line = make_line(r->seq, kind, fields, &r->len);
	cJSON_Delete(fields);
	audit_line_hash(r->line, r->len, r->hash);
	memcpy(a_hash, r->hash, sizeof(a_hash));
	evbuffer_add(a_out, r->line, r->len);
	evbuffer_add(a_out, "\n", 1);
	a_sent += r->len + 1;
	r->end = a_sent;
	r->wait = w;
	if ((r->src = src) != NULL)
		src->pending += r->len + 1;
	TAILQ_INSERT_TAIL(&a_pending, r, entry);
	event_add(a_wr, NULL);
	st_records++;
	st_bytes += r->len + 1;
	if (a_sent - a_synced > st_max_pending)
		st_max_pending = a_sent - a_synced;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	st_loop_ns += (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000000LL +
	    (t1.tv_nsec - t0.tv_nsec));
	return (w);
}

void
audit_forget(struct audit_wait *w)
{
	if (w != NULL)
		w->done = NULL;
}

void
audit_head(uint64_t *seq, char hash[AUDIT_HASH_HEX])
{
	*seq = a_dseq;
	memcpy(hash, a_path != NULL ? a_dhash : AUDIT_GENESIS,
	    AUDIT_HASH_HEX);
}

int
audit_open_read(char *err, size_t errlen)
{
	struct stat	st;
	int		fd;

	if (a_path == NULL) {
		snprintf(err, errlen, "the audit log is not open");
		return (-1);
	}
	if ((fd = open(a_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK)) == -1 || fstat(fd, &st) == -1 ||
	    !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "cannot open %s: %s", a_path,
		    fd == -1 ? strerror(errno) : "not a regular file");
		if (fd != -1)
			close(fd);
		return (-1);
	}
	return (fd);
}

const char *
audit_path(void)
{
	return (a_path);
}

void *
audit_follow_add(void (*fn)(const char *, size_t, void *), void *arg)
{
	struct audit_follower	*f;

	f = xcalloc(1, sizeof(*f));
	f->fn = fn;
	f->arg = arg;
	TAILQ_INSERT_TAIL(&a_followers, f, entry);
	return (f);
}

void
audit_follow_remove(void *handle)
{
	struct audit_follower	*f = handle;

	f->gone = 1;
	followers_sweep();
}

cJSON *
audit_stats(void)
{
	cJSON	*o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "records", (double)st_records);
	cJSON_AddNumberToObject(o, "bytes", (double)st_bytes);
	cJSON_AddNumberToObject(o, "syncs", (double)st_syncs);
	cJSON_AddNumberToObject(o, "pending", (double)(a_sent - a_synced));
	cJSON_AddNumberToObject(o, "max_pending", (double)st_max_pending);
	cJSON_AddNumberToObject(o, "loop_ns_per_record", st_records > 0 ?
	    (double)(st_loop_ns / st_records) : 0);
	cJSON_AddNumberToObject(o, "seq", (double)a_dseq);
	return (o);
}
