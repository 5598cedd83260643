/*
 * An intercepted tunnel: a CONNECT to a host:port that one of the agent's
 * secrets is for (secret-rule.h).  The egress proxy has connected the
 * upstream and told the agent "200"; from here the agent's TLS ends here
 * with a certificate of qmsd's CA (egress-ca.h), qmsd speaks TLS of its
 * own to the upstream, verified, and one request goes through:
 *
 *	head	read strictly (intercept-http.h)
 *	secret	a placeholder in Authorization swapped for its secret
 *		(secret-auth.h), only for a request in the agent's scope
 *		(secret-repos); a push's ref updates read from its body and
 *		held to secret-push-refs (receive-pack.h) before a byte of
 *		it goes on.  A request without a placeholder goes as it came.
 *	answer	the upstream's, passed back with Connection: close
 *
 * then both ends close (the client opens a new tunnel for its next
 * request).  A refusal is answered in the form the client shows: git's
 * own (an ERR line, or "[remote rejected]" for each ref), else a 403 with
 * a JSON message as GitHub's API writes one.  Each request is one record
 * (egress-audit.h): method, path, status, and what was done with the
 * secret.  Its audit log record (audit-log.h) is made when qmsd decides,
 * and what it decided (the request sent on, a refusal answered) waits
 * for that record to be on disk; the log's record of a request that went
 * on has no status (the upstream's is in qmsctl egress and the journal,
 * made when it answers).  No header value is ever logged.
 */
#ifndef QMSD_EGRESS_INTERCEPT_H
#define QMSD_EGRESS_INTERCEPT_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "secret-rule.h"

struct intercept_scope {
	const char		*agent;
	const char		*authority;	/* host:port, normalised */
	const char		*host;		/* the name or address alone */
	const char		*address;	/* connected to, for the audit */
	const struct secret_rule *rules;	/* the agent's, all of them */
	size_t			 nrules;
	char *const		*repos;		/* secret-repos, or NULL */
	char *const		*refs;		/* secret-push-refs, or NULL */
	uint64_t		 idle_ms;
};

struct intercept;
/* The end, with why; the intercept is still to be freed by the caller. */
typedef void (*intercept_done_fn)(void *arg, const char *why);

/*
 * Take cfd (the agent's end, not yet told 200) and ufd (the upstream,
 * connected).  scope's strings and lists must live as long as the
 * intercept.  NULL with why (then the descriptors are still the
 * caller's).  No request is read from cfd until intercept_go() (the
 * TLS handshake on it may begin before: libevent begins it at once).
 */
struct intercept *intercept_start(struct event_base *, int cfd, int ufd,
		    const struct intercept_scope *, intercept_done_fn,
		    void *arg, char *err, size_t errlen);
/* The tunnel's record is on disk and the agent told 200: cfd is read. */
void		 intercept_go(struct intercept *);
void		 intercept_free(struct intercept *);
/* Bytes from the agent toward the upstream, and back. */
void		 intercept_bytes(const struct intercept *, uint64_t *up,
		    uint64_t *down);

#endif
