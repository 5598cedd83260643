#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "curl-loop.h"
#include "log.h"
#include "probe.h"
#include "util.h"

#define PROBE_MAX_BODY	(1024 * 1024)
#define PROBE_VERSION	"2025-06-18"

struct probe {
	CURL			*easy;
	struct curl_slist	*headers;
	char			*body;
	size_t			 len;
	int			 too_big;
	char			*session;	/* Mcp-Session-Id, to end */
	char			*content_type;
	char			 url[1024];
	uint64_t		 started;
	probe_done		 done;
	void			*arg;
};

static const char init_request[] =
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":"
    "{\"protocolVersion\":\"" PROBE_VERSION "\",\"capabilities\":{},"
    "\"clientInfo\":{\"name\":\"qmsd-probe\",\"version\":\"1\"}}}";

/* Check one JSON-RPC message; 1 if it answered, with version or err. */
static int
check_message(const char *json, size_t len, char *version, size_t vlen,
    char *err, size_t errlen, int *ok)
{
	cJSON	*root, *result, *pv, *e, *m;
	int	 answered = 0;

	if ((root = cJSON_ParseWithLength(json, len)) == NULL)
		return (0);
	result = cJSON_GetObjectItemCaseSensitive(root, "result");
	e = cJSON_GetObjectItemCaseSensitive(root, "error");
	if (result != NULL) {
		answered = 1;
		pv = cJSON_GetObjectItemCaseSensitive(result,
		    "protocolVersion");
		if (cJSON_IsString(pv) && pv->valuestring[0] != '\0') {
			snprintf(version, vlen, "%s", pv->valuestring);
			*ok = 1;
		} else
			snprintf(err, errlen, "initialize result has no "
			    "protocolVersion");
	} else if (e != NULL) {
		answered = 1;
		m = cJSON_GetObjectItemCaseSensitive(e, "message");
		snprintf(err, errlen, "initialize failed: %s",
		    cJSON_IsString(m) ? m->valuestring : "error");
	}
	cJSON_Delete(root);
	return (answered);
}

int
probe_parse_reply(const char *ctype, const char *body, size_t len,
    char *version, size_t vlen, char *err, size_t errlen)
{
	const char	*p = body, *end = body + len, *nl, *v;
	char		*data = NULL, *tmp;
	size_t		 dlen = 0, n;
	int		 ok = 0, answered = 0;

	snprintf(err, errlen, "no answer to initialize in the reply");
	if (ctype != NULL && strncasecmp(ctype, "application/json", 16) == 0) {
		answered = check_message(body, len, version, vlen, err,
		    errlen, &ok);
		if (!answered)
			snprintf(err, errlen, "reply is not a JSON-RPC answer");
		return (ok ? 0 : -1);
	}
	if (ctype == NULL || strncasecmp(ctype, "text/event-stream", 17) != 0) {
		snprintf(err, errlen, "unexpected content type %s",
		    ctype != NULL ? ctype : "(none)");
		return (-1);
	}
	/* SSE: data lines accumulate until a blank line ends the event. */
	for (;;) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n = (size_t)((nl != NULL ? nl : end) - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n == 0 && dlen > 0) {
			answered = check_message(data, dlen, version, vlen,
			    err, errlen, &ok);
			dlen = 0;
		} else if (n >= 5 && strncmp(p, "data:", 5) == 0) {
			v = p + 5;
			if (v < p + n && *v == ' ')
				v++;
			if ((tmp = realloc(data, dlen + (size_t)(p + n - v) +
			    2)) == NULL)
				break;
			data = tmp;
			if (dlen > 0)
				data[dlen++] = '\n';
			memcpy(data + dlen, v, (size_t)(p + n - v));
			dlen += (size_t)(p + n - v);
		}
		if (answered || nl == NULL)
			break;
		p = nl + 1;
	}
	/* A stream cut before its blank line still counts its last event. */
	if (!answered && dlen > 0)
		check_message(data, dlen, version, vlen, err, errlen, &ok);
	free(data);
	return (ok ? 0 : -1);
}

static size_t
probe_on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct probe	*pr = arg;
	size_t		 n = size * nmemb;
	char		*tmp;

	if (pr->len + n > PROBE_MAX_BODY) {
		pr->too_big = 1;
		return (0);
	}
	if ((tmp = realloc(pr->body, pr->len + n + 1)) == NULL)
		return (0);
	pr->body = tmp;
	memcpy(pr->body + pr->len, ptr, n);
	pr->len += n;
	pr->body[pr->len] = '\0';
	return (n);
}

/* Keep the session id: a stateful server gets its session ended. */
static size_t
probe_on_header(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct probe	*pr = arg;
	size_t		 n = size * nmemb, k = strlen("mcp-session-id:");

	if (n > k && strncasecmp(ptr, "mcp-session-id:", k) == 0) {
		free(pr->session);
		pr->session = strndup(ptr + k, n - k);
		if (pr->session != NULL)
			pr->session[strcspn(pr->session, "\r\n")] = '\0';
		if (pr->session != NULL) {
			k = strspn(pr->session, " \t");
			memmove(pr->session, pr->session + k,
			    strlen(pr->session + k) + 1);
		}
	}
	return (n);
}

/* Session ends in flight, for probe_shutdown to free. */
static struct ending {
	CURL			*easy;
	struct curl_slist	*headers;
}			 endings[16];

static void
end_session_done(CURL *easy, CURLcode rc, void *arg)
{
	struct ending	*e = arg;

	curl_slist_free_all(e->headers);
	curl_easy_cleanup(easy);
	e->easy = NULL;
}

void
probe_shutdown(void)
{
	size_t	i;

	for (i = 0; i < nitems(endings); i++) {
		if (endings[i].easy == NULL)
			continue;
		curl_loop_remove(endings[i].easy);
		curl_easy_cleanup(endings[i].easy);
		curl_slist_free_all(endings[i].headers);
		endings[i].easy = NULL;
	}
}

static void
end_session(const char *url, const char *session)
{
	struct curl_slist	*h = NULL;
	struct ending		*e = NULL;
	char			 hdr[512];
	CURL			*easy;
	size_t			 i;

	for (i = 0; i < nitems(endings) && e == NULL; i++)
		if (endings[i].easy == NULL)
			e = &endings[i];
	/* Too many in flight: the server's session ages out instead. */
	if (e == NULL || (easy = curl_easy_init()) == NULL)
		return;
	snprintf(hdr, sizeof(hdr), "Mcp-Session-Id: %s", session);
	h = curl_slist_append(h, hdr);
	h = curl_slist_append(h, "Host: localhost");
	h = curl_slist_append(h, "MCP-Protocol-Version: " PROBE_VERSION);
	curl_easy_setopt(easy, CURLOPT_URL, url);
	curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, "DELETE");
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 2000L);
	curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
	e->easy = easy;
	e->headers = h;
	curl_loop_add(easy, end_session_done, e);
}

static void
probe_free(struct probe *pr)
{
	curl_easy_cleanup(pr->easy);
	curl_slist_free_all(pr->headers);
	free(pr->body);
	free(pr->session);
	free(pr->content_type);
	free(pr);
}

static void
probe_on_done(CURL *easy, CURLcode rc, void *arg)
{
	struct probe	*pr = arg;
	char		 version[64] = "", err[256];
	long		 code = 0;
	char		*ctype = NULL;
	uint64_t	 latency = now_ms() - pr->started;
	int		 ok = 0;

	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(easy, CURLINFO_CONTENT_TYPE, &ctype);
	if (pr->too_big)
		snprintf(err, sizeof(err), "reply larger than %d bytes",
		    PROBE_MAX_BODY);
	else if (rc != CURLE_OK)
		snprintf(err, sizeof(err), "%s", curl_easy_strerror(rc));
	else if (code != 200)
		snprintf(err, sizeof(err), "initialize answered HTTP %ld", code);
	else if (probe_parse_reply(ctype, pr->body != NULL ? pr->body : "",
	    pr->len, version, sizeof(version), err, sizeof(err)) == 0)
		ok = 1;
	if (pr->session != NULL && pr->session[0] != '\0')
		end_session(pr->url, pr->session);
	pr->done(ok, ok ? version : err, latency, pr->arg);
	probe_free(pr);
}

struct probe *
probe_start(const char *url, uint64_t timeout_ms, probe_done done,
    void *arg)
{
	struct probe	*pr;

	pr = xcalloc(1, sizeof(*pr));
	if ((pr->easy = curl_easy_init()) == NULL)
		fatalx("curl_easy_init failed");
	snprintf(pr->url, sizeof(pr->url), "%s", url);
	pr->done = done;
	pr->arg = arg;
	pr->started = now_ms();
	pr->headers = curl_slist_append(NULL, "Content-Type: application/json");
	pr->headers = curl_slist_append(pr->headers,
	    "Accept: application/json, text/event-stream");
	/* The QMS MCP server checks Host against DNS rebinding. */
	pr->headers = curl_slist_append(pr->headers, "Host: localhost");
	pr->headers = curl_slist_append(pr->headers, "Expect:");
	curl_easy_setopt(pr->easy, CURLOPT_URL, url);
	curl_easy_setopt(pr->easy, CURLOPT_HTTPHEADER, pr->headers);
	curl_easy_setopt(pr->easy, CURLOPT_POSTFIELDS, init_request);
	curl_easy_setopt(pr->easy, CURLOPT_POSTFIELDSIZE,
	    (long)(sizeof(init_request) - 1));
	curl_easy_setopt(pr->easy, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(pr->easy, CURLOPT_WRITEFUNCTION, probe_on_body);
	curl_easy_setopt(pr->easy, CURLOPT_WRITEDATA, pr);
	curl_easy_setopt(pr->easy, CURLOPT_HEADERFUNCTION, probe_on_header);
	curl_easy_setopt(pr->easy, CURLOPT_HEADERDATA, pr);
	curl_easy_setopt(pr->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_loop_add(pr->easy, probe_on_done, pr);
	return (pr);
}

void
probe_cancel(struct probe *pr)
{
	if (pr == NULL)
		return;
	curl_loop_remove(pr->easy);
	probe_free(pr);
}
