/*
 * SHA-256 for audit-chain.c in qmsctl: OpenSSL's, loaded the first time
 * it is wanted (qmsctl audit), not at every start (audit-chain.h).
 */
#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "audit-chain.h"
#include "config-build.h"

typedef const void *(*md_fn)(void);
typedef int (*digest_fn)(const void *, size_t, unsigned char *,
    unsigned int *, const void *, void *);

int
audit_sha256(const void *p, size_t len, unsigned char out[32])
{
	static md_fn	 md;
	static digest_fn digest;
	void		*h;
	unsigned int	 n = 0;

	if (digest == NULL) {
		/* POSIX's way round ISO C's object/function pointers. */
		if ((h = dlopen(QMSD_LIBCRYPTO, RTLD_NOW | RTLD_LOCAL)) ==
		    NULL || (*(void **)&md = dlsym(h, "EVP_sha256")) == NULL ||
		    (*(void **)&digest = dlsym(h, "EVP_Digest")) == NULL) {
			fprintf(stderr, "qmsctl: cannot load OpenSSL's SHA-256 "
			    "(%s): %s\n", QMSD_LIBCRYPTO, dlerror());
			exit(1);
		}
	}
	if (digest(p, len, out, &n, md(), NULL) != 1 || n != 32)
		return (-1);
	return (0);
}
