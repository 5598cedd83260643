/*
 * What an agent's secrets are and where they may be used: the agent keys
 * secret, secret-repos and secret-push-refs (qmsd.conf(5)), parsed and
 * matched.  Pure: no I/O, no global state, nothing allocated.
 *
 *	secret = NAME HOST[:PORT] ...
 *
 * NAME is an environment variable of the agent's env-file ([A-Z_][A-Z0-9_]*,
 * at most 63 bytes).  Each HOST is a name as egress-policy.h normalises it,
 * or an IPv4 address, or a bracketed IPv6 address; PORT is 443 unless
 * given.  At least one host; at most SECRET_MAX_HOSTS.  Inside the
 * container NAME holds a placeholder (secret_placeholder); the egress
 * proxy intercepts the TLS of exactly these host:port pairs and puts the
 * value in place of the placeholder in Authorization (secret-auth.h).
 *
 *	secret-repos = OWNER/REPO ...	(OWNER/"*" for all of an owner's)
 *	secret-push-refs = REF ...	(a trailing * matches any rest)
 *
 * Both per agent, for every secret of it; unset, no limit (the token's
 * own).  Names compare without regard to case, as GitHub's do.
 */
#ifndef QMSD_SECRET_RULE_H
#define QMSD_SECRET_RULE_H

#include <stddef.h>

#include "egress-policy.h"

#define SECRET_MAX_PER_AGENT	8
#define SECRET_MAX_HOSTS	8
#define SECRET_MAX_NAME		63
#define SECRET_MAX_REPOS	64
#define SECRET_MAX_REFS		64
/* "qmsd-placeholder-" NAME "-" 32 hex digits */
#define SECRET_PLACEHOLDER_MAX	(17 + SECRET_MAX_NAME + 1 + 32)

struct secret_rule {
	char		name[SECRET_MAX_NAME + 1];
	/* "host:port" ("[v6]:port"), normalised as egress_check_target's */
	char		hosts[SECRET_MAX_HOSTS][EGRESS_MAX_AUTHORITY + 1];
	size_t		nhosts;
};

/* One secret key's value; -1 with why. */
int	secret_rule_parse(const char *value, struct secret_rule *,
	    char *err, size_t errlen);
/* A secret-repos or secret-push-refs word; -1 with why. */
int	secret_repo_check(const char *word, char *err, size_t errlen);
int	secret_ref_check(const char *word, char *err, size_t errlen);

/* Whether rule covers authority ("host:port" as egress_check_target
 * normalised it). */
int	secret_rule_covers(const struct secret_rule *, const char *authority);

/*
 * Whether a request (method, origin-form target, query included) may
 * carry the secret under repos (NULL or empty: any).  The repository a
 * path names is read GitHub's ways, after an optional /api/v3:
 *	/repos/OWNER/REPO[/...]		the REST API
 *	/OWNER/REPO[.git][/...]		git over https, and the web
 * Account reads carry it too: GET or HEAD of /user, /user/..., /rate_limit,
 * /meta, /octocat, /zen (and the same under /api/v3).  Anything else is
 * refused (GraphQL, POST /user/repos, another repository), as is a path
 * with %, \, an empty, "." or ".." segment before the repository.  Returns
 * 0, or -1 with why (one line naming the repository or path and the key).
 */
int	secret_scope_request(const char *method, const char *target,
	    char *const *repos, const char *agent, char *why, size_t whylen);

/* Whether ref may be pushed under refs (NULL or empty: any); 0 or -1. */
int	secret_scope_ref(const char *ref, char *const *refs);

#endif
