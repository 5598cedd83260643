/*
 * qmsd's own link to each agent's tmux session (issue 16): a tmux
 * control-mode client (tmux -C, flags ignore-size and no-output, so that
 * it neither sizes the window nor is sent the screen) on an exec in the
 * agent's container, kept open while the session lives.
 *
 * A link is opened by a headless start (tmux_link_start: the same path as
 * qmsctl session, without a terminal), and adopted for a session found
 * running: when an agent's container is found running (made, started, or
 * adopted when qmsd starts) and when a session's exec begins in it
 * (Docker's exec_start event; tmux may not have made the session yet, so
 * a few attempts follow, further apart each time).  Nothing polls the
 * screen: the link's stream ending (tmux's %exit when the session is
 * killed, the exec ending, the container going) is the session gone.
 *
 * Typing goes through the link as tmux commands, each answered by tmux
 * (%end or %error) within TMUX_LINK_COMMAND_MS, or the link is taken
 * for broken and closed.  The text typed is untrusted: it is one word in
 * tmux's single quotes (tmux-control.h), which tmux takes literally.
 * Every waiter is answered exactly once, also when the link ends.
 */
#ifndef QMSD_TMUX_LINK_H
#define QMSD_TMUX_LINK_H

#include <stddef.h>

#include <event2/event.h>

#define TMUX_LINK_COMMAND_MS	5000
#define TMUX_LINK_ROWS		50	/* a headless window, till a person */
#define TMUX_LINK_COLS		200

struct tmux_link_cb {
	/* A link is up: headless, just started by tmux_link_start (the
	 * command is starting), or 0, a session found running. */
	void	(*linked)(const char *agent, int headless, void *);
	/* The session of an up link is gone. */
	void	(*gone)(const char *agent, void *);
	/* A person's session attached or detached (tmux_link_attached). */
	void	(*persons)(const char *agent, void *);
};

/* After docker_init, agent_init and session_init; cb may be NULL. */
void	 tmux_link_init(struct event_base *, const struct tmux_link_cb *,
	    void *arg);
/* Before session_shutdown: waiters are told; tmux sessions stay. */
void	 tmux_link_shutdown(void);

/* done(arg, NULL) or done(arg, why), exactly once. */
typedef void (*tmux_link_done)(void *, const char *error);

/*
 * Start the agent's command headless: everything a session brings up,
 * then tmux's session "agent" made with the command in it (or joined,
 * if there) and linked.  done once the link is up (maybe before this
 * returns, when it was up already) or with why not.
 */
void	 tmux_link_start(const char *agent, tmux_link_done, void *arg);
/* Link a session running in the agent's container, if there is one. */
void	 tmux_link_adopt(const char *agent);
/*
 * How many persons' sessions (qmsctl session, with --via-docker too) are
 * attached to the agent's tmux session now, as Docker's exec_start and
 * exec_die events tell: a stop policy waits for them to leave.
 */
int	 tmux_link_attached(const char *agent);
/* Whether the agent has a link up (its tmux session is there). */
int	 tmux_link_up(const char *agent);

/*
 * Type one line into the session: a bracketed paste of text (tmux's
 * paste-buffer -p), then Enter, the line cleared first (C-u) when
 * clear; done when tmux has acknowledged all,
 * or with the first error.  -1 with why at once: no link up, text not
 * one printable line (activity_notice_check is the caller's check of
 * what may be typed), or too many waiting.
 */
int	 tmux_link_type(const char *agent, const char *text, int clear,
	    tmux_link_done, void *arg, char *err, size_t errlen);
/* Enter alone (a second Enter submits text left in the prompt). */
int	 tmux_link_enter(const char *agent, tmux_link_done, void *arg,
	    char *err, size_t errlen);
/* The asker arg went away: its waiters are dropped, unanswered. */
void	 tmux_link_cancel(void *arg);

#endif
