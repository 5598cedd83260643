/*
 * The web console's pages: see console.h.  Every page is answered with
 * headers that keep it out of frames, caches and Referer headers; every
 * request has already had its Host and Origin checked by http.c.
 */
#include <stdio.h>
#include <string.h>

#include "console-auth.h"
#include "console-terminal.h"
#include "console.h"
#include "http.h"
#include "log.h"
#include "util.h"

#define COOKIE		"qmsd_console"
#define HTML		"text/html; charset=utf-8"
#define MAX_BODY	1024		/* logout's form, if any */

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

/* Marked as what it is: the views come with the rest of issue 17. */
static const char page_placeholder[] = PAGE_HEAD
	"<h1>qmsd console</h1>\n"
	"<p><strong>Placeholder.</strong> You are logged in; the console's "
	"views (agents, servers, terminals) are not there yet: they come "
	"with the rest of issue 17.</p>\n"
	"<form method=\"post\" action=\"/console/logout\">"
	"<button type=\"submit\">Log out</button></form>\n"
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
		"Referrer-Policy: no-referrer",
	};
	size_t		 n = 4;

	if (extra != NULL)
		h[n++] = extra;
	if (extra2 != NULL)
		h[n++] = extra2;
	http_respond(r, status, h, page != NULL ? HTML : NULL,
	    page != NULL ? page : "", page != NULL ? strlen(page) : 0);
}

/* The session the request's cookie names, copied into id, or -1. */
static int
session_of(struct http_request *r, char id[CONSOLE_SECRET_LEN + 1])
{
	const char	*v;
	size_t		 len;

	v = console_cookie(http_header(r, "Cookie"), COOKIE, &len);
	if (v == NULL || len != CONSOLE_SECRET_LEN)
		return (-1);
	memcpy(id, v, len);
	id[len] = '\0';
	return (console_session_check(id, now_ms()) ? 0 : -1);
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
	char	id[CONSOLE_SECRET_LEN + 1], cookie[160];

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
	console_session_add(id, now_ms());
	/* No Max-Age: the browser forgets it when it closes. */
	snprintf(cookie, sizeof(cookie), "Set-Cookie: " COOKIE "=%s; "
	    "Path=/console; HttpOnly; SameSite=Strict", id);
	explicit_bzero(id, sizeof(id));
	log_info("console: a session began");
	answer(r, 303, cookie, "Location: " CONSOLE_PATH, NULL);
	explicit_bzero(cookie, sizeof(cookie));
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
	explicit_bzero(id, sizeof(id));
	log_info("console: a session ended (logout)");
	answer(r, 200, "Set-Cookie: " COOKIE "=; Path=/console; HttpOnly; "
	    "SameSite=Strict; Max-Age=0", NULL, page_logged_out);
}

static void
console_serve(struct http_request *r, void *arg)
{
	const char	*path = http_path(r), *method = http_method(r);
	char		 id[CONSOLE_SECRET_LEN + 1], name[64];
	int		 get;

	get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	if (strcmp(path, CONSOLE_PATH "logout") == 0) {
		if (strcmp(method, "POST") != 0)
			answer(r, 405, "Allow: POST", NULL, NULL);
		else
			logout(r);
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
	if (console_terminal_match(path, name, sizeof(name))) {
		console_terminal_serve(r, name);
		return;
	}
	if (strcmp(path, CONSOLE_PATH) != 0) {
		answer(r, 404, NULL, NULL, PAGE_HEAD "<p>No such page.</p>\n"
		    PAGE_TAIL);
		return;
	}
	answer(r, 200, NULL, NULL, page_placeholder);
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

void
console_init(void)
{
	http_route_browser(CONSOLE_PATH, console_serve, NULL, MAX_BODY);
}
