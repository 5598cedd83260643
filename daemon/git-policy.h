/*
 * The git command policy: whether a git_exec command may run, and the
 * exact argv vectors to exec if so.  A pure function: no I/O, no global
 * state, nothing left allocated once the verdict is freed.
 *
 * An agent sends one string, such as
 *
 *	git add .claude/sessions/ && git commit -m 'Session notes' && git push
 *
 * It is split by argv_split_chain (common/argv.h: POSIX quoting, no
 * expansion, && the only operator) and every command is checked against
 * an allow-list of subcommands, each with an allow-list of options.  The
 * verdict is all or nothing: one refused command refuses the chain, so an
 * agent never gets half of what it asked for.  The vectors are rebuilt
 * from what was understood rather than copied from the input: every
 * option is written out in full (--am becomes --amend, -am becomes --all
 * --message=...), so git never resolves an abbreviation or a cluster in a
 * way the policy did not see; a value is attached to its long option, or
 * follows a short one that git always gives a value (-S, -e, -b), so no
 * value can be read as an option.
 *
 * The caller runs each vector in order, without a shell, with the work
 * tree (policy root) as the working directory, stdin on /dev/null, and a
 * scrubbed environment: no GIT_DIR, GIT_WORK_TREE, GIT_CONFIG_*,
 * GIT_EXEC_PATH, GIT_*_PATHSPECS, GIT_SSH*; GIT_EDITOR and
 * GIT_SEQUENCE_EDITOR that return at once (an editor would wait for a
 * terminal; "false" refuses, ":" takes the prepared message, so that
 * "commit --amend" keeps its own); GIT_TERMINAL_PROMPT=0.  It stops the
 * chain at the first non-zero exit, as && would.
 *
 * Symbolic links are beyond a lexical policy, and the agent can make them
 * in the directories it writes (its workspace, .claude/sessions).  git's
 * own path handling refuses a pathspec "beyond a symbolic link", and add,
 * rm, commit -a, stash, checkout and merge treat a path under one as gone;
 * but git opens a file named by an option as it is, and "mv" moves through
 * a link in both directions, so both are refused here (no-file-option,
 * outside-repo).  Two readers remain that follow a link planted in place of
 * a tracked directory: "grep" and "blame" of the working tree (checked with
 * git 2.39: both print the file the link leads to).  Refusing them would
 * refuse "git grep foo src/", so the caller must confine git instead: run
 * every vector but push, fetch, pull, ls-remote and remote show (which need
 * the owner's credentials and read no file by name) with the filesystem
 * restricted to the work tree plus read-only system directories (Landlock,
 * or a mount namespace).
 *
 * What the owner configured still runs as configured: hooks, diff and
 * merge drivers, filters, credential helpers.  The agent cannot add to
 * them (no config writes, .git is read-only to it), only trigger them.
 *
 * Rules (the id is what a refusal names; every refusal reads
 * "Denied: <what> <why> (rule: <id>)"):
 *
 *	shell-operator	; & | || < > ( ), anything but && between commands
 *	shell-expansion	$ ` * ? [ ~ and {a,b}: nothing is ever expanded
 *	shell-quoting	an unterminated quote, a trailing backslash
 *	shell-comment	an unquoted # starting a word
 *	control-char	newline (outside quotes), NUL, other control bytes
 *	empty-command	nothing to run, or nothing around an &&
 *	global-option	any option before the subcommand (-c, -C, --git-dir,
 *			--work-tree, --exec-path, --namespace, -p, ...);
 *			only --no-pager (-P) is accepted, and dropped: output
 *			is never paged without a terminal
 *	unknown-subcommand
 *			a subcommand not in the list below (aliases never
 *			apply: git ignores an alias named like a builtin)
 *	unknown-option	an option not in that subcommand's table
 *	ambiguous-option
 *			an abbreviation matching several options
 *	usage		a value missing or unexpected, too many arguments,
 *			a value outside the allowed set
 *	no-force-push	push -f, --force*, --mirror, a +refspec
 *	no-remote-delete
 *			push -d/--delete, --prune, a :ref refspec
 *	remote-not-allowed
 *			push, fetch, pull, ls-remote, remote show naming a
 *			remote not in the configured list, or a URL; fetch
 *			--all/--multiple, push --repo.  With no remote named,
 *			the first allowed remote is written in, so the
 *			branch's configured remote is never used implicitly
 *	no-discard	what throws away uncommitted work: reset --hard/
 *			--merge/--keep, checkout of paths or -f/-m/--ours/
 *			--theirs, restore of the working tree (only restore
 *			--staged), switch -f/-m/--discard-changes/--orphan,
 *			rm -f, clean
 *	no-history-loss	what deletes or overwrites commits and refs:
 *			branch -D/-M/-C/-f, checkout -B, switch -C, tag -d/-f,
 *			stash drop/clear, reflog expire/delete, update-ref,
 *			gc --prune, prune, filter-branch, fetch -f/+refspec/
 *			--prune/--prune-tags/--depth and other shallowing
 *	no-program	what runs a program: rebase -x/--exec, bisect run,
 *			--upload-pack, --receive-pack, --exec, --ext-diff,
 *			--textconv, --filters, grep -O, merge strategies
 *			outside the builtin set, difftool, mergetool, daemon,
 *			instaweb, send-email, help
 *	no-signing	-S/--gpg-sign, tag -s/-u/-v, push --signed,
 *			--verify-signatures, --show-signature: they run gpg
 *			with the owner's keys; --no-gpg-sign is fine
 *	no-config-write	config set/unset/edit/..., remote add/set-url/...
 *	no-submodule	submodule, --recurse-submodules anywhere
 *	no-interactive	-i/-p/--patch/--interactive/--edit-todo/add -e/
 *			branch --edit-description: there is no terminal
 *	outside-repo	a path leaving the work tree (../x, an absolute path
 *			elsewhere), diff/grep --no-index (git diff with a path
 *			outside turns into --no-index by itself), --output,
 *			rev-parse --git-dir, mv, worktree, clone, init, archive
 *	no-file-option	an option whose value is a file git opens by name:
 *			commit/merge/tag -F, commit -t, blame --contents and
 *			--ignore-revs-file, ls-files -X, grep -f, diff -O,
 *			config -f, format-patch -o and --signature-file; each
 *			refusal names the in-band way (-m, -e, --blob=,
 *			--stdout)
 *	protected-path	a command that changes files naming a protected path
 *			or a path inside one, in any spelling (./p, p/, a/../p,
 *			p/., ROOT/p, a pattern under p).  Reading is fine:
 *			log -- flow-state, diff HEAD~1 -- flow-state
 *	pathspec-magic	:(...), :!, :^, :/ in a pathspec
 *	ignored-files	add -f, stash -a: they sweep ignored files such as
 *			.env into the object store
 *	forged-trailer	an agent's message (commit, merge, tag, stash -m)
 *			with a line that starts with QMS-Agent (any case,
 *			after blanks), or commit --trailer whose token git
 *			would take for QMS-Agent (any prefix of it, or it
 *			as a prefix, in any case; an empty one)
 *	forged-author	an agent's commit --author: the author is what
 *			[agent] git-author says (git-tool.c)
 *	push-ref-not-allowed
 *			with the agent's push-refs set: a push that names
 *			no ref, HEAD alone, --all/--branches/--tags/
 *			--follow-tags, or a destination outside the list
 *	policy-config	the policy itself is unusable (root not absolute, a
 *			protected path outside the root)
 *	internal	out of memory
 *
 * Who did it (issue 19).  Every commit vector of an agent ends its options
 * with --trailer=QMS-Agent: NAME; the caller runs it with the
 * configuration trailer.QMS-Agent.where=end, .ifexists=replace and
 * .ifmissing=add (as GIT_CONFIG_* in its environment, never -c in the
 * vector), so that the trailer is added, last, in place of one the
 * message already has (commit --amend of its own commit keeps one), and
 * with the agent as committer (GIT_COMMITTER_NAME/EMAIL, in every
 * vector: merges, rebases, cherry-picks, reverts and stashes name it
 * too).  Only commit takes --trailer; the others are named by their
 * committer alone.  A message taken from an existing commit (--amend
 * without -m, -C, cherry-pick, rebase) is that commit's, which the policy
 * cannot see.  The host's commits get neither.  An agent's push_refs,
 * when set, bound what its pushes write (push-ref-not-allowed): each
 * push names its refs, a short destination is a branch and is written
 * out in full, "x" becomes "refs/heads/x:refs/heads/x", and push.followTags
 * is turned off with --no-follow-tags.
 *
 * Paths are normalised lexically against root: no filesystem access, the
 * same normalisation git applies to a pathspec.  Where a pathspec of a
 * command that changes files covers a protected path without naming it (an
 * ancestor such as ".", or a pattern such as '*.md' or 'fl\ow-state'), the
 * vector gets ":(top,literal,exclude)PATH" for each protected path, so git
 * itself leaves them out: "add ." or "rm -r dir" cannot sweep a submodule
 * in.  "add -A"/"add -u" get the same; "commit -a" becomes the equivalent
 * "commit --include -- <excludes>".  Commands that act on the whole tree
 * as history (stash, reset, checkout of a branch, merge, rebase, pull,
 * cherry-pick, revert) move a submodule's recorded commit like any other
 * file and never touch its working tree; they are allowed.
 *
 * Allowed subcommands (see git-policy.c for each option table):
 *	read:	status log show diff whatchanged blame ls-files ls-tree
 *		rev-parse rev-list describe shortlog grep cat-file
 *		merge-base name-rev show-ref check-ignore count-objects
 *		cherry reflog (show, exists) remote (list, -v, show,
 *		get-url) config (reads) ls-remote version
 *	write:	add commit push pull fetch branch checkout switch restore
 *		stash (push save list show pop apply branch) tag merge
 *		rebase cherry-pick revert rm reset bisect (start bad good
 *		new old skip reset log terms) format-patch (--stdout or
 *		the root) gc
 */
#ifndef QMSD_GIT_POLICY_H
#define QMSD_GIT_POLICY_H

#include <stddef.h>

struct git_policy {
	const char		*root;		/* the work tree, absolute */
	const char *const	*remotes;	/* to push to, fetch from; */
	size_t			 nremotes;	/* none: "origin" */
	const char *const	*protected_paths; /* relative to root, or */
	size_t			 nprotected;	/* absolute inside it */
	const char		*agent;		/* the caller; NULL: the owner */
	const char *const	*masks;		/* its mask = paths (mask.h) */
	int			 allow_no_verify; /* [git] allow-no-verify */
	const char *const	*users;		/* .claude/users' entries */
	const char *const	*push_refs;	/* the agent's push-refs; */
};						/* NULL: as for the owner */

/* The trailer every commit of an agent ends with: "QMS-Agent: NAME". */
#define GIT_POLICY_TRAILER	"QMS-Agent"

/* More words than this in one command is refused (rule: usage). */
#define GIT_POLICY_MAX_WORDS	4096

struct git_verdict {
	int		  allowed;
	char		***argv;	/* nargv vectors {"git", ..., NULL} */
	size_t		  nargv;
	char		***probe;	/* nargv: run first, or NULL */
	const char	 *rule;		/* rule id when refused, else NULL */
	char		  reason[1024];	/* "Denied: ..." when refused */
};

/*
 * Check a command (a C string, or a counted one that may hold a NUL, which
 * is refused).  Returns 0 and fills argv when allowed, -1 and fills rule
 * and reason when refused.  Always release with git_verdict_free.
 */
int	git_policy_check(const struct git_policy *, const char *,
	    struct git_verdict *);
int	git_policy_checkn(const struct git_policy *, const char *, size_t,
	    struct git_verdict *);
void	git_verdict_free(struct git_verdict *);

/* Whether name is an allowed subcommand (for tool descriptions, fuzzing). */
int	git_policy_subcommand(const char *);

#endif
