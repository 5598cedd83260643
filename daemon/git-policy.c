/*
 * The git command policy: an allow-list of subcommands and options, path
 * confinement, and vectors rebuilt from what was understood.  See
 * git-policy.h for the rules and the contract with the caller.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "argv.h"
#include "git-policy.h"
#include "mask.h"
#include "secret-rule.h"

enum rule {
	R_NONE,
	R_OPERATOR,
	R_EXPANSION,
	R_QUOTING,
	R_COMMENT,
	R_CONTROL,
	R_EMPTY,
	R_GLOBAL,
	R_SUBCOMMAND,
	R_OPTION,
	R_AMBIGUOUS,
	R_USAGE,
	R_FORCE_PUSH,
	R_REMOTE_DELETE,
	R_REMOTE,
	R_DISCARD,
	R_HISTORY,
	R_PROGRAM,
	R_SIGNING,
	R_CONFIG,
	R_SUBMODULE,
	R_INTERACTIVE,
	R_OUTSIDE,
	R_PROTECTED,
	R_MAGIC,
	R_IGNORED,
	R_FILE,
	R_MASKED,
	R_NOVERIFY,
	R_TRAILER,
	R_AUTHOR,
	R_PUSHREF,
	R_POLICY,
	R_INTERNAL,
};

/* The id a refusal names, and what a refused option would have done. */
static const struct {
	const char	*id;
	const char	*why;
} rules[] = {
	[R_NONE] =		{ "none", "" },
	[R_OPERATOR] =		{ "shell-operator", "" },
	[R_EXPANSION] =		{ "shell-expansion", "" },
	[R_QUOTING] =		{ "shell-quoting", "" },
	[R_COMMENT] =		{ "shell-comment", "" },
	[R_CONTROL] =		{ "control-char", "" },
	[R_EMPTY] =		{ "empty-command", "" },
	[R_GLOBAL] =		{ "global-option", "" },
	[R_SUBCOMMAND] =	{ "unknown-subcommand", "" },
	[R_OPTION] =		{ "unknown-option", "is not supported" },
	[R_AMBIGUOUS] =		{ "ambiguous-option", "" },
	[R_USAGE] =		{ "usage", "" },
	[R_FORCE_PUSH] =	{ "no-force-push",
				  "would rewrite remote history" },
	[R_REMOTE_DELETE] =	{ "no-remote-delete",
				  "would delete refs on the remote" },
	[R_REMOTE] =		{ "remote-not-allowed",
				  "would reach a remote outside the allowed "
				  "list" },
	[R_DISCARD] =		{ "no-discard",
				  "would discard uncommitted work" },
	[R_HISTORY] =		{ "no-history-loss",
				  "would delete or overwrite commits or refs" },
	[R_PROGRAM] =		{ "no-program", "would run a program" },
	[R_SIGNING] =		{ "no-signing",
				  "would run gpg with the owner's keys" },
	[R_CONFIG] =		{ "no-config-write",
				  "would change git configuration" },
	[R_SUBMODULE] =		{ "no-submodule",
				  "would operate on submodules" },
	[R_INTERACTIVE] =	{ "no-interactive",
				  "needs a terminal, and there is none" },
	[R_OUTSIDE] =		{ "outside-repo",
				  "reaches outside the repository" },
	[R_PROTECTED] =		{ "protected-path", "" },
	[R_MAGIC] =		{ "pathspec-magic", "" },
	[R_IGNORED] =		{ "ignored-files",
				  "would sweep ignored files, such as .env, "
				  "into the object store" },
	[R_FILE] =		{ "no-file-option",
				  "would open a file by name, and a symbolic "
				  "link there could lead anywhere" },
	[R_MASKED] =		{ "masked-path",
				  "would reach files hidden from agents" },
	[R_NOVERIFY] =		{ "no-verify",
				  "would skip the owner's hooks" },
	[R_TRAILER] =		{ "forged-trailer", "" },
	[R_AUTHOR] =		{ "forged-author", "" },
	[R_PUSHREF] =		{ "push-ref-not-allowed", "" },
	[R_POLICY] =		{ "policy-config", "" },
	[R_INTERNAL] =		{ "internal", "" },
};

/*
 * An option: its names, how it takes a value, and the rule that refuses
 * it (R_NONE for an allowed one).  A refused option with O_NEG is allowed
 * in its --no- form, which turns the danger off (--no-gpg-sign).
 */
#define O_ARG	0x01	/* takes a value: --x=v, --x v, -xv, -x v */
#define O_OPT	0x02	/* optional value, attached only: --x=v, -xv */
#define O_NEG	0x04	/* --no-x exists */
#define O_LAST	0x08	/* with O_ARG: no value when it is the last word */

struct gopt {
	const char		*l;	/* long name, without "--" */
	char			 s;	/* short letter */
	unsigned char		 f;
	unsigned char		 r;	/* refused by this rule */
	unsigned char		 vr;	/* rule for a value outside vals */
	const char		*why;	/* or the rule's own reason */
	const char *const	*vals;	/* allowed values, NULL for any */
};

#define END		{ NULL, 0, 0, 0, 0, NULL, NULL }
#define F1(s, l)	{ l, s, 0, 0, 0, NULL, NULL }
#define FL(s, l)	{ l, s, O_NEG, 0, 0, NULL, NULL }
#define AR(s, l)	{ l, s, O_ARG, 0, 0, NULL, NULL }
#define AL(s, l)	{ l, s, O_ARG | O_LAST, 0, 0, NULL, NULL }
#define O1(s, l)	{ l, s, O_OPT, 0, 0, NULL, NULL }
#define OP(s, l)	{ l, s, O_OPT | O_NEG, 0, 0, NULL, NULL }
#define FILEOPT(s, l, w) { l, s, O_ARG, R_FILE, 0, w, NULL }
#define AV(s, l, v, r)	{ l, s, O_ARG, 0, r, NULL, v }
#define OV(s, l, v, r)	{ l, s, O_OPT | O_NEG, 0, r, NULL, v }
#define DN(s, l, f, r, w) { l, s, f, r, 0, w, NULL }

/* Refusals shared by many subcommands. */
#define D_SUBMODULES	DN(0, "recurse-submodules", O_OPT | O_NEG, \
			    R_SUBMODULE, NULL)
#define D_GPG		DN('S', "gpg-sign", O_OPT | O_NEG, R_SIGNING, NULL)
#define D_PATCH		DN('p', "patch", O_NEG, R_INTERACTIVE, NULL)
#define D_PFROMFILE	DN(0, "pathspec-from-file", O_ARG, R_OPTION, \
			    "is not supported: name the paths"), \
			DN(0, "pathspec-file-nul", 0, R_OPTION, \
			    "is not supported: name the paths")
#define D_STDIN		DN(0, "stdin", 0, R_OPTION, \
			    "reads standard input, and there is none")
/* Allowed when [git] allow-no-verify says so (deny() lets it through). */
#define D_NOVERIFY(s)	DN(s, "no-verify", 0, R_NOVERIFY, NULL)
/*
 * Values that keep git out of a submodule's working tree: looking into
 * one runs a git there, under that repository's configuration.
 */
static const char *const subignore[] = { "all", "dirty", NULL };
static const char *const subformats[] = { "short", "log", NULL };
#define D_IGNSUB	{ "ignore-submodules", 0, O_OPT, 0, R_SUBMODULE, NULL, \
			    subignore }

/*
 * Merge strategies builtin to git; any other name would run a program
 * called git-merge-NAME from the PATH.
 */
static const char *const strategies[] = {
	"ort", "recursive", "resolve", "octopus", "ours", "subtree", NULL
};
#define STRATEGY(s)	AV(s, "strategy", strategies, R_PROGRAM)

static const char *const chmods[] = { "+x", "-x", NULL };
static const char *const rebases[] = {
	"true", "false", "yes", "no", "on", "off", "1", "0", "merges", "m",
	"interactive", "i", NULL	/* the last two refused in pull_check */
};

/*
 * Options of the revision walk and the log family (log, show, rev-list,
 * shortlog, whatchanged, reflog, stash list).  git matches these exactly,
 * and writes its negations out as options of their own.
 */
static const struct gopt o_rev[] = {
	AR('n', "max-count"), AR(0, "skip"), AR(0, "since"), AR(0, "after"),
	AR(0, "until"), AR(0, "before"), AR(0, "author"), AR(0, "committer"),
	AR(0, "grep"), AR(0, "grep-reflog"), F1(0, "all-match"),
	F1(0, "invert-grep"), F1('i', "regexp-ignore-case"),
	F1('E', "extended-regexp"), F1('F', "fixed-strings"),
	F1('P', "perl-regexp"), F1(0, "basic-regexp"), F1(0, "merges"),
	F1(0, "no-merges"), AR(0, "min-parents"), AR(0, "max-parents"),
	F1(0, "no-min-parents"), F1(0, "no-max-parents"),
	F1(0, "first-parent"), F1(0, "all"), O1(0, "branches"),
	O1(0, "tags"), O1(0, "remotes"), AR(0, "glob"), AR(0, "exclude"),
	F1(0, "not"), F1(0, "reflog"), O1(0, "ancestry-path"),
	F1(0, "simplify-by-decoration"), F1(0, "full-history"),
	F1(0, "dense"), F1(0, "sparse"), F1(0, "simplify-merges"),
	F1(0, "show-pulls"), F1(0, "left-right"), F1(0, "left-only"),
	F1(0, "right-only"), F1(0, "cherry-pick"), F1(0, "cherry-mark"),
	F1(0, "cherry"), F1(0, "boundary"), F1(0, "topo-order"),
	F1(0, "date-order"), F1(0, "author-date-order"), F1(0, "reverse"),
	F1(0, "follow"), O1(0, "no-walk"), F1(0, "do-walk"),
	F1('g', "walk-reflogs"), F1(0, "graph"), F1(0, "oneline"),
	O1(0, "pretty"), AR(0, "format"), F1(0, "abbrev-commit"),
	F1(0, "no-abbrev-commit"), O1(0, "abbrev"), F1(0, "no-abbrev"),
	O1(0, "decorate"), F1(0, "no-decorate"), AR(0, "decorate-refs"),
	AR(0, "decorate-refs-exclude"), F1(0, "clear-decorations"),
	F1(0, "source"), AR(0, "date"), F1(0, "relative-date"),
	F1(0, "parents"), F1(0, "children"), AR(0, "encoding"),
	O1(0, "expand-tabs"), F1(0, "no-expand-tabs"), O1(0, "notes"),
	F1(0, "no-notes"), O1(0, "show-notes"), F1(0, "log-size"),
	F1(0, "use-mailmap"), F1(0, "mailmap"), F1(0, "no-use-mailmap"),
	F1(0, "no-mailmap"), F1(0, "count"), F1(0, "objects"),
	F1(0, "timestamp"), F1('m', NULL), F1('c', NULL), F1(0, "cc"),
	AR(0, "diff-merges"), F1(0, "no-diff-merges"), F1(0, "remerge-diff"),
	F1(0, "combined-all-paths"), F1('t', NULL), F1(0, "ignore-missing"),
	DN(0, "show-signature", 0, R_SIGNING, NULL), D_STDIN,
	END
};

/* Diff output options (diff, show, log -p, stash show, format-patch). */
static const struct gopt o_diff[] = {
	F1('p', "patch"), F1('u', NULL), F1('s', "no-patch"),
	O1('U', "unified"), F1('W', "function-context"), F1(0, "raw"),
	F1(0, "patch-with-raw"), F1(0, "patch-with-stat"), F1(0, "numstat"),
	F1(0, "shortstat"), O1('X', "dirstat"), F1(0, "cumulative"),
	O1(0, "dirstat-by-file"), F1(0, "check"), F1(0, "summary"),
	F1(0, "name-only"), F1(0, "name-status"), O1(0, "stat"),
	AR(0, "stat-width"), AR(0, "stat-name-width"),
	AR(0, "stat-graph-width"), AR(0, "stat-count"),
	F1(0, "compact-summary"), F1(0, "binary"), F1(0, "full-index"),
	O1(0, "color"), F1(0, "no-color"), AR(0, "ws-error-highlight"),
	F1('z', NULL), AR(0, "src-prefix"), AR(0, "dst-prefix"),
	AR(0, "line-prefix"), F1(0, "no-prefix"), F1(0, "default-prefix"),
	AR(0, "inter-hunk-context"), O1('B', "break-rewrites"),
	O1('M', "find-renames"), F1('D', "irreversible-delete"),
	O1('C', "find-copies"), F1(0, "find-copies-harder"),
	F1(0, "no-renames"), F1(0, "rename-empty"), F1(0, "no-rename-empty"),
	AR('l', NULL), F1(0, "minimal"), F1('w', "ignore-all-space"),
	F1('b', "ignore-space-change"), F1(0, "ignore-space-at-eol"),
	F1(0, "ignore-cr-at-eol"), F1(0, "ignore-blank-lines"),
	AR('I', "ignore-matching-lines"), F1(0, "indent-heuristic"),
	F1(0, "no-indent-heuristic"), F1(0, "patience"), F1(0, "histogram"),
	AR(0, "diff-algorithm"), AR(0, "anchored"), O1(0, "word-diff"),
	AR(0, "word-diff-regex"), O1(0, "color-words"), O1(0, "color-moved"),
	F1(0, "no-color-moved"), AR(0, "color-moved-ws"),
	F1(0, "no-color-moved-ws"), O1(0, "relative"), F1(0, "no-relative"),
	F1('a', "text"), F1('R', NULL), F1(0, "exit-code"), F1(0, "quiet"),
	DN(0, "ext-diff", 0, R_PROGRAM, "would run an external diff program"),
	F1(0, "no-ext-diff"),
	DN(0, "textconv", 0, R_PROGRAM, "would run textconv filters"),
	F1(0, "no-textconv"), D_IGNSUB,
	{ "submodule", 0, O_OPT, 0, R_SUBMODULE, NULL, subformats },
	F1(0, "ita-invisible-in-index"),
	F1(0, "ita-visible-in-index"), AR('S', NULL), AR('G', NULL),
	F1(0, "pickaxe-all"), F1(0, "pickaxe-regex"),
	FILEOPT('O', NULL, "reads an order file by name"),
	AR(0, "rotate-to"), AR(0, "skip-to"), AR(0, "find-object"),
	AR(0, "diff-filter"), AR(0, "output-indicator-new"),
	AR(0, "output-indicator-old"), AR(0, "output-indicator-context"),
	DN(0, "output", O_ARG, R_OUTSIDE,
	    "would write a file; the output comes back to you anyway"),
	END
};

static const struct gopt o_diffonly[] = {
	F1(0, "cached"), F1(0, "staged"), F1(0, "merge-base"),
	F1('1', "base"), F1('2', "ours"), F1('3', "theirs"),
	F1('0', NULL),
	DN(0, "no-index", 0, R_OUTSIDE, "would compare files outside the "
	    "repository"),
	END
};

static const struct gopt o_show[] = {
	F1(0, "no-standard-notes"), F1(0, "standard-notes"),
	END
};

static const struct gopt o_status[] = {
	FL('v', "verbose"), FL('s', "short"), FL('b', "branch"),
	FL(0, "show-stash"), FL(0, "ahead-behind"), O1(0, "porcelain"),
	F1(0, "long"), FL('z', "null"), OP('u', "untracked-files"),
	OP(0, "ignored"), D_IGNSUB, OP(0, "column"),
	F1(0, "no-renames"), F1(0, "renames"), OP('M', "find-renames"),
	END
};

static const struct gopt o_blame[] = {
	F1(0, "incremental"), F1('b', NULL), FL(0, "root"),
	FL(0, "show-stats"), FL(0, "progress"), FL(0, "score-debug"),
	FL('f', "show-name"), FL('n', "show-number"), FL('p', "porcelain"),
	FL(0, "line-porcelain"), F1('c', NULL), F1('t', NULL), F1('l', NULL),
	F1('s', NULL), FL('e', "show-email"), F1('w', NULL),
	AR(0, "ignore-rev"),
	FILEOPT(0, "ignore-revs-file", "reads a file by name; use "
	    "--ignore-rev"),
	FL(0, "color-lines"), FL(0, "color-by-age"), FL(0, "minimal"),
	FILEOPT(0, "contents", "reads a file by name"),
	O1('C', NULL), O1('M', NULL), AR('L', NULL), OP(0, "abbrev"),
	AR(0, "date"), F1(0, "reverse"), F1(0, "first-parent"),
	AR(0, "since"), AR(0, "encoding"),
	END
};

static const struct gopt o_lsfiles[] = {
	F1('z', NULL), F1('t', NULL), F1('v', NULL), F1('f', NULL),
	FL('c', "cached"), FL('d', "deleted"), FL('m', "modified"),
	FL('o', "others"), FL('i', "ignored"), FL('s', "stage"),
	FL('k', "killed"), FL(0, "directory"), FL(0, "eol"),
	FL(0, "empty-directory"), FL('u', "unmerged"), FL(0, "resolve-undo"),
	AR('x', "exclude"),
	FILEOPT('X', "exclude-from", "reads a file by name; use -x or "
	    "--exclude-standard"),
	F1(0, "exclude-standard"),
	FL(0, "full-name"), D_SUBMODULES, FL(0, "error-unmatch"),
	AR(0, "with-tree"), OP(0, "abbrev"), FL(0, "debug"),
	FL(0, "deduplicate"), FL(0, "sparse"), AR(0, "format"),
	END
};

static const struct gopt o_lstree[] = {
	F1('d', NULL), F1('r', NULL), F1('t', NULL), F1('z', NULL),
	FL('l', "long"), FL(0, "name-only"), FL(0, "name-status"),
	FL(0, "object-only"), FL(0, "full-name"), FL(0, "full-tree"),
	AR(0, "format"), OP(0, "abbrev"),
	END
};

static const struct gopt o_revparse[] = {
	F1(0, "show-toplevel"), F1(0, "show-prefix"), F1(0, "show-cdup"),
	F1(0, "is-inside-work-tree"), F1(0, "is-inside-git-dir"),
	F1(0, "is-bare-repository"), F1(0, "is-shallow-repository"),
	O1(0, "abbrev-ref"), O1(0, "short"), F1(0, "verify"),
	F1('q', "quiet"), F1(0, "symbolic"), F1(0, "symbolic-full-name"),
	F1(0, "all"), O1(0, "branches"), O1(0, "tags"), O1(0, "remotes"),
	O1(0, "glob"), O1(0, "show-object-format"),
	F1(0, "show-superproject-working-tree"), F1(0, "revs-only"),
	F1(0, "no-revs"), F1(0, "flags"), F1(0, "no-flags"),
	O1(0, "since"), O1(0, "until"), O1(0, "after"), O1(0, "before"),
	DN(0, "git-dir", 0, R_OUTSIDE, "names the repository's internals; "
	    "use --show-toplevel"),
	END
};

static const struct gopt o_describe[] = {
	FL(0, "contains"), FL(0, "debug"), FL(0, "all"), FL(0, "tags"),
	FL(0, "long"), FL(0, "first-parent"), OP(0, "abbrev"),
	FL(0, "exact-match"), AR(0, "candidates"), AR(0, "match"),
	AR(0, "exclude"), FL(0, "always"), OP(0, "dirty"), OP(0, "broken"),
	END
};

static const struct gopt o_shortlog[] = {
	FL('c', "committer"), FL('n', "numbered"), FL('s', "summary"),
	FL('e', "email"), O1('w', NULL), AR(0, "group"), AR(0, "format"),
	END
};

static const struct gopt o_grep[] = {
	FL(0, "cached"), DN(0, "no-index", 0, R_OUTSIDE, "would search files "
	    "outside the repository"), FL(0, "untracked"),
	FL(0, "exclude-standard"), D_SUBMODULES, FL('v', "invert-match"),
	FL('i', "ignore-case"), FL('w', "word-regexp"), FL('a', "text"),
	F1('I', NULL), DN(0, "textconv", O_NEG, R_PROGRAM,
	    "would run textconv filters"), FL('r', "recursive"),
	AR(0, "max-depth"), F1('E', "extended-regexp"),
	F1('G', "basic-regexp"), F1('F', "fixed-strings"),
	F1('P', "perl-regexp"), FL('n', "line-number"), FL(0, "column"),
	F1('h', NULL), F1('H', NULL), FL(0, "full-name"),
	FL('l', "files-with-matches"), FL(0, "name-only"),
	FL('L', "files-without-match"), FL('z', "null"),
	FL('o', "only-matching"), FL('c', "count"), OP(0, "color"),
	FL(0, "break"), FL(0, "heading"), AR('C', "context"),
	AR('B', "before-context"), AR('A', "after-context"),
	AR(0, "threads"), FL('p', "show-function"),
	FL('W', "function-context"),
	FILEOPT('f', NULL, "reads patterns from a file by name; use -e"),
	AR('e', NULL),
	F1(0, "and"), F1(0, "or"), F1(0, "not"), FL('q', "quiet"),
	FL(0, "all-match"), DN('O', "open-files-in-pager", O_OPT, R_PROGRAM,
	    "would run a pager"), F1(0, "ext-grep"), AR('m', "max-count"),
	END
};

static const struct gopt o_catfile[] = {
	F1('e', NULL), F1('p', NULL), F1('t', NULL), F1('s', NULL),
	F1(0, "allow-unknown-type"), FL(0, "use-mailmap"), FL(0, "mailmap"),
	DN(0, "textconv", 0, R_PROGRAM, "would run textconv filters"),
	DN(0, "filters", 0, R_PROGRAM, "would run content filters"),
	END
};

static const struct gopt o_mergebase[] = {
	FL('a', "all"), F1(0, "octopus"), F1(0, "independent"),
	F1(0, "is-ancestor"), F1(0, "fork-point"),
	END
};

static const struct gopt o_namerev[] = {
	FL(0, "name-only"), FL(0, "tags"), AR(0, "refs"), AR(0, "exclude"),
	FL(0, "all"), FL(0, "undefined"), FL(0, "always"), D_STDIN,
	END
};

static const struct gopt o_showref[] = {
	FL(0, "tags"), FL(0, "heads"), FL(0, "branches"), FL(0, "verify"),
	FL(0, "head"), FL('d', "dereference"), OP('s', "hash"),
	OP(0, "abbrev"), FL('q', "quiet"), F1(0, "exists"),
	END
};

static const struct gopt o_lsremote[] = {
	FL('q', "quiet"), DN(0, "upload-pack", O_ARG, R_PROGRAM,
	    "would run a program on the remote host"),
	DN(0, "exec", O_ARG, R_PROGRAM, "would run a program on the remote "
	    "host"), FL('t', "tags"), FL('h', "heads"), FL(0, "refs"),
	FL(0, "get-url"), AR(0, "sort"), FL(0, "exit-code"), FL(0, "symref"),
	AR('o', "server-option"),
	END
};

static const struct gopt o_checkignore[] = {
	FL('q', "quiet"), FL('v', "verbose"), FL('n', "non-matching"),
	F1(0, "no-index"), FL('z', NULL), D_STDIN,
	END
};

static const struct gopt o_countobjects[] = {
	FL('v', "verbose"), FL('H', "human-readable"),
	END
};

static const struct gopt o_version[] = {
	F1(0, "build-options"),
	END
};

static const struct gopt o_cherry[] = {
	FL('v', "verbose"), OP(0, "abbrev"),
	END
};

static const struct gopt o_add[] = {
	FL('n', "dry-run"), FL('v', "verbose"),
	DN('i', "interactive", O_NEG, R_INTERACTIVE, NULL), D_PATCH,
	DN('e', "edit", O_NEG, R_INTERACTIVE, NULL),
	DN('f', "force", O_NEG, R_IGNORED, NULL), FL('u', "update"),
	FL(0, "renormalize"), FL('N', "intent-to-add"), FL('A', "all"),
	FL(0, "ignore-removal"), FL(0, "refresh"), FL(0, "ignore-errors"),
	FL(0, "ignore-missing"), FL(0, "sparse"),
	AV(0, "chmod", chmods, R_USAGE), D_PFROMFILE,
	END
};

static const struct gopt o_commit[] = {
	FL('q', "quiet"), FL('v', "verbose"),
	FILEOPT('F', "file", "reads the message from a file by name; use -m, "
	    "whose quotes may span lines"),
	AR(0, "author"), AR(0, "date"), AR('m', "message"),
	AR('c', "reedit-message"), AR('C', "reuse-message"), AR(0, "fixup"),
	AR(0, "squash"), FL(0, "reset-author"), AR(0, "trailer"),
	FL('s', "signoff"),
	FILEOPT('t', "template", "reads a file by name; use -m"),
	FL('e', "edit"),
	AR(0, "cleanup"), FL(0, "status"), D_GPG, FL('a', "all"),
	FL('i', "include"), DN(0, "interactive", O_NEG, R_INTERACTIVE, NULL),
	D_PATCH, FL('o', "only"), D_NOVERIFY('n'), F1(0, "verify"),
	FL(0, "dry-run"), FL(0, "short"), FL(0, "branch"),
	FL(0, "ahead-behind"), FL(0, "porcelain"), FL(0, "long"),
	FL('z', "null"), FL(0, "amend"), F1(0, "no-post-rewrite"),
	F1(0, "post-rewrite"), OP('u', "untracked-files"),
	FL(0, "allow-empty"), FL(0, "allow-empty-message"), D_PFROMFILE,
	END
};

static const struct gopt o_push[] = {
	FL('v', "verbose"), FL('q', "quiet"),
	DN(0, "repo", O_ARG, R_REMOTE, "would push to a repository outside "
	    "the allowed list; name the remote instead"),
	FL(0, "all"), FL(0, "branches"),
	DN(0, "mirror", O_NEG, R_FORCE_PUSH, NULL),
	DN('d', "delete", O_NEG, R_REMOTE_DELETE, NULL), FL(0, "tags"),
	FL('n', "dry-run"), FL(0, "porcelain"),
	DN('f', "force", O_NEG, R_FORCE_PUSH, NULL),
	DN(0, "force-with-lease", O_OPT | O_NEG, R_FORCE_PUSH, NULL),
	DN(0, "force-if-includes", O_NEG, R_FORCE_PUSH, NULL),
	DN(0, "recurse-submodules", O_ARG | O_NEG, R_SUBMODULE, NULL),
	FL(0, "thin"),
	DN(0, "receive-pack", O_ARG, R_PROGRAM, "would run a program on the "
	    "remote host"),
	DN(0, "exec", O_ARG, R_PROGRAM, "would run a program on the remote "
	    "host"),
	FL('u', "set-upstream"), FL(0, "progress"),
	DN(0, "prune", O_NEG, R_REMOTE_DELETE, "would delete remote branches "
	    "that have no local counterpart"),
	D_NOVERIFY(0), F1(0, "verify"), FL(0, "follow-tags"),
	DN(0, "signed", O_OPT | O_NEG, R_SIGNING, NULL), FL(0, "atomic"),
	AR('o', "push-option"), F1('4', "ipv4"), F1('6', "ipv6"),
	END
};

/* What fetch and pull share: the fetch half. */
#define FETCH_OPTS \
	FL('v', "verbose"), FL('q', "quiet"), FL(0, "progress"), \
	DN(0, "all", O_NEG, R_REMOTE, "would fetch from every remote, not " \
	    "only the allowed ones"), \
	FL('a', "append"), FL(0, "atomic"), \
	DN(0, "upload-pack", O_ARG, R_PROGRAM, "would run a program on the " \
	    "remote host"), \
	DN('f', "force", O_NEG, R_HISTORY, "would overwrite local refs that " \
	    "do not fast-forward"), \
	FL('t', "tags"), FL('k', "keep"), FL(0, "dry-run"), \
	DN('p', "prune", O_NEG, R_HISTORY, "would delete remote-tracking " \
	    "branches"), \
	DN(0, "depth", O_ARG, R_HISTORY, "would make the repository " \
	    "shallow"), \
	DN(0, "shallow-since", O_ARG, R_HISTORY, "would make the " \
	    "repository shallow"), \
	DN(0, "shallow-exclude", O_ARG, R_HISTORY, "would make the " \
	    "repository shallow"), \
	DN(0, "deepen", O_ARG, R_HISTORY, "would change the repository's " \
	    "depth"), \
	FL(0, "unshallow"), \
	DN(0, "update-shallow", O_NEG, R_HISTORY, NULL), \
	AR('o', "server-option"), F1('4', "ipv4"), F1('6', "ipv6"), \
	AR(0, "negotiation-tip"), FL(0, "show-forced-updates"), \
	FL(0, "set-upstream"), D_SUBMODULES

static const struct gopt o_fetch[] = {
	FETCH_OPTS,
	DN('m', "multiple", O_NEG, R_REMOTE, "would fetch from remotes outside "
	    "the allowed list"),
	F1('n', NULL), AR('j', "jobs"), FL(0, "prefetch"),
	DN('P', "prune-tags", O_NEG, R_HISTORY, "would delete local tags"),
	FL(0, "write-fetch-head"),
	DN('u', "update-head-ok", O_NEG, R_HISTORY, NULL),
	FL(0, "refetch"), FL(0, "auto-maintenance"), FL(0, "auto-gc"),
	FL(0, "write-commit-graph"), D_STDIN,
	END
};

static const struct gopt o_pull[] = {
	FETCH_OPTS,
	OV('r', "rebase", rebases, R_USAGE), F1('n', NULL), FL(0, "stat"),
	OP(0, "log"), OP(0, "signoff"), FL(0, "squash"), FL(0, "commit"),
	FL(0, "edit"), AR(0, "cleanup"), FL(0, "ff"), FL(0, "ff-only"),
	D_NOVERIFY(0), F1(0, "verify"),
	DN(0, "verify-signatures", O_NEG, R_SIGNING, NULL),
	FL(0, "autostash"), STRATEGY('s'), AR('X', "strategy-option"),
	D_GPG, FL(0, "allow-unrelated-histories"), OP('j', "jobs"),
	END
};

static const struct gopt o_branch[] = {
	FL('v', "verbose"), FL('q', "quiet"), OP('t', "track"),
	AR('u', "set-upstream-to"), F1(0, "unset-upstream"),
	OP(0, "color"), FL('r', "remotes"), AL(0, "contains"),
	AL(0, "no-contains"), OP(0, "abbrev"), FL('a', "all"),
	F1('d', "delete"),
	DN('D', NULL, 0, R_HISTORY, "would delete a branch even if it is not "
	    "merged; use -d"),
	F1('m', "move"),
	DN('M', NULL, 0, R_HISTORY, "would overwrite an existing branch; use "
	    "-m"),
	F1('c', "copy"),
	DN('C', NULL, 0, R_HISTORY, "would overwrite an existing branch; use "
	    "-c"),
	FL('l', "list"), F1(0, "show-current"), FL(0, "create-reflog"),
	DN(0, "edit-description", 0, R_INTERACTIVE, "opens an editor"),
	DN('f', "force", O_NEG, R_HISTORY, "would reset, overwrite or delete "
	    "a branch regardless"),
	AL(0, "merged"), AL(0, "no-merged"), OP(0, "column"),
	AR(0, "sort"), AL(0, "points-at"), FL('i', "ignore-case"),
	D_SUBMODULES, AR(0, "format"),
	END
};

static const struct gopt o_checkout[] = {
	AR('b', NULL),
	DN('B', NULL, O_ARG, R_HISTORY, "would reset an existing branch; use "
	    "-b"),
	F1('l', NULL), FL(0, "guess"), FL(0, "overlay"), FL('q', "quiet"),
	D_SUBMODULES, FL(0, "progress"),
	DN('m', "merge", O_NEG, R_DISCARD, "can lose staged changes"),
	AR(0, "conflict"), FL('d', "detach"), OP('t', "track"),
	DN('f', "force", O_NEG, R_DISCARD, NULL), AR(0, "orphan"),
	FL(0, "overwrite-ignore"), FL(0, "ignore-other-worktrees"),
	DN('2', "ours", 0, R_DISCARD, NULL),
	DN('3', "theirs", 0, R_DISCARD, NULL), D_PATCH,
	FL(0, "ignore-skip-worktree-bits"), D_PFROMFILE,
	END
};

static const struct gopt o_switch[] = {
	AR('c', "create"),
	DN('C', "force-create", O_ARG, R_HISTORY, "would reset an existing "
	    "branch; use -c"),
	FL(0, "guess"), DN(0, "discard-changes", O_NEG, R_DISCARD, NULL),
	FL('q', "quiet"), D_SUBMODULES, FL(0, "progress"),
	DN('m', "merge", O_NEG, R_DISCARD, "can lose staged changes"),
	AR(0, "conflict"), FL('d', "detach"), OP('t', "track"),
	DN('f', "force", O_NEG, R_DISCARD, NULL),
	DN(0, "orphan", O_ARG, R_DISCARD, "would remove every tracked file "
	    "from the working tree"),
	FL(0, "overwrite-ignore"), FL(0, "ignore-other-worktrees"),
	END
};

static const struct gopt o_restore[] = {
	AR('s', "source"), FL('S', "staged"), FL('W', "worktree"),
	FL(0, "ignore-unmerged"), FL(0, "overlay"), FL('q', "quiet"),
	D_SUBMODULES, FL(0, "progress"), AR(0, "conflict"),
	D_PATCH, FL(0, "ignore-skip-worktree-bits"), D_PFROMFILE,
	END
};

static const struct gopt o_tag[] = {
	FL('l', "list"), O1('n', NULL),
	DN('d', "delete", O_NEG, R_HISTORY, NULL),
	DN('v', "verify", O_NEG, R_SIGNING, NULL), FL('a', "annotate"),
	AR('m', "message"),
	FILEOPT('F', "file", "reads the message from a file by name; use -m"),
	FL('e', "edit"), DN('s', "sign", O_NEG, R_SIGNING, NULL),
	AR(0, "cleanup"),
	DN('u', "local-user", O_ARG, R_SIGNING, NULL),
	DN('f', "force", O_NEG, R_HISTORY, "would replace an existing tag"),
	FL(0, "create-reflog"), OP(0, "column"), AL(0, "contains"),
	AL(0, "no-contains"), AL(0, "merged"), AL(0, "no-merged"),
	AR(0, "sort"), AL(0, "points-at"), AR(0, "format"), OP(0, "color"),
	FL('i', "ignore-case"),
	END
};

static const struct gopt o_merge[] = {
	F1('n', NULL), FL(0, "stat"), FL(0, "summary"), OP(0, "log"),
	FL(0, "squash"), FL(0, "commit"), FL('e', "edit"), AR(0, "cleanup"),
	FL(0, "ff"), F1(0, "ff-only"), FL(0, "rerere-autoupdate"),
	DN(0, "verify-signatures", O_NEG, R_SIGNING, NULL), STRATEGY('s'),
	AR('X', "strategy-option"), AR('m', "message"),
	FILEOPT('F', "file", "reads the message from a file by name; use -m"),
	AR(0, "into-name"), FL('v', "verbose"), FL('q', "quiet"),
	F1(0, "abort"), F1(0, "quit"), F1(0, "continue"),
	FL(0, "allow-unrelated-histories"), FL(0, "progress"), D_GPG,
	FL(0, "autostash"), FL(0, "overwrite-ignore"), FL(0, "signoff"),
	D_NOVERIFY(0), F1(0, "verify"),
	END
};

static const struct gopt o_rebase[] = {
	AR(0, "onto"), FL(0, "keep-base"), D_NOVERIFY(0),
	F1(0, "verify"), FL('q', "quiet"), FL('v', "verbose"),
	F1('n', "no-stat"), F1(0, "stat"), FL(0, "signoff"),
	FL(0, "committer-date-is-author-date"), FL(0, "reset-author-date"),
	F1(0, "ignore-date"), AR('C', NULL), FL(0, "ignore-whitespace"),
	AR(0, "whitespace"), FL('f', "force-rebase"), F1(0, "no-ff"),
	F1(0, "continue"), F1(0, "skip"), F1(0, "abort"), F1(0, "quit"),
	DN(0, "edit-todo", 0, R_INTERACTIVE, NULL),
	F1(0, "show-current-patch"), F1(0, "apply"), F1('m', "merge"),
	DN('i', "interactive", O_NEG, R_INTERACTIVE, NULL),
	FL(0, "rerere-autoupdate"), AR(0, "empty"), FL(0, "autosquash"),
	FL(0, "update-refs"), D_GPG, FL(0, "autostash"),
	DN('x', "exec", O_ARG, R_PROGRAM, "would run a shell command after "
	    "each commit"),
	OP('r', "rebase-merges"), FL(0, "fork-point"), STRATEGY('s'),
	AR('X', "strategy-option"), F1(0, "root"),
	FL(0, "reschedule-failed-exec"), FL(0, "reapply-cherry-picks"),
	FL(0, "keep-empty"),
	END
};

#define PICK_OPTS \
	F1(0, "quit"), F1(0, "continue"), F1(0, "abort"), F1(0, "skip"), \
	AR(0, "cleanup"), F1('n', "no-commit"), F1(0, "commit"), \
	FL('e', "edit"), FL('s', "signoff"), AR('m', "mainline"), \
	FL(0, "rerere-autoupdate"), STRATEGY(0), \
	AR('X', "strategy-option"), D_GPG

static const struct gopt o_cherrypick[] = {
	PICK_OPTS, F1('x', NULL), FL(0, "ff"), FL(0, "allow-empty"),
	FL(0, "allow-empty-message"), FL(0, "keep-redundant-commits"),
	END
};

static const struct gopt o_revert[] = {
	PICK_OPTS, FL(0, "reference"),
	END
};

static const struct gopt o_rm[] = {
	FL('n', "dry-run"), FL('q', "quiet"), FL(0, "cached"),
	DN('f', "force", O_NEG, R_DISCARD, "would remove files with "
	    "uncommitted changes"),
	F1('r', NULL), FL(0, "ignore-unmatch"), FL(0, "sparse"), D_PFROMFILE,
	END
};

static const struct gopt o_reset[] = {
	FL('q', "quiet"), F1(0, "no-refresh"), F1(0, "refresh"),
	F1(0, "mixed"), F1(0, "soft"),
	DN(0, "hard", 0, R_DISCARD, NULL), DN(0, "merge", 0, R_DISCARD, NULL),
	DN(0, "keep", 0, R_DISCARD, NULL), D_SUBMODULES, D_PATCH,
	FL('N', "intent-to-add"), D_PFROMFILE,
	END
};

static const struct gopt o_stashpush[] = {
	FL('k', "keep-index"), FL('S', "staged"), D_PATCH, FL('q', "quiet"),
	FL('u', "include-untracked"), DN('a', "all", O_NEG, R_IGNORED, NULL),
	AR('m', "message"), D_PFROMFILE,
	END
};

static const struct gopt o_stashshow[] = {
	FL('u', "include-untracked"), F1(0, "only-untracked"),
	END
};

static const struct gopt o_stashapply[] = {
	FL('q', "quiet"), FL(0, "index"),
	END
};

static const struct gopt o_remote[] = {
	FL('v', "verbose"),
	END
};

static const struct gopt o_remoteshow[] = {
	F1('n', NULL),
	END
};

static const struct gopt o_remotegeturl[] = {
	FL(0, "push"), FL(0, "all"),
	END
};

static const struct gopt o_config[] = {
	DN(0, "global", 0, R_OUTSIDE, "reads the owner's configuration "
	    "outside the repository"),
	DN(0, "system", 0, R_OUTSIDE, "reads configuration outside the "
	    "repository"),
	F1(0, "local"), F1(0, "worktree"),
	FILEOPT('f', "file", "reads a file by name; use --blob=HEAD:PATH"),
	AR(0, "blob"), F1(0, "get"), F1(0, "get-all"),
	F1(0, "get-regexp"), F1(0, "get-urlmatch"), FL('l', "list"),
	F1(0, "get-color"), F1(0, "get-colorbool"),
	DN(0, "replace-all", 0, R_CONFIG, NULL),
	DN(0, "add", 0, R_CONFIG, NULL), DN(0, "unset", 0, R_CONFIG, NULL),
	DN(0, "unset-all", 0, R_CONFIG, NULL),
	DN(0, "rename-section", 0, R_CONFIG, NULL),
	DN(0, "remove-section", 0, R_CONFIG, NULL),
	DN('e', "edit", 0, R_CONFIG, NULL), F1(0, "fixed-value"),
	AR('t', "type"), F1(0, "no-type"), F1(0, "bool"), F1(0, "int"),
	F1(0, "bool-or-int"), F1(0, "bool-or-str"), F1(0, "path"),
	F1(0, "expiry-date"), FL('z', "null"), FL(0, "name-only"),
	DN(0, "includes", O_NEG, R_OUTSIDE, "would follow include.path to "
	    "files outside the repository"),
	FL(0, "show-origin"), FL(0, "show-scope"),
	AR(0, "default"),
	END
};

static const struct gopt o_gc[] = {
	FL('q', "quiet"), DN(0, "prune", O_OPT | O_NEG, R_HISTORY,
	    "would delete unreachable objects now"),
	F1(0, "auto"), FL(0, "aggressive"), FL(0, "keep-largest-pack"),
	END
};

static const struct gopt o_formatpatch[] = {
	FL('n', "numbered"), F1('N', "no-numbered"), FL('s', "signoff"),
	F1(0, "stdout"), FL(0, "cover-letter"), F1(0, "numbered-files"),
	AR(0, "suffix"), AR(0, "start-number"), AR('v', "reroll-count"),
	AR(0, "filename-max-length"), FL(0, "rfc"),
	AR(0, "cover-from-description"), AR(0, "subject-prefix"),
	FILEOPT('o', "output-directory", "writes files by name; use --stdout"),
	FL('k', "keep-subject"),
	F1(0, "no-binary"), FL(0, "zero-commit"),
	FL(0, "ignore-if-in-upstream"), F1('p', "no-stat"),
	AR(0, "add-header"), AR(0, "to"), AR(0, "cc"), O1(0, "from"),
	AR(0, "in-reply-to"), OP(0, "attach"), OP(0, "inline"),
	OP(0, "thread"), AR(0, "signature"), AR(0, "base"),
	FILEOPT(0, "signature-file", "reads a file by name; use --signature"),
	FL('q', "quiet"), FL(0, "progress"),
	AR(0, "interdiff"), AR(0, "range-diff"), AR(0, "creation-factor"),
	F1(0, "root"),
	END
};

static const struct gopt o_bisectstart[] = {
	F1(0, "no-checkout"), F1(0, "first-parent"), AR(0, "term-old"),
	AR(0, "term-new"), AR(0, "term-good"), AR(0, "term-bad"),
	END
};

static const struct gopt o_bisectterms[] = {
	F1(0, "term-good"), F1(0, "term-bad"), F1(0, "term-old"),
	F1(0, "term-new"),
	END
};

static const struct gopt o_none[] = {
	END
};

/* A parsed word of a command. */
struct pw {
	const struct gopt	*o;	/* the option, or NULL */
	const char		*word;	/* positional text, or the word */
	const char		*val;	/* the option's value, or NULL */
	const char		*repl;	/* written instead of the option */
	const char		*sp;	/* the option as spelt: "--forc" */
	int			 splen;
	unsigned char		 neg;	/* the --no- form */
	unsigned char		 dd;	/* this is "--" */
	unsigned char		 after;	/* a positional after "--" */
	unsigned char		 num;	/* -NUM */
	char			 spbuf[3]; /* "-x" */
};

struct pctx;
struct seg;

/* Positional arguments: what they are, before the custom check. */
enum pos {
	P_NONE,		/* none allowed */
	P_PATHS,	/* all pathspecs */
	P_REVPATH,	/* revisions or paths before "--", paths after */
	P_REVS,		/* names: revisions, branches, keys, messages */
	P_CUSTOM,	/* the check function decides */
};

#define C_MUTATE	0x01	/* changes files: protected paths apply */
#define C_NUM		0x02	/* -NUM is a count */
#define C_SUBWORD	0x04	/* an unknown first word means defsub */

struct gcmd {
	const char		*name;
	unsigned char		 r;	/* refused subcommand: the rule */
	const char		*why;
	const struct gopt	*opt[3];
	unsigned char		 pos;
	unsigned char		 flags;
	int			(*check)(struct seg *);
	const struct gcmd	*subs;
	const struct gcmd	*defsub;
};

struct pctx {
	struct git_verdict	*v;
	char			*root;		/* normalised, no trailing / */
	char			**prot;		/* normalised, relative */
	size_t			 nprot;
	const char		*agent;		/* NULL: the owner */
	char			**masks;	/* normalised, relative */
	char			**mexcl;	/* mask_pathspecs() */
	char			**rexcl;	/* mask_read_pathspecs() */
	int			 allow_no_verify;
	const char *const	*remotes;
	size_t			 nremotes;
	char *const		*push_refs;	/* an agent's, or NULL */
};

struct seg {
	struct pctx		*x;
	char			**in;		/* words after the subcommand */
	const struct gcmd	*cmd;
	const struct gcmd	*sub;		/* or NULL */
	int			 subnamed;	/* the user wrote sub's name */
	char			 disp[48];	/* "stash push", for messages */
	struct pw		*w;
	size_t			 nw;
	int			 dd;		/* "--" was given */
	const char		*insert;	/* before "--", or at the end */
	int			 add_dd;	/* end with "--" */
	int			 excl;		/* end with exclude pathspecs */
	int			 mexcl;		/* and the agent's masks */
	int			 rexcl;		/* or its masks for a read */
	int			 nodd;		/* those after the words, no "--" */
	int			 sweep;		/* stages files: probe first */
	int			 untracked;	/* untracked ones too */
	const char		*lead;		/* first, after the name */
	int			 trailer;	/* add the agent's trailer */
	char			**owned;	/* what repl words point to */
	size_t			 nowned;
};

static int	deny(struct pctx *, enum rule, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static int	flags(const struct seg *);
static char *const *mexcl(const struct seg *);

/* At most this much of a word goes into a message. */
#define SHOWN	60
#define SW(s)	(int)(strlen(s) > SHOWN ? SHOWN : strlen(s)), (s)

static int
deny(struct pctx *x, enum rule r, const char *fmt, ...)
{
	struct git_verdict	*v = x->v;
	va_list			 ap;
	size_t			 n, i;
	int			 k;

	if (v->rule != NULL)
		return -1;
	n = (size_t)snprintf(v->reason, sizeof(v->reason), "Denied: ");
	va_start(ap, fmt);
	k = vsnprintf(v->reason + n, sizeof(v->reason) - n, fmt, ap);
	va_end(ap);
	if (k > 0)
		n += (size_t)k;
	if (n < sizeof(v->reason))
		snprintf(v->reason + n, sizeof(v->reason) - n,
		    " (rule: %s)", rules[r].id);
	/* Agent text quoted back must not carry control characters. */
	for (i = 0; v->reason[i] != '\0'; i++) {
		unsigned char c = v->reason[i];

		if (c < 0x20 || c == 0x7f)
			v->reason[i] = '?';
	}
	v->rule = rules[r].id;
	return -1;
}

static int
nomem(struct pctx *x)
{
	return deny(x, R_INTERNAL, "out of memory");
}

/* Paths. */

/*
 * Normalise path p lexically into out (at least strlen(p) + 1 bytes):
 * components joined by "/", no ".", "..", empty components or trailing
 * "/".  An absolute path stays absolute ("/" alone becomes "/"); a relative
 * one that climbs above its start returns -1.
 */
static int
norm(const char *p, char *out)
{
	size_t	n = 0, l;
	int	abs = p[0] == '/';
	char	*s;

	if (abs)
		out[n++] = '/';
	while (*p != '\0') {
		while (*p == '/')
			p++;
		l = strcspn(p, "/");
		if (l == 0 || (l == 1 && p[0] == '.')) {
			/* nothing */
		} else if (l == 2 && p[0] == '.' && p[1] == '.') {
			if (n == (size_t)abs) {
				if (!abs)
					return -1;
				/* "/.." is "/" */
			} else {
				out[n] = '\0';
				s = strrchr(out, '/');
				n = s == NULL ? 0 : (size_t)(s - out);
				if (n == 0 && abs)
					n = 1;
			}
		} else {
			if (n > (size_t)abs)
				out[n++] = '/';
			memcpy(out + n, p, l);
			n += l;
		}
		p += l;
	}
	out[n] = '\0';
	return 0;
}

/*
 * The path p relative to the work tree, normalised, in a new string: ""
 * is the root itself.  Returns NULL, with *outside set, when p leaves it;
 * NULL with *outside clear when out of memory.
 */
static char *
tree_path(struct pctx *x, const char *p, int *outside)
{
	char	*b, *r;
	size_t	 rl;

	*outside = 0;
	if ((b = malloc(strlen(p) + 2)) == NULL)
		return NULL;
	if (norm(p, b) == -1) {
		*outside = 1;
		free(b);
		return NULL;
	}
	if (b[0] != '/')
		return b;
	rl = strlen(x->root);
	if (rl == 1)			/* the root is "/" */
		r = b + 1;
	else if (strncmp(b, x->root, rl) == 0 && b[rl] == '\0')
		r = b + rl;
	else if (strncmp(b, x->root, rl) == 0 && b[rl] == '/')
		r = b + rl + 1;
	else {
		*outside = 1;
		free(b);
		return NULL;
	}
	memmove(b, r, strlen(r) + 1);
	return b;
}

/* Whether a is b or a path inside b (both normalised, relative). */
static int
within(const char *a, const char *b)
{
	size_t	bl = strlen(b);

	if (bl == 0)
		return 1;
	return strncmp(a, b, bl) == 0 && (a[bl] == '\0' || a[bl] == '/');
}

/* The protected path that n names or lies in, or NULL. */
static const char *
protected_by(struct pctx *x, const char *n)
{
	size_t	i;

	for (i = 0; i < x->nprot; i++)
		if (within(n, x->prot[i]))
			return x->prot[i];
	return NULL;
}

/* Whether n is an ancestor of a protected path. */
static const char *
protects_below(struct pctx *x, const char *n)
{
	size_t	i;

	for (i = 0; i < x->nprot; i++)
		if (within(x->prot[i], n))
			return x->prot[i];
	return NULL;
}

/* Characters that make a pathspec a pattern for git (wildmatch). */
static int
is_glob(const char *s)
{
	return strpbrk(s, "*?[\\") != NULL;
}

/* How a positional word is used. */
enum role {
	W_PATH,		/* a pathspec */
	W_AMBIG,	/* a revision, or a path if it is not one */
};

/*
 * Check a word used as a path.  A read never reaches outside the tree (git
 * diff with a path outside it silently turns into diff --no-index); a
 * change never reaches a protected path; a pattern or an ancestor in a
 * pathspec of a change gets exclusions (see git-policy.h).
 */
static int
check_path(struct seg *g, const char *word, enum role role)
{
	struct pctx	*x = g->x;
	int		 mutate = flags(g) & C_MUTATE, outside, r = 0;
	const char	*p;
	char		*n, hid[256];

	if (word[0] == ':' && (role != W_AMBIG || mutate ||
	    word[1] == '(' || word[1] == '!' || word[1] == '^'))
		return deny(x, R_MAGIC, "'%s %.*s' uses pathspec magic; name "
		    "the paths plainly", g->disp, SW(word));
	if ((n = tree_path(x, word, &outside)) == NULL) {
		if (!outside)
			return nomem(x);
		return deny(x, R_OUTSIDE, "'%s %.*s' reaches outside the "
		    "repository", g->disp, SW(word));
	}
	/* Read or written: git on the host sees what the container hides. */
	if (mask_path(x->agent, (const char *const *)x->masks, n, hid,
	    sizeof(hid))) {
		r = deny(x, R_MASKED, "'%s %.*s' reaches '%.*s', which is "
		    "hidden from agents", g->disp, SW(word), SW(hid));
		goto out;
	}
	if (!mutate)
		goto out;
	if ((p = protected_by(x, n)) != NULL) {
		r = deny(x, R_PROTECTED, "'%s %.*s' would change the "
		    "protected path '%s'", g->disp, SW(word), p);
		goto out;
	}
	p = protects_below(x, n);
	if (is_glob(word)) {
		if (role == W_AMBIG)
			r = deny(x, R_USAGE, "'%s %.*s': put a pattern after "
			    "'--' in a command that changes files", g->disp,
			    SW(word));
		else
			g->excl = 1;
	} else if (p != NULL && role == W_PATH)
		g->excl = 1;
out:
	free(n);
	return r;
}

/* Options. */

static const struct gopt *const *
tables(const struct seg *g)
{
	return g->sub != NULL ? g->sub->opt : g->cmd->opt;
}

static int
flags(const struct seg *g)
{
	return g->sub != NULL ? g->sub->flags : g->cmd->flags;
}

/* "--name" as git would show it, for messages. */
static void
canon_name(const struct gopt *o, int neg, char *buf, size_t len)
{
	if (o->l != NULL)
		snprintf(buf, len, "--%s%s", neg ? "no-" : "", o->l);
	else
		snprintf(buf, len, "-%c", o->s);
}

/* The rule that refuses o here: --no-verify may be allowed by the owner. */
static unsigned
rule_of(const struct seg *g, const struct gopt *o)
{
	if (o->r == R_NOVERIFY && g->x->allow_no_verify)
		return R_NONE;
	return o->r;
}

static int
deny_option(struct seg *g, const struct gopt *o, const char *sp, int splen)
{
	char	c[64];

	canon_name(o, 0, c, sizeof(c));
	if ((size_t)splen == strlen(c) && strncmp(sp, c, splen) == 0)
		return deny(g->x, o->r, "'%s %s' %s", g->disp, c,
		    o->why != NULL ? o->why : rules[o->r].why);
	return deny(g->x, o->r, "'%s %.*s' (%s) %s", g->disp, splen, sp, c,
	    o->why != NULL ? o->why : rules[o->r].why);
}

/*
 * Find a long option as git's parse-options would: an exact name, an
 * exact --no-name, else a unique prefix of a name or of a --no- form.  An
 * ambiguous prefix is refused, under the rule of its candidates when they
 * are all refused by the same one (--for, --forc: no-force-push).
 */
#define NCAND	32

static int
lookup_long(struct seg *g, const char *name, size_t nlen,
    const struct gopt **op, int *negp)
{
	const struct gopt *const	*tab = tables(g);
	const struct gopt		*o;
	struct {
		const struct gopt	*o;
		int			 neg;
		unsigned		 rule;
		char			 name[64];
	}				 cand[NCAND];
	int				 i, neg, mixed = 0, shown;
	size_t				 nc = 0, ll, k;
	unsigned			 rule;
	char				 c[64];

	shown = (int)(nlen > SHOWN ? SHOWN : nlen);
	for (i = 0; i < 3 && tab[i] != NULL; i++)
		for (o = tab[i]; o->l != NULL || o->s != 0; o++)
			if (o->l != NULL && strlen(o->l) == nlen &&
			    strncmp(o->l, name, nlen) == 0) {
				*op = o;
				*negp = 0;
				return 0;
			}
	if (nlen > 3 && strncmp(name, "no-", 3) == 0)
		for (i = 0; i < 3 && tab[i] != NULL; i++)
			for (o = tab[i]; o->l != NULL || o->s != 0; o++)
				if (o->l != NULL && (o->f & O_NEG) &&
				    strlen(o->l) == nlen - 3 &&
				    strncmp(o->l, name + 3, nlen - 3) == 0) {
					*op = o;
					*negp = 1;
					return 0;
				}
	if (nlen == 0)
		goto unknown;

	/*
	 * Candidates, each once by the name git would show: "--no-x" may be
	 * an option of its own and the negation of "--x".  Where one of the
	 * two is refused, the refusal stands, whatever the table order.
	 */
	for (i = 0; i < 3 && tab[i] != NULL; i++) {
		for (o = tab[i]; o->l != NULL || o->s != 0; o++) {
			if (o->l == NULL)
				continue;
			ll = strlen(o->l);
			for (neg = 0; neg < 2; neg++) {
				if (neg == 0 && !(ll > nlen &&
				    strncmp(o->l, name, nlen) == 0))
					continue;
				if (neg == 1 && !(o->f & O_NEG))
					continue;
				if (neg == 1 && (nlen <= 3 ?
				    strncmp(name, "no-", nlen) != 0 :
				    strncmp(name, "no-", 3) != 0 ||
				    ll < nlen - 3 ||
				    strncmp(o->l, name + 3, nlen - 3) != 0))
					continue;
				canon_name(o, neg, c, sizeof(c));
				rule = neg ? R_NONE : rule_of(g, o);
				for (k = 0; k < nc && k < NCAND; k++)
					if (strcmp(cand[k].name, c) == 0)
						break;
				if (k < nc && k < NCAND) {
					if (cand[k].rule == R_NONE &&
					    rule != R_NONE) {
						cand[k].o = o;
						cand[k].neg = neg;
						cand[k].rule = rule;
					}
					continue;
				}
				if (nc < NCAND) {
					cand[nc].o = o;
					cand[nc].neg = neg;
					cand[nc].rule = rule;
					snprintf(cand[nc].name,
					    sizeof(cand[nc].name), "%s", c);
				}
				nc++;
			}
		}
	}
	for (k = 1; k < nc && k < NCAND; k++)
		if (cand[k].rule != cand[0].rule)
			mixed = 1;
	if (nc > NCAND)
		mixed = 1;
	if (nc == 1 && cand[0].rule != R_NONE)
		return deny_option(g, cand[0].o, name - 2, shown + 2);
	if (nc == 1) {
		*op = cand[0].o;
		*negp = cand[0].neg;
		return 0;
	}
	if (nc > 1 && !mixed && cand[0].rule != R_NONE)
		return deny_option(g, cand[0].o, name - 2, shown + 2);
	if (nc > 1)
		return deny(g->x, R_AMBIGUOUS, "'%s --%.*s' is ambiguous: it "
		    "could be %s, %s%s%s%s", g->disp, shown, name,
		    cand[0].name, cand[1].name, nc > 2 ? ", " : "",
		    nc > 2 ? cand[2].name : "", nc > 3 ? ", ..." : "");
unknown:
	return deny(g->x, R_OPTION, "'%s --%.*s' is not an allowed option of "
	    "'git %s'", g->disp, shown, name, g->disp);
}

static const struct gopt *
lookup_short(struct seg *g, char c)
{
	const struct gopt *const	*tab = tables(g);
	const struct gopt		*o;
	int				 i;

	for (i = 0; i < 3 && tab[i] != NULL; i++)
		for (o = tab[i]; o->l != NULL || o->s != 0; o++)
			if (o->s == c)
				return o;
	return NULL;
}

static int
all_digits(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

static int
check_value(struct seg *g, const struct pw *w)
{
	const char *const	*v;

	if (w->val == NULL)
		return 0;
	if (w->o->vals != NULL) {
		for (v = w->o->vals; *v != NULL; v++)
			if (strcmp(*v, w->val) == 0)
				break;
		if (*v == NULL) {
			if (w->o->vr == R_SUBMODULE)
				return deny(g->x, R_SUBMODULE, "'%s %.*s=%.*s' "
				    "would run git inside submodules, under "
				    "their own configuration", g->disp,
				    w->splen, w->sp, SW(w->val));
			if (w->o->vr == R_PROGRAM)
				return deny(g->x, R_PROGRAM, "'%s %.*s %.*s' "
				    "would run a program git-merge-%.*s",
				    g->disp, w->splen, w->sp, SW(w->val),
				    SW(w->val));
			return deny(g->x, w->o->vr, "'%s %.*s %.*s': the "
			    "value is not one git accepts here", g->disp,
			    w->splen, w->sp, SW(w->val));
		}
	}
	return 0;
}

/*
 * Parse the words as git's parse-options would: options anywhere before
 * "--", clustered short options, attached or separate values.
 */
static int
parse(struct seg *g)
{
	char		**in = g->in;
	struct pw	 *w;
	const char	 *a, *eq, *name;
	size_t		  i, j, nlen;
	int		  neg = 0;

	for (i = 0; in[i] != NULL; i++) {
		a = in[i];
		w = &g->w[g->nw];
		memset(w, 0, sizeof(*w));
		w->word = a;
		if (g->dd) {
			w->after = 1;
			g->nw++;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			w->dd = 1;
			g->dd = 1;
			g->nw++;
			continue;
		}
		if (a[0] != '-' || a[1] == '\0') {
			g->nw++;		/* positional, or "-" */
			continue;
		}
		if ((flags(g) & C_NUM) && all_digits(a + 1)) {
			w->num = 1;
			g->nw++;
			continue;
		}
		if (a[1] == '-') {
			name = a + 2;
			eq = strchr(name, '=');
			nlen = eq != NULL ? (size_t)(eq - name) : strlen(name);
			if (lookup_long(g, name, nlen, &w->o, &neg) == -1)
				return -1;
			w->neg = neg;
			w->sp = a;
			w->splen = (int)(nlen + 2 > SHOWN ? SHOWN : nlen + 2);
			if (rule_of(g, w->o) != R_NONE && !neg)
				return deny_option(g, w->o, w->sp, w->splen);
			if (neg || !(w->o->f & (O_ARG | O_OPT))) {
				if (eq != NULL)
					return deny(g->x, R_USAGE, "'%s "
					    "%.*s' takes no value", g->disp,
					    w->splen, w->sp);
			} else if (eq != NULL)
				w->val = eq + 1;
			else if ((w->o->f & O_ARG) && in[i + 1] != NULL)
				w->val = in[++i];
			else if ((w->o->f & O_ARG) && !(w->o->f & O_LAST))
				return deny(g->x, R_USAGE, "'%s %.*s' needs a "
				    "value", g->disp, w->splen, w->sp);
			g->nw++;
			if (check_value(g, w) == -1)
				return -1;
			continue;
		}
		/* A cluster of short options: -am, -mmsg, -n5. */
		for (j = 1; a[j] != '\0'; j++) {
			w = &g->w[g->nw];
			memset(w, 0, sizeof(*w));
			w->word = a;
			w->spbuf[0] = '-';
			w->spbuf[1] = a[j];
			w->sp = w->spbuf;
			w->splen = 2;
			if ((w->o = lookup_short(g, a[j])) == NULL) {
				if ((unsigned char)a[j] < 0x20 ||
				    (unsigned char)a[j] >= 0x7f)
					return deny(g->x, R_OPTION, "'%s "
					    "%.*s' is not an allowed option",
					    g->disp, SW(a));
				return deny(g->x, R_OPTION, "'%s -%c' is not "
				    "an allowed option of 'git %s'", g->disp,
				    a[j], g->disp);
			}
			if (rule_of(g, w->o) != R_NONE)
				return deny_option(g, w->o, w->sp, 2);
			g->nw++;
			if (w->o->f & O_ARG) {
				if (a[j + 1] != '\0')
					w->val = a + j + 1;
				else if (in[i + 1] != NULL)
					w->val = in[++i];
				else if (!(w->o->f & O_LAST))
					return deny(g->x, R_USAGE, "'%s -%c' "
					    "needs a value", g->disp, a[j]);
				if (check_value(g, w) == -1)
					return -1;
				break;
			}
			if (w->o->f & O_OPT) {
				if (a[j + 1] != '\0')
					w->val = a + j + 1;
				if (check_value(g, w) == -1)
					return -1;
				break;
			}
		}
	}
	return 0;
}

/* Whether option l (long name, or short letter s) is on at the end. */
static int
has(const struct seg *g, const char *l, char s)
{
	size_t	i;
	int	on = 0;

	for (i = 0; i < g->nw; i++) {
		const struct gopt *o = g->w[i].o;

		if (o == NULL)
			continue;
		if ((l != NULL && o->l != NULL && strcmp(o->l, l) == 0) ||
		    (l == NULL && o->l == NULL && o->s == s))
			on = !g->w[i].neg;
	}
	return on;
}

static int
is_pos(const struct pw *w)
{
	return w->o == NULL && !w->dd && !w->num;
}

static size_t
count_pos(const struct seg *g, int after)
{
	size_t	i, n = 0;

	for (i = 0; i < g->nw; i++)
		if (is_pos(&g->w[i]) && g->w[i].after == after)
			n++;
	return n;
}

/* The k-th positional (counting both sides of "--"), or NULL. */
static struct pw *
nth_pos(struct seg *g, size_t k)
{
	size_t	i;

	for (i = 0; i < g->nw; i++)
		if (is_pos(&g->w[i]) && k-- == 0)
			return &g->w[i];
	return NULL;
}

/* The generic treatment of positionals, by the command's kind. */
static int
check_positionals(struct seg *g)
{
	size_t		 i;
	struct pw	*w;

	for (i = 0; i < g->nw; i++) {
		w = &g->w[i];
		if (!is_pos(w))
			continue;
		switch (g->sub != NULL ? g->sub->pos : g->cmd->pos) {
		case P_NONE:
			return deny(g->x, R_USAGE, "'%s %.*s': 'git %s' takes "
			    "no arguments", g->disp, SW(w->word), g->disp);
		case P_PATHS:
			if (check_path(g, w->word, W_PATH) == -1)
				return -1;
			break;
		case P_REVPATH:
			if (check_path(g, w->word, w->after ? W_PATH :
			    W_AMBIG) == -1)
				return -1;
			break;
		default:
			break;
		}
	}
	return 0;
}

/* Subcommand checks. */

static const char *
remote_default(const struct pctx *x)
{
	return x->nremotes > 0 ? x->remotes[0] : "origin";
}

static int
remote_allowed(const struct pctx *x, const char *r)
{
	size_t	i;

	if (x->nremotes == 0)
		return strcmp(r, "origin") == 0;
	for (i = 0; i < x->nremotes; i++)
		if (strcmp(x->remotes[i], r) == 0)
			return 1;
	return 0;
}

static int
deny_remote(struct seg *g, const char *r)
{
	struct pctx	*x = g->x;
	char		 list[256];
	size_t		 i, n = 0;

	list[0] = '\0';
	if (x->nremotes == 0)
		snprintf(list, sizeof(list), "origin");
	for (i = 0; i < x->nremotes && n < sizeof(list); i++)
		n += snprintf(list + n, sizeof(list) - n, "%s%s",
		    i > 0 ? ", " : "", x->remotes[i]);
	return deny(x, R_REMOTE, "'%s %.*s': '%.*s' is not an allowed remote "
	    "(allowed: %s)", g->disp, SW(r), SW(r), list);
}

/*
 * [remote [refspec...]] of push, fetch, pull and ls-remote.  With no
 * remote named, the first allowed one is written in: git would otherwise
 * pick the branch's configured remote, which may be any.
 */
static int
check_remote_args(struct seg *g, int refspecs)
{
	struct pw	*w;
	size_t		 i;
	int		 first = 1;

	if ((w = nth_pos(g, 0)) == NULL) {
		g->insert = remote_default(g->x);
		return 0;
	}
	if (!remote_allowed(g->x, w->word))
		return deny_remote(g, w->word);
	/* One pass over the words: nth_pos in a loop would be quadratic. */
	for (i = 0; refspecs && i < g->nw; i++) {
		w = &g->w[i];
		if (!is_pos(w))
			continue;
		if (first) {
			first = 0;
			continue;
		}
		if (w->word[0] == '-')
			return deny(g->x, R_USAGE, "'%s %.*s': a refspec "
			    "cannot start with '-'", g->disp, SW(w->word));
		if (w->word[0] == '^')
			return deny(g->x, R_USAGE, "'%s %.*s': negative "
			    "refspecs are not supported", g->disp,
			    SW(w->word));
		if (w->word[0] == '+') {
			if (strcmp(g->cmd->name, "push") == 0)
				return deny(g->x, R_FORCE_PUSH, "'%s %.*s' "
				    "would force the update and rewrite "
				    "remote history", g->disp, SW(w->word));
			return deny(g->x, R_HISTORY, "'%s %.*s' would force "
			    "the update of a local ref", g->disp,
			    SW(w->word));
		}
		if (w->word[0] == ':' && w->word[1] != '\0') {
			if (strcmp(g->cmd->name, "push") == 0)
				return deny(g->x, R_REMOTE_DELETE, "'%s %.*s' "
				    "would delete '%.*s' on the remote",
				    g->disp, SW(w->word), SW(w->word + 1));
			return deny(g->x, R_USAGE, "'%s %.*s': a refspec "
			    "needs a source", g->disp, SW(w->word));
		}
	}
	return 0;
}

/* A word the vector holds instead of w's (freed with the segment). */
static int
replace_word(struct seg *g, struct pw *w, char *s)
{
	char	**nv;

	if (s == NULL)
		return nomem(g->x);
	if ((nv = reallocarray(g->owned, g->nowned + 1,
	    sizeof(*nv))) == NULL) {
		free(s);
		return nomem(g->x);
	}
	g->owned = nv;
	g->owned[g->nowned++] = s;
	w->repl = s;
	return 0;
}

/*
 * A push outside the agent's push-refs: the word, why, and the list with
 * the key that sets it.
 */
static int
deny_push_ref(struct seg *g, const char *word, const char *why)
{
	struct pctx	*x = g->x;
	char		 list[400];
	size_t		 i, n = 0;

	list[0] = '\0';
	for (i = 0; x->push_refs[i] != NULL; i++) {
		if (n + strlen(x->push_refs[i]) + 5 >= sizeof(list)) {
			snprintf(list + n, sizeof(list) - n, " ...");
			break;
		}
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s",
		    i > 0 ? " " : "", x->push_refs[i]);
	}
	return deny(x, R_PUSHREF, "'%s%s%.*s' %s; agent %s may push only %s "
	    "([agent \"%s\"] push-refs)", g->disp, word != NULL ? " " : "",
	    SW(word != NULL ? word : ""), why, x->agent, list, x->agent);
}

/* One refspec of an agent with push-refs; -1 refused. */
static int
push_refspec(struct seg *g, struct pw *w, const char *tag)
{
	struct pctx	*x = g->x;
	const char	*colon, *dst;
	char		*full, *q, what[100];

	if (tag != NULL) {
		if (asprintf(&full, "refs/tags/%s", tag) == -1)
			return nomem(x);
		colon = NULL;
		dst = full;
	} else {
		colon = strchr(w->word, ':');
		dst = colon != NULL ? colon + 1 : w->word;
		if (*dst == '\0')
			return deny_push_ref(g, w->word, "names no "
			    "destination");
		if (colon == NULL && (strcmp(dst, "HEAD") == 0 ||
		    strcmp(dst, "@") == 0))
			return deny_push_ref(g, w->word, "pushes to the "
			    "current branch, which a policy of words cannot "
			    "know: write HEAD:REF");
		if (strncmp(dst, "refs/", 5) == 0)
			full = strdup(dst);
		else if (asprintf(&full, "refs/heads/%s", dst) == -1)
			full = NULL;
		if (full == NULL)
			return nomem(x);
	}
	if (secret_scope_ref(full, x->push_refs) == -1) {
		snprintf(what, sizeof(what), "would push '%.*s'", SW(full));
		free(full);
		return deny_push_ref(g, w->word, what);
	}
	/* Written out in full: what was checked is what git is told. */
	if (tag != NULL || strcmp(dst, full) == 0) {
		free(full);
		return 0;
	}
	if (colon != NULL)
		q = asprintf(&q, "%.*s:%s", (int)(colon - w->word), w->word,
		    full) == -1 ? NULL : q;
	else
		q = asprintf(&q, "%s:%s", full, full) == -1 ? NULL : q;
	free(full);
	return replace_word(g, w, q);
}

/*
 * An agent with push-refs pushes named refs only, each destination
 * within the list (secret_scope_ref).  A policy of words cannot know the
 * current branch, nor what a short name resolves to, so every push names
 * its refs, a short destination is a branch and is written out in full
 * (x becomes refs/heads/x:refs/heads/x, HEAD:x becomes HEAD:refs/heads/x),
 * and what pushes refs it does not name (--all, --branches, --tags,
 * --follow-tags, the configured push.followTags) is refused or turned off.
 */
static int
push_refs_check(struct seg *g)
{
	struct pctx	*x = g->x;
	struct pw	*w;
	size_t		 i, nref = 0;
	int		 first = 1, follow = -1, tag = 0;
	char		 what[64];

	if (x->agent == NULL || x->push_refs == NULL ||
	    x->push_refs[0] == NULL)
		return 0;
	for (i = 0; i < g->nw; i++) {
		w = &g->w[i];
		if (w->o == NULL || w->o->l == NULL)
			continue;
		if (strcmp(w->o->l, "follow-tags") == 0)
			follow = !w->neg;
		if (!w->neg && (strcmp(w->o->l, "all") == 0 ||
		    strcmp(w->o->l, "branches") == 0 ||
		    strcmp(w->o->l, "tags") == 0)) {
			snprintf(what, sizeof(what), "--%s", w->o->l);
			return deny_push_ref(g, what, "pushes refs it does "
			    "not name");
		}
	}
	if (follow == 1)
		return deny_push_ref(g, "--follow-tags", "pushes tags it "
		    "does not name");
	if (follow == -1)
		g->lead = "--no-follow-tags";
	for (i = 0; i < g->nw; i++) {
		w = &g->w[i];
		if (!is_pos(w))
			continue;
		if (first) {		/* the remote */
			first = 0;
			continue;
		}
		/* "tag NAME" is refs/tags/NAME:refs/tags/NAME. */
		if (!tag && strcmp(w->word, "tag") == 0) {
			tag = 1;
			continue;
		}
		nref++;
		if (push_refspec(g, w, tag ? w->word : NULL) == -1)
			return -1;
		tag = 0;
	}
	if (tag)
		return deny(x, R_USAGE, "'%s tag' needs a tag name", g->disp);
	if (nref == 0)
		return deny_push_ref(g, NULL, "names no ref: name each, as "
		    "in 'push origin HEAD:REF'");
	return 0;
}

static int
push_check(struct seg *g)
{
	if (check_remote_args(g, 1) == -1)
		return -1;
	return push_refs_check(g);
}

static int
fetch_check(struct seg *g)
{
	return check_remote_args(g, 1);
}

static int
pull_check(struct seg *g)
{
	size_t	i;

	for (i = 0; i < g->nw; i++) {
		const struct pw *w = &g->w[i];

		if (w->o != NULL && w->o->l != NULL && !w->neg &&
		    strcmp(w->o->l, "rebase") == 0 && w->val != NULL &&
		    (strcmp(w->val, "interactive") == 0 ||
		    strcmp(w->val, "i") == 0))
			return deny(g->x, R_INTERACTIVE, "'%s --rebase=%s' "
			    "needs a terminal, and there is none", g->disp,
			    w->val);
	}
	return check_remote_args(g, 1);
}

static int
lsremote_check(struct seg *g)
{
	return check_remote_args(g, 0);
}

static int
remote_show_check(struct seg *g)
{
	size_t		 i;

	for (i = 0; i < g->nw; i++)
		if (is_pos(&g->w[i]) && !remote_allowed(g->x, g->w[i].word))
			return deny_remote(g, g->w[i].word);
	return 0;
}

/*
 * add -A/-u with no pathspec acts on the whole tree.  Whatever add takes
 * from the tree, it leaves out what is hidden from the calling agent, and
 * what may take untracked files is checked for nested repositories first
 * (the probe, see git-policy.h).
 */
static int
add_check(struct seg *g)
{
	int	tracked = has(g, "update", 0) || has(g, "renormalize", 0);
	size_t	np = count_pos(g, 0) + count_pos(g, 1);

	if ((has(g, "all", 0) || tracked) && np == 0)
		g->excl = 1;
	if (np > 0 || has(g, "all", 0) || tracked) {
		g->mexcl = 1;
		g->sweep = 1;
		g->untracked = !tracked;
	}
	return 0;
}

/*
 * stash records the tracked files' changes in a commit (a file that became
 * a repository, as a gitlink), and with -u the untracked files too: it is
 * probed as add is.
 */
static int
stashpush_check(struct seg *g)
{
	g->sweep = 1;
	g->untracked = has(g, "include-untracked", 'u');
	if (g->x->agent == NULL)
		return 0;
	/*
	 * What an agent stashes leaves out what it may not see, tracked
	 * files too: the stash commit is in .git, which its container reads,
	 * and "stash show -p" prints it.  "stash save" takes no pathspec;
	 * plain "stash" is written out as "stash push", which does.
	 */
	if (strcmp(g->sub->name, "push") != 0)
		return deny(g->x, R_MASKED, "'%s' cannot leave out the files "
		    "hidden from agents; use 'stash push'", g->disp);
	g->subnamed = 1;
	g->mexcl = 1;
	return 0;
}

/*
 * Whether a message has a line git could read as the agent trailer: after
 * any blanks (a continuation line), "QMS-Agent" in any case, ending
 * there (a separator, blanks, the line's end).  git matches trailer
 * tokens without regard to case.
 */
static int
trailer_line(const char *s)
{
	const char	*p;
	size_t		 n = strlen(GIT_POLICY_TRAILER);

	for (; s != NULL; s = (s = strchr(s, '\n')) != NULL ? s + 1 : NULL) {
		for (p = s; *p == ' ' || *p == '\t'; p++)
			;
		if (strncasecmp(p, GIT_POLICY_TRAILER, n) == 0 &&
		    !isalnum((unsigned char)p[n]) && p[n] != '-')
			return 1;
	}
	return 0;
}

/*
 * Whether a --trailer value names the agent trailer as git would match
 * it: its token (up to ':' or '=', trimmed) compared over the shorter
 * length without regard to case, so that "Q: x" and "qms-agent = x",
 * which git takes for QMS-Agent, are caught, and an empty token too.
 */
static int
trailer_token(const char *s)
{
	size_t	l, n = strlen(GIT_POLICY_TRAILER);

	while (*s == ' ' || *s == '\t')
		s++;
	l = strcspn(s, ":=");
	while (l > 0 && (s[l - 1] == ' ' || s[l - 1] == '\t'))
		l--;
	return strncasecmp(s, GIT_POLICY_TRAILER, l < n ? l : n) == 0;
}

/*
 * An agent's commits say who made them (git-policy.h): its messages
 * (commit, merge, tag, stash) never hold a QMS-Agent line, a commit's
 * --trailer never names it, and --author is the repository's policy, not
 * the agent's word.
 */
static int
agent_identity(struct seg *g)
{
	const struct pw	*w;
	size_t		 i;

	if (g->x->agent == NULL)
		return 0;
	for (i = 0; i < g->nw; i++) {
		w = &g->w[i];
		if (w->o == NULL || w->o->l == NULL || w->neg ||
		    w->val == NULL)
			continue;
		if (strcmp(w->o->l, "message") == 0 && trailer_line(w->val))
			return deny(g->x, R_TRAILER, "'%s %.*s': a line of the "
			    "message starts with %s, which qmsd writes itself "
			    "and no message may", g->disp, w->splen, w->sp,
			    GIT_POLICY_TRAILER);
		if (strcmp(g->cmd->name, "commit") != 0)
			continue;
		/* A value's later lines are written out as they are. */
		if (strcmp(w->o->l, "trailer") == 0 &&
		    (trailer_token(w->val) || trailer_line(w->val)))
			return deny(g->x, R_TRAILER, "'%s --trailer=%.*s' "
			    "would name the %s trailer, which qmsd writes "
			    "itself", g->disp, SW(w->val), GIT_POLICY_TRAILER);
		if (strcmp(w->o->l, "author") == 0)
			return deny(g->x, R_AUTHOR, "'%s --author' would name "
			    "an author; an agent's commits are authored as "
			    "[agent \"%s\"] git-author says", g->disp,
			    g->x->agent);
	}
	if (strcmp(g->cmd->name, "commit") == 0)
		g->trailer = 1;
	return 0;
}

/*
 * Options that widen a command to untracked or ignored files, whose
 * contents (grep) or names git on the host would show an agent from
 * directories its container hides.
 */
static int
agent_options(struct seg *g)
{
	static const char *const	widen[] = {
		"untracked", "others", "ignored", "killed", NULL
	};
	const char *const		*l;
	const struct pw			*w;
	size_t				 i;

	if (g->x->agent == NULL)
		return 0;
	for (i = 0; i < g->nw; i++) {
		w = &g->w[i];
		if (w->o == NULL || w->o->l == NULL || w->neg)
			continue;
		for (l = widen; *l != NULL; l++)
			if (strcmp(w->o->l, *l) == 0 &&
			    strcmp(g->cmd->name, "stash") != 0)
				return deny(g->x, R_MASKED, "'%s --%s' would "
				    "reach untracked or ignored files, such as "
				    "those hidden from agents", g->disp, *l);
		/*
		 * The stash it makes holds every tracked change, those of
		 * masked files too, in .git; the configured autoStash is
		 * off for every git qmsd runs (git-tool.c).
		 */
		if (strcmp(w->o->l, "autostash") == 0)
			return deny(g->x, R_MASKED, "'%s --autostash' would "
			    "record the changes of files hidden from agents in "
			    "a stash; commit or 'stash push' first", g->disp);
		if (strcmp(w->o->l, "untracked-files") == 0 &&
		    w->val != NULL && strcmp(w->val, "all") == 0)
			return deny(g->x, R_MASKED, "'%s --untracked-files="
			    "all' would list files hidden from agents; use "
			    "--untracked-files=normal", g->disp);
	}
	return 0;
}

/* -v as git counts it: each one adds, --no-verbose starts over. */
static int
verbosity(const struct seg *g)
{
	size_t	i;
	int	n = 0;

	for (i = 0; i < g->nw; i++)
		if (g->w[i].o != NULL && g->w[i].o->l != NULL &&
		    strcmp(g->w[i].o->l, "verbose") == 0)
			n = g->w[i].neg ? 0 : n + 1;
	return n;
}

/*
 * status -v -v (and commit's, in --dry-run or the message it prepares in
 * .git) prints the unstaged changes of every tracked file, and git leaves
 * pathspecs out of that diff (2.39), so nothing can be excluded from it:
 * an agent uses diff, which can.  One -v shows what is staged, which is in
 * .git already.
 */
static int
deny_verbose(struct seg *g)
{
	if (g->x->agent == NULL || verbosity(g) < 2)
		return 0;
	return deny(g->x, R_MASKED, "'%s -v -v' would show the unstaged "
	    "changes of every file, those hidden from agents included; use "
	    "'diff'", g->disp);
}

static int
status_check(struct seg *g)
{
	return deny_verbose(g);
}

/*
 * An agent's diff that may read the work tree ends with the exclusions of
 * a read (mask.h), so that no spelling of the paths (none, ".", a parent
 * directory, -R) shows a file its container masks.  Only --cached (index
 * and a tree) and two or more revisions before a "--" (trees, or blobs)
 * read nothing but objects, which its container reads in .git anyway.
 *
 * Without a "--", git takes words for revisions until the first that is
 * none, and every word after it for a path that must exist or look like a
 * pathspec: the exclusions then follow the agent's words without a "--",
 * which would make a path ("diff README.md") a revision.  Read as a
 * revision, ":(top,...)P" names the index entry "(top,...)P" at the top,
 * which no agent can write; were there one, git would be left with a tree
 * and a blob, or blobs, and refuse or compare objects only.
 */
static int
diff_check(struct seg *g)
{
	size_t	i, revs = 0;

	if (g->x->agent == NULL || has(g, "cached", 0) || has(g, "staged", 0))
		return 0;
	/* "-" is no revision: git refuses it as an option. */
	for (i = 0; i < g->nw; i++)
		if (is_pos(&g->w[i]) && !g->w[i].after &&
		    strcmp(g->w[i].word, "-") != 0)
			revs++;
	if (g->dd && revs >= 2)
		return 0;
	g->rexcl = 1;
	if (!g->dd && count_pos(g, 0) > 0)
		g->nodd = 1;
	return 0;
}

/*
 * commit -a stages every tracked change, a moved submodule included.
 * "commit --include -- <excludes>" is the same commit (both update the
 * tracked files matching a pathspec, here all but the protected ones and
 * what an agent may not see, on top of what is staged, and work during a
 * merge), so with protected paths, or for an agent, that is what runs.
 */
static int
commit_check(struct seg *g)
{
	size_t	i, np = count_pos(g, 0) + count_pos(g, 1);

	if (deny_verbose(g) == -1)
		return -1;
	/* What stages files before it commits is probed, as add is. */
	if (has(g, "all", 0) || has(g, "include", 0) || np > 0)
		g->sweep = 1;
	/*
	 * An agent's commit of paths takes their work tree content into
	 * .git, which its container reads: what it may not see stays out,
	 * as from add.  Without paths or -a it commits the index as it is.
	 */
	if (np > 0)
		g->mexcl = 1;
	if (!has(g, "all", 0))
		return 0;
	if (np > 0)
		return deny(g->x, R_USAGE, "'%s -a' with paths makes no sense: "
		    "drop -a, or the paths", g->disp);
	g->mexcl = 1;
	if (g->x->nprot == 0 && mexcl(g) == NULL)
		return 0;
	for (i = 0; i < g->nw; i++)
		if (g->w[i].o != NULL && g->w[i].o->l != NULL &&
		    strcmp(g->w[i].o->l, "all") == 0 && !g->w[i].neg)
			g->w[i].repl = "--include";
	g->excl = 1;
	return 0;
}

static int
restore_check(struct seg *g)
{
	if (!has(g, "staged", 'S') || has(g, "worktree", 'W'))
		return deny(g->x, R_DISCARD, "'%s' of the working tree would "
		    "discard uncommitted changes; only 'restore --staged' "
		    "(unstage) is allowed", g->disp);
	return 0;
}

/*
 * checkout switches branches, or with paths overwrites them from the
 * index or a commit, discarding changes.  Only the first is allowed, and
 * a trailing "--" makes git take the one argument as a revision: a file
 * of the same name is never checked out.
 */
static int
checkout_check(struct seg *g)
{
	struct pw	*w;
	char		*n;
	int		 outside;

	if (count_pos(g, 1) > 0) {
		w = nth_pos(g, count_pos(g, 0));
		return deny(g->x, R_DISCARD, "'%s -- %.*s' would discard "
		    "uncommitted changes; use 'restore --staged' to unstage, "
		    "'switch' to change branch", g->disp, SW(w->word));
	}
	if (count_pos(g, 0) > 1) {
		w = nth_pos(g, 1);
		return deny(g->x, R_DISCARD, "'%s ... %.*s': checking out "
		    "paths would discard uncommitted changes", g->disp,
		    SW(w->word));
	}
	if ((w = nth_pos(g, 0)) == NULL)
		return 0;
	if (is_glob(w->word))
		return deny(g->x, R_DISCARD, "'%s %.*s' names paths, and "
		    "checking out paths would discard uncommitted changes",
		    g->disp, SW(w->word));
	if ((n = tree_path(g->x, w->word, &outside)) == NULL) {
		if (!outside)
			return nomem(g->x);
		return deny(g->x, R_OUTSIDE, "'%s %.*s' reaches outside the "
		    "repository", g->disp, SW(w->word));
	} else {
		const char *p = protected_by(g->x, n);

		if (n[0] == '\0') {
			free(n);
			return deny(g->x, R_DISCARD, "'%s %.*s' would discard "
			    "uncommitted changes in the whole tree", g->disp,
			    SW(w->word));
		}
		free(n);
		if (p != NULL)
			return deny(g->x, R_PROTECTED, "'%s %.*s' would change "
			    "the protected path '%s'", g->disp, SW(w->word),
			    p);
	}
	if (!g->dd)
		g->add_dd = 1;
	return 0;
}

static int
switch_check(struct seg *g)
{
	if (count_pos(g, 0) + count_pos(g, 1) > 2)
		return deny(g->x, R_USAGE, "'%s': too many arguments",
		    g->disp);
	return 0;
}

/*
 * grep's first argument is the pattern, unless -e or -f gave one.
 *
 * An agent's grep reads the index or trees, never the work tree: there,
 * git follows a link the agent planted in its workspace into what its
 * container masks.  Without revisions it gets --cached; with words
 * before "--", a "--" after them makes each a revision (a path among
 * them is git's "bad revision", which says to write "-- PATH").
 */
static int
grep_check(struct seg *g)
{
	size_t		 i;
	int		 skip = !has(g, NULL, 'e') && !has(g, NULL, 'f');
	int		 revs = 0;
	struct pw	*w;

	for (i = 0; i < g->nw; i++) {
		w = &g->w[i];
		if (!is_pos(w))
			continue;
		if (skip && !w->after) {
			skip = 0;
			continue;
		}
		if (!w->after)
			revs = 1;
		if (check_path(g, w->word, w->after ? W_PATH : W_AMBIG) == -1)
			return -1;
	}
	if (g->x->agent == NULL || has(g, "cached", 0))
		return 0;
	if (revs) {
		if (!g->dd)
			g->add_dd = 1;
	} else
		g->lead = "--cached";	/* git reads options first only */
	return 0;
}

/*
 * An agent's blame names the one revision it ends at ("blame HEAD --
 * FILE"): without a positive end (no revision, "^X", "X..", "X...", or
 * --reverse, which walks the other way) git blames the work tree,
 * following a link the agent planted into what its container masks.
 */
static int
blame_check(struct seg *g)
{
	const struct pw	*w = NULL;
	size_t		 i;

	if (g->x->agent == NULL)
		return 0;
	for (i = 0; i < g->nw; i++)
		if (is_pos(&g->w[i]) && !g->w[i].after)
			w = &g->w[i];
	if (count_pos(g, 0) == 1 && count_pos(g, 1) > 0 && w != NULL &&
	    w->word[0] != '^' && strstr(w->word, "..") == NULL &&
	    !has(g, "reverse", 0))
		return 0;
	return deny(g->x, R_MASKED, "'%s' of the work tree is not for agents, "
	    "which read a revision: write 'blame REV -- FILE' with one "
	    "revision that it ends at (HEAD, a branch, a commit; no range, "
	    "no ^, no --reverse)", g->disp);
}

/*
 * shortlog with no revision reads a log from stdin when stdin is not a
 * terminal, which here is always: name HEAD, as it would at a terminal.
 */
static int
shortlog_check(struct seg *g)
{
	if (count_pos(g, 0) == 0)
		g->insert = "HEAD";
	return 0;
}

static int
config_check(struct seg *g)
{
	static const char *const	reads[] = {
		"get", "get-all", "get-regexp", "get-urlmatch", "list",
		"get-color", "get-colorbool", NULL
	};
	static const char *const	writes[] = {
		"set", "unset", "rename-section", "remove-section", "edit",
		NULL
	};
	const char *const		*r;
	struct pw			*w;

	/*
	 * Only the repository's own configuration: the owner's global one
	 * holds credentials (http.extraheader), and without --local git
	 * reads it too.  --blob names a file in the repository.
	 */
	if (!has(g, "blob", 0) && !has(g, "local", 0) &&
	    !has(g, "worktree", 0))
		g->lead = "--local";
	for (r = reads; *r != NULL; r++)
		if (has(g, *r, 0))
			return 0;
	if ((w = nth_pos(g, 0)) == NULL)
		return 0;
	/* git 2.46 and later spell the modes as words. */
	for (r = reads; *r != NULL; r++)
		if (strcmp(w->word, *r) == 0)
			return 0;
	for (r = writes; *r != NULL; r++)
		if (strcmp(w->word, *r) == 0)
			return deny(g->x, R_CONFIG, "'%s %s' would change git "
			    "configuration", g->disp, *r);
	if (count_pos(g, 0) + count_pos(g, 1) > 1)
		return deny(g->x, R_CONFIG, "'%s %.*s VALUE' would change git "
		    "configuration; only reading is allowed", g->disp,
		    SW(w->word));
	return 0;
}

/* The subcommand table. */

#define T(...)		{ __VA_ARGS__ }
#define CMD(n, o, p, f, c) \
	{ n, R_NONE, NULL, o, p, f, c, NULL, NULL }
#define NESTED(n, f, subs, def) \
	{ n, R_NONE, NULL, T(NULL, NULL, NULL), P_CUSTOM, f, NULL, subs, def }
#define NO(n, r, why) \
	{ n, r, why, T(NULL, NULL, NULL), P_NONE, 0, NULL, NULL, NULL }
#define CEND \
	{ NULL, R_NONE, NULL, T(NULL, NULL, NULL), P_NONE, 0, NULL, NULL, NULL }

#define LOGLIKE		T(o_rev, o_diff, o_show)

static const struct gcmd stash_subs[] = {
	CMD("push", T(o_stashpush, NULL, NULL), P_PATHS, C_MUTATE,
	    stashpush_check),
	CMD("save", T(o_stashpush, NULL, NULL), P_REVS, 0, stashpush_check),
	CMD("list", T(o_rev, o_diff, NULL), P_NONE, C_NUM, NULL),
	CMD("show", T(o_stashshow, o_diff, NULL), P_REVS, 0, NULL),
	CMD("pop", T(o_stashapply, NULL, NULL), P_REVS, 0, NULL),
	CMD("apply", T(o_stashapply, NULL, NULL), P_REVS, 0, NULL),
	CMD("branch", T(o_none, NULL, NULL), P_REVS, 0, NULL),
	NO("drop", R_HISTORY, "would delete a stash"),
	NO("clear", R_HISTORY, "would delete every stash"),
	NO("create", R_SUBCOMMAND, "is not allowed; use 'stash push'"),
	NO("store", R_SUBCOMMAND, "is not allowed; use 'stash push'"),
	CEND
};

static const struct gcmd remote_subs[] = {
	CMD("(list)", T(o_remote, NULL, NULL), P_NONE, 0, NULL),
	CMD("show", T(o_remoteshow, NULL, NULL), P_CUSTOM, 0,
	    remote_show_check),
	CMD("get-url", T(o_remotegeturl, NULL, NULL), P_REVS, 0, NULL),
	NO("add", R_CONFIG, "would add a remote"),
	NO("rename", R_CONFIG, "would rename a remote"),
	NO("remove", R_CONFIG, "would remove a remote"),
	NO("rm", R_CONFIG, "would remove a remote"),
	NO("set-head", R_CONFIG, "would change a remote"),
	NO("set-branches", R_CONFIG, "would change a remote"),
	NO("set-url", R_CONFIG, "would change a remote's URL"),
	NO("prune", R_HISTORY, "would delete remote-tracking branches"),
	NO("update", R_REMOTE, "would fetch from every remote"),
	CEND
};

static const struct gcmd reflog_subs[] = {
	CMD("show", LOGLIKE, P_REVPATH, C_NUM, NULL),
	CMD("exists", T(o_none, NULL, NULL), P_REVS, 0, NULL),
	NO("expire", R_HISTORY, "would delete reflog entries"),
	NO("delete", R_HISTORY, "would delete reflog entries"),
	CEND
};

static const struct gcmd bisect_subs[] = {
	CMD("start", T(o_bisectstart, NULL, NULL), P_REVPATH, 0, NULL),
	CMD("bad", T(o_none, NULL, NULL), P_REVS, 0, NULL),
	CMD("good", T(o_none, NULL, NULL), P_REVS, 0, NULL),
	CMD("new", T(o_none, NULL, NULL), P_REVS, 0, NULL),
	CMD("old", T(o_none, NULL, NULL), P_REVS, 0, NULL),
	CMD("skip", T(o_none, NULL, NULL), P_REVS, 0, NULL),
	CMD("reset", T(o_none, NULL, NULL), P_REVS, 0, NULL),
	CMD("log", T(o_none, NULL, NULL), P_NONE, 0, NULL),
	CMD("terms", T(o_bisectterms, NULL, NULL), P_NONE, 0, NULL),
	NO("run", R_PROGRAM, "would run a command at every step"),
	NO("replay", R_OUTSIDE, "reads a file; use 'bisect good/bad'"),
	NO("visualize", R_PROGRAM, "would start gitk; use 'bisect log'"),
	NO("view", R_PROGRAM, "would start gitk; use 'bisect log'"),
	CEND
};

static const struct gcmd cmds[] = {
	/* Reading. */
	CMD("status", T(o_status, NULL, NULL), P_PATHS, 0, status_check),
	CMD("log", LOGLIKE, P_REVPATH, C_NUM, NULL),
	CMD("show", LOGLIKE, P_REVPATH, C_NUM, NULL),
	CMD("whatchanged", LOGLIKE, P_REVPATH, C_NUM, NULL),
	CMD("diff", T(o_diffonly, o_diff, NULL), P_REVPATH, 0, diff_check),
	CMD("blame", T(o_blame, NULL, NULL), P_REVPATH, 0, blame_check),
	CMD("ls-files", T(o_lsfiles, NULL, NULL), P_PATHS, 0, NULL),
	CMD("ls-tree", T(o_lstree, NULL, NULL), P_REVPATH, 0, NULL),
	CMD("rev-parse", T(o_revparse, NULL, NULL), P_REVPATH, 0, NULL),
	CMD("rev-list", T(o_rev, NULL, NULL), P_REVPATH, C_NUM, NULL),
	CMD("describe", T(o_describe, NULL, NULL), P_REVS, 0, NULL),
	CMD("shortlog", T(o_shortlog, o_rev, NULL), P_REVPATH, C_NUM,
	    shortlog_check),
	CMD("grep", T(o_grep, NULL, NULL), P_CUSTOM, C_NUM, grep_check),
	CMD("cat-file", T(o_catfile, NULL, NULL), P_REVS, 0, NULL),
	CMD("merge-base", T(o_mergebase, NULL, NULL), P_REVS, 0, NULL),
	CMD("name-rev", T(o_namerev, NULL, NULL), P_REVS, 0, NULL),
	CMD("show-ref", T(o_showref, NULL, NULL), P_REVS, 0, NULL),
	CMD("check-ignore", T(o_checkignore, NULL, NULL), P_PATHS, 0, NULL),
	CMD("count-objects", T(o_countobjects, NULL, NULL), P_NONE, 0, NULL),
	CMD("cherry", T(o_cherry, NULL, NULL), P_REVS, 0, NULL),
	CMD("ls-remote", T(o_lsremote, NULL, NULL), P_CUSTOM, 0,
	    lsremote_check),
	CMD("config", T(o_config, NULL, NULL), P_REVS, 0, config_check),
	CMD("version", T(o_version, NULL, NULL), P_NONE, 0, NULL),
	NESTED("reflog", C_SUBWORD, reflog_subs, &reflog_subs[0]),
	NESTED("remote", 0, remote_subs, &remote_subs[0]),

	/* Changing. */
	CMD("add", T(o_add, NULL, NULL), P_PATHS, C_MUTATE, add_check),
	CMD("commit", T(o_commit, NULL, NULL), P_PATHS, C_MUTATE,
	    commit_check),
	CMD("push", T(o_push, NULL, NULL), P_CUSTOM, 0, push_check),
	CMD("fetch", T(o_fetch, NULL, NULL), P_CUSTOM, 0, fetch_check),
	CMD("pull", T(o_pull, NULL, NULL), P_CUSTOM, 0, pull_check),
	CMD("branch", T(o_branch, NULL, NULL), P_REVS, 0, NULL),
	CMD("checkout", T(o_checkout, NULL, NULL), P_CUSTOM, C_MUTATE,
	    checkout_check),
	CMD("switch", T(o_switch, NULL, NULL), P_REVS, 0, switch_check),
	CMD("restore", T(o_restore, NULL, NULL), P_PATHS, C_MUTATE,
	    restore_check),
	NESTED("stash", 0, stash_subs, &stash_subs[0]),
	CMD("tag", T(o_tag, NULL, NULL), P_REVS, 0, NULL),
	CMD("merge", T(o_merge, NULL, NULL), P_REVS, 0, NULL),
	CMD("rebase", T(o_rebase, NULL, NULL), P_REVS, 0, NULL),
	CMD("cherry-pick", T(o_cherrypick, NULL, NULL), P_REVS, 0, NULL),
	CMD("revert", T(o_revert, NULL, NULL), P_REVS, 0, NULL),
	CMD("rm", T(o_rm, NULL, NULL), P_PATHS, C_MUTATE, NULL),
	CMD("reset", T(o_reset, NULL, NULL), P_REVPATH, C_MUTATE, NULL),
	NESTED("bisect", 0, bisect_subs, NULL),
	CMD("format-patch", T(o_formatpatch, o_diff, NULL), P_REVPATH, C_NUM,
	    NULL),
	CMD("gc", T(o_gc, NULL, NULL), P_NONE, 0, NULL),

	/* Refused, with the reason. */
	NO("mv", R_OUTSIDE, "follows symbolic links, so it could move files "
	    "into or out of the repository; rename with mv in your own "
	    "directory and 'add -A'"),
	NO("clean", R_DISCARD, "would delete untracked files; 'status' or "
	    "'ls-files --others' lists them"),
	NO("submodule", R_SUBMODULE, NULL),
	NO("worktree", R_OUTSIDE, "would create working trees outside the "
	    "repository"),
	NO("clone", R_OUTSIDE, "would create a repository"),
	NO("init", R_OUTSIDE, "would create a repository"),
	NO("filter-branch", R_HISTORY, "would rewrite all of history"),
	NO("filter-repo", R_HISTORY, "would rewrite all of history"),
	NO("update-ref", R_HISTORY, "would write refs directly"),
	NO("symbolic-ref", R_HISTORY, "would write refs directly"),
	NO("prune", R_HISTORY, "would delete unreachable objects"),
	NO("replace", R_HISTORY, "would replace objects"),
	NO("difftool", R_PROGRAM, "would run an external diff tool"),
	NO("mergetool", R_PROGRAM, "would run an external merge tool"),
	NO("daemon", R_PROGRAM, "would start a server"),
	NO("instaweb", R_PROGRAM, "would start a web server"),
	NO("send-email", R_PROGRAM, "would send mail"),
	NO("imap-send", R_PROGRAM, "would send mail"),
	NO("help", R_PROGRAM, "would start a manual viewer"),
	NO("archive", R_OUTSIDE, "writes archives outside the repository "
	    "and reaches other hosts"),
	CEND
};

int
git_policy_subcommand(const char *name)
{
	const struct gcmd	*c;

	for (c = cmds; c->name != NULL; c++)
		if (c->r == R_NONE && strcmp(c->name, name) == 0)
			return 1;
	return 0;
}

static const struct gcmd *
find_cmd(const struct gcmd *tab, const char *name)
{
	for (; tab->name != NULL; tab++)
		if (strcmp(tab->name, name) == 0)
			return tab;
	return NULL;
}

static int
deny_subcommand(struct pctx *x, const char *name)
{
	const struct gcmd	*c;
	char			 list[512];
	size_t			 n = 0;

	list[0] = '\0';
	for (c = cmds; c->name != NULL && n < sizeof(list); c++)
		if (c->r == R_NONE)
			n += snprintf(list + n, sizeof(list) - n, "%s%s",
			    n > 0 ? " " : "", c->name);
	return deny(x, R_SUBCOMMAND, "'git %.*s' is not an allowed "
	    "subcommand; allowed: %s", SW(name), list);
}

/*
 * Global options would change what git is (-c, -C, --git-dir, --exec-path,
 * ...); none is allowed.  --no-pager is accepted and dropped, since with
 * no terminal nothing is paged.
 */
static int
deny_global(struct pctx *x, const char *a)
{
	static const struct {
		const char	*name;
		const char	*why;
	} g[] = {
		{ "-c", "would inject configuration" },
		{ "--config-env", "would inject configuration" },
		{ "-C", "would run git in another directory" },
		{ "--git-dir", "would use another repository" },
		{ "--work-tree", "would use another working tree" },
		{ "--exec-path", "would run git programs from elsewhere" },
		{ "--namespace", "would change the refs namespace" },
		{ "-p", "would start a pager" },
		{ "--paginate", "would start a pager" },
		{ "--super-prefix", "is internal to git" },
		{ "--bare", "would treat the repository as bare" },
		{ "--list-cmds", "is internal to git" },
	};
	size_t	i, l;

	for (i = 0; i < sizeof(g) / sizeof(g[0]); i++) {
		l = strlen(g[i].name);
		if (strncmp(a, g[i].name, l) == 0 &&
		    (a[l] == '\0' || a[l] == '=' || (l == 2 && a[1] != '-')))
			return deny(x, R_GLOBAL, "'git %s' %s; options before "
			    "the subcommand are not allowed", g[i].name,
			    g[i].why);
	}
	return deny(x, R_GLOBAL, "'git %.*s': options before the subcommand "
	    "are not allowed", SW(a));
}

/* Output. */

struct vec {
	char	**v;
	size_t	  n;
	size_t	  cap;
};

static int
vec_add(struct vec *v, char *s)
{
	char	**nv;
	size_t	  ncap;

	if (s == NULL)
		return -1;
	if (v->n + 2 > v->cap) {
		ncap = v->cap == 0 ? 16 : v->cap * 2;
		if ((nv = reallocarray(v->v, ncap, sizeof(*nv))) == NULL) {
			free(s);
			return -1;
		}
		v->v = nv;
		v->cap = ncap;
	}
	v->v[v->n++] = s;
	v->v[v->n] = NULL;
	return 0;
}

static int	vec_addf(struct vec *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static int
vec_addf(struct vec *v, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	int	 r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r == -1)
		return -1;
	return vec_add(v, s);
}

static int
emit_option(struct vec *v, const struct pw *w)
{
	const struct gopt	*o = w->o;

	if (w->repl != NULL)
		return vec_add(v, strdup(w->repl));
	if (w->neg)
		return vec_addf(v, "--no-%s", o->l);
	if (o->l != NULL) {
		if (w->val != NULL)
			return vec_addf(v, "--%s=%s", o->l, w->val);
		return vec_addf(v, "--%s", o->l);
	}
	if ((o->f & O_ARG) && w->val != NULL) {
		if (vec_addf(v, "-%c", o->s) == -1)
			return -1;
		return vec_add(v, strdup(w->val));
	}
	if (w->val != NULL)
		return vec_addf(v, "-%c%s", o->s, w->val);
	return vec_addf(v, "-%c", o->s);
}

/* The agent's exclusions this command ends with (none for the owner). */
static char *const *
mexcl(const struct seg *g)
{
	char *const	*m = g->rexcl ? g->x->rexcl : g->mexcl ?
			    g->x->mexcl : NULL;

	return m != NULL && m[0] != NULL ? m : NULL;
}

/* The exclude pathspecs: protected paths, and what agents may not see. */
static int
excludes(struct seg *g, struct vec *v)
{
	struct pctx	*x = g->x;
	char *const	*m = mexcl(g);
	size_t		 i;

	for (i = 0; g->excl && i < x->nprot; i++)
		if (vec_addf(v, ":(top,literal,exclude)%s", x->prot[i]) == -1)
			return -1;
	for (i = 0; m != NULL && m[i] != NULL; i++)
		if (vec_add(v, strdup(m[i])) == -1)
			return -1;
	return 0;
}

/*
 * The agent's trailer, after every option of its own (git applies
 * --trailer in order, and the configuration git-tool.c gives puts this one
 * last, in place of any QMS-Agent already in the message).
 */
static int
emit_trailer(struct seg *g, struct vec *v)
{
	return vec_addf(v, "--trailer=%s: %s", GIT_POLICY_TRAILER,
	    g->x->agent);
}

static int
emit(struct seg *g, struct vec *v)
{
	struct pctx	*x = g->x;
	size_t		 i;
	int		 inserted = 0, dd = 0;

	if (vec_add(v, strdup("git")) == -1 ||
	    vec_add(v, strdup(g->cmd->name)) == -1)
		return -1;
	if (g->subnamed && vec_add(v, strdup(g->sub->name)) == -1)
		return -1;
	if (g->lead != NULL && vec_add(v, strdup(g->lead)) == -1)
		return -1;
	for (i = 0; i < g->nw; i++) {
		const struct pw *w = &g->w[i];

		if (w->dd) {
			if (g->insert != NULL && !inserted) {
				if (vec_add(v, strdup(g->insert)) == -1)
					return -1;
				inserted = 1;
			}
			if (g->trailer && !dd && emit_trailer(g, v) == -1)
				return -1;
			dd = 1;
			if (vec_add(v, strdup("--")) == -1)
				return -1;
		} else if (w->o != NULL) {
			if (emit_option(v, w) == -1)
				return -1;
		} else if (vec_add(v, strdup(w->repl != NULL ? w->repl :
		    w->word)) == -1)
			return -1;
	}
	if (g->insert != NULL && !inserted &&
	    vec_add(v, strdup(g->insert)) == -1)
		return -1;
	if (g->trailer && !dd && emit_trailer(g, v) == -1)
		return -1;
	if ((g->add_dd || (g->excl && x->nprot > 0) || mexcl(g) != NULL) &&
	    !dd && !g->nodd) {
		if (vec_add(v, strdup("--")) == -1)
			return -1;
	}
	return excludes(g, v);
}

/*
 * What runs before a command that stages files (add, commit -a/-i/PATHS,
 * stash): the state of what it would take, as git status sees it, the
 * untracked files only where it takes them (add of paths or -A, stash
 * -u).  A
 * repository inside the project shows as an untracked "DIR/", or as a
 * tracked path whose work tree mode is now 160000 (a file replaced by a
 * repository): staged, either becomes a gitlink, and git would later run
 * inside it under its own configuration.  The caller refuses the chain
 * then.  Submodules are not entered (--ignore-submodules=all), and no
 * optional lock is taken.
 */
static int
emit_probe(struct seg *g, struct vec *v)
{
	static const char *const	head[] = {
		"git", "--no-optional-locks", "status", "--porcelain=v2", "-z",
		"--untracked-files=all", "--ignore-submodules=all", "--no-renames",
		"--", NULL
	};
	size_t				i;

	/*
	 * What takes no untracked file (add -u, commit, stash without -u)
	 * is not refused for one: an untracked .env beside a commit -a.
	 */
	for (i = 0; head[i] != NULL; i++)
		if (vec_add(v, strdup(!g->untracked && strncmp(head[i],
		    "--untracked-files=", 18) == 0 ? "--untracked-files=no" :
		    head[i])) == -1)
			return -1;
	for (i = 0; i < g->nw; i++)
		if (is_pos(&g->w[i]) && vec_add(v, strdup(g->w[i].word)) == -1)
			return -1;
	return excludes(g, v);
}

/* One command of the chain. */
static int
check_segment(struct pctx *x, char **argv, struct vec *out,
    struct vec *probe)
{
	struct seg		 g;
	const struct gcmd	*c, *s;
	char			**a = argv;
	size_t			 n, i;
	int			 r = -1;

	memset(&g, 0, sizeof(g));
	g.x = x;
	if (*a != NULL && strcmp(*a, "git") == 0)
		a++;
	while (*a != NULL && (strcmp(*a, "--no-pager") == 0 ||
	    strcmp(*a, "-P") == 0))
		a++;
	if (*a == NULL)
		return deny(x, R_EMPTY, "'git' with no subcommand; try "
		    "'status'");
	if ((*a)[0] == '-')
		return deny_global(x, *a);
	if ((c = find_cmd(cmds, *a)) == NULL)
		return deny_subcommand(x, *a);
	if (c->r != R_NONE)
		return deny(x, c->r, "'git %s' %s", c->name,
		    c->why != NULL ? c->why : rules[c->r].why);
	g.cmd = c;
	a++;
	snprintf(g.disp, sizeof(g.disp), "%s", c->name);
	if (c->subs != NULL) {
		if (*a != NULL && (s = find_cmd(c->subs, *a)) != NULL &&
		    s->name[0] != '(') {
			g.subnamed = 1;
			a++;
		} else if (*a != NULL && (*a)[0] != '-' &&
		    !(c->flags & C_SUBWORD))
			return deny(x, R_SUBCOMMAND, "'git %s %.*s' is not an "
			    "allowed subcommand", c->name, SW(*a));
		else if ((s = c->defsub) == NULL)
			return deny(x, R_USAGE, "'git %s' needs a subcommand",
			    c->name);
		if (s->r != R_NONE)
			return deny(x, s->r, "'git %s %s' %s", c->name,
			    s->name, s->why != NULL ? s->why :
			    rules[s->r].why);
		g.sub = s;
		if (s->name[0] != '(')
			snprintf(g.disp, sizeof(g.disp), "%s %s", c->name,
			    s->name);
	}
	g.in = a;
	/* A word yields at most one parsed word per byte (-abc). */
	for (n = 1, i = 0; a[i] != NULL; i++)
		n += strlen(a[i]) + 1;
	if ((g.w = calloc(n, sizeof(*g.w))) == NULL)
		return nomem(x);
	if (parse(&g) == -1 || agent_options(&g) == -1 ||
	    agent_identity(&g) == -1 || check_positionals(&g) == -1)
		goto out;
	s = g.sub != NULL ? g.sub : g.cmd;
	if (s->check != NULL && s->check(&g) == -1)
		goto out;
	if (emit(&g, out) == -1 || (g.sweep && emit_probe(&g, probe) == -1)) {
		r = nomem(x);
		goto out;
	}
	r = 0;
out:
	free(g.w);
	for (i = 0; i < g.nowned; i++)
		free(g.owned[i]);
	free(g.owned);
	return r;
}

static enum rule
argv_rule(int e)
{
	switch (-e) {
	case ARGV_EQUOTE:
		return R_QUOTING;
	case ARGV_EEXPAND:
		return R_EXPANSION;
	case ARGV_EOPERATOR:
		return R_OPERATOR;
	case ARGV_ECOMMENT:
		return R_COMMENT;
	case ARGV_ECONTROL:
		return R_CONTROL;
	case ARGV_EEMPTY:
		return R_EMPTY;
	default:
		return R_INTERNAL;
	}
}

static int
setup(struct pctx *x, const struct git_policy *pol)
{
	size_t	 i;
	int	 outside;
	char	*p;

	if (pol->root == NULL || pol->root[0] != '/')
		return deny(x, R_POLICY, "the policy's root is not an "
		    "absolute path");
	if ((x->root = malloc(strlen(pol->root) + 2)) == NULL)
		return nomem(x);
	norm(pol->root, x->root);
	x->remotes = pol->remotes;
	x->nremotes = pol->remotes != NULL ? pol->nremotes : 0;
	x->allow_no_verify = pol->allow_no_verify;
	if ((x->agent = pol->agent) != NULL)
		x->push_refs = (char *const *)pol->push_refs;
	if (x->agent != NULL) {
		for (i = 0; pol->masks != NULL && pol->masks[i] != NULL; i++)
			;
		if ((x->masks = calloc(i + 1, sizeof(*x->masks))) == NULL)
			return nomem(x);
		for (i = 0; pol->masks != NULL && pol->masks[i] != NULL; i++) {
			p = tree_path(x, pol->masks[i], &outside);
			if (p == NULL && !outside)
				return nomem(x);
			if (p == NULL || p[0] == '\0') {
				free(p);
				return deny(x, R_POLICY, "the mask '%.*s' is not "
				    "inside the repository", SW(pol->masks[i]));
			}
			x->masks[i] = p;
		}
		x->mexcl = mask_pathspecs(x->agent,
		    (const char *const *)x->masks, pol->users);
		x->rexcl = mask_read_pathspecs(x->agent,
		    (const char *const *)x->masks, pol->users);
		if (x->mexcl == NULL || x->rexcl == NULL)
			return nomem(x);
	}
	if (pol->nprotected == 0 || pol->protected_paths == NULL)
		return 0;
	if ((x->prot = calloc(pol->nprotected, sizeof(*x->prot))) == NULL)
		return nomem(x);
	for (i = 0; i < pol->nprotected; i++) {
		p = tree_path(x, pol->protected_paths[i], &outside);
		if (p == NULL && !outside)
			return nomem(x);
		if (p == NULL || p[0] == '\0') {
			free(p);
			return deny(x, R_POLICY, "the protected path '%.*s' "
			    "is not inside the repository",
			    SW(pol->protected_paths[i]));
		}
		x->prot[x->nprot++] = p;
	}
	return 0;
}

static void
teardown(struct pctx *x)
{
	size_t	i;

	free(x->root);
	for (i = 0; i < x->nprot; i++)
		free(x->prot[i]);
	free(x->prot);
	argv_free(x->masks);
	argv_free(x->mexcl);
	argv_free(x->rexcl);
}

int
git_policy_checkn(const struct git_policy *pol, const char *cmd, size_t len,
    struct git_verdict *v)
{
	struct pctx		x;
	struct argv_chain	c;
	struct vec		out, probe;
	char			err[256];
	size_t			i, n;
	int			r;

	memset(v, 0, sizeof(*v));
	memset(&x, 0, sizeof(x));
	memset(&c, 0, sizeof(c));
	x.v = v;
	if (setup(&x, pol) == -1)
		goto denied;
	if ((r = argv_split_chain_n(cmd, len, &c, err, sizeof(err))) < 0) {
		deny(&x, argv_rule(r), "%s", err);
		goto denied;
	}
	if (c.nseg == 0) {
		deny(&x, R_EMPTY, "nothing to run; try 'status'");
		goto denied;
	}
	if ((v->argv = calloc(c.nseg + 1, sizeof(*v->argv))) == NULL ||
	    (v->probe = calloc(c.nseg + 1, sizeof(*v->probe))) == NULL) {
		nomem(&x);
		goto denied;
	}
	for (i = 0; i < c.nseg; i++) {
		/* A bound, so that every check stays cheap (item: 960 KB). */
		if ((n = argv_count(c.segv[i])) > GIT_POLICY_MAX_WORDS) {
			deny(&x, R_USAGE, "command %zu of the chain has %zu "
			    "words; at most %d are accepted: split it", i + 1,
			    n, GIT_POLICY_MAX_WORDS);
			goto denied;
		}
	}
	for (i = 0; i < c.nseg; i++) {
		memset(&out, 0, sizeof(out));
		memset(&probe, 0, sizeof(probe));
		r = check_segment(&x, c.segv[i], &out, &probe);
		if (out.v != NULL) {
			v->probe[v->nargv] = probe.v;
			v->argv[v->nargv++] = out.v;
		} else
			argv_free(probe.v);
		if (r == -1)
			goto denied;
	}
	argv_chain_free(&c);
	teardown(&x);
	v->allowed = 1;
	return 0;

denied:
	argv_chain_free(&c);
	teardown(&x);
	git_verdict_free(v);
	v->nargv = 0;
	v->allowed = 0;
	return -1;
}

int
git_policy_check(const struct git_policy *pol, const char *cmd,
    struct git_verdict *v)
{
	return git_policy_checkn(pol, cmd, strlen(cmd), v);
}

void
git_verdict_free(struct git_verdict *v)
{
	size_t	i;

	for (i = 0; i < v->nargv; i++) {
		argv_free(v->argv[i]);
		if (v->probe != NULL)
			argv_free(v->probe[i]);
	}
	free(v->argv);
	free(v->probe);
	v->argv = NULL;
	v->probe = NULL;
	v->nargv = 0;
}
