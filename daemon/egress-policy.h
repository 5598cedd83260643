/*
 * The egress policy: which host:port an agent may reach through qmsd's
 * egress proxy (egress-proxy.h), and config.c's check of the key.  Pure:
 * no I/O, no name resolution, no global state, nothing allocated
 * (inet_pton and inet_ntop only convert text).
 *
 * Three steps, in the order the proxy takes them:
 *
 * 1. egress_list_parse: the value of an agent's egress key, entries
 *    separated by white space:
 *
 *	host:port	an exact name (lower-cased, a trailing dot dropped,
 *			RFC 1123 labels: letters, digits, inner hyphens,
 *			1-63 bytes each, 253 in all)
 *	*.domain:port	any name below domain, at any depth, but not domain
 *			itself (list both when both are meant)
 *	a.b.c.d:port	an IPv4 address, four decimal numbers, no leading zero
 *	[v6]:port	an IPv6 address, without a zone id
 *	@name		a preset (egress_presets[]: what a tool documents it
 *			needs), always written without a port
 *
 *    Ports are 1-65535, decimal, no leading zero.  An empty value allows
 *    nothing.  Duplicates count once; more than EGRESS_MAX_ENTRIES after
 *    the presets are expanded is an error.  A bad entry fails the whole
 *    list (a reload keeps the old one), with an error naming the entry.
 *
 * 2. egress_check_target: the authority of a CONNECT line or of an
 *    absolute-form URL, "host:port" or "[v6]:port", normalised as in 1 and
 *    matched.  A name matches a name entry or a *.domain entry with the
 *    same port; an IP literal matches only the same literal listed with
 *    the same port (IPv4 and IPv6 are never matched across, so
 *    [::ffff:127.0.0.1] is not 127.0.0.1).  Refused before matching, as
 *    the ways a client or a resolver may read a host differently from
 *    us: userinfo (a@b), a zone id (%), a missing or empty port, an empty
 *    or overlong name, a byte outside letters, digits, '-' and '.', an
 *    unbracketed IPv6 address, and any name whose last label is a number
 *    (all digits, or 0x...) but that is not four decimal numbers:
 *    2130706433, 0177.0.0.1, 0x7f.1, 127.1 all reach 127.0.0.1 through
 *    inet_aton or a browser's URL parser (the WHATWG "ends in a number"
 *    rule).  For an absolute-form URL without a port the proxy writes in
 *    the scheme's (http: 80) before asking: the policy never guesses one.
 *
 * 3. egress_check_address: for each address a name-matched target
 *    resolved to, before connecting.  An address that is not public
 *    (egress_classify: loopback, link-local, private, unspecified,
 *    multicast, reserved; an IPv6 address embedding an IPv4 one,
 *    ::ffff:0:0/96, ::/96 or 64:ff9b::/96, is classed by that IPv4
 *    address) is refused unless that very address is listed with the
 *    target's port: otherwise a listed name whose DNS the agent (or
 *    anyone) controls could lead into the host or its network (DNS
 *    rebinding).  For an IP-literal target the address must be the
 *    literal itself.
 *
 * Every decision fills a struct egress_decision whose reason is one line
 * for the 403 body and the audit record: on refusal it names the refused
 * host:port and the entry and key that would allow it.  Its entry points
 * into the list, so a reload that replaces the list must not free the
 * old one while a decision is still read.  Matching walks the list once:
 * at most EGRESS_MAX_ENTRIES comparisons a request.
 */
#ifndef QMSD_EGRESS_POLICY_H
#define QMSD_EGRESS_POLICY_H

#include <netinet/in.h>

#include <stddef.h>
#include <stdint.h>

/* Entries after presets are expanded; more is a configuration error. */
#define EGRESS_MAX_ENTRIES	256
/* A name without its trailing dot (RFC 1035's 255 on the wire). */
#define EGRESS_MAX_NAME		253
/* A whole egress value; longer is refused before it is split. */
#define EGRESS_MAX_VALUE	65536
/* A target authority: the longest name, ':' and five digits. */
#define EGRESS_MAX_AUTHORITY	(EGRESS_MAX_NAME + 1 + 1 + 5)

enum egress_kind {
	EGRESS_NAME,		/* host: an exact name */
	EGRESS_SUFFIX,		/* *.domain: names below domain */
	EGRESS_IPV4,
	EGRESS_IPV6,
};

struct egress_entry {
	enum egress_kind	 kind;
	/* The name, the domain of *.domain, or the address as text. */
	char			 host[EGRESS_MAX_NAME + 1];
	struct in_addr		 v4;		/* EGRESS_IPV4 */
	struct in6_addr		 v6;		/* EGRESS_IPV6 */
	uint16_t		 port;
	const char		*preset;	/* "@github", or NULL */
};

struct egress_list {
	struct egress_entry	entries[EGRESS_MAX_ENTRIES];
	size_t			n;
};

/* A parsed target: kind is EGRESS_NAME, EGRESS_IPV4 or EGRESS_IPV6. */
struct egress_target {
	enum egress_kind	kind;
	char			host[EGRESS_MAX_NAME + 1];	/* normalised */
	struct in_addr		v4;
	struct in6_addr		v6;
	uint16_t		port;
};

enum egress_class {
	EGRESS_PUBLIC,
	EGRESS_UNSPECIFIED,	/* 0.0.0.0/8, :: */
	EGRESS_LOOPBACK,	/* 127.0.0.0/8, ::1 */
	EGRESS_LINK_LOCAL,	/* 169.254.0.0/16, fe80::/10 */
	EGRESS_PRIVATE,		/* RFC 1918, 100.64.0.0/10, fc00::/7,
				   fec0::/10, 64:ff9b:1::/48 */
	EGRESS_MULTICAST,	/* 224.0.0.0/4, ff00::/8 */
	EGRESS_RESERVED,	/* 240.0.0.0/4 and broadcast, 192.0.0.0/24,
				   documentation and benchmarking ranges,
				   100::/64, 2001:db8::/32 */
};

struct egress_decision {
	int			 allowed;
	/* What allowed it (an entry of the list), or NULL. */
	const struct egress_entry *entry;
	/* Why refused: bad-target, not-listed, not-public; NULL if allowed. */
	const char		*rule;
	/* One line, printable ASCII: for the 403 body and the audit. */
	char			 reason[768];
};

struct egress_preset {
	const char		*name;		/* "@github" */
	const char *const	*entries;	/* NULL-terminated */
};
/* NULL-terminated by a { NULL, NULL } entry. */
extern const struct egress_preset egress_presets[];

/*
 * Parse an egress value (NULL or "" allows nothing).  Returns 0, or -1
 * with err holding, for instance,
 *	egress entry "github.com": no port; write "github.com:443"
 * and the list emptied.
 */
int	egress_list_parse(struct egress_list *, const char *, char *err,
	    size_t errlen);

/*
 * Parse a target authority (a C string; a NUL in what the client sent is
 * the caller's to refuse).  Returns 0, or -1 with err saying why.
 */
int	egress_target_parse(const char *, struct egress_target *, char *err,
	    size_t errlen);

/*
 * Step 2: parse authority into *t and match it.  Returns 0 if allowed
 * (so far: a name still needs egress_check_address for each address),
 * -1 if refused.  agent is the agent's name, for the reason.
 */
int	egress_check_target(const struct egress_list *, const char *agent,
	    const char *authority, struct egress_target *t,
	    struct egress_decision *);

/*
 * Step 3: whether t, allowed by egress_check_target, may be connected to
 * at addr (af AF_INET with a struct in_addr, or AF_INET6 with a struct
 * in6_addr).  Returns 0 if allowed, -1 if refused.
 */
int	egress_check_address(const struct egress_list *, const char *agent,
	    const struct egress_target *t, int af, const void *addr,
	    struct egress_decision *);

enum egress_class egress_classify(int af, const void *addr);
/* "public", "loopback", "link-local", "private", ... */
const char	*egress_class_name(enum egress_class);

/* An entry as it would be written in the list: "*.github.com:443". */
void	egress_entry_format(const struct egress_entry *, char *, size_t);

#endif
