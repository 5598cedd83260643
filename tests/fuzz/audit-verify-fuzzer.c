/*
 * libFuzzer harness for the reading side of the audit log: whatever the
 * file holds, the verifier must neither crash nor leak, give a verdict in
 * words, and keep its word: once -1, -1 to the end; a log it finds intact
 * stays intact against its own last record as the head, and fails against
 * a head one record past it or with another hash.  The records' times go
 * through parse_time, as qmsctl audit --since reads them.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit-verify.h"
#include "util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The verdict on data's lines with one head (or none: seq UINT64_MAX). */
static int
run(const char *data, size_t size, uint64_t seq, const char *hash,
    uint64_t *records, char last[AUDIT_HASH_HEX])
{
	struct audit_verify	 v;
	const char		*p = data, *nl;
	size_t			 len;
	int			 failed = 0;

	audit_verify_init(&v);
	if (seq != UINT64_MAX && audit_verify_expect(&v, seq, hash,
	    "the head") == -1)
		abort();
	*records = 0;
	memcpy(last, AUDIT_GENESIS, AUDIT_HASH_HEX);
	while (p < data + size) {
		nl = memchr(p, '\n', (size_t)(data + size - p));
		len = (size_t)((nl != NULL ? nl : data + size) - p);
		if (audit_verify_line(&v, p, len) == -1)
			failed = 1;
		else if (failed)
			abort();
		else {
			(*records)++;
			audit_line_hash(p, len, last);
		}
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	switch (audit_verify_end(&v)) {
	case 0:
		if (failed || strncmp(audit_verify_message(&v),
		    "audit log intact: ", 18) != 0)
			abort();
		/* Ending twice changes nothing. */
		if (audit_verify_end(&v) != 0)
			abort();
		return (0);
	case -1:
		if (audit_verify_message(&v)[0] == '\0' ||
		    strncmp(audit_verify_message(&v), "audit log intact",
		    16) == 0)
			abort();
		return (-1);
	default:
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*d = (const char *)data;
	char		 last[AUDIT_HASH_HEX], again[AUDIT_HASH_HEX];
	char		 other[AUDIT_HASH_HEX], *s;
	uint64_t	 n, m, ms;

	if (run(d, size, UINT64_MAX, NULL, &n, last) == 0) {
		if (run(d, size, n, last, &m, again) != 0 || m != n ||
		    strcmp(last, again) != 0)
			abort();
		if (run(d, size, n + 1, last, &m, again) != -1)
			abort();
		if (n > 0) {
			memcpy(other, last, sizeof(other));
			other[0] = other[0] == '0' ? '1' : '0';
			if (run(d, size, n, other, &m, again) != -1)
				abort();
		}
	}

	if ((s = malloc(size + 1)) == NULL)
		return (0);
	memcpy(s, data, size);
	s[size] = '\0';
	if (parse_time(s, &ms) == 0 && ms > 253402300799999ULL)
		abort();
	free(s);
	return (0);
}
