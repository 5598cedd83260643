#include <sys/queue.h>
#include <sys/stat.h>

#include <errno.h>
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
static void		(*event_fn)(const cJSON *, void *);
static void		*event_arg;
#define DOCKER_READY_SUBSCRIBERS	4
static struct {
	void		(*fn)(void *);
	void		*arg;
}			 ready_subs[DOCKER_READY_SUBSCRIBERS];
static size_t		 nready_subs;
static void		(*unreach_fn)(void *);
static void		*unreach_arg;

/* The events stream, a transfer that lasts as long as the engine. */
static CURL		*ev_easy;
static char		*ev_buf;
static size_t		 ev_len;

static void	connect_engine(void);

static void
publish(void)
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

const char *
docker_socket(void)
{
	return (dk_socket);
}

const char *
docker_api_prefix(void)
{
	return (dk_version);
}

int
docker_connecting(void)
{
	return (dk_state == DK_CONNECTING);
}

void
docker_on_unreachable(void (*fn)(void *), void *arg)
{
	unreach_fn = fn;
	unreach_arg = arg;
}

const char *
docker_why(void)
{
	return (dk_why);
}

void
docker_on_event(void (*fn)(const cJSON *, void *), void *arg)
{
	event_fn = fn;
	event_arg = arg;
}

void
docker_on_ready(void (*fn)(void *), void *arg)
{
	if (nready_subs == DOCKER_READY_SUBSCRIBERS)
		fatalx("docker: too many readiness subscribers");
	ready_subs[nready_subs].fn = fn;
	ready_subs[nready_subs++].arg = arg;
}

/* Say why the socket cannot be used, in words a user can act on. */
static void
explain(CURLcode rc)
{
	struct stat	st;

	if (stat(dk_socket, &st) == -1)
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
	publish();
	if (unreach_fn != NULL)
		unreach_fn(unreach_arg);
	tv.tv_sec = (time_t)(dk_backoff / 1000);
	tv.tv_usec = (suseconds_t)(dk_backoff % 1000) * 1000;
	evtimer_add(dk_retry, &tv);
	dk_backoff = dk_backoff * 2 > DOCKER_BACKOFF_MAX ? DOCKER_BACKOFF_MAX :
	    dk_backoff * 2;
}

static size_t
on_body(char *ptr, size_t size, size_t nmemb, void *arg)
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

void
docker_request(const char *method, const char *path, const char *body,
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
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, (long)DOCKER_TIMEOUT_MS);
	TAILQ_INSERT_TAIL(&dk_reqs, r, entry);
	curl_loop_add(r->easy, request_done, r);
}

/* The events stream: JSON objects, one per line, as they happen. */
static size_t
on_events(char *ptr, size_t size, size_t nmemb, void *arg)
{
	size_t	 n = size * nmemb;
	char	*tmp, *nl, *line;
	cJSON	*ev;

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
			if (event_fn != NULL)
				event_fn(ev, event_arg);
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
		unreachable(NULL, rc == CURLE_OK ? CURLE_COULDNT_CONNECT : rc);
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
	size_t		 i;

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
	publish();
	for (i = 0; i < nready_subs; i++)
		ready_subs[i].fn(ready_subs[i].arg);
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
	dk_ping = easy;
	curl_loop_add(easy, ping_done, NULL);
}

static void
on_retry(evutil_socket_t fd, short ev, void *arg)
{
	connect_engine();
}

void
docker_init(struct event_base *base)
{
	const char	*host = getenv("DOCKER_HOST");

	dk_base = base;
	dk_comp = component_add("docker");
	dk_retry = evtimer_new(base, on_retry, NULL);
	if (host != NULL && strncmp(host, "unix://", 7) == 0)
		snprintf(dk_socket, sizeof(dk_socket), "%s", host + 7);
	else {
		if (host != NULL && host[0] != '\0')
			log_warnx("docker: DOCKER_HOST=%s is not unix://; "
			    "using /var/run/docker.sock", host);
		snprintf(dk_socket, sizeof(dk_socket),
		    "/var/run/docker.sock");
	}
	publish();
	connect_engine();
}

void
docker_configure(int needed)
{
	dk_needed = needed;
	publish();
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
}
