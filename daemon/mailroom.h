/*
 * One agent's mail (issue 16): its inbox watched (inbox.h), a
 * notification kept for each item that arrives and for each person's
 * message (deliveries.h, in the state directory, so each goes in once
 * across restarts of qmsd), and the courier (courier.h) typing them into
 * its Claude session through its tmux link (tmux-link.h).
 *
 * An item's notification is the configured text with {item} replaced by
 * the item's name without ".md" (activity_notice_render); an item that leaves the inbox takes its
 * record with it (delivered or not: nothing is typed for work that is
 * gone, and a later item of that name is new work).  Records of items
 * gone while qmsd was down go when the first scan of the inbox is whole.
 *
 * Domain code: what happens is told to the owner's function as one JSON
 * object (an event without its time), and a person's message is answered
 * through its own function once delivered or failed.
 */
#ifndef QMSD_MAILROOM_H
#define QMSD_MAILROOM_H

#include <sys/types.h>

#include <stddef.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "activity.h"

struct mailroom;

/*
 * Something happened: ev is an object with "type" ("inbox": arrived or
 * left, with "count"; "delivery": delivered or failed, with the record)
 * to publish; the owner adds "time" and "agent".  It may be called from
 * within any mailroom_* call but mailroom_close.
 */
typedef void	(*mailroom_event_fn)(void *arg, cJSON *ev);
/* A person's message: delivered (error NULL) or why not. */
typedef void	(*mailroom_done_fn)(void *arg, const char *error);

struct mailroom_conf {
	const char	*agent;
	const char	*root;		/* the repository */
	const char	*inbox;		/* relative to root */
	uid_t		 uid;		/* who makes the inbox when missing */
	gid_t		 gid;
	const char	*state;		/* the deliveries file */
	const char	*notice;	/* with {item}; NULL: ACTIVITY_NOTICE */
};

struct mailroom	*mailroom_open(struct event_base *,
		    const struct mailroom_conf *, mailroom_event_fn, void *arg);
/* Waiting persons are told the agent went. */
void		 mailroom_close(struct mailroom *);

/* What the courier needs to know. */
void	 mailroom_activity(struct mailroom *, enum activity, int fresh);
void	 mailroom_prompt(struct mailroom *, const char *prompt, int longer);
void	 mailroom_linked(struct mailroom *, int up);

/*
 * A person's message, to type as a notification is: -1 with why when
 * the text may not be typed (activity_notice_check) or cannot be kept;
 * else fn (unless NULL) is called once, when it is delivered or failed (or never, if
 * mailroom_cancel(arg) came first).
 */
int	 mailroom_notify(struct mailroom *, const char *text,
	    mailroom_done_fn, void *arg, char *err, size_t);
void	 mailroom_cancel(struct mailroom *, void *arg);

/*
 * Whether the inbox's count is whole (inbox_ready: watched, its scan
 * done; or not watched at all, and so empty): until then nothing should
 * be decided on it.
 */
int	 mailroom_ready(const struct mailroom *);
/* Items in the inbox now. */
size_t	 mailroom_inbox(const struct mailroom *);
/* Add "inbox" (count), "deliveries" (pending, failed, ...) to a row. */
void	 mailroom_ps(const struct mailroom *, cJSON *row);

#endif
