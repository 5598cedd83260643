/*
 * libFuzzer harness for secret_auth_replace.  The input is an
 * Authorization value in which byte 0x01 stands for the placeholder; when
 * the first byte is odd, the rest after "Basic " is base64-encoded first
 * (so USER:PASSWORD with placeholders is reached).  The invariants:
 *
 * - a value is replaced only when it is Bearer, token or Basic (without
 *   case) followed by blanks, and never when longer than SECRET_AUTH_MAX;
 * - a result is a new string that keeps the scheme and blanks as they
 *   came; for Bearer and token it ends in the secret; for Basic its
 *   credential decodes to USER:PASSWORD where neither is the placeholder,
 *   at least one is the secret, and the placeholder is nowhere;
 * - a value not replaced leaves *out NULL.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "secret-auth.h"
#include "secret-rule.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define SECRET	"ghs_0123456789abcdefSECRET"

static char	ph[SECRET_PLACEHOLDER_MAX + 1];
static size_t	phlen;

static void
fail(const char *what, const char *text)
{
	fprintf(stderr, "invariant broken: %s: \"%s\"\n", what, text);
	abort();
}

/* in[0..len) with each 0x01 written as the placeholder, into out. */
static size_t
expand(const uint8_t *in, size_t len, unsigned char *out)
{
	size_t	i, o = 0;

	for (i = 0; i < len; i++) {
		if (in[i] == 0x01) {
			memcpy(out + o, ph, phlen);
			o += phlen;
		} else
			out[o++] = in[i];
	}
	return o;
}

static void
check_basic(const char *out, const char *cred)
{
	unsigned char	*dec;
	const char	*colon;
	size_t		 len = strlen(cred), pad = 0, ulen, plen;
	int		 n;

	if (len == 0 || len % 4 != 0)
		fail("Basic result not base64", out);
	if ((dec = malloc(len / 4 * 3 + 1)) == NULL)
		abort();
	if (cred[len - 1] == '=')
		pad++;
	if (len >= 2 && cred[len - 2] == '=')
		pad++;
	if ((n = EVP_DecodeBlock(dec, (const unsigned char *)cred,
	    (int)len)) < 0)
		fail("Basic result not base64", out);
	n -= (int)pad;
	if ((colon = memchr(dec, ':', (size_t)n)) == NULL)
		fail("Basic result without ':'", out);
	ulen = (size_t)(colon - (char *)dec);
	plen = (size_t)n - ulen - 1;
	if ((ulen == phlen && memcmp(dec, ph, phlen) == 0) ||
	    (plen == phlen && memcmp(colon + 1, ph, phlen) == 0))
		fail("a placeholder left in a Basic field", out);
	if (!(ulen == strlen(SECRET) && memcmp(dec, SECRET, ulen) == 0) &&
	    !(plen == strlen(SECRET) && memcmp(colon + 1, SECRET, plen) == 0))
		fail("no secret in either Basic field", out);
	free(dec);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char	*raw, *value;
	const char	*cred;
	char		*out = (char *)0x1;
	size_t		 rlen, vlen, sclen, i;
	int		 r;

	if (ph[0] == '\0') {
		secret_placeholder("fuzz-key", "agent", "GH_TOKEN", ph,
		    sizeof(ph));
		phlen = strlen(ph);
	}
	if (size < 1 || size > 4 * SECRET_AUTH_MAX)
		return 0;
	if ((raw = malloc((size - 1) * phlen + 1)) == NULL ||
	    (value = malloc((size - 1) * phlen * 2 + 16)) == NULL)
		abort();
	rlen = expand(data + 1, size - 1, raw);
	if (data[0] & 1) {
		memcpy(value, "Basic ", 6);
		vlen = 6 + (size_t)EVP_EncodeBlock(value + 6, raw, (int)rlen);
	} else {
		memcpy(value, raw, rlen);
		vlen = rlen;
	}
	value[vlen] = '\0';

	r = secret_auth_replace((char *)value, vlen, ph, SECRET, &out);
	if (r == 0) {
		if (out != NULL)
			fail("*out set without a replacement", (char *)value);
		goto done;
	}
	if (r != 1 || out == NULL)
		fail("result", (char *)value);
	if (vlen > SECRET_AUTH_MAX)
		fail("an overlong value replaced", (char *)value);
	if (strstr(out, ph) != NULL)
		fail("the placeholder left in the result", out);
	/* The value trimmed as secret_auth_replace trims it. */
	for (i = 0; i < vlen && (value[i] == ' ' || value[i] == '\t'); i++)
		;
	for (sclen = 0; out[sclen] != '\0' && out[sclen] != ' ' &&
	    out[sclen] != '\t'; sclen++)
		;
	if (memcmp(out, value + i, sclen) != 0)
		fail("the scheme changed", out);
	for (cred = out + sclen; *cred == ' ' || *cred == '\t'; cred++)
		;
	if (cred == out + sclen || memcmp(out, value + i, (size_t)(cred - out))
	    != 0)
		fail("the blanks changed", out);
	if ((sclen == 6 && strncasecmp(out, "bearer", 6) == 0) ||
	    (sclen == 5 && strncasecmp(out, "token", 5) == 0)) {
		if (strcmp(cred, SECRET) != 0)
			fail("Bearer or token not the secret", out);
	} else if (sclen == 5 && strncasecmp(out, "basic", 5) == 0)
		check_basic(out, cred);
	else
		fail("another scheme replaced", out);
	free(out);
done:
	free(raw);
	free(value);
	return 0;
}
