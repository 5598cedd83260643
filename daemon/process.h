/*
 * Spawning children: never through a shell, in a process group of their
 * own, as the run-as user, with /dev/null for input, pipes for output, no
 * inherited descriptors, and the parent-death signal set.  Their exit is
 * seen through a pidfd in the loop, at once and without polling.
 */
#ifndef QMSD_PROCESS_H
#define QMSD_PROCESS_H

#include <sys/types.h>

#include <stddef.h>

#include <event2/event.h>

struct proc;

struct proc_spec {
	char *const	*argv;
	char *const	*env;		/* the whole environment (proc_environ) */
	const char	*workdir;
	const char	*user;		/* switched to when qmsd is root */
	uid_t		 uid;
	gid_t		 gid;
	/* > 0: a Landlock ruleset the child enters before exec (landlock.h) */
	int		 landlock;
};

struct proc_ops {
	/* stream is 1 or 2; called as output arrives. */
	void	(*output)(struct proc *, int stream, const char *, size_t,
		    void *);
	/* After the exit, once what the pipes held has been delivered. */
	void	(*exited)(struct proc *, int status, void *);
};

struct proc	*proc_spawn(struct event_base *, const struct proc_spec *,
		    const struct proc_ops *, void *arg, char *err, size_t);
pid_t		 proc_pid(const struct proc *);
/* Signal the whole group; 0, or -1 once the group is gone. */
int		 proc_kill(struct proc *, int sig);
/* Stop watching; the child, if still running, is killed with its group. */
void		 proc_free(struct proc *);
/* Look the run-as user's groups up again at the next spawn (a reload). */
void		 proc_forget_groups(void);

/*
 * The environment for a child: qmsd's own, less what belongs to qmsd alone
 * (systemd's NOTIFY_SOCKET, WATCHDOG_*, LISTEN_*, JOURNAL_STREAM,
 * INVOCATION_ID), with HOME, USER and LOGNAME of the user, then extra
 * "KEY=VALUE" strings on top.  Free with argv_free.
 */
char		**proc_environ(const char *user, const char *home,
		    char *const *extra);

/* "exit 1", "signal 9 (Killed)" */
void		 proc_status_string(int status, char *, size_t);
/*
 * Raise qmsd's descriptor limit to its hard limit (each egress tunnel
 * holds six); children are given the limit qmsd started with.
 */
void		 proc_raise_nofile(void);

#endif
