#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

#include "component.h"
#include "curl-loop.h"
#include "docker.h"
#include "log.h"
#include "util.h"

#define DOCKER_MAX_BODY		(16 * 1024 * 1024)
#define DOCKER_TIMEOUT_MS	120000	/* pulls aside, the API is quick */
#define DOCKER_BACKOFF_MIN	500
#define DOCKER_BACKOFF_MAX	30000
#define DOCKER_MAX_SUBSCRIBERS	4
#define DOCKER_ATTACH_MAX_HEAD	8192

enum dk_state { DK_CONNECTING, DK_READY, DK_UNREACHABLE };

struct docker_req {
	TAILQ_ENTRY(docker_req)	 entry;
	CURL			*easy;
	struct curl_slist	*headers;
	char			*body;
	size_t			 len;
	int			 too_big;
	char			*sent;		/* request body, kept alive */
	docker_done		 done;
	void			*arg;
};

static struct event_base *dk_base;
/* In flight, so that shutdown can free what never finished. */
static TAILQ_HEAD(, docker_req) dk_reqs = TAILQ_HEAD_INITIALIZER(dk_reqs);
static CURL		*dk_ping;
static struct component	*dk_comp;
static enum dk_state	 dk_state = DK_CONNECTING;
static char		 dk_socket[200];
static char		 dk_version[24];	/* "/v1.41" */
static char		 dk_engine[64];
static char		 dk_why[400] = "not yet contacted";
static int		 dk_needed;
static uint64_t		 dk_backoff = DOCKER_BACKOFF_MIN;
static struct event	*dk_retry;
static struct {
	void	(*fn)(const cJSON *, void *);
	void	*arg;
}			 dk_on_events[DOCKER_MAX_SUBSCRIBERS];
static size_t		 dk_nevents;

struct docker_subscribers {
	struct {
		void	(*fn)(void *);
		void	*arg;
	}		 s[DOCKER_MAX_SUBSCRIBERS];
	size_t		 n;
};
static struct docker_subscribers dk_on_ready, dk_on_unreachable;

/* An exec start being upgraded, on a connection of its own. */
struct docker_attach {
	int			 fd;
	int			 tty;
	char			 exec_id[80];
	struct event		*ev;
	docker_attach_done	 done;
	void			*arg;
	char			 head[DOCKER_ATTACH_MAX_HEAD];
	size_t			 len;
};

/* The events stream, a transfer that lasts as long as the engine. */
static CURL		*ev_easy;
static char		*ev_buf;
static size_t		 ev_len;

static void	connect_engine(void);

static void
docker_publish(void)
{
	enum health	bad = dk_needed ? HEALTH_CRITICAL : HEALTH_NONE;

	switch (dk_state) {
	case DK_READY:
		component_set(dk_comp, "ready", HEALTH_OK, "Docker Engine %s "
		    "(API %s) on %s", dk_engine, dk_version + 2, dk_socket);
		break;
	case DK_CONNECTING:
		component_set(dk_comp, "connecting", dk_needed ?
		    HEALTH_WARNING : HEALTH_NONE, "%s", dk_socket);
		break;
	case DK_UNREACHABLE:
		component_set(dk_comp, "unreachable", bad, "%s%s", dk_why,
		    dk_needed ? "" : " (no agent needs it)");
		break;
	}
}

int
docker_ready(void)
{
	return (dk_state == DK_READY);
}

int
docker_connecting(void)
{
	return (dk_state == DK_CONNECTING);
}

static void
subscribe(struct docker_subscribers *l, void (*fn)(void *), void *arg)
{
	if (l->n == nitems(l->s))
		fatalx("docker: more than %d subscribers",
		    DOCKER_MAX_SUBSCRIBERS);
	l->s[l->n].fn = fn;
	l->s[l->n++].arg = arg;
}

static void
tell(const struct docker_subscribers *l)
{
	size_t	i;

	for (i = 0; i < l->n; i++)
		l->s[i].fn(l->s[i].arg);
}

void
docker_on_unreachable(void (*fn)(void *), void *arg)
{
	subscribe(&dk_on_unreachable, fn, arg);
}

const char *
docker_why(void)
{
	return (dk_why);
}

void
docker_on_event(void (*fn)(const cJSON *, void *), void *arg)
{
	if (dk_nevents == nitems(dk_on_events))
		fatalx("docker: more than %d event subscribers",
		    DOCKER_MAX_SUBSCRIBERS);
	dk_on_events[dk_nevents].fn = fn;
	dk_on_events[dk_nevents++].arg = arg;
}

void
docker_on_ready(void (*fn)(void *), void *arg)
{
	subscribe(&dk_on_ready, fn, arg);
}

/* Say why the socket cannot be used, in words a user can act on. */
/*
 * Who is at the other end of the Docker socket: dockerd runs as root (or,
 * rootless, as qmsd's own user).  Anyone else who listens where qmsd is
 * pointed (a socket in a directory others can write, a rootless path
 * before its engine runs) would be sent every container's whole
 * specification, the agents' env-files and tokens in it: qmsd talks to
 * no such peer.  0, or -1 with dk_peer_why.
 */
static char	dk_peer_why[400];

static int
peer_is_dockerd(int fd)
{
	struct ucred	cred;
	socklen_t	len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
		snprintf(dk_peer_why, sizeof(dk_peer_why), "cannot tell who "
		    "listens on %s: %s", dk_socket, strerror(errno));
		return (-1);
	}
	if (cred.uid != 0 && cred.uid != geteuid()) {
		snprintf(dk_peer_why, sizeof(dk_peer_why), "%s is served by "
		    "uid %u (pid %ld), not by root or qmsd's user: not "
		    "Docker, refused", dk_socket, (unsigned)cred.uid,
		    (long)cred.pid);
		return (-1);
	}
	return (0);
}

/*
 * Whether the socket qmsd is pointed at can only be dockerd's: libcurl
 * (7.88) connects for itself, so who listens cannot be asked before it
 * sends.  Instead the path is trusted as sshd trusts a key file: the
 * socket is root's or qmsd's user's, and so is every directory and link
 * on the way to it, both as given and as resolved, none writable by a
 * group or others unless sticky (as /tmp: there nobody else may rename
 * or remove what is not theirs).  So nobody else can have put a listener
 * there or swap one in.  0, or -1 with dk_peer_why.
 */
static int
trusted_owner(const struct stat *st)
{
	return (st->st_uid == 0 || st->st_uid == geteuid());
}

static int
trusted_dirs(const char *path)
{
	char		 p[PATH_MAX], *slash;
	struct stat	 st;

	if (snprintf(p, sizeof(p), "%s", path) >= (int)sizeof(p))
		return (0);
	for (;;) {
		if ((slash = strrchr(p, '/')) == NULL)
			break;
		if (slash == p)
			slash[1] = '\0';	/* "/" itself */
		else
			*slash = '\0';
		if (lstat(p, &st) == -1)
			return (0);	/* connect says what is missing */
		if (!trusted_owner(&st) || (!S_ISLNK(st.st_mode) &&
		    (st.st_mode & (S_IWGRP | S_IWOTH)) &&
		    !(st.st_mode & S_ISVTX))) {
			snprintf(dk_peer_why, sizeof(dk_peer_why), "the Docker "
			    "socket %.100s is in %.100s, which others than "
			    "root or qmsd's user may change: refused (anyone "
			    "there could stand in for Docker)", dk_socket, p);
			return (-1);
		}
		if (strcmp(p, "/") == 0)
			break;
	}
	return (0);
}

static int
path_is_dockerd(void)
{
	char		 real[PATH_MAX];
	struct stat	 st;

	if (realpath(dk_socket, real) == NULL || lstat(real, &st) == -1)
		return (0);		/* no socket: connect says so */
	if (!S_ISSOCK(st.st_mode) || !trusted_owner(&st)) {
		snprintf(dk_peer_why, sizeof(dk_peer_why), "%.150s is %s of "
		    "uid %u, not root's or qmsd's user's: not Docker's, refused",
		    real, S_ISSOCK(st.st_mode) ? "a socket" : "no socket",
		    (unsigned)st.st_uid);
		return (-1);
	}
	return (trusted_dirs(dk_socket) == -1 || trusted_dirs(real) == -1 ?
	    -1 : 0);
}

/* Called by libcurl for each new connection to dockerd, before it. */
static int
on_sockopt(void *arg, curl_socket_t fd, curlsocktype purpose)
{
	dk_peer_why[0] = '\0';
	return (path_is_dockerd() == 0 ? CURL_SOCKOPT_OK : CURL_SOCKOPT_ERROR);
}

static void
explain(CURLcode rc)
{
	struct stat	st;

	if (dk_peer_why[0] != '\0')
		snprintf(dk_why, sizeof(dk_why), "%.399s", dk_peer_why);
	else if (stat(dk_socket, &st) == -1)
		snprintf(dk_why, sizeof(dk_why), "no Docker socket at %s (is "
		    "dockerd running?)", dk_socket);
	else if (access(dk_socket, R_OK | W_OK) == -1)
		snprintf(dk_why, sizeof(dk_why), "permission denied on %s (qmsd "
		    "needs root or the docker group)", dk_socket);
	else if (rc == CURLE_COULDNT_CONNECT)
		snprintf(dk_why, sizeof(dk_why), "nothing answers on %s (dockerd "
		    "stopped?)", dk_socket);
	else
		snprintf(dk_why, sizeof(dk_why), "%s: %s", dk_socket,
		    curl_easy_strerror(rc));
}

/* why: what to tell users, or NULL to work it out from rc. */
static void
unreachable(const char *why, CURLcode rc)
{
	struct timeval	tv;

	if (ev_easy != NULL) {
		curl_loop_remove(ev_easy);
		curl_easy_cleanup(ev_easy);
		ev_easy = NULL;
	}
	if (why != NULL)
		snprintf(dk_why, sizeof(dk_why), "%s", why);
	else
		explain(rc);
	if (dk_state != DK_UNREACHABLE)
		log_warnx("docker: %s", dk_why);
	dk_state = DK_UNREACHABLE;
	docker_publish();
	tell(&dk_on_unreachable);
	timeval_ms(&tv, dk_backoff);
	evtimer_add(dk_retry, &tv);
	dk_backoff = dk_backoff * 2 > DOCKER_BACKOFF_MAX ? DOCKER_BACKOFF_MAX :
	    dk_backoff * 2;
}

static size_t
docker_on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct docker_req	*r = arg;
	size_t			 n = size * nmemb;
	char			*tmp;

	if (r->len + n > DOCKER_MAX_BODY) {
		r->too_big = 1;
		return (0);
	}
	if ((tmp = realloc(r->body, r->len + n + 1)) == NULL)
		return (0);
	r->body = tmp;
	memcpy(r->body + r->len, ptr, n);
	r->len += n;
	r->body[r->len] = '\0';
	return (n);
}

static CURL *
make_easy(const char *method, const char *path, int versioned)
{
	char	 url[1024];
	CURL	*easy;

	if ((easy = curl_easy_init()) == NULL)
		fatalx("curl_easy_init failed");
	/* The host part is ignored on a Unix socket; "docker" reads well. */
	snprintf(url, sizeof(url), "http://docker%s%s", versioned ?
	    dk_version : "", path);
	curl_easy_setopt(easy, CURLOPT_UNIX_SOCKET_PATH, dk_socket);
	curl_easy_setopt(easy, CURLOPT_SOCKOPTFUNCTION, on_sockopt);
	curl_easy_setopt(easy, CURLOPT_URL, url);
	curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http");
	return (easy);
}

static void
request_done(CURL *easy, CURLcode rc, void *arg)
{
	struct docker_req	*r = arg;
	struct docker_reply	 reply;
	const cJSON		*m;
	char			 why[420];

	memset(&reply, 0, sizeof(reply));
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &reply.status);
	if (rc != CURLE_OK) {
		reply.status = 0;
		if (r->too_big)
			snprintf(why, sizeof(why), "Docker's answer is larger "
			    "than %d bytes", DOCKER_MAX_BODY);
		else {
			explain(rc);
			snprintf(why, sizeof(why), "%s", dk_why);
		}
		reply.error = why;
	} else {
		if (r->body != NULL)
			reply.json = cJSON_ParseWithLength(r->body, r->len);
		if (reply.status >= 400) {
			m = cJSON_GetObjectItemCaseSensitive(reply.json,
			    "message");
			snprintf(why, sizeof(why), "%s", cJSON_IsString(m) ?
			    m->valuestring : r->body != NULL ? r->body :
			    "error without a message");
			why[strcspn(why, "\n")] = '\0';
			reply.error = why;
		}
	}
	TAILQ_REMOVE(&dk_reqs, r, entry);
	r->done(&reply, r->arg);
	cJSON_Delete(reply.json);
	curl_slist_free_all(r->headers);
	curl_easy_cleanup(easy);
	free(r->body);
	free(r->sent);
	free(r);
	/* A failed transfer may mean the engine went away. */
	if (rc == CURLE_COULDNT_CONNECT && dk_state == DK_READY)
		unreachable(NULL, rc);
}

static void
request(const char *method, const char *path, const char *body, int fresh,
    docker_done done, void *arg)
{
	struct docker_req	*r;

	r = xcalloc(1, sizeof(*r));
	r->done = done;
	r->arg = arg;
	r->easy = make_easy(method, path, 1);
	r->headers = curl_slist_append(NULL, "Expect:");
	if (body != NULL) {
		r->sent = xstrdup(body);
		r->headers = curl_slist_append(r->headers,
		    "Content-Type: application/json");
		curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->sent);
		curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE,
		    (long)strlen(r->sent));
	}
	curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, docker_on_body);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, (long)DOCKER_TIMEOUT_MS);
	if (fresh) {
		curl_easy_setopt(r->easy, CURLOPT_FRESH_CONNECT, 1L);
		curl_easy_setopt(r->easy, CURLOPT_FORBID_REUSE, 1L);
	}
	TAILQ_INSERT_TAIL(&dk_reqs, r, entry);
	curl_loop_add(r->easy, request_done, r);
}

void
docker_request(const char *method, const char *path, const char *body,
    docker_done done, void *arg)
{
	request(method, path, body, 0, done, arg);
}

void
docker_request_fresh(const char *method, const char *path, docker_done done,
    void *arg)
{
	request(method, path, NULL, 1, done, arg);
}

/* The events stream: JSON objects, one per line, as they happen. */
static size_t
on_events(char *ptr, size_t size, size_t nmemb, void *arg)
{
	size_t	 n = size * nmemb;
	char	*tmp, *nl, *line;
	cJSON	*ev;
	size_t	 i;

	if ((tmp = realloc(ev_buf, ev_len + n + 1)) == NULL)
		return (0);
	ev_buf = tmp;
	memcpy(ev_buf + ev_len, ptr, n);
	ev_len += n;
	ev_buf[ev_len] = '\0';
	line = ev_buf;
	while ((nl = memchr(line, '\n', ev_len - (size_t)(line - ev_buf))) !=
	    NULL) {
		*nl = '\0';
		if ((ev = cJSON_Parse(line)) != NULL) {
			for (i = 0; i < dk_nevents; i++)
				dk_on_events[i].fn(ev, dk_on_events[i].arg);
			cJSON_Delete(ev);
		}
		line = nl + 1;
	}
	ev_len -= (size_t)(line - ev_buf);
	memmove(ev_buf, line, ev_len);
	return (n);
}

static void
events_done(CURL *easy, CURLcode rc, void *arg)
{
	curl_easy_cleanup(easy);
	ev_easy = NULL;
	ev_len = 0;
	if (dk_state == DK_READY) {
		log_warnx("docker: the events stream ended (%s)",
		    curl_easy_strerror(rc));
		/* In qmsd's words, not libcurl's "partial file". */
		if (access(dk_socket, F_OK) == -1)
			unreachable(NULL, CURLE_COULDNT_CONNECT);
		else
			unreachable("Docker went away (its events stream "
			    "ended: dockerd stopped or restarted?)",
			    CURLE_COULDNT_CONNECT);
	}
}

static void
start_events(void)
{
	char	path[256];

	/* filters={"label":["io.qmsd.agent"]}, URL-encoded */
	snprintf(path, sizeof(path), "/events?filters=%%7B%%22label%%22%%3A"
	    "%%5B%%22%s%%22%%5D%%7D", DOCKER_LABEL_AGENT);
	ev_easy = make_easy("GET", path, 1);
	curl_easy_setopt(ev_easy, CURLOPT_WRITEFUNCTION, on_events);
	curl_loop_add(ev_easy, events_done, NULL);
}

static void
version_done(const struct docker_reply *r, void *arg)
{
	const cJSON	*v;

	if (r->status != 200) {
		unreachable(r->error != NULL ? r->error :
		    "no answer to /version", CURLE_COULDNT_CONNECT);
		return;
	}
	v = cJSON_GetObjectItemCaseSensitive(r->json, "Version");
	snprintf(dk_engine, sizeof(dk_engine), "%s", cJSON_IsString(v) ?
	    v->valuestring : "?");
	dk_state = DK_READY;
	dk_backoff = DOCKER_BACKOFF_MIN;
	log_info("docker: Docker Engine %s, API %s", dk_engine,
	    dk_version + 2);
	start_events();
	docker_publish();
	tell(&dk_on_ready);
}

static size_t
on_ping_header(char *ptr, size_t size, size_t nmemb, void *arg)
{
	size_t	n = size * nmemb, k = strlen("api-version:");
	char	v[16];
	size_t	i, j = 0;

	if (n > k && strncasecmp(ptr, "api-version:", k) == 0) {
		for (i = k; i < n && j < sizeof(v) - 1; i++)
			if ((ptr[i] >= '0' && ptr[i] <= '9') || ptr[i] == '.')
				v[j++] = ptr[i];
		v[j] = '\0';
		if (j > 0)
			snprintf(dk_version, sizeof(dk_version), "/v%s", v);
	}
	return (n);
}

static void
ping_done(CURL *easy, CURLcode rc, void *arg)
{
	char	why[400];
	long	code = 0;

	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(easy);
	dk_ping = NULL;
	if (rc != CURLE_OK) {
		unreachable(NULL, rc);
		return;
	}
	if (code != 200 || dk_version[0] == '\0') {
		snprintf(why, sizeof(why), "%s answered /_ping with HTTP %ld "
		    "and no API version: not a Docker Engine?", dk_socket,
		    code);
		unreachable(why, rc);
		return;
	}
	docker_request("GET", "/version", NULL, version_done, NULL);
}

/* /_ping answers "OK"; the header is what counts. */
static size_t
discard(char *ptr, size_t size, size_t nmemb, void *arg)
{
	return (size * nmemb);
}

static void
connect_engine(void)
{
	CURL	*easy;

	dk_version[0] = '\0';
	easy = make_easy("GET", "/_ping", 0);
	curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_ping_header);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 5000L);
	/*
	 * A connection of its own: a stopping dockerd has closed its socket
	 * and still answers on the connections it has, and an engine found
	 * ready there would be gone a moment later.
	 */
	curl_easy_setopt(easy, CURLOPT_FRESH_CONNECT, 1L);
	dk_ping = easy;
	curl_loop_add(easy, ping_done, NULL);
}

static void
docker_on_retry(evutil_socket_t fd, short ev, void *arg)
{
	connect_engine();
}

/*
 * Where the engine listens: [docker] socket if set, else DOCKER_HOST (as
 * the docker CLI reads it), else Docker's default.
 */
static void
choose_socket(const char *key, char *out, size_t outlen, int warn)
{
	const char	*host = getenv("DOCKER_HOST");

	if (key != NULL)
		snprintf(out, outlen, "%s", key);
	else if (host != NULL && strncmp(host, "unix://", 7) == 0)
		snprintf(out, outlen, "%s", host + 7);
	else {
		if (warn && host != NULL && host[0] != '\0')
			log_warnx("docker: DOCKER_HOST=%s is not unix://; "
			    "using /var/run/docker.sock", host);
		snprintf(out, outlen, "/var/run/docker.sock");
	}
}

void
docker_init(struct event_base *base, const char *socket)
{
	dk_base = base;
	dk_comp = component_add("docker");
	dk_retry = evtimer_new(base, docker_on_retry, NULL);
	choose_socket(socket, dk_socket, sizeof(dk_socket), 1);
	docker_publish();
	connect_engine();
}

void
docker_configure(int needed, const char *socket)
{
	char	path[sizeof(dk_socket)];

	/*
	 * Another engine under running agents would have qmsd adopt, make
	 * and stop containers of two engines as one; like the control
	 * socket, a new one waits for the next start.
	 */
	choose_socket(socket, path, sizeof(path), 0);
	if (strcmp(path, dk_socket) != 0)
		log_warnx("docker: socket %s takes effect at the next start; "
		    "still using %s", path, dk_socket);
	dk_needed = needed;
	docker_publish();
}

void
docker_shutdown(void)
{
	struct docker_req	*r;

	/* Whoever waited on these is gone already; just let them go. */
	while ((r = TAILQ_FIRST(&dk_reqs)) != NULL) {
		TAILQ_REMOVE(&dk_reqs, r, entry);
		curl_loop_remove(r->easy);
		curl_easy_cleanup(r->easy);
		curl_slist_free_all(r->headers);
		free(r->body);
		free(r->sent);
		free(r);
	}
	if (dk_ping != NULL) {
		curl_loop_remove(dk_ping);
		curl_easy_cleanup(dk_ping);
		dk_ping = NULL;
	}
	if (ev_easy != NULL) {
		curl_loop_remove(ev_easy);
		curl_easy_cleanup(ev_easy);
		ev_easy = NULL;
	}
	free(ev_buf);
	ev_buf = NULL;
	if (dk_retry != NULL)
		event_free(dk_retry);
	dk_retry = NULL;
	component_remove(dk_comp);
	dk_comp = NULL;
	memset(&dk_on_ready, 0, sizeof(dk_on_ready));
	memset(&dk_on_unreachable, 0, sizeof(dk_on_unreachable));
	dk_nevents = 0;
}

/* ---- the upgraded exec start ---- */

void
docker_attach_cancel(struct docker_attach *at)
{
	if (at->ev != NULL)
		event_free(at->ev);
	if (at->fd != -1)
		close(at->fd);
	free(at);
}

static void
attach_fail(struct docker_attach *at, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
attach_fail(struct docker_attach *at, const char *fmt, ...)
{
	docker_attach_done	 done = at->done;
	void			*arg = at->arg;
	char			 why[600];
	va_list			 ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	docker_attach_cancel(at);
	done(arg, why, -1, NULL, 0);
}

static void
attach_event(evutil_socket_t fd, short ev, void *arg)
{
	struct docker_attach	*at = arg;
	docker_attach_done	 done;
	char			 req[512], body[64], *rest;
	ssize_t			 n;
	size_t			 nrest;
	int			 len, code;

	if (ev & EV_WRITE) {
		if (peer_is_dockerd(fd) == -1) {
			attach_fail(at, "%s", dk_peer_why);
			return;
		}
		/* Connected: send the start request with the upgrade. */
		snprintf(body, sizeof(body), "{\"Detach\":false,\"Tty\":%s}",
		    at->tty ? "true" : "false");
		len = snprintf(req, sizeof(req), "POST %s/exec/%s/start "
		    "HTTP/1.1\r\nHost: docker\r\nContent-Type: "
		    "application/json\r\nConnection: Upgrade\r\nUpgrade: "
		    "tcp\r\nContent-Length: %zu\r\n\r\n%s", dk_version,
		    at->exec_id, strlen(body), body);
		if (write(fd, req, (size_t)len) != len) {
			attach_fail(at, "cannot start the exec: %s",
			    strerror(errno));
			return;
		}
		event_free(at->ev);
		at->ev = event_new(dk_base, fd, EV_READ | EV_PERSIST,
		    attach_event, at);
		event_add(at->ev, NULL);
		return;
	}
	n = read(fd, at->head + at->len, sizeof(at->head) - at->len - 1);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		attach_fail(at, "dockerd closed the exec connection");
		return;
	}
	at->len += (size_t)n;
	at->head[at->len] = '\0';
	if ((rest = strstr(at->head, "\r\n\r\n")) == NULL) {
		if (at->len == sizeof(at->head) - 1)
			attach_fail(at, "dockerd's answer to the exec start is "
			    "too long");
		return;
	}
	if (sscanf(at->head, "HTTP/1.%*d %d", &code) != 1 ||
	    (code != 101 && code != 200)) {
		at->head[strcspn(at->head, "\r\n")] = '\0';
		attach_fail(at, "dockerd refused the exec start: %s", at->head);
		return;
	}
	/* The stream is blocking for qmsctl, which relays with poll. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	rest += 4;
	nrest = at->len - (size_t)(rest - at->head);
	done = at->done;
	arg = at->arg;
	at->fd = -1;		/* the caller's now */
	/* Bytes dockerd sent past its headers belong to the stream. */
	done(arg, NULL, fd, rest, nrest);
	docker_attach_cancel(at);
}

struct docker_attach *
docker_exec_attach(const char *exec_id, int tty, docker_attach_done done,
    void *arg, char *err, size_t errlen)
{
	struct docker_attach	*at;
	struct sockaddr_un	 sun;

	at = xcalloc(1, sizeof(*at));
	at->tty = tty;
	at->done = done;
	at->arg = arg;
	snprintf(at->exec_id, sizeof(at->exec_id), "%s", exec_id);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(dk_socket) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "the Docker socket's path is too long: "
		    "%s", dk_socket);
		free(at);
		return (NULL);
	}
	memcpy(sun.sun_path, dk_socket, strlen(dk_socket));
	at->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (at->fd == -1 || (connect(at->fd, (struct sockaddr *)&sun,
	    sizeof(sun)) == -1 && errno != EINPROGRESS && errno != EAGAIN)) {
		snprintf(err, errlen, "cannot reach dockerd at %s: %s",
		    dk_socket, strerror(errno));
		docker_attach_cancel(at);
		return (NULL);
	}
	at->ev = event_new(dk_base, at->fd, EV_WRITE, attach_event, at);
	event_add(at->ev, NULL);
	return (at);
}
