/*
 * The egress proxy: see egress-proxy.h.
 *
 * A connection goes through these states, each under one deadline:
 *
 *	HEAD	the request head is read (EGRESS_HEAD_MS), parsed
 *		(egress-request.h) and matched (egress-policy.h)
 *	RESOLVE	a name is resolved by evdns, each address checked
 *	CONNECT	the addresses allowed are tried in turn
 *		(RESOLVE and CONNECT together: egress-connect-timeout)
 *	PUMP	bytes both ways (egress-idle-timeout without a byte ends it)
 *	ANSWER	a refusal or failure is written, the rest of what the
 *		client sent read and dropped, and the connection closed
 *		(EGRESS_LINGER_MS)
 *
 * While resolving and connecting the client's end is watched for its
 * leaving (EV_CLOSED), which cancels the work.  Bytes move with splice(2)
 * through a pipe for each direction, never through this process's memory;
 * a direction reads from its source only while its pipe has room, so a
 * slow reader at one end stops the writer at the other (and no one else),
 * and at most EGRESS_BURST rounds move a turn, so a fast tunnel cannot
 * hold the loop.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include "argv.h"
#include "config.h"
#include "audit-log.h"
#include "egress-audit.h"
#include "egress-ca.h"
#include "egress-intercept.h"
#include "egress-policy.h"
#include "egress-proxy.h"
#include "egress-request.h"
#include "log.h"
#include "util.h"

#define EGRESS_HEAD_MS		10000	/* for the whole request head */
#define EGRESS_LINGER_MS	5000	/* to write a refusal and drain */
#define EGRESS_PIPE		(1024 * 1024)	/* each direction's */
#define EGRESS_BURST		8	/* rounds a direction moves a turn */
#define EGRESS_MAX_ADDRS	8
/*
 * Connections of one agent that are not tunnels: a head being read, or an
 * answer being written and drained.  Past it a new one is closed at once:
 * else an agent opening connections that send half a head (each holding a
 * descriptor and a head's buffer for EGRESS_HEAD_MS) runs qmsd out of
 * descriptors, for every agent and the host.
 */
#define EGRESS_MAX_WAITING	64

/* An agent's allow-list and limits, as configured when a request came. */
struct epolicy {
	int			 refs;
	struct egress_list	 list;
	long long		 max_tunnels;
	uint64_t		 connect_ms;
	uint64_t		 idle_ms;
	/* The agent's secrets: their hosts are intercepted. */
	struct secret_rule	 rules[SECRET_MAX_PER_AGENT];
	size_t			 nrules;
	char			**repos;	/* secret-repos, or NULL */
	char			**push_refs;	/* secret-push-refs */
};

struct eagent {
	TAILQ_ENTRY(eagent)	 entry;
	char			 name[64];
	int			 refs;		/* tunnels, and the table */
	int			 open;		/* tunnels counted against max */
	int			 waiting;	/* HEAD to decided, and ANSWER */
	struct epolicy		*pol;
};
TAILQ_HEAD(eagents, eagent);

/* One direction of a tunnel: src to dst through a pipe. */
struct edir {
	int			 src, dst;
	int			 pipe[2];
	size_t			 inpipe;
	size_t			 cap;		/* the pipe's size */
	char			*pend;		/* sent before the pipe */
	size_t			 pend_len, pend_off;
	long long		 left;		/* still to pass, -1: to EOF */
	int			 eof;		/* src said all */
	int			 noshut;	/* at the end, keep dst open */
	int			 done;
	uint64_t		 bytes;
	struct event		*rd, *wr;
};

enum estate { T_HEAD, T_RESOLVE, T_CONNECT, T_PUMP, T_INTERCEPT, T_ANSWER };

/*
 * What a name's resolution reports to: the tunnel, or NULL once it went.
 * evdns tells of a cancel later, never at once, so the tunnel cannot
 * wait for that; this small ticket does.
 */
struct dnsq {
	struct tunnel		*t;
};

struct tunnel {
	TAILQ_ENTRY(tunnel)	 entry;
	struct eagent		*ag;
	struct epolicy		*pol;
	enum estate		 state;
	int			 cfd, ufd;
	int			 plain;		/* absolute-form, not CONNECT */
	char			*head;		/* HEAD to CONNECT */
	size_t			 hlen;
	struct egress_request	*req;
	struct egress_target	 target;
	char			 method[16];
	char			 authority[EGRESS_MAX_AUTHORITY + 1];
	char			 address[INET6_ADDRSTRLEN + 8];
	struct evdns_getaddrinfo_request *dns;
	struct dnsq		*dnsq;
	struct sockaddr_storage	 addrs[EGRESS_MAX_ADDRS];
	socklen_t		 addrlens[EGRESS_MAX_ADDRS];
	int			 naddrs, next;
	int			 counted;	/* in ag->open */
	int			 waiting;	/* in ag->waiting */
	int			 status;
	char			 error[300];	/* the last connect error */
	struct event		*crd;		/* HEAD and ANSWER: client */
	struct event		*gone;		/* RESOLVE, CONNECT: EV_CLOSED */
	struct event		*uwr;		/* CONNECT: upstream writable */
	struct event		*timer;
	struct edir		 up, down;	/* agent to upstream, back */
	struct intercept	*ic;		/* T_INTERCEPT */
	char			 norm[EGRESS_MAX_AUTHORITY + 3];	/* T_INTERCEPT */
	int			 okfd;		/* T_INTERCEPT: the 200's */
	/* The decision's record, until on disk (audit-log.h). */
	struct audit_wait	*aw;
	int			 recorded;	/* one went to the audit log */
	uint64_t		 start, last;	/* ms */
};

static struct event_base	*e_base;
static struct evdns_base	*e_dns;
static struct eagents		 e_agents = TAILQ_HEAD_INITIALIZER(e_agents);
static TAILQ_HEAD(, tunnel)	 e_tunnels = TAILQ_HEAD_INITIALIZER(e_tunnels);

static void	tunnel_free(struct tunnel *);
static void	tunnel_answer(struct tunnel *, int status, const char *rule,
		    const char *reason);
static void	answer_recorded(void *, const char *);
static void	pump_begin(void *, const char *);
static void	intercept_recorded(void *, const char *);
static void	try_connect(struct tunnel *);
static void	dir_pump(struct tunnel *, struct edir *);

static void
policy_unref(struct epolicy *p)
{
	if (p == NULL || --p->refs > 0)
		return;
	argv_free(p->repos);
	argv_free(p->push_refs);
	free(p);
}

static void
agent_unref(struct eagent *a)
{
	if (--a->refs > 0)
		return;
	policy_unref(a->pol);
	free(a);
}

static void
arm(struct event *ev, uint64_t ms)
{
	struct timeval	tv;

	timeval_ms(&tv, ms);
	evtimer_add(ev, &tv);
}

/*
 * A record to qmsctl egress and the journal (egress-audit.h), unless
 * audit_only, and to the audit log: done(t, error) once it is on disk,
 * for a decision whose effect waits for that (NULL: none does).
 */
static void
record_as(struct tunnel *t, const char *event, const char *rule,
    const char *reason, audit_done done, int audit_only)
{
	struct egress_record	r;

	memset(&r, 0, sizeof(r));
	clock_gettime(CLOCK_REALTIME, &r.time);
	r.agent = t->ag->name;
	r.event = event;
	r.method = t->method[0] != '\0' ? t->method : "-";
	r.target = t->authority[0] != '\0' ? t->authority : "-";
	r.address = t->address[0] != '\0' ? t->address : NULL;
	r.status = t->status;
	r.rule = rule;
	r.reason = reason;
	r.bytes_up = t->up.bytes;
	r.bytes_down = t->down.bytes;
	if (t->ic != NULL)
		intercept_bytes(t->ic, &r.bytes_up, &r.bytes_down);
	r.duration_ms = now_ms() - t->start;
	if (!audit_only)
		egress_audit_record(&r);
	/*
	 * The end of a tunnel nothing was recorded for (refused past the
	 * agent's share, or left while its name resolved) is not the audit
	 * log's: nothing waits for it, so it would be a record an agent
	 * could make without bound.
	 */
	if (done == NULL && !t->recorded)
		return;
	t->recorded = 1;
	audit_forget(t->aw);
	t->aw = audit_record("egress", egress_audit_fields(&r), done, t);
}

static void
record(struct tunnel *t, const char *event, const char *rule,
    const char *reason, audit_done done)
{
	record_as(t, event, rule, reason, done, 0);
}

static void
allowed_recorded(void *arg, const char *error)
{
	struct tunnel	*t = arg;

	t->aw = NULL;
	if (error != NULL) {
		tunnel_answer(t, 503, "audit", error);
		return;
	}
	try_connect(t);
}

/*
 * Allowed, and where to: in the audit log before anything is connected
 * to (a connection is itself an effect the agent chose).  "open" follows
 * once connected, as in qmsctl egress, which this one is not shown in.
 */
static void
connect_once_recorded(struct tunnel *t)
{
	record_as(t, "allowed", NULL, "allowed: connecting", allowed_recorded,
	    1);
}

/* In or out of the agent's count of connections that are not tunnels. */
static void
set_waiting(struct tunnel *t, int on)
{
	if (t->waiting == on)
		return;
	t->waiting = on;
	t->ag->waiting += on ? 1 : -1;
}

/* Out of the agent's count of open tunnels (once). */
static void
uncount(struct tunnel *t)
{
	if (!t->counted)
		return;
	t->counted = 0;
	t->ag->open--;
	egress_audit_open(t->ag->name, -1);
}

static void
free_event(struct event **ev)
{
	if (*ev != NULL)
		event_free(*ev);
	*ev = NULL;
}

static void
dir_free(struct edir *d)
{
	free_event(&d->rd);
	free_event(&d->wr);
	if (d->pipe[0] != -1)
		close(d->pipe[0]);
	if (d->pipe[1] != -1)
		close(d->pipe[1]);
	d->pipe[0] = d->pipe[1] = -1;
	free(d->pend);
	d->pend = NULL;
}

/* Resolution no longer wanted: its answer will go nowhere. */
static void
drop_dns(struct tunnel *t)
{
	if (t->dnsq == NULL)
		return;
	t->dnsq->t = NULL;
	if (t->dns != NULL)
		evdns_getaddrinfo_cancel(t->dns);
	t->dnsq = NULL;
	t->dns = NULL;
}

static void
tunnel_free(struct tunnel *t)
{
	drop_dns(t);
	TAILQ_REMOVE(&e_tunnels, t, entry);
	audit_forget(t->aw);
	uncount(t);
	set_waiting(t, 0);
	free_event(&t->crd);
	free_event(&t->gone);
	free_event(&t->uwr);
	free_event(&t->timer);
	dir_free(&t->up);
	dir_free(&t->down);
	intercept_free(t->ic);
	if (t->cfd != -1)
		close(t->cfd);
	if (t->ufd != -1)
		close(t->ufd);
	free(t->head);
	free(t->req);
	policy_unref(t->pol);
	agent_unref(t->ag);
	free(t);
}

/* The tunnel ends: recorded with what it moved, then freed. */
static void
tunnel_close(struct tunnel *t, const char *why)
{
	record(t, "closed", NULL, why, NULL);
	tunnel_free(t);
}

/* ---- ANSWER: a refusal, written, then the rest drained ---- */

static void
on_linger(evutil_socket_t fd, short ev, void *arg)
{
	struct tunnel	*t = arg;
	char		 buf[4096];
	ssize_t		 n;
	int		 i;

	if (ev & EV_TIMEOUT) {
		tunnel_free(t);
		return;
	}
	/*
	 * Read and drop: closing on unread bytes would reset the answer.  At
	 * most EGRESS_BURST reads a turn: a client that sends as fast as we
	 * read would otherwise keep the loop here until EGRESS_LINGER_MS.
	 */
	for (i = 0; i < EGRESS_BURST; i++)
		if ((n = recv(fd, buf, sizeof(buf), 0)) <= 0)
			break;
	if (i == EGRESS_BURST)
		return;
	if (n == 0 || (errno != EAGAIN && errno != EINTR))
		tunnel_free(t);
}

static void
on_answer_written(evutil_socket_t fd, short ev, void *arg)
{
	struct tunnel	*t = arg;
	struct edir	*d = &t->down;
	ssize_t		 n;

	if (ev & EV_TIMEOUT) {
		tunnel_free(t);
		return;
	}
	while (d->pend_off < d->pend_len) {
		n = send(fd, d->pend + d->pend_off, d->pend_len - d->pend_off,
		    MSG_NOSIGNAL);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			tunnel_free(t);
			return;
		}
		d->pend_off += (size_t)n;
	}
	shutdown(fd, SHUT_WR);
	free_event(&d->wr);
	free_event(&t->crd);
	t->crd = event_new(e_base, t->cfd, EV_READ | EV_PERSIST, on_linger, t);
	event_add(t->crd, NULL);
}

static const char *
status_text(int status)
{
	switch (status) {
	case 400: return ("Bad Request");
	case 403: return ("Forbidden");
	case 429: return ("Too Many Requests");
	case 431: return ("Request Header Fields Too Large");
	case 501: return ("Not Implemented");
	case 502: return ("Bad Gateway");
	case 504: return ("Gateway Timeout");
	default: return ("Error");
	}
}

/*
 * Answer status with reason, record it (denied before a connection was
 * allowed, failed after), and close once written.  Never writes here:
 * the caller may be deep in a callback that still uses t.
 */
static void
tunnel_answer(struct tunnel *t, int status, const char *rule,
    const char *reason)
{
	char	body[1024];
	int	n;

	t->status = status;
	record(t, t->counted ? "failed" : "denied", rule, reason,
	    answer_recorded);
	uncount(t);
	set_waiting(t, 1);
	drop_dns(t);
	t->state = T_ANSWER;
	free_event(&t->crd);
	free_event(&t->gone);
	free_event(&t->uwr);
	if (t->ufd != -1) {
		close(t->ufd);
		t->ufd = -1;
	}
	snprintf(body, sizeof(body), "qmsd: %s\n", reason);
	free(t->down.pend);
	n = asprintf(&t->down.pend, "HTTP/1.1 %d %s\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Length: %zu\r\n"
	    "Connection: close\r\n"
	    "X-Qmsd-Egress: %s\r\n"
	    "\r\n%s", status, status_text(status), strlen(body),
	    rule != NULL ? rule : "error", body);
	if (n == -1)
		fatal("asprintf");
	t->down.pend_len = (size_t)n;
	t->down.pend_off = 0;
	t->down.wr = event_new(e_base, t->cfd, EV_WRITE | EV_PERSIST,
	    on_answer_written, t);
	evtimer_del(t->timer);
	event_assign(t->timer, e_base, -1, 0, on_answer_written, t);
	/* Written once its record is on disk (answer_recorded). */
}

/* The refusal is on disk: written now, if it fails meanwhile or not. */
static void
answer_recorded(void *arg, const char *error)
{
	struct tunnel	*t = arg;

	t->aw = NULL;
	event_add(t->down.wr, NULL);
	arm(t->timer, EGRESS_LINGER_MS);
}

/* ---- PUMP ---- */

/* Both ways done (a tunnel), or the answer in (plain HTTP): the end. */
static void
check_done(struct tunnel *t)
{
	if (t->down.done && (t->up.done || t->plain))
		tunnel_close(t, "done");
}

/*
 * Move what can be moved now: what is pending, then from the pipe to dst
 * and from src into the pipe, as long as either makes progress (at most
 * EGRESS_BURST rounds a turn).  Then wait for what would let it go on:
 * src readable while the pipe has room, dst writable while anything is
 * left to write.  A stuck dst fills the pipe and stops src there.
 */
static void
dir_pump(struct tunnel *t, struct edir *d)
{
	ssize_t		n;
	size_t		room;
	int		round, moved, rblock = 0, wblock = 0;

	for (round = 0; round < EGRESS_BURST; round++) {
		moved = 0;
		if (d->pend_off < d->pend_len) {
			n = send(d->dst, d->pend + d->pend_off, d->pend_len -
			    d->pend_off, MSG_NOSIGNAL);
			if (n == -1 && errno != EAGAIN && errno != EINTR) {
				tunnel_close(t, strerror(errno));
				return;
			}
			if (n > 0) {
				d->pend_off += (size_t)n;
				moved = 1;
			} else
				wblock = 1;
		} else if (d->inpipe > 0 && !wblock) {
			n = splice(d->pipe[0], NULL, d->dst, NULL, d->inpipe,
			    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n == -1 && errno != EAGAIN && errno != EINTR) {
				tunnel_close(t, strerror(errno));
				return;
			}
			if (n > 0) {
				d->inpipe -= (size_t)n;
				moved = 1;
			} else
				wblock = 1;
		}
		room = d->cap - d->inpipe;
		if (!d->eof && d->left != 0 && room > 0 && !rblock) {
			if (d->left > 0 && (size_t)d->left < room)
				room = (size_t)d->left;
			n = splice(d->src, NULL, d->pipe[1], NULL, room,
			    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n == -1 && errno != EAGAIN && errno != EINTR) {
				tunnel_close(t, strerror(errno));
				return;
			}
			if (n == 0)
				d->eof = 1;
			else if (n > 0) {
				d->inpipe += (size_t)n;
				d->bytes += (uint64_t)n;
				if (d->left > 0)
					d->left -= n;
				moved = 1;
			} else
				rblock = 1;
		}
		if (moved)
			t->last = now_ms();
		else
			break;
	}
	if ((d->eof || d->left == 0) && d->inpipe == 0 &&
	    d->pend_off == d->pend_len) {
		if (!d->done) {
			event_del(d->rd);
			event_del(d->wr);
			if (!d->noshut)
				shutdown(d->dst, SHUT_WR);
			d->done = 1;
			check_done(t);
		}
		return;
	}
	if (!d->eof && d->left != 0 && d->inpipe < d->cap)
		event_add(d->rd, NULL);
	else
		event_del(d->rd);
	if (d->inpipe > 0 || d->pend_off < d->pend_len)
		event_add(d->wr, NULL);
	else
		event_del(d->wr);
}

static void
on_up(evutil_socket_t fd, short ev, void *arg)
{
	struct tunnel	*t = arg;

	dir_pump(t, &t->up);
}

static void
on_down(evutil_socket_t fd, short ev, void *arg)
{
	struct tunnel	*t = arg;

	dir_pump(t, &t->down);
}

static void
on_idle(evutil_socket_t fd, short ev, void *arg)
{
	struct tunnel	*t = arg;
	uint64_t	 quiet = now_ms() - t->last;
	char		 why[128];

	if (quiet < t->pol->idle_ms) {
		arm(t->timer, t->pol->idle_ms - quiet);
		return;
	}
	snprintf(why, sizeof(why), "idle for %llu ms (egress-idle-timeout)",
	    (unsigned long long)quiet);
	tunnel_close(t, why);
}

static int
dir_init(struct tunnel *t, struct edir *d, int src, int dst,
    event_callback_fn fn)
{
	int	cap;

	if (pipe2(d->pipe, O_NONBLOCK | O_CLOEXEC) == -1)
		return (-1);
	/*
	 * Bigger than the default 64 KB: fewer wake-ups a megabyte.  Its
	 * pages are taken as they fill; past the owner's pipe quota the
	 * kernel refuses and the default stays.
	 */
	fcntl(d->pipe[1], F_SETPIPE_SZ, EGRESS_PIPE);
	if ((cap = fcntl(d->pipe[1], F_GETPIPE_SZ)) <= 0)
		cap = 65536;
	d->cap = (size_t)cap;
	d->src = src;
	d->dst = dst;
	d->rd = event_new(e_base, src, EV_READ | EV_PERSIST, fn, t);
	d->wr = event_new(e_base, dst, EV_WRITE | EV_PERSIST, fn, t);
	return (0);
}

/* The head that goes upstream for a plain HTTP request. */
static char *
upstream_head(const struct tunnel *t, size_t *len)
{
	const struct egress_request	*r = t->req;
	const struct egress_header	*h;
	char				*out;
	size_t				 i, size, n;

	/*
	 * What is written, counted: not the head's length, which a field
	 * written "a:b" (one byte shorter than "a: b") does not bound.
	 */
	size = sizeof(t->method) + 1 + r->plen + 1 + sizeof(" HTTP/1.1\r\n");
	for (i = 0; i < r->nheaders; i++)
		size += r->headers[i].nlen + r->headers[i].vlen + 4;
	size += sizeof("Connection: close\r\n\r\n");
	out = xcalloc(1, size);
	n = (size_t)snprintf(out, size, "%s %s%.*s HTTP/1.1\r\n", t->method,
	    r->plen == 0 || r->path[0] != '/' ? "/" : "", (int)r->plen,
	    r->path);
	for (i = 0; i < r->nheaders; i++) {
		h = &r->headers[i];
		if (egress_request_hop(r, h))
			continue;
		n += (size_t)snprintf(out + n, size - n, "%.*s: %.*s\r\n",
		    (int)h->nlen, h->name, (int)h->vlen, h->value);
	}
	n += (size_t)snprintf(out + n, size - n, "Connection: close\r\n\r\n");
	*len = n;
	return (out);
}

/*
 * Whether agent's list p still allows the tunnel's target at the address
 * it is connected to (after a reload).
 */
static int
still_allowed(const struct tunnel *t, const struct epolicy *p)
{
	const struct sockaddr	*sa = (const void *)&t->addrs[t->next - 1];
	struct egress_target	 tt;
	struct egress_decision	 d;
	const void		*addr;

	if (t->next == 0 || egress_check_target(&p->list, t->ag->name,
	    t->authority, &tt, &d) == -1)
		return (0);
	if (sa->sa_family == AF_INET)
		addr = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else
		addr = &((const struct sockaddr_in6 *)(const void *)sa)->
		    sin6_addr;
	return (egress_check_address(&p->list, t->ag->name, &tt,
	    sa->sa_family, addr, &d) == 0);
}

/*
 * Whether one of p's secrets is for target; its normalised host:port in
 * norm.
 */
static int
intercepted(const struct epolicy *p, const struct egress_target *target,
    char *norm, size_t len)
{
	size_t	i;
	int	n;

	n = snprintf(norm, len, target->kind == EGRESS_IPV6 ? "[%s]:%u" :
	    "%s:%u", target->host, target->port);
	if (n < 0 || (size_t)n >= len)
		return (0);
	for (i = 0; i < p->nrules; i++)
		if (secret_rule_covers(&p->rules[i], norm))
			return (1);
	return (0);
}

static void
on_intercept_done(void *arg, const char *why)
{
	tunnel_close(arg, why);
}

/*
 * A tunnel to a secret's host: its TLS ends here (egress-intercept.h).
 * The agent must wait for the 200 before its handshake: bytes before it
 * would have to be handed to TLS from here, which no client needs.
 */
static void
start_intercept(struct tunnel *t)
{
	struct intercept_scope	 sc;
	char			 err[300];
	int			 cfd = t->cfd;

	if (t->hlen > t->req->head_len) {
		tunnel_answer(t, 400, "bad-request", "bytes came before the "
		    "200: the TLS to a secret's host starts after it");
		return;
	}
	if (!egress_ca_ready()) {
		tunnel_answer(t, 502, "secret", "qmsd has no CA to intercept "
		    "a secret's host with: see its log");
		return;
	}
	memset(&sc, 0, sizeof(sc));
	sc.agent = t->ag->name;
	sc.authority = t->norm;
	sc.host = t->target.host;
	sc.address = t->address;
	sc.rules = t->pol->rules;
	sc.nrules = t->pol->nrules;
	sc.repos = t->pol->repos;
	sc.refs = t->pol->push_refs;
	sc.idle_ms = t->pol->idle_ms;
	if ((t->ic = intercept_start(e_base, t->cfd, t->ufd, &sc,
	    on_intercept_done, t, err, sizeof(err))) == NULL) {
		tunnel_answer(t, 502, "secret", err);
		return;
	}
	/* The intercept's now, which has written nothing on cfd yet. */
	t->cfd = t->ufd = -1;
	t->okfd = cfd;
	t->status = 200;
	free(t->head);
	t->head = NULL;
	free(t->req);
	t->req = NULL;
	t->state = T_INTERCEPT;
	evtimer_del(t->timer);
	record(t, "open", NULL, "allowed; intercepted: a secret is for it",
	    intercept_recorded);
}

/*
 * The 200 once the tunnel's record is on disk: the agent's TLS begins,
 * and only now: an agent that did not wait for the 200 has had nothing
 * read of what it sent.
 */
static void
intercept_recorded(void *arg, const char *error)
{
	static const char	 ok[] = "HTTP/1.1 200 Connection established"
				    "\r\n\r\n";
	struct tunnel		*t = arg;

	t->aw = NULL;
	if (error != NULL) {
		tunnel_close(t, error);
		return;
	}
	/* A new socket's first bytes: they fit its buffer, or it is gone. */
	if (send(t->okfd, ok, sizeof(ok) - 1, MSG_NOSIGNAL) !=
	    (ssize_t)sizeof(ok) - 1) {
		tunnel_close(t, "the agent's end could not be written");
		return;
	}
	/* No request of the agent's was read before this (intercept_go). */
	intercept_go(t->ic);
}

/* Connected: the bytes begin to move. */
static void
start_pump(struct tunnel *t)
{
	struct egress_request	*r = t->req;
	char			 why[400];

	/* A reload while it connected: the list now in force decides. */
	if (t->pol != t->ag->pol && !still_allowed(t, t->ag->pol)) {
		snprintf(why, sizeof(why), "%s is no longer in agent %s's "
		    "egress list (reloaded)", t->authority, t->ag->name);
		tunnel_answer(t, 403, "not-listed", why);
		return;
	}

	free_event(&t->gone);
	free_event(&t->uwr);
	if (r->connect && intercepted(t->pol, &t->target, t->norm,
	    sizeof(t->norm))) {
		start_intercept(t);
		return;
	}
	if (dir_init(t, &t->up, t->cfd, t->ufd, on_up) == -1 ||
	    dir_init(t, &t->down, t->ufd, t->cfd, on_down) == -1) {
		tunnel_answer(t, 502, "limit", "no pipe for the tunnel: out of "
		    "file descriptors");
		return;
	}
	t->status = 200;
	/* Nothing moves until the decision is on disk. */
	evtimer_del(t->timer);
	record(t, "open", NULL, "allowed", pump_begin);
}

/* The tunnel's "open" is on disk: the bytes begin to move. */
static void
pump_begin(void *arg, const char *error)
{
	struct tunnel		*t = arg;
	struct egress_request	*r = t->req;
	size_t			 extra = t->hlen - r->head_len, n, hl;
	char			*head;

	t->aw = NULL;
	if (error != NULL) {
		tunnel_close(t, error);
		return;
	}
	/* A reload while its record was written: the list in force now. */
	if (t->pol != t->ag->pol && !still_allowed(t, t->ag->pol)) {
		tunnel_close(t, "no longer in the agent's egress list "
		    "(reloaded)");
		return;
	}
	t->up.left = t->down.left = -1;
	if (r->connect) {
		t->down.pend = xstrdup("HTTP/1.1 200 Connection established"
		    "\r\n\r\n");
		t->down.pend_len = strlen(t->down.pend);
		/* What came after the head is the tunnel's first bytes. */
		t->up.pend = xcalloc(1, extra + 1);
		memcpy(t->up.pend, t->head + r->head_len, extra);
		t->up.pend_len = extra;
		t->up.bytes = extra;
	} else {
		/*
		 * One request: its head rewritten, its body of exactly
		 * Content-Length bytes, and nothing after it (a second
		 * request on the connection never goes anywhere).
		 */
		head = upstream_head(t, &hl);
		n = extra < (size_t)r->length ? extra : (size_t)r->length;
		t->up.pend = xcalloc(1, hl + n + 1);
		memcpy(t->up.pend, head, hl);
		memcpy(t->up.pend + hl, t->head + r->head_len, n);
		free(head);
		t->up.pend_len = hl + n;
		t->up.bytes = n;
		t->up.left = r->length - (long long)n;
		t->up.noshut = 1;
		t->plain = 1;
		/* The answer's end is the server's close (Connection: close). */
	}
	free(t->head);
	t->head = NULL;
	free(t->req);
	t->req = NULL;
	t->state = T_PUMP;
	t->last = now_ms();
	evtimer_del(t->timer);
	event_assign(t->timer, e_base, -1, 0, on_idle, t);
	arm(t->timer, t->pol->idle_ms);
	/* On the loop's next turn: a pump may end the tunnel. */
	event_active(t->down.wr, EV_WRITE, 0);
	event_active(t->up.wr, EV_WRITE, 0);
}

/* ---- RESOLVE and CONNECT ---- */

static void
on_connected(evutil_socket_t fd, short ev, void *arg)
{
	struct tunnel	*t = arg;
	int		 err = 0;
	socklen_t	 len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		snprintf(t->error, sizeof(t->error), "%s: %s", t->address,
		    strerror(err));
		close(t->ufd);
		t->ufd = -1;
		free_event(&t->uwr);
		try_connect(t);
		return;
	}
	start_pump(t);
}

static void
format_addr(const struct sockaddr *sa, char *buf, size_t len)
{
	char		 ip[INET6_ADDRSTRLEN];
	const void	*a;
	uint16_t	 port;

	if (sa->sa_family == AF_INET) {
		a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
		port = ((const struct sockaddr_in *)(const void *)sa)->sin_port;
	} else {
		a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
		port = ((const struct sockaddr_in6 *)(const void *)sa)->
		    sin6_port;
	}
	inet_ntop(sa->sa_family, a, ip, sizeof(ip));
	snprintf(buf, len, sa->sa_family == AF_INET6 ? "[%s]:%u" : "%s:%u",
	    ip, ntohs(port));
}

/* The next address allowed, or the answer that none could be reached. */
static void
try_connect(struct tunnel *t)
{
	char		 why[600];
	struct sockaddr	*sa;

	t->state = T_CONNECT;
	while (t->next < t->naddrs) {
		sa = (struct sockaddr *)&t->addrs[t->next];
		format_addr(sa, t->address, sizeof(t->address));
		t->ufd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (t->ufd != -1 && (connect(t->ufd, sa,
		    t->addrlens[t->next]) == 0 || errno == EINPROGRESS)) {
			t->next++;
			t->uwr = event_new(e_base, t->ufd, EV_WRITE,
			    on_connected, t);
			event_add(t->uwr, NULL);
			return;
		}
		snprintf(t->error, sizeof(t->error), "%s: %s", t->address,
		    strerror(errno));
		if (t->ufd != -1)
			close(t->ufd);
		t->ufd = -1;
		t->next++;
	}
	snprintf(why, sizeof(why), "cannot connect to %s (%s)", t->authority,
	    t->error);
	tunnel_answer(t, 502, "connect-failed", why);
}

static void
on_connect_timeout(evutil_socket_t fd, short ev, void *arg)
{
	struct tunnel	*t = arg;
	char		 why[600];

	snprintf(why, sizeof(why), "%s not reached within %llu ms "
	    "(egress-connect-timeout)", t->authority,
	    (unsigned long long)t->pol->connect_ms);
	tunnel_answer(t, 504, "connect-timeout", why);
}

/*
 * The client left while its request was being worked on.  EV_CLOSED is
 * also a half-close, and a client that shut its sending side after its
 * request (HTTP/1.0 style, or `nc -N`) waits for the answer: it has gone
 * only if its end is closed both ways (POLLHUP).  A half-closed one is
 * watched no more; the pump passes its EOF on.
 */
static void
on_gone(evutil_socket_t fd, short ev, void *arg)
{
	struct tunnel	*t = arg;
	struct pollfd	 pfd;

	pfd.fd = fd;
	pfd.events = POLLOUT;
	pfd.revents = 0;
	if (poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLHUP | POLLERR)) ==
	    0) {
		free_event(&t->gone);
		return;
	}
	record(t, "closed", NULL, "the client left before the connection "
	    "was made", NULL);
	tunnel_free(t);
}

/* An address the policy allows, kept to be tried. */
static void
add_addr(struct tunnel *t, const struct sockaddr *sa, socklen_t len)
{
	struct sockaddr_in	*sin;
	struct sockaddr_in6	*sin6;

	if (t->naddrs == EGRESS_MAX_ADDRS || len > sizeof(t->addrs[0]))
		return;
	memcpy(&t->addrs[t->naddrs], sa, len);
	t->addrlens[t->naddrs] = len;
	if (sa->sa_family == AF_INET) {
		sin = (struct sockaddr_in *)&t->addrs[t->naddrs];
		sin->sin_port = htons(t->target.port);
	} else {
		sin6 = (struct sockaddr_in6 *)&t->addrs[t->naddrs];
		sin6->sin6_port = htons(t->target.port);
	}
	t->naddrs++;
}

static void
on_resolved(int result, struct evutil_addrinfo *res, void *arg)
{
	struct dnsq		*q = arg;
	struct tunnel		*t = q->t;
	struct evutil_addrinfo	*ai;
	struct egress_decision	 d, first;
	const void		*addr;
	char			 why[600];
	int			 refused = 0;

	free(q);
	if (t == NULL) {
		if (res != NULL)
			evutil_freeaddrinfo(res);
		return;
	}
	t->dnsq = NULL;
	t->dns = NULL;
	if (result != 0) {
		snprintf(why, sizeof(why), "cannot resolve %s: %s",
		    t->target.host, evutil_gai_strerror(result));
		tunnel_answer(t, 502, "resolve-failed", why);
		return;
	}
	memset(&first, 0, sizeof(first));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (ai->ai_family == AF_INET)
			addr = &((struct sockaddr_in *)(void *)ai->ai_addr)->
			    sin_addr;
		else if (ai->ai_family == AF_INET6)
			addr = &((struct sockaddr_in6 *)(void *)ai->ai_addr)->
			    sin6_addr;
		else
			continue;
		if (egress_check_address(&t->pol->list, t->ag->name,
		    &t->target, ai->ai_family, addr, &d) == 0)
			add_addr(t, ai->ai_addr, ai->ai_addrlen);
		else if (!refused++)
			first = d;
	}
	evutil_freeaddrinfo(res);
	if (t->naddrs == 0) {
		if (refused)
			tunnel_answer(t, 403, first.rule, first.reason);
		else
			tunnel_answer(t, 502, "resolve-failed", "no address "
			    "for the name");
		return;
	}
	connect_once_recorded(t);
}

/* ---- HEAD ---- */

/* The head is in and parsed: what the policy says. */
static void
decide(struct tunnel *t)
{
	struct egress_decision		 d;
	struct evutil_addrinfo		 hints;
	struct evdns_getaddrinfo_request *req;
	struct sockaddr_in		 sin;
	struct sockaddr_in6		 sin6;
	char				 why[300];

	snprintf(t->method, sizeof(t->method), "%s", t->req->method);
	snprintf(t->authority, sizeof(t->authority), "%s",
	    t->req->authority);
	if (t->ag->open >= t->pol->max_tunnels) {
		snprintf(why, sizeof(why), "agent %s has %d connections open "
		    "through the proxy, its egress-max-tunnels", t->ag->name,
		    t->ag->open);
		tunnel_answer(t, 429, "limit", why);
		return;
	}
	if (egress_check_target(&t->pol->list, t->ag->name, t->authority,
	    &t->target, &d) == -1) {
		tunnel_answer(t, strcmp(d.rule, "bad-target") == 0 ? 400 : 403,
		    d.rule, d.reason);
		return;
	}
	t->counted = 1;
	t->ag->open++;
	set_waiting(t, 0);
	egress_audit_open(t->ag->name, 1);

	free_event(&t->crd);
	t->gone = event_new(e_base, t->cfd, EV_CLOSED | EV_PERSIST, on_gone,
	    t);
	event_add(t->gone, NULL);
	evtimer_del(t->timer);
	event_assign(t->timer, e_base, -1, 0, on_connect_timeout, t);
	arm(t->timer, t->pol->connect_ms);

	if (t->target.kind == EGRESS_IPV4) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr = t->target.v4;
		add_addr(t, (struct sockaddr *)&sin, sizeof(sin));
		connect_once_recorded(t);
		return;
	}
	if (t->target.kind == EGRESS_IPV6) {
		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_family = AF_INET6;
		sin6.sin6_addr = t->target.v6;
		add_addr(t, (struct sockaddr *)&sin6, sizeof(sin6));
		connect_once_recorded(t);
		return;
	}
	/* A name: resolved in the loop, each address checked after. */
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	t->state = T_RESOLVE;
	t->dnsq = xcalloc(1, sizeof(*t->dnsq));
	t->dnsq->t = t;
	req = evdns_getaddrinfo(e_dns, t->target.host, NULL, &hints,
	    on_resolved, t->dnsq);
	/* NULL: answered already (from /etc/hosts, or an error). */
	if (req != NULL && t->dnsq != NULL)
		t->dns = req;
}

static int
head_complete(const char *buf, size_t from, size_t len)
{
	size_t	i = from > 3 ? from - 3 : 0;

	for (; i + 3 < len; i++)
		if (memcmp(buf + i, "\r\n\r\n", 4) == 0)
			return (1);
	return (0);
}

static void
on_head(evutil_socket_t fd, short ev, void *arg)
{
	struct tunnel	*t = arg;
	ssize_t		 n;
	size_t		 was = t->hlen;
	int		 status, r;
	char		 why[300];

	if (ev & EV_TIMEOUT) {
		tunnel_answer(t, 400, "bad-request", "the request head was "
		    "not in within 10 s");
		return;
	}
	n = recv(fd, t->head + t->hlen, EGRESS_MAX_HEAD - t->hlen, 0);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		tunnel_free(t);		/* nothing asked, nothing recorded */
		return;
	}
	t->hlen += (size_t)n;
	/* Parsed once it is whole (or ends in bare LFs, or is too long). */
	if (!head_complete(t->head, was, t->hlen) &&
	    t->hlen < EGRESS_MAX_HEAD && memmem(t->head + (was > 0 ? was - 1 :
	    0), t->hlen - (was > 0 ? was - 1 : 0), "\n\n", 2) == NULL)
		return;
	if (t->req == NULL)
		t->req = xcalloc(1, sizeof(*t->req));
	r = egress_request_parse(t->head, t->hlen, t->req, &status, why,
	    sizeof(why));
	if (r == 0)
		return;
	if (r == -1) {
		/* What the client asked, for the record, if it was read. */
		snprintf(t->method, sizeof(t->method), "%s", t->req->method);
		snprintf(t->authority, sizeof(t->authority), "%s",
		    t->req->authority);
		tunnel_answer(t, status, "bad-request", why);
		return;
	}
	decide(t);
}

/* ---- configuration ---- */

static struct eagent *
agent_find(const char *name)
{
	struct eagent	*a;

	TAILQ_FOREACH(a, &e_agents, entry)
		if (strcmp(a->name, name) == 0)
			return (a);
	return (NULL);
}

void
egress_proxy_accept(int fd, const char *agent)
{
	struct eagent	*a;
	struct tunnel	*t;

	if ((a = agent_find(agent)) == NULL || a->pol == NULL) {
		close(fd);
		return;
	}
	if (a->waiting >= EGRESS_MAX_WAITING) {
		log_debug("egress: %s: %d connections wait for a head or an "
		    "answer; closing a new one", agent, a->waiting);
		close(fd);
		return;
	}
	t = xcalloc(1, sizeof(*t));
	t->ag = a;
	a->refs++;
	t->pol = a->pol;
	t->pol->refs++;
	t->cfd = fd;
	t->ufd = -1;
	t->up.pipe[0] = t->up.pipe[1] = -1;
	t->down.pipe[0] = t->down.pipe[1] = -1;
	t->start = now_ms();
	t->head = xcalloc(1, EGRESS_MAX_HEAD);
	t->state = T_HEAD;
	set_waiting(t, 1);
	TAILQ_INSERT_TAIL(&e_tunnels, t, entry);
	t->crd = event_new(e_base, fd, EV_READ | EV_PERSIST, on_head, t);
	t->timer = evtimer_new(e_base, on_head, t);
	event_add(t->crd, NULL);
	arm(t->timer, EGRESS_HEAD_MS);
	/* The bytes that told agent-socket.c what this is are there. */
	event_active(t->crd, EV_READ, 0);
}

void
egress_proxy_configure(const struct config *conf)
{
	struct eagent		*a, *next;
	struct epolicy		*p;
	const struct agent_conf	*c;
	struct tunnel		*t, *tnext;
	char			 err[300], why[400];
	size_t			 i, j;

	for (i = 0; i < conf->nagents; i++) {
		c = &conf->agents[i];
		if ((a = agent_find(c->name)) == NULL) {
			a = xcalloc(1, sizeof(*a));
			snprintf(a->name, sizeof(a->name), "%s", c->name);
			a->refs = 1;
			TAILQ_INSERT_TAIL(&e_agents, a, entry);
		}
		p = xcalloc(1, sizeof(*p));
		p->refs = 1;
		if (egress_list_parse(&p->list, c->egress, err,
		    sizeof(err)) == -1)
			log_warnx("agent %s: %s; nothing is allowed", c->name,
			    err);
		for (j = 0; c->secrets != NULL && c->secrets[j] != NULL &&
		    p->nrules < SECRET_MAX_PER_AGENT; j++)
			if (secret_rule_parse(c->secrets[j],
			    &p->rules[p->nrules], err, sizeof(err)) == 0)
				p->nrules++;
		p->repos = c->secret_repos ? xargv_copy(c->secret_repos) : NULL;
		p->push_refs = c->secret_push_refs ?
		    xargv_copy(c->secret_push_refs) : NULL;
		p->max_tunnels = c->egress_max_tunnels;
		p->connect_ms = c->egress_connect_timeout;
		p->idle_ms = c->egress_idle_timeout;
		policy_unref(a->pol);
		a->pol = p;
	}
	/*
	 * Open tunnels the new lists no longer allow are closed: a reload
	 * that takes a host away (or the agent) cuts it off now.
	 */
	for (t = TAILQ_FIRST(&e_tunnels); t != NULL; t = tnext) {
		tnext = TAILQ_NEXT(t, entry);
		if (t->state != T_PUMP && t->state != T_INTERCEPT)
			continue;
		for (i = 0; i < conf->nagents; i++)
			if (strcmp(conf->agents[i].name, t->ag->name) == 0)
				break;
		/*
		 * An intercepted tunnel goes on while a secret is still for
		 * its host (its request, under the scope it began with);
		 * a plain one is not made intercepted midway.
		 */
		if (i < conf->nagents && still_allowed(t, t->ag->pol) &&
		    (t->state == T_INTERCEPT) == intercepted(t->ag->pol,
		    &t->target, why, sizeof(why)))
			continue;
		snprintf(why, sizeof(why), "%s is no longer in agent %s's "
		    "egress list (reloaded)", t->authority, t->ag->name);
		tunnel_close(t, why);
	}
	/* Agents no longer configured go once their last tunnel has. */
	for (a = TAILQ_FIRST(&e_agents); a != NULL; a = next) {
		next = TAILQ_NEXT(a, entry);
		for (i = 0; i < conf->nagents; i++)
			if (strcmp(conf->agents[i].name, a->name) == 0)
				break;
		if (i < conf->nagents)
			continue;
		TAILQ_REMOVE(&e_agents, a, entry);
		agent_unref(a);
	}
}

void
egress_proxy_init(struct event_base *base)
{
	e_base = base;
	/*
	 * resolv.conf and /etc/hosts, read once here at start, as a
	 * resolver library does; inactive, it keeps no event pending.
	 */
	e_dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
	    EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	if (e_dns == NULL)
		e_dns = evdns_base_new(base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	if (e_dns == NULL)
		fatalx("evdns_base_new failed");
}

void
egress_proxy_shutdown(void)
{
	struct eagent	*a;
	struct tunnel	*t;

	while ((t = TAILQ_FIRST(&e_tunnels)) != NULL)
		tunnel_free(t);
	while ((a = TAILQ_FIRST(&e_agents)) != NULL) {
		TAILQ_REMOVE(&e_agents, a, entry);
		agent_unref(a);
	}
	if (e_dns != NULL)
		evdns_base_free(e_dns, 0);
	e_dns = NULL;
}
