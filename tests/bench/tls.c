/*
 * tls: the client and the upstream of the interception benchmark of
 * tests/bench (issue 18).  One client for every peer, so that a
 * tunnelled host and an intercepted one are measured alike.
 *
 *	tls serve CERT KEY
 *	tls bulk PEER TARGET CAFILE MODE BYTES [AUTH]
 *	tls latency COUNT WARMUP NAME=PEER=TARGET=CAFILE[=AUTH] ...
 *	tls idle PEER TARGET CAFILE K PID
 *
 * serve: an HTTPS/1.1 server on 127.0.0.1 at a port of the kernel's
 * choosing, printed on a line, serving until it is killed (one thread,
 * epoll, non-blocking sockets, OpenSSL).  One request per connection:
 *	GET /bytes/N	answers N bytes (Content-Length), then closes
 *	POST /sink	reads a Content-Length body, answers 200 with its
 *			length in decimal
 * Every answer carries X-Auth-Seen: "none" when the request had no
 * Authorization, "secret" when its value, or the credential after its
 * scheme, is the value of the environment's BENCH_SECRET, "other" when
 * it is anything else.  Nothing is recorded.
 *
 * PEER is direct (a TCP connection to TARGET itself) or unix:PATH (an
 * HTTP proxy on a Unix socket: qmsd's agent socket), through which the
 * client sends "CONNECT TARGET HTTP/1.1" and wants a 200.  TARGET is
 * 127.0.0.1:PORT.  The client's TLS verifies the server's chain against
 * CAFILE and its address against TARGET's (no SNI for an address).
 *
 * bulk: one connection, one request: MODE down is GET /bytes/BYTES, up
 * is POST /sink with BYTES, with "Authorization: AUTH" when AUTH is
 * given; the time from the first byte of the request to the last of the
 * answer (the setup, connect to handshake done, apart).
 * latency: COUNT (after WARMUP) samples, the peers in turn (the first one
 * rotating), each a whole new request: connect, CONNECT, its 200, the
 * TLS handshake, GET /bytes/1 with AUTH, the answer read.
 * idle: VmRSS and RssAnon of PID, then K connections opened through PEER
 * to their TLS handshake's end, left idle, PID read again, then closed.
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
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "bench-io.h"

#define BUFSZ		(256 * 1024)
#define HEADSZ		16384

static char	 buf[BUFSZ];		/* what is written */
static char	 rbuf[BUFSZ];		/* what is read */
static char	 err[1024];

enum kind { DIRECT, UNIX };

struct peer {
	const char	*name;
	enum kind	 kind;
	char		 path[108];
	const char	*target;	/* 127.0.0.1:PORT */
	char		 host[64];
	int		 port;
	const char	*cafile;
	const char	*auth;		/* or NULL */
	SSL_CTX		*ctx;
	char		 seen[16];	/* X-Auth-Seen of the last answer */
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
	fprintf(stderr, "usage: tls serve CERT KEY\n"
	    "       tls bulk PEER TARGET CAFILE down|up BYTES [AUTH]\n"
	    "       tls latency COUNT WARMUP NAME=PEER=TARGET=CAFILE[=AUTH] "
	    "...\n"
	    "       tls idle PEER TARGET CAFILE K PID\n"
	    "PEER: direct or unix:PATH; TARGET: 127.0.0.1:PORT\n");
	exit(64);
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

/* The last OpenSSL error, after what. */
static void
ssl_err(const char *what)
{
	unsigned long e = ERR_get_error();
	char s[256];

	if (e == 0)
		snprintf(s, sizeof(s), "%s", errno ? strerror(errno) :
		    "unexpected EOF");
	else
		ERR_error_string_n(e, s, sizeof(s));
	ERR_clear_error();
	snprintf(err, sizeof(err), "%s: %s", what, s);
}

static double
cpu_self(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
}

/* A header's value in the head at h (through its blank line), or NULL;
 * its length in *vlen, blanks trimmed. */
static const char *
header_value(const char *h, size_t hlen, const char *name, size_t *vlen)
{
	const char *p = memchr(h, '\n', hlen), *end = h + hlen, *eol, *v;
	size_t nl = strlen(name);

	while (p != NULL && ++p < end) {
		if ((eol = memchr(p, '\n', end - p)) == NULL)
			break;
		if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 &&
		    p[nl] == ':') {
			v = p + nl + 1;
			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			while (eol > v && (eol[-1] == '\r' ||
			    eol[-1] == ' ' || eol[-1] == '\t'))
				eol--;
			*vlen = eol - v;
			return (v);
		}
		p = eol;
	}
	return (NULL);
}

/* ------------------------------------------------------------ serve */

enum state { HS, HEAD, BODY, WRITE, LINGER };

struct conn {
	int		 fd;
	SSL		*ssl;
	enum state	 state;
	char		 head[HEADSZ];
	size_t		 hlen;
	uint64_t	 body_left, body_got;
	char		 out[512];
	size_t		 olen, ooff;
	uint64_t	 left;		/* body bytes still to write */
	const char	*seen;		/* X-Auth-Seen */
	uint32_t	 events;
};

static const char *secret;

static const char *
auth_seen(const char *h, size_t hlen)
{
	const char *v, *sp;
	size_t vlen, sl;

	if ((v = header_value(h, hlen, "Authorization", &vlen)) == NULL)
		return ("none");
	if (secret == NULL || (sl = strlen(secret)) == 0)
		return ("other");
	if (vlen == sl && memcmp(v, secret, sl) == 0)
		return ("secret");
	if ((sp = memchr(v, ' ', vlen)) != NULL &&
	    (size_t)(v + vlen - sp - 1) == sl && memcmp(sp + 1, secret, sl) == 0)
		return ("secret");
	return ("other");
}

/* The head of a request read: the answer to write, or -1 to close. */
static int
serve_request(struct conn *c, size_t head_len)
{
	const char *seen, *v;
	unsigned long long n;
	size_t vlen, extra = c->hlen - head_len;
	char *end, num[32];

	seen = c->seen = auth_seen(c->head, head_len);
	if (strncmp(c->head, "GET /bytes/", 11) == 0) {
		n = strtoull(c->head + 11, &end, 10);
		if (*end != ' ')
			return (-1);
		c->left = n;
		c->olen = snprintf(c->out, sizeof(c->out), "HTTP/1.1 200 OK\r\n"
		    "Content-Type: application/octet-stream\r\n"
		    "Content-Length: %llu\r\nX-Auth-Seen: %s\r\n"
		    "Connection: close\r\n\r\n", n, seen);
		c->state = WRITE;
		return (0);
	}
	if (strncmp(c->head, "POST /sink ", 11) == 0) {
		if ((v = header_value(c->head, head_len, "Content-Length",
		    &vlen)) == NULL || vlen >= sizeof(num))
			return (-1);
		memcpy(num, v, vlen);
		num[vlen] = '\0';
		n = strtoull(num, &end, 10);
		if (*end != '\0' || extra > n)
			return (-1);
		c->body_left = n - extra;
		c->body_got = extra;
		c->state = BODY;
		return (0);
	}
	c->left = 0;
	c->olen = snprintf(c->out, sizeof(c->out), "HTTP/1.1 404 Not Found\r\n"
	    "Content-Length: 0\r\nX-Auth-Seen: %s\r\nConnection: close\r\n\r\n",
	    seen);
	c->state = WRITE;
	return (0);
}

/* Progress as far as the sockets let: the events wanted, or 0 to close. */
static uint32_t
serve_io(struct conn *c)
{
	char *end, count[32];
	size_t want;
	int r = 0, e;

	for (;;) {
		ERR_clear_error();
		switch (c->state) {
		case HS:
			if ((r = SSL_accept(c->ssl)) == 1) {
				c->state = HEAD;
				continue;
			}
			break;
		case HEAD:
			r = SSL_read(c->ssl, c->head + c->hlen,
			    sizeof(c->head) - 1 - c->hlen);
			if (r <= 0)
				break;
			c->hlen += r;
			c->head[c->hlen] = '\0';
			if ((end = strstr(c->head, "\r\n\r\n")) != NULL) {
				if (serve_request(c, end + 4 - c->head) == -1)
					return (0);
				if (c->state == BODY && c->body_left == 0)
					goto answer;
				continue;
			}
			if (c->hlen == sizeof(c->head) - 1)
				return (0);
			continue;
		case BODY:
			want = c->body_left < sizeof(rbuf) ? c->body_left :
			    sizeof(rbuf);
			if ((r = SSL_read(c->ssl, rbuf, want)) <= 0)
				break;
			c->body_left -= r;
			c->body_got += r;
			if (c->body_left > 0)
				continue;
answer:
			snprintf(count, sizeof(count), "%llu",
			    (unsigned long long)c->body_got);
			c->olen = snprintf(c->out, sizeof(c->out),
			    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
			    "Content-Length: %zu\r\nX-Auth-Seen: %s\r\n"
			    "Connection: close\r\n\r\n%s", strlen(count),
			    c->seen, count);
			c->left = 0;
			c->state = WRITE;
			continue;
		case WRITE:
			if (c->ooff < c->olen) {
				r = SSL_write(c->ssl, c->out + c->ooff,
				    c->olen - c->ooff);
				if (r > 0)
					c->ooff += r;
			} else if (c->left > 0) {
				want = c->left < sizeof(buf) ? c->left :
				    sizeof(buf);
				r = SSL_write(c->ssl, buf, want);
				if (r > 0)
					c->left -= r;
			} else {
				/* close_notify, then wait for the client's
				 * end, so that no reset cuts the answer */
				SSL_shutdown(c->ssl);
				shutdown(c->fd, SHUT_WR);
				c->state = LINGER;
				continue;
			}
			if (r <= 0)
				break;
			continue;
		case LINGER:
			while ((r = read(c->fd, rbuf, sizeof(rbuf))) > 0)
				;
			if (r == -1 && errno == EAGAIN)
				return (EPOLLIN);
			return (0);
		}
		e = SSL_get_error(c->ssl, r);
		if (e == SSL_ERROR_WANT_READ)
			return (EPOLLIN);
		if (e == SSL_ERROR_WANT_WRITE)
			return (EPOLLOUT);
		return (0);
	}
}

static int
serve(const char *cert, const char *key)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	struct epoll_event ev, evs[64];
	SSL_CTX *ctx;
	int lfd, ep, n, i, fd, one = 1;
	uint32_t want;

	secret = getenv("BENCH_SECRET");
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL ||
	    SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		ssl_err("serve: certificate or key");
		fprintf(stderr, "%s\n", err);
		return (1);
	}
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1 ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(lfd, 4096) == -1 ||
	    getsockname(lfd, (struct sockaddr *)&sin, &len) == -1) {
		perror("serve");
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
					if ((c->ssl = SSL_new(ctx)) == NULL) {
						close(fd);
						free(c);
						continue;
					}
					SSL_set_fd(c->ssl, fd);
					c->events = EPOLLIN;
					ev.events = EPOLLIN;
					ev.data.ptr = c;
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
				}
				continue;
			}
			if ((want = serve_io(c)) == 0) {
				SSL_free(c->ssl);
				close(c->fd);	/* leaves the epoll set */
				free(c);
				continue;
			}
			if (want != c->events) {
				ev.events = want;
				ev.data.ptr = c;
				epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
				c->events = want;
			}
		}
	}
}

/* ------------------------------------------------------------ client */

static int
peer_init(struct peer *p, const char *spec, const char *target,
    const char *cafile, const char *auth)
{
	const char *colon;
	X509_VERIFY_PARAM *vp;

	if (strcmp(spec, "direct") == 0)
		p->kind = DIRECT;
	else if (strncmp(spec, "unix:", 5) == 0 &&
	    strlen(spec + 5) < sizeof(p->path)) {
		p->kind = UNIX;
		strcpy(p->path, spec + 5);
	} else
		return (-1);
	if ((colon = strrchr(target, ':')) == NULL ||
	    colon - target >= (int)sizeof(p->host))
		return (-1);
	memcpy(p->host, target, colon - target);
	p->host[colon - target] = '\0';
	if ((p->port = atoi(colon + 1)) <= 0)
		return (-1);
	p->target = target;
	p->cafile = cafile;
	p->auth = auth != NULL && *auth != '\0' ? auth : NULL;
	if ((p->ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_load_verify_locations(p->ctx, cafile, NULL) != 1) {
		ssl_err(cafile);
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	SSL_CTX_set_verify(p->ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_min_proto_version(p->ctx, TLS1_2_VERSION);
	vp = SSL_CTX_get0_param(p->ctx);
	if (X509_VERIFY_PARAM_set1_ip_asc(vp, p->host) != 1 &&
	    X509_VERIFY_PARAM_set1_host(vp, p->host, 0) != 1) {
		fprintf(stderr, "%s: no host check\n", p->host);
		exit(1);
	}
	return (0);
}

static int
write_all(int fd, const void *v, size_t n)
{
	const char *c = v;
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

static int
sock_connect(const struct peer *p)
{
	struct sockaddr_in sin;
	struct timeval tv = { 60, 0 };
	int fd, one = 1, r;

	if (p->kind == DIRECT) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons(p->port);
		if (inet_pton(AF_INET, p->host, &sin.sin_addr) != 1) {
			snprintf(err, sizeof(err), "bad address %s", p->host);
			return (-1);
		}
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		r = fd == -1 ? -1 : connect(fd, (struct sockaddr *)&sin,
		    sizeof(sin));
		if (fd != -1)
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
			    sizeof(one));
	} else {
		fd = unix_connect(p->path);
		r = fd == -1 ? -1 : 0;
	}
	if (fd == -1 || r == -1) {
		snprintf(err, sizeof(err), "%s: connect: %s", p->name,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return (-1);
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return (fd);
}

/*
 * A socket to the target through p: connect, and through a proxy
 * CONNECT and its 200, read to its blank line and no further (the
 * server never speaks first, so a byte after it is an error).
 */
static int
peer_open(const struct peer *p)
{
	char req[256], ans[4096], *end;
	size_t have = 0;
	ssize_t r;
	int fd, n;

	if ((fd = sock_connect(p)) == -1 || p->kind == DIRECT)
		return (fd);
	n = snprintf(req, sizeof(req), "CONNECT %s HTTP/1.1\r\n"
	    "Host: %s\r\n\r\n", p->target, p->target);
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

/* The tunnel, then TLS over it, verified; NULL with err set. */
static SSL *
tls_open(const struct peer *p, int *fdp)
{
	SSL *ssl;
	char what[256];
	long v;

	if ((*fdp = peer_open(p)) == -1)
		return (NULL);
	if ((ssl = SSL_new(p->ctx)) == NULL) {
		ssl_err("SSL_new");
		goto fail;
	}
	SSL_set_fd(ssl, *fdp);
	ERR_clear_error();
	if (SSL_connect(ssl) != 1) {
		v = SSL_get_verify_result(ssl);
		snprintf(what, sizeof(what), "%s: handshake%s%s", p->name,
		    v != X509_V_OK ? ": " : "", v != X509_V_OK ?
		    X509_verify_cert_error_string(v) : "");
		ssl_err(what);
		SSL_free(ssl);
		goto fail;
	}
	return (ssl);
fail:
	close(*fdp);
	*fdp = -1;
	return (NULL);
}

static int
tls_write_all(SSL *ssl, const char *name, const void *v, size_t n)
{
	const char *c = v;
	char what[128];
	int w;

	while (n > 0) {
		ERR_clear_error();
		if ((w = SSL_write(ssl, c, n > INT32_MAX ? INT32_MAX : n)) <= 0) {
			snprintf(what, sizeof(what), "%s: write", name);
			ssl_err(what);
			return (-1);
		}
		c += w;
		n -= w;
	}
	return (0);
}

/*
 * One request on ssl: down, GET /bytes/BYTES; up, POST /sink with BYTES.
 * The answer read whole and checked; its X-Auth-Seen in p->seen.
 */
static int
request(struct peer *p, SSL *ssl, int up, uint64_t bytes)
{
	char head[1024], *end, num[32];
	const char *v;
	size_t have = 0, hl, vlen, extra;
	uint64_t len, got, sent = 0, want;
	int n, r;

	if (up)
		n = snprintf(head, sizeof(head), "POST /sink HTTP/1.1\r\n"
		    "Host: %s\r\nUser-Agent: qmsd-bench\r\n%s%s%s"
		    "Content-Type: application/octet-stream\r\n"
		    "Content-Length: %llu\r\n", p->target,
		    p->auth ? "Authorization: " : "", p->auth ? p->auth : "",
		    p->auth ? "\r\n" : "", (unsigned long long)bytes);
	else
		n = snprintf(head, sizeof(head), "GET /bytes/%llu HTTP/1.1\r\n"
		    "Host: %s\r\nUser-Agent: qmsd-bench\r\n%s%s%s",
		    (unsigned long long)bytes, p->target,
		    p->auth ? "Authorization: " : "", p->auth ? p->auth : "",
		    p->auth ? "\r\n" : "");
	if ((size_t)n >= sizeof(head) - 3) {
		snprintf(err, sizeof(err), "%s: request head too long",
		    p->name);
		return (-1);
	}
	memcpy(head + n, "\r\n", 3);
	if (tls_write_all(ssl, p->name, head, n + 2) == -1)
		return (-1);
	while (up && sent < bytes) {
		want = bytes - sent < sizeof(buf) ? bytes - sent : sizeof(buf);
		if (tls_write_all(ssl, p->name, buf, want) == -1)
			return (-1);
		sent += want;
	}
	/* the answer's head */
	for (;;) {
		ERR_clear_error();
		if ((r = SSL_read(ssl, rbuf + have, HEADSZ - have)) <= 0) {
			snprintf(head, sizeof(head), "%s: the answer's head "
			    "after %zu bytes", p->name, have);
			ssl_err(head);
			return (-1);
		}
		have += r;
		rbuf[have] = '\0';
		if ((end = strstr(rbuf, "\r\n\r\n")) != NULL)
			break;
		if (have == HEADSZ) {
			snprintf(err, sizeof(err), "%s: answer head too long",
			    p->name);
			return (-1);
		}
	}
	hl = end + 4 - rbuf;
	extra = have - hl;
	if (strncmp(rbuf, "HTTP/1.1 200 ", 13) != 0) {
		rbuf[strcspn(rbuf, "\r")] = '\0';
		snprintf(err, sizeof(err), "%s: answered \"%.200s\"", p->name,
		    rbuf);
		return (-1);
	}
	if ((v = header_value(rbuf, hl, "X-Auth-Seen", &vlen)) == NULL ||
	    vlen >= sizeof(p->seen))
		snprintf(p->seen, sizeof(p->seen), "missing");
	else {
		memcpy(p->seen, v, vlen);
		p->seen[vlen] = '\0';
	}
	if ((v = header_value(rbuf, hl, "Content-Length", &vlen)) == NULL ||
	    vlen >= sizeof(num)) {
		snprintf(err, sizeof(err), "%s: no Content-Length", p->name);
		return (-1);
	}
	memcpy(num, v, vlen);
	num[vlen] = '\0';
	len = strtoull(num, NULL, 10);
	if (up) {
		/* the body is the count the server read: keep it */
		if (len >= sizeof(num) || extra > len) {
			snprintf(err, sizeof(err), "%s: bad answer", p->name);
			return (-1);
		}
		memmove(num, rbuf + hl, extra);
		got = extra;
		while (got < len) {
			if ((r = SSL_read(ssl, num + got, len - got)) <= 0) {
				ssl_err("the sink's count");
				return (-1);
			}
			got += r;
		}
		num[len] = '\0';
		if (strtoull(num, NULL, 10) != bytes) {
			snprintf(err, sizeof(err), "%s: the sink read %s "
			    "bytes, not %llu", p->name, num,
			    (unsigned long long)bytes);
			return (-1);
		}
		return (0);
	}
	if (len != bytes || extra > len) {
		snprintf(err, sizeof(err), "%s: Content-Length %llu, not %llu",
		    p->name, (unsigned long long)len,
		    (unsigned long long)bytes);
		return (-1);
	}
	got = extra;
	while (got < len) {
		want = len - got < sizeof(rbuf) ? len - got : sizeof(rbuf);
		ERR_clear_error();
		if ((r = SSL_read(ssl, rbuf, want)) <= 0) {
			snprintf(head, sizeof(head), "%s: after %llu of %llu "
			    "bytes", p->name, (unsigned long long)got,
			    (unsigned long long)len);
			ssl_err(head);
			return (-1);
		}
		got += r;
	}
	return (0);
}

static void
tls_close(SSL *ssl, int fd)
{
	SSL_shutdown(ssl);
	SSL_free(ssl);
	close(fd);
}

static int
bulk(struct peer *p, int up, uint64_t bytes)
{
	double ts, t0, t1, c0;
	SSL *ssl;
	int fd;

	ts = now_us();
	if ((ssl = tls_open(p, &fd)) == NULL)
		goto fail;
	t0 = now_us();
	c0 = cpu_self();
	if (request(p, ssl, up, bytes) == -1) {
		tls_close(ssl, fd);
		goto fail;
	}
	t1 = now_us();
	tls_close(ssl, fd);
	printf("{\"peer\": \"%s\", \"mode\": \"%s\", \"bytes\": %llu, "
	    "\"seconds\": %.6f, \"setup_us\": %.1f, \"client_cpu_s\": %.6f, "
	    "\"auth_seen\": \"%s\", \"error\": null}\n", p->name,
	    up ? "up" : "down", (unsigned long long)bytes, (t1 - t0) / 1e6,
	    t0 - ts, cpu_self() - c0, p->seen);
	return (0);
fail:
	printf("{\"peer\": \"%s\", \"mode\": \"%s\", \"bytes\": %llu, "
	    "\"error\": ", p->name, up ? "up" : "down",
	    (unsigned long long)bytes);
	json_str(err);
	printf("}\n");
	return (1);
}

static int
latency(int count, int warmup, struct peer *peers, int npeers)
{
	double *lat, t0;
	SSL *ssl;
	int i, j, k, fd, errors = 0;

	lat = xcalloc((size_t)count * npeers + 1, sizeof(*lat));
	for (i = 0; i < warmup + count && !errors; i++) {
		for (k = 0; k < npeers; k++) {
			j = (i + k) % npeers;
			t0 = now_us();
			if ((ssl = tls_open(&peers[j], &fd)) == NULL) {
				errors++;
				break;
			}
			if (request(&peers[j], ssl, 0, 1) == -1) {
				tls_close(ssl, fd);
				errors++;
				break;
			}
			if (i >= warmup)
				lat[(size_t)j * count + i - warmup] =
				    now_us() - t0;
			tls_close(ssl, fd);
		}
	}
	printf("{\"peers\": {");
	for (j = 0; j < npeers && !errors; j++) {
		printf("%s\"%s\": [", j ? ", " : "", peers[j].name);
		for (i = 0; i < count; i++)
			printf("%s%.1f", i ? ", " : "",
			    lat[(size_t)j * count + i]);
		printf("]");
	}
	printf("}, \"auth_seen\": {");
	for (j = 0; j < npeers; j++)
		printf("%s\"%s\": \"%s\"", j ? ", " : "", peers[j].name,
		    peers[j].seen);
	printf("}, \"errors\": %d, \"first_error\": ", errors);
	if (errors)
		json_str(err);
	else
		printf("null");
	printf("}\n");
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
	printf("\"%s\": {\"rss_kib\": %ld, \"anon_kib\": %ld}", label,
	    status_kib(pid, "VmRSS"), status_kib(pid, "RssAnon"));
}

static int
idle(struct peer *p, int k, int pid)
{
	struct timespec settle = { 0, 300 * 1000 * 1000 };
	SSL **ssl;
	int *fds, i, opened = 0;

	fds = xcalloc(k, sizeof(*fds));
	ssl = xcalloc(k, sizeof(*ssl));
	printf("{\"peer\": \"%s\", \"k\": %d, ", p->name, k);
	print_mem("before", pid);
	for (i = 0; i < k; i++) {
		if ((ssl[i] = tls_open(p, &fds[i])) == NULL)
			break;
		opened++;
	}
	nanosleep(&settle, NULL);
	printf(", ");
	print_mem("open", pid);
	for (i = 0; i < opened; i++)
		tls_close(ssl[i], fds[i]);
	nanosleep(&settle, NULL);
	printf(", ");
	print_mem("closed", pid);
	printf(", \"opened\": %d, \"error\": ", opened);
	if (opened < k)
		json_str(err);
	else
		printf("null");
	printf("}\n");
	free(ssl);
	free(fds);
	return (opened < k);
}

/* NAME=PEER=TARGET=CAFILE[=AUTH]: AUTH is the rest, '=' and all. */
static int
latency_peer(struct peer *p, char *s)
{
	char *f[4], *auth = NULL;
	int i;

	for (i = 0; i < 4; i++) {
		f[i] = s;
		if ((s = strchr(s, '=')) == NULL)
			break;
		*s++ = '\0';
	}
	if (i < 3)
		return (-1);
	if (i == 4)
		auth = s;
	p->name = f[0];
	return (peer_init(p, f[1], f[2], f[3], auth));
}

int
main(int argc, char **argv)
{
	struct peer *peers, p;
	int i;

	if (argc < 2)
		usage();
	signal(SIGPIPE, SIG_IGN);
	memset(buf, 'b', sizeof(buf));
	if (strcmp(argv[1], "serve") == 0 && argc == 4) {
		raise_nofile();
		return (serve(argv[2], argv[3]));
	}
	if (strcmp(argv[1], "bulk") == 0 && (argc == 7 || argc == 8)) {
		memset(&p, 0, sizeof(p));
		p.name = argv[2];
		if (peer_init(&p, argv[2], argv[3], argv[4], argc == 8 ?
		    argv[7] : NULL) == -1 || (strcmp(argv[5], "down") != 0 &&
		    strcmp(argv[5], "up") != 0))
			usage();
		return (bulk(&p, strcmp(argv[5], "up") == 0,
		    strtoull(argv[6], NULL, 10)));
	}
	if (strcmp(argv[1], "idle") == 0 && argc == 7) {
		memset(&p, 0, sizeof(p));
		p.name = argv[2];
		if (peer_init(&p, argv[2], argv[3], argv[4], NULL) == -1)
			usage();
		raise_nofile();
		return (idle(&p, atoi(argv[5]), atoi(argv[6])));
	}
	if (strcmp(argv[1], "latency") == 0 && argc >= 5) {
		peers = xcalloc(argc - 4, sizeof(*peers));
		for (i = 4; i < argc; i++)
			if (latency_peer(&peers[i - 4], argv[i]) == -1)
				usage();
		return (latency(atoi(argv[2]), atoi(argv[3]), peers,
		    argc - 4));
	}
	usage();
}
