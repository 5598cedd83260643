/*
 * An intercepted tunnel: see egress-intercept.h.
 *
 * Two bufferevents over OpenSSL: c, the agent's end (qmsd the server,
 * with a leaf of its CA), and u, the upstream (qmsd the client, the
 * peer verified).  u's handshake starts at once (qmsd's own, to where
 * the proxy has connected already).  Of c, nothing past the handshake
 * is read until the proxy says the tunnel's "open" is on disk
 * (intercept_go): libevent's accepting bufferevent shakes hands as soon
 * as it is made, so an agent that does not wait for the 200 may have
 * its handshake done, and no request of it read, meanwhile.  The
 * request goes through these states:
 *
 *	HEAD	the head read from c (at most IHTTP_MAX_HEAD), parsed,
 *		decided
 *	WAIT	decided to go on: its record is being written; nothing
 *		more is read from c, nothing sent to u, until it is on disk
 *	PEEK	a push whose secret was put in: its body held (not sent)
 *		until its ref updates are read and allowed
 *	DRAIN	a push refused: the rest of its body read and dropped, so
 *		that the refusal reaches git, then answered
 *	BODY	the body passed to u, to its end and no further
 *	SENT	the request is all in; c is still read (and dropped) so
 *		that its leaving is noticed
 *	ANSWER	an answer of qmsd's own being written to c, then the end
 *
 * The upstream's answer is passed to c as it comes, its head written
 * again (Connection: close); its end is u's close.  Each direction
 * stops reading while the other side has INTERCEPT_QUEUE bytes queued.
 * No byte goes on unseen: the body's framing is followed exactly, and
 * what c sends after it is dropped.
 *
 * Each decision is recorded in the audit log as it is made (audit()),
 * and what it decided waits for that record to be on disk (recorded()):
 * the request goes to u from WAIT, and an answer of qmsd's own (a
 * refusal, a 502) is held in ans while a record is being written.
 */
#include <sys/types.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include "audit-log.h"
#include "egress-audit.h"
#include "egress-ca.h"
#include "egress-intercept.h"
#include "intercept-http.h"
#include "log.h"
#include "receive-pack.h"
#include "secret-auth.h"
#include "secret-store.h"
#include "util.h"

#define INTERCEPT_QUEUE		(256 * 1024)	/* toward either side */
#define INTERCEPT_PEEK		(512 * 1024)	/* a push's commands */
/* What is held raw for them: chunk extensions must not multiply it. */
#define INTERCEPT_PEEK_RAW	(2 * INTERCEPT_PEEK)
#define INTERCEPT_PEEK_STEP	4096	/* parsed again after */
#define INTERCEPT_DRAIN		(64LL * 1024 * 1024)	/* a refused push */
#define INTERCEPT_CHUNK		65536		/* a body feed's */

enum istate { I_HEAD, I_WAIT, I_PEEK, I_DRAIN, I_BODY, I_SENT, I_ANSWER };

/* Where a record goes: qmsctl egress and the journal; the audit log. */
#define A_RING		0x1
#define A_LOG		0x2

struct intercept {
	struct event_base	*base;
	struct intercept_scope	 scope;
	intercept_done_fn	 done;
	void			*arg;
	struct bufferevent	*c, *u;
	enum istate		 state;
	int			 go;		/* c may be read (intercept_go) */
	struct audit_wait	*aw;		/* a record not yet on disk */
	struct evbuffer		*ans;		/* an answer held for it */
	int			 u_ready;	/* u's handshake done */
	char			 u_error[300];	/* u failed: why */
	int			 u_eof;
	int			 resp_head;	/* the answer's head passed */
	int			 status;	/* the upstream's */

	struct ihttp_request	 req;		/* pointing into head */
	char			*head;		/* the request head, copied */
	char			*auth;		/* PEEK, WAIT: Authorization */
	char			 method[16];
	char			 path[256];	/* for the audit */
	size_t			 scanned;	/* HEAD: searched to here */
	char			 note[200];	/* gone on: its status to come */
	const char		*secret;	/* the name put in, or NULL */
	int			 push;		/* 1: a push, held to its refs */
	struct ihttp_body	 body;
	struct evbuffer		*held;		/* PEEK: raw body bytes */
	char			*peek;		/* PEEK: decoded */
	size_t			 peeklen;
	size_t			 parsed;	/* peeklen at the last parse */
	long long		 drained;
	struct rp_commands	*rp;
	char			 refusal[600];	/* DRAIN: why */

	uint64_t		 bytes_up, bytes_down;
	uint64_t		 start, last;
	struct event		*timer;
	int			 ended;
};

static void	c_read(struct bufferevent *, void *);
static void	c_write(struct bufferevent *, void *);
static void	c_event(struct bufferevent *, short, void *);
static void	u_read(struct bufferevent *, void *);
static void	u_write(struct bufferevent *, void *);
static void	u_event(struct bufferevent *, short, void *);
static void	feed_body(struct intercept *);

static void	recorded(void *, const char *);

/*
 * A record of ic's request: to qmsctl egress and the journal (A_RING),
 * to the audit log (A_LOG), where what it records waits for it to be on
 * disk (recorded()).  A record that follows another stands for both:
 * they reach the disk in order.  The log's record of a request that goes
 * on is made before it goes, so it has no status: the upstream's is in
 * the ring's, made when it answers.
 */
static void
audit(struct intercept *ic, const char *event, int status, const char *rule,
    const char *reason, int where)
{
	struct egress_record	r;
	cJSON			*o;

	memset(&r, 0, sizeof(r));
	clock_gettime(CLOCK_REALTIME, &r.time);
	r.agent = ic->scope.agent;
	r.event = event;
	r.method = ic->method[0] != '\0' ? ic->method : "-";
	r.target = ic->scope.authority;
	r.path = ic->path[0] != '\0' ? ic->path : NULL;
	r.address = ic->scope.address;
	r.status = status;
	r.rule = rule;
	r.reason = reason;
	r.duration_ms = now_ms() - ic->start;
	if (where & A_RING)
		egress_audit_record(&r);
	if (where & A_LOG) {
		o = egress_audit_fields(&r);
		if (status == 0)
			cJSON_DeleteItemFromObjectCaseSensitive(o, "status");
		audit_forget(ic->aw);
		ic->aw = audit_record("egress", o, recorded, ic);
	}
}

/* A string that held a secret, wiped and freed. */
static void
zfree(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

/* The end: told once; the caller frees. */
static void
finish(struct intercept *ic, const char *why)
{
	if (ic->ended)
		return;
	ic->ended = 1;
	/* Gone on and not answered; in WAIT it had not gone yet. */
	if (ic->note[0] != '\0' && ic->state != I_WAIT)
		audit(ic, "failed", 502, "upstream", why, A_RING | A_LOG);
	ic->done(ic->arg, why);
}

/* OpenSSL's first error on bev, for a reason line. */
static void
ssl_why(struct bufferevent *bev, const char *who, char *buf, size_t len)
{
	unsigned long	e;
	char		es[200];
	SSL		*ssl = bufferevent_openssl_get_ssl(bev);
	long		 vr;

	if (ssl != NULL && (vr = SSL_get_verify_result(ssl)) != X509_V_OK) {
		snprintf(buf, len, "%s: certificate not verified: %s", who,
		    X509_verify_cert_error_string(vr));
		return;
	}
	if ((e = bufferevent_get_openssl_error(bev)) != 0) {
		ERR_error_string_n(e, es, sizeof(es));
		snprintf(buf, len, "%s: TLS: %s", who, es);
	} else
		snprintf(buf, len, "%s: %s", who, "connection lost");
	while (bufferevent_get_openssl_error(bev) != 0)
		;
}

/* ---- answers of qmsd's own ---- */

static void
answer_raw(struct intercept *ic, int status, const char *ctype,
    const char *body, size_t blen)
{
	struct evbuffer	*out = bufferevent_get_output(ic->c);
	const char	*text;

	switch (status) {
	case 200: text = "OK"; break;
	case 400: text = "Bad Request"; break;
	case 403: text = "Forbidden"; break;
	case 413: text = "Content Too Large"; break;
	case 431: text = "Request Header Fields Too Large"; break;
	case 501: text = "Not Implemented"; break;
	case 502: text = "Bad Gateway"; break;
	case 503: text = "Service Unavailable"; break;
	default: text = "Error"; break;
	}
	/* Held while a record is being written (recorded() sends it). */
	if (ic->aw != NULL) {
		if (ic->ans == NULL && (ic->ans = evbuffer_new()) == NULL)
			fatalx("%s: evbuffer_new failed", __func__);
		out = ic->ans;
	}
	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n"
	    "Content-Type: %s\r\n"
	    "Content-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n"
	    "Connection: close\r\n"
	    "X-Qmsd-Egress: secret\r\n"
	    "\r\n", status, text, ctype, blen);
	/* HEAD's answer has the length of a body, never one. */
	if (strcmp(ic->method, "HEAD") != 0)
		evbuffer_add(out, body, blen);
	ic->state = I_ANSWER;
	/* What the agent still sends is read and dropped (c_read). */
	bufferevent_setwatermark(ic->c, EV_WRITE, 0, 0);
	if (ic->go)
		bufferevent_enable(ic->c, EV_READ | EV_WRITE);
	if (ic->u != NULL) {
		bufferevent_free(ic->u);
		ic->u = NULL;
	}
}

/* A JSON string's inside: quotes, backslashes and controls escaped. */
static void
json_text(char *out, size_t len, const char *s)
{
	size_t	n = 0;

	for (; *s != '\0' && n + 7 < len; s++) {
		if (*s == '"' || *s == '\\') {
			out[n++] = '\\';
			out[n++] = *s;
		} else if ((unsigned char)*s < ' ')
			n += (size_t)snprintf(out + n, len - n, "\\u%04x",
			    (unsigned char)*s);
		else
			out[n++] = *s;
	}
	out[n] = '\0';
}

/*
 * Refuse the request with why, in the form its client shows: git's ERR
 * line for the first request of a fetch or push (git prints "remote
 * error: ..."), else a 403 whose JSON message gh and curl show.
 */
static void
refuse(struct intercept *ic, int status, const char *rule, const char *why)
{
	char		 body[1400], esc[1200], *adv;
	const char	*svc = NULL, *q;
	size_t		 alen;

	audit(ic, "denied", status, rule, why, A_RING | A_LOG);
	q = strstr(ic->path, "/info/refs?");
	if (q != NULL && status == 403) {
		if (strstr(q, "service=git-upload-pack") != NULL)
			svc = "git-upload-pack";
		else if (strstr(q, "service=git-receive-pack") != NULL)
			svc = "git-receive-pack";
	}
	snprintf(body, sizeof(body), "qmsd: %s", why);
	if (svc != NULL &&
	    (adv = rp_err_advertisement(svc, body, &alen)) != NULL) {
		snprintf(esc, sizeof(esc), "application/x-%s-advertisement",
		    svc);
		answer_raw(ic, 200, esc, adv, alen);
		free(adv);
		return;
	}
	json_text(esc, sizeof(esc), why);
	snprintf(body, sizeof(body), "{\"message\":\"qmsd: %s\"}\n", esc);
	answer_raw(ic, status, "application/json", body, strlen(body));
}

/* The upstream failed before the request went on: a 502, recorded. */
static void
upstream_gone(struct intercept *ic)
{
	zfree(ic->auth);
	ic->auth = NULL;
	ic->note[0] = '\0';
	audit(ic, "failed", 502, "upstream-tls", ic->u_error, A_RING | A_LOG);
	answer_raw(ic, 502, "text/plain; charset=utf-8", ic->u_error,
	    strlen(ic->u_error));
}

/* ---- the request ---- */

/*
 * Decided to go on, with ic->auth (the secret put in) or none: recorded,
 * and sent once that is on disk (go_on()).  Until then c is not read on
 * from (c_read), the body's bytes stay where they are.
 */
static void
go_on_recorded(struct intercept *ic, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
go_on_recorded(struct intercept *ic, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(ic->note, sizeof(ic->note), fmt, ap);
	va_end(ap);
	ic->state = I_WAIT;
	audit(ic, "secret", 0, NULL, ic->note, A_LOG);
}

/* Send the head (with its secret) and what is held of the body. */
static void
forward(struct intercept *ic, const char *authorization)
{
	struct evbuffer	*uo = bufferevent_get_output(ic->u);
	char		*h;
	size_t		 hl;

	h = ihttp_upstream_head(&ic->req, authorization, &hl);
	evbuffer_add(uo, h, hl);
	ic->bytes_up += hl;
	/* It held the secret: no copy of it left in freed memory here. */
	explicit_bzero(h, hl);
	free(h);
	if (ic->held != NULL) {
		ic->bytes_up += evbuffer_get_length(ic->held);
		evbuffer_add_buffer(uo, ic->held);
	}
	ic->state = ic->body.done ? I_SENT : I_BODY;
	bufferevent_enable(ic->u, EV_READ | EV_WRITE);
}

/* The decision to go on is on disk (WAIT): the request goes. */
static void
go_on(struct intercept *ic)
{
	char	*auth = ic->auth;

	if (ic->u == NULL) {
		upstream_gone(ic);
		return;
	}
	ic->auth = NULL;
	forward(ic, auth);
	zfree(auth);
	/* What came meanwhile was left where it was (c_read). */
	if (evbuffer_get_length(bufferevent_get_input(ic->c)) > 0)
		feed_body(ic);
}

/*
 * The last record is on disk: what waited for it goes (a request, an
 * answer).  One that cannot be written: nothing decided goes, the agent
 * is answered 503.
 */
static void
recorded(void *arg, const char *error)
{
	struct intercept	*ic = arg;
	char			 why[400];

	ic->aw = NULL;
	if (error != NULL) {
		zfree(ic->auth);
		ic->auth = NULL;
		ic->note[0] = '\0';
		if (ic->ans != NULL) {
			evbuffer_free(ic->ans);
			ic->ans = NULL;
		}
		snprintf(why, sizeof(why), "qmsd could not record this "
		    "request: %s\n", error);
		answer_raw(ic, 503, "text/plain; charset=utf-8", why,
		    strlen(why));
		return;
	}
	if (ic->state == I_WAIT)
		go_on(ic);
	else if (ic->ans != NULL) {
		evbuffer_add_buffer(bufferevent_get_output(ic->c), ic->ans);
		evbuffer_free(ic->ans);
		ic->ans = NULL;
	}
}

/*
 * The head is in: what is done with it.  A placeholder is swapped only
 * for a request in scope; one that is not swappable here is refused;
 * a request without one goes as it came (no secret goes with it).
 */
static void
decide(struct intercept *ic)
{
	struct ihttp_request	*r = &ic->req;
	const struct secret_rule *rule;
	char			 ph[SECRET_PLACEHOLDER_MAX + 1], why[600];
	char			*auth = NULL, *tgt;
	const char		*value;
	size_t			 i, tl;
	int			 swapped = 0;

	snprintf(ic->method, sizeof(ic->method), "%s", r->method);
	tl = r->tlen < sizeof(ic->path) - 1 ? r->tlen : sizeof(ic->path) - 1;
	memcpy(ic->path, r->target, tl);
	ic->path[tl] = '\0';
	if (ic->u_error[0] != '\0') {
		upstream_gone(ic);
		return;
	}
	for (i = 0; r->authorization != NULL && i < ic->scope.nrules; i++) {
		rule = &ic->scope.rules[i];
		if (!secret_rule_covers(rule, ic->scope.authority) ||
		    (value = secret_store_value(ic->scope.agent, rule->name)) ==
		    NULL)
			continue;
		secret_store_placeholder(ic->scope.agent, rule->name, ph,
		    sizeof(ph));
		if (secret_auth_replace(r->authorization->value,
		    r->authorization->vlen, ph, value, &auth) == 1) {
			swapped = 1;
			ic->secret = rule->name;
			break;
		}
	}
	explicit_bzero(ph, sizeof(ph));
	if (!swapped && r->authorization != NULL &&
	    memmem(r->authorization->value, r->authorization->vlen,
	    "qmsd-placeholder-", 17) != NULL) {
		snprintf(why, sizeof(why), "Authorization holds a placeholder "
		    "that is not agent %s's for %s, or in a form qmsd does not "
		    "swap (Bearer, token or Basic only)", ic->scope.agent,
		    ic->scope.authority);
		refuse(ic, 403, "secret", why);
		return;
	}
	if (!swapped) {
		go_on_recorded(ic, "no placeholder: passed as sent");
		return;
	}
	tgt = xcalloc(1, r->tlen + 1);
	memcpy(tgt, r->target, r->tlen);
	if (secret_scope_request(r->method, tgt, ic->scope.repos,
	    ic->scope.agent, why, sizeof(why)) == -1) {
		free(tgt);
		zfree(auth);
		refuse(ic, 403, "secret-repos", why);
		return;
	}
	ic->push = secret_scope_write(r->method, tgt, ic->scope.refs,
	    ic->scope.agent, why, sizeof(why));
	free(tgt);
	if (ic->push == -1) {
		zfree(auth);
		refuse(ic, 403, "secret-push-refs", why);
		return;
	}
	if (ic->push == 1) {
		/* Held until the ref updates are read (PEEK). */
		ic->rp = xcalloc(1, sizeof(*ic->rp));
		ic->peek = xcalloc(1, INTERCEPT_PEEK);
		ic->held = evbuffer_new();
		ic->state = I_PEEK;
		ic->auth = auth;	/* kept till then */
		return;
	}
	ic->auth = auth;	/* kept till it goes */
	go_on_recorded(ic, "%s put in", ic->secret);
}

/* The ref updates are read (PEEK): on, or refused. */
static void
decide_push(struct intercept *ic)
{
	struct rp_command	*cmd;
	char			 why[600], allowed[300];
	size_t			 i, j, n;

	for (i = 0; i < ic->rp->n; i++) {
		cmd = &ic->rp->cmds[i];
		if (secret_scope_ref(cmd->ref, ic->scope.refs) == 0)
			continue;
		/* What is allowed, as far as it fits. */
		allowed[0] = '\0';
		for (j = n = 0; ic->scope.refs[j] != NULL; j++) {
			if (n + strlen(ic->scope.refs[j]) + 5 >=
			    sizeof(allowed)) {
				snprintf(allowed + n, sizeof(allowed) - n,
				    " ...");
				break;
			}
			n += (size_t)snprintf(allowed + n, sizeof(allowed) - n,
			    "%s%s", j > 0 ? " " : "", ic->scope.refs[j]);
		}
		snprintf(why, sizeof(why), "agent %s may not push %s: "
		    "[agent \"%s\"] secret-push-refs allows %s",
		    ic->scope.agent, cmd->ref, ic->scope.agent, allowed);
		snprintf(ic->refusal, sizeof(ic->refusal), "%s", why);
		audit(ic, "denied", 403, "secret-push-refs", why,
		    A_RING | A_LOG);
		zfree(ic->auth);
		ic->auth = NULL;
		evbuffer_free(ic->held);
		ic->held = NULL;
		ic->state = I_DRAIN;
		return;
	}
	go_on_recorded(ic, "%s put in; %zu ref update%s allowed", ic->secret,
	    ic->rp->n, ic->rp->n == 1 ? "" : "s");
}

/* DRAIN is over: git is told, in its own words where it can be. */
static void
answer_push(struct intercept *ic)
{
	char	*b, msg[700];
	size_t	 len;

	snprintf(msg, sizeof(msg), "qmsd: %s", ic->refusal);
	if (ic->rp->report_status && ic->rp->n > 0 &&
	    (b = rp_refusal(ic->rp, msg, &len)) != NULL) {
		answer_raw(ic, 200, "application/x-git-receive-pack-result",
		    b, len);
		free(b);
	} else {
		len = strlen(msg);
		msg[len++] = '\n';
		answer_raw(ic, 403, "text/plain; charset=utf-8", msg, len);
	}
}

/* Body bytes from c: through the framing, to where the state says. */
static void
feed_body(struct intercept *ic)
{
	struct evbuffer	*in = bufferevent_get_input(ic->c);
	unsigned char	*p;
	size_t		 len, dlen;
	long		 n;
	int		 r;
	char		 why[300];

	while ((len = evbuffer_get_length(in)) > 0 && !ic->body.done &&
	    (ic->state == I_PEEK || ic->state == I_DRAIN ||
	    ic->state == I_BODY)) {
		if (ic->state == I_BODY && evbuffer_get_length(
		    bufferevent_get_output(ic->u)) >= INTERCEPT_QUEUE) {
			bufferevent_disable(ic->c, EV_READ);
			return;
		}
		if (len > INTERCEPT_CHUNK)
			len = INTERCEPT_CHUNK;
		p = evbuffer_pullup(in, (ssize_t)len);
		dlen = 0;
		if (ic->state == I_PEEK)
			dlen = INTERCEPT_PEEK - ic->peeklen;
		n = ihttp_body_feed(&ic->body, (char *)p, len, ic->state ==
		    I_PEEK ? ic->peek + ic->peeklen : NULL, &dlen, why,
		    sizeof(why));
		if (n < 0) {
			refuse(ic, 400, "bad-request", why);
			return;
		}
		switch (ic->state) {
		case I_PEEK:
			ic->peeklen += dlen;
			evbuffer_remove_buffer(in, ic->held, (size_t)n);
			/*
			 * Parsed again only every INTERCEPT_PEEK_STEP bytes
			 * (or at a bound, or the body's end): bytes trickled
			 * one a record cost one parse each otherwise.
			 */
			if (ic->peeklen < ic->parsed + INTERCEPT_PEEK_STEP &&
			    ic->peeklen < INTERCEPT_PEEK && !ic->body.done &&
			    evbuffer_get_length(ic->held) < INTERCEPT_PEEK_RAW)
				break;
			ic->parsed = ic->peeklen;
			r = rp_commands_parse(ic->peek, ic->peeklen, ic->rp, why,
			    sizeof(why));
			if (r == -1) {
				refuse(ic, 403, "secret-push-refs", why);
				return;
			}
			if (r == 0 && (ic->peeklen == INTERCEPT_PEEK ||
			    evbuffer_get_length(ic->held) >=
			    INTERCEPT_PEEK_RAW || ic->body.done)) {
				refuse(ic, 403, "secret-push-refs", "the push's "
				    "ref updates could not be read whole");
				return;
			}
			if (r == 1)
				decide_push(ic);
			break;
		case I_DRAIN:
			evbuffer_drain(in, (size_t)n);
			ic->drained += n;
			break;
		case I_BODY:
			evbuffer_remove_buffer(in, bufferevent_get_output(ic->u),
			    (size_t)n);
			ic->bytes_up += (uint64_t)n;
			break;
		default:
			break;
		}
	}
	if (ic->state == I_DRAIN && (ic->body.done ||
	    ic->drained >= INTERCEPT_DRAIN)) {
		answer_push(ic);
		return;
	}
	if (ic->body.done && ic->state == I_BODY)
		ic->state = I_SENT;
	if (ic->state == I_SENT)
		/* Past the body: nothing more goes anywhere. */
		evbuffer_drain(in, evbuffer_get_length(in));
}

/* Whether a head's end ("\n\r\n", or a bare "\n\n") is in from here. */
static int
head_end(struct evbuffer *in, size_t from)
{
	struct evbuffer_ptr	at, found;

	evbuffer_ptr_set(in, &at, from, EVBUFFER_PTR_SET);
	found = evbuffer_search(in, "\n\r\n", 3, &at);
	if (found.pos != -1)
		return (1);
	evbuffer_ptr_set(in, &at, from, EVBUFFER_PTR_SET);
	found = evbuffer_search(in, "\n\n", 2, &at);
	return (found.pos != -1);
}

static void
read_head(struct intercept *ic)
{
	struct evbuffer		*in = bufferevent_get_input(ic->c);
	size_t			 len = evbuffer_get_length(in);
	unsigned char		*p;
	int			 r, status;
	char			 why[300];

	/*
	 * Parsed once its end is in (or a bare LF's, to be refused, or at
	 * the bound): each byte is searched once, however it trickles in.
	 */
	if (len < IHTTP_MAX_HEAD && !head_end(in, ic->scanned)) {
		ic->scanned = len > 3 ? len - 3 : 0;
		return;
	}
	if (len > IHTTP_MAX_HEAD)
		len = IHTTP_MAX_HEAD;
	p = evbuffer_pullup(in, (ssize_t)len);
	r = ihttp_request_parse((char *)p, len, ic->scope.authority,
	    &ic->req, &status, why, sizeof(why));
	if (r == 0 && len < IHTTP_MAX_HEAD)
		return;
	if (r == 0) {
		status = 431;
		snprintf(why, sizeof(why), "request head over %d bytes",
		    IHTTP_MAX_HEAD);
	}
	if (r != 1) {
		snprintf(ic->method, sizeof(ic->method), "%s", ic->req.method);
		refuse(ic, status, "bad-request", why);
		return;
	}
	/* The parse pointed into c's buffer: again, on a copy of its own. */
	ic->head = xcalloc(1, ic->req.head_len);
	memcpy(ic->head, p, ic->req.head_len);
	if (ihttp_request_parse(ic->head, ic->req.head_len, ic->scope.authority,
	    &ic->req, &status, why, sizeof(why)) != 1) {
		/* Never: the parse is pure. */
		refuse(ic, 400, "bad-request", "the request head could not be "
		    "read again");
		return;
	}
	evbuffer_drain(in, ic->req.head_len);
	ihttp_body_init(&ic->body, &ic->req);
	if (ic->req.expect_continue)
		evbuffer_add_printf(bufferevent_get_output(ic->c),
		    "HTTP/1.1 100 Continue\r\n\r\n");
	ic->state = I_BODY;	/* unless decide() says otherwise */
	decide(ic);
}

/* ---- the agent's end ---- */

static void
c_read(struct bufferevent *bev, void *arg)
{
	struct intercept	*ic = arg;

	ic->last = now_ms();
	if (ic->state == I_HEAD)
		read_head(ic);
	if (ic->state == I_PEEK || ic->state == I_DRAIN ||
	    ic->state == I_BODY || ic->state == I_SENT)
		feed_body(ic);
	if (ic->state == I_ANSWER)
		evbuffer_drain(bufferevent_get_input(bev),
		    evbuffer_get_length(bufferevent_get_input(bev)));
}

/* c's queue drained below its low mark: the answer may flow again. */
static void
c_write(struct bufferevent *bev, void *arg)
{
	struct intercept	*ic = arg;

	(void)bev;
	if (ic->state == I_ANSWER) {
		/* Not while the answer is held for its record. */
		if (ic->ans == NULL &&
		    evbuffer_get_length(bufferevent_get_output(ic->c)) == 0)
			finish(ic, "answered by qmsd");
		return;
	}
	if (ic->u == NULL)
		return;
	if (ic->u_eof) {
		if (evbuffer_get_length(bufferevent_get_output(ic->c)) == 0)
			finish(ic, "done");
		return;
	}
	bufferevent_enable(ic->u, EV_READ);
	if (evbuffer_get_length(bufferevent_get_input(ic->u)) > 0)
		u_read(ic->u, ic);
}

static void
c_event(struct bufferevent *bev, short what, void *arg)
{
	struct intercept	*ic = arg;
	char			 why[400];

	if (what & BEV_EVENT_CONNECTED)
		return;
	if (what & BEV_EVENT_ERROR)
		ssl_why(bev, "the agent's end", why, sizeof(why));
	else
		snprintf(why, sizeof(why), "the agent closed its end");
	finish(ic, why);
}

/* ---- the upstream ---- */

static void
u_read(struct bufferevent *bev, void *arg)
{
	struct intercept	*ic = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct evbuffer		*co = bufferevent_get_output(ic->c);
	unsigned char		*p;
	char			*h;
	size_t			 len, hl, nh;
	int			 r;

	ic->last = now_ms();
	while (!ic->resp_head) {
		len = evbuffer_get_length(in);
		if (len > IHTTP_MAX_HEAD)
			len = IHTTP_MAX_HEAD;
		p = evbuffer_pullup(in, (ssize_t)len);
		r = ihttp_response_parse((char *)p, len, &ic->status, &hl);
		if (r == 0 && len < IHTTP_MAX_HEAD)
			return;
		if (r != 1) {
			finish(ic, "the upstream's answer head is malformed");
			return;
		}
		h = ihttp_response_head((char *)p, hl, &nh);
		evbuffer_add(co, h, nh);
		free(h);
		evbuffer_drain(in, hl);
		ic->bytes_down += nh;
		/* An interim answer (1xx): the final one follows. */
		if (ic->status >= 200 || ic->status == 101) {
			ic->resp_head = 1;
			/* The log has it already, from before it went. */
			audit(ic, "secret", ic->status, NULL, ic->note, A_RING);
			ic->note[0] = '\0';
		}
	}
	ic->bytes_down += evbuffer_get_length(in);
	evbuffer_add_buffer(co, in);
	if (evbuffer_get_length(co) >= INTERCEPT_QUEUE)
		bufferevent_disable(bev, EV_READ);
}

/* u's queue drained: the body may flow again. */
static void
u_write(struct bufferevent *bev, void *arg)
{
	struct intercept	*ic = arg;

	(void)bev;
	if (ic->state == I_BODY) {
		bufferevent_enable(ic->c, EV_READ);
		if (evbuffer_get_length(bufferevent_get_input(ic->c)) > 0)
			feed_body(ic);
	}
}

static void
u_event(struct bufferevent *bev, short what, void *arg)
{
	struct intercept	*ic = arg;
	char			 why[400];

	if (what & BEV_EVENT_CONNECTED) {
		ic->u_ready = 1;
		return;
	}
	if ((what & BEV_EVENT_EOF) && ic->resp_head) {
		/* The answer is whole: the end once c has it. */
		ic->u_eof = 1;
		bufferevent_disable(bev, EV_READ);
		bufferevent_setwatermark(ic->c, EV_WRITE, 0, 0);
		if (evbuffer_get_length(bufferevent_get_output(ic->c)) == 0)
			finish(ic, "done");
		return;
	}
	if (what & BEV_EVENT_ERROR)
		ssl_why(bev, "the upstream", why, sizeof(why));
	else
		snprintf(why, sizeof(why), "the upstream closed before it "
		    "answered");
	if (ic->state == I_HEAD || ic->state == I_WAIT ||
	    ic->state == I_DRAIN) {
		/* Told when the request comes (decide, go_on), or not
		 * needed. */
		snprintf(ic->u_error, sizeof(ic->u_error), "%s", why);
		bufferevent_free(ic->u);
		ic->u = NULL;
		return;
	}
	if (!ic->resp_head && ic->state != I_ANSWER) {
		audit(ic, "failed", 502, "upstream", why, A_RING | A_LOG);
		ic->note[0] = '\0';
		answer_raw(ic, 502, "text/plain; charset=utf-8", why,
		    strlen(why));
		return;
	}
	finish(ic, why);
}

static void
on_idle(evutil_socket_t fd, short ev, void *arg)
{
	struct intercept	*ic = arg;
	uint64_t		 quiet = now_ms() - ic->last;
	struct timeval		 tv;
	char			 why[128];

	(void)fd;
	(void)ev;
	if (quiet < ic->scope.idle_ms) {
		timeval_ms(&tv, ic->scope.idle_ms - quiet);
		evtimer_add(ic->timer, &tv);
		return;
	}
	snprintf(why, sizeof(why), "idle for %llu ms (egress-idle-timeout)",
	    (unsigned long long)quiet);
	finish(ic, why);
}

/* ---- start and end ---- */

struct intercept *
intercept_start(struct event_base *base, int cfd, int ufd,
    const struct intercept_scope *scope, intercept_done_fn done, void *arg,
    char *err, size_t errlen)
{
	struct intercept	*ic;
	struct timeval		 tv;
	SSL			*cs, *us;
	const int		 opts = BEV_OPT_CLOSE_ON_FREE |
				    BEV_OPT_DEFER_CALLBACKS;

	if ((cs = egress_ca_server_ssl(scope->host, err, errlen)) == NULL)
		return (NULL);
	if ((us = egress_ca_upstream_ssl(scope->host, err, errlen)) == NULL) {
		SSL_free(cs);
		return (NULL);
	}
	/*
	 * A peer's close without close_notify is the end of its stream
	 * (many servers do so after Connection: close), not an error: the
	 * answer's own framing says whether it is whole, to the client.
	 */
	SSL_set_options(cs, SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_set_options(us, SSL_OP_IGNORE_UNEXPECTED_EOF);
	/* An idle connection keeps no record buffers. */
	SSL_set_mode(cs, SSL_MODE_RELEASE_BUFFERS);
	SSL_set_mode(us, SSL_MODE_RELEASE_BUFFERS);
	ic = xcalloc(1, sizeof(*ic));
	ic->base = base;
	ic->scope = *scope;
	ic->done = done;
	ic->arg = arg;
	ic->state = I_HEAD;
	ic->start = ic->last = now_ms();
	ic->c = bufferevent_openssl_socket_new(base, cfd, cs,
	    BUFFEREVENT_SSL_ACCEPTING, opts);
	ic->u = bufferevent_openssl_socket_new(base, ufd, us,
	    BUFFEREVENT_SSL_CONNECTING, opts);
	if (ic->c == NULL || ic->u == NULL)
		fatalx("%s: bufferevent_openssl_socket_new failed", __func__);
	/* Peers that close without close_notify end a stream, not fail it. */
	bufferevent_openssl_set_allow_dirty_shutdown(ic->c, 1);
	bufferevent_openssl_set_allow_dirty_shutdown(ic->u, 1);
	bufferevent_setcb(ic->c, c_read, c_write, c_event, ic);
	bufferevent_setcb(ic->u, u_read, u_write, u_event, ic);
	/* A head is read a bounded amount at a time; queues stop readers. */
	bufferevent_setwatermark(ic->c, EV_READ, 0, IHTTP_MAX_HEAD);
	bufferevent_setwatermark(ic->u, EV_READ, 0, INTERCEPT_QUEUE);
	bufferevent_setwatermark(ic->c, EV_WRITE, INTERCEPT_QUEUE / 2, 0);
	bufferevent_setwatermark(ic->u, EV_WRITE, INTERCEPT_QUEUE / 2, 0);
	/* c's requests wait for intercept_go (its handshake may not). */
	bufferevent_enable(ic->u, EV_READ | EV_WRITE);
	ic->timer = evtimer_new(base, on_idle, ic);
	timeval_ms(&tv, scope->idle_ms);
	evtimer_add(ic->timer, &tv);
	return (ic);
}

void
intercept_go(struct intercept *ic)
{
	ic->go = 1;
	bufferevent_enable(ic->c, EV_READ | EV_WRITE);
}

static void
bev_close(struct bufferevent *bev)
{
	SSL	*ssl;

	if (bev == NULL)
		return;
	/* close_notify, if it can go now: a close-delimited answer ends. */
	if ((ssl = bufferevent_openssl_get_ssl(bev)) != NULL &&
	    SSL_is_init_finished(ssl))
		SSL_shutdown(ssl);
	bufferevent_free(bev);
}

void
intercept_free(struct intercept *ic)
{
	if (ic == NULL)
		return;
	audit_forget(ic->aw);
	if (ic->ans != NULL)
		evbuffer_free(ic->ans);
	bev_close(ic->c);
	bev_close(ic->u);
	if (ic->timer != NULL)
		event_free(ic->timer);
	if (ic->held != NULL)
		evbuffer_free(ic->held);
	if (ic->auth != NULL)
		zfree(ic->auth);
	if (ic->head != NULL)
		explicit_bzero(ic->head, ic->req.head_len);
	free(ic->head);
	free(ic->peek);
	free(ic->rp);
	free(ic);
}

void
intercept_bytes(const struct intercept *ic, uint64_t *up, uint64_t *down)
{
	*up = ic->bytes_up;
	*down = ic->bytes_down;
}
