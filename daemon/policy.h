/*
 * When an agent starts and stops without a person asking (issue 16):
 * its start and stop policies, as the configuration writes them, as
 * qmsctl policy changes them at run time (kept in the agent's state
 * directory by policy-store.c), and the decision they make.  Pure: no
 * I/O, no clock, no globals; the caller passes what it knows and the
 * time.
 *
 *	start = manual		only a person starts it (qmsctl up, session)
 *	start = on-task		an item in its inbox starts it
 *	start = always		it runs whenever qmsd does, and comes back
 *				after it exits by itself
 *	stop = manual		only a person stops it (qmsctl down)
 *	stop = inbox-empty	it stops when the last item has left its
 *				inbox and it is not working
 *	stop = idle DURATION	it stops after DURATION idle, inbox empty
 *
 * DURATION is a whole number of seconds, minutes or hours ("30s", "10m",
 * "2h"), from 1s to 720h.
 */
#ifndef QMSD_POLICY_H
#define QMSD_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "activity.h"

enum policy_start {
	POLICY_START_MANUAL,
	POLICY_START_ON_TASK,
	POLICY_START_ALWAYS,
};

enum policy_stop {
	POLICY_STOP_MANUAL,
	POLICY_STOP_INBOX_EMPTY,
	POLICY_STOP_IDLE,
};

#define POLICY_IDLE_MIN	1000ULL			/* ms: 1s */
#define POLICY_IDLE_MAX	(720ULL * 3600000)	/* ms: 720h, 30 days */

struct policy {
	enum policy_start	 start;
	enum policy_stop	 stop;
	uint64_t		 idle;	/* ms, for POLICY_STOP_IDLE; else 0 */
};

/* The configuration's default: manual and manual. */
#define POLICY_DEFAULT	{ POLICY_START_MANUAL, POLICY_STOP_MANUAL, 0 }

/*
 * "manual", "on-task", "always"; "manual", "inbox-empty", "idle 10m"
 * (blanks around the words are allowed, at least one between idle and
 * its duration).  0, or -1 with err saying why (one printable line,
 * which names the value only when it is printable).
 */
int	 policy_start_parse(const char *, enum policy_start *, char *err,
	    size_t);
int	 policy_stop_parse(const char *, struct policy *, char *err, size_t);
const char *policy_start_name(enum policy_start);
/* The stop policy as it parses back: "manual", "idle 10m"... */
void	 policy_stop_format(const struct policy *, char *, size_t);

/*
 * A run-time override: either part, or both; the other comes from the
 * configuration.  As kept in its file: a line "start=VALUE" and/or a
 * line "stop=VALUE", each at most once, each ending in a newline, and
 * nothing else (an empty text overrides nothing).
 */
#define POLICY_SET_START	0x1
#define POLICY_SET_STOP		0x2
#define POLICY_FILE_MAX		256

struct policy_override {
	unsigned int	 set;	/* POLICY_SET_* */
	struct policy	 p;	/* the parts that are set */
};

int	 policy_file_parse(const char *text, size_t len,
	    struct policy_override *, char *err, size_t);
/* The file's text for an override (free it). */
char	*policy_file_format(const struct policy_override *);
/*
 * One word of qmsctl policy: "start=VALUE" or "stop=VALUE", added to o
 * (a part given twice is an error).  0, or -1 with err.
 */
int	 policy_word_parse(const char *, struct policy_override *, char *err,
	    size_t);
/* The configuration's policy with the override's parts over it. */
void	 policy_effective(const struct policy *conf,
	    const struct policy_override *, struct policy *out);

/*
 * How the agent came to be without a Claude the last time, which
 * decides whether it may come back by itself.
 */
enum policy_down {
	POLICY_DOWN_NONE,	/* qmsd has just started; or a person's up,
				   session or policy change since */
	POLICY_DOWN_SELF,	/* it exited by itself: the container, or
				   Claude in it */
	POLICY_DOWN_POLICY,	/* its stop policy stopped it */
	POLICY_DOWN_PERSON,	/* a person stopped it: qmsctl down */
};

struct policy_input {
	int		 running;	/* its container runs */
	int		 session;	/* its tmux session with Claude exists */
	int		 attached;	/* a person's terminal is attached */
	int		 busy;		/* an up or down is under way */
	enum activity	 act;		/* activity.h */
	uint64_t	 act_since;	/* ms, the caller's clock */
	size_t		 inbox;		/* items in its inbox now */
	int		 inbox_seen;	/* an item was there since it started */
	enum policy_down down;
	uint64_t	 hold_until;	/* no start before (a backoff); 0 */
	uint64_t	 now;
};

enum policy_action {
	POLICY_NONE,
	POLICY_START,	/* its container up if down, then Claude detached
			   in its tmux session */
	POLICY_STOP,	/* its container down */
};

/*
 * What the policy asks for now.  Nothing while busy.  Nothing to start
 * while a session exists, nothing to stop while the container is down.
 *
 * POLICY_START, when there is no session and no start is held off
 * (now >= hold_until; else *next_check is hold_until):
 *	on-task: the inbox holds an item, and a person did not take the
 *	agent down (a person's down holds until a person's up or session,
 *	a policy change or a qmsd restart: the caller sets down back to
 *	POLICY_DOWN_NONE then);
 *	always: as on-task, or down is NONE or SELF (at qmsd start and
 *	after it exits by itself; not after its stop policy stopped it,
 *	which would start it again at once, nor after a person's down).
 *
 * POLICY_STOP, when the container runs, the inbox is empty and no
 * person is attached, and the agent is not working, starting or asking
 * a question (ACT_IDLE, or ACT_NO_SESSION: a container without Claude):
 *	inbox-empty: an item was in the inbox since it started
 *	(inbox_seen; an agent a person brings up with nothing to do is
 *	not stopped at once);
 *	idle DURATION: it has been so since act_since for DURATION; before
 *	that, *next_check is act_since + DURATION.
 *
 * *next_check is 0 when only a change of the input can change the
 * answer: the caller asks again at every change (activity, inbox,
 * container, session) and at *next_check when it is not 0.
 */
enum policy_action policy_decide(const struct policy *,
	    const struct policy_input *, uint64_t *next_check);
/* "none", "start", "stop". */
const char *policy_action_name(enum policy_action);

#endif
