#!/usr/bin/env python3
"""Red-team review of issue 13: the next variant of each hole, performed
for real against a real qmsd.  Each test fails while its hole is open."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gitrepo
from qmsdtest import main
from test_git import Env

SECRET = "s3cr3t-" + "9a2b4d"

PAYLOAD_C = r"""
#include <fcntl.h>
#include <unistd.h>
int main(void) {
	char buf[4096]; ssize_t n;
	close(open(MARKER, O_CREAT | O_WRONLY, 0644));
	while ((n = read(0, buf, sizeof buf)) > 0)
		write(1, buf, n);
	return 0;
}
"""


def build_payload(path, marker):
    """A program (no shell needed) that leaves marker when it runs."""
    src = path + ".c"
    with open(src, "w") as f:
        f.write(PAYLOAD_C)
    subprocess.run(["cc", "-O", "-o", path, "-DMARKER=\"%s\"" % marker, src],
                   check=True)
    os.unlink(src)


def nested_repo(where, payload):
    """A repository whose clean filter is a program in the agent's own
    workspace, with a file git must re-read (same size, older stamp)."""
    os.makedirs(where)
    # A gitfile, as a submodule has: git asks such a one for its status.
    gitrepo.git(where, "init", "-q", "--separate-git-dir",
                where + ".git")
    gitrepo.git(where, "config", "filter.evil.clean", payload)
    gitrepo.git(where, "config", "filter.evil.smudge", payload)
    gitrepo.git(where, "config", "diff.external", payload)
    with open(os.path.join(where, ".gitattributes"), "w") as f:
        f.write("* filter=evil\n")
    with open(os.path.join(where, "f"), "w") as f:
        f.write("x\n")
    gitrepo.git(where, "-c", "filter.evil.clean=cat", "add", "f",
                ".gitattributes")
    gitrepo.git(where, "-c", "filter.evil.clean=cat", "-c", "user.name=a",
                "-c", "user.email=a@b", "commit", "-q", "-m", "x")
    with open(os.path.join(where, "f"), "w") as f:
        f.write("y\n")
    os.utime(os.path.join(where, "f"), (946684800, 946684800))


def gitlinks(project):
    stage = gitrepo.git(project, "ls-files", "-s")
    return [l for l in stage.splitlines()
            if l.startswith("160000") and not l.endswith("\tflow-state")]


def test_typechange_to_gitlink_runs_agent_program():
    """A file the agent committed in its workspace, replaced by a
    repository: "add -u" and "commit -a" take tracked paths only, so no
    probe runs, and git records the typechange as a gitlink.  Then "rm
    --cached" asks the new submodule for its status: a git runs inside it
    under its own configuration, whose clean filter is a program in the
    workspace, and Landlock lets it run because the project root is
    granted every right, execute included.  "rm --cached" is spared only
    by accident: git-submodule is a shell script Landlock refuses, but
    "describe --dirty" asks the submodule's status directly (it reads no
    diff.ignoreSubmodules)."""
    e = Env()
    try:
        ws = os.path.join(e.project, ".claude", "users", "a", "workspace")
        os.makedirs(ws)
        marker = os.path.join(ws, "PWNED")
        payload = os.path.join(ws, "tool")
        build_payload(payload, marker)
        with open(os.path.join(ws, "evil"), "w") as f:
            f.write("a file\n")
        text, err = e.git_exec("add .claude/users/a/workspace/evil && "
                               "commit -m file")
        assert not err, text
        os.unlink(os.path.join(ws, "evil"))
        nested_repo(os.path.join(ws, "evil"), payload)
        recorded = []
        for c in ("add -u", "commit -a -m x"):
            text, err = e.git_exec(c)
            if gitlinks(e.project):
                recorded.append((c, gitlinks(e.project)))
        ran = []
        for c in ("describe --dirty --always", "status", "diff",
                  "rm --cached -r --dry-run .claude", "stash", "stash pop"):
            text, err = e.git_exec(c)
            if os.path.exists(marker) and not ran:
                ran.append((c, text))
        assert not ran, "the agent's program ran on the host: %r" % ran
        assert not recorded, "gitlinks recorded: %r" % recorded
    finally:
        e.close()


def agent_env_with_link(secret):
    """Agent a up on a project holding another agent's notes and a host
    .mcp.json with secret; in its container the agent commits
    .claude/sessions/o/notes.md and .claude/sessions/r/.mcp.json, then
    replaces o by a link to ../users/other and r by a link to ../.. .
    Returns (agent, git_exec client with the agent's token)."""
    from test_agent import Agent
    from test_hostile_git import agent_git
    a = Agent(start=False)
    try:
        e = agent_git(a, secret, (os.path.join(".claude", "users", "other",
                                                "notes.md"),))
        p, ws = a.project, ".claude/sessions"
        for d, f in (("o", "notes.md"), ("r", ".mcp.json")):
            os.makedirs(os.path.join(p, ws, d), exist_ok=True)
            with open(os.path.join(p, ws, d, f), "w") as fh:
                fh.write("mine\n")
        subprocess.run(["chown", "-R", "nobody:nogroup", p], check=True)
        text, err = e.git_exec("add -v %s" % ws)
        assert not err, text
        assert "add " in text, "the agent's add took nothing: %r" % text
        text, err = e.git_exec("commit -m mine")
        assert not err, text
        for d, target in (("o", "../users/other"), ("r", "../..")):
            subprocess.run(["rm", "-rf", os.path.join(p, ws, d)], check=True)
            os.symlink(target, os.path.join(p, ws, d))
            os.lchown(os.path.join(p, ws, d), 65534, 65534)
    except BaseException:
        a.close()
        raise
    return a, e


def leaks(e, commands, secret):
    """The commands whose output holds the secret, with what they said."""
    out = []
    for c in commands:
        text, err = e.git_exec(c)
        if secret in text:
            out.append((c, text[:200]))
    return out


def test_workspace_link_reads_masked_files():
    """An agent commits a directory of its workspace holding a file named
    like a masked one, then replaces the directory by a link to another
    agent's directory or to the root.  Masks are checked on the words of
    the command, and Landlock lets git read the whole project: "grep"
    and "blame" of the working tree follow the link and print what the
    container cannot see (another agent's notes, the host's .mcp.json).
    Closed: an agent's grep reads the index or a revision, and its
    blame must name one (docs/git-policy.md)."""
    a, e = agent_env_with_link(SECRET)
    try:
        ws = ".claude/sessions"
        leaked = leaks(e, ("grep -e %s -- %s" % (SECRET, ws),
                           "grep -e %s" % SECRET,
                           "blame %s/o/notes.md" % ws,
                           "blame %s/r/.mcp.json" % ws), SECRET)
        assert not leaked, "masked content through a link: %r" % leaked
    finally:
        e.d = None
        a.close()


if __name__ == "__main__":
    main(globals())
