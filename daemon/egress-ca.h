/*
 * The egress proxy's certificate authority, made once per installation
 * with OpenSSL, for the hosts a secret is for (secret-rule.h): the proxy
 * ends the agent's TLS to such a host with a certificate of this CA,
 * which the agent's container trusts, and speaks TLS of its own to the
 * real host, verified against the system's trust store.
 *
 * In STATE/egress-ca/ (0700 root):
 *	ca.key		the CA's key (P-256), 0600; never leaves this file
 *			and qmsd's memory, never mounted anywhere
 *	ca.crt		its certificate (10 years, CA:TRUE pathlen 0,
 *			keyCertSign and cRLSign only), 0644
 *	bundle.crt	the system's bundle (/etc/ssl/certs/ca-certificates.crt)
 *			and ca.crt, 0644, written again at every start
 * A key or certificate that does not load, does not match, or is not
 * root's and 0600 (the key) is an error: qmsd says which and does not
 * start intercepting (nothing is made over it).
 *
 * Leaf certificates are made on demand, one per host:port's host, signed
 * with the CA, valid from an hour ago for 7 days, subjectAltName the name
 * (DNS) or the address (IP); one P-256 key for all leaves, made at start
 * and kept in memory only; at most EGRESS_CA_CACHE kept (the oldest
 * made again when needed).
 */
#ifndef QMSD_EGRESS_CA_H
#define QMSD_EGRESS_CA_H

#include <stddef.h>

#include <openssl/ssl.h>

#define EGRESS_CA_CACHE		64

/*
 * Load the CA from state_dir, making it when there is none; write the
 * bundle.  extra_ca (NULL: none) is a PEM file of CAs trusted for
 * upstreams besides the system's ([qmsd] upstream-ca: a GitHub
 * Enterprise with its own CA, or tests).  -1 with why.  Blocking: at
 * start and reload, before the loop serves agents.
 */
int		 egress_ca_init(const char *state_dir, const char *extra_ca,
		    char *err, size_t errlen);
void		 egress_ca_shutdown(void);
/* Whether egress_ca_init succeeded. */
int		 egress_ca_ready(void);

/* The paths a container mounts: the CA's certificate, the bundle. */
const char	*egress_ca_cert_path(void);
const char	*egress_ca_bundle_path(void);

/*
 * A server-side SSL for the agent's end of a tunnel to host (a name or
 * an address, as egress_check_target normalised it; no port), with the
 * leaf for host.  NULL with why.
 */
SSL		*egress_ca_server_ssl(const char *host, char *err, size_t);
/*
 * A client-side SSL for the upstream host: TLS 1.2 or later, SNI (for a
 * name), the peer verified against the system's store and extra_ca, its
 * name or address checked.  NULL with why.
 */
SSL		*egress_ca_upstream_ssl(const char *host, char *err, size_t);

#endif
