#include <sys/queue.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "agent.h"
#include "audit-log.h"
#include "component.h"
#include "curl-loop.h"
#include "gateway.h"
#include "gateway-body.h"
#include "http.h"
#include "log.h"
#include "supervisor.h"
#include "util.h"

#define GW_CONNECT_TIMEOUT_MS	5000
#define GW_POST_TIMEOUT_MS	300000	/* a tool call may take a while */
#define GW_MAX_REPLY		(64 * 1024 * 1024)

/* What a client may send on; everything else stays behind. */
static const char *const passed_headers[] = {
	"Content-Type", "Accept", "MCP-Protocol-Version", "Mcp-Session-Id",
	"Last-Event-ID",
};
/* What the child answers with that the client needs. */
static const char *const returned_headers[] = {
	"Mcp-Session-Id", "MCP-Protocol-Version",
};

struct relay {
	struct http_request	*origin;	/* whose body comes in */
	struct http_request	*req;		/* until the answer began */
	struct http_stream	*stream;	/* once it began */
	CURL			*easy;
	struct curl_slist	*headers;
	long			 status;
	char			 ctype[128];
	char			*back[nitems(returned_headers) + 1];
	size_t			 nback;
	size_t			 total;
	int			 paused;
	int			 is_get;
	/* The request body; a POST's, once whole, as qmsd read it. */
	char			*up;
	size_t			 up_len;
	long long		 up_announced;	/* told upstream, or -1 */
	long long		 up_in;		/* had from the client */
	long long		 up_out;	/* given to curl */
	int			 up_done;
	int			 up_waiting;	/* curl asked, none was there */
	/* A POST goes upstream once whole, and its tool calls recorded. */
	int			 held;
	/* Its tool calls' records, each waited for: all, or it goes not. */
	struct call_record {
		struct relay		*relay;
		struct audit_wait	*wait;
	}			 calls[GATEWAY_MAX_BATCH];
	int			 ncalls, waiting;
	char			 record_error[300];
	TAILQ_ENTRY(relay)	 entry;
};

static TAILQ_HEAD(, relay) relays = TAILQ_HEAD_INITIALIZER(relays);

static void	gw_on_done(CURL *, CURLcode, void *);
static struct supervisor *gw_sv;
static struct component	*gw_comp;
static unsigned long	 gw_served, gw_failed, gw_cancelled;
static char		 gw_last_error[256] = "none";

static size_t
gw_active(void)
{
	struct relay	*r;
	size_t		 n = 0;

	TAILQ_FOREACH(r, &relays, entry)
		n++;
	return (n);
}

static void
gw_publish(void)
{
	component_set(gw_comp, "ready", HEALTH_OK, "/qms/mcp -> %s: %lu "
	    "served, %lu failed; last error: %s", supervisor_url(gw_sv),
	    gw_served, gw_failed, gw_last_error);
	component_set_field(gw_comp, "served",
	    cJSON_CreateNumber((double)gw_served));
	component_set_field(gw_comp, "failed",
	    cJSON_CreateNumber((double)gw_failed));
	component_set_field(gw_comp, "last_error",
	    cJSON_CreateString(gw_last_error));
	component_set_field(gw_comp, "cancelled",
	    cJSON_CreateNumber((double)gw_cancelled));
	component_set_field(gw_comp, "active",
	    cJSON_CreateNumber((double)gw_active()));
}

static void
failed(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
failed(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(gw_last_error, sizeof(gw_last_error), fmt, ap);
	va_end(ap);
	gw_failed++;
	gw_publish();
}

static void
relay_free(struct relay *r)
{
	size_t	i;

	TAILQ_REMOVE(&relays, r, entry);
	for (i = 0; i < (size_t)r->ncalls; i++)
		audit_forget(r->calls[i].wait);
	if (r->easy != NULL) {
		if (!r->held)
			curl_loop_remove(r->easy);
		curl_easy_cleanup(r->easy);
	}
	curl_slist_free_all(r->headers);
	for (i = 0; i < r->nback; i++)
		free(r->back[i]);
	free(r->up);
	free(r);
	if (gw_comp != NULL)
		gw_publish();
}

/* The client went away: the upstream request goes with it. */
static void
on_abort(void *arg)
{
	struct relay	*r = arg;

	r->stream = NULL;
	gw_cancelled++;
	relay_free(r);
}

/* The client left before the child answered: the request goes. */
static void
on_gone(void *arg)
{
	struct relay	*r = arg;

	r->req = NULL;
	gw_cancelled++;
	relay_free(r);
}

static void
on_drain(void *arg)
{
	struct relay	*r = arg;

	if (r->paused && r->easy != NULL) {
		r->paused = 0;
		curl_easy_pause(r->easy, CURLPAUSE_CONT);
	}
}

/* The child's status and headers are in: the answer to the client begins. */
static void
begin(struct relay *r)
{
	r->back[r->nback] = NULL;
	http_on_gone(r->req, NULL, NULL);
	r->stream = http_respond_stream(r->req, (int)r->status,
	    (const char *const *)r->back, r->ctype[0] ? r->ctype : NULL,
	    on_abort, on_drain, r);
	r->req = NULL;
}

static size_t
gw_on_header(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct relay	*r = arg;
	size_t		 n = size * nmemb, i, k;
	char		*line;

	if (r->stream != NULL)
		return (n);
	if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
		r->status = strtol(ptr + 9, NULL, 10);
		r->ctype[0] = '\0';
		return (n);
	}
	if (n <= 2 && (ptr[0] == '\r' || ptr[0] == '\n')) {
		/* End of a header block; 1xx blocks are not the answer. */
		if (r->status >= 200)
			begin(r);
		return (n);
	}
	if (n > 13 && strncasecmp(ptr, "Content-Type:", 13) == 0) {
		snprintf(r->ctype, sizeof(r->ctype), "%.*s", (int)(n - 13),
		    ptr + 13);
		r->ctype[strcspn(r->ctype, "\r\n")] = '\0';
		memmove(r->ctype, r->ctype + strspn(r->ctype, " "),
		    strlen(r->ctype + strspn(r->ctype, " ")) + 1);
		return (n);
	}
	for (i = 0; i < nitems(returned_headers); i++) {
		k = strlen(returned_headers[i]);
		if (n > k + 1 && strncasecmp(ptr, returned_headers[i], k) ==
		    0 && ptr[k] == ':' && r->nback < nitems(returned_headers)) {
			line = strndup(ptr, n);
			if (line != NULL) {
				line[strcspn(line, "\r\n")] = '\0';
				r->back[r->nback++] = line;
			}
		}
	}
	return (n);
}

static size_t
gw_on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct relay	*r = arg;
	size_t		 n = size * nmemb;

	if (r->stream == NULL)
		return (n);	/* a 1xx body, or the client has gone */
	r->total += n;
	/* A long-lived event stream (GET) is not one answer: no cap. */
	if (r->total > GW_MAX_REPLY && !r->is_get)
		return (0);
	/* Passed on as it comes: an SSE event reaches the client at once. */
	if (http_stream_write(r->stream, ptr, n) == -1) {
		/* Taken; no more until the client has read it. */
		r->paused = 1;
		curl_easy_pause(r->easy, CURLPAUSE_RECV);
	}
	return (n);
}

/* curl wants more of the request body. */
static size_t
on_read(char *buf, size_t size, size_t nmemb, void *arg)
{
	struct relay	*r = arg;
	size_t		 n = size * nmemb;

	/*
	 * The upstream framing holds whatever the client sent: curl is never
	 * given a byte past the length it announced, and a body that came
	 * out longer or shorter than announced ends the upstream request
	 * rather than leave bytes for the child to read as a request of
	 * their own.  (http.c refuses what would make them differ; this is
	 * where it would matter if it did not.)
	 */
	if (r->up_announced != -1 && (r->up_in > r->up_announced ||
	    (r->up_done && r->up_in != r->up_announced)))
		return (CURL_READFUNC_ABORT);
	if (r->up_len == 0) {
		if (r->up_done)
			return (0);
		r->up_waiting = 1;
		return (CURL_READFUNC_PAUSE);
	}
	if (n > r->up_len)
		n = r->up_len;
	memcpy(buf, r->up, n);
	memmove(r->up, r->up + n, r->up_len - n);
	r->up_len -= n;
	r->up_out += (long long)n;
	return (n);
}

static struct relay *
find_relay(struct http_request *req)
{
	struct relay	*r;

	TAILQ_FOREACH(r, &relays, entry)
		if (r->origin == req)
			return (r);
	return (NULL);
}

/* Recorded (or not): the request goes upstream, or is refused. */
static void
calls_recorded(void *arg, const char *error)
{
	struct relay	*r = arg;
	char		 msg[600];

	if (error != NULL) {
		snprintf(msg, sizeof(msg), "qmsd could not record this tool "
		    "call: %s", error);
		failed("%s", msg);
		http_respond_rpc_error(r->req, 503, NULL, -32000, msg);
		r->req = NULL;
		relay_free(r);
		return;
	}
	r->held = 0;
	curl_loop_add(r->easy, gw_on_done, r);
}

/* One tool call's record: once all are, the request goes, or not. */
static void
call_recorded(void *arg, const char *error)
{
	struct call_record	*c = arg;
	struct relay		*r = c->relay;

	c->wait = NULL;
	if (error != NULL && r->record_error[0] == '\0')
		snprintf(r->record_error, sizeof(r->record_error), "%s",
		    error);
	if (--r->waiting == 0)
		calls_recorded(r, r->record_error[0] != '\0' ?
		    r->record_error : NULL);
}

/*
 * The body is whole.  It is parsed, and what goes upstream is what qmsd
 * read: cJSON's own writing of it, not the client's bytes, so that the
 * child runs exactly the messages recorded here whatever the two parsers
 * would make of the same bytes.  What cannot be read and written again
 * as it came is refused.  Each tools/call is recorded (the tool's name
 * and the caller, never the arguments), and the request goes upstream
 * once they are on disk.
 */
static void
record_calls(struct relay *r)
{
	const char	*who = http_identity(r->origin);
	const cJSON	*msg, *m, *p, *name;
	const char	*in = r->up != NULL ? r->up : "";
	cJSON		*all, *o;
	char		*out, msgbuf[160];
	size_t		 len;
	int		 code;

	if ((all = gateway_body_read(in, r->up_len, &out, &code, msgbuf,
	    sizeof(msgbuf))) == NULL) {
		http_respond_rpc_error(r->req, 400, NULL, code, msgbuf);
		goto refused;
	}
	len = strlen(out);
	free(r->up);
	r->up = out;
	r->up_len = len;
	r->up_in = r->up_announced = (long long)len;
	curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)len);
	for (msg = cJSON_IsArray(all) ? all->child : all; msg != NULL;
	    msg = cJSON_IsArray(all) ? msg->next : NULL) {
		m = cJSON_GetObjectItemCaseSensitive(msg, "method");
		p = cJSON_GetObjectItemCaseSensitive(msg, "params");
		if (!cJSON_IsString(m) || strcmp(m->valuestring,
		    "tools/call") != 0)
			continue;
		name = cJSON_GetObjectItemCaseSensitive(p, "name");
		o = cJSON_CreateObject();
		if (strcmp(who, "host") != 0)
			cJSON_AddStringToObject(o, "agent", who);
		cJSON_AddStringToObject(o, "caller", who);
		cJSON_AddStringToObject(o, "server", "qms");
		cJSON_AddStringToObject(o, "tool", cJSON_IsString(name) ?
		    name->valuestring : "");
		/* Each waited for: one refused (past the agent's share, say)
		 * while the next is not must not let the batch go. */
		r->calls[r->ncalls].relay = r;
		r->waiting++;
		r->calls[r->ncalls].wait = audit_record("tool", o,
		    call_recorded, &r->calls[r->ncalls]);
		r->ncalls++;
	}
	cJSON_Delete(all);
	if (r->ncalls == 0)
		calls_recorded(r, NULL);
	return;
refused:
	r->req = NULL;
	relay_free(r);
}

/* The client's body, a piece at a time: on to the child as it comes. */
static void
body(struct http_request *req, const char *data, size_t len, int end,
    void *arg)
{
	struct relay	*r = find_relay(req);
	char		*tmp;

	if (r == NULL)
		return;		/* answered already (503) */
	if (end == -1) {
		/* Too large: http answers 413; the upstream request goes. */
		r->req = NULL;
		relay_free(r);
		return;
	}
	if (end) {
		r->up_done = 1;
		if (r->held) {
			record_calls(r);
			return;
		}
	} else {
		if ((tmp = realloc(r->up, r->up_len + len)) == NULL)
			fatal("realloc");
		r->up = tmp;
		memcpy(r->up + r->up_len, data, len);
		r->up_len += len;
		r->up_in += (long long)len;
	}
	if (r->up_waiting && r->easy != NULL) {
		r->up_waiting = 0;
		curl_easy_pause(r->easy, CURLPAUSE_CONT);
	}
}

static void
gw_on_done(CURL *easy, CURLcode rc, void *arg)
{
	struct relay	*r = arg;
	char		 msg[300];

	curl_easy_cleanup(easy);
	r->easy = NULL;
	if (r->stream == NULL && r->req != NULL) {
		/* No answer at all from the child. */
		snprintf(msg, sizeof(msg), "qms-mcp did not answer: %s",
		    curl_easy_strerror(rc));
		failed("%s", msg);
		http_respond_rpc_error(r->req, 502, NULL, -32603, msg);
		r->req = NULL;
	} else if (r->stream != NULL) {
		if (rc != CURLE_OK)
			failed("qms-mcp answer cut short: %s",
			    r->total > GW_MAX_REPLY ? "too large" :
			    curl_easy_strerror(rc));
		else {
			gw_served++;
			gw_publish();
		}
		/* A cut answer ends in an error the client sees. */
		http_stream_end(r->stream, rc != CURLE_OK);
		r->stream = NULL;
	}
	relay_free(r);
}

/* Why the child cannot take a request now, in words. */
static int
not_ready(char *msg, size_t len)
{
	uint64_t	next;

	if (supervisor_ready(gw_sv))
		return (0);
	next = supervisor_next_start(gw_sv);
	if (next > 0)
		snprintf(msg, len, "qms-mcp is in %s, next start in %.1f s",
		    supervisor_state_name(gw_sv), (double)next / 1000);
	else
		snprintf(msg, len, "qms-mcp is %s: %s",
		    supervisor_state_name(gw_sv), supervisor_detail(gw_sv));
	return (1);
}

static void
gw_serve(struct http_request *req, void *arg)
{
	char		 retry_after[32];
	const char	*retry[] = { retry_after, NULL };
	const char	*who = http_identity(req), *v, *inst;
	struct relay	*r;
	char		 msg[600], line[300], *field;
	size_t		 i;

	snprintf(retry_after, sizeof(retry_after), "Retry-After: %llu",
	    (unsigned long long)(supervisor_next_start(gw_sv) + 999) / 1000 +
	    (supervisor_next_start(gw_sv) == 0));
	/* What MCP's streamable HTTP uses; the method goes upstream as is. */
	if (strcmp(http_method(req), "POST") != 0 &&
	    strcmp(http_method(req), "GET") != 0 &&
	    strcmp(http_method(req), "DELETE") != 0) {
		http_respond_rpc_error(req, 405, NULL, -32600, "/qms/mcp takes "
		    "POST, GET or DELETE");
		return;
	}
	/*
	 * Each value passed on goes into a header line of its own: one that
	 * could end that line is refused, not cut (http.c refuses such
	 * requests already; this is where a line is made of one).
	 */
	for (i = 0; i < nitems(passed_headers); i++) {
		if ((v = http_header(req, passed_headers[i])) != NULL &&
		    !http_field_ok(v, strlen(v))) {
			snprintf(msg, sizeof(msg), "a control byte in %s",
			    passed_headers[i]);
			http_respond_rpc_error(req, 400, NULL, -32600, msg);
			return;
		}
	}
	if (not_ready(msg, sizeof(msg))) {
		failed("%s", msg);
		/* Never a hang: the state, and when it tries again. */
		http_respond_rpc_error(req, 503, retry, -32000, msg);
		return;
	}
	r = xcalloc(1, sizeof(*r));
	r->req = r->origin = req;
	r->is_get = strcmp(http_method(req), "GET") == 0;
	http_on_gone(req, on_gone, r);
	TAILQ_INSERT_TAIL(&relays, r, entry);
	if ((r->easy = curl_easy_init()) == NULL)
		fatalx("curl_easy_init failed");
	for (i = 0; i < nitems(passed_headers); i++) {
		if ((v = http_header(req, passed_headers[i])) == NULL)
			continue;
		xasprintf(&field, "%s: %s", passed_headers[i], v);
		r->headers = curl_slist_append(r->headers, field);
		free(field);
	}
	/*
	 * Who is calling is what the token says, whatever the client wrote:
	 * its X-QMS-* headers were not passed on above.
	 */
	inst = strcmp(who, "host") == 0 ? "host" : agent_container(who);
	snprintf(line, sizeof(line), "X-QMS-Identity: %s", who);
	r->headers = curl_slist_append(r->headers, line);
	snprintf(line, sizeof(line), "X-QMS-Instance: %s", inst != NULL ?
	    inst : "unknown");
	r->headers = curl_slist_append(r->headers, line);
	r->headers = curl_slist_append(r->headers, "Host: localhost");
	r->headers = curl_slist_append(r->headers, "Expect:");
	curl_easy_setopt(r->easy, CURLOPT_URL, supervisor_url(gw_sv));
	curl_easy_setopt(r->easy, CURLOPT_CUSTOMREQUEST, http_method(req));
	curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)GW_CONNECT_TIMEOUT_MS);
	if (strcmp(http_method(req), "POST") == 0) {
		/* The body goes on once whole and its tool calls recorded. */
		curl_easy_setopt(r->easy, CURLOPT_POST, 1L);
		curl_easy_setopt(r->easy, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(r->easy, CURLOPT_READDATA, r);
		/* Its length is set then, as qmsd writes it (record_calls);
		 * on_read holds curl to it. */
		r->up_announced = -1;
		curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS,
		    (long)GW_POST_TIMEOUT_MS);
	}
	curl_easy_setopt(r->easy, CURLOPT_HEADERFUNCTION, gw_on_header);
	curl_easy_setopt(r->easy, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, gw_on_body);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	if (strcmp(http_method(req), "POST") == 0)
		r->held = 1;	/* until whole and recorded (record_calls) */
	else
		curl_loop_add(r->easy, gw_on_done, r);
	gw_publish();
}

void
gateway_init(struct supervisor *sv)
{
	gw_sv = sv;
	gw_comp = component_add("gateway");
	http_route_streaming("/qms/mcp", gw_serve, body, NULL);
	gw_publish();
}

/* The child's URL may have changed: the row says where requests go. */
void
gateway_configure(void)
{
	gw_publish();
}

void
gateway_shutdown(void)
{
	struct relay	*r;

	while ((r = TAILQ_FIRST(&relays)) != NULL) {
		if (r->req != NULL)
			http_respond_rpc_error(r->req, 503, NULL, -32000,
			    "qmsd is shutting down");
		if (r->stream != NULL)
			http_stream_end(r->stream, 1);
		relay_free(r);
	}
	component_remove(gw_comp);
	gw_comp = NULL;
}
