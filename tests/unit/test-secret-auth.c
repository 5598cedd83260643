/*
 * The placeholder swapped for its secret in an Authorization value: the
 * three forms, Basic with the placeholder as user, password, both and
 * neither, every near miss that must go as it came, malformed base64 and
 * overlong values; and the placeholder's derivation, against values
 * computed apart (Python's hmac).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "check.h"
#include "secret-auth.h"
#include "secret-rule.h"

#define PH	"qmsd-placeholder-GH_TOKEN-be90a82db92b12050181dd9fb6e87101"
#define SECRET	"ghp_realsecret0123456789"

static char	got[SECRET_AUTH_MAX * 2];

/* The value replaced, or "-" when left as it came. */
static const char *
swap(const char *value)
{
	char	*out = (char *)0x1;
	int	 r;

	r = secret_auth_replace(value, strlen(value), PH, SECRET, &out);
	if (r == 0) {
		CHECK(out == NULL);
		return "-";
	}
	CHECK(r == 1);
	CHECK(out != NULL);
	if (out == NULL)
		return "(null)";
	snprintf(got, sizeof(got), "%s", out);
	free(out);
	return got;
}

#define B64MAX	(SECRET_AUTH_MAX * 2)
#define VMAX	(B64MAX + 64)

static char	b64[B64MAX];

/* "Basic " and base64 of s. */
static const char *
basic(const char *s)
{
	static char	v[VMAX];

	EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)s,
	    (int)strlen(s));
	snprintf(v, sizeof(v), "Basic %s", b64);
	return v;
}

/* Whether base64 text decodes to want[0..wlen). */
static int
decodes_to(const char *text, const void *want, size_t wlen)
{
	unsigned char	dec[SECRET_AUTH_MAX * 2];
	size_t		len, pad = 0;
	int		n;

	len = strlen(text);
	if (len >= 1 && text[len - 1] == '=')
		pad++;
	if (len >= 2 && text[len - 2] == '=')
		pad++;
	n = EVP_DecodeBlock(dec, (const unsigned char *)text, (int)len);
	if (n < 0)
		return 0;
	n -= (int)pad;
	return (size_t)n == wlen && memcmp(dec, want, wlen) == 0;
}

/* Whether the value is Basic and decodes to want. */
static int
basic_is(const char *value, const char *want)
{
	return strncmp(value, "Basic ", 6) == 0 &&
	    decodes_to(value + 6, want, strlen(want));
}

static void
test_bearer(void)
{
	char	v[SECRET_AUTH_MAX + 64];

	CHECK_STR(swap("Bearer " PH), "Bearer " SECRET);
	CHECK_STR(swap("bearer " PH), "bearer " SECRET);
	CHECK_STR(swap("BEARER " PH), "BEARER " SECRET);
	CHECK_STR(swap("token " PH), "token " SECRET);
	CHECK_STR(swap("Token " PH), "Token " SECRET);
	CHECK_STR(swap("token   " PH), "token   " SECRET);
	CHECK_STR(swap("token\t" PH), "token\t" SECRET);
	CHECK_STR(swap("  token " PH "  "), "token " SECRET);

	/* Not the placeholder whole, or not these schemes. */
	CHECK_STR(swap("Bearer " PH "x"), "-");
	CHECK_STR(swap("Bearer x" PH), "-");
	CHECK_STR(swap("Bearer " PH " " PH), "-");
	CHECK_STR(swap("Bearer " PH ","), "-");
	CHECK_STR(swap("Bearer \"" PH "\""), "-");
	CHECK_STR(swap("Bearer qmsd-placeholder-GH_TOKEN-"
	    "be90a82db92b12050181dd9fb6e87102"), "-");
	CHECK_STR(swap("Bearer QMSD-PLACEHOLDER-GH_TOKEN-"
	    "be90a82db92b12050181dd9fb6e87101"), "-");
	CHECK_STR(swap("Bearer"), "-");
	CHECK_STR(swap("Bearer "), "-");
	CHECK_STR(swap(PH), "-");
	CHECK_STR(swap(" " PH), "-");
	CHECK_STR(swap("Bearerx " PH), "-");
	CHECK_STR(swap("Beare " PH), "-");
	CHECK_STR(swap("tokens " PH), "-");
	CHECK_STR(swap("Digest " PH), "-");
	CHECK_STR(swap("Digest username=\"" PH "\""), "-");
	CHECK_STR(swap("Bearer:" PH), "-");
	CHECK_STR(swap("Bearer\n" PH), "-");
	CHECK_STR(swap(""), "-");

	/* A NUL inside the value: it is not a header value. */
	{
		char	*out = NULL;
		char	 nul[] = "Bearer " PH "\0x";

		CHECK(secret_auth_replace(nul, sizeof(nul) - 1, PH, SECRET,
		    &out) == 0 && out == NULL);
		/* vlen stops before it: replaced. */
		CHECK(secret_auth_replace(nul, strlen(nul), PH, SECRET,
		    &out) == 1 && out != NULL);
		free(out);
	}

	/* Overlong: SECRET_AUTH_MAX bytes at most. */
	memset(v, ' ', sizeof(v));
	memcpy(v, "Bearer ", 7);
	memcpy(v + SECRET_AUTH_MAX - strlen(PH), PH, strlen(PH));
	v[SECRET_AUTH_MAX] = '\0';
	swap(v);
	CHECK(strlen(got) == SECRET_AUTH_MAX - strlen(PH) + strlen(SECRET));
	CHECK(strncmp(got, "Bearer ", 7) == 0);
	CHECK_STR(got + strlen(got) - strlen(SECRET), SECRET);
	v[SECRET_AUTH_MAX] = ' ';
	v[SECRET_AUTH_MAX + 1] = '\0';
	CHECK_STR(swap(v), "-");
}

static void
test_basic(void)
{
	CHECK(basic_is(swap(basic("x-access-token:" PH)),
	    "x-access-token:" SECRET));
	CHECK(basic_is(swap(basic(PH ":x-oauth-basic")),
	    SECRET ":x-oauth-basic"));
	CHECK(basic_is(swap(basic(PH ":" PH)), SECRET ":" SECRET));
	CHECK(basic_is(swap(basic(PH ":")), SECRET ":"));
	CHECK(basic_is(swap(basic(":" PH)), ":" SECRET));
	CHECK(basic_is(swap(basic("u:" PH ":x")), "-") == 0);
	CHECK_STR(swap(basic("u:" PH ":x")), "-");
	CHECK(basic_is(swap(basic("u:a:" PH)), "-") == 0);
	CHECK_STR(swap(basic("u:a:" PH)), "-");
	/* The split is at the first ':'. */
	CHECK(basic_is(swap(basic(PH ":a:b")), SECRET ":a:b"));
	/* Neither. */
	CHECK_STR(swap(basic("x-access-token:ghp_other")), "-");
	CHECK_STR(swap(basic("user:pass")), "-");
	CHECK_STR(swap(basic(PH)), "-");		/* no ':' */
	CHECK_STR(swap(basic(PH "x:" PH "y")), "-");
	CHECK_STR(swap(basic("x" PH ":")), "-");
	CHECK_STR(swap(basic(":")), "-");
	/* Scheme without case, blanks kept. */
	{
		static char	v[VMAX];

		basic("u:" PH);
		snprintf(v, sizeof(v), "bAsIc   %s", b64);
		swap(v);
		CHECK(strncmp(got, "bAsIc   ", 8) == 0);
		CHECK(decodes_to(got + 8, "u:" SECRET, strlen("u:" SECRET)));
	}

	/* Malformed base64: goes as it came. */
	basic("x-access-token:" PH);
	{
		static char	v[VMAX], cut[B64MAX];
		size_t	n = strlen(b64);

		snprintf(v, sizeof(v), "Basic %s=", b64);
		CHECK_STR(swap(v), "-");
		snprintf(v, sizeof(v), "Basic %s====", b64);
		CHECK_STR(swap(v), "-");
		snprintf(cut, sizeof(cut), "%.*s", (int)(n - 1), b64);
		snprintf(v, sizeof(v), "Basic %s", cut);
		CHECK_STR(swap(v), "-");
		snprintf(v, sizeof(v), "Basic %.*s %s", 8, b64, b64 + 8);
		CHECK_STR(swap(v), "-");
		snprintf(v, sizeof(v), "Basic %.*s\n%s", 8, b64, b64 + 8);
		CHECK_STR(swap(v), "-");
		snprintf(v, sizeof(v), "Basic %.*s=%s", 8, b64, b64 + 9);
		CHECK_STR(swap(v), "-");
		snprintf(v, sizeof(v), "Basic %.*s-%s", 8, b64, b64 + 9);
		CHECK_STR(swap(v), "-");
		snprintf(v, sizeof(v), "Basic %.*s_%s", 8, b64, b64 + 9);
		CHECK_STR(swap(v), "-");
		snprintf(v, sizeof(v), "Basic %.*s.%s", 8, b64, b64 + 9);
		CHECK_STR(swap(v), "-");
	}
	CHECK_STR(swap("Basic"), "-");
	CHECK_STR(swap("Basic ="), "-");
	CHECK_STR(swap("Basic ===="), "-");
	CHECK_STR(swap("Basic a==="), "-");
	CHECK_STR(swap("Basic ab=c"), "-");
	CHECK_STR(swap("Basic !!!!"), "-");

	/* Padding of one and of two, and none. */
	CHECK(basic_is(swap(basic("a:" PH)), "a:" SECRET));
	CHECK(basic_is(swap(basic("ab:" PH)), "ab:" SECRET));
	CHECK(basic_is(swap(basic("abc:" PH)), "abc:" SECRET));
	CHECK(basic_is(swap(basic("abcd:" PH)), "abcd:" SECRET));

	/* A NUL byte in the user survives; the match is still whole. */
	{
		unsigned char	raw[128];
		char		v[512], want[128];
		size_t		n;

		memcpy(raw, "a\0b:", 4);
		memcpy(raw + 4, PH, strlen(PH));
		n = 4 + strlen(PH);
		memcpy(v, "Basic ", 6);
		EVP_EncodeBlock((unsigned char *)v + 6, raw, (int)n);
		swap(v);
		memcpy(want, "a\0b:" SECRET, 4 + strlen(SECRET));
		CHECK(strncmp(got, "Basic ", 6) == 0 &&
		    decodes_to(got + 6, want, 4 + strlen(SECRET)));
		memcpy(raw, PH "\0:x", strlen(PH) + 3);
		EVP_EncodeBlock((unsigned char *)v + 6, raw,
		    (int)strlen(PH) + 3);
		CHECK_STR(swap(v), "-");
	}
}

static void
test_refusals(void)
{
	char	*out = (char *)0x1, big[SECRET_AUTH_MAX + 16];
	static char v[VMAX];

	/* A secret that would break the header line, or the Basic split. */
	CHECK(secret_auth_replace("Bearer " PH, strlen("Bearer " PH), PH,
	    "ghp_x\r\nX-Evil: 1", &out) == 0 && out == NULL);
	CHECK(secret_auth_replace("Bearer " PH, strlen("Bearer " PH), PH,
	    "", &out) == 0 && out == NULL);
	CHECK(secret_auth_replace("Bearer x", 8, "", "s", &out) == 0);
	CHECK(secret_auth_replace("Bearer " PH, strlen("Bearer " PH), NULL,
	    SECRET, &out) == 0);
	CHECK(secret_auth_replace("Bearer " PH, strlen("Bearer " PH), PH,
	    NULL, &out) == 0);
	CHECK(secret_auth_replace(NULL, 0, PH, SECRET, &out) == 0);
	basic(PH ":x");
	snprintf(v, sizeof(v), "Basic %s", b64);
	CHECK(secret_auth_replace(v, strlen(v), PH, "a:b", &out) == 0 &&
	    out == NULL);
	basic("x:" PH);
	snprintf(v, sizeof(v), "Basic %s", b64);
	CHECK(secret_auth_replace(v, strlen(v), PH, "a:b", &out) == 1 &&
	    out != NULL && basic_is(out, "x:a:b"));
	free(out);

	/* A secret longer than SECRET_AUTH_MAX is not put anywhere. */
	memset(big, 's', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(secret_auth_replace("token " PH, strlen("token " PH), PH, big,
	    &out) == 0 && out == NULL);
	big[SECRET_AUTH_MAX] = '\0';
	CHECK(secret_auth_replace("token " PH, strlen("token " PH), PH, big,
	    &out) == 1 && out != NULL && strlen(out) == 6 + SECRET_AUTH_MAX);
	free(out);

	/* A Basic value of 8086 bytes is read, of 8354 not. */
	memset(v, 'u', 6000);
	v[6000] = ':';
	memcpy(v + 6001, PH, strlen(PH) + 1);
	CHECK(strlen(basic(v)) == 6 + 8080);
	CHECK(strcmp(swap(basic(v)), "-") != 0);
	CHECK(strstr(got, "Basic ") == got && strlen(got) > 8000);
	memset(v, 'u', 6200);
	v[6200] = ':';
	memcpy(v + 6201, PH, strlen(PH) + 1);
	CHECK(strlen(basic(v)) > SECRET_AUTH_MAX);
	CHECK_STR(swap(basic(v)), "-");
}

static void
test_placeholder(void)
{
	char	out[SECRET_PLACEHOLDER_MAX + 1], again[SECRET_PLACEHOLDER_MAX + 1];
	char	agent[601], name[SECRET_MAX_NAME + 1];

	secret_placeholder("host-token-1", "claude", "GH_TOKEN", out,
	    sizeof(out));
	CHECK_STR(out, PH);
	secret_placeholder("host-token-1", "claude", "GH_TOKEN", again,
	    sizeof(again));
	CHECK_STR(again, out);
	/* The key, the agent and the name each change it. */
	secret_placeholder("host-token-2", "claude", "GH_TOKEN", out,
	    sizeof(out));
	CHECK_STR(out, "qmsd-placeholder-GH_TOKEN-"
	    "8b9b7119915a836e63ecec211e205ac6");
	secret_placeholder("host-token-1", "claudeGH_TOKEN\n", "", out,
	    sizeof(out));
	CHECK(strcmp(out, "qmsd-placeholder--"
	    "be90a82db92b12050181dd9fb6e87101") != 0);
	secret_placeholder("host-token-1", "claude", "GH_TOKEN2", out,
	    sizeof(out));
	CHECK(strncmp(out, "qmsd-placeholder-GH_TOKEN2-", 27) == 0);
	CHECK(strcmp(out + 27, "be90a82db92b12050181dd9fb6e87101") != 0);
	/* A long agent name goes whole into the HMAC. */
	memset(agent, 'a', 600);
	agent[600] = '\0';
	secret_placeholder("k", agent, "N", out, sizeof(out));
	CHECK_STR(out, "qmsd-placeholder-N-64be133d990007631a6a30ccf2c524e7");
	/* The longest name fits. */
	memset(name, 'N', SECRET_MAX_NAME);
	name[SECRET_MAX_NAME] = '\0';
	secret_placeholder("k", "a", name, out, sizeof(out));
	CHECK(strlen(out) == SECRET_PLACEHOLDER_MAX);
	/* A short buffer is cut, never overrun. */
	memset(again, 'Z', sizeof(again));
	secret_placeholder("k", "a", "N", again, 10);
	CHECK_STR(again, "qmsd-plac");
	CHECK(again[10] == 'Z');
}

int
main(void)
{
	test_bearer();
	test_basic();
	test_refusals();
	test_placeholder();
	return check_done("secret-auth");
}
