#include <sys/random.h>

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "console-auth.h"
#include "util.h"
#include "log.h"

/* A link's secret, or a session's id's hash (console_session_hash()). */
struct secret {
	char		 s[CONSOLE_SECRET_LEN + 1];	/* "" when free */
	uint64_t	 made;
	uint64_t	 used;				/* sessions: last use */
};

static struct secret	links[CONSOLE_MAX_LINKS];
static struct secret	sessions[CONSOLE_MAX_SESSIONS];

void
console_auth_random(char out[CONSOLE_SECRET_LEN + 1])
{
	unsigned char	raw[CONSOLE_SECRET_LEN / 2];
	size_t		i;

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		fatal("getrandom");
	for (i = 0; i < sizeof(raw); i++)
		snprintf(out + i * 2, 3, "%02x", raw[i]);
	out[CONSOLE_SECRET_LEN] = '\0';
	explicit_bzero(raw, sizeof(raw));
}

/* Of the right shape: what is compared has the one public length. */
static int
well_formed(const char *s)
{
	size_t	i;

	if (s == NULL)
		return (0);
	for (i = 0; i < CONSOLE_SECRET_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return (0);
	return (s[CONSOLE_SECRET_LEN] == '\0');
}

/* The slot holding s, or NULL; every slot is compared, whichever it is. */
static struct secret *
find(struct secret *t, size_t n, const char *s)
{
	struct secret	*found = NULL;
	size_t		 i;

	if (!well_formed(s))
		return (NULL);
	for (i = 0; i < n; i++)
		if (equal_secret(s, t[i].s, CONSOLE_SECRET_LEN) &&
		    t[i].s[0] != '\0')
			found = &t[i];
	return (found);
}

static void
forget(struct secret *e)
{
	explicit_bzero(e, sizeof(*e));
}

/* A free slot, or the one whose key (made or used) is oldest. */
static struct secret *
slot(struct secret *t, size_t n, int by_use)
{
	struct secret	*old = &t[0];
	size_t		 i;

	for (i = 0; i < n; i++) {
		if (t[i].s[0] == '\0')
			return (&t[i]);
		if ((by_use ? t[i].used : t[i].made) <
		    (by_use ? old->used : old->made))
			old = &t[i];
	}
	forget(old);
	return (old);
}

static void
put(struct secret *e, const char *s, uint64_t now)
{
	if (!well_formed(s))
		fatalx("console: a malformed secret");
	memcpy(e->s, s, CONSOLE_SECRET_LEN + 1);
	e->made = e->used = now;
}

void
console_link_add(const char *secret, uint64_t now)
{
	put(slot(links, CONSOLE_MAX_LINKS, 0), secret, now);
}

enum console_link
console_link_use(const char *secret, uint64_t now)
{
	struct secret	*e;
	uint64_t	 made;

	if ((e = find(links, CONSOLE_MAX_LINKS, secret)) == NULL)
		return (CONSOLE_LINK_UNKNOWN);
	made = e->made;
	forget(e);		/* once, expired or not */
	if (now - made >= CONSOLE_LINK_MS)
		return (CONSOLE_LINK_EXPIRED);
	return (CONSOLE_LINK_OK);
}

void
console_session_hash(const char *id, char out[CONSOLE_SECRET_LEN + 1])
{
	unsigned char	md[EVP_MAX_MD_SIZE];
	unsigned int	mdlen = 0, i;

	if (EVP_Digest(id, strlen(id), md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen * 2 != CONSOLE_SECRET_LEN)
		fatalx("console: SHA-256 failed");
	for (i = 0; i < mdlen; i++)
		snprintf(out + i * 2, 3, "%02x", md[i]);
	out[CONSOLE_SECRET_LEN] = '\0';
	explicit_bzero(md, sizeof(md));
}

void
console_session_key(const char *id, const char *secret,
    char out[CONSOLE_SECRET_LEN + 1])
{
	static const char	 label[] = "qmsd console page key\n";
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned char		 in[sizeof(label) - 1 + CONSOLE_SECRET_LEN];
	unsigned int		 mdlen = 0, i;
	size_t			 n = strnlen(id, CONSOLE_SECRET_LEN);

	memcpy(in, label, sizeof(label) - 1);
	memcpy(in + sizeof(label) - 1, id, n);
	n += sizeof(label) - 1;
	if (*secret == '\0' || HMAC(EVP_sha256(), secret, (int)strlen(secret),
	    in, n, md, &mdlen) == NULL || mdlen * 2 != CONSOLE_SECRET_LEN)
		fatalx("console: HMAC-SHA-256 failed");
	explicit_bzero(in, sizeof(in));
	for (i = 0; i < mdlen; i++)
		snprintf(out + i * 2, 3, "%02x", md[i]);
	out[CONSOLE_SECRET_LEN] = '\0';
	explicit_bzero(md, sizeof(md));
}

/* The session whose id is id (by its hash), or NULL. */
static struct secret *
session_find(const char *id)
{
	struct secret	*e;
	char		 h[CONSOLE_SECRET_LEN + 1];

	if (!well_formed(id))
		return (NULL);
	console_session_hash(id, h);
	e = find(sessions, CONSOLE_MAX_SESSIONS, h);
	explicit_bzero(h, sizeof(h));
	return (e);
}

void
console_session_add(const char *id, uint64_t now)
{
	char	h[CONSOLE_SECRET_LEN + 1];

	if (!well_formed(id))
		fatalx("console: a malformed secret");
	console_session_hash(id, h);
	put(slot(sessions, CONSOLE_MAX_SESSIONS, 1), h, now);
	explicit_bzero(h, sizeof(h));
}

/*
 * How long since then: the clock is the wall clock, which may be set
 * back; a time to come counts as now, so that a step back of the clock
 * logs nobody out (and a step forward may).
 */
static uint64_t
since(uint64_t now, uint64_t then)
{
	return (now > then ? now - then : 0);
}

static int
session_live(const struct secret *e, uint64_t now)
{
	return (e->s[0] != '\0' && since(now, e->used) < CONSOLE_IDLE_MS &&
	    since(now, e->made) < CONSOLE_MAX_AGE_MS);
}

int
console_session_check(const char *id, uint64_t now)
{
	struct secret	*e;

	if ((e = session_find(id)) == NULL)
		return (0);
	if (!session_live(e, now)) {
		forget(e);
		return (0);
	}
	if (now > e->used)
		e->used = now;
	return (1);
}

int
console_session_end(const char *id)
{
	struct secret	*e;

	if ((e = session_find(id)) == NULL)
		return (0);
	forget(e);
	return (1);
}

size_t
console_session_prune(uint64_t now)
{
	size_t	i, n = 0;

	for (i = 0; i < CONSOLE_MAX_SESSIONS; i++)
		if (sessions[i].s[0] != '\0' && !session_live(&sessions[i],
		    now)) {
			forget(&sessions[i]);
			n++;
		}
	return (n);
}

size_t
console_session_list(struct console_session out[CONSOLE_MAX_SESSIONS])
{
	size_t	i, n = 0;

	for (i = 0; i < CONSOLE_MAX_SESSIONS; i++) {
		if (sessions[i].s[0] == '\0')
			continue;
		memcpy(out[n].hash, sessions[i].s, sizeof(out[n].hash));
		out[n].made = sessions[i].made;
		out[n].used = sessions[i].used;
		n++;
	}
	return (n);
}

void
console_session_restore(const struct console_session *in, size_t n)
{
	size_t	i;

	console_session_clear();
	for (i = 0; i < n && i < CONSOLE_MAX_SESSIONS; i++) {
		put(&sessions[i], in[i].hash, in[i].made);
		sessions[i].used = in[i].used;
	}
}

void
console_session_clear(void)
{
	explicit_bzero(sessions, sizeof(sessions));
}

size_t
console_links(uint64_t now)
{
	size_t	i, n = 0;

	for (i = 0; i < CONSOLE_MAX_LINKS; i++)
		if (links[i].s[0] != '\0' && now - links[i].made <
		    CONSOLE_LINK_MS)
			n++;
	return (n);
}

size_t
console_sessions(uint64_t now)
{
	size_t	i, n = 0;

	for (i = 0; i < CONSOLE_MAX_SESSIONS; i++)
		if (session_live(&sessions[i], now))
			n++;
	return (n);
}

void
console_auth_clear(void)
{
	explicit_bzero(links, sizeof(links));
	explicit_bzero(sessions, sizeof(sessions));
}

/*
 * RFC 6265's cookie-string: pairs "name=value" joined by "; ".  Browsers
 * are lenient about the spaces, and so is this; a pair without "=" is
 * skipped.
 */
const char *
console_cookie(const char *h, const char *name, size_t *len)
{
	size_t	nlen = strlen(name), n, eq;

	if (h == NULL)
		return (NULL);
	while (*h != '\0') {
		while (*h == ' ' || *h == '\t' || *h == ';')
			h++;
		n = strcspn(h, ";");
		eq = strcspn(h, "=");
		if (eq < n && eq == nlen && strncmp(h, name, nlen) == 0) {
			*len = n - eq - 1;
			while (*len > 0 && (h[eq + *len] == ' ' ||
			    h[eq + *len] == '\t'))
				(*len)--;
			return (h + eq + 1);
		}
		h += n;
	}
	return (NULL);
}
