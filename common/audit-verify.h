/*
 * Verifying the audit log (audit-chain.h) a line at a time: the first
 * record that was changed, removed or put out of order, named by its seq
 * and its line, and, against heads kept elsewhere (qmsd's own, one copied
 * from the journal), a log cut short or rewritten.
 *
 * No I/O: the caller reads the file and hands over each line without its
 * newline, then asks for the verdict:
 *
 *	audit_verify_init(&v);
 *	audit_verify_expect(&v, seq, hash, "qmsd's head");
 *	for each line: audit_verify_line(&v, line, len);
 *	intact = audit_verify_end(&v) == 0;
 *	puts(audit_verify_message(&v));
 *
 * The verdict names the first problem in file order.  Once a problem is
 * seen audit_verify_line returns -1; the lines after it may still be fed,
 * and the words can only get more exact (a record missing at a spot that
 * turns up later was moved, not removed; a record that does not hash to
 * a head may be the last), never name another spot.
 */
#ifndef QMSD_AUDIT_VERIFY_H
#define QMSD_AUDIT_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "audit-chain.h"

#define AUDIT_VERIFY_HEADS	4	/* heads expected, at most */
#define AUDIT_VERIFY_MSG	512	/* the message, with its NUL */

/* The members are the verifier's own: use the functions below. */
struct audit_verify_head {
	uint64_t	 seq;
	char		 hash[AUDIT_HASH_HEX];
	char		 who[32];	/* "qmsd's head", in the messages */
	int		 met;
};

struct audit_verify {
	int		 state;
	uint64_t	 lines;		/* lines seen */
	uint64_t	 seq;		/* the last record of the chain so far */
	char		 hash[AUDIT_HASH_HEX];	/* the hash of its line */
	/* A problem whose words wait for later lines. */
	uint64_t	 at_line;
	uint64_t	 at_seq;
	char		 at_hash[AUDIT_HASH_HEX];
	size_t		 at_head;
	struct audit_verify_head heads[AUDIT_VERIFY_HEADS];
	size_t		 nheads;
	char		 msg[AUDIT_VERIFY_MSG];
};

void	 audit_verify_init(struct audit_verify *);
/*
 * A head the log must hold: record seq whose line hashes to hash (64 hex
 * digits, either case; seq 0 is the empty log's head, the genesis hash).
 * who names it in the messages, as in "does not hash to qmsd's head".
 * Before the first line; -1 for a bad head or one too many.
 */
int	 audit_verify_expect(struct audit_verify *, uint64_t seq,
	    const char *hash, const char *who);
/* One line without its newline: 0, or -1 once the log is not intact. */
int	 audit_verify_line(struct audit_verify *, const char *line, size_t len);
/* After the last line: 0 if the log is intact, else -1. */
int	 audit_verify_end(struct audit_verify *);
/*
 * The verdict after audit_verify_end: "audit log intact: 120 records,
 * head record 120 sha256 HASH", or the first problem, as in "record 17
 * (line 17) was changed: record 18 names another hash for it".
 */
const char *audit_verify_message(const struct audit_verify *);

#endif
