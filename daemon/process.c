#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "argv.h"
#include "landlock.h"
#include "log.h"
#include "process.h"
#include "util.h"

extern char **environ;

struct proc {
	pid_t			 pid;
	int			 pidfd;
	int			 out[3];	/* [1], [2]: our read ends */
	struct event		*exit_ev;
	struct event		*out_ev[3];
	const struct proc_ops	*ops;
	void			*arg;
	int			 reaped;
};

/* What the child writes to the error pipe when it cannot exec. */
struct spawn_failure {
	int	step;
	int	err;
};

enum {
	STEP_SETSID, STEP_PDEATHSIG, STEP_DUP, STEP_GROUPS, STEP_SETGID,
	STEP_SETUID, STEP_CHDIR, STEP_EXEC, STEP_LANDLOCK,
};

static const char *const step_names[] = {
	"setsid", "prctl", "dup2", "setgroups", "setgid", "setuid",
	"chdir", "exec", "landlock",
};

static const char *const private_env[] = {
	"NOTIFY_SOCKET=", "WATCHDOG_PID=", "WATCHDOG_USEC=", "LISTEN_FDS=",
	"LISTEN_PID=", "LISTEN_FDNAMES=", "JOURNAL_STREAM=", "INVOCATION_ID=",
	"HOME=", "USER=", "LOGNAME=",
};

static int
env_private(const char *kv)
{
	size_t	i;

	for (i = 0; i < nitems(private_env); i++)
		if (strncmp(kv, private_env[i], strlen(private_env[i])) == 0)
			return (1);
	return (0);
}

/* An extra KEY=VALUE replaces the same KEY from the base. */
static int
env_overridden(const char *kv, char *const *extra)
{
	size_t	n = strcspn(kv, "=");

	for (; extra != NULL && *extra != NULL; extra++)
		if (strncmp(*extra, kv, n + 1) == 0)
			return (1);
	return (0);
}

char **
proc_environ(const char *user, const char *home, char *const *extra)
{
	char	**env;
	size_t	  n = 0, i;

	n = argv_count(environ) + argv_count(extra) + 4;
	env = xcalloc(n, sizeof(*env));
	n = 0;
	for (i = 0; environ[i] != NULL; i++)
		if (!env_private(environ[i]) &&
		    !env_overridden(environ[i], extra))
			env[n++] = xstrdup(environ[i]);
	if (home != NULL)
		xasprintf(&env[n++], "HOME=%s", home);
	if (user != NULL) {
		xasprintf(&env[n++], "USER=%s", user);
		xasprintf(&env[n++], "LOGNAME=%s", user);
	}
	for (; extra != NULL && *extra != NULL; extra++)
		env[n++] = xstrdup(*extra);
	env[n] = NULL;
	return (env);
}

/* The descriptor limit qmsd was started with, which children get back. */
static struct rlimit	proc_nofile;
static int		proc_nofile_saved;

void
proc_raise_nofile(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	proc_nofile = rl;
	proc_nofile_saved = 1;
	if (rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max > (1 << 20) ? (1 << 20) : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		log_warn("setrlimit RLIMIT_NOFILE");
}

void
proc_status_string(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exit %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "signal %d (%s)", WTERMSIG(status),
		    strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "status %d", status);
}

static void __attribute__((noreturn))
child_fail(int fd, int step)
{
	struct spawn_failure	f = { step, errno };
	ssize_t			n;

	n = write(fd, &f, sizeof(f));
	(void)n;
	_exit(127);
}

/* What the parent prepares, so that the child only makes system calls. */
struct spawn_plan {
	const struct proc_spec	*spec;
	char			**paths;	/* where argv[0] may be */
	const gid_t		*groups;
	int			 ngroups;	/* -1: no change of user */
	int			 devnull, out, errout, failfd;
	pid_t			 parent;
};

/*
 * In the child of vfork(), between it and exec: it shares qmsd's memory,
 * and qmsd waits until it has exec'd or exited.  So nothing here writes
 * memory qmsd uses (but errno) or allocates: system calls only, on what
 * the plan holds.  Signals were blocked before vfork, so no handler of
 * qmsd's runs here; they go back to their defaults before the mask does.
 */
static void __attribute__((noreturn))
child(const struct spawn_plan *sp)
{
	const struct proc_spec	*spec = sp->spec;
	struct sigaction	 dfl;
	sigset_t		 none;
	int			 sig, failfd = sp->failfd, saved;
	size_t			 i;

	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	if (setsid() == -1)
		child_fail(failfd, STEP_SETSID);
	if (dup2(sp->devnull, 0) == -1 || dup2(sp->out, 1) == -1 ||
	    dup2(sp->errout, 2) == -1)
		child_fail(failfd, STEP_DUP);
	/*
	 * Confined before the descriptors go, the ruleset's among them: two
	 * system calls on what the parent built (landlock_enter).  Ids and
	 * the working directory change as before: Landlock does not govern
	 * them.
	 */
	if (spec->landlock > 0 && landlock_enter(spec->landlock) == -1)
		child_fail(failfd, STEP_LANDLOCK);
	/* Nothing of qmsd's but the error pipe, which closes on exec. */
	if (failfd > 3)
		syscall(SYS_close_range, 3, failfd - 1, 0);
	syscall(SYS_close_range, failfd + 1, ~0U, 0);
	/* select() in a child breaks past 1024 descriptors: its limit back. */
	if (proc_nofile_saved)
		setrlimit(RLIMIT_NOFILE, &proc_nofile);

	/*
	 * The system calls, not libc's wrappers: those would signal every
	 * other thread of the process to change its ids too, and a vfork
	 * child would do it to qmsd's threads (a resolver's, say).
	 */
	if (sp->ngroups >= 0) {
		if (syscall(SYS_setgroups, (size_t)sp->ngroups,
		    sp->groups) == -1)
			child_fail(failfd, STEP_GROUPS);
		if (syscall(SYS_setgid, spec->gid) == -1)
			child_fail(failfd, STEP_SETGID);
		if (syscall(SYS_setuid, spec->uid) == -1)
			child_fail(failfd, STEP_SETUID);
	}
	/*
	 * Never outlive qmsd, even when it is SIGKILLed.  After the uid
	 * change, which clears the parent-death signal; and qmsd may have
	 * died already, so look.
	 */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1)
		child_fail(failfd, STEP_PDEATHSIG);
	if (getppid() != sp->parent)
		_exit(127);
	if (spec->workdir != NULL && chdir(spec->workdir) == -1)
		child_fail(failfd, STEP_CHDIR);
	/* As execvp: the first that runs; EACCES if one was refused. */
	saved = ENOENT;
	for (i = 0; sp->paths[i] != NULL; i++) {
		execve(sp->paths[i], spec->argv, spec->env);
		if (errno == EACCES)
			saved = EACCES;
		else if (errno != ENOENT && errno != ENOTDIR) {
			saved = errno;
			break;
		}
	}
	errno = saved;
	child_fail(failfd, STEP_EXEC);
}

/*
 * Where execvp would look for argv[0], in the PATH of the child's
 * environment rather than qmsd's; the child tries them in turn, as its
 * own user.  Free with argv_free.
 */
static char **
program_paths(const char *name, char *const *env)
{
	const char	*path = "/usr/local/bin:/usr/bin:/bin", *p, *end;
	char		**paths;
	size_t		 n = 0;

	if (strchr(name, '/') != NULL) {
		paths = xcalloc(2, sizeof(*paths));
		paths[0] = xstrdup(name);
		return (paths);
	}
	for (; env != NULL && *env != NULL; env++)
		if (strncmp(*env, "PATH=", 5) == 0)
			path = *env + 5;
	paths = xcalloc(strlen(path) + 2, sizeof(*paths));
	for (p = path; ; p = end + 1) {
		end = strchr(p, ':');
		if (end == NULL)
			end = p + strlen(p);
		/* An empty entry is the current directory, as for execvp. */
		xasprintf(&paths[n++], "%.*s%s%s", (int)(end - p), p,
		    end > p ? "/" : "", name);
		if (*end == '\0')
			break;
	}
	return (paths);
}

static void
read_output(struct proc *p, int stream)
{
	char	buf[16384];
	ssize_t	n;

	while (p->out[stream] != -1) {
		n = read(p->out[stream], buf, sizeof(buf));
		if (n > 0) {
			if (p->ops->output != NULL)
				p->ops->output(p, stream, buf, (size_t)n,
				    p->arg);
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		event_free(p->out_ev[stream]);
		p->out_ev[stream] = NULL;
		close(p->out[stream]);
		p->out[stream] = -1;
	}
}

static void
proc_on_output(evutil_socket_t fd, short ev, void *arg)
{
	struct proc	*p = arg;

	read_output(p, fd == p->out[1] ? 1 : 2);
}

static void
on_exit_ready(evutil_socket_t fd, short ev, void *arg)
{
	struct proc	*p = arg;
	int		 status;
	pid_t		 r;

	/*
	 * Leftovers of the group (daemonised helpers) go with the leader,
	 * before it is reaped: until then its pid, and so the group's, cannot
	 * be anyone else's.
	 */
	kill(-p->pid, SIGKILL);
	do
		r = waitpid(p->pid, &status, WNOHANG);
	while (r == -1 && errno == EINTR);
	if (r == 0)
		return;		/* spurious */
	if (r == -1) {
		log_warn("waitpid %d", (int)p->pid);
		status = 0;
	}
	p->reaped = 1;
	event_del(p->exit_ev);
	/* Deliver what the child wrote before it went. */
	read_output(p, 1);
	read_output(p, 2);
	p->ops->exited(p, status, p->arg);
}

static int
pidfd_open(pid_t pid)
{
	return ((int)syscall(SYS_pidfd_open, pid, 0));
}

/*
 * The run-as user's groups, as initgroups would set them: looked up once
 * (the group database may be a network service, and this is the loop),
 * again when the user changes or after proc_forget_groups() at a reload.
 */
static char	*groups_user;
static gid_t	 groups_gid, *groups_list;
static int	 groups_n;

static int
user_groups(const char *user, gid_t gid, const gid_t **list)
{
	if (groups_user == NULL || strcmp(groups_user, user) != 0 ||
	    groups_gid != gid) {
		proc_forget_groups();
		/* On -1, groups_n says how many there are. */
		groups_n = 32;
		do {
			free(groups_list);
			groups_list = xcalloc((size_t)groups_n + 1,
			    sizeof(*groups_list));
		} while (getgrouplist(user, gid, groups_list,
		    &groups_n) == -1);
		groups_user = xstrdup(user);
		groups_gid = gid;
	}
	*list = groups_list;
	return (groups_n);
}

void
proc_forget_groups(void)
{
	free(groups_user);
	free(groups_list);
	groups_user = NULL;
	groups_list = NULL;
}

/*
 * vfork: the child borrows qmsd's memory instead of copying its page
 * tables, and qmsd resumes once it has exec'd or failed, so the error
 * pipe is ready to read at once.  fork() cost 0.8 ms of qmsd's time per
 * git call (tests/bench/analysis.md).
 */
struct proc *
proc_spawn(struct event_base *base, const struct proc_spec *spec,
    const struct proc_ops *ops, void *arg, char *err, size_t errlen)
{
	struct spawn_plan	 sp;
	struct spawn_failure	 f;
	struct proc		*p;
	sigset_t		 all, saved;
	int			 outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
	int			 failp[2] = { -1, -1 }, devnull, status;
	pid_t			 pid;
	ssize_t			 n;

	memset(&sp, 0, sizeof(sp));
	sp.spec = spec;
	sp.paths = program_paths(spec->argv[0], spec->env);
	sp.parent = getpid();
	sp.ngroups = -1;
	if (geteuid() == 0 && (spec->uid != 0 || spec->gid != 0))
		sp.ngroups = user_groups(spec->user, spec->gid, &sp.groups);
	devnull = -1;
	if ((devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "/dev/null: %s", strerror(errno));
		goto fail;
	}
	if (pipe2(outp, O_CLOEXEC) == -1 || pipe2(errp, O_CLOEXEC) == -1 ||
	    pipe2(failp, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto fail;
	}
	sp.devnull = devnull;
	sp.out = outp[1];
	sp.errout = errp[1];
	sp.failfd = failp[1];

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &saved);
	pid = vfork();
	if (pid == 0)
		child(&sp);
	n = errno;
	sigprocmask(SIG_SETMASK, &saved, NULL);
	if (pid == -1) {
		snprintf(err, errlen, "vfork: %s", strerror((int)n));
		goto fail;
	}

	close(devnull);
	close(outp[1]);
	close(errp[1]);
	close(failp[1]);
	devnull = outp[1] = errp[1] = failp[1] = -1;

	/* The child has exec'd (the pipe closed) or written why not. */
	do
		n = read(failp[0], &f, sizeof(f));
	while (n == -1 && errno == EINTR);
	close(failp[0]);
	failp[0] = -1;
	if (n == (ssize_t)sizeof(f)) {
		waitpid(pid, &status, 0);
		snprintf(err, errlen, "%s %s: %s", step_names[f.step],
		    f.step == STEP_CHDIR ? spec->workdir : spec->argv[0],
		    strerror(f.err));
		goto fail;
	}
	argv_free(sp.paths);

	p = xcalloc(1, sizeof(*p));
	p->pid = pid;
	p->ops = ops;
	p->arg = arg;
	p->out[0] = -1;
	p->out[1] = outp[0];
	p->out[2] = errp[0];
	if ((p->pidfd = pidfd_open(pid)) == -1)
		fatal("pidfd_open");
	fcntl(p->pidfd, F_SETFD, FD_CLOEXEC);
	fcntl(p->out[1], F_SETFL, O_NONBLOCK);
	fcntl(p->out[2], F_SETFL, O_NONBLOCK);
	p->exit_ev = event_new(base, p->pidfd, EV_READ | EV_PERSIST,
	    on_exit_ready, p);
	p->out_ev[1] = event_new(base, p->out[1], EV_READ | EV_PERSIST,
	    proc_on_output, p);
	p->out_ev[2] = event_new(base, p->out[2], EV_READ | EV_PERSIST,
	    proc_on_output, p);
	event_add(p->exit_ev, NULL);
	event_add(p->out_ev[1], NULL);
	event_add(p->out_ev[2], NULL);
	return (p);

fail:
	argv_free(sp.paths);
	if (devnull != -1)
		close(devnull);
	for (n = 0; n < 2; n++) {
		if (outp[n] != -1)
			close(outp[n]);
		if (errp[n] != -1)
			close(errp[n]);
		if (failp[n] != -1)
			close(failp[n]);
	}
	return (NULL);
}

pid_t
proc_pid(const struct proc *p)
{
	return (p->pid);
}

int
proc_kill(struct proc *p, int sig)
{
	if (p->reaped)
		return (-1);
	return (kill(-p->pid, sig));
}

void
proc_free(struct proc *p)
{
	int	i, status;

	if (p == NULL)
		return;
	if (!p->reaped) {
		kill(-p->pid, SIGKILL);
		while (waitpid(p->pid, &status, 0) == -1 && errno == EINTR)
			;
	}
	for (i = 1; i <= 2; i++) {
		if (p->out_ev[i] != NULL)
			event_free(p->out_ev[i]);
		if (p->out[i] != -1)
			close(p->out[i]);
	}
	event_free(p->exit_ev);
	close(p->pidfd);
	free(p);
}
