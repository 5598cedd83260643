#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "audit-log.h"
#include "control.h"
#include "log.h"
#include "logring.h"
#include "proto.h"
#include "util.h"

/*
 * A client that does not read its answers must not make qmsd buffer without
 * bound: past this much unsent output its requests are no longer read until
 * it catches up.  Reading is bounded the same way.
 */
#define CTL_OUT_HIGH	(1024 * 1024)
/* Answers carrying a descriptor, waiting their turn on one connection. */
#define CTL_MAX_HANDOVERS	8
#define CTL_IN_HIGH	(2 * PROTO_MAX_LINE)
/* How long accept() rests when descriptors run out, instead of spinning. */
#define CTL_EMFILE_PAUSE_MS	1000

/* A subscription (`logs -f`, `egress -f`), ended when its client goes. */
struct ctl_sub {
	struct ctl_client	*client;
	void			(*cancel)(void *);
	void			*arg;
	unsigned long		 dropped;
	TAILQ_ENTRY(ctl_sub)	 entry;
};

/* What a `logs -f` subscription follows. */
struct ctl_follow {
	struct ctl_sub		*sub;
	struct logring		*ring;
	void			*handle;
	char			 component[64];
};

/* An answer that carries a descriptor on its first byte. */
struct ctl_handover {
	char			*line;
	int			 fd;
	TAILQ_ENTRY(ctl_handover) entry;
};

struct ctl_client {
	int			 fd;
	/*
	 * While a hand-over waits or is half sent, other lines are held
	 * here, so that none lands inside it; they follow once it is sent.
	 */
	TAILQ_HEAD(, ctl_handover) handovers;
	size_t			 nhandovers;
	size_t			 fd_off;	/* of the first hand-over */
	struct evbuffer		*held;
	struct event		*fd_ev;
	uint64_t		 serial;	/* which connection, for owners */
	TAILQ_HEAD(, ctl_sub)	 subs;
	TAILQ_HEAD(, ctl_req)	 later;		/* deferred answers owed */
	struct bufferevent	*bev;
	pid_t			 pid;
	uid_t			 uid;
	gid_t			 gid;
	gid_t			*groups;
	int			 ngroups;
	int			 discarding;	/* inside an over-long line */
	int			 paused;	/* output backed up */
	int			 closing;	/* peer hung up; flush, then free */
	TAILQ_ENTRY(ctl_client)	 entry;
};

struct ctl_req {
	struct ctl_client	*client;	/* NULL once it went away */
	const cJSON		*id;
	const char		*method;
	int			 notification;
	int			 answered;
	int			 deferred;	/* a later copy answers */
	cJSON			*id_copy;	/* owned by a deferred copy */
	void			(*gone_fn)(void *);
	void			*gone_arg;
	char			 method_copy[32];
	TAILQ_ENTRY(ctl_req)	 entry;		/* in its client's list */
};

static struct event_base *ctl_base;
static const struct ctl_method *ctl_methods;
static size_t		 ctl_nmethods;
static struct ctl_auth	 ctl_auth;
static uint64_t		 ctl_serial;
static int		 ctl_fd = -1;
static char		*ctl_path;	/* to unlink at exit; NULL if passed */
static char		*ctl_bound;	/* where clients connect */
static struct event	*ctl_accept_ev;
static struct event	*ctl_pause_ev;
static TAILQ_HEAD(, ctl_client) ctl_clients =
    TAILQ_HEAD_INITIALIZER(ctl_clients);

static void	client_free(struct ctl_client *);
static int	peer_is_admin(const struct ctl_client *);
static void	client_read(struct bufferevent *, void *);

static void
send_line(struct ctl_client *c, char *line)
{
	if (line == NULL) {
		log_warnx("control: cannot encode a reply");
		return;
	}
	if (TAILQ_EMPTY(&c->handovers))
		bufferevent_write(c->bev, line, strlen(line));
	else
		evbuffer_add(c->held, line, strlen(line));
	free(line);
}

/* What the client has yet to read of us, for the high-water marks. */
static size_t
pending_output(const struct ctl_client *c)
{
	return (evbuffer_get_length(bufferevent_get_output(c->bev)) +
	    evbuffer_get_length(c->held));
}

struct ctl_req *
ctl_defer(struct ctl_req *r)
{
	struct ctl_req	*later;

	later = xcalloc(1, sizeof(*later));
	later->client = r->client;
	later->notification = r->notification;
	if (r->id != NULL)
		later->id = later->id_copy = cJSON_Duplicate(r->id, 1);
	snprintf(later->method_copy, sizeof(later->method_copy), "%s",
	    r->method);
	later->method = later->method_copy;
	later->deferred = 1;
	if (later->client != NULL)
		TAILQ_INSERT_TAIL(&later->client->later, later, entry);
	r->answered = 1;	/* by the copy, later */
	return (later);
}

/* A deferred request is done with once answered. */
static void
req_done(struct ctl_req *r)
{
	if (!r->deferred)
		return;
	if (r->client != NULL) {
		TAILQ_REMOVE(&r->client->later, r, entry);
		/* A half-closed client may be owed nothing more: its write
		 * callback, on the loop's next turn, sees and frees it. */
		if (r->client->closing)
			bufferevent_trigger(r->client->bev, EV_WRITE,
			    BEV_TRIG_IGNORE_WATERMARKS |
			    BEV_TRIG_DEFER_CALLBACKS);
	}
	cJSON_Delete(r->id_copy);
	free(r);
}

void
ctl_reply(struct ctl_req *r, cJSON *result)
{
	r->answered = 1;
	if (r->notification || r->client == NULL)
		cJSON_Delete(result);
	else
		send_line(r->client, proto_encode_result(r->id, result));
	req_done(r);
}

void
ctl_error(struct ctl_req *r, int code, const char *fmt, ...)
{
	char	msg[1024];
	va_list	ap;

	r->answered = 1;
	if (!r->notification && r->client != NULL) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		send_line(r->client, proto_encode_error(r->id, code, msg));
	}
	req_done(r);
}

uint64_t
ctl_req_connection(const struct ctl_req *r)
{
	return (r->client != NULL ? r->client->serial : 0);
}

int
ctl_req_gone(const struct ctl_req *r)
{
	return (r->client == NULL);
}

void
ctl_notify(struct ctl_req *r, const char *method, cJSON *params)
{
	if (r->client == NULL) {
		cJSON_Delete(params);
		return;
	}
	send_line(r->client, proto_encode_notification(method, params));
}

const char *
ctl_req_method(const struct ctl_req *r)
{
	return (r->method);
}

/*
 * Send the answers that carry a descriptor, in turn, without blocking:
 * each after what the bufferevent still holds (client_write calls again
 * once it drained), with the descriptor on its first byte, the rest as the
 * socket takes it; then the lines held meanwhile.
 */
static void
send_fd_reply(struct ctl_client *c)
{
	struct ctl_handover	*h;
	struct msghdr		 msg;
	struct cmsghdr		*cm;
	struct iovec		 iov;
	char			 cbuf[CMSG_SPACE(sizeof(int))];
	size_t			 len;
	ssize_t			 n;

	while ((h = TAILQ_FIRST(&c->handovers)) != NULL) {
		if (evbuffer_get_length(bufferevent_get_output(c->bev)) > 0)
			return;
		len = strlen(h->line);
		while (c->fd_off < len) {
			memset(&msg, 0, sizeof(msg));
			iov.iov_base = h->line + c->fd_off;
			iov.iov_len = len - c->fd_off;
			msg.msg_iov = &iov;
			msg.msg_iovlen = 1;
			if (c->fd_off == 0) {
				memset(cbuf, 0, sizeof(cbuf));
				msg.msg_control = cbuf;
				msg.msg_controllen = sizeof(cbuf);
				cm = CMSG_FIRSTHDR(&msg);
				cm->cmsg_level = SOL_SOCKET;
				cm->cmsg_type = SCM_RIGHTS;
				cm->cmsg_len = CMSG_LEN(sizeof(int));
				memcpy(CMSG_DATA(cm), &h->fd, sizeof(int));
			}
			n = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n > 0) {
				c->fd_off += (size_t)n;
				continue;
			}
			if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
				/* On again when writable. */
				event_add(c->fd_ev, NULL);
				return;
			}
			log_warn("control: could not hand a descriptor over");
			break;
		}
		TAILQ_REMOVE(&c->handovers, h, entry);
		c->nhandovers--;
		c->fd_off = 0;
		close(h->fd);
		free(h->line);
		free(h);
		/* What waited behind it goes out before the next. */
		bufferevent_write_buffer(c->bev, c->held);
	}
}

/* A client that hung up is freed once everything owed to it is sent. */
static int
client_drained(const struct ctl_client *c)
{
	return (c->closing && TAILQ_EMPTY(&c->handovers) &&
	    TAILQ_EMPTY(&c->later) &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0);
}

static void
on_fd_writable(evutil_socket_t fd, short ev, void *arg)
{
	struct ctl_client	*c = arg;

	send_fd_reply(c);
	if (client_drained(c))
		client_free(c);
}

void
ctl_reply_fd(struct ctl_req *r, cJSON *result, int fd)
{
	struct ctl_client	*c = r->client;
	struct ctl_handover	*h;
	char			*line;

	if (c == NULL || r->notification) {
		cJSON_Delete(result);
		close(fd);
		ctl_reply(r, NULL);
		return;
	}
	if (c->nhandovers == CTL_MAX_HANDOVERS) {
		cJSON_Delete(result);
		close(fd);
		ctl_error(r, PROTO_FAILED, "%d hand-overs already wait on this "
		    "connection; read them first", CTL_MAX_HANDOVERS);
		return;
	}
	r->answered = 1;
	if ((line = proto_encode_result(r->id, result)) == NULL) {
		log_warnx("control: cannot encode a reply");
		close(fd);
		req_done(r);
		return;
	}
	h = xcalloc(1, sizeof(*h));
	h->line = line;
	h->fd = fd;
	TAILQ_INSERT_TAIL(&c->handovers, h, entry);
	c->nhandovers++;
	if (c->fd_ev == NULL)
		c->fd_ev = event_new(ctl_base, c->fd, EV_WRITE,
		    on_fd_writable, c);
	req_done(r);
	send_fd_reply(c);
}

void
ctl_on_gone(struct ctl_req *r, void (*fn)(void *), void *arg)
{
	r->gone_fn = fn;
	r->gone_arg = arg;
}

int
ctl_req_is_admin(const struct ctl_req *r)
{
	return (r->client != NULL && peer_is_admin(r->client));
}

/*
 * Admin is root, the run-as user, or a member of the admin group by primary
 * or supplementary group; the group list comes from the kernel at connect
 * time (SO_PEERGROUPS), never from what the peer says.
 */
static int
peer_is_admin(const struct ctl_client *c)
{
	const struct ctl_auth	*auth = &ctl_auth;
	int			 i;

	if (c->uid == 0 || c->uid == auth->run_as_uid)
		return (1);
	if (!auth->admin_gid_found)
		return (0);
	if (c->gid == auth->admin_gid)
		return (1);
	for (i = 0; i < c->ngroups; i++)
		if (c->groups[i] == auth->admin_gid)
			return (1);
	return (0);
}

/* An admin method waiting for its record to be on disk. */
struct admin_call {
	struct ctl_req		*later;
	const struct ctl_method	*m;
	cJSON			*params;
	struct audit_wait	*wait;
};

static void
admin_call_free(struct admin_call *a)
{
	cJSON_Delete(a->params);
	free(a);
}

/* The asker left before the record was on disk: nothing runs. */
static void
admin_gone(void *arg)
{
	struct admin_call	*a = arg;

	audit_forget(a->wait);
	ctl_error(a->later, PROTO_FAILED, "the client went away");
	admin_call_free(a);
}

/* Recorded: the method runs as if it had just come; or refused. */
static void
admin_durable(void *arg, const char *error)
{
	struct admin_call	*a = arg;
	struct ctl_req		*later = a->later, r;

	if (error != NULL) {
		ctl_error(later, PROTO_FAILED, "%s refused: %s", a->m->name,
		    error);
		admin_call_free(a);
		return;
	}
	memset(&r, 0, sizeof(r));
	r.client = later->client;
	r.id = later->id;
	r.method = later->method;
	r.notification = later->notification;
	log_debug("control: %s from uid %u pid %d", a->m->name,
	    (unsigned)r.client->uid, (int)r.client->pid);
	a->m->fn(&r, a->params);
	if (!r.answered)
		ctl_error(&r, PROTO_FAILED, "%s gave no answer", a->m->name);
	/* Answered by r (or a copy of it): the placeholder goes unsent. */
	later->notification = 1;
	ctl_reply(later, NULL);
	admin_call_free(a);
}

/*
 * Who asked for what, in the audit log before it is done: the method,
 * the peer's uid and pid, and the agent or component it names (never the
 * rest of its parameters).
 */
static void
admin_record(struct ctl_req *r, const struct ctl_method *m,
    const cJSON *params)
{
	struct admin_call	*a;
	const cJSON		*v;
	cJSON			*o;

	a = xcalloc(1, sizeof(*a));
	a->m = m;
	a->params = params != NULL ? cJSON_Duplicate(params, 1) : NULL;
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "uid", (double)r->client->uid);
	cJSON_AddNumberToObject(o, "pid", (double)r->client->pid);
	cJSON_AddStringToObject(o, "method", m->name);
	v = cJSON_GetObjectItemCaseSensitive(params, "agent");
	if (cJSON_IsString(v))
		cJSON_AddStringToObject(o, "agent", v->valuestring);
	v = cJSON_GetObjectItemCaseSensitive(params, "component");
	if (cJSON_IsString(v))
		cJSON_AddStringToObject(o, "component", v->valuestring);
	a->later = ctl_defer(r);
	ctl_on_gone(a->later, admin_gone, a);
	a->wait = audit_record("admin", o, admin_durable, a);
}

static void
handle_line(struct ctl_client *c, const char *line, size_t len)
{
	struct proto_request	 req;
	struct ctl_req		 r;
	const struct ctl_method	*m = NULL;
	cJSON			*id = NULL;
	char			 err[256];
	size_t			 i;
	int			 code;

	if ((code = proto_decode_request(line, len, &req, &id, err,
	    sizeof(err))) != 0) {
		send_line(c, proto_encode_error(id, code, err));
		cJSON_Delete(id);
		return;
	}
	cJSON_Delete(id);
	memset(&r, 0, sizeof(r));
	r.client = c;
	r.id = req.id;
	r.method = req.method;
	r.notification = req.id == NULL;

	for (i = 0; i < ctl_nmethods; i++)
		if (strcmp(ctl_methods[i].name, req.method) == 0)
			m = &ctl_methods[i];
	if (m == NULL)
		ctl_error(&r, PROTO_METHOD_NOT_FOUND, "unknown method \"%s\"",
		    req.method);
	else if (!m->readonly && !peer_is_admin(c))
		ctl_error(&r, PROTO_PERMISSION_DENIED, "permission denied: "
		    "%s requires uid 0, group '%s' or user '%s' (you are "
		    "uid %u)", m->name, ctl_auth.admin_group,
		    ctl_auth.run_as, (unsigned)c->uid);
	else if (!m->readonly && !m->unrecorded)
		admin_record(&r, m, req.params);
	else {
		log_debug("control: %s from uid %u pid %d", m->name,
		    (unsigned)c->uid, (int)c->pid);
		m->fn(&r, req.params);
		if (!r.answered)
			ctl_error(&r, PROTO_FAILED, "%s gave no answer",
			    m->name);
	}
	proto_request_free(&req);
}

static void
send_too_long(struct ctl_client *c)
{
	char	msg[64];

	snprintf(msg, sizeof(msg), "request line exceeds %d bytes",
	    PROTO_MAX_LINE);
	send_line(c, proto_encode_error(NULL, PROTO_INVALID_REQUEST, msg));
}

/* Answer whole lines until the input runs dry or the output backs up. */
static void
client_read(struct bufferevent *bev, void *arg)
{
	struct ctl_client	*c = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct evbuffer_ptr	 eol;
	size_t			 eol_len, n;
	char			*line;

	while (!c->paused) {
		eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_LF);
		if (eol.pos == -1) {
			n = evbuffer_get_length(in);
			if (c->discarding)
				evbuffer_drain(in, n);
			else if (n > PROTO_MAX_LINE) {
				send_too_long(c);
				evbuffer_drain(in, n);
				c->discarding = 1;
			}
			break;
		}
		n = (size_t)eol.pos;
		if (c->discarding) {
			c->discarding = 0;
		} else if (n > PROTO_MAX_LINE) {
			send_too_long(c);
		} else if (n > 0) {
			line = (char *)evbuffer_pullup(in, (ssize_t)n);
			handle_line(c, line, n);
		}
		evbuffer_drain(in, n + eol_len);
		if (pending_output(c) > CTL_OUT_HIGH) {
			c->paused = 1;
			bufferevent_disable(bev, EV_READ);
		}
	}
}

static void
client_write(struct bufferevent *bev, void *arg)
{
	struct ctl_client	*c = arg;

	send_fd_reply(c);
	if (client_drained(c)) {
		client_free(c);
		return;
	}
	if (c->paused && pending_output(c) < CTL_OUT_HIGH / 2) {
		c->paused = 0;
		bufferevent_enable(bev, EV_READ);
		client_read(bev, c);
	}
}

/* The peer closed both ways (POLLHUP), not only its sending side. */
static int
hung_up(int fd)
{
	struct pollfd	pfd;

	pfd.fd = fd;
	pfd.events = POLLOUT;
	pfd.revents = 0;
	return (poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLHUP |
	    POLLERR)) != 0);
}

static void
client_event(struct bufferevent *bev, short what, void *arg)
{
	struct ctl_client	*c = arg;

	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) &&
	    (evbuffer_get_length(bufferevent_get_output(bev)) > 0 ||
	    !TAILQ_EMPTY(&c->handovers) || (!TAILQ_EMPTY(&c->later) &&
	    !hung_up(c->fd)))) {
		/* Half-closed: send what is owed, answers to come included
		 * (an admin method waits for its record), then go.  One
		 * closed both ways is owed nothing more: what waits for it
		 * (an up's place among the waiters) is let go at once. */
		c->closing = 1;
		bufferevent_disable(bev, EV_READ);
		return;
	}
	client_free(c);
}

static void
client_free(struct ctl_client *c)
{
	struct ctl_sub		*sub;
	struct ctl_handover	*h;
	struct ctl_req		*r;

	/*
	 * Answers still owed go nowhere; their owners free them, told at
	 * once where they asked to be (the request must not be used after).
	 */
	while ((r = TAILQ_FIRST(&c->later)) != NULL) {
		TAILQ_REMOVE(&c->later, r, entry);
		r->client = NULL;
		if (r->gone_fn != NULL)
			r->gone_fn(r->gone_arg);
	}
	while ((sub = TAILQ_FIRST(&c->subs)) != NULL) {
		TAILQ_REMOVE(&c->subs, sub, entry);
		sub->cancel(sub->arg);
		free(sub);
	}
	TAILQ_REMOVE(&ctl_clients, c, entry);
	if (c->fd_ev != NULL)
		event_free(c->fd_ev);
	while ((h = TAILQ_FIRST(&c->handovers)) != NULL) {
		TAILQ_REMOVE(&c->handovers, h, entry);
		close(h->fd);
		free(h->line);
		free(h);
	}
	evbuffer_free(c->held);
	bufferevent_free(c->bev);	/* closes fd */
	free(c->groups);
	free(c);
}

static void
peer_credentials(struct ctl_client *c)
{
	struct ucred	cred;
	socklen_t	len = sizeof(cred);
	gid_t	       *g;

	c->uid = (uid_t)-1;
	c->gid = (gid_t)-1;
	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
		c->pid = cred.pid;
		c->uid = cred.uid;
		c->gid = cred.gid;
	} else
		log_warn("control: SO_PEERCRED");

	len = 32 * sizeof(gid_t);
	for (;;) {
		if ((g = realloc(c->groups, len)) == NULL)
			fatal("realloc");
		c->groups = g;
		if (getsockopt(c->fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) == 0) {
			c->ngroups = (int)(len / sizeof(gid_t));
			return;
		}
		if (errno != ERANGE) {
			log_warn("control: SO_PEERGROUPS");
			c->ngroups = 0;
			return;
		}
	}
}

static void
accept_resume(evutil_socket_t fd, short ev, void *arg)
{
	event_add(ctl_accept_ev, NULL);
}

static void
accept_cb(evutil_socket_t lfd, short ev, void *arg)
{
	struct ctl_client	*c;
	struct timeval		 tv;
	int			 fd, i;

	/* A bounded batch per wakeup keeps one burst from starving others. */
	for (i = 0; i < 64; i++) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				log_warn("control: accept; pausing");
				event_del(ctl_accept_ev);
				timeval_ms(&tv, CTL_EMFILE_PAUSE_MS);
				evtimer_add(ctl_pause_ev, &tv);
			} else if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn("control: accept");
			return;
		}
		c = xcalloc(1, sizeof(*c));
		c->fd = fd;
		TAILQ_INIT(&c->handovers);
		if ((c->held = evbuffer_new()) == NULL)
			fatalx("evbuffer_new failed");
		c->serial = ++ctl_serial;
		TAILQ_INIT(&c->subs);
		TAILQ_INIT(&c->later);
		peer_credentials(c);
		c->bev = bufferevent_socket_new(ctl_base, fd,
		    BEV_OPT_CLOSE_ON_FREE);
		if (c->bev == NULL) {
			close(fd);
			evbuffer_free(c->held);
			free(c->groups);
			free(c);
			continue;
		}
		bufferevent_setcb(c->bev, client_read, client_write,
		    client_event, c);
		bufferevent_setwatermark(c->bev, EV_READ, 0, CTL_IN_HIGH);
		bufferevent_enable(c->bev, EV_READ | EV_WRITE);
		TAILQ_INSERT_TAIL(&ctl_clients, c, entry);
	}
}

/*
 * A socket file already at path is either a live qmsd (refuse to start) or
 * one left by a qmsd that died (replace it).  Anything else is not ours.
 */
static int
check_existing(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un	 sun;
	struct stat		 st;
	int			 fd, rc;

	if (lstat(path, &st) == -1) {
		if (errno == ENOENT)
			return (0);
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return (-1);
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket; "
		    "not replacing it", path);
		return (-1);
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return (-1);
	}
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	if (rc == 0 || errno == EAGAIN || errno == EINPROGRESS) {
		close(fd);
		snprintf(err, errlen, "another qmsd is already running on "
		    "%s", path);
		return (-1);
	}
	close(fd);
	if (errno != ECONNREFUSED) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return (-1);
	}
	if (unlink(path) == -1) {
		snprintf(err, errlen, "cannot remove stale socket %s: %s",
		    path, strerror(errno));
		return (-1);
	}
	log_info("replaced a stale socket at %s", path);
	return (0);
}

static int
listen_path(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un	 sun;
	char			*dir, *slash;
	mode_t			 old;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "socket path too long: %s", path);
		return (-1);
	}
	strcpy(sun.sun_path, path);

	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir_p(dir, 0755) == -1) {
			snprintf(err, errlen, "%s: %s", dir, strerror(errno));
			free(dir);
			return (-1);
		}
	}
	free(dir);
	if (check_existing(path, err, errlen) == -1)
		return (-1);

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return (-1);
	}
	/* Never visible with wider rights than it ends up with. */
	old = umask(0117);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		umask(old);
		snprintf(err, errlen, "bind %s: %s", path, strerror(errno));
		close(fd);
		return (-1);
	}
	umask(old);
	if (ctl_auth.admin_gid_found &&
	    chown(path, (uid_t)-1, ctl_auth.admin_gid) == -1)
		log_warn("control: cannot give %s to group %s", path,
		    ctl_auth.admin_group);
	if (chmod(path, 0660) == -1)
		log_warn("control: chmod %s", path);
	if (listen(fd, SOMAXCONN) == -1) {
		snprintf(err, errlen, "listen %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return (-1);
	}
	ctl_path = xstrdup(path);
	return (fd);
}

/* The path systemd bound, which is what status should name. */
static char *
bound_path(int fd)
{
	struct sockaddr_un	sun;
	socklen_t		len = sizeof(sun);

	memset(&sun, 0, sizeof(sun));
	if (getsockname(fd, (struct sockaddr *)&sun, &len) == -1 ||
	    sun.sun_path[0] == '\0')
		return (NULL);
	return (xstrdup(sun.sun_path));
}

const char *
control_path(void)
{
	return (ctl_bound);
}

void
control_set_auth(const struct ctl_auth *auth)
{
	/*
	 * A socket of our own goes to the new admin group at once; one that
	 * systemd made is its (SocketGroup= in qmsd.socket).
	 */
	if (ctl_path != NULL && auth->admin_gid_found &&
	    (!ctl_auth.admin_gid_found || auth->admin_gid !=
	    ctl_auth.admin_gid) && chown(ctl_path, (uid_t)-1,
	    auth->admin_gid) == -1)
		log_warn("control: cannot give %s to group %s", ctl_path,
		    auth->admin_group);
	else if (ctl_path == NULL && ctl_bound != NULL &&
	    ctl_auth.admin_group != NULL &&
	    strcmp(auth->admin_group, ctl_auth.admin_group) != 0)
		log_warnx("control: %s is systemd's: its group follows "
		    "qmsd.socket's SocketGroup=, not admin-group", ctl_bound);
	free((char *)ctl_auth.run_as);
	free((char *)ctl_auth.admin_group);
	ctl_auth = *auth;
	ctl_auth.run_as = xstrdup(auth->run_as);
	ctl_auth.admin_group = xstrdup(auth->admin_group);
}

int
control_init(struct event_base *base, const char *path, int fd,
    const struct ctl_method *methods, size_t nmethods,
    const struct ctl_auth *auth, char *err, size_t errlen)
{
	int	flags;

	ctl_base = base;
	ctl_methods = methods;
	ctl_nmethods = nmethods;
	control_set_auth(auth);
	if (fd >= 0) {
		flags = fcntl(fd, F_GETFL);
		if (flags == -1 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1 ||
		    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
			snprintf(err, errlen, "passed socket: %s",
			    strerror(errno));
			return (-1);
		}
		if ((ctl_bound = bound_path(fd)) == NULL)
			ctl_bound = xstrdup(path);
	} else {
		if ((fd = listen_path(path, err, errlen)) == -1)
			return (-1);
		ctl_bound = xstrdup(path);
	}
	ctl_fd = fd;
	ctl_accept_ev = event_new(base, fd, EV_READ | EV_PERSIST, accept_cb,
	    NULL);
	ctl_pause_ev = evtimer_new(base, accept_resume, NULL);
	event_add(ctl_accept_ev, NULL);
	return (0);
}

void
control_shutdown(void)
{
	struct ctl_client	*c;

	while ((c = TAILQ_FIRST(&ctl_clients)) != NULL) {
		/* The last answers, as far as the socket takes them now. */
		evbuffer_write(bufferevent_get_output(c->bev), c->fd);
		client_free(c);
	}
	if (ctl_accept_ev != NULL)
		event_free(ctl_accept_ev);
	if (ctl_pause_ev != NULL)
		event_free(ctl_pause_ev);
	ctl_accept_ev = ctl_pause_ev = NULL;
	if (ctl_fd != -1)
		close(ctl_fd);
	ctl_fd = -1;
	if (ctl_path != NULL) {
		unlink(ctl_path);
		free(ctl_path);
		ctl_path = NULL;
	}
	free(ctl_bound);
	ctl_bound = NULL;
	free((char *)ctl_auth.run_as);
	free((char *)ctl_auth.admin_group);
	memset(&ctl_auth, 0, sizeof(ctl_auth));
}


struct ctl_sub *
ctl_subscribe(struct ctl_req *r, void (*cancel)(void *), void *arg)
{
	struct ctl_sub	*sub;

	if (r->client == NULL)
		return (NULL);
	sub = xcalloc(1, sizeof(*sub));
	sub->client = r->client;
	sub->cancel = cancel;
	sub->arg = arg;
	TAILQ_INSERT_TAIL(&r->client->subs, sub, entry);
	return (sub);
}

/* Whether the subscriber is too far behind: what it misses is counted. */
static int
sub_backed_up(struct ctl_sub *sub)
{
	if (pending_output(sub->client) > CTL_OUT_HIGH) {
		sub->dropped++;
		return (1);
	}
	return (0);
}

void
ctl_sub_notify(struct ctl_sub *sub, const char *method, cJSON *params)
{
	if (sub_backed_up(sub)) {
		cJSON_Delete(params);
		return;
	}
	if (sub->dropped > 0) {
		cJSON_AddNumberToObject(params, "dropped",
		    (double)sub->dropped);
		sub->dropped = 0;
	}
	send_line(sub->client, proto_encode_notification(method, params));
}

/*
 * A follower that does not keep up loses lines rather than making qmsd
 * hold them: it is told how many when it catches up.
 */
static void
follow_line(const struct logline *l, void *arg)
{
	struct ctl_follow	*f = arg;
	cJSON			*p;
	char			 note[96];
	struct logline		 gap;

	if (sub_backed_up(f->sub))
		return;
	if (f->sub->dropped > 0) {
		snprintf(note, sizeof(note), "[qmsd: %lu lines dropped: the "
		    "reader was too slow]", f->sub->dropped);
		f->sub->dropped = 0;
		gap.time = l->time;
		gap.text = note;
		follow_line(&gap, f);
	}
	p = logring_line_json(l);
	cJSON_AddStringToObject(p, "component", f->component);
	send_line(f->sub->client, proto_encode_notification("log", p));
}

static void
follow_cancel(void *arg)
{
	struct ctl_follow	*f = arg;

	logring_follow_remove(f->ring, f->handle);
	free(f);
}

void
ctl_follow_log(struct ctl_req *r, struct logring *ring, const char *name)
{
	struct ctl_follow	*f;

	f = xcalloc(1, sizeof(*f));
	if ((f->sub = ctl_subscribe(r, follow_cancel, f)) == NULL) {
		free(f);
		return;
	}
	f->ring = ring;
	snprintf(f->component, sizeof(f->component), "%s", name);
	f->handle = logring_follow_add(ring, follow_line, f);
}
