/*
 * The egress policy: the allow-list, targets normalised so that no client
 * can read them differently, and the classes of resolved addresses.  See
 * egress-policy.h for the rules and the contract with the proxy.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <string.h>

#include "egress-policy.h"
#include "message.h"

/*
 * What each tool documents that it needs.  Claude Code: the API, statsig
 * and sentry for its telemetry, and its logins (claude.ai's and the
 * Console's) (its network-access documentation);
 * GitHub: git over https and ssh, the API, downloads and raw files; npm and
 * PyPI: their registries and file hosts.
 */
static const char *const preset_anthropic[] = {
	"api.anthropic.com:443", "statsig.anthropic.com:443",
	"sentry.io:443", "claude.ai:443", "console.anthropic.com:443",
	"platform.claude.com:443", NULL
};
static const char *const preset_github[] = {
	"github.com:443", "api.github.com:443", "codeload.github.com:443",
	"objects.githubusercontent.com:443", "*.githubusercontent.com:443",
	"github.com:22", NULL
};
static const char *const preset_npm[] = { "registry.npmjs.org:443", NULL };
static const char *const preset_pypi[] = {
	"pypi.org:443", "files.pythonhosted.org:443", NULL
};

const struct egress_preset egress_presets[] = {
	{ "@anthropic", preset_anthropic },
	{ "@github", preset_github },
	{ "@npm", preset_npm },
	{ "@pypi", preset_pypi },
	{ NULL, NULL },
};

/*
 * Four decimal numbers 0-255, no leading zero, no sign: the one spelling
 * of an IPv4 address that every parser reads the same way.
 */
static int
parse_ipv4(const char *s, size_t len, struct in_addr *a)
{
	uint32_t	v = 0;
	size_t		i = 0, part, digits;
	unsigned	n;

	for (part = 0; part < 4; part++) {
		if (part > 0) {
			if (i >= len || s[i] != '.')
				return -1;
			i++;
		}
		n = 0;
		for (digits = 0; i < len && s[i] >= '0' && s[i] <= '9';
		    i++, digits++) {
			if (digits == 3)
				return -1;
			n = n * 10 + (unsigned)(s[i] - '0');
		}
		if (digits == 0 || n > 255 ||
		    (digits > 1 && s[i - digits] == '0'))
			return -1;
		v = (v << 8) | n;
	}
	if (i != len)
		return -1;
	a->s_addr = htonl(v);
	return 0;
}

/* 1-65535, decimal, no sign, no leading zero. */
static int
parse_port(const char *s, size_t len, uint16_t *port)
{
	unsigned long	v = 0;
	size_t		i;

	if (len == 0 || len > 5 || s[0] == '0')
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/*
 * The WHATWG URL parser's "ends in a number": a last label of digits, or
 * 0x and hex digits, makes a browser (and inet_aton, for the short forms)
 * read the whole name as an IPv4 address in some base.
 */
static int
ends_in_number(const char *s, size_t len)
{
	size_t	start = len, i;

	while (start > 0 && s[start - 1] != '.')
		start--;
	if (start == len)
		return 0;
	i = start;
	if (len - start >= 2 && s[i] == '0' && (s[i + 1] == 'x' ||
	    s[i + 1] == 'X')) {
		for (i += 2; i < len; i++)
			if (!((s[i] >= '0' && s[i] <= '9') ||
			    (s[i] >= 'a' && s[i] <= 'f') ||
			    (s[i] >= 'A' && s[i] <= 'F')))
				return 0;
		return 1;
	}
	for (; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/*
 * A host without brackets: a name, normalised into out, or an IPv4
 * address.  Returns the kind, or -1 with why.
 */
static int
parse_host(const char *s, size_t len, char *out, struct in_addr *v4,
    const char **why)
{
	size_t	i, label = 0;

	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0) {
		*why = "the host is empty";
		return -1;
	}
	if (len > EGRESS_MAX_NAME) {
		*why = "the name is longer than 253 bytes";
		return -1;
	}
	if (ends_in_number(s, len)) {
		if (parse_ipv4(s, len, v4) == -1) {
			*why = "an IPv4 address must be written as four "
			    "decimal numbers without leading zeros (a.b.c.d); "
			    "other spellings read differently in different "
			    "clients";
			return -1;
		}
		inet_ntop(AF_INET, v4, out, EGRESS_MAX_NAME + 1);
		return EGRESS_IPV4;
	}
	for (i = 0; i < len; i++) {
		char	c = s[i];

		if (c == '.') {
			if (label == 0) {
				*why = "the name has an empty label";
				return -1;
			}
			if (s[i - 1] == '-') {
				*why = "a label ends with '-'";
				return -1;
			}
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    (c >= 'A' && c <= 'Z') || c == '-') {
			if (label == 0 && c == '-') {
				*why = "a label starts with '-'";
				return -1;
			}
			if (++label > 63) {
				*why = "a label is longer than 63 bytes";
				return -1;
			}
		} else {
			*why = c == '%' ? "a zone id (%) is not allowed" :
			    c == ':' ? "an IPv6 address must be in brackets, "
			    "[v6]:port" :
			    "a name holds only letters, digits, '-' and '.'";
			return -1;
		}
		out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	if (label == 0) {	/* a second trailing dot */
		*why = "the name has an empty label";
		return -1;
	}
	if (s[len - 1] == '-') {
		*why = "a label ends with '-'";
		return -1;
	}
	out[len] = '\0';
	return EGRESS_NAME;
}

/*
 * host:port or [v6]:port, into kind, host, v4/v6 and port.  Shared by
 * entries and targets so that both are read by one set of rules.
 */
static int
parse_authority(const char *s, size_t len, struct egress_target *t,
    const char **why)
{
	const char	*colon, *h;
	size_t		 hlen;
	char		 v6[64];
	int		 kind;

	memset(t, 0, sizeof(*t));
	if (memchr(s, '@', len) != NULL) {
		*why = "userinfo (user@) is not allowed";
		return -1;
	}
	if (len > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', len);

		if (close == NULL) {
			*why = "'[' without ']'";
			return -1;
		}
		h = s + 1;
		hlen = (size_t)(close - h);
		if (memchr(h, '%', hlen) != NULL) {
			*why = "a zone id (%) is not allowed";
			return -1;
		}
		if (hlen == 0 || hlen >= sizeof(v6)) {
			*why = "not an IPv6 address between the brackets";
			return -1;
		}
		memcpy(v6, h, hlen);
		v6[hlen] = '\0';
		if (inet_pton(AF_INET6, v6, &t->v6) != 1) {
			*why = "not an IPv6 address between the brackets";
			return -1;
		}
		inet_ntop(AF_INET6, &t->v6, t->host, sizeof(t->host));
		t->kind = EGRESS_IPV6;
		colon = close + 1;
		if (colon == s + len || *colon != ':') {
			*why = colon == s + len ? "no port" :
			    "only :port may follow ']'";
			return -1;
		}
	} else {
		colon = NULL;
		for (h = s; h < s + len; h++)
			if (*h == ':')
				colon = h;
		if (colon == NULL) {
			*why = "no port";
			return -1;
		}
		if ((kind = parse_host(s, (size_t)(colon - s), t->host,
		    &t->v4, why)) == -1)
			return -1;
		t->kind = (enum egress_kind)kind;
	}
	colon++;
	if (parse_port(colon, (size_t)(s + len - colon), &t->port) == -1) {
		*why = colon == s + len ? "no port" :
		    "the port must be a number from 1 to 65535, no leading "
		    "zero";
		return -1;
	}
	return 0;
}

int
egress_target_parse(const char *s, struct egress_target *t, char *err,
    size_t errlen)
{
	const char	*why = NULL;
	char		 q[128];
	size_t		 len;

	len = strnlen(s, EGRESS_MAX_AUTHORITY + 1);
	if (len > EGRESS_MAX_AUTHORITY)
		why = "it is longer than any host:port";
	else if (parse_authority(s, len, t, &why) == 0)
		return 0;
	memset(t, 0, sizeof(*t));
	msg_quote(q, sizeof(q), s, len);
	msg_say(err, errlen, "%s is refused: %s", q, why);
	return -1;
}

static int
same_entry(const struct egress_entry *a, const struct egress_entry *b)
{
	return a->kind == b->kind && a->port == b->port &&
	    strcmp(a->host, b->host) == 0;
}

/* One entry of the list, or of a preset, appended unless already there. */
static int
add_entry(struct egress_list *l, const char *s, size_t len,
    const char *preset, char *err, size_t errlen)
{
	struct egress_entry	 e;
	struct egress_target	 t;
	const char		*why = NULL;
	char			 q[128];
	size_t			 i;
	int			 suffix = 0;

	msg_quote(q, sizeof(q), s, len);
	if (len >= 2 && s[0] == '*' && s[1] == '.') {
		suffix = 1;
		s += 2;
		len -= 2;
	}
	if (parse_authority(s, len, &t, &why) == -1) {
		/*
		 * A bare host is the likely slip: show it with the port most
		 * meant, but only once the host itself is known good, so that
		 * the message never echoes a byte unquoted.
		 */
		if (strcmp(why, "no port") == 0 && memchr(s, ':', len) == NULL &&
		    parse_host(s, len, t.host, &t.v4, &why) != -1) {
			msg_say(err, errlen, "egress entry %s: no port; write "
			    "\"%s%s:443\" for https", q, suffix ? "*." : "",
			    t.host);
			return -1;
		}
		msg_say(err, errlen, "egress entry %s: %s", q, why);
		return -1;
	}
	if (suffix && t.kind != EGRESS_NAME) {
		msg_say(err, errlen, "egress entry %s: '*.' needs a domain "
		    "name, not an address", q);
		return -1;
	}
	memset(&e, 0, sizeof(e));
	e.kind = suffix ? EGRESS_SUFFIX : t.kind;
	memcpy(e.host, t.host, sizeof(e.host));
	e.v4 = t.v4;
	e.v6 = t.v6;
	e.port = t.port;
	e.preset = preset;
	for (i = 0; i < l->n; i++)
		if (same_entry(&l->entries[i], &e))
			return 0;
	if (l->n == EGRESS_MAX_ENTRIES) {
		msg_say(err, errlen, "egress: more than %d entries, presets "
		    "counted as the entries they stand for",
		    EGRESS_MAX_ENTRIES);
		return -1;
	}
	l->entries[l->n++] = e;
	return 0;
}

static int
add_preset(struct egress_list *l, const char *s, size_t len, char *err,
    size_t errlen)
{
	const struct egress_preset	*p;
	const char *const		*e;
	char				 q[128], names[128];
	size_t				 o = 0;

	for (p = egress_presets; p->name != NULL; p++) {
		if (strlen(p->name) != len || memcmp(p->name, s, len) != 0)
			continue;
		for (e = p->entries; *e != NULL; e++)
			if (add_entry(l, *e, strlen(*e), p->name, err,
			    errlen) == -1)
				return -1;
		return 0;
	}
	names[0] = '\0';
	for (p = egress_presets; p->name != NULL; p++)
		o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s",
		    o > 0 ? " " : "", p->name);
	msg_quote(q, sizeof(q), s, len);
	msg_say(err, errlen, "egress entry %s: no such preset; the presets are "
	    "%s (a preset has no port)", q, names);
	return -1;
}

int
egress_list_parse(struct egress_list *l, const char *value, char *err,
    size_t errlen)
{
	const char	*s, *end;
	size_t		 len;
	int		 r;

	l->n = 0;
	msg_say(err, errlen, "%s", "");
	if (value == NULL)
		return 0;
	len = strnlen(value, EGRESS_MAX_VALUE + 1);
	if (len > EGRESS_MAX_VALUE) {
		msg_say(err, errlen, "egress: the value is longer than %d "
		    "bytes", EGRESS_MAX_VALUE);
		return -1;
	}
	for (s = value; s < value + len; s = end) {
		while (s < value + len && strchr(" \t\r\n\v\f", *s) != NULL)
			s++;
		if (s == value + len)
			break;
		for (end = s; end < value + len &&
		    strchr(" \t\r\n\v\f", *end) == NULL; end++)
			;
		if (*s == '@')
			r = add_preset(l, s, (size_t)(end - s), err, errlen);
		else
			r = add_entry(l, s, (size_t)(end - s), NULL, err,
			    errlen);
		if (r == -1) {
			l->n = 0;
			return -1;
		}
	}
	return 0;
}

/* Whether name lies strictly below domain. */
static int
below(const char *name, const char *domain)
{
	size_t	n = strlen(name), d = strlen(domain);

	return n > d + 1 && name[n - d - 1] == '.' &&
	    memcmp(name + n - d, domain, d) == 0;
}

static const struct egress_entry *
match(const struct egress_list *l, const struct egress_target *t)
{
	const struct egress_entry	*e;
	size_t				 i;

	for (i = 0; i < l->n; i++) {
		e = &l->entries[i];
		if (e->port != t->port)
			continue;
		switch (e->kind) {
		case EGRESS_NAME:
			if (t->kind == EGRESS_NAME &&
			    strcmp(e->host, t->host) == 0)
				return e;
			break;
		case EGRESS_SUFFIX:
			if (t->kind == EGRESS_NAME && below(t->host, e->host))
				return e;
			break;
		case EGRESS_IPV4:
			if (t->kind == EGRESS_IPV4 &&
			    e->v4.s_addr == t->v4.s_addr)
				return e;
			break;
		case EGRESS_IPV6:
			if (t->kind == EGRESS_IPV6 &&
			    memcmp(&e->v6, &t->v6, sizeof(e->v6)) == 0)
				return e;
			break;
		}
	}
	return NULL;
}

/* "host:port", bracketed for IPv6: the entry that would allow it. */
static void
target_format(enum egress_kind kind, const char *host, uint16_t port,
    char *buf, size_t len)
{
	if (kind == EGRESS_IPV6)
		msg_say(buf, len, "[%s]:%u", host, (unsigned)port);
	else
		msg_say(buf, len, "%s:%u", host, (unsigned)port);
}

void
egress_entry_format(const struct egress_entry *e, char *buf, size_t len)
{
	char	tmp[EGRESS_MAX_NAME + 16];

	target_format(e->kind, e->host, e->port, tmp, sizeof(tmp));
	msg_say(buf, len, "%s%s", e->kind == EGRESS_SUFFIX ? "*." : "", tmp);
}

/* A target no entry names: the refusal says which key would allow it. */
static int
not_listed(struct egress_decision *d, const char *tgt, const char *agent)
{
	d->rule = "not-listed";
	msg_say(d->reason, sizeof(d->reason), "egress: %s is not in agent %s's "
	    "egress list; add \"%s\" to [agent \"%s\"] egress", tgt, agent,
	    tgt, agent);
	return -1;
}

static void
allowed_by(struct egress_decision *d, const char *what,
    const struct egress_entry *e)
{
	char	ent[EGRESS_MAX_NAME + 16];

	egress_entry_format(e, ent, sizeof(ent));
	d->allowed = 1;
	d->entry = e;
	d->rule = NULL;
	if (e->preset != NULL)
		msg_say(d->reason, sizeof(d->reason), "egress: %s allowed by "
		    "%s (%s)", what, e->preset, ent);
	else
		msg_say(d->reason, sizeof(d->reason), "egress: %s allowed by "
		    "\"%s\"", what, ent);
}

int
egress_check_target(const struct egress_list *l, const char *agent,
    const char *authority, struct egress_target *t,
    struct egress_decision *d)
{
	const struct egress_entry	*e;
	char				 why[256], tgt[EGRESS_MAX_NAME + 16];

	memset(d, 0, sizeof(*d));
	if (egress_target_parse(authority, t, why, sizeof(why)) == -1) {
		d->rule = "bad-target";
		msg_say(d->reason, sizeof(d->reason), "egress: %s", why);
		return -1;
	}
	target_format(t->kind, t->host, t->port, tgt, sizeof(tgt));
	if ((e = match(l, t)) == NULL) {
		return not_listed(d, tgt, agent);
	}
	allowed_by(d, tgt, e);
	return 0;
}

static enum egress_class
classify4(uint32_t a)
{
	if ((a >> 24) == 0)
		return EGRESS_UNSPECIFIED;
	if ((a >> 24) == 127)
		return EGRESS_LOOPBACK;
	if ((a >> 16) == 0xa9fe)			/* 169.254/16 */
		return EGRESS_LINK_LOCAL;
	if ((a >> 24) == 10 ||
	    (a >> 20) == 0xac1 ||			/* 172.16/12 */
	    (a >> 16) == 0xc0a8 ||			/* 192.168/16 */
	    (a >> 22) == (100u << 2 | 1))		/* 100.64/10 */
		return EGRESS_PRIVATE;
	if ((a >> 28) == 0xe)				/* 224/4 */
		return EGRESS_MULTICAST;
	if ((a >> 28) == 0xf ||				/* 240/4, broadcast */
	    (a >> 8) == 0xc00000 ||			/* 192.0.0/24 */
	    (a >> 8) == 0xc00002 ||			/* 192.0.2/24 */
	    (a >> 17) == (0xc612 >> 1) ||		/* 198.18/15 */
	    (a >> 8) == 0xc63364 ||			/* 198.51.100/24 */
	    (a >> 8) == 0xcb0071)			/* 203.0.113/24 */
		return EGRESS_RESERVED;
	return EGRESS_PUBLIC;
}

static int
zero(const uint8_t *b, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

enum egress_class
egress_classify(int af, const void *addr)
{
	const uint8_t	*b;
	uint32_t	 v4;

	if (af == AF_INET)
		return classify4(ntohl(((const struct in_addr *)addr)->s_addr));
	if (af != AF_INET6)
		return EGRESS_RESERVED;
	b = ((const struct in6_addr *)addr)->s6_addr;
	if (zero(b, 16))
		return EGRESS_UNSPECIFIED;
	if (zero(b, 15) && b[15] == 1)
		return EGRESS_LOOPBACK;
	v4 = (uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 |
	    (uint32_t)b[14] << 8 | b[15];
	/*
	 * Where an IPv4 address is carried inside, the host or a translator
	 * on the way may deliver to it: ::ffff:a.b.c.d (mapped), ::a.b.c.d
	 * (compatible), ::ffff:0:a.b.c.d (translated), 64:ff9b::a.b.c.d
	 * (NAT64), 2002:AABB:CCDD:: (6to4, the address in bytes 2-5).
	 */
	if ((zero(b, 10) && b[10] == 0xff && b[11] == 0xff) || zero(b, 12) ||
	    (zero(b, 8) && b[8] == 0xff && b[9] == 0xff && zero(b + 10, 2)) ||
	    (b[0] == 0 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b &&
	    zero(b + 4, 8)))
		return classify4(v4);
	if (b[0] == 0x20 && b[1] == 0x02)
		return classify4((uint32_t)b[2] << 24 | (uint32_t)b[3] << 16 |
		    (uint32_t)b[4] << 8 | b[5]);
	if (b[0] == 0 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b &&
	    b[4] == 0 && b[5] == 1)			/* 64:ff9b:1::/48 */
		return EGRESS_PRIVATE;
	if ((b[0] & 0xfe) == 0xfc)			/* fc00::/7 */
		return EGRESS_PRIVATE;
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)	/* fe80::/10 */
		return EGRESS_LINK_LOCAL;
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0)	/* fec0::/10 */
		return EGRESS_PRIVATE;
	if (b[0] == 0xff)
		return EGRESS_MULTICAST;
	if ((b[0] == 0x01 && zero(b + 1, 7)) ||		/* 100::/64 */
	    (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d &&
	    b[3] == 0xb8) ||				/* 2001:db8::/32 */
	    (b[0] == 0x20 && b[1] == 0x01 && zero(b + 2, 2)))	/* Teredo */
		return EGRESS_RESERVED;
	return EGRESS_PUBLIC;
}

const char *
egress_class_name(enum egress_class c)
{
	switch (c) {
	case EGRESS_PUBLIC:
		return "public";
	case EGRESS_UNSPECIFIED:
		return "unspecified";
	case EGRESS_LOOPBACK:
		return "loopback";
	case EGRESS_LINK_LOCAL:
		return "link-local";
	case EGRESS_PRIVATE:
		return "private";
	case EGRESS_MULTICAST:
		return "multicast";
	case EGRESS_RESERVED:
		return "reserved";
	}
	return "reserved";
}

int
egress_check_address(const struct egress_list *l, const char *agent,
    const struct egress_target *t, int af, const void *addr,
    struct egress_decision *d)
{
	const struct egress_entry	*e;
	struct egress_target		 a;
	enum egress_class		 c;
	char				 tgt[EGRESS_MAX_NAME + 16];
	char				 at[EGRESS_MAX_NAME + 16];

	memset(d, 0, sizeof(*d));
	memset(&a, 0, sizeof(a));
	a.port = t->port;
	if (af == AF_INET) {
		a.kind = EGRESS_IPV4;
		memcpy(&a.v4, addr, sizeof(a.v4));
		inet_ntop(AF_INET, &a.v4, a.host, sizeof(a.host));
	} else if (af == AF_INET6) {
		a.kind = EGRESS_IPV6;
		memcpy(&a.v6, addr, sizeof(a.v6));
		inet_ntop(AF_INET6, &a.v6, a.host, sizeof(a.host));
	} else {
		d->rule = "not-public";
		msg_say(d->reason, sizeof(d->reason), "egress: %s resolves to "
		    "an address of an unknown family", t->host);
		return -1;
	}
	target_format(t->kind, t->host, t->port, tgt, sizeof(tgt));
	target_format(a.kind, a.host, a.port, at, sizeof(at));

	/* An IP literal connects to itself, and was listed to get here. */
	if (t->kind != EGRESS_NAME) {
		if (a.kind != t->kind || (a.kind == EGRESS_IPV4 ?
		    a.v4.s_addr != t->v4.s_addr :
		    memcmp(&a.v6, &t->v6, sizeof(a.v6)) != 0)) {
			d->rule = "not-listed";
			msg_say(d->reason, sizeof(d->reason), "egress: %s is "
			    "not the address %s", at, tgt);
			return -1;
		}
		if ((e = match(l, &a)) == NULL) {
			d->rule = "not-listed";
			msg_say(d->reason, sizeof(d->reason), "egress: %s is "
			    "not in agent %s's egress list; add \"%s\" to "
			    "[agent \"%s\"] egress", tgt, agent, tgt, agent);
			return -1;
		}
		allowed_by(d, tgt, e);
		return 0;
	}
	if ((e = match(l, t)) == NULL) {
		return not_listed(d, tgt, agent);
	}
	if ((c = egress_classify(af, addr)) == EGRESS_PUBLIC) {
		allowed_by(d, tgt, e);
		return 0;
	}
	if ((e = match(l, &a)) != NULL) {
		allowed_by(d, tgt, e);
		msg_say(d->reason, sizeof(d->reason), "egress: %s at %s "
		    "allowed by \"%s\"", tgt, a.host, at);
		return 0;
	}
	d->rule = "not-public";
	msg_say(d->reason, sizeof(d->reason), "egress: %s resolves to %s, a %s "
	    "address, refused so that a name cannot lead into the host or "
	    "its network; add \"%s\" to [agent \"%s\"] egress to allow it",
	    tgt, a.host, egress_class_name(c), at, agent);
	return -1;
}
