/*
 * The start of a git receive-pack request (a push over https) as the
 * egress proxy reads it to hold pushes to their refs: the pkt-lines of
 * ref-update commands up to the flush, and the answer git shows when the
 * proxy refuses them.  Pure: no I/O, no global state.
 *
 *	PKT-LINE(OLD SP NEW SP REF NUL CAPABILITIES LF)	the first
 *	PKT-LINE(OLD SP NEW SP REF LF)			the rest
 *	0000
 *
 * OLD and NEW are 40 or 64 hex digits; REF a refname with no control
 * byte, space, ~^:?*[\ or "..", under refs/.  Refused as unreadable: a
 * "push-cert" or "shallow" line, a malformed length, a command that is
 * not the form above, more than RP_MAX_COMMANDS commands.
 */
#ifndef QMSD_RECEIVE_PACK_H
#define QMSD_RECEIVE_PACK_H

#include <stddef.h>

#define RP_MAX_COMMANDS		256
#define RP_MAX_REF		1024

struct rp_command {
	char		ref[RP_MAX_REF + 1];
	int		deletes;	/* NEW is all zeros */
};

struct rp_commands {
	struct rp_command cmds[RP_MAX_COMMANDS];
	size_t		 n;
	int		 report_status;	/* capabilities asked for */
	int		 side_band_64k;
	size_t		 used;		/* bytes through the flush */
};

/*
 * Read the commands from the decoded body's first len bytes.  Returns 1
 * when the flush is there (*c filled), 0 when more bytes are needed, -1
 * when it cannot be read (why).  A body that is only "0000" (git's
 * probe) is 1 with no command.
 */
int	rp_commands_parse(const char *buf, size_t len, struct rp_commands *,
	    char *why, size_t whylen);

/*
 * The body of a 200 answer (application/x-git-receive-pack-result) that
 * refuses every command with reason, in the report-status form (inside
 * side-band 1 when c asked for side-band-64k), so that git prints
 * "! [remote rejected] REF (reason)".  Without report-status, a
 * side-band 3 error or nothing is what git can show: the caller answers
 * 403 with reason instead.  Allocated; *len its length.
 */
char	*rp_refusal(const struct rp_commands *, const char *reason,
	    size_t *len);

/*
 * The answer to GET .../info/refs?service=SERVICE that refuses the fetch
 * or push before it begins: the service line, a flush, and an ERR line
 * with reason, which git prints as "remote error: REASON".  Allocated
 * (NULL when out of memory); *len its length.
 */
char	*rp_err_advertisement(const char *service, const char *reason,
	    size_t *len);

#endif
