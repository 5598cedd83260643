/*
 * The courier: types one agent's notifications into its Claude session,
 * one at a time, and counts one delivered only when Claude says the
 * prompt went in.  Pure: it decides, its owner does (types through the
 * agent's tmux link, saves the records, keeps the one timer), and tells
 * it what happened.  The records are the agent's deliveries (deliveries.h),
 * which the owner loads at start and saves when told.
 *
 * A record is typed only while the agent is idle: never while Claude
 * works or a permission or question prompt is open (needs-input), and not
 * in the first COURIER_SETTLE_MS of a new session, whose input can lose
 * what is typed before its MCP servers are connected.  It is saved as
 * typed before it is typed, so that a qmsd killed in between knows it may
 * have gone in.  It is delivered when a UserPromptSubmit hook reports a
 * prompt that holds its text (a person's draft may surround it).  Without
 * that within COURIER_CONFIRM_MS a second Enter is sent (text left in the
 * box goes in with it), and without it again the line is cleared and the
 * text typed anew, up to COURIER_ATTEMPTS times; then it failed, and the
 * next one goes.  A prompt that is not ours while ours waits, or the
 * agent leaving idle, puts ours back until the agent is idle again (typed
 * anew over a cleared line).  A record typed by an earlier qmsd waits
 * COURIER_CONFIRM_MS for the confirmation that the hook, retrying while
 * qmsd was down, may still bring, before it is handled as above.
 */
#ifndef QMSD_COURIER_H
#define QMSD_COURIER_H

#include <stdint.h>

#include "activity.h"
#include "deliveries.h"

#define COURIER_SETTLE_MS	1000	/* after SessionStart */
#define COURIER_CONFIRM_MS	5000	/* typed or Enter sent: then next try */
#define COURIER_ATTEMPTS	3	/* times typed before it failed */

struct courier_ops {
	/*
	 * Type text as one line and press Enter, the line cleared first when
	 * clear; courier_typed() answers it later.  -1 when it cannot begin
	 * (no link): the courier waits for courier_linked().
	 */
	int	(*type)(void *arg, const char *text, int clear);
	/* Press Enter once more; no answer expected. */
	void	(*enter)(void *arg);
	/* The records changed: save them. */
	void	(*save)(void *arg);
	/*
	 * A record is settled: delivered (error NULL) or failed.  Called
	 * before a settled message is removed; d is valid for the call.
	 */
	void	(*settled)(void *arg, const struct delivery *d,
		    const char *error);
	/* Arm the one timer to call courier_timeout() in ms; 0 disarms. */
	void	(*timer)(void *arg, uint64_t ms);
};

struct courier;

/* The records stay the owner's; the courier reads and moves them. */
struct courier	*courier_new(struct deliveries *, const struct courier_ops *,
		    void *arg, uint64_t now);
void		 courier_free(struct courier *);

/* The agent's activity now; fresh: it became idle by a new session. */
void	 courier_activity(struct courier *, enum activity, int fresh,
	    uint64_t now);
/* Whether the agent's tmux link is there to type through. */
void	 courier_linked(struct courier *, int up, uint64_t now);
/* A record was added or changed by the owner: look for work. */
void	 courier_kick(struct courier *, uint64_t now);
/* The answer to ops->type: NULL or why it failed. */
void	 courier_typed(struct courier *, const char *error, uint64_t now);
/* A UserPromptSubmit hook's prompt (truncated: longer is set). */
void	 courier_prompt(struct courier *, const char *prompt, int longer,
	    uint64_t now);
void	 courier_timeout(struct courier *, uint64_t now);
/*
 * The owner is about to remove d (its item left the inbox): the courier
 * lets go of it, and an answer still owed for it settles nothing.
 */
void	 courier_forget(struct courier *, const struct delivery *);

/* The record being typed or waited for, or NULL. */
const struct delivery *courier_current(const struct courier *);

#endif
