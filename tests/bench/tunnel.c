/*
 * tunnel: the client and the upstream of the egress benchmark of
 * tests/bench (issue 15).  One client for every peer, so that direct
 * loopback, tinyproxy and qmsd's agent socket are measured alike.
 *
 *	tunnel sink
 *	tunnel bulk PEER TARGET_PORT UP_BYTES DOWN_BYTES
 *	tunnel connect TARGET_PORT COUNT WARMUP PEER...
 *	tunnel idle PEER TARGET_PORT K PID
 *
 * sink listens on 127.0.0.1 at a port of the kernel's choosing, prints
 * the port on a line, and serves until it is killed (one thread, epoll,
 * non-blocking).  On each connection the first byte says what to do:
 *	'T' UP DOWN	(8 bytes each, big-endian) read UP bytes while
 *			writing DOWN bytes, then write one byte 'K'
 *	'E'		echo every byte until EOF
 *
 * PEER is NAME=direct (a TCP connection to the target itself),
 * NAME=tcp:HOST:PORT (an HTTP proxy on TCP, e.g. tinyproxy) or
 * NAME=unix:PATH (an HTTP proxy on a Unix socket: qmsd's agent socket).
 * Through a proxy the client sends
 *	CONNECT 127.0.0.1:TARGET_PORT HTTP/1.1\r\nHost: ...\r\n\r\n
 * reads the answer to its blank line, wants a 200, and from there
 * speaks to the sink exactly as a direct connection does.
 *
 * bulk: one connection, 'T', UP bytes sent while DOWN + 1 are received
 * (poll, 256 KiB reads and writes); the time from the first byte of the
 * command to the last byte of the answer.
 * connect: COUNT (after WARMUP) times, the peers in turn (the first one
 * rotating), open a tunnel and make one round trip of a byte through
 * the sink's echo: connect + CONNECT + 200 + first byte, per sample.
 * idle: VmRSS and RssAnon of PID, then K tunnels opened and each checked
 * with one echoed byte, left idle, PID read again, then closed.
 *
 * Each prints one JSON object.  Compiled by tests/bench/bench.py.
 */
#define _GNU_SOURCE
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench-io.h"

#define BUFSZ	(256 * 1024)

static char	 buf[BUFSZ];		/* what is written */
static char	 rbuf[BUFSZ];		/* what is read */
static char	 err[512];

enum kind { DIRECT, TCP, UNIX };

struct peer {
	const char	*name;
	enum kind	 kind;
	char		 host[64];
	int		 port;
	char		 path[108];
};

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec * 1e6 + ts.tv_nsec / 1e3);
}

static void *
xcalloc(size_t n, size_t size)
{
	void *p;

	if ((p = calloc(n, size)) == NULL) {
		perror("calloc");
		exit(1);
	}
	return (p);
}

static void
usage(void)
{
	fprintf(stderr, "usage: tunnel sink\n"
	    "       tunnel bulk PEER TARGET_PORT UP_BYTES DOWN_BYTES\n"
	    "       tunnel connect TARGET_PORT COUNT WARMUP PEER...\n"
	    "       tunnel idle PEER TARGET_PORT K PID\n"
	    "PEER: NAME=direct, NAME=tcp:HOST:PORT or NAME=unix:PATH\n");
	exit(64);
}

static int
peer_parse(struct peer *p, char *s)
{
	char *eq = strchr(s, '='), *v, *colon;

	if (eq == NULL)
		return (-1);
	*eq = '\0';
	p->name = s;
	v = eq + 1;
	if (strcmp(v, "direct") == 0) {
		p->kind = DIRECT;
		return (0);
	}
	if (strncmp(v, "unix:", 5) == 0) {
		p->kind = UNIX;
		if (strlen(v + 5) >= sizeof(p->path))
			return (-1);
		strcpy(p->path, v + 5);
		return (0);
	}
	if (strncmp(v, "tcp:", 4) == 0) {
		p->kind = TCP;
		colon = strrchr(v + 4, ':');
		if (colon == NULL || colon - (v + 4) >= (int)sizeof(p->host))
			return (-1);
		memcpy(p->host, v + 4, colon - (v + 4));
		p->host[colon - (v + 4)] = '\0';
		p->port = atoi(colon + 1);
		return (p->port > 0 ? 0 : -1);
	}
	return (-1);
}

static int
tcp_connect(const char *host, int port)
{
	struct sockaddr_in sin;
	int fd, one = 1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1) {
		snprintf(err, sizeof(err), "bad address %s", host);
		return (-1);
	}
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		goto fail;
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		close(fd);
		goto fail;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return (fd);
fail:
	snprintf(err, sizeof(err), "connect %s:%d: %s", host, port,
	    strerror(errno));
	return (-1);
}

/* bench-io.h's, with why in err. */
static int
socket_connect(const char *path)
{
	int	fd;

	if ((fd = unix_connect(path)) == -1)
		snprintf(err, sizeof(err), "connect %s: %s", path,
		    strerror(errno));
	return (fd);
}

static int
write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, c, n)) == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, sizeof(err), "write: %s",
			    strerror(errno));
			return (-1);
		}
		c += w;
		n -= w;
	}
	return (0);
}

/*
 * A tunnel to 127.0.0.1:target through p, blocking, ready for the sink's
 * protocol; -1 with err set.  The proxy's answer is read to its blank
 * line and no further: the sink never speaks first, so a byte after it
 * is an error.
 */
static int
peer_open(const struct peer *p, int target)
{
	char req[256], ans[4096];
	size_t have = 0;
	ssize_t r;
	int fd, n;
	char *end;

	if (p->kind == DIRECT)
		return (tcp_connect("127.0.0.1", target));
	fd = p->kind == TCP ? tcp_connect(p->host, p->port) :
	    socket_connect(p->path);
	if (fd == -1)
		return (-1);
	n = snprintf(req, sizeof(req), "CONNECT 127.0.0.1:%d HTTP/1.1\r\n"
	    "Host: 127.0.0.1:%d\r\n\r\n", target, target);
	if (write_all(fd, req, n) == -1)
		goto fail;
	for (;;) {
		r = read(fd, ans + have, sizeof(ans) - 1 - have);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(err, sizeof(err), "%s: %s before the "
			    "answer to CONNECT ended", p->name, r == 0 ?
			    "EOF" : strerror(errno));
			goto fail;
		}
		have += r;
		ans[have] = '\0';
		if ((end = strstr(ans, "\r\n\r\n")) != NULL)
			break;
		if (have == sizeof(ans) - 1) {
			snprintf(err, sizeof(err), "%s: answer too long",
			    p->name);
			goto fail;
		}
	}
	if (strncmp(ans, "HTTP/1.", 7) != 0 || strncmp(ans + 8, " 200", 4)
	    != 0) {
		ans[strcspn(ans, "\r")] = '\0';
		snprintf(err, sizeof(err), "%s: CONNECT answered \"%.200s\"",
		    p->name, ans);
		goto fail;
	}
	if (end + 4 != ans + have) {
		snprintf(err, sizeof(err), "%s: bytes after the answer",
		    p->name);
		goto fail;
	}
	return (fd);
fail:
	close(fd);
	return (-1);
}

/* One byte through the sink's echo: the tunnel works end to end. */
static int
echo_byte(int fd)
{
	char c;
	ssize_t r;

	if (write_all(fd, "Ex", 2) == -1)
		return (-1);
	while ((r = read(fd, &c, 1)) == -1 && errno == EINTR)
		;
	if (r != 1 || c != 'x') {
		snprintf(err, sizeof(err), "echo: %s", r == 0 ? "EOF" :
		    r == -1 ? strerror(errno) : "wrong byte");
		return (-1);
	}
	return (0);
}

/* This process's CPU time (user and system), in seconds. */
static double
cpu_self(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
}

static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* ------------------------------------------------------------ sink */

struct conn {
	int		fd;
	int		mode;		/* 0 until the command is read */
	unsigned char	hdr[17];
	size_t		hlen;
	uint64_t	up, down;	/* still to read, still to write */
	int		acked;
	char		echo[4096];
	size_t		elen;
	uint32_t	events;
};

static uint64_t
be64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return (v);
}

static void
sink_want(int ep, struct conn *c)
{
	struct epoll_event ev;
	uint32_t want = 0;

	if (c->mode == 0 || (c->mode == 'T') || (c->mode == 'E' &&
	    c->elen < sizeof(c->echo)))
		want |= EPOLLIN;
	if ((c->mode == 'T' && (c->down > 0 || (c->up == 0 && !c->acked))) ||
	    (c->mode == 'E' && c->elen > 0))
		want |= EPOLLOUT;
	if (want == c->events)
		return;
	ev.events = want;
	ev.data.ptr = c;
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
	c->events = want;
}

/* 0 to go on, -1 to close. */
static int
sink_io(struct conn *c, uint32_t events)
{
	ssize_t r;
	size_t want;

	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		if (c->mode == 0) {
			want = c->hlen == 0 ? 1 : (c->hdr[0] == 'T' ? 17 : 1);
			r = read(c->fd, c->hdr + c->hlen, want - c->hlen);
			if (r <= 0)
				return (r == -1 && errno == EAGAIN ? 0 : -1);
			c->hlen += r;
			if (c->hdr[0] == 'E')
				c->mode = 'E';
			else if (c->hdr[0] != 'T')
				return (-1);
			else if (c->hlen == 17) {
				c->mode = 'T';
				c->up = be64(c->hdr + 1);
				c->down = be64(c->hdr + 9);
			}
		} else if (c->mode == 'T') {
			r = read(c->fd, rbuf, sizeof(rbuf));
			if (r == -1 && errno == EAGAIN)
				;
			else if (r <= 0 || (uint64_t)r > c->up)
				return (-1);	/* EOF, or more than said */
			else
				c->up -= r;
		} else if (c->elen < sizeof(c->echo)) {
			r = read(c->fd, c->echo + c->elen,
			    sizeof(c->echo) - c->elen);
			if (r == -1 && errno == EAGAIN)
				;
			else if (r <= 0)
				return (-1);
			else
				c->elen += r;
		}
	}
	if (events & EPOLLOUT) {
		if (c->mode == 'T' && c->down > 0) {
			want = c->down < sizeof(buf) ? c->down : sizeof(buf);
			r = write(c->fd, buf, want);
			if (r == -1 && errno != EAGAIN)
				return (-1);
			if (r > 0)
				c->down -= r;
		} else if (c->mode == 'T' && c->up == 0 && !c->acked) {
			r = write(c->fd, "K", 1);
			if (r == -1 && errno != EAGAIN)
				return (-1);
			if (r == 1)
				c->acked = 1;
		} else if (c->mode == 'E' && c->elen > 0) {
			r = write(c->fd, c->echo, c->elen);
			if (r == -1 && errno != EAGAIN)
				return (-1);
			if (r > 0) {
				memmove(c->echo, c->echo + r, c->elen - r);
				c->elen -= r;
			}
		}
	}
	return (0);
}

static int
sink(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	struct epoll_event ev, evs[64];
	int lfd, ep, n, i, fd, one = 1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1 ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(lfd, 4096) == -1 ||
	    getsockname(lfd, (struct sockaddr *)&sin, &len) == -1) {
		perror("sink");
		return (1);
	}
	printf("%d\n", ntohs(sin.sin_port));
	fflush(stdout);
	ep = epoll_create1(0);
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	for (;;) {
		if ((n = epoll_wait(ep, evs, 64, -1)) == -1) {
			if (errno == EINTR)
				continue;
			perror("epoll_wait");
			return (1);
		}
		for (i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (c == NULL) {
				while ((fd = accept4(lfd, NULL, NULL,
				    SOCK_NONBLOCK)) != -1) {
					setsockopt(fd, IPPROTO_TCP,
					    TCP_NODELAY, &one, sizeof(one));
					c = xcalloc(1, sizeof(*c));
					c->fd = fd;
					c->events = EPOLLIN;
					ev.events = EPOLLIN;
					ev.data.ptr = c;
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
				}
				continue;
			}
			if (sink_io(c, evs[i].events) == -1) {
				close(c->fd);	/* leaves the epoll set */
				free(c);
				continue;
			}
			sink_want(ep, c);
		}
	}
}

/* ------------------------------------------------------------ bulk */

static int
bulk(const struct peer *p, int target, uint64_t up, uint64_t down)
{
	unsigned char hdr[17];
	struct pollfd pfd;
	uint64_t sent = 0, got = 0, need = down + 1;
	double t0, t1, ts, c0;
	size_t hsent = 0, want;
	ssize_t r;
	int fd, i;
	char last = 0;

	ts = now_us();
	if ((fd = peer_open(p, target)) == -1)
		goto fail;
	t0 = now_us();
	c0 = cpu_self();
	fcntl(fd, F_SETFL, O_NONBLOCK);
	hdr[0] = 'T';
	for (i = 0; i < 8; i++) {
		hdr[1 + i] = up >> (56 - 8 * i);
		hdr[9 + i] = down >> (56 - 8 * i);
	}
	pfd.fd = fd;
	while (got < need) {
		pfd.events = POLLIN | (hsent < sizeof(hdr) || sent < up ?
		    POLLOUT : 0);
		if (poll(&pfd, 1, 60000) <= 0) {
			snprintf(err, sizeof(err), "%s: poll: %s", p->name,
			    errno ? strerror(errno) : "60 s without a byte");
			goto fail;
		}
		if (pfd.revents & POLLOUT) {
			if (hsent < sizeof(hdr)) {
				r = write(fd, hdr + hsent, sizeof(hdr) - hsent);
				if (r > 0)
					hsent += r;
			} else {
				want = up - sent < sizeof(buf) ? up - sent :
				    sizeof(buf);
				r = write(fd, buf, want);
				if (r > 0)
					sent += r;
			}
			if (r == -1 && errno != EAGAIN) {
				snprintf(err, sizeof(err), "%s: write: %s",
				    p->name, strerror(errno));
				goto fail;
			}
		}
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			r = read(fd, rbuf, sizeof(rbuf));
			if (r == 0 || (r == -1 && errno != EAGAIN)) {
				snprintf(err, sizeof(err), "%s: %s after %llu "
				    "of %llu bytes", p->name, r == 0 ? "EOF" :
				    strerror(errno), (unsigned long long)got,
				    (unsigned long long)need);
				goto fail;
			}
			if (r > 0) {
				got += r;
				last = rbuf[r - 1];
			}
		}
	}
	t1 = now_us();
	close(fd);
	if (got != need || last != 'K') {
		snprintf(err, sizeof(err), "%s: %llu bytes, last '%c', not "
		    "%llu and the sink's 'K'", p->name, (unsigned long long)got,
		    last, (unsigned long long)need);
		goto fail;
	}
	printf("{\"peer\": \"%s\", \"up\": %llu, \"down\": %llu, "
	    "\"seconds\": %.6f, \"setup_us\": %.1f, \"client_cpu_s\": %.6f, "
	    "\"error\": null}\n", p->name, (unsigned long long)up,
	    (unsigned long long)down, (t1 - t0) / 1e6, t0 - ts,
	    cpu_self() - c0);
	return (0);
fail:
	printf("{\"peer\": \"%s\", \"error\": \"%s\"}\n", p->name, err);
	return (1);
}

/* ------------------------------------------------------------ connect */

static int
connect_bench(int target, int count, int warmup, struct peer *peers,
    int npeers)
{
	double *lat, t0;
	int i, j, k, fd, errors = 0;

	lat = xcalloc((size_t)count * npeers + 1, sizeof(*lat));
	for (i = 0; i < warmup + count; i++) {
		for (k = 0; k < npeers; k++) {
			j = (i + k) % npeers;
			t0 = now_us();
			if ((fd = peer_open(&peers[j], target)) == -1 ||
			    echo_byte(fd) == -1) {
				if (fd != -1)
					close(fd);
				errors++;
				break;
			}
			if (i >= warmup)
				lat[(size_t)j * count + i - warmup] =
				    now_us() - t0;
			close(fd);
		}
		if (errors)
			break;
	}
	printf("{\"peers\": {");
	for (j = 0; j < npeers && !errors; j++) {
		printf("%s\"%s\": [", j ? ", " : "", peers[j].name);
		for (i = 0; i < count; i++)
			printf("%s%.1f", i ? ", " : "",
			    lat[(size_t)j * count + i]);
		printf("]");
	}
	printf("}, \"errors\": %d, \"first_error\": ", errors);
	if (errors)
		printf("\"%s\"}\n", err);
	else
		printf("null}\n");
	free(lat);
	return (errors ? 1 : 0);
}

/* ------------------------------------------------------------ idle */

static long
status_kib(int pid, const char *key)
{
	char path[64], line[256];
	size_t kl = strlen(key);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
			v = atol(line + kl + 1);
			break;
		}
	fclose(f);
	return (v);
}

static void
print_mem(const char *label, int pid)
{
	printf("\"%s\": {\"rss_kib\": %ld, \"anon_kib\": %ld, "
	    "\"threads\": %ld}", label, status_kib(pid, "VmRSS"),
	    status_kib(pid, "RssAnon"), status_kib(pid, "Threads"));
}

static int
idle(const struct peer *p, int target, int k, int pid)
{
	struct timespec settle = { 0, 300 * 1000 * 1000 };
	int *fds, i, opened = 0;

	fds = xcalloc(k, sizeof(*fds));
	printf("{\"peer\": \"%s\", \"k\": %d, ", p->name, k);
	print_mem("before", pid);
	for (i = 0; i < k; i++) {
		if ((fds[i] = peer_open(p, target)) == -1 ||
		    echo_byte(fds[i]) == -1)
			break;
		opened++;
	}
	nanosleep(&settle, NULL);
	printf(", ");
	print_mem("open", pid);
	for (i = 0; i < opened; i++)
		close(fds[i]);
	if (opened < k && fds[opened] != -1)
		close(fds[opened]);
	nanosleep(&settle, NULL);
	printf(", ");
	print_mem("closed", pid);
	printf(", \"opened\": %d, \"error\": ", opened);
	if (opened < k)
		printf("\"%s\"}\n", err);
	else
		printf("null}\n");
	free(fds);
	return (opened < k);
}

int
main(int argc, char **argv)
{
	struct peer *peers, p;
	int i;

	if (argc < 2)
		usage();
	raise_nofile();
	memset(buf, 'b', sizeof(buf));
	if (strcmp(argv[1], "sink") == 0 && argc == 2)
		return (sink());
	if (strcmp(argv[1], "bulk") == 0 && argc == 6) {
		if (peer_parse(&p, argv[2]) == -1)
			usage();
		return (bulk(&p, atoi(argv[3]), strtoull(argv[4], NULL, 10),
		    strtoull(argv[5], NULL, 10)));
	}
	if (strcmp(argv[1], "connect") == 0 && argc >= 6) {
		peers = xcalloc(argc - 5, sizeof(*peers));
		for (i = 5; i < argc; i++)
			if (peer_parse(&peers[i - 5], argv[i]) == -1)
				usage();
		return (connect_bench(atoi(argv[2]), atoi(argv[3]),
		    atoi(argv[4]), peers, argc - 5));
	}
	if (strcmp(argv[1], "idle") == 0 && argc == 6) {
		if (peer_parse(&p, argv[2]) == -1)
			usage();
		return (idle(&p, atoi(argv[3]), atoi(argv[4]), atoi(argv[5])));
	}
	usage();
}
