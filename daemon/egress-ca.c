#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "egress-ca.h"
#include "log.h"
#include "message.h"
#include "safe-path.h"
#include "util.h"

#define CA_DIR		"egress-ca"
#define CA_KEY		"ca.key"
#define CA_CERT		"ca.crt"
#define CA_BUNDLE	"bundle.crt"
#define SYSTEM_BUNDLE	"/etc/ssl/certs/ca-certificates.crt"

/* What a PEM file of ours may weigh; the system's bundle, SAFE_READ_MAX. */
#define PEM_MAX		(64 * 1024)

#define CA_DAYS		3650
#define LEAF_BEFORE	(60 * 60)		/* valid from an hour ago */
#define LEAF_DAYS	7
/*
 * A cached leaf is made again once this old, so that what is handed out
 * has at least six days left: a tunnel is not held that long.
 */
#define LEAF_RENEW	(24 * 60 * 60)

/* A name for a leaf: egress-policy's longest. */
#define HOST_MAX	253
/* X.509's upper bound of a commonName (RFC 5280 ub-common-name). */
#define CN_MAX		64

static const unsigned char	http11[] = "\x08http/1.1";

struct leaf {
	char		 host[HOST_MAX + 1];	/* "" when free */
	X509		*cert;
	time_t		 made;
	uint64_t	 used;
};

static struct {
	char		*state_dir;
	char		*cert_path;
	char		*bundle_path;
	EVP_PKEY	*key;		/* the CA's */
	X509		*cert;
	EVP_PKEY	*leaf_key;	/* every leaf's, in memory only */
	SSL_CTX		*server;
	SSL_CTX		*upstream;
	struct leaf	 cache[EGRESS_CA_CACHE];
	uint64_t	 tick;
	int		 ready;
} ca;

static void	say_ssl(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/* What went wrong, and OpenSSL's first reason from its queue (emptied). */
static void
say_ssl(char *err, size_t errlen, const char *fmt, ...)
{
	va_list		 ap;
	char		 why[256];
	unsigned long	 e;
	size_t		 n;

	if ((e = ERR_get_error()) != 0)
		ERR_error_string_n(e, why, sizeof(why));
	else
		snprintf(why, sizeof(why), "no detail");
	ERR_clear_error();
	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	msg_vsay(err, errlen, fmt, ap);
	va_end(ap);
	n = strlen(err);
	if (n < errlen)
		snprintf(err + n, errlen - n, " (%s)", why);
}

/* Never a passphrase prompt on a terminal: an encrypted key is an error. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return (-1);
}

static void
leaf_forget(struct leaf *l)
{
	X509_free(l->cert);
	memset(l, 0, sizeof(*l));
}

static void
forget_all(void)
{
	size_t	i;

	for (i = 0; i < nitems(ca.cache); i++)
		leaf_forget(&ca.cache[i]);
	SSL_CTX_free(ca.server);
	SSL_CTX_free(ca.upstream);
	EVP_PKEY_free(ca.leaf_key);
	EVP_PKEY_free(ca.key);
	X509_free(ca.cert);
	free(ca.state_dir);
	free(ca.cert_path);
	free(ca.bundle_path);
	memset(&ca, 0, sizeof(ca));
}

void
egress_ca_shutdown(void)
{
	forget_all();
}

int
egress_ca_ready(void)
{
	return (ca.ready);
}

const char *
egress_ca_cert_path(void)
{
	return (ca.ready ? ca.cert_path : NULL);
}

const char *
egress_ca_bundle_path(void)
{
	return (ca.ready ? ca.bundle_path : NULL);
}

/*
 * A regular file's contents (NUL-terminated) of at most max bytes, opened
 * with flags (O_NOFOLLOW for ours); its stat in *st.  NULL with errno.
 */
static char *
read_at(int dirfd, const char *name, int flags, size_t max, struct stat *st,
    size_t *lenp)
{
	char	*text;
	size_t	 len = 0;
	ssize_t	 n;
	int	 fd, e;

	fd = openat(dirfd, name, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC |
	    flags);
	if (fd == -1)
		return (NULL);
	if (fstat(fd, st) == -1) {
		e = errno;
		close(fd);
		errno = e;
		return (NULL);
	}
	if (!S_ISREG(st->st_mode) || st->st_size < 0 ||
	    (size_t)st->st_size > max) {
		close(fd);
		errno = S_ISREG(st->st_mode) ? EFBIG : EINVAL;
		return (NULL);
	}
	text = xcalloc(1, (size_t)st->st_size + 1);
	while (len < (size_t)st->st_size) {
		n = read(fd, text + len, (size_t)st->st_size - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	text[len] = '\0';
	*lenp = len;
	return (text);
}

static void
free_secret(char *text, size_t len)
{
	if (text != NULL)
		OPENSSL_cleanse(text, len);
	free(text);
}

/* A positive random serial of 128 bits at most (RFC 5280: 20 octets). */
static int
set_serial(X509 *x)
{
	unsigned char	 raw[16];
	BIGNUM		*bn;
	int		 ok;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return (0);
	raw[0] &= 0x7f;
	raw[0] |= 0x40;		/* never zero, always the same length */
	if ((bn = BN_bin2bn(raw, sizeof(raw), NULL)) == NULL)
		return (0);
	ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return (ok);
}

static int
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX	 v3;
	X509_EXTENSION	*ext;
	int		 ok;

	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value)) == NULL)
		return (0);
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return (ok);
}

static EVP_PKEY *
make_key(char *err, size_t errlen)
{
	EVP_PKEY	*key;

	if ((key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL)
		say_ssl(err, errlen, "egress CA: making a P-256 key failed");
	return (key);
}

/* The CA's certificate, self-signed by key. */
static X509 *
make_ca_cert(EVP_PKEY *key, char *err, size_t errlen)
{
	X509		*x;
	X509_NAME	*name;
	unsigned char	 raw[4];
	char		 host[256], cn[CN_MAX + 1];
	time_t		 now = time(NULL);
	size_t		 i;

	/* The host's name, cut to fit a CN, in letters a CN takes. */
	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "localhost");
	host[40] = '\0';
	for (i = 0; host[i] != '\0'; i++)
		if (!((host[i] >= 'a' && host[i] <= 'z') ||
		    (host[i] >= 'A' && host[i] <= 'Z') ||
		    (host[i] >= '0' && host[i] <= '9') ||
		    host[i] == '-' || host[i] == '.'))
			host[i] = '-';
	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		say_ssl(err, errlen, "egress CA: no random bytes");
		return (NULL);
	}
	snprintf(cn, sizeof(cn), "qmsd egress CA %.40s %02x%02x%02x%02x", host,
	    raw[0], raw[1], raw[2], raw[3]);
	if ((x = X509_new()) == NULL ||
	    X509_set_version(x, 2) != 1 ||
	    !set_serial(x) ||
	    X509_time_adj_ex(X509_getm_notBefore(x), 0, -LEAF_BEFORE,
	    &now) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), CA_DAYS, 0, &now) == NULL ||
	    (name = X509_get_subject_name(x)) == NULL ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, name) != 1 ||
	    X509_set_pubkey(x, key) != 1 ||
	    !add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
	    !add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") ||
	    !add_ext(x, x, NID_subject_key_identifier, "hash") ||
	    X509_sign(x, key, EVP_sha256()) == 0) {
		say_ssl(err, errlen, "egress CA: making its certificate failed");
		X509_free(x);
		return (NULL);
	}
	return (x);
}

/* In PEM, in memory that is cleansed when freed; NULL on failure. */
static char *
to_pem(EVP_PKEY *key, X509 *cert, size_t *lenp)
{
	BIO	*b;
	char	*data, *text = NULL;
	long	 n;

	if ((b = BIO_new(BIO_s_mem())) == NULL)
		return (NULL);
	if ((key != NULL ? PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0,
	    NULL, NULL) : PEM_write_bio_X509(b, cert)) == 1 &&
	    (n = BIO_get_mem_data(b, &data)) > 0) {
		text = xcalloc(1, (size_t)n + 1);
		memcpy(text, data, (size_t)n);
		*lenp = (size_t)n;
	}
	BIO_free(b);		/* a memory BIO's buffer is cleansed */
	return (text);
}

/* Both files are absent: a new CA, the key written first. */
static int
create_ca(int dirfd, const char *dir, char *err, size_t errlen)
{
	EVP_PKEY	*key;
	X509		*cert;
	char		*kpem = NULL, *cpem = NULL;
	size_t		 klen = 0, clen = 0;
	int		 rv = -1;

	if ((key = make_key(err, errlen)) == NULL)
		return (-1);
	if ((cert = make_ca_cert(key, err, errlen)) == NULL)
		goto out;
	if ((kpem = to_pem(key, NULL, &klen)) == NULL ||
	    (cpem = to_pem(NULL, cert, &clen)) == NULL) {
		say_ssl(err, errlen, "egress CA: writing PEM failed");
		goto out;
	}
	if (safe_replace(dirfd, CA_KEY, kpem, klen, 0600, geteuid(),
	    getegid()) == -1) {
		msg_say(err, errlen, "egress CA: %s/%s: %s", dir, CA_KEY,
		    safe_strerror(errno));
		goto out;
	}
	if (safe_replace(dirfd, CA_CERT, cpem, clen, 0644, geteuid(),
	    getegid()) == -1) {
		msg_say(err, errlen, "egress CA: %s/%s: %s (remove %s/%s to "
		    "make a new CA)", dir, CA_CERT, safe_strerror(errno), dir,
		    CA_KEY);
		goto out;
	}
	ca.key = key;
	ca.cert = cert;
	key = NULL;
	cert = NULL;
	rv = 0;
out:
	free_secret(kpem, klen);
	free(cpem);
	EVP_PKEY_free(key);
	X509_free(cert);
	return (rv);
}

/* The CA from its two files, refused unless both are sound. */
static int
load_ca(int dirfd, const char *dir, char *err, size_t errlen)
{
	struct stat	 st;
	BIO		*b = NULL;
	EVP_PKEY	*key = NULL;
	X509		*cert = NULL;
	char		*kpem = NULL, *cpem = NULL;
	size_t		 klen = 0, clen = 0;
	int		 rv = -1;

	kpem = read_at(dirfd, CA_KEY, O_NOFOLLOW, PEM_MAX, &st, &klen);
	if (kpem == NULL) {
		msg_say(err, errlen, "egress CA: %s/%s: %s", dir, CA_KEY,
		    safe_strerror(errno));
		goto out;
	}
	if (st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
		msg_say(err, errlen, "egress CA: %s/%s is owned by uid %u with "
		    "mode %03o: it must be uid %u's and 0600 (chmod 600 it, "
		    "and consider the key seen by others)", dir, CA_KEY,
		    (unsigned)st.st_uid, (unsigned)(st.st_mode & 0777),
		    (unsigned)geteuid());
		goto out;
	}
	if ((b = BIO_new_mem_buf(kpem, (int)klen)) == NULL ||
	    (key = PEM_read_bio_PrivateKey(b, NULL, no_passphrase,
	    NULL)) == NULL) {
		say_ssl(err, errlen, "egress CA: %s/%s: not a PEM private key "
		    "without a passphrase", dir, CA_KEY);
		goto out;
	}
	BIO_free(b);
	b = NULL;

	cpem = read_at(dirfd, CA_CERT, O_NOFOLLOW, PEM_MAX, &st, &clen);
	if (cpem == NULL) {
		msg_say(err, errlen, "egress CA: %s/%s: %s", dir, CA_CERT,
		    safe_strerror(errno));
		goto out;
	}
	if (st.st_uid != geteuid() || (st.st_mode & 022) != 0) {
		msg_say(err, errlen, "egress CA: %s/%s is owned by uid %u with "
		    "mode %03o: it must be uid %u's and written by no one else",
		    dir, CA_CERT, (unsigned)st.st_uid,
		    (unsigned)(st.st_mode & 0777), (unsigned)geteuid());
		goto out;
	}
	if ((b = BIO_new_mem_buf(cpem, (int)clen)) == NULL ||
	    (cert = PEM_read_bio_X509(b, NULL, no_passphrase, NULL)) == NULL) {
		say_ssl(err, errlen, "egress CA: %s/%s: not a PEM certificate",
		    dir, CA_CERT);
		goto out;
	}
	if (X509_check_ca(cert) != 1) {
		msg_say(err, errlen, "egress CA: %s/%s is not a CA's "
		    "certificate (basicConstraints CA:TRUE and keyCertSign)",
		    dir, CA_CERT);
		goto out;
	}
	if (X509_check_private_key(cert, key) != 1) {
		say_ssl(err, errlen, "egress CA: %s/%s does not match %s/%s",
		    dir, CA_CERT, dir, CA_KEY);
		goto out;
	}
	if (X509_cmp_current_time(X509_get0_notAfter(cert)) <= 0) {
		msg_say(err, errlen, "egress CA: %s/%s has expired: remove "
		    "both files to make a new CA (containers must be made "
		    "again to trust it)", dir, CA_CERT);
		goto out;
	}
	ca.key = key;
	ca.cert = cert;
	key = NULL;
	cert = NULL;
	rv = 0;
out:
	ERR_clear_error();
	BIO_free(b);
	free_secret(kpem, klen);
	free(cpem);
	EVP_PKEY_free(key);
	X509_free(cert);
	return (rv);
}

/* Whether name is in dirfd, itself (a link counts as there). */
static int
present(int dirfd, const char *name, int *there)
{
	struct stat	st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		*there = 1;
		return (0);
	}
	*there = 0;
	return (errno == ENOENT ? 0 : -1);
}

/* The system's bundle, then ca.crt: what a container trusts. */
static int
write_bundle(int dirfd, const char *dir, char *err, size_t errlen)
{
	struct stat	 st;
	char		*sys, *cpem = NULL, *all;
	size_t		 slen = 0, clen = 0, len;
	int		 rv;

	/* The system's, a link on some distributions, may be missing. */
	sys = read_at(AT_FDCWD, SYSTEM_BUNDLE, 0, SAFE_READ_MAX, &st, &slen);
	if (sys == NULL)
		log_warnx("egress CA: %s: %s: containers will trust %s/%s "
		    "alone", SYSTEM_BUNDLE, safe_strerror(errno), dir, CA_CERT);
	if ((cpem = to_pem(NULL, ca.cert, &clen)) == NULL) {
		say_ssl(err, errlen, "egress CA: writing PEM failed");
		free(sys);
		return (-1);
	}
	len = slen + 1 + clen;
	all = xcalloc(1, len + 1);
	if (sys != NULL)
		memcpy(all, sys, slen);
	len = slen;
	if (len > 0 && all[len - 1] != '\n')
		all[len++] = '\n';
	memcpy(all + len, cpem, clen);
	len += clen;
	rv = safe_replace(dirfd, CA_BUNDLE, all, len, 0644, geteuid(),
	    getegid());
	if (rv == -1)
		msg_say(err, errlen, "egress CA: %s/%s: %s", dir, CA_BUNDLE,
		    safe_strerror(errno));
	free(sys);
	free(cpem);
	free(all);
	return (rv);
}

/* ALPN for the agent's end: http/1.1 if offered, else none (never h2). */
static int
select_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	unsigned int	i = 0;

	(void)ssl;
	(void)arg;
	while (i < inlen) {
		if (i + 1 + in[i] > inlen)
			break;
		if (in[i] == http11[0] &&
		    memcmp(in + i + 1, http11 + 1, http11[0]) == 0) {
			*out = in + i + 1;
			*outlen = in[i];
			return (SSL_TLSEXT_ERR_OK);
		}
		i += 1 + in[i];
	}
	return (SSL_TLSEXT_ERR_NOACK);
}

static SSL_CTX *
make_server_ctx(char *err, size_t errlen)
{
	SSL_CTX	*ctx;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
		say_ssl(err, errlen, "egress CA: making the TLS server "
		    "context failed");
		SSL_CTX_free(ctx);
		return (NULL);
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_alpn_select_cb(ctx, select_alpn, NULL);
	return (ctx);
}

static SSL_CTX *
make_upstream_ctx(const char *extra_ca, char *err, size_t errlen)
{
	SSL_CTX	*ctx;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_default_verify_paths(ctx) != 1 ||
	    SSL_CTX_set_alpn_protos(ctx, http11, sizeof(http11) - 1) != 0) {
		say_ssl(err, errlen, "egress CA: making the TLS client "
		    "context failed");
		SSL_CTX_free(ctx);
		return (NULL);
	}
	if (extra_ca != NULL &&
	    SSL_CTX_load_verify_locations(ctx, extra_ca, NULL) != 1) {
		say_ssl(err, errlen, "upstream-ca %s: no CA certificate loaded "
		    "from it", extra_ca);
		SSL_CTX_free(ctx);
		return (NULL);
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	return (ctx);
}

/* STATE/egress-ca, made 0700 if missing; refused unless ours alone. */
static int
open_dir(const char *dir, char *err, size_t errlen)
{
	struct stat	st;
	int		fd;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		msg_say(err, errlen, "egress CA: %s: %s", dir,
		    safe_strerror(errno));
		return (-1);
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 || fstat(fd, &st) == -1) {
		msg_say(err, errlen, "egress CA: %s: %s", dir,
		    safe_strerror(errno));
		if (fd != -1)
			close(fd);
		return (-1);
	}
	if (st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
		msg_say(err, errlen, "egress CA: %s is owned by uid %u with "
		    "mode %03o: it must be uid %u's and 0700", dir,
		    (unsigned)st.st_uid, (unsigned)(st.st_mode & 0777),
		    (unsigned)geteuid());
		close(fd);
		return (-1);
	}
	return (fd);
}

/* Everything but the upstream context, from the files or made anew. */
static int
start(const char *state_dir, char *err, size_t errlen)
{
	char	*dir;
	int	 fd, key_there, cert_there, rv = -1;

	xasprintf(&dir, "%s/%s", state_dir, CA_DIR);
	if ((fd = open_dir(dir, err, errlen)) == -1)
		goto out;
	if (present(fd, CA_KEY, &key_there) == -1 ||
	    present(fd, CA_CERT, &cert_there) == -1) {
		msg_say(err, errlen, "egress CA: %s: %s", dir,
		    safe_strerror(errno));
		goto out;
	}
	if (key_there && !cert_there) {
		msg_say(err, errlen, "egress CA: %s/%s is missing while %s/%s "
		    "is there: put it back, or remove both to make a new CA",
		    dir, CA_CERT, dir, CA_KEY);
		goto out;
	}
	if (!key_there && cert_there) {
		msg_say(err, errlen, "egress CA: %s/%s is missing while %s/%s "
		    "is there: put it back, or remove both to make a new CA",
		    dir, CA_KEY, dir, CA_CERT);
		goto out;
	}
	if ((key_there ? load_ca(fd, dir, err, errlen) :
	    create_ca(fd, dir, err, errlen)) == -1)
		goto out;
	if (write_bundle(fd, dir, err, errlen) == -1 ||
	    (ca.leaf_key = make_key(err, errlen)) == NULL ||
	    (ca.server = make_server_ctx(err, errlen)) == NULL)
		goto out;
	ca.state_dir = xstrdup(state_dir);
	xasprintf(&ca.cert_path, "%s/%s", dir, CA_CERT);
	xasprintf(&ca.bundle_path, "%s/%s", dir, CA_BUNDLE);
	rv = 0;
out:
	if (fd != -1)
		close(fd);
	free(dir);
	return (rv);
}

int
egress_ca_init(const char *state_dir, const char *extra_ca, char *err,
    size_t errlen)
{
	SSL_CTX	*up;
	char	*dir;
	int	 fd, rv;

	ERR_clear_error();
	if (ca.state_dir != NULL && strcmp(ca.state_dir, state_dir) == 0 &&
	    ca.cert != NULL) {
		/* A reload: the same CA; the system's bundle written again. */
		ca.ready = 0;
		xasprintf(&dir, "%s/%s", state_dir, CA_DIR);
		fd = open_dir(dir, err, errlen);
		rv = fd == -1 ? -1 : write_bundle(fd, dir, err, errlen);
		if (fd != -1)
			close(fd);
		free(dir);
		if (rv == -1) {
			forget_all();
			return (-1);
		}
	} else {
		forget_all();
		if (start(state_dir, err, errlen) == -1) {
			forget_all();
			return (-1);
		}
	}
	if ((up = make_upstream_ctx(extra_ca, err, errlen)) == NULL) {
		forget_all();
		return (-1);
	}
	SSL_CTX_free(ca.upstream);
	ca.upstream = up;
	ca.ready = 1;
	return (0);
}

/*
 * host as a leaf or a check takes it: brackets of an IPv6 address taken
 * off, a name lowercased and refused unless of letters, digits, '-' and
 * '.'.  Whether it is an address in *af (AF_INET or AF_INET6, else 0),
 * the address in addr.
 */
static int
normalise(const char *host, char *out, size_t outlen, int *af,
    unsigned char addr[16], char *err, size_t errlen)
{
	size_t	len = strlen(host), i;

	if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
		host++;
		len -= 2;
	}
	if (len == 0 || len > HOST_MAX || len >= outlen) {
		msg_say(err, errlen, "egress CA: a host of %zu bytes", len);
		return (-1);
	}
	memcpy(out, host, len);
	out[len] = '\0';
	if (inet_pton(AF_INET, out, addr) == 1) {
		*af = AF_INET;
		return (0);
	}
	if (inet_pton(AF_INET6, out, addr) == 1) {
		*af = AF_INET6;
		return (0);
	}
	*af = 0;
	for (i = 0; i < len; i++) {
		if (out[i] >= 'A' && out[i] <= 'Z')
			out[i] = (char)(out[i] - 'A' + 'a');
		else if (!((out[i] >= 'a' && out[i] <= 'z') ||
		    (out[i] >= '0' && out[i] <= '9') || out[i] == '-' ||
		    out[i] == '.')) {
			msg_say(err, errlen, "egress CA: host \"%.*s\" is "
			    "neither a name nor an address", (int)len, out);
			return (-1);
		}
	}
	return (0);
}

/* subjectAltName: the one name or address. */
static int
add_san(X509 *x, const char *host, int af, const unsigned char *addr,
    int critical)
{
	GENERAL_NAMES		*names;
	GENERAL_NAME		*gn;
	ASN1_OCTET_STRING	*ip;
	ASN1_IA5STRING		*dns;
	int			 ok = 0;

	if ((names = sk_GENERAL_NAME_new_null()) == NULL)
		return (0);
	if ((gn = GENERAL_NAME_new()) == NULL)
		goto out;
	if (af != 0) {
		if ((ip = ASN1_OCTET_STRING_new()) == NULL ||
		    ASN1_OCTET_STRING_set(ip, addr, af == AF_INET ? 4 : 16) != 1) {
			ASN1_OCTET_STRING_free(ip);
			GENERAL_NAME_free(gn);
			goto out;
		}
		GENERAL_NAME_set0_value(gn, GEN_IPADD, ip);
	} else {
		if ((dns = ASN1_IA5STRING_new()) == NULL ||
		    ASN1_STRING_set(dns, host, -1) != 1) {
			ASN1_IA5STRING_free(dns);
			GENERAL_NAME_free(gn);
			goto out;
		}
		GENERAL_NAME_set0_value(gn, GEN_DNS, dns);
	}
	if (sk_GENERAL_NAME_push(names, gn) == 0) {
		GENERAL_NAME_free(gn);
		goto out;
	}
	ok = X509_add1_ext_i2d(x, NID_subject_alt_name, names, critical,
	    X509V3_ADD_DEFAULT) == 1;
out:
	GENERAL_NAMES_free(names);
	return (ok);
}

static X509 *
make_leaf(const char *host, int af, const unsigned char *addr, char *err,
    size_t errlen)
{
	X509		*x;
	X509_NAME	*name;
	time_t		 now = time(NULL);
	int		 cn = strlen(host) <= CN_MAX;

	/* No room for a long name in CN: an empty subject, SAN critical. */
	if ((x = X509_new()) == NULL ||
	    X509_set_version(x, 2) != 1 ||
	    !set_serial(x) ||
	    X509_time_adj_ex(X509_getm_notBefore(x), 0, -LEAF_BEFORE,
	    &now) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), LEAF_DAYS, 0, &now) == NULL ||
	    (name = X509_get_subject_name(x)) == NULL ||
	    (cn && X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)host, -1, -1, 0) != 1) ||
	    X509_set_issuer_name(x, X509_get_subject_name(ca.cert)) != 1 ||
	    X509_set_pubkey(x, ca.leaf_key) != 1 ||
	    !add_san(x, host, af, addr, !cn) ||
	    !add_ext(x, ca.cert, NID_basic_constraints, "critical,CA:FALSE") ||
	    !add_ext(x, ca.cert, NID_key_usage, "critical,digitalSignature") ||
	    !add_ext(x, ca.cert, NID_ext_key_usage, "serverAuth") ||
	    !add_ext(x, ca.cert, NID_authority_key_identifier,
	    "keyid:always") ||
	    X509_sign(x, ca.key, EVP_sha256()) == 0) {
		say_ssl(err, errlen, "egress CA: making a certificate for %s "
		    "failed", host);
		X509_free(x);
		return (NULL);
	}
	return (x);
}

/* The cached leaf for host, or a new one in the least recently used slot. */
static X509 *
leaf_for(const char *host, int af, const unsigned char *addr, char *err,
    size_t errlen)
{
	struct leaf	*l, *old = &ca.cache[0];
	X509		*x;
	time_t		 now = time(NULL);
	size_t		 i;

	for (i = 0; i < nitems(ca.cache); i++) {
		l = &ca.cache[i];
		if (l->host[0] != '\0' && strcmp(l->host, host) == 0) {
			if (now - l->made >= LEAF_RENEW || now < l->made) {
				old = l;
				break;
			}
			l->used = ++ca.tick;
			return (l->cert);
		}
		if (old->host[0] != '\0' &&
		    (l->host[0] == '\0' || l->used < old->used))
			old = l;
	}
	if ((x = make_leaf(host, af, addr, err, errlen)) == NULL)
		return (NULL);
	leaf_forget(old);
	snprintf(old->host, sizeof(old->host), "%s", host);
	old->cert = x;
	old->made = now;
	old->used = ++ca.tick;
	return (x);
}

SSL *
egress_ca_server_ssl(const char *host, char *err, size_t errlen)
{
	unsigned char	 addr[16];
	char		 h[HOST_MAX + 1];
	X509		*x;
	SSL		*ssl;
	int		 af;

	if (!ca.ready) {
		msg_say(err, errlen, "egress CA: not ready");
		return (NULL);
	}
	if (normalise(host, h, sizeof(h), &af, addr, err, errlen) == -1)
		return (NULL);
	if ((x = leaf_for(h, af, addr, err, errlen)) == NULL)
		return (NULL);
	if ((ssl = SSL_new(ca.server)) == NULL ||
	    SSL_use_certificate(ssl, x) != 1 ||
	    SSL_use_PrivateKey(ssl, ca.leaf_key) != 1) {
		say_ssl(err, errlen, "egress CA: a TLS server for %s failed", h);
		SSL_free(ssl);
		return (NULL);
	}
	return (ssl);
}

SSL *
egress_ca_upstream_ssl(const char *host, char *err, size_t errlen)
{
	X509_VERIFY_PARAM	*param;
	unsigned char		 addr[16];
	char			 h[HOST_MAX + 1];
	SSL			*ssl;
	int			 af, ok;

	if (!ca.ready) {
		msg_say(err, errlen, "egress CA: not ready");
		return (NULL);
	}
	if (normalise(host, h, sizeof(h), &af, addr, err, errlen) == -1)
		return (NULL);
	if ((ssl = SSL_new(ca.upstream)) == NULL) {
		say_ssl(err, errlen, "egress CA: a TLS client for %s failed", h);
		return (NULL);
	}
	param = SSL_get0_param(ssl);
	X509_VERIFY_PARAM_set_hostflags(param,
	    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (af != 0)
		ok = X509_VERIFY_PARAM_set1_ip(param, addr,
		    af == AF_INET ? 4 : 16) == 1;
	else
		ok = SSL_set_tlsext_host_name(ssl, h) == 1 &&
		    X509_VERIFY_PARAM_set1_host(param, h, 0) == 1;
	if (!ok) {
		say_ssl(err, errlen, "egress CA: a TLS client for %s failed", h);
		SSL_free(ssl);
		return (NULL);
	}
	return (ssl);
}
