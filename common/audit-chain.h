/*
 * The audit log's format, shared by the daemon that writes it
 * (daemon/audit-log.h) and qmsctl audit that reads and verifies it.
 *
 * STATE/audit.log holds one record a line: a JSON object whose first
 * members are, in this order,
 *
 *	{"seq":N,"time":"2026-12-05T14:10:29.123Z","prev":"<64 hex>",
 *	 "kind":"git|tool|egress|admin|qmsd", ...}
 *
 * seq counts from 1 without a gap; prev is the SHA-256, lowercase hex, of
 * the previous line's bytes exactly as in the file without its newline
 * (64 zeros for record 1).  So changing a record changes the hash the
 * next one names, removing one leaves a gap in seq, reordering puts a
 * seq out of turn, and truncating the end is seen against a head (seq and
 * hash) kept elsewhere: qmsd's own, and the one it writes to the journal.
 */
#ifndef QMSD_AUDIT_CHAIN_H
#define QMSD_AUDIT_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#define AUDIT_HASH_HEX		65	/* 64 hex digits and a NUL */
#define AUDIT_GENESIS \
	"0000000000000000000000000000000000000000000000000000000000000000"
/* No record is longer: a writer cuts its strings to fit. */
#define AUDIT_LINE_MAX		4096

/* SHA-256 of line[0..len) as lowercase hex. */
void	 audit_line_hash(const char *line, size_t len,
	    char out[AUDIT_HASH_HEX]);
/*
 * SHA-256 itself, OpenSSL's, from the program: common/sha256.c links
 * libcrypto (qmsd, the tests); qmsctl's client/sha256-lazy.c loads it
 * the first time a hash is wanted, so that no other command pays for
 * loading it (two and a half milliseconds a start).  0, or -1.
 */
int	 audit_sha256(const void *, size_t, unsigned char out[32]);
/*
 * The seq of a line that begins as a record does ({"seq":N,...), without
 * parsing the rest: 0, or -1.
 */
int	 audit_line_seq(const char *line, size_t len, uint64_t *seq);

#endif
