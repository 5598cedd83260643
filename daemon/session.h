/*
 * Sessions: a terminal (or plain pipes) on a command in an agent's
 * container, brokered so that members of the admin group need no docker
 * group.  qmsd brings up what is not running, creates the exec, has
 * docker.c perform the upgraded start with dockerd, and gives the
 * connection to its asker (methods.c hands it to qmsctl with SCM_RIGHTS):
 * the bytes then flow between qmsctl and dockerd, and qmsd is out of the
 * data path.  This file knows nothing of the control protocol.
 */
#ifndef QMSD_SESSION_H
#define QMSD_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include <cjson/cJSON.h>

struct supervisor;

struct session_params {
	const char	*agent;
	int		 tty;
	int		 force;		/* the agent's up may recreate */
	int		 rows, cols;	/* 0: unknown */
	const char	*term;		/* NULL: xterm-256color */
	char		**argv;		/* exec: taken over; NULL: a session */
	uint64_t	 owner;		/* who may resize and ask later */
};

/* What the asker is told; it owns the descriptor once given one. */
struct session_result {
	const char	*exec_id;
	int		 tty;
	const char	*pending;	/* stream bytes read past the headers */
	size_t		 npending;
	double		 seconds;	/* from the ask to the hand-over */
};

struct session_cb {
	/* One step came up, in seconds since the last. */
	void	(*progress)(void *, const char *step, const char *message,
		    double seconds);
	/* The asker left: the session ends at its next step. */
	int	(*gone)(void *);
	/* Once: the error, or the result and its connection (fd). */
	void	(*done)(void *, const char *error,
		    const struct session_result *, int fd);
};

void	 session_init(struct event_base *, struct supervisor *qms_mcp);
void	 session_shutdown(void);
/* Begin; cb->done is called exactly once (maybe before this returns). */
void	 session_start(const struct session_params *,
	    const struct session_cb *, void *arg);

/*
 * What a headless start or a link is answered, once: the connection of
 * an exec without a terminal (write its stdin as it is; its output comes
 * framed, docker-stream.h) and the stream bytes read past dockerd's
 * headers; or why not (fd -1).  The descriptor is the asker's, blocking.
 */
typedef void (*session_stream_done)(void *, const char *error, int fd,
    const char *pending, size_t npending);
/*
 * A session without a terminal (issue 16): the same steps as a session
 * (qms-mcp, the git endpoint, the agent's container up as a session
 * brings it up), then the headless launcher (launch.h) sized rows by
 * cols, a control-mode client on the agent's tmux session.
 */
void	 session_headless(const char *agent, int rows, int cols,
	    session_stream_done, void *arg);
/*
 * A control-mode client on the tmux session already in agent's running
 * container: nothing is brought up; given up after timeout_ms.
 */
void	 session_link(const char *agent, int timeout_ms, session_stream_done,
	    void *arg);

/* The asker of the session begun with arg went away: end it now. */
void	 session_abandon(void *arg);

/* For an exec of owner's: done(arg, error, docker's answer) once. */
typedef void (*session_exec_done)(void *, const char *error,
    const cJSON *json);
/* 0, or -1 with why (unknown exec, or not the owner's). */
int	 session_exec_resize(const char *exec_id, uint64_t owner, int rows,
	    int cols, session_exec_done, void *arg, char *err, size_t errlen);
/*
 * The asker of owner's exec (a terminal's) left: dockerd keeps a TTY
 * exec's process running when its connection closes, so it is hung up
 * (SIGHUP, as a terminal closing would): found by docker's answer, and
 * signalled only if it is in the exec's container.  tmux's client
 * detaches on it; the session in tmux goes on.
 */
void	 session_exec_hangup(const char *exec_id, uint64_t owner);
int	 session_exec_inspect(const char *exec_id, uint64_t owner,
	    session_exec_done, void *arg, char *err, size_t errlen);

#endif
