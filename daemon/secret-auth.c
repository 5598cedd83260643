/*
 * The placeholder swapped for its secret in an Authorization value, and
 * the placeholder itself: see secret-auth.h.  Nothing here logs: the
 * values it sees are secrets.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "secret-auth.h"
#include "secret-rule.h"

static int
blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Whether s[0..len) is the placeholder, whole. */
static int
is_placeholder(const char *s, size_t len, const char *ph, size_t phlen)
{
	return len == phlen && CRYPTO_memcmp(s, ph, len) == 0;
}

/*
 * Strict base64 (RFC 4648 with padding, no blanks): the decoded length,
 * or -1.  out holds at least len / 4 * 3 bytes.
 */
static int
b64_decode(const char *s, size_t len, unsigned char *out)
{
	size_t	i, pad = 0;
	int	n;

	if (len == 0 || len % 4 != 0 || len > SECRET_AUTH_MAX)
		return -1;
	if (s[len - 1] == '=')
		pad++;
	if (s[len - 2] == '=')
		pad++;
	for (i = 0; i < len - pad; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '+' ||
		    s[i] == '/'))
			return -1;
	/* Counts the padding's zero bytes in. */
	n = EVP_DecodeBlock(out, (const unsigned char *)s, (int)len);
	if (n < 0 || (size_t)n != len / 4 * 3)
		return -1;
	return n - (int)pad;
}

/* prefix then s, the credential replaced. */
static char *
join(const char *prefix, size_t plen, const char *s, size_t slen)
{
	char	*out;

	if ((out = malloc(plen + slen + 1)) == NULL)
		return NULL;
	memcpy(out, prefix, plen);
	memcpy(out + plen, s, slen);
	out[plen + slen] = '\0';
	return out;
}

static int
replace_basic(const char *value, size_t plen, const char *cred,
    size_t clen, const char *ph, size_t phlen, const char *secret,
    size_t slen, char **out)
{
	unsigned char	*dec = NULL, *nw = NULL, *enc = NULL;
	const char	*colon, *user, *pass;
	size_t		 ulen, pwlen, nlen = 0, o;
	int		 n, ru, rp, ret = 0;

	if ((dec = malloc(clen / 4 * 3 + 1)) == NULL)
		goto done;
	if ((n = b64_decode(cred, clen, dec)) < 0)
		goto done;
	if ((colon = memchr(dec, ':', (size_t)n)) == NULL)
		goto done;
	user = (const char *)dec;
	ulen = (size_t)(colon - user);
	pass = colon + 1;
	pwlen = (size_t)n - ulen - 1;
	ru = is_placeholder(user, ulen, ph, phlen);
	rp = is_placeholder(pass, pwlen, ph, phlen);
	if (!ru && !rp)
		goto done;
	/* A ':' in a secret put as USER would move the split upstream. */
	if (ru && memchr(secret, ':', slen) != NULL)
		goto done;
	nlen = (ru ? slen : ulen) + 1 + (rp ? slen : pwlen);
	if ((nw = malloc(nlen)) == NULL ||
	    (enc = malloc((nlen + 2) / 3 * 4 + 1)) == NULL)
		goto done;
	o = 0;
	memcpy(nw + o, ru ? secret : user, ru ? slen : ulen);
	o += ru ? slen : ulen;
	nw[o++] = ':';
	memcpy(nw + o, rp ? secret : pass, rp ? slen : pwlen);
	o += rp ? slen : pwlen;
	n = EVP_EncodeBlock(enc, nw, (int)o);
	if (n < 0)
		goto done;
	if ((*out = join(value, plen, (const char *)enc, (size_t)n)) != NULL)
		ret = 1;
done:
	if (dec != NULL)
		OPENSSL_cleanse(dec, clen / 4 * 3 + 1);
	if (nw != NULL)
		OPENSSL_cleanse(nw, nlen);
	if (enc != NULL)
		OPENSSL_cleanse(enc, (nlen + 2) / 3 * 4 + 1);
	free(dec);
	free(nw);
	free(enc);
	return ret;
}

int
secret_auth_replace(const char *value, size_t vlen, const char *ph,
    const char *secret, char **out)
{
	const char	*scheme, *cred;
	size_t		 slen, phlen, sclen, clen, i;

	*out = NULL;
	if (value == NULL || ph == NULL || secret == NULL)
		return 0;
	if (vlen > SECRET_AUTH_MAX || memchr(value, '\0', vlen) != NULL)
		return 0;
	phlen = strlen(ph);
	slen = strnlen(secret, SECRET_AUTH_MAX + 1);
	if (phlen == 0 || slen == 0 || slen > SECRET_AUTH_MAX)
		return 0;
	/* The secret goes into a header line: no control byte in it. */
	for (i = 0; i < slen; i++)
		if ((unsigned char)secret[i] < 0x20 ||
		    (unsigned char)secret[i] == 0x7f)
			return 0;
	while (vlen > 0 && blank(value[vlen - 1]))
		vlen--;
	while (vlen > 0 && blank(value[0])) {
		value++;
		vlen--;
	}
	scheme = value;
	for (sclen = 0; sclen < vlen && !blank(value[sclen]); sclen++)
		;
	if (sclen == vlen)
		return 0;
	for (cred = value + sclen; cred < value + vlen && blank(*cred); cred++)
		;
	clen = (size_t)(value + vlen - cred);
	for (i = 0; i < clen; i++)
		if (blank(cred[i]))
			return 0;	/* more than one word */
	if ((sclen == 6 && strncasecmp(scheme, "bearer", 6) == 0) ||
	    (sclen == 5 && strncasecmp(scheme, "token", 5) == 0)) {
		if (!is_placeholder(cred, clen, ph, phlen))
			return 0;
		*out = join(value, (size_t)(cred - value), secret, slen);
		return *out != NULL;
	}
	if (sclen == 5 && strncasecmp(scheme, "basic", 5) == 0)
		return replace_basic(value, (size_t)(cred - value), cred, clen,
		    ph, phlen, secret, slen, out);
	return 0;
}

void
secret_placeholder(const char *key, const char *agent, const char *name,
    char *out, size_t outlen)
{
	static const char	 hex[] = "0123456789abcdef";
	static const char	 label[] = "qmsd secret placeholder\n";
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen = 0;
	char			 buf[512], *msg, digits[33];
	size_t			 alen, nlen, mlen, i;

	if (outlen > 0)
		out[0] = '\0';
	if (key == NULL)
		key = "";
	if (agent == NULL)
		agent = "";
	if (name == NULL)
		name = "";
	alen = strlen(agent);
	nlen = strlen(name);
	mlen = sizeof(label) - 1 + alen + 1 + nlen;
	if (mlen <= sizeof(buf))
		msg = buf;
	else if ((msg = malloc(mlen)) == NULL)
		return;
	memcpy(msg, label, sizeof(label) - 1);
	memcpy(msg + sizeof(label) - 1, agent, alen);
	msg[sizeof(label) - 1 + alen] = '\n';
	memcpy(msg + sizeof(label) + alen, name, nlen);
	if (HMAC(EVP_sha256(), key, (int)strlen(key), (unsigned char *)msg,
	    mlen, md, &mdlen) == NULL || mdlen < 16) {
		if (msg != buf)
			free(msg);
		return;
	}
	if (msg != buf)
		free(msg);
	for (i = 0; i < 16; i++) {
		digits[2 * i] = hex[md[i] >> 4];
		digits[2 * i + 1] = hex[md[i] & 0xf];
	}
	digits[32] = '\0';
	OPENSSL_cleanse(md, sizeof(md));
	snprintf(out, outlen, "qmsd-placeholder-%s-%s", name, digits);
}
