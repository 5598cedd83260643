/*
 * The web console's pages: see console.h.  Every page is answered with
 * headers that keep it out of frames, caches and Referer headers; every
 * request has already had its Host and Origin checked by http.c.
 */
#include <stdio.h>
#include <string.h>

#include "console-api.h"
#include "console-auth.h"
#include "console-files.h"
#include "console-path.h"
#include "console-session-store.h"
#include "console-stream.h"
#include "console-terminal.h"
#include "console.h"
#include "http.h"
#include "log.h"
#include "token.h"
#include "util.h"

#define COOKIE		"qmsd_console"
#define HTML		"text/html; charset=utf-8"
#define MAX_BODY	(64 * 1024)	/* an action's JSON, a notify's text */
#define API		CONSOLE_PATH "api/"
#define STATIC		CONSOLE_PATH "static/"
#define NOT_LOGGED_IN	"not logged in: run qmsctl console"
#define NO_KEY		("this page has not the console's key: open the " \
			    "link qmsctl console prints")

/*
 * The page: its own scripts and styles only, talking to its own origin
 * only.  style-src has 'unsafe-inline' because xterm.js writes <style>
 * elements (its theme and cell sizes) at run time; scripts stay 'self'.
 */
static const char *const page_headers[] = {
	("Content-Security-Policy: default-src 'none'; script-src 'self'; "
	    "style-src 'self' 'unsafe-inline'; connect-src 'self'; "
	    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
	"X-Frame-Options: DENY",
	"X-Content-Type-Options: nosniff",
	"Referrer-Policy: same-origin",
	"Cross-Origin-Opener-Policy: same-origin",
	NULL
};

const char *const console_api_headers[] = {
	"Content-Security-Policy: default-src 'none'; frame-ancestors 'none'",
	"X-Frame-Options: DENY",
	"X-Content-Type-Options: nosniff",
	"Referrer-Policy: same-origin",
	"Cross-Origin-Resource-Policy: same-origin",
	NULL
};

#define PAGE_HEAD							\
	"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"			\
	"<meta charset=\"utf-8\">\n<title>qmsd console</title>\n"	\
	"</head>\n<body>\n"
#define PAGE_TAIL	"</body>\n</html>\n"

static const char page_login_again[] = PAGE_HEAD
	"<h1>This login link cannot be used</h1>\n"
	"<p>A login link works once, within a minute of its making. "
	"Run <code>qmsctl console</code> again for a new one.</p>\n"
	PAGE_TAIL;

static const char page_unauthorized[] = PAGE_HEAD
	"<h1>Not logged in</h1>\n"
	"<p>Run <code>qmsctl console</code> and open the link it prints "
	"to log in.</p>\n"
	PAGE_TAIL;

static const char page_logged_out[] = PAGE_HEAD
	"<h1>Logged out</h1>\n"
	"<p>Run <code>qmsctl console</code> to log in again.</p>\n"
	PAGE_TAIL;

static void
answer(struct http_request *r, int status, const char *extra,
    const char *extra2, const char *page)
{
	const char	*h[7] = {
		("Content-Security-Policy: default-src 'none'; "
		    "form-action 'self'; frame-ancestors 'none'"),
		"X-Frame-Options: DENY",
		"X-Content-Type-Options: nosniff",
		"Referrer-Policy: same-origin",
	};
	size_t		 n = 4;

	if (extra != NULL)
		h[n++] = extra;
	if (extra2 != NULL)
		h[n++] = extra2;
	http_respond(r, status, h, page != NULL ? HTML : NULL,
	    page != NULL ? page : "", page != NULL ? strlen(page) : 0);
}

/*
 * The session a cookie of the request names, copied into id, or -1.
 * Every qmsd_console cookie is tried, not the first only: a page on
 * another loopback port can set one for this host (cookies are not
 * port-scoped) with a longer Path, which the browser sends first.
 */
static int
session_of(struct http_request *r, char id[CONSOLE_SECRET_LEN + 1])
{
	const char	*v, *h = http_header(r, "Cookie");
	size_t		 len;

	while ((v = console_cookie(h, COOKIE, &len)) != NULL) {
		h = v + len;
		if (len != CONSOLE_SECRET_LEN)
			continue;
		memcpy(id, v, len);
		id[len] = '\0';
		if (console_session_check(id, wall_ms()))
			return (0);
	}
	explicit_bzero(id, CONSOLE_SECRET_LEN + 1);
	return (-1);
}

/*
 * A state-changing request comes from one of the console's own pages:
 * its Origin is the listener's (http.c refused any other), or, without
 * one, its Referer is one of the listener's pages.
 */
static int
same_origin(struct http_request *r)
{
	const char	*origin = http_origin(r), *v;
	size_t		 n = strlen(origin);

	if (http_header(r, "Origin") != NULL)
		return (1);
	return ((v = http_header(r, "Referer")) != NULL &&
	    strncasecmp(v, origin, n) == 0 && v[n] == '/');
}

static void
login(struct http_request *r)
{
	char	id[CONSOLE_SECRET_LEN + 1], key[CONSOLE_SECRET_LEN + 1];
	char	cookie[160], location[160];

	switch (console_link_use(http_query(r, "t"), now_ms())) {
	case CONSOLE_LINK_OK:
		break;
	case CONSOLE_LINK_EXPIRED:
		log_info("console: an expired login link was refused");
		answer(r, 403, NULL, NULL, page_login_again);
		return;
	default:
		log_info("console: an unknown or used login link was refused");
		answer(r, 403, NULL, NULL, page_login_again);
		return;
	}
	console_auth_random(id);
	console_session_add(id, wall_ms());
	console_store_save();
	/* No Max-Age: the browser forgets it when it closes. */
	snprintf(cookie, sizeof(cookie), "Set-Cookie: " COOKIE "=%s; "
	    "Path=/console; HttpOnly; SameSite=Strict", id);
	/* The page's key, in a fragment: the page keeps it, no server sees it. */
	console_session_key(id, token_host(), key);
	snprintf(location, sizeof(location), "Location: " CONSOLE_PATH "#k=%s",
	    key);
	explicit_bzero(id, sizeof(id));
	explicit_bzero(key, sizeof(key));
	log_info("console: a session began");
	answer(r, 303, cookie, location, NULL);
	explicit_bzero(cookie, sizeof(cookie));
	explicit_bzero(location, sizeof(location));
}

/*
 * Does the request carry the page's key of session id (console-auth.h),
 * in the X-Qmsd-Key header (fetch) or the k query argument (EventSource
 * and WebSocket, which cannot send headers)?
 */
static int
key_ok(struct http_request *r, const char *id)
{
	char		 want[CONSOLE_SECRET_LEN + 1];
	const char	*v;
	int		 ok;

	if ((v = http_header(r, "X-Qmsd-Key")) == NULL)
		v = http_query(r, "k");
	if (v == NULL || strlen(v) != CONSOLE_SECRET_LEN)
		return (0);
	console_session_key(id, token_host(), want);
	ok = equal_secret(v, want, CONSOLE_SECRET_LEN);
	explicit_bzero(want, sizeof(want));
	return (ok);
}

static void
logout(struct http_request *r)
{
	char	id[CONSOLE_SECRET_LEN + 1];

	if (session_of(r, id) == -1) {
		answer(r, 401, NULL, NULL, page_unauthorized);
		return;
	}
	if (!same_origin(r)) {
		answer(r, 403, NULL, NULL, PAGE_HEAD "<p>Logging out takes a "
		    "request from the console's own page.</p>\n" PAGE_TAIL);
		return;
	}
	console_session_end(id);
	console_store_save();
	console_stream_end_session(id);
	console_terminal_end_session(id);
	explicit_bzero(id, sizeof(id));
	log_info("console: a session ended (logout)");
	answer(r, 200, "Set-Cookie: " COOKIE "=; Path=/console; HttpOnly; "
	    "SameSite=Strict; Max-Age=0", NULL, page_logged_out);
}

/*
 * Sec-Fetch-Site, when the browser sends it, says who asked: the API
 * answers its own page only ("same-origin"); a page may also be opened
 * by hand ("none").  Cookies are not port-scoped: another loopback port
 * is "same-site", and refused.
 */
static int
fetch_site_ok(struct http_request *r, int page)
{
	const char	*v = http_header(r, "Sec-Fetch-Site");

	return (v == NULL || strcmp(v, "same-origin") == 0 ||
	    (page && strcmp(v, "none") == 0));
}

/* POSTs and the WebSocket: an Origin, and the listener's own. */
static int
origin_ok(struct http_request *r)
{
	const char	*v = http_header(r, "Origin");

	return (v != NULL && strcasecmp(v, http_origin(r)) == 0);
}

static void
api(struct http_request *r, const char *rest)
{
	const char	*method = http_method(r), *action, *why = NULL;
	char		 id[CONSOLE_SECRET_LEN + 1], name[128];
	char		 session[CONSOLE_SECRET_LEN + 1];
	int		 get = strcmp(method, "GET") == 0, terminal, status = 0;

	if (session_of(r, id) == -1) {
		console_api_error(r, 401, NOT_LOGGED_IN);
		return;
	}
	action = console_path_agent(rest, name, sizeof(name));
	terminal = action != NULL && strcmp(action, "terminal") == 0;
	/* Asked by the console's own page, with its key. */
	if (!fetch_site_ok(r, 0)) {
		status = 403;
		why = "the console's API answers the console's own page only";
	} else if ((!get || terminal) && !origin_ok(r)) {
		status = 403;
		why = terminal ? "a terminal needs the console's own Origin" :
		    "an action needs the console's own Origin";
	} else if (!key_ok(r, id)) {
		status = 401;
		why = NO_KEY;
	}
	if (status != 0) {
		explicit_bzero(id, sizeof(id));
		console_api_error(r, status, "%s", why);
		return;
	}
	/* Which session, in the audit log: its stored hash, in part. */
	console_session_hash(id, session);
	session[12] = '\0';
	/* A stream, a terminal, live no longer than their session. */
	if (strcmp(rest, "events") == 0 && get)
		console_stream_serve(r, id);
	else if (terminal && get)
		console_terminal_serve(r, name, id, session);
	explicit_bzero(id, sizeof(id));
	if (strcmp(rest, "state") == 0 || strcmp(rest, "events") == 0) {
		if (!get)
			console_api_error(r, 405, "%s takes GET", rest);
		else if (rest[0] == 's')
			console_api_state(r);
		return;
	}
	if (terminal) {
		if (!get)
			console_api_error(r, 405, "the terminal takes GET");
		return;
	}
	if (action == NULL) {
		console_api_error(r, 404, "no such API");
		return;
	}
	if (strcmp(method, "POST") != 0) {
		console_api_error(r, 405, "an action takes POST");
		return;
	}
	console_api_action(r, name, action, session);
}

static void
console_serve(struct http_request *r, void *arg)
{
	const char	*path = http_path(r), *method = http_method(r);
	char		 id[CONSOLE_SECRET_LEN + 1];
	int		 get;

	get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	if (strcmp(path, CONSOLE_PATH "logout") == 0) {
		if (strcmp(method, "POST") != 0)
			answer(r, 405, "Allow: POST", NULL, NULL);
		else
			logout(r);
		return;
	}
	if (strncmp(path, API, strlen(API)) == 0) {
		api(r, path + strlen(API));
		return;
	}
	if (!get) {
		answer(r, 405, "Allow: GET, HEAD", NULL, NULL);
		return;
	}
	if (strcmp(path, CONSOLE_PATH "login") == 0) {
		login(r);
		return;
	}
	if (session_of(r, id) == -1) {
		answer(r, 401, NULL, NULL, page_unauthorized);
		return;
	}
	explicit_bzero(id, sizeof(id));
	if (!fetch_site_ok(r, strcmp(path, CONSOLE_PATH) == 0)) {
		answer(r, 403, NULL, NULL, PAGE_HEAD "<p>The console is "
		    "opened from its own address only.</p>\n" PAGE_TAIL);
		return;
	}
	if (strcmp(path, CONSOLE_PATH) == 0)
		console_file_serve(r, "index.html", page_headers);
	else if (strncmp(path, STATIC, strlen(STATIC)) == 0 &&
	    strcmp(path + strlen(STATIC), "index.html") != 0)
		console_file_serve(r, path + strlen(STATIC),
		    console_api_headers);
	else
		answer(r, 404, NULL, NULL, PAGE_HEAD "<p>No such page.</p>\n"
		    PAGE_TAIL);
}

/*
 * On the head of a request with a body: a session before the body is
 * read, or a client without one could hold a connection with a body that
 * never comes.
 */
static void
console_gate(struct http_request *r, void *arg)
{
	char	id[CONSOLE_SECRET_LEN + 1];

	if (session_of(r, id) == 0) {
		explicit_bzero(id, sizeof(id));
		return;
	}
	if (strncmp(http_path(r), API, strlen(API)) == 0)
		console_api_error(r, 401, NOT_LOGGED_IN);
	else
		answer(r, 401, NULL, NULL, page_unauthorized);
}

int
console_link(char *url, size_t len, char *err, size_t errlen)
{
	char		 secret[CONSOLE_SECRET_LEN + 1];
	const char	*self;

	if ((self = http_loopback()) == NULL) {
		snprintf(err, errlen, "no loopback address is open in [http] "
		    "listen: the console is served only there");
		return (-1);
	}
	console_auth_random(secret);
	console_link_add(secret, now_ms());
	snprintf(url, len, "http://%s" CONSOLE_PATH "login?t=%s", self,
	    secret);
	explicit_bzero(secret, sizeof(secret));
	return (0);
}

size_t
console_logout_all(void)
{
	struct console_session	 s[CONSOLE_MAX_SESSIONS];
	size_t			 n;

	console_session_prune(wall_ms());
	n = console_session_list(s);
	explicit_bzero(s, sizeof(s));
	console_session_clear();
	console_store_save();
	console_stream_end_all();
	console_terminal_end_all();
	log_info("console: every session ended (%zu, by qmsctl console "
	    "--logout-all)", n);
	return (n);
}

void
console_shutdown(void)
{
	console_stream_shutdown();
	console_api_shutdown();
}

void
console_init(void)
{
	http_route_browser(CONSOLE_PATH, console_serve, NULL, MAX_BODY);
	http_route_gate(CONSOLE_PATH, console_gate);
}
