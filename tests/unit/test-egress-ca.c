/*
 * egress-ca with real OpenSSL in a temporary directory: the CA made,
 * loaded again and refused when unsound; leaves verified as a client
 * verifies them; TLS handshakes over a socketpair, the agent's end and
 * the upstream end, each one that must succeed next to one that must not.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "check.h"
#include "egress-ca.h"

static char	dir[64], cadir[128], keyp[160], certp[160], bundlep[160];
static char	err[512];

static char *
slurp(const char *path, size_t *lenp)
{
	FILE	*f;
	char	*buf;
	long	 n;

	if ((f = fopen(path, "rb")) == NULL)
		return (NULL);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		fclose(f);
		return (NULL);
	}
	fclose(f);
	if (lenp != NULL)
		*lenp = (size_t)n;
	return (buf);
}

static int
spit(const char *path, const char *text, mode_t mode)
{
	FILE	*f;

	unlink(path);
	if ((f = fopen(path, "wb")) == NULL)
		return (-1);
	fputs(text, f);
	fclose(f);
	return (chmod(path, mode));
}

static int
same_file(const char *path, const char *text)
{
	char	*now = slurp(path, NULL);
	int	 same = now != NULL && strcmp(now, text) == 0;

	free(now);
	return (same);
}

static X509 *
read_cert(const char *path)
{
	FILE	*f;
	X509	*x;

	if ((f = fopen(path, "r")) == NULL)
		return (NULL);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	return (x);
}

static mode_t
mode_of(const char *path)
{
	struct stat	st;

	if (stat(path, &st) == -1)
		return ((mode_t)-1);
	return (st.st_mode & 07777);
}

static void
ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX	 v3;
	X509_EXTENSION	*e;

	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	if (e == NULL) {
		fprintf(stderr, "extension %s failed\n", value);
		exit(2);
	}
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
}

/*
 * A certificate for key with subject cn, signed by issuer (NULL: by
 * itself, as a CA) with ikey; san and bc as X509V3_EXT_conf_nid takes.
 */
static X509 *
make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *ikey,
    const char *bc, const char *san)
{
	X509		*x = X509_new();
	X509_NAME	*name = X509_get_subject_name(x);
	static long	 serial = 1000;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, issuer != NULL ?
	    X509_get_subject_name(issuer) : name);
	X509_set_pubkey(x, key);
	ext(x, issuer != NULL ? issuer : x, NID_basic_constraints, bc);
	if (san != NULL)
		ext(x, issuer, NID_subject_alt_name, san);
	if (X509_sign(x, ikey, EVP_sha256()) == 0) {
		fprintf(stderr, "X509_sign failed\n");
		exit(2);
	}
	return (x);
}

static char *
pem_of(X509 *x)
{
	BIO	*b = BIO_new(BIO_s_mem());
	char	*data, *s;
	long	 n;

	PEM_write_bio_X509(b, x);
	n = BIO_get_mem_data(b, &data);
	s = calloc(1, (size_t)n + 1);
	memcpy(s, data, (size_t)n);
	BIO_free(b);
	return (s);
}

/* Whether leaf chains to the CA in ca_path, for name (or address). */
static int
verifies(X509 *leaf, const char *ca_path, const char *name, int ip)
{
	X509_STORE	*store = X509_STORE_new();
	X509_STORE_CTX	*ctx = X509_STORE_CTX_new();
	X509_VERIFY_PARAM *param;
	int		 ok;

	X509_STORE_load_file(store, ca_path);
	X509_STORE_CTX_init(ctx, store, leaf, NULL);
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
	param = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT);
	if (ip)
		X509_VERIFY_PARAM_set1_ip_asc(param, name);
	else
		X509_VERIFY_PARAM_set1_host(param, name, 0);
	ok = X509_verify_cert(ctx) == 1;
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	ERR_clear_error();
	return (ok);
}

/*
 * A handshake between two SSLs over a socketpair, and a few bytes each
 * way; whether both ends finished.
 */
static int
handshake(SSL *client, SSL *server)
{
	int	 sv[2], cdone = 0, sdone = 0, i, r, e;
	char	 buf[8];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		return (0);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	SSL_set_fd(client, sv[0]);
	SSL_set_fd(server, sv[1]);
	SSL_set_connect_state(client);
	SSL_set_accept_state(server);
	for (i = 0; i < 1000 && !(cdone && sdone); i++) {
		if (!cdone) {
			if ((r = SSL_do_handshake(client)) == 1)
				cdone = 1;
			else if ((e = SSL_get_error(client, r)) !=
			    SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
				break;
		}
		if (!sdone) {
			if ((r = SSL_do_handshake(server)) == 1)
				sdone = 1;
			else if ((e = SSL_get_error(server, r)) !=
			    SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
				break;
		}
	}
	if (cdone && sdone) {
		/* Data both ways (TLS 1.3's tickets are read on the way). */
		r = SSL_write(client, "ping", 4) == 4;
		for (i = 0; r && i < 100; i++)
			if (SSL_read(server, buf, sizeof(buf)) == 4)
				break;
		r = r && i < 100 && memcmp(buf, "ping", 4) == 0 &&
		    SSL_write(server, "pong", 4) == 4;
		for (i = 0; r && i < 100; i++)
			if (SSL_read(client, buf, sizeof(buf)) == 4)
				break;
		r = r && i < 100 && memcmp(buf, "pong", 4) == 0;
	} else
		r = 0;
	close(sv[0]);
	close(sv[1]);
	ERR_clear_error();
	return (r);
}

/* A client as a container's is: it trusts ca_path only, checks name. */
static SSL *
agent_client(const char *ca_path, const char *name, const char *alpn,
    size_t alpnlen)
{
	SSL_CTX	*ctx = SSL_CTX_new(TLS_client_method());
	SSL	*ssl;

	SSL_CTX_load_verify_locations(ctx, ca_path, NULL);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (alpn != NULL)
		SSL_CTX_set_alpn_protos(ctx, (const unsigned char *)alpn,
		    (unsigned int)alpnlen);
	ssl = SSL_new(ctx);
	SSL_CTX_free(ctx);
	SSL_set_tlsext_host_name(ssl, name);
	SSL_set1_host(ssl, name);
	return (ssl);
}

static char	offered[64];

static int
record_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	(void)ssl;
	(void)arg;
	if (inlen < sizeof(offered)) {
		memcpy(offered, in, inlen);
		offered[inlen] = '\0';
	}
	return (SSL_select_next_proto((unsigned char **)out, outlen, in, inlen,
	    in, inlen) == OPENSSL_NPN_NEGOTIATED ? SSL_TLSEXT_ERR_OK :
	    SSL_TLSEXT_ERR_NOACK);
}

/* A stand-in for an upstream: its certificate from a CA of the test's. */
static SSL *
upstream_server(X509 *cert, EVP_PKEY *key)
{
	SSL_CTX	*ctx = SSL_CTX_new(TLS_server_method());
	SSL	*ssl;

	SSL_CTX_use_certificate(ctx, cert);
	SSL_CTX_use_PrivateKey(ctx, key);
	SSL_CTX_set_alpn_select_cb(ctx, record_alpn, NULL);
	ssl = SSL_new(ctx);
	SSL_CTX_free(ctx);
	return (ssl);
}

static int
init_fails_with(const char *extra, const char *want)
{
	int	rv;

	egress_ca_shutdown();
	err[0] = '\0';
	rv = egress_ca_init(dir, extra, err, sizeof(err));
	if (rv != -1 || egress_ca_ready() || strstr(err, want) == NULL) {
		fprintf(stderr, "init gave %d, \"%s\"; wanted -1 and \"%s\"\n",
		    rv, err, want);
		return (0);
	}
	return (1);
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return (remove(path));
}

static void
rm_tree(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static double
elapsed_us(const struct timespec *a, const struct timespec *b)
{
	return ((double)(b->tv_sec - a->tv_sec) * 1e6 +
	    (double)(b->tv_nsec - a->tv_nsec) / 1e3);
}

static void
test_make_and_load(void)
{
	X509			*x;
	char			*cert1, *key1, *bundle, *sys, *cert2, *p;
	char			 dir2[64], cert2p[160], otherp[256], *other;
	char			 keyp2[256];
	BASIC_CONSTRAINTS	*bc;
	EVP_PKEY		*k;
	FILE			*f;
	size_t			 blen, slen;

	CHECK(egress_ca_init(dir, NULL, err, sizeof(err)) == 0);
	CHECK(egress_ca_ready());
	CHECK_STR(egress_ca_cert_path(), certp);
	CHECK_STR(egress_ca_bundle_path(), bundlep);
	CHECK(mode_of(cadir) == 0700);
	CHECK(mode_of(keyp) == 0600);
	CHECK(mode_of(certp) == 0644);
	CHECK(mode_of(bundlep) == 0644);

	/* The CA: a per-installation name, CA:TRUE pathlen 0, signs only. */
	CHECK((x = read_cert(certp)) != NULL);
	if (x == NULL)
		return;
	p = X509_NAME_oneline(X509_get_subject_name(x), NULL, 0);
	CHECK(strncmp(p, "/CN=qmsd egress CA ", 19) == 0);
	OPENSSL_free(p);
	CHECK(X509_check_ca(x) == 1);
	CHECK(X509_check_issued(x, x) == X509_V_OK);
	bc = X509_get_ext_d2i(x, NID_basic_constraints, NULL, NULL);
	CHECK(bc != NULL && bc->ca && bc->pathlen != NULL &&
	    ASN1_INTEGER_get(bc->pathlen) == 0);
	BASIC_CONSTRAINTS_free(bc);
	CHECK(X509_get_key_usage(x) == (KU_KEY_CERT_SIGN | KU_CRL_SIGN));
	CHECK(X509_get0_subject_key_id(x) != NULL);
	CHECK(X509_cmp_time(X509_get0_notAfter(x),
	    &(time_t){ time(NULL) + 3649L * 86400 }) > 0);
	CHECK(EVP_PKEY_get_bits(X509_get0_pubkey(x)) == 256);
	X509_free(x);

	/* The bundle: the system's, then ca.crt. */
	cert1 = slurp(certp, NULL);
	key1 = slurp(keyp, NULL);
	bundle = slurp(bundlep, &blen);
	CHECK(cert1 != NULL && key1 != NULL && bundle != NULL);
	if (cert1 == NULL || key1 == NULL || bundle == NULL)
		return;
	CHECK(blen >= strlen(cert1) &&
	    strcmp(bundle + blen - strlen(cert1), cert1) == 0);
	if ((sys = slurp("/etc/ssl/certs/ca-certificates.crt", &slen)) !=
	    NULL) {
		CHECK(blen > slen && memcmp(bundle, sys, slen) == 0);
		free(sys);
	}
	free(bundle);

	/* A reload keeps the CA; a new start loads the same one. */
	CHECK(egress_ca_init(dir, NULL, err, sizeof(err)) == 0);
	CHECK(same_file(certp, cert1) && same_file(keyp, key1));
	egress_ca_shutdown();
	CHECK(!egress_ca_ready() && egress_ca_cert_path() == NULL);
	CHECK(egress_ca_init(dir, NULL, err, sizeof(err)) == 0);
	CHECK(same_file(certp, cert1) && same_file(keyp, key1));

	snprintf(keyp2, sizeof(keyp2), "%s.aside", keyp);

	/* A key others can read: refused, nothing written over it. */
	chmod(keyp, 0644);
	CHECK(init_fails_with(NULL, "ca.key"));
	CHECK(init_fails_with(NULL, "0600"));
	CHECK(same_file(certp, cert1) && same_file(keyp, key1));
	chmod(keyp, 0640);
	CHECK(init_fails_with(NULL, "ca.key"));
	chmod(keyp, 0600);

	/* A link where the key was, even to a sound copy of it. */
	snprintf(otherp, sizeof(otherp), "%s.elsewhere", keyp);
	CHECK(spit(otherp, key1, 0600) == 0);
	CHECK(rename(keyp, keyp2) == 0 && symlink(otherp, keyp) == 0);
	CHECK(init_fails_with(NULL, "ca.key"));
	CHECK(unlink(keyp) == 0 && rename(keyp2, keyp) == 0);
	unlink(otherp);

	/* A directory others can enter. */
	chmod(cadir, 0755);
	CHECK(init_fails_with(NULL, "0700"));
	chmod(cadir, 0700);

	/* Another installation's certificate with this key. */
	snprintf(dir2, sizeof(dir2), "/tmp/test-egress-ca2.XXXXXX");
	CHECK(mkdtemp(dir2) != NULL);
	egress_ca_shutdown();
	CHECK(egress_ca_init(dir2, NULL, err, sizeof(err)) == 0);
	snprintf(cert2p, sizeof(cert2p), "%s/egress-ca/ca.crt", dir2);
	cert2 = slurp(cert2p, NULL);
	CHECK(cert2 != NULL && strcmp(cert2, cert1) != 0);
	if (cert2 != NULL) {
		CHECK(spit(certp, cert2, 0644) == 0);
		CHECK(init_fails_with(NULL, "does not match"));
		CHECK(same_file(certp, cert2) && same_file(keyp, key1));
	}
	/* A certificate of this key that is not a CA's. */
	f = fopen(keyp, "r");
	k = f != NULL ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
	if (f != NULL)
		fclose(f);
	CHECK(k != NULL);
	if (k != NULL) {
		x = make_cert(k, "not a CA", NULL, k, "CA:FALSE", NULL);
		other = pem_of(x);
		CHECK(spit(certp, other, 0644) == 0);
		CHECK(init_fails_with(NULL, "not a CA"));
		free(other);
		X509_free(x);
		EVP_PKEY_free(k);
	}
	/* Not PEM at all. */
	CHECK(spit(certp, "hello\n", 0644) == 0);
	CHECK(init_fails_with(NULL, "not a PEM certificate"));
	CHECK(spit(certp, cert1, 0644) == 0);

	/* One of the two missing: an error naming it, nothing made. */
	snprintf(otherp, sizeof(otherp), "%s.aside", certp);
	CHECK(rename(certp, otherp) == 0);
	CHECK(init_fails_with(NULL, "ca.crt is missing"));
	CHECK(access(certp, F_OK) == -1 && same_file(keyp, key1));
	CHECK(rename(otherp, certp) == 0);
	snprintf(otherp, sizeof(otherp), "%s.aside", keyp);
	CHECK(rename(keyp, otherp) == 0);
	CHECK(init_fails_with(NULL, "ca.key is missing"));
	CHECK(access(keyp, F_OK) == -1 && same_file(certp, cert1));
	CHECK(rename(otherp, keyp) == 0);

	/* An upstream-ca that does not load. */
	CHECK(init_fails_with("/nonexistent/ca.pem", "upstream-ca"));
	CHECK(egress_ca_server_ssl("github.test", err, sizeof(err)) == NULL);
	CHECK(strstr(err, "not ready") != NULL);

	/* Put back: the same CA again. */
	CHECK(egress_ca_init(dir, NULL, err, sizeof(err)) == 0);
	CHECK(same_file(certp, cert1) && same_file(keyp, key1));
	free(cert1);
	free(key1);
	free(cert2);
	rm_tree(dir2);
}

static X509 *
leaf_of(const char *host)
{
	SSL	*ssl;
	X509	*x;

	if ((ssl = egress_ca_server_ssl(host, err, sizeof(err))) == NULL) {
		fprintf(stderr, "server_ssl %s: %s\n", host, err);
		return (NULL);
	}
	x = SSL_get_certificate(ssl);
	X509_up_ref(x);
	SSL_free(ssl);
	return (x);
}

static void
test_leaves(void)
{
	struct timespec	 a, b;
	X509		*x, *y;
	char		 host[64];
	int		 i;

	CHECK((x = leaf_of("github.test")) != NULL);
	if (x != NULL) {
		CHECK(verifies(x, certp, "github.test", 0));
		CHECK(!verifies(x, certp, "other.test", 0));
		CHECK(!verifies(x, certp, "127.0.0.1", 1));
		CHECK(X509_check_ca(x) == 0);
		CHECK(X509_get_extended_key_usage(x) == XKU_SSL_SERVER);
		CHECK(X509_get_key_usage(x) == KU_DIGITAL_SIGNATURE);
		CHECK(X509_get0_authority_key_id(x) != NULL);
		CHECK(X509_cmp_time(X509_get0_notBefore(x),
		    &(time_t){ time(NULL) - 3500 }) < 0);
		CHECK(X509_cmp_time(X509_get0_notAfter(x),
		    &(time_t){ time(NULL) + 6 * 86400 }) > 0);
		CHECK(X509_cmp_time(X509_get0_notAfter(x),
		    &(time_t){ time(NULL) + 8 * 86400 }) < 0);
		/* The same one while cached; any case of the name. */
		CHECK((y = leaf_of("GitHub.TEST")) == x);
		X509_free(y);
	}
	CHECK((y = leaf_of("127.0.0.1")) != NULL);
	if (y != NULL) {
		CHECK(verifies(y, certp, "127.0.0.1", 1));
		CHECK(!verifies(y, certp, "127.0.0.2", 1));
		CHECK(!verifies(y, certp, "::1", 1));
		X509_free(y);
	}
	CHECK((y = leaf_of("::1")) != NULL);
	if (y != NULL) {
		CHECK(verifies(y, certp, "::1", 1));
		CHECK(!verifies(y, certp, "127.0.0.1", 1));
		X509_free(y);
	}
	CHECK((y = leaf_of("[::1]")) != NULL);
	if (y != NULL) {
		CHECK(verifies(y, certp, "::1", 1));
		X509_free(y);
	}
	/* A name longer than a CN may be: the SAN alone. */
	CHECK((y = leaf_of("b123456789.b123456789.b123456789.b123456789."
	    "b123456789.b123456789.b123456789.test")) != NULL);
	if (y != NULL) {
		CHECK(verifies(y, certp, "b123456789.b123456789.b123456789."
		    "b123456789.b123456789.b123456789.b123456789.test", 0));
		X509_free(y);
	}

	/* What is no host. */
	CHECK(egress_ca_server_ssl("", err, sizeof(err)) == NULL);
	CHECK(egress_ca_server_ssl("a b", err, sizeof(err)) == NULL);
	CHECK(egress_ca_server_ssl("a,DNS:evil.test", err, sizeof(err)) ==
	    NULL);
	CHECK(egress_ca_server_ssl("a\nb", err, sizeof(err)) == NULL);
	CHECK(egress_ca_upstream_ssl("[]", err, sizeof(err)) == NULL);

	/* Past the cache, the oldest is made again (a new serial). */
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
	for (i = 0; i < EGRESS_CA_CACHE; i++) {
		snprintf(host, sizeof(host), "h%d.test", i);
		y = leaf_of(host);
		CHECK(y != NULL);
		X509_free(y);
	}
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
	fprintf(stderr, "a new leaf: %.0f us of CPU\n",
	    elapsed_us(&a, &b) / EGRESS_CA_CACHE);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
	for (i = 0; i < 1000; i++) {
		y = leaf_of("h63.test");
		X509_free(y);
	}
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
	fprintf(stderr, "a cached leaf's SSL: %.1f us of CPU\n",
	    elapsed_us(&a, &b) / 1000);
	if (x != NULL) {
		CHECK((y = leaf_of("github.test")) != NULL && y != x);
		CHECK(y != NULL && ASN1_INTEGER_cmp(X509_get0_serialNumber(x),
		    X509_get0_serialNumber(y)) != 0);
		CHECK(y != NULL && verifies(y, certp, "github.test", 0));
		X509_free(y);
		X509_free(x);
	}
}

static void
test_agent_handshake(void)
{
	SSL			*c, *s;
	const unsigned char	*proto;
	unsigned int		 plen;

	/* What a container does: trusts ca.crt, checks the name. */
	s = egress_ca_server_ssl("localhost", err, sizeof(err));
	c = agent_client(certp, "localhost", "\x02h2\x08http/1.1", 12);
	CHECK(s != NULL && c != NULL && handshake(c, s));
	SSL_get0_alpn_selected(c, &proto, &plen);
	CHECK(plen == 8 && memcmp(proto, "http/1.1", 8) == 0);
	CHECK(SSL_version(c) >= TLS1_2_VERSION);
	SSL_free(c);
	SSL_free(s);

	/* h2 alone: no ALPN at all, never h2. */
	s = egress_ca_server_ssl("localhost", err, sizeof(err));
	c = agent_client(certp, "localhost", "\x02h2", 3);
	CHECK(s != NULL && c != NULL && handshake(c, s));
	SSL_get0_alpn_selected(c, &proto, &plen);
	CHECK(plen == 0);
	SSL_free(c);
	SSL_free(s);

	/* The leaf is for localhost: a client asking for another refuses. */
	s = egress_ca_server_ssl("localhost", err, sizeof(err));
	c = agent_client(certp, "other.test", NULL, 0);
	CHECK(s != NULL && c != NULL && !handshake(c, s));
	CHECK(SSL_get_verify_result(c) == X509_V_ERR_HOSTNAME_MISMATCH);
	SSL_free(c);
	SSL_free(s);

	/* A client that does not trust this CA refuses. */
	s = egress_ca_server_ssl("localhost", err, sizeof(err));
	c = agent_client("/etc/ssl/certs/ca-certificates.crt", "localhost",
	    NULL, 0);
	CHECK(s != NULL && c != NULL && !handshake(c, s));
	SSL_free(c);
	SSL_free(s);

	/* TLS 1.1 is refused. */
	s = egress_ca_server_ssl("localhost", err, sizeof(err));
	c = agent_client(certp, "localhost", NULL, 0);
	SSL_set_max_proto_version(c, TLS1_1_VERSION);
	SSL_set_security_level(c, 0);
	CHECK(s != NULL && c != NULL && !handshake(c, s));
	SSL_free(c);
	SSL_free(s);
}

static void
test_upstream(void)
{
	EVP_PKEY	*tkey, *skey;
	X509		*tca, *scert;
	SSL		*c, *s;
	char		 tcap[160], *pem;
	const char	*sni;

	/* A test CA of its own, as a GitHub Enterprise or the tests have. */
	tkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	skey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	tca = make_cert(tkey, "test upstream CA", NULL, tkey,
	    "critical,CA:TRUE", NULL);
	scert = make_cert(skey, "localhost", tca, tkey, "CA:FALSE",
	    "DNS:localhost,IP:127.0.0.1");
	snprintf(tcap, sizeof(tcap), "%s/upstream-ca.pem", dir);
	pem = pem_of(tca);
	CHECK(spit(tcap, pem, 0644) == 0);
	free(pem);

	egress_ca_shutdown();
	CHECK(egress_ca_init(dir, tcap, err, sizeof(err)) == 0);
	c = egress_ca_upstream_ssl("localhost", err, sizeof(err));
	s = upstream_server(scert, skey);
	offered[0] = '\0';
	CHECK(c != NULL && handshake(c, s));
	CHECK(strcmp(offered, "\x08http/1.1") == 0);
	CHECK((sni = SSL_get_servername(s, TLSEXT_NAMETYPE_host_name)) !=
	    NULL && strcmp(sni, "localhost") == 0);
	SSL_free(c);
	SSL_free(s);

	/* An address: checked as one, no SNI. */
	c = egress_ca_upstream_ssl("127.0.0.1", err, sizeof(err));
	s = upstream_server(scert, skey);
	CHECK(c != NULL && handshake(c, s));
	CHECK(SSL_get_servername(s, TLSEXT_NAMETYPE_host_name) == NULL);
	SSL_free(c);
	SSL_free(s);

	/* Another name than the certificate's. */
	c = egress_ca_upstream_ssl("github.test", err, sizeof(err));
	s = upstream_server(scert, skey);
	CHECK(c != NULL && !handshake(c, s));
	CHECK(c != NULL &&
	    SSL_get_verify_result(c) == X509_V_ERR_HOSTNAME_MISMATCH);
	SSL_free(c);
	SSL_free(s);
	c = egress_ca_upstream_ssl("[::1]", err, sizeof(err));
	s = upstream_server(scert, skey);
	CHECK(c != NULL && !handshake(c, s));
	SSL_free(c);
	SSL_free(s);

	/* Our own CA is not trusted upstream. */
	c = egress_ca_upstream_ssl("localhost", err, sizeof(err));
	s = egress_ca_server_ssl("localhost", err, sizeof(err));
	CHECK(c != NULL && s != NULL && !handshake(c, s));
	SSL_free(c);
	SSL_free(s);

	/* A reload without upstream-ca: the test CA is trusted no more. */
	CHECK(egress_ca_init(dir, NULL, err, sizeof(err)) == 0);
	c = egress_ca_upstream_ssl("localhost", err, sizeof(err));
	s = upstream_server(scert, skey);
	CHECK(c != NULL && !handshake(c, s));
	CHECK(c != NULL && SSL_get_verify_result(c) ==
	    X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
	SSL_free(c);
	SSL_free(s);
	/* And with it again, on a reload. */
	CHECK(egress_ca_init(dir, tcap, err, sizeof(err)) == 0);
	c = egress_ca_upstream_ssl("localhost", err, sizeof(err));
	s = upstream_server(scert, skey);
	CHECK(c != NULL && handshake(c, s));
	SSL_free(c);
	SSL_free(s);

	X509_free(scert);
	X509_free(tca);
	EVP_PKEY_free(skey);
	EVP_PKEY_free(tkey);
}

int
main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test-egress-ca.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return (2);
	}
	snprintf(cadir, sizeof(cadir), "%s/egress-ca", dir);
	snprintf(keyp, sizeof(keyp), "%s/ca.key", cadir);
	snprintf(certp, sizeof(certp), "%s/ca.crt", cadir);
	snprintf(bundlep, sizeof(bundlep), "%s/bundle.crt", cadir);

	test_make_and_load();
	test_leaves();
	test_agent_handshake();
	test_upstream();
	egress_ca_shutdown();
	rm_tree(dir);
	return (check_done("egress-ca"));
}
