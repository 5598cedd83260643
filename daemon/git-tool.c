#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "argv.h"
#include "audit-log.h"
#include "component.h"
#include "config.h"
#include "git-policy.h"
#include "git-tool.h"
#include "http.h"
#include "landlock.h"
#include "log.h"
#include "logring.h"
#include "mask.h"
#include "mcp.h"
#include "process.h"
#include "safe-path.h"
#include "util.h"

#define GIT_AUDIT_LINES		1000

struct git_call {
	struct mcp_call		*mcall;
	char			*caller;
	char			*command;
	struct git_verdict	 verdict;
	size_t			 seg;		/* vector running */
	struct proc		*proc;
	char			*out[3];	/* [1] stdout, [2] stderr */
	size_t			 len[3];
	size_t			 total;
	int			 truncated;
	int			 exit_code;
	int			 timed_out;
	int			 queued;	/* QUEUED_*: not run yet */
	struct audit_wait	*aw;		/* QUEUED_RECORDING */
	int			 gitdir;	/* .git, for its index.lock */
	int			 lock_state;	/* LOCK_* */
	struct stat		 lock_st;	/* the lock seen at the deadline */
	uint64_t		 started;
	struct event		*deadline;
	int			 probed;	/* verdict.probe[seg] ran */
	int			 nested;	/* it found a repository */
	const char		*pwhy;		/* why it refuses the chain */
	char			 pname[4096];	/* the record being read */
	size_t			 plen;		/* its whole length */
	char			 plast;		/* its last byte */
	int			 pskip;		/* the next is a rename's source */
	char			**env;		/* an agent's, or NULL: g_env */
	TAILQ_ENTRY(git_call)	 entry;
};

/*
 * An agent's own masks (mask = PATH) and push-refs, kept from the
 * configuration, and what its git runs with besides g_env: the committer
 * (and author) it is, and the configuration that places its trailer.
 */
struct git_agent {
	char			*name;
	char			**masks;
	char			**push_refs;
	char			**ident;	/* GIT_COMMITTER_NAME=..., ... */
	char			**env;		/* g_env, ident, the trailer's */
};

/*
 * The configuration an agent's QMS-Agent trailer is added with
 * (git-policy.h): last, in place of one the message has, and always.
 * Command-line scope, after the fixed keys of g_env: no file overrides it.
 */
static const char *const trailer_config[][2] = {
	{ "trailer." GIT_POLICY_TRAILER ".where", "end" },
	{ "trailer." GIT_POLICY_TRAILER ".ifexists", "replace" },
	{ "trailer." GIT_POLICY_TRAILER ".ifmissing", "add" },
};
/* The GIT_CONFIG_KEY_N of g_env (git_tool_configure) come first. */
#define GIT_CONFIG_FIXED	15
#define STR_(x)			#x
#define STR(x)			STR_(x)

static TAILQ_HEAD(, git_call) waiting = TAILQ_HEAD_INITIALIZER(waiting);
static TAILQ_HEAD(, git_call) running = TAILQ_HEAD_INITIALIZER(running);
/* Calls that came before the protected paths were known: checked then. */
static TAILQ_HEAD(, git_call) unread = TAILQ_HEAD_INITIALIZER(unread);
/* Allowed, and waiting for that to be on disk (audit-log.h). */
static TAILQ_HEAD(, git_call) recording =
    TAILQ_HEAD_INITIALIZER(recording);
/* Where a call that has not run yet waits. */
#define QUEUED_NOT	0
#define QUEUED_WAITING	1	/* for a place among max-concurrent */
#define QUEUED_UNREAD	2	/* for the protected list from HEAD */
#define QUEUED_RECORDING 3	/* for its record to be on disk */
static size_t		 nrunning;

static struct event_base *g_base;
static struct component	*g_comp;
static struct logring	*g_audit;
/* Copies of the configuration, which a reload frees. */
static char		*g_root, *g_user;
static uid_t		 g_uid;
static gid_t		 g_gid;
static char		**g_env;
static char		**g_remotes, **g_protected;
static int		 g_allow_no_verify;
static struct git_agent	 g_agents[CONFIG_MAX_AGENTS];
static size_t		 g_nagents;
/* The submodule paths of HEAD:.gitmodules, read once per configuration. */
static struct proc	*g_gm_proc;
static char		*g_gm_out;
static size_t		 g_gm_len;
static char		**g_gm_paths;	/* NULL until read */
static uint64_t		 g_timeout, g_max_output;
static long long	 g_max_concurrent;
static unsigned long	 g_calls, g_denied, g_failed;
/* git's Landlock ruleset (-1: unconfined), and what status says of it. */
static int		 g_landlock = -1;
static char		 g_confined[400];

static void	git_exec_call(struct mcp_call *, const cJSON *, void *);
static void	run_next(struct git_call *);
static void	dispatch(struct git_call *);

static const struct mcp_tool git_tools[] = { {
	.name = "git_exec",
	.description =
	    "Run git commands on the host repository (the container's copy "
	    "is read-only).  Give the command as you would type it, with or "
	    "without the leading 'git'; chain several with && (they stop at "
	    "the first failure).  Quote with single or double quotes; nothing "
	    "is expanded and no other shell syntax (; | > $ `) is accepted.  "
	    "Allowed: reading (status, log, show, diff, blame, grep, ...) and "
	    "ordinary work (add, commit, branch, checkout/switch to a branch, "
	    "restore --staged, stash, merge, rebase, cherry-pick, revert, tag, "
	    "fetch, pull, push to the configured remotes).  Refused, with "
	    "'Denied: ...' naming the rule: force pushes and remote deletes, "
	    "anything that discards uncommitted work or history (reset "
	    "--hard, clean, checkout of paths, branch -D, ...), config "
	    "writes, submodule commands, running other programs, paths "
	    "outside the repository, and changes to protected paths "
	    "(submodules).  Output: stdout, then stderr; a failure starts "
	    "with [Exit code: N].",
	.input_schema = "{\"type\":\"object\",\"properties\":{\"command\":"
	    "{\"type\":\"string\",\"description\":\"git command line, e.g. "
	    "\\\"status\\\" or \\\"add x && commit -m 'msg'\\\"\"}},"
	    "\"required\":[\"command\"]}",
	.call = git_exec_call,
} };

static const struct mcp_server git_server = {
	.name = "git",
	.instructions = "Use git_exec for git: the repository in this "
	    "container is mounted read-only.",
	.tools = git_tools,
	.ntools = 1,
};

static void
git_publish(void)
{
	/* Unconfined, or confined with a hole, is a warning. */
	component_set(g_comp, "ready", g_landlock == -1 ||
	    strstr(g_confined, "warning") != NULL ? HEALTH_WARNING : HEALTH_OK,
	    "/git/mcp: %lu calls, %lu denied, %lu failed, %zu running; %s",
	    g_calls, g_denied, g_failed, nrunning, g_confined);
}

/*
 * The ruleset git runs under, built once per configuration (the child
 * only enters it).  Without Landlock git still runs, and status says so.
 */
static void
confine(const struct config *conf, const char *home)
{
	char	err[300], warn[300];
	int	abi;

	if (g_landlock != -1)
		close(g_landlock);
	g_landlock = landlock_git(conf->project_root, home, conf->state_dir,
	    err, sizeof(err), warn, sizeof(warn));
	if (g_landlock == -1) {
		snprintf(g_confined, sizeof(g_confined), "git runs unconfined: "
		    "Landlock unavailable (%s)", err);
		log_warnx("git: %s", g_confined);
		return;
	}
	abi = landlock_abi(err, sizeof(err));
	snprintf(g_confined, sizeof(g_confined), "confined (landlock ABI "
	    "%d)%s%s", abi, warn[0] ? "; warning: " : "", warn);
	if (warn[0])
		log_warnx("git: %s", warn);
	if (g_comp != NULL)
		git_publish();
}

/*
 * The protected paths: the submodules of HEAD:.gitmodules as qmsd found
 * them when it started or last reloaded, plus [git] protected-paths, plus
 * .gitmodules itself.  Never the work tree's .gitmodules: an agent could
 * delete it (git rm .gitmodules), and its submodules with it.
 */
static void
gm_output(struct proc *p, int stream, const char *buf, size_t len,
    void *arg)
{
	if (stream != 1 || g_gm_len + len > 64 * 1024)
		return;
	if ((g_gm_out = realloc(g_gm_out, g_gm_len + len + 1)) == NULL)
		fatal("realloc");
	memcpy(g_gm_out + g_gm_len, buf, len);
	g_gm_len += len;
	g_gm_out[g_gm_len] = '\0';
}

/* "submodule.NAME.path PATH" lines, as git config --get-regexp gives. */
static void
gm_exited(struct proc *p, int status, void *arg)
{
	struct git_call	*c;
	char		*line, *next, *v;
	size_t		 n = 0;

	proc_free(g_gm_proc);
	g_gm_proc = NULL;
	argv_free(g_gm_paths);
	g_gm_paths = xcalloc(65, sizeof(*g_gm_paths));
	/* 1: no submodule.*.path; 128: no HEAD, or no .gitmodules in it. */
	if (!WIFEXITED(status) || (WEXITSTATUS(status) != 0 &&
	    WEXITSTATUS(status) != 1))
		log_info("git: no .gitmodules at HEAD in %s: no submodule "
		    "paths protected", g_root);
	for (line = g_gm_out; WIFEXITED(status) && WEXITSTATUS(status) ==
	    0 && line != NULL && *line != '\0' && n < 64; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if ((v = strchr(line, ' ')) != NULL && v[1] != '\0')
			g_gm_paths[n++] = xstrdup(v + 1);
	}
	free(g_gm_out);
	g_gm_out = NULL;
	g_gm_len = 0;
	while ((c = TAILQ_FIRST(&unread)) != NULL) {
		TAILQ_REMOVE(&unread, c, entry);
		c->queued = QUEUED_NOT;
		dispatch(c);
	}
	git_publish();
}

static const struct proc_ops gm_ops = {
	.output = gm_output,
	.exited = gm_exited,
};

static void
gm_read(void)
{
	struct proc_spec	 spec;
	char			*argv[] = { "git", "config", "--blob",
				    "HEAD:.gitmodules", "--get-regexp",
				    "^submodule\\..*\\.path$", NULL };
	char			 err[256];

	proc_free(g_gm_proc);
	free(g_gm_out);
	g_gm_out = NULL;
	g_gm_len = 0;
	argv_free(g_gm_paths);
	g_gm_paths = NULL;
	memset(&spec, 0, sizeof(spec));
	spec.argv = argv;
	spec.env = g_env;
	spec.workdir = g_root;
	spec.user = g_user;
	spec.uid = g_uid;
	spec.gid = g_gid;
	if ((g_gm_proc = proc_spawn(g_base, &spec, &gm_ops, NULL, err,
	    sizeof(err))) == NULL) {
		log_warnx("git: cannot read HEAD:.gitmodules: %s", err);
		g_gm_paths = xcalloc(1, sizeof(*g_gm_paths));
	}
}

static const struct git_agent *
find_agent(const char *name)
{
	size_t	i;

	for (i = 0; i < g_nagents; i++)
		if (strcmp(g_agents[i].name, name) == 0)
			return &g_agents[i];
	return NULL;
}

/* More entries in .claude/users than this: an agent's call that stages
 * files is refused rather than leaving one of them unexcluded. */
#define GIT_MAX_USERS	1024

/*
 * The entries of .claude/users as they are now, for the excludes of an
 * agent's call (mask.h): read through safe-path, so that a link or a FIFO
 * planted there is neither followed nor waited on.  NULL with why.
 */
static char **
list_users(char *why, size_t len)
{
	struct dirent	*e;
	DIR		*d;
	char		**v;
	size_t		 n = 0;
	int		 root, fd;

	v = xcalloc(GIT_MAX_USERS + 1, sizeof(*v));
	if ((root = safe_dir(g_root)) == -1) {
		snprintf(why, len, "%s: %s", g_root, safe_strerror(errno));
		free(v);
		return (NULL);
	}
	fd = safe_open(root, ".claude/users", O_RDONLY | O_DIRECTORY);
	close(root);
	if (fd == -1) {
		if (errno == ENOENT)
			return (v);
		snprintf(why, len, ".claude/users: %s", safe_strerror(errno));
		free(v);
		return (NULL);
	}
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		snprintf(why, len, ".claude/users: %s", strerror(errno));
		free(v);
		return (NULL);
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (n == GIT_MAX_USERS) {
			snprintf(why, len, "more than %d entries in "
			    ".claude/users", GIT_MAX_USERS);
			closedir(d);
			argv_free(v);
			return (NULL);
		}
		v[n++] = xstrdup(e->d_name);
	}
	closedir(d);
	return (v);
}

/* caller: the token's identity; "host" (or NULL) is the owner. */
/* A refusal of qmsd's own, before the policy: rule, and why as the
 * policy writes it ("Denied: ... (rule: RULE)"). */
static int
deny(struct git_verdict *v, const char *rule, const char *why)
{
	memset(v, 0, sizeof(*v));
	v->rule = rule;
	snprintf(v->reason, sizeof(v->reason), "Denied: %s (rule: %s)", why,
	    rule);
	return (-1);
}

static int
check(const char *caller, const char *command, size_t len,
    struct git_verdict *v)
{
	struct git_policy	 pol;
	const struct git_agent	*a = NULL;
	char			**prot, **users = NULL, why[300];
	size_t			 n = 0, i;
	int			 rc;

	if (g_gm_paths == NULL) {
		/* Never allowed on a guess: refused until it is known. */
		return (deny(v, "policy-config", "qmsd is still reading the "
		    "protected paths from HEAD:.gitmodules; try again in a "
		    "moment"));
	}
	prot = xcalloc(argv_count(g_protected) + argv_count(g_gm_paths) + 2,
	    sizeof(*prot));
	prot[n++] = ".gitmodules";
	for (i = 0; g_gm_paths[i] != NULL; i++)
		prot[n++] = g_gm_paths[i];
	for (i = 0; g_protected != NULL && g_protected[i] != NULL; i++)
		prot[n++] = g_protected[i];
	memset(&pol, 0, sizeof(pol));
	pol.root = g_root;
	pol.remotes = (const char *const *)g_remotes;
	pol.nremotes = argv_count(g_remotes);
	pol.protected_paths = (const char *const *)prot;
	pol.nprotected = n;
	pol.allow_no_verify = g_allow_no_verify;
	if (caller != NULL && strcmp(caller, "host") != 0) {
		pol.agent = caller;
		/* Its commits must say who it is: not on a guess either. */
		if ((a = find_agent(caller)) == NULL) {
			free(prot);
			snprintf(why, sizeof(why), "agent %.64s is not in the "
			    "configuration", caller);
			return (deny(v, "policy-config", why));
		}
		pol.masks = (const char *const *)a->masks;
		pol.push_refs = (const char *const *)a->push_refs;
		if ((users = list_users(why, sizeof(why))) == NULL) {
			char	msg[400];

			free(prot);
			snprintf(msg, sizeof(msg), "cannot tell the other "
			    "agents' directories apart: %s", why);
			return (deny(v, "masked-path", msg));
		}
		pol.users = (const char *const *)users;
	}
	rc = git_policy_checkn(&pol, command, len, v);
	argv_free(users);
	free(prot);
	return (rc);
}

cJSON *
git_tool_check(const char *command, const char *agent)
{
	struct git_verdict	 v;
	const struct git_agent	*a = NULL;
	cJSON			*o, *list, *vec;
	size_t			 i, j;
	char			*kv;

	if (agent != NULL && (a = find_agent(agent)) == NULL)
		return (NULL);
	memset(&v, 0, sizeof(v));
	o = cJSON_CreateObject();
	if (check(agent, command, strlen(command), &v) == 0) {
		cJSON_AddTrueToObject(o, "allowed");
		list = cJSON_AddArrayToObject(o, "argv");
		for (i = 0; i < v.nargv; i++) {
			vec = cJSON_CreateArray();
			for (j = 0; v.argv[i][j] != NULL; j++)
				cJSON_AddItemToArray(vec,
				    cJSON_CreateString(v.argv[i][j]));
			cJSON_AddItemToArray(list, vec);
		}
		/* What the agent's git runs with besides the common. */
		if (a != NULL) {
			list = cJSON_AddArrayToObject(o, "env");
			for (i = 0; a->ident[i] != NULL; i++)
				cJSON_AddItemToArray(list,
				    cJSON_CreateString(a->ident[i]));
			list = cJSON_AddArrayToObject(o, "config");
			for (i = 0; i < nitems(trailer_config); i++) {
				xasprintf(&kv, "%s=%s", trailer_config[i][0],
				    trailer_config[i][1]);
				cJSON_AddItemToArray(list,
				    cJSON_CreateString(kv));
				free(kv);
			}
		}
	} else {
		cJSON_AddFalseToObject(o, "allowed");
		cJSON_AddStringToObject(o, "rule", v.rule != NULL ? v.rule :
		    "");
		cJSON_AddStringToObject(o, "reason", v.reason);
	}
	git_verdict_free(&v);
	return (o);
}

/*
 * The command as one printable line: a newline inside quotes must not make
 * a second, forged record in the log.
 */
static void
printable(const char *in, char *out, size_t len)
{
	size_t	o = 0;

	for (; *in != '\0' && o + 5 < len; in++) {
		unsigned char ch = (unsigned char)*in;

		if (ch == '\n')
			o += (size_t)snprintf(out + o, len - o, "\\n");
		else if (ch < 0x20 || ch == 0x7f)
			o += (size_t)snprintf(out + o, len - o, "\\x%02x", ch);
		else if (ch == '\\')
			o += (size_t)snprintf(out + o, len - o, "\\\\");
		else
			out[o++] = (char)ch;
	}
	out[o] = '\0';
}

/* A call's answer, held until its record is on disk (audit-log.h). */
struct held_answer {
	struct mcp_call		*mcall;
	char			*text;
	int			 failed;
	struct audit_wait	*wait;
	TAILQ_ENTRY(held_answer) entry;
};
/* Answered at shutdown: a suspended request must not outlive the loop. */
static TAILQ_HEAD(, held_answer) held = TAILQ_HEAD_INITIALIZER(held);

static void
held_free(struct held_answer *h)
{
	TAILQ_REMOVE(&held, h, entry);
	free(h->text);
	free(h);
}

/* The client left meanwhile: the record goes, the answer nowhere. */
static void
held_gone(void *arg)
{
	struct held_answer	*h = arg;

	audit_forget(h->wait);
	mcp_call_done(h->mcall, "", 1);
	held_free(h);
}

static void
held_durable(void *arg, const char *error)
{
	struct held_answer	*h = arg;
	char			*text;

	if (error != NULL) {
		/* What ran stands; what it said is not given out unrecorded. */
		xasprintf(&text, "[Exit code: -1]\nqmsd could not record "
		    "this call: %s", error);
		mcp_call_done(h->mcall, text, 1);
		free(text);
	} else
		mcp_call_done(h->mcall, h->text, h->failed);
	held_free(h);
}

/* A call's record in the audit log. */
static cJSON *
call_fields(struct git_call *c, const char *verdict, const char *rule,
    const char *outcome, size_t bytes)
{
	char	 cmd[512];
	cJSON	*o = cJSON_CreateObject();

	printable(c->command, cmd, sizeof(cmd));
	if (strcmp(c->caller, "host") != 0)
		cJSON_AddStringToObject(o, "agent", c->caller);
	cJSON_AddStringToObject(o, "caller", c->caller);
	cJSON_AddStringToObject(o, "verdict", verdict);
	cJSON_AddStringToObject(o, "rule", rule);
	cJSON_AddStringToObject(o, "command", cmd);
	cJSON_AddStringToObject(o, "outcome", outcome);
	cJSON_AddNumberToObject(o, "ms", (double)(now_ms() - c->started));
	cJSON_AddNumberToObject(o, "bytes", (double)bytes);
	return (o);
}

/*
 * One record per call: to the journal (fields), to `qmsctl logs git`, and
 * to the audit log, whose writing holds the answer, text (NULL: the
 * client left, nothing to answer).  The call's mcall is answered here.
 */
static void
audit(struct git_call *c, const char *verdict, const char *rule,
    const char *outcome, size_t bytes, const char *text, int failed)
{
	char			 f[7][600], line[1024], cmd[512];
	const char		*fields[8];
	uint64_t		 ms = now_ms() - c->started;
	struct held_answer	*h;
	cJSON			*o;
	int			 i;

	snprintf(f[0], sizeof(f[0]), "QMSD_CALLER=%s", c->caller);
	snprintf(f[1], sizeof(f[1]), "QMSD_VERDICT=%s", verdict);
	snprintf(f[2], sizeof(f[2]), "QMSD_RULE=%s", rule);
	snprintf(f[3], sizeof(f[3]), "QMSD_OUTCOME=%s", outcome);
	snprintf(f[4], sizeof(f[4]), "QMSD_DURATION_MS=%llu",
	    (unsigned long long)ms);
	snprintf(f[5], sizeof(f[5]), "QMSD_OUTPUT_BYTES=%zu", bytes);
	printable(c->command, cmd, sizeof(cmd));
	snprintf(f[6], sizeof(f[6]), "QMSD_COMMAND=%s", cmd);
	for (i = 0; i < 7; i++)
		fields[i] = f[i];
	fields[7] = NULL;
	/* The leading "git" is optional in the input; shown once here. */
	snprintf(line, sizeof(line), "%s: %s%s%s: %s%s -> %s, %llu ms, "
	    "%zu bytes", c->caller, verdict, rule[0] ? " by " : "", rule,
	    strncmp(cmd, "git ", 4) == 0 ? "" : "git ", cmd, outcome,
	    (unsigned long long)ms, bytes);
	logring_add(g_audit, line, strlen(line));
	/* An audit record is kept whatever the log level. */
	log_audit("git", fields, "%s", line);

	o = call_fields(c, verdict, rule, outcome, bytes);
	if (text == NULL) {
		audit_record("git", o, NULL, NULL);
		mcp_call_done(c->mcall, "", 1);
		return;
	}
	h = xcalloc(1, sizeof(*h));
	h->mcall = c->mcall;
	h->text = xstrdup(text);
	h->failed = failed;
	/* From now on the call's going is the held answer's. */
	TAILQ_INSERT_TAIL(&held, h, entry);
	mcp_call_on_gone(c->mcall, held_gone, h);
	h->wait = audit_record("git", o, held_durable, h);
}

/*
 * A git killed at its deadline may leave .git/index.lock, and every later
 * call then fails until someone removes it.  qmsd removes the one its own
 * killed git made: absent when the segment started, a regular file of the
 * run-as user at the deadline, the very same file (device, inode, change
 * time) after the kill, and the subcommand one that writes the index
 * (a hung fetch never took it: a lock then is somebody else's).  Never by
 * path: unlinkat from a descriptor of .git opened O_NOFOLLOW, which
 * neither follows a symlink nor blocks.
 */
enum { LOCK_UNKNOWN, LOCK_ABSENT, LOCK_SEEN };

static const char *const index_writers[] = {
	"add", "commit", "rm", "mv", "checkout", "switch", "restore", "reset",
	"stash", "merge", "rebase", "cherry-pick", "revert", "pull", "status",
	"bisect",
};

static int
lock_stat(struct git_call *c, struct stat *st)
{
	return (fstatat(c->gitdir, "index.lock", st, AT_SYMLINK_NOFOLLOW));
}

static void
lock_note_start(struct git_call *c)
{
	struct stat	 st;
	char		*path, *const *argv = c->verdict.argv[c->seg];
	size_t		 i, a = 1;

	c->lock_state = LOCK_UNKNOWN;
	/* The subcommand: the first word past git's own options. */
	while (argv[0] != NULL && argv[a] != NULL && argv[a][0] == '-')
		a += (strcmp(argv[a], "-c") == 0 ||
		    strcmp(argv[a], "-C") == 0) && argv[a + 1] != NULL ? 2 : 1;
	for (i = 0; i < nitems(index_writers); i++)
		if (argv[0] != NULL && argv[a] != NULL &&
		    strcmp(argv[a], index_writers[i]) == 0)
			break;
	if (i == nitems(index_writers))
		return;
	if (c->gitdir == -1) {
		xasprintf(&path, "%s/.git", g_root);
		c->gitdir = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_NONBLOCK | O_CLOEXEC);
		free(path);
	}
	if (c->gitdir != -1 && lock_stat(c, &st) == -1 && errno == ENOENT)
		c->lock_state = LOCK_ABSENT;
}

static void
lock_note_deadline(struct git_call *c)
{
	if (c->lock_state != LOCK_ABSENT)
		return;
	if (lock_stat(c, &c->lock_st) == 0 && S_ISREG(c->lock_st.st_mode) &&
	    c->lock_st.st_uid == g_uid)
		c->lock_state = LOCK_SEEN;
	else
		c->lock_state = LOCK_UNKNOWN;
}

static void
lock_clean(struct git_call *c)
{
	struct stat	st;

	if (c->lock_state != LOCK_SEEN || lock_stat(c, &st) == -1 ||
	    st.st_dev != c->lock_st.st_dev || st.st_ino != c->lock_st.st_ino ||
	    st.st_ctim.tv_sec != c->lock_st.st_ctim.tv_sec ||
	    st.st_ctim.tv_nsec != c->lock_st.st_ctim.tv_nsec)
		return;
	if (unlinkat(c->gitdir, "index.lock", 0) == 0)
		log_info("git: removed .git/index.lock left by a git killed at "
		    "its deadline (%s: %s)", c->caller, c->command);
	else
		log_warn("git: .git/index.lock");
}

static void
call_free(struct git_call *c)
{
	if (c->gitdir != -1)
		close(c->gitdir);
	if (c->deadline != NULL)
		event_free(c->deadline);
	proc_free(c->proc);
	git_verdict_free(&c->verdict);
	free(c->out[1]);
	free(c->out[2]);
	free(c->caller);
	free(c->command);
	argv_free(c->env);
	free(c);
}

/* "  text \n" without the white space around it. */
static void
strip(char *s)
{
	size_t	n = strlen(s), i = 0;

	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\n' ||
	    s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	while (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r')
		i++;
	memmove(s, s + i, n - i + 1);
}

/*
 * The original tool's format, which agents are prompted for: stdout, a
 * newline, stderr, stripped; "[Exit code: N]" first on failure; "(no
 * output)" when there is nothing.
 */
static void
git_finish(struct git_call *c)
{
	char	*text, *body, note[160] = "";
	char	 outcome[64];
	size_t	 bytes;
	int	 failed = c->exit_code != 0 || c->timed_out;

	xasprintf(&body, "%.*s\n%.*s", (int)c->len[1],
	    c->out[1] != NULL ? c->out[1] : "", (int)c->len[2],
	    c->out[2] != NULL ? c->out[2] : "");
	strip(body);
	if (c->truncated)
		snprintf(note, sizeof(note), "\n[output truncated at %llu "
		    "bytes]", (unsigned long long)g_max_output);
	if (c->timed_out)
		snprintf(note + strlen(note), sizeof(note) - strlen(note),
		    "\n[Killed: the command ran longer than %llus]",
		    (unsigned long long)g_timeout / 1000);
	if (failed)
		xasprintf(&text, "[Exit code: %d]\n%s%s", c->exit_code, body,
		    note);
	else
		xasprintf(&text, "%s%s", body, note);
	strip(text);
	if (text[0] == '\0') {
		free(text);
		text = xstrdup("(no output)");
	}
	bytes = c->len[1] + c->len[2];
	if (c->timed_out)
		snprintf(outcome, sizeof(outcome), "timeout");
	else
		snprintf(outcome, sizeof(outcome), "exit %d", c->exit_code);
	if (c->nested) {
		/* Refused by what the probe found, before the command ran. */
		audit(c, "denied", strstr(c->pwhy, "secret") != NULL ?
		    "masked-path" : "nested-repo", "refused", bytes, text,
		    failed);
		g_denied++;
	} else {
		audit(c, "allowed", "", outcome, bytes, text, failed);
		if (failed)
			g_failed++;
	}
	free(text);
	free(body);

	TAILQ_REMOVE(&running, c, entry);
	nrunning--;
	call_free(c);
	/* A place is free: the next waiting call runs. */
	if ((c = TAILQ_FIRST(&waiting)) != NULL &&
	    (long long)nrunning < g_max_concurrent) {
		TAILQ_REMOVE(&waiting, c, entry);
		c->queued = 0;
		TAILQ_INSERT_TAIL(&running, c, entry);
		nrunning++;
		run_next(c);
	}
	git_publish();
}

static void
git_on_output(struct proc *p, int stream, const char *buf, size_t len,
    void *arg)
{
	struct git_call	*c = arg;
	size_t		 room;
	char		*tmp;

	room = g_max_output > c->total ? g_max_output - c->total : 0;
	if (len > room) {
		c->truncated = 1;
		len = room;
	}
	if (len == 0)
		return;
	if ((tmp = realloc(c->out[stream], c->len[stream] + len)) == NULL)
		fatal("realloc");
	c->out[stream] = tmp;
	memcpy(c->out[stream] + c->len[stream], buf, len);
	c->len[stream] += len;
	c->total += len;
}

static void
on_exited(struct proc *p, int status, void *arg)
{
	struct git_call	*c = arg;

	proc_free(c->proc);
	c->proc = NULL;
	if (c->timed_out)
		lock_clean(c);
	if (WIFEXITED(status))
		c->exit_code = WEXITSTATUS(status);
	else
		c->exit_code = 128 + WTERMSIG(status);
	c->probed = 0;
	/* && semantics: the chain stops at the first failure. */
	if (c->exit_code != 0 || c->timed_out || ++c->seg == c->verdict.nargv)
		git_finish(c);
	else
		run_next(c);
}

static const struct proc_ops git_proc_ops = {
	.output = git_on_output,
	.exited = on_exited,
};

/*
 * One record of the probe (git-policy.h): "git status --porcelain=v2 -z"
 * over what the command would stage.  A repository inside the project is
 * an untracked "? DIR/", or a tracked entry ("1", "2", "u") whose work
 * tree mode is 160000 where the index has none: staged, either becomes a
 * gitlink, and git would later run inside it under its own configuration
 * (core.fsmonitor, filters).  Only the record's head is kept (its fields
 * fit; a long name is cut), but its last byte always is.
 */
/* Whether a path the probe lists has a component named like a secret. */
static int
secret_path(char *path)
{
	char	*p = path, *c;
	int	 found = 0;

	while (!found && (c = strsep(&p, "/")) != NULL) {
		found = mask_secret_name(c);
		if (p != NULL)
			p[-1] = '/';
	}
	return (found);
}

static void
probe_record(struct git_call *c)
{
	char		*f[11], *p = c->pname, *name;
	size_t		 n = 0, want, i;
	int		 gitlink = 0, agent;

	agent = c->caller != NULL && strcmp(c->caller, "host") != 0;
	if (c->pskip) {
		c->pskip = 0;
		return;
	}
	if (c->plen >= sizeof(c->pname)) {
		/* What cannot be read whole cannot be judged. */
		c->pname[64] = '\0';
		c->pwhy = "a path too long to check";
		c->nested = 1;
		return;
	}
	if (p[0] == '?') {
		name = p + 2;
		if (c->plast == '/') {
			name[strlen(name) - 1] = '\0';
			c->pwhy = "a git repository inside the project; git "
			    "would record it as a gitlink and run git inside it "
			    "under its own configuration: remove its .git";
		} else if (agent && secret_path(name))
			c->pwhy = "named like a secret (.env, .env.*, *.env), "
			    "which agents never stage: name the files to add";
		else
			return;
		memmove(c->pname, name, strlen(name) + 1);
		c->nested = 1;
		return;
	}
	if (p[0] != '1' && p[0] != '2' && p[0] != 'u')
		return;
	/* Fields up to the path: 8 of "1", 9 of "2", 10 of "u". */
	want = p[0] == '1' ? 8 : p[0] == '2' ? 9 : 10;
	if (p[0] == '2')
		c->pskip = 1;
	while (n < want && (f[n] = strsep(&p, " ")) != NULL)
		n++;
	if (n < want || p == NULL)
		return;
	if (f[0][0] == 'u') {
		/* u XY sub m1 m2 m3 mW ...: a gitlink in no stage */
		gitlink = strcmp(f[6], "160000") == 0;
		for (i = 3; i < 6; i++)
			if (strcmp(f[i], "160000") == 0)
				gitlink = 0;
	} else	/* 1|2 XY sub mH mI mW ...: a gitlink not in the index */
		gitlink = strcmp(f[5], "160000") == 0 &&
		    strcmp(f[4], "160000") != 0;
	if (gitlink)
		c->pwhy = "a file replaced by a git repository; git would "
		    "record it as a gitlink and run git inside it under its "
		    "own configuration: remove its .git";
	else if (agent && secret_path(p))
		c->pwhy = "named like a secret (.env, .env.*, *.env), which "
		    "agents never stage";
	else
		return;
	name = p;
	memmove(c->pname, name, strlen(name) + 1);
	c->nested = 1;
}

static void
probe_output(struct proc *p, int stream, const char *buf, size_t len,
    void *arg)
{
	struct git_call	*c = arg;
	size_t		 i;

	if (stream != 1) {
		git_on_output(p, stream, buf, len, arg);
		return;
	}
	for (i = 0; i < len && !c->nested; i++) {
		if (buf[i] != '\0') {
			if (c->plen < sizeof(c->pname) - 1)
				c->pname[c->plen] = buf[i];
			c->plast = buf[i];
			c->plen++;
			continue;
		}
		c->pname[c->plen < sizeof(c->pname) ? c->plen :
		    sizeof(c->pname) - 1] = '\0';
		if (c->plen > 0)
			probe_record(c);
		c->plen = 0;
	}
}

static void
probe_exited(struct proc *p, int status, void *arg)
{
	struct git_call	*c = arg;
	char		*msg;

	proc_free(c->proc);
	c->proc = NULL;
	c->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) :
	    128 + WTERMSIG(status);
	if (c->nested) {
		xasprintf(&msg, "Denied: '%s' is %s (rule: %s)", c->pname,
		    c->pwhy, strstr(c->pwhy, "secret") != NULL ?
		    "masked-path" : "nested-repo");
		for (size_t i = 0; msg[i] != '\0'; i++)
			if ((unsigned char)msg[i] < 0x20)
				msg[i] = '?';
		git_on_output(NULL, 2, msg, strlen(msg), c);
		free(msg);
		c->exit_code = 1;
	}
	if (c->exit_code != 0 || c->timed_out) {
		if (c->exit_code == 0)
			c->exit_code = 1;
		git_finish(c);
		return;
	}
	c->probed = 1;
	run_next(c);
}

static const struct proc_ops probe_ops = {
	.output = probe_output,
	.exited = probe_exited,
};

static void
on_deadline(evutil_socket_t fd, short ev, void *arg)
{
	struct git_call	*c = arg;

	c->timed_out = 1;
	if (c->proc != NULL) {
		lock_note_deadline(c);
		proc_kill(c->proc, SIGKILL);	/* the whole group */
	}
}

static void
run_next(struct git_call *c)
{
	struct proc_spec	spec;
	struct timeval		tv;
	char			err[256], *msg;

	if (c->deadline == NULL) {
		c->deadline = evtimer_new(g_base, on_deadline, c);
		timeval_ms(&tv, g_timeout);
		evtimer_add(c->deadline, &tv);
	}
	memset(&spec, 0, sizeof(spec));
	spec.argv = c->verdict.argv[c->seg];
	spec.env = c->env != NULL ? c->env : g_env;
	spec.workdir = g_root;
	spec.user = g_user;
	spec.uid = g_uid;
	spec.gid = g_gid;
	spec.landlock = g_landlock;
	if (!c->probed && c->verdict.probe != NULL &&
	    c->verdict.probe[c->seg] != NULL) {
		spec.argv = c->verdict.probe[c->seg];
		c->plen = 0;
		c->pskip = 0;
		c->proc = proc_spawn(g_base, &spec, &probe_ops, c, err,
		    sizeof(err));
	} else {
		lock_note_start(c);
		c->proc = proc_spawn(g_base, &spec, &git_proc_ops, c, err,
		    sizeof(err));
	}
	if (c->proc == NULL) {
		xasprintf(&msg, "cannot run git: %s", err);
		git_on_output(NULL, 2, msg, strlen(msg), c);
		free(msg);
		c->exit_code = 127;
		git_finish(c);
	}
}

/*
 * The client left.  A call still waiting never runs; one running goes on
 * to its end (bounded by the deadline; killing it could leave the
 * repository half-changed), and its answer is dropped by mcp_call_done.
 */
static void
on_client_gone(void *arg)
{
	struct git_call	*c = arg;

	switch (c->queued) {
	case QUEUED_NOT:
		return;
	case QUEUED_WAITING:
		TAILQ_REMOVE(&waiting, c, entry);
		break;
	case QUEUED_UNREAD:
		TAILQ_REMOVE(&unread, c, entry);
		break;
	case QUEUED_RECORDING:
		TAILQ_REMOVE(&recording, c, entry);
		audit_forget(c->aw);
		break;
	}
	audit(c, "allowed", "", "client left before it ran", 0, NULL, 1);
	call_free(c);
	git_publish();
}

static void
git_exec_call(struct mcp_call *mcall, const cJSON *args, void *arg)
{
	const cJSON	*cmd = cJSON_GetObjectItemCaseSensitive(args,
			    "command");
	struct git_call	*c;

	c = xcalloc(1, sizeof(*c));
	c->gitdir = -1;
	c->mcall = mcall;
	c->caller = xstrdup(mcp_call_identity(mcall));
	c->started = now_ms();
	g_calls++;
	if (!cJSON_IsString(cmd)) {
		c->command = xstrdup("");
		audit(c, "denied", "usage", "no command", 0, "Denied: git_exec "
		    "needs a \"command\" string (rule: usage)", 1);
		g_denied++;
		call_free(c);
		git_publish();
		return;
	}
	c->command = xstrdup(cmd->valuestring);
	if (g_gm_paths == NULL) {
		/* Not allowed on a guess, nor refused: checked once known. */
		c->queued = QUEUED_UNREAD;
		TAILQ_INSERT_TAIL(&unread, c, entry);
		mcp_call_on_gone(mcall, on_client_gone, c);
		return;
	}
	dispatch(c);
}

static void	recorded_to_run(void *, const char *);

static void
dispatch(struct git_call *c)
{
	struct mcp_call	*mcall = c->mcall;

	if (check(c->caller, c->command, strlen(c->command),
	    &c->verdict) == -1) {
		audit(c, "denied", c->verdict.rule != NULL ? c->verdict.rule :
		    "", "refused", 0, c->verdict.reason, 1);
		g_denied++;
		call_free(c);
		git_publish();
		return;
	}
	/* The agent's identity as configured now: a reload may come. */
	if (c->caller != NULL && strcmp(c->caller, "host") != 0) {
		const struct git_agent *a = find_agent(c->caller);

		c->env = xargv_copy(a != NULL ? a->env : g_env);
	}
	/*
	 * Nothing runs before the audit log has it: the call as allowed
	 * now, on disk; its outcome is a second record, before its answer.
	 */
	c->queued = QUEUED_RECORDING;
	TAILQ_INSERT_TAIL(&recording, c, entry);
	mcp_call_on_gone(mcall, on_client_gone, c);
	c->aw = audit_record("git", call_fields(c, "allowed", "", "starts",
	    0), recorded_to_run, c);
	git_publish();
}

/* The call is on record: it runs, or waits for a place. */
static void
recorded_to_run(void *arg, const char *error)
{
	struct git_call	*c = arg;
	char		*text;

	TAILQ_REMOVE(&recording, c, entry);
	c->queued = QUEUED_NOT;
	c->aw = NULL;
	if (error != NULL) {
		log_warnx("git: %s: not run: %s", c->caller, error);
		xasprintf(&text, "Denied: qmsd could not record this call, "
		    "so it did not run it: %s", error);
		mcp_call_done(c->mcall, text, 1);
		free(text);
		g_denied++;
		call_free(c);
		git_publish();
		return;
	}
	if ((long long)nrunning < g_max_concurrent) {
		TAILQ_INSERT_TAIL(&running, c, entry);
		nrunning++;
		run_next(c);
	} else {
		c->queued = QUEUED_WAITING;
		TAILQ_INSERT_TAIL(&waiting, c, entry);
	}
	git_publish();
}

static void
git_serve(struct http_request *req, void *arg)
{
	mcp_serve(&git_server, req);
}

void
git_tool_init(struct event_base *base)
{
	g_base = base;
	g_comp = component_add("git");
	g_audit = logring_new(GIT_AUDIT_LINES);
	component_set_log(g_comp, g_audit);
	http_route("/git/mcp", git_serve, NULL);
	git_publish();
}

static void
agents_free(void)
{
	size_t	i;

	for (i = 0; i < g_nagents; i++) {
		free(g_agents[i].name);
		argv_free(g_agents[i].masks);
		argv_free(g_agents[i].push_refs);
		argv_free(g_agents[i].ident);
		argv_free(g_agents[i].env);
	}
	g_nagents = 0;
}

/*
 * An agent as its git runs: g_env, with its committer (and author, when
 * git-author = agent) and the trailer's configuration added to the
 * command-line configuration's count.
 */
static void
agent_keep(struct git_agent *a, const struct agent_conf *c)
{
	size_t	i, n, k = 0;

	a->name = xstrdup(c->name);
	a->masks = xargv_copy(c->masks);
	a->push_refs = c->push_refs != NULL ? xargv_copy(c->push_refs) : NULL;
	a->ident = xcalloc(5, sizeof(*a->ident));
	xasprintf(&a->ident[k++], "GIT_COMMITTER_NAME=%s",
	    c->git_committer_name);
	xasprintf(&a->ident[k++], "GIT_COMMITTER_EMAIL=%s",
	    c->git_committer_email);
	if (c->git_author == AGENT_AUTHOR_AGENT) {
		xasprintf(&a->ident[k++], "GIT_AUTHOR_NAME=%s",
		    c->git_committer_name);
		xasprintf(&a->ident[k++], "GIT_AUTHOR_EMAIL=%s",
		    c->git_committer_email);
	}
	n = argv_count(g_env);
	a->env = xcalloc(n + k + 2 * nitems(trailer_config) + 1,
	    sizeof(*a->env));
	for (i = 0; i < n; i++) {
		if (strncmp(g_env[i], "GIT_CONFIG_COUNT=", 17) == 0)
			xasprintf(&a->env[i], "GIT_CONFIG_COUNT=%zu",
			    GIT_CONFIG_FIXED + nitems(trailer_config));
		else
			a->env[i] = xstrdup(g_env[i]);
	}
	for (i = 0; i < k; i++)
		a->env[n++] = xstrdup(a->ident[i]);
	for (i = 0; i < nitems(trailer_config); i++) {
		xasprintf(&a->env[n++], "GIT_CONFIG_KEY_%zu=%s",
		    GIT_CONFIG_FIXED + i, trailer_config[i][0]);
		xasprintf(&a->env[n++], "GIT_CONFIG_VALUE_%zu=%s",
		    GIT_CONFIG_FIXED + i, trailer_config[i][1]);
	}
}

void
git_tool_configure(const struct config *conf)
{
	struct passwd	*pw;
	char		*extra[] = {
		"GIT_TERMINAL_PROMPT=0", "GIT_PAGER=cat", "PAGER=cat",
		"GIT_EDITOR=false", "GIT_SEQUENCE_EDITOR=false",
		"EDITOR=false", "VISUAL=false", "GIT_ASKPASS=false",
		"SSH_ASKPASS=false", "GIT_PROTOCOL_FROM_USER=0",
		"GIT_ALLOW_PROTOCOL=file:git:http:https:ssh",
		"GIT_CONFIG_NOSYSTEM=1", "LC_ALL=C.UTF-8",
		"PATH=/usr/local/bin:/usr/bin:/bin",
		/*
		 * Configuration no file can override (GIT_CONFIG_COUNT is
		 * command-line scope, and reaches the git that git runs
		 * inside a submodule): keys whose value is a command, and
		 * what would make git look inside a nested repository.  The
		 * owner's hooks, filters, diff and merge drivers and
		 * credential helpers stay: an agent can only trigger them.
		 */
		"GIT_CONFIG_COUNT=" STR(GIT_CONFIG_FIXED),
		"GIT_CONFIG_KEY_0=core.fsmonitor", "GIT_CONFIG_VALUE_0=false",
		"GIT_CONFIG_KEY_1=core.pager", "GIT_CONFIG_VALUE_1=cat",
		"GIT_CONFIG_KEY_2=core.editor", "GIT_CONFIG_VALUE_2=false",
		"GIT_CONFIG_KEY_3=sequence.editor", "GIT_CONFIG_VALUE_3=false",
		"GIT_CONFIG_KEY_4=core.askPass", "GIT_CONFIG_VALUE_4=false",
		"GIT_CONFIG_KEY_5=submodule.recurse", "GIT_CONFIG_VALUE_5=false",
		"GIT_CONFIG_KEY_6=diff.ignoreSubmodules",
		"GIT_CONFIG_VALUE_6=dirty",
		"GIT_CONFIG_KEY_7=status.submoduleSummary",
		"GIT_CONFIG_VALUE_7=false",
		"GIT_CONFIG_KEY_8=protocol.ext.allow",
		"GIT_CONFIG_VALUE_8=never",
		"GIT_CONFIG_KEY_9=core.untrackedCache",
		"GIT_CONFIG_VALUE_9=false",
		"GIT_CONFIG_KEY_10=fetch.recurseSubmodules",
		"GIT_CONFIG_VALUE_10=false",
		"GIT_CONFIG_KEY_11=push.recurseSubmodules",
		"GIT_CONFIG_VALUE_11=no",
		/*
		 * What would put the work tree of files masked from agents
		 * where an agent reads: a verbose commit's diff of unstaged
		 * changes (in --dry-run, or .git/COMMIT_EDITMSG), an
		 * automatic stash of every change (in .git).  git-policy.c
		 * refuses the same options from an agent.
		 */
		"GIT_CONFIG_KEY_12=commit.verbose", "GIT_CONFIG_VALUE_12=false",
		"GIT_CONFIG_KEY_13=merge.autoStash",
		"GIT_CONFIG_VALUE_13=false",
		"GIT_CONFIG_KEY_14=rebase.autoStash",
		"GIT_CONFIG_VALUE_14=false",
		NULL, NULL, NULL,
	};
	size_t		 i;

	free(g_root);
	free(g_user);
	g_root = xstrdup(conf->project_root);
	g_user = xstrdup(conf->run_as);
	g_uid = conf->run_as_uid;
	g_gid = conf->run_as_gid;
	pw = getpwuid(g_uid);
	/* A scrubbed environment, built from nothing. */
	argv_free(g_env);
	for (i = 0; extra[i] != NULL; i++)
		;
	xasprintf(&extra[i], "HOME=%s", pw != NULL ? pw->pw_dir : "/");
	xasprintf(&extra[i + 1], "USER=%s", g_user);
	g_env = xargv_copy(extra);
	confine(conf, pw != NULL ? pw->pw_dir : NULL);
	free(extra[i]);
	free(extra[i + 1]);
	argv_free(g_remotes);
	argv_free(g_protected);
	g_remotes = xargv_copy(conf->git.remotes);
	g_protected = xargv_copy(conf->git.protected_paths);
	g_allow_no_verify = conf->git.allow_no_verify;
	agents_free();
	for (i = 0; i < conf->nagents; i++)
		agent_keep(&g_agents[i], &conf->agents[i]);
	g_nagents = conf->nagents;
	g_timeout = conf->git.timeout;
	g_max_output = conf->git.max_output;
	g_max_concurrent = conf->git.max_concurrent > 0 ?
	    conf->git.max_concurrent : 1;
	gm_read();
}

void
git_tool_shutdown(void)
{
	struct git_call		*c;
	struct held_answer	*h;

	while ((h = TAILQ_FIRST(&held)) != NULL) {
		audit_forget(h->wait);
		mcp_call_done(h->mcall, "[Exit code: -1]\nqmsd is shutting "
		    "down", 1);
		held_free(h);
	}
	while ((c = TAILQ_FIRST(&recording)) != NULL) {
		TAILQ_REMOVE(&recording, c, entry);
		audit_forget(c->aw);
		mcp_call_done(c->mcall, "[Exit code: -1]\nqmsd is shutting "
		    "down", 1);
		call_free(c);
	}
	while ((c = TAILQ_FIRST(&unread)) != NULL ||
	    (c = TAILQ_FIRST(&waiting)) != NULL) {
		if (c == TAILQ_FIRST(&unread))
			TAILQ_REMOVE(&unread, c, entry);
		else
			TAILQ_REMOVE(&waiting, c, entry);
		mcp_call_done(c->mcall, "[Exit code: -1]\nqmsd is shutting "
		    "down", 1);
		call_free(c);
	}
	while ((c = TAILQ_FIRST(&running)) != NULL) {
		TAILQ_REMOVE(&running, c, entry);
		mcp_call_done(c->mcall, "[Exit code: -1]\nqmsd is shutting "
		    "down", 1);
		call_free(c);	/* kills the group */
	}
	nrunning = 0;
	component_remove(g_comp);
	g_comp = NULL;
	logring_free(g_audit);
	argv_free(g_env);
	argv_free(g_remotes);
	argv_free(g_protected);
	proc_free(g_gm_proc);
	g_gm_proc = NULL;
	free(g_gm_out);
	g_gm_out = NULL;
	g_gm_len = 0;
	argv_free(g_gm_paths);
	g_gm_paths = NULL;
	agents_free();
	free(g_root);
	free(g_user);
	if (g_landlock != -1)
		close(g_landlock);
	g_landlock = -1;
	g_env = g_remotes = g_protected = NULL;
	g_root = g_user = NULL;
}
