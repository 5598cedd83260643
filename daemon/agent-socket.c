/*
 * Each sealed agent's socket: see agent-socket.h.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "agent-socket.h"
#include "config.h"
#include "egress-proxy.h"
#include "http.h"
#include "log.h"
#include "util.h"

/* Connections of one agent whose first bytes have not told what they are. */
#define LINK_MAX_PENDING	64
#define LINK_PEEK_MS		10000
#define LINK_ACCEPTS		16	/* a turn, for each socket */

struct pending;

struct link {
	TAILQ_ENTRY(link)	 entry;
	TAILQ_HEAD(, pending)	 pending;
	char			 name[64];
	char			 path[108];
	uid_t			 uid;
	int			 fd;
	int			 npending;
	int			 keep;
	struct event		*ev;
};

/* A connection waiting for its first bytes. */
struct pending {
	TAILQ_ENTRY(pending)	 entry;
	struct link		*l;
	int			 fd;
	struct event		*ev;
	struct event		*timer;
};

static struct event_base	*s_base;
static TAILQ_HEAD(, link)	 s_links = TAILQ_HEAD_INITIALIZER(s_links);

char *
agent_socket_dir(const char *state_dir, const char *name)
{
	char	*d;

	xasprintf(&d, "%s/agents/%s/link", state_dir, name);
	return (d);
}

static void
pending_free(struct pending *p)
{
	TAILQ_REMOVE(&p->l->pending, p, entry);
	p->l->npending--;
	event_free(p->ev);
	event_free(p->timer);
	if (p->fd != -1)
		close(p->fd);
	free(p);
}

/*
 * What the first bytes are: 1 a proxy request (CONNECT, or a target that
 * is not a path), 0 one of qmsd's routes, -1 not known yet.  Anything not
 * a proxy request goes to the HTTP listener, which answers what it cannot
 * read.
 */
static int
classify(const char *b, size_t n)
{
	size_t	i;

	for (i = 0; i < n && i < 16; i++)
		if (b[i] == ' ')
			break;
	if (i == n)
		return (n > 16 ? 0 : -1);
	if (i == 16)
		return (0);
	if (i == 7 && memcmp(b, "CONNECT", 7) == 0)
		return (1);
	if (i + 1 == n)
		return (-1);
	return (b[i + 1] == '/' || b[i + 1] == '*' ? 0 : 1);
}

static void
on_first_bytes(evutil_socket_t fd, short ev, void *arg)
{
	struct pending	*p = arg;
	char		 buf[32];
	ssize_t		 n;
	int		 fdx, kind;

	if (ev & EV_TIMEOUT) {
		pending_free(p);
		return;
	}
	n = recv(fd, buf, sizeof(buf), MSG_PEEK);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		pending_free(p);
		return;
	}
	/* Edge-triggered: called again when more bytes come. */
	if ((kind = classify(buf, (size_t)n)) == -1)
		return;
	fdx = p->fd;
	p->fd = -1;
	if (kind == 1)
		egress_proxy_accept(fdx, p->l->name);
	else
		http_add_agent_connection(fdx, p->l->name);
	pending_free(p);
}

static void
on_accept(evutil_socket_t fd, short ev, void *arg)
{
	struct link	*l = arg;
	struct pending	*p;
	struct timeval	 tv = { LINK_PEEK_MS / 1000, 0 };
	int		 c, i;

	for (i = 0; i < LINK_ACCEPTS; i++) {
		c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c == -1) {
			if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn("agent %s: accept", l->name);
			return;
		}
		if (l->npending >= LINK_MAX_PENDING) {
			log_debug("agent %s: %d connections wait for their "
			    "first bytes; closing a new one", l->name,
			    l->npending);
			close(c);
			continue;
		}
		p = xcalloc(1, sizeof(*p));
		p->l = l;
		p->fd = c;
		TAILQ_INSERT_TAIL(&l->pending, p, entry);
		l->npending++;
		p->ev = event_new(s_base, c, EV_READ | EV_PERSIST | EV_ET,
		    on_first_bytes, p);
		p->timer = evtimer_new(s_base, on_first_bytes, p);
		event_add(p->ev, NULL);
		evtimer_add(p->timer, &tv);
	}
}

/*
 * The directory made (the owner's, 0700, nothing else in it) and the
 * socket bound in it, the owner's and 0600: the container runs as the
 * owner.  A socket left by a qmsd before is replaced.
 *
 * The directory is mounted into the container, which can put any name in
 * it at any time, a symlink to /etc/shadow in place of the socket just
 * bound for one: so while root makes the socket and sets its mode and
 * owner by its name, the directory is root's alone, and it is given to
 * the owner only once the socket is ready.
 */
static int
link_open(struct link *l, const char *dir, uid_t uid, gid_t gid)
{
	struct sockaddr_un	 sun;
	struct stat		 st;
	int			 fd, root = geteuid() == 0;

	if (mkdir_p(dir, 0700) == -1 || (root && chown(dir, 0, 0) == -1) ||
	    chmod(dir, 0700) == -1) {
		log_warn("agent %s: %s", l->name, dir);
		return (-1);
	}
	/* Whatever the owner left in the socket's place (never followed). */
	if (lstat(l->path, &st) == 0 && !S_ISDIR(st.st_mode))
		unlink(l->path);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(l->path) >= sizeof(sun.sun_path)) {
		log_warnx("agent %s: %s: path too long for a socket", l->name,
		    l->path);
		return (-1);
	}
	memcpy(sun.sun_path, l->path, strlen(l->path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    chmod(l->path, 0600) == -1 ||
	    (root && chown(l->path, uid, gid) == -1) ||
	    listen(fd, 64) == -1 || (root && chown(dir, uid, gid) == -1)) {
		log_warn("agent %s: %s", l->name, l->path);
		if (fd != -1)
			close(fd);
		return (-1);
	}
	l->fd = fd;
	l->ev = event_new(s_base, fd, EV_READ | EV_PERSIST, on_accept, l);
	event_add(l->ev, NULL);
	log_info("agent %s: listening on %s", l->name, l->path);
	return (0);
}

static void
link_close(struct link *l)
{
	while (!TAILQ_EMPTY(&l->pending))
		pending_free(TAILQ_FIRST(&l->pending));
	if (l->ev != NULL)
		event_free(l->ev);
	if (l->fd != -1) {
		close(l->fd);
		unlink(l->path);
	}
	free(l);
}

void
agent_socket_configure(const struct config *conf)
{
	const struct agent_conf	*c;
	struct link		*l, *next;
	char			*dir;
	size_t			 i;

	TAILQ_FOREACH(l, &s_links, entry)
		l->keep = 0;
	for (i = 0; i < conf->nagents; i++) {
		c = &conf->agents[i];
		if (!c->enabled || strcmp(c->network, "none") != 0)
			continue;
		TAILQ_FOREACH(l, &s_links, entry)
			if (strcmp(l->name, c->name) == 0)
				break;
		if (l != NULL && l->uid == conf->run_as_uid) {
			l->keep = 1;
			continue;
		}
		if (l != NULL) {	/* another owner: made anew */
			TAILQ_REMOVE(&s_links, l, entry);
			link_close(l);
		}
		l = xcalloc(1, sizeof(*l));
		TAILQ_INIT(&l->pending);
		l->fd = -1;
		l->uid = conf->run_as_uid;
		l->keep = 1;
		snprintf(l->name, sizeof(l->name), "%s", c->name);
		dir = agent_socket_dir(conf->state_dir, c->name);
		snprintf(l->path, sizeof(l->path), "%s/" AGENT_LINK_SOCKET,
		    dir);
		if (link_open(l, dir, conf->run_as_uid, conf->run_as_gid) ==
		    -1) {
			free(dir);
			free(l);
			continue;
		}
		free(dir);
		TAILQ_INSERT_HEAD(&s_links, l, entry);
	}
	/* Gone or changed: no new connections (those open stay). */
	for (l = TAILQ_FIRST(&s_links); l != NULL; l = next) {
		next = TAILQ_NEXT(l, entry);
		if (l->keep)
			continue;
		TAILQ_REMOVE(&s_links, l, entry);
		link_close(l);
	}
}

void
agent_socket_init(struct event_base *base)
{
	s_base = base;
	if ((event_base_get_features(base) & EV_FEATURE_ET) == 0)
		fatalx("agent sockets need an event backend with "
		    "edge-triggered events");
}

void
agent_socket_shutdown(void)
{
	struct link	*l;

	while ((l = TAILQ_FIRST(&s_links)) != NULL) {
		TAILQ_REMOVE(&s_links, l, entry);
		link_close(l);
	}
}
