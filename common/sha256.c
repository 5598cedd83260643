/* SHA-256 for audit-chain.c: OpenSSL's, linked (audit-chain.h). */
#include <stddef.h>

#include <openssl/evp.h>

#include "audit-chain.h"

int
audit_sha256(const void *p, size_t len, unsigned char out[32])
{
	unsigned int	n = 0;

	if (EVP_Digest(p, len, out, &n, EVP_sha256(), NULL) != 1 || n != 32)
		return (-1);
	return (0);
}
