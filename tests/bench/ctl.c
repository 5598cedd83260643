/*
 * ctl: the control-socket client of the audit benchmark of tests/bench
 * (issue 19).  One client for recorded and unrecorded methods alike, so
 * that the two are measured the same way, and fast enough that qmsd, not
 * the client, sets the pace.
 *
 *	ctl lat SOCKET COUNT WARMUP METHOD...
 *	ctl load SOCKET CONNS SECONDS WARMUP_S METHOD
 *
 * A request is one JSON-RPC line, {"jsonrpc":"2.0","id":N,"method":M},
 * no params; its answer is the next line on that connection, which must
 * hold a "result" (an "error" is counted, and the first one printed).
 * A METHOD @sync:PATH is the peer that asks no qmsd: an audit log that
 * syncs each record itself, one line of RECORD_LEN bytes appended to
 * PATH and fdatasync()ed (PATH made if missing).
 *
 * lat: one connection, one request at a time, the methods in turn
 * (METHOD1, METHOD2, ..., METHOD1, ...): WARMUP rounds not counted, then
 * COUNT rounds; the time of each request from its write to its answer's
 * last byte, per method.
 * load: CONNS connections, each with one request outstanding (a client
 * that sends its next request as soon as its answer comes), all METHOD;
 * the answers that come in the WARMUP_S seconds after the start are not
 * counted, then those of SECONDS seconds are, or, SECONDS 0, of the time
 * until standard input ends (the caller measures something else
 * meanwhile).  Every request still outstanding at the end is waited for.
 *
 * Each prints one JSON object, the samples in microseconds, and "sent":
 * every request written to qmsd, the warm-up's too (each one recorded
 * is one record in the log).  Compiled by tests/bench/bench.py.
 */
#define _GNU_SOURCE
#include <sys/epoll.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench-io.h"

#define LINE_MAX_	(256 * 1024)
#define RECORD_LEN	180	/* about an admin record's line */
#define SYNC_PREFIX	"@sync:"

struct conn {
	int		 fd;
	int		 method;	/* index of the method it sends */
	uint64_t	 id;
	uint64_t	 sent_ns;	/* 0: nothing outstanding */
	char		*in;
	size_t		 inlen;
};

struct samples {
	uint32_t	*v;
	size_t		 n, cap;
};

static uint64_t		 errors, sent;
static char		 first_error[512];

static uint64_t
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec);
}

static void __attribute__((noreturn))
die(const char *what)
{
	printf("{\"error\": \"%s: %s\"}\n", what, strerror(errno));
	exit(1);
}

static void
add(struct samples *s, uint64_t ns)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 4096;
		if ((s->v = realloc(s->v, s->cap * sizeof(*s->v))) == NULL)
			die("realloc");
	}
	s->v[s->n++] = (uint32_t)((ns + 500) / 1000);
}

static int
is_sync(const char *method)
{
	return (strncmp(method, SYNC_PREFIX, strlen(SYNC_PREFIX)) == 0);
}

static int
open_log(const char *method)
{
	int	fd;

	if ((fd = open(method + strlen(SYNC_PREFIX), O_WRONLY | O_CREAT |
	    O_APPEND | O_CLOEXEC, 0600)) == -1)
		die("open the @sync log");
	return (fd);
}

/* The peer: one record appended and synced, timed as a request. */
static void
sync_record(struct conn *c, int logfd)
{
	char	line[RECORD_LEN];

	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\n';
	c->sent_ns = now_ns();
	if (write(logfd, line, sizeof(line)) != (ssize_t)sizeof(line))
		die("write the @sync log");
	if (fdatasync(logfd) == -1)
		die("fdatasync the @sync log");
}

static void
send_req(struct conn *c, char **methods)
{
	char	line[256];
	int	n;
	ssize_t	w;

	n = snprintf(line, sizeof(line), "{\"jsonrpc\":\"2.0\",\"id\":%llu,"
	    "\"method\":\"%s\"}\n", (unsigned long long)++c->id,
	    methods[c->method]);
	if (n <= 0 || (size_t)n >= sizeof(line)) {
		errno = EINVAL;
		die("method name");
	}
	sent++;
	c->sent_ns = now_ns();
	/* A short line into an empty socket: written whole, or an error. */
	if ((w = write(c->fd, line, (size_t)n)) != n)
		die("write");
}

/*
 * Read what has come on c; 1 once a whole answer is in (judged and
 * dropped), 0 if not yet, -1 at EOF.
 */
static int
read_answer(struct conn *c)
{
	char	*nl;
	ssize_t	 n;

	for (;;) {
		if ((nl = memchr(c->in, '\n', c->inlen)) != NULL)
			break;
		if (c->inlen == LINE_MAX_) {
			errno = EMSGSIZE;
			die("answer");
		}
		n = read(c->fd, c->in + c->inlen, LINE_MAX_ - c->inlen);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return (0);
		if (n == -1)
			die("read");
		if (n == 0)
			return (-1);
		c->inlen += (size_t)n;
	}
	*nl = '\0';
	if (strstr(c->in, "\"result\"") == NULL) {
		if (errors++ == 0)
			snprintf(first_error, sizeof(first_error), "%.400s",
			    c->in);
	}
	c->inlen -= (size_t)(nl + 1 - c->in);
	memmove(c->in, nl + 1, c->inlen);
	return (1);
}

static void
print_samples(const struct samples *s)
{
	size_t	i;

	putchar('[');
	for (i = 0; i < s->n; i++)
		printf("%s%u", i ? "," : "", s->v[i]);
	putchar(']');
}

static void
print_errors(void)
{
	printf("\"sent\": %llu, \"errors\": %llu, \"first_error\": ",
	    (unsigned long long)sent, (unsigned long long)errors);
	json_str(first_error);
}

static struct conn *
conn_new(const char *path, int method, int nonblock)
{
	struct conn	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->in = malloc(LINE_MAX_)) == NULL)
		die("malloc");
	if ((c->fd = unix_connect(path)) == -1)
		die("connect");
	c->method = method;
	if (nonblock && fcntl(c->fd, F_SETFL, O_NONBLOCK) == -1)
		die("fcntl");
	return (c);
}

static int
cmd_lat(char *path, long count, long warmup, char **methods, int nm)
{
	struct conn	*c = conn_new(path, 0, 0);
	struct samples	*s;
	long		 round;
	int		 m, r, *logfds;

	if ((s = calloc((size_t)nm, sizeof(*s))) == NULL ||
	    (logfds = calloc((size_t)nm, sizeof(*logfds))) == NULL)
		die("calloc");
	for (m = 0; m < nm; m++)
		logfds[m] = is_sync(methods[m]) ? open_log(methods[m]) : -1;
	for (round = 0; round < warmup + count; round++) {
		for (m = 0; m < nm; m++) {
			if (logfds[m] != -1) {
				sync_record(c, logfds[m]);
				if (round >= warmup)
					add(&s[m], now_ns() - c->sent_ns);
				continue;
			}
			c->method = m;
			send_req(c, methods);
			while ((r = read_answer(c)) == 0)
				;
			if (r == -1) {
				errno = ECONNRESET;
				die("qmsd closed the connection");
			}
			if (round >= warmup)
				add(&s[m], now_ns() - c->sent_ns);
		}
	}
	printf("{");
	print_errors();
	printf(", \"samples_us\": {");
	for (m = 0; m < nm; m++) {
		printf("%s", m ? ", " : "");
		json_str(methods[m]);
		printf(": ");
		print_samples(&s[m]);
	}
	printf("}}\n");
	return (errors ? 1 : 0);
}

static void
print_load(const char *method, int nconns, uint64_t n, double seconds,
    const struct samples *s)
{
	printf("{\"method\": ");
	json_str(method);
	printf(", \"conns\": %d, \"n\": %llu, \"seconds\": %.6f, ", nconns,
	    (unsigned long long)n, seconds);
	print_errors();
	printf(", \"samples_us\": ");
	print_samples(s);
	printf("}\n");
}

/* load @sync:PATH: one writer, each record synced before the next. */
static int
load_sync(int nconns, double seconds, double warm, char *method)
{
	struct conn	 c;
	struct samples	 s = { 0 };
	uint64_t	 t_warm, t_end, n = 0, now;
	int		 logfd;

	if (nconns != 1 || seconds <= 0) {
		errno = EINVAL;
		die("@sync runs on one connection for SECONDS");
	}
	memset(&c, 0, sizeof(c));
	logfd = open_log(method);
	t_warm = now_ns() + (uint64_t)(warm * 1e9);
	t_end = t_warm + (uint64_t)(seconds * 1e9);
	do {
		sync_record(&c, logfd);
		now = now_ns();
		if (now >= t_warm && now <= t_end) {
			n++;
			add(&s, now - c.sent_ns);
		}
	} while (now < t_end);
	print_load(method, 1, n, seconds, &s);
	return (0);
}

static int
cmd_load(char *path, int nconns, double seconds, double warm, char *method)
{
	struct epoll_event	 ev, evs[256];
	struct conn		**cs;
	struct samples		 s = { 0 };
	uint64_t		 t0, t_warm, t_end, t_last = 0, n = 0, now;
	int			 ep, i, k, r, stopping = 0, outstanding;
	char			*methods[1] = { method }, b[64];

	if (is_sync(method))
		return (load_sync(nconns, seconds, warm, method));
	if ((cs = calloc((size_t)nconns, sizeof(*cs))) == NULL)
		die("calloc");
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1");
	for (i = 0; i < nconns; i++) {
		cs[i] = conn_new(path, 0, 1);
		ev.events = EPOLLIN;
		ev.data.ptr = cs[i];
		if (epoll_ctl(ep, EPOLL_CTL_ADD, cs[i]->fd, &ev) == -1)
			die("epoll_ctl");
	}
	if (seconds == 0) {
		/* Until standard input ends. */
		ev.events = EPOLLIN;
		ev.data.ptr = NULL;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev) == -1)
			die("epoll_ctl stdin");
	}
	t0 = now_ns();
	t_warm = t0 + (uint64_t)(warm * 1e9);
	t_end = seconds > 0 ? t_warm + (uint64_t)(seconds * 1e9) : UINT64_MAX;
	for (i = 0; i < nconns; i++)
		send_req(cs[i], methods);
	outstanding = nconns;
	while (outstanding > 0) {
		if ((k = epoll_wait(ep, evs, 256, 1000)) == -1) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		now = now_ns();
		if (!stopping && now >= t_end) {
			stopping = 1;
			t_last = t_end;
		}
		for (i = 0; i < k; i++) {
			struct conn *c = evs[i].data.ptr;

			if (c == NULL) {
				if (read(0, b, sizeof(b)) <= 0 && !stopping) {
					stopping = 1;
					t_last = now;
					epoll_ctl(ep, EPOLL_CTL_DEL, 0, NULL);
				}
				continue;
			}
			while ((r = read_answer(c)) == 1) {
				now = now_ns();
				if (now >= t_warm && (!stopping ||
				    now <= t_last)) {
					n++;
					add(&s, now - c->sent_ns);
				}
				c->sent_ns = 0;
				outstanding--;
				if (!stopping) {
					send_req(c, methods);
					outstanding++;
				}
			}
			if (r == -1) {
				errno = ECONNRESET;
				die("qmsd closed a connection");
			}
		}
	}
	if (t_last == 0)
		t_last = now_ns();
	print_load(method, nconns, n, t_last > t_warm ?
	    (double)(t_last - t_warm) / 1e9 : 0.0, &s);
	return (errors ? 1 : 0);
}

int
main(int argc, char **argv)
{
	if (argc >= 6 && strcmp(argv[1], "lat") == 0)
		return (cmd_lat(argv[2], atol(argv[3]), atol(argv[4]),
		    argv + 5, argc - 5));
	if (argc == 7 && strcmp(argv[1], "load") == 0)
		return (cmd_load(argv[2], atoi(argv[3]), atof(argv[4]),
		    atof(argv[5]), argv[6]));
	fprintf(stderr, "usage: ctl lat SOCKET COUNT WARMUP METHOD...\n"
	    "       ctl load SOCKET CONNS SECONDS WARMUP_S METHOD\n");
	return (2);
}
