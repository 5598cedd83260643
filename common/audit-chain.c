/* The audit log's chain: a line's hash, a line's seq (audit-chain.h). */
#include <stdint.h>
#include <string.h>

#include "audit-chain.h"

void
audit_line_hash(const char *line, size_t len, char out[AUDIT_HASH_HEX])
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 md[32];
	size_t			 i;

	if (audit_sha256(line, len, md) == -1) {
		/* Never a hash of anything: a chain through it breaks. */
		memset(out, 'x', AUDIT_HASH_HEX - 1);
		out[AUDIT_HASH_HEX - 1] = '\0';
		return;
	}
	for (i = 0; i < sizeof(md); i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	out[2 * i] = '\0';
}

int
audit_line_seq(const char *line, size_t len, uint64_t *seq)
{
	static const char	 lead[] = "{\"seq\":";
	size_t			 i = sizeof(lead) - 1;
	uint64_t		 n = 0;

	if (len <= i || memcmp(line, lead, i) != 0 || line[i] < '1' ||
	    line[i] > '9')
		return (-1);
	for (; i < len && line[i] >= '0' && line[i] <= '9'; i++) {
		if (n > (UINT64_MAX - 9) / 10)
			return (-1);
		n = n * 10 + (uint64_t)(line[i] - '0');
	}
	if (i == len || line[i] != ',')
		return (-1);
	*seq = n;
	return (0);
}
