#!/usr/bin/env python3
"""Issue 13, the git items: a hostile agent attacks through git_exec, for
real, against a real qmsd and a real repository, and nothing happens."""
import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gitrepo
from qmsdtest import Daemon, contains, eq, main
from test_git import Env

SECRET = "s3cr3t-" + "7f1c9e"


def denied(text, err, rule):
    assert err, "not an error: %r" % text
    contains(text, "(rule: %s)" % rule)


def plant_repo(where, marker):
    """A repository the agent made in its workspace, whose configuration
    runs a command wherever git looks inside it."""
    os.makedirs(where)
    gitrepo.git(where, "init", "-q")
    gitrepo.git(where, "config", "core.fsmonitor", "touch %s; false" % marker)
    gitrepo.git(where, "config", "filter.evil.clean",
                "sh -c 'touch %s; cat'" % marker)
    gitrepo.git(where, "config", "diff.external", "touch %s" % marker)
    with open(os.path.join(where, ".gitattributes"), "w") as f:
        f.write("* filter=evil diff=evil\n")
    with open(os.path.join(where, "f"), "w") as f:
        f.write("x\n")
    gitrepo.git(where, "-c", "core.fsmonitor=false", "-c",
                "filter.evil.clean=cat", "add", "f", ".gitattributes")
    gitrepo.git(where, "-c", "core.fsmonitor=false", "-c",
                "filter.evil.clean=cat", "-c", "user.name=a", "-c",
                "user.email=a@b", "commit", "-q", "-m", "x")
    # Same size, other content, older stamp: git re-reads it to compare.
    with open(os.path.join(where, "f"), "w") as f:
        f.write("y\n")
    os.utime(os.path.join(where, "f"), (946684800, 946684800))


# Every subcommand of the allow-list, in a form that runs.
EVERY = [
    "status", "status -uall", "log -1", "show --stat", "whatchanged -1",
    "diff", "diff HEAD", "diff --cached", "diff --submodule=log",
    "blame README.md", "ls-files", "ls-files -s", "ls-tree HEAD",
    "rev-parse HEAD", "rev-list -1 HEAD", "describe --dirty --always",
    "shortlog -s", "grep project", "cat-file -t HEAD",
    "merge-base HEAD HEAD", "name-rev HEAD", "show-ref", "check-ignore x",
    "count-objects", "cherry origin/main", "reflog -1", "remote -v",
    "config --list", "ls-remote", "version", "commit --dry-run -m x",
    "add -A", "add .", "add .claude/users/a/workspace/evil",
    "add .claude/users/a/workspace", "stash push -u", "stash list",
    "branch", "tag", "fetch", "checkout -b t1", "switch main",
    "restore --staged README.md", "rm --cached -r --dry-run .claude",
    "reset", "merge main", "rebase main", "format-patch --stdout -1",
    "gc --auto", "bisect log", "pull", "push",
]


def test_nested_repository_runs_nothing():
    """Item 1: a repository planted in the workspace, with core.fsmonitor,
    a filter and diff.external set, and every allowed subcommand run over
    git_exec: no gitlink is ever recorded, and the command never runs."""
    e = Env()
    try:
        marker = os.path.join(e.base, "PWNED")
        evil = os.path.join(e.project, ".claude", "users", "a", "workspace",
                            "evil")
        plant_repo(evil, marker)
        for c in ("add .claude/users/a/workspace/evil",
                  "add .claude/users/a/workspace/evil/",
                  "add -A", "add .", "stash push -u"):
            text, err = e.git_exec(c)
            denied(text, err, "nested-repo")
            contains(text, ".claude/users/a/workspace/evil")
        for c in EVERY:
            e.git_exec(c)
            assert not os.path.exists(marker), "ran after %r" % c
            stage = gitrepo.git(e.project, "ls-files", "-s")
            assert "160000" not in stage.replace(
                gitrepo.git(e.project, "ls-files", "-s", "flow-state"),
                ""), "a gitlink after %r: %s" % (c, stage)
    finally:
        e.close()


def test_gitmodules_from_head():
    """Item 6: deleting .gitmodules from the work tree (or trying git rm)
    does not unprotect the submodule: the list comes from HEAD."""
    e = Env()
    try:
        before = gitrepo.snapshot(e.project, e.remote)
        text, err = e.git_exec("rm .gitmodules")
        denied(text, err, "protected-path")
        text, err = e.git_exec("rm --cached .gitmodules")
        denied(text, err, "protected-path")
        # The agent's copy is gone from the work tree, however it got so.
        os.unlink(os.path.join(e.project, ".gitmodules"))
        text, err = e.git_exec("rm -r --cached flow-state")
        denied(text, err, "protected-path")
        e.git_exec("add -A && commit -m gone && push")
        after = gitrepo.snapshot(e.project, e.remote)
        eq(after["sub_head"], before["sub_head"], "the submodule")
        contains(gitrepo.git(e.project, "ls-tree", "HEAD"), "flow-state")
        contains(gitrepo.git(e.project, "ls-tree", "HEAD"), ".gitmodules")
    finally:
        e.close()


def test_word_bound_and_loop_free():
    """Item 7: the largest body accepted, one push with a word per two
    bytes, is refused at once, and status answers meanwhile."""
    e = Env()
    try:
        words = " a" * ((1024 * 1024 - 200) // 2)
        out = {}

        def big():
            t = time.monotonic()
            out["r"] = e.git_exec("push origin" + words)
            out["t"] = time.monotonic() - t
        th = threading.Thread(target=big)
        th.start()
        time.sleep(0.2)
        t = time.monotonic()
        text, err = e.git_exec("status")
        took = time.monotonic() - t
        assert not err, text
        th.join(60)
        assert not th.is_alive(), "the push was not answered"
        assert took < 5, "status waited %.1fs" % took
        denied(out["r"][0], out["r"][1], "usage")
        contains(out["r"][0], "at most 4096")
    finally:
        e.close()


def test_config_outside_repository():
    """Item 11: configuration outside the repository (--global, --system,
    what include.path reaches) is never shown."""
    e = Env()
    try:
        outside = os.path.join(e.base, "outside.conf")
        with open(outside, "w") as f:
            f.write("[http]\n\textraheader = Authorization: %s\n" % SECRET)
        gitrepo.git(e.project, "config", "include.path", outside)
        for c in ("config --global --list", "config --system --list",
                  "config --includes --list", "config --glo -l"):
            text, err = e.git_exec(c)
            denied(text, err, "outside-repo")
            assert SECRET not in text
        for c in ("config --list", "config -l --show-origin",
                  "config http.extraheader", "config --get-regexp http"):
            text, err = e.git_exec(c)
            assert SECRET not in text, "%r showed it: %s" % (c, text)
        text, err = e.git_exec("config user.email")
        eq(text, "agent@example.invalid", "the repository's own")
    finally:
        e.close()


def test_no_verify_refused():
    """Item 13: the owner's hooks cannot be skipped, unless the owner
    says so ([git] allow-no-verify = yes)."""
    e = Env()
    try:
        # A compiled hook that leaves a mark and refuses: a script hook
        # needs a shell, which confined git cannot execute, and confined
        # git writes only inside the repository.
        marker = os.path.join(e.project, ".git", "hook-ran")
        hook = os.path.join(e.project, ".git", "hooks", "pre-commit")
        src = os.path.join(e.base, "refuse.c")
        with open(src, "w") as f:
            f.write('#include <fcntl.h>\nint main(void) { '
                    'return open("%s", O_CREAT | O_WRONLY, 0644) >= 0 ? '
                    '1 : 2; }\n' % marker)
        subprocess.run(["cc", "-o", hook, src], check=True)
        st = os.stat(e.project)
        os.chown(hook, st.st_uid, st.st_gid)
        with open(os.path.join(e.project, "n.md"), "w") as f:
            f.write("n\n")
        e.git_exec("add n.md")
        head = gitrepo.git(e.project, "rev-parse", "HEAD")
        for c in ("commit --no-verify -m x", "commit -n -m x",
                  "commit -qnm x", "commit --no-veri -m x",
                  "push --no-verify", "pull --no-verify"):
            text, err = e.git_exec(c)
            denied(text, err, "no-verify")
        eq(gitrepo.git(e.project, "rev-parse", "HEAD"), head, "no commit")
        text, err = e.git_exec("commit -m x")
        assert err and os.path.exists(marker), "the hook ran and refused"
        eq(gitrepo.git(e.project, "rev-parse", "HEAD"), head, "no commit")
    finally:
        e.close()
    e = Env("[git]\nallow-no-verify = yes\n")
    try:
        with open(os.path.join(e.project, "n.md"), "w") as f:
            f.write("n\n")
        text, err = e.git_exec("add n.md && commit -n -m x")
        assert not err, text
    finally:
        e.close()


def agent_git(a, secret, paths):
    """Agent a's project made as an owner (nobody) would: a git
    repository whose README the owner committed, with the host's
    .mcp.json and each of paths holding secret; qmsd started on it and
    the agent up.  Returns a git_exec client with the agent's own token
    (close the agent, not the client)."""
    p = a.project
    g = ["git", "-c", "safe.directory=*", "-C", p]
    subprocess.run(["git", "-c", "safe.directory=*", "init", "-q", "-b",
                    "main", p], check=True)
    with open(os.path.join(p, ".mcp.json"), "w") as f:
        f.write('{"token": "%s"}\n' % secret)
    for path in paths:
        os.makedirs(os.path.dirname(os.path.join(p, path)), exist_ok=True)
        with open(os.path.join(p, path), "w") as f:
            f.write("%s\n" % secret)
    subprocess.run(g + ["add", "README.md"], check=True)
    for k, v in (("user.name", "o"), ("user.email", "o@x")):
        subprocess.run(g + ["config", k, v], check=True)
    subprocess.run(g + ["commit", "-q", "-m", "r"], check=True)
    subprocess.run(["chown", "-R", "nobody:nogroup", p], check=True)
    a.d = Daemon(config=a.conf())
    eq(a.up()[0], 0, "up")
    return Env.of_agent(a)


def test_masks_hold_on_the_host():
    """Item 2: an agent (its own token, its container up) asks git on the
    host for what its container masks: .env files, another agent's
    directory, the host's .mcp.json; nothing of them comes back or enters
    the object store."""
    from test_agent import Agent, docker
    a = Agent(start=False)
    e = None
    try:
        p = a.project
        e = agent_git(a, SECRET, (".env", os.path.join("sub", ".env.local"),
                                  os.path.join(".claude", "users", "other",
                                               "notes.md")))
        for c in ("grep --untracked --no-exclude-standard -e %s" % SECRET,
                  "grep --untracked -e %s" % SECRET,
                  "grep -e x -- .env", "grep -e x -- sub/.env.local",
                  "add .env", "add .claude/users/other/notes.md",
                  "add .mcp.json", "ls-files --others",
                  "status --ignored", "diff -- .claude/users/other",
                  "add -f .env"):
            text, err = e.git_exec(c)
            assert err, "%r allowed: %s" % (c, text)
            assert SECRET not in text, c
        # add -A would take an untracked .env: refused whole, not
        # silently narrowed (the probe, git-tool.c).
        text, err = e.git_exec("add -A")
        assert err and "masked-path" in text, text
        staged = subprocess.run(["git", "-c", "safe.directory=*", "-C", p, "ls-files"],
                                capture_output=True, text=True).stdout
        for f in (".env", ".mcp.json", "notes.md", ".env.local"):
            assert f not in staged, "%s staged: %s" % (f, staged)
        # The same commands are the owner's own with the host token.
        with open(os.path.join(a.d.dir, "state", "host.token")) as f:
            e.token = f.read().strip()
        text, err = e.git_exec("grep --untracked -e %s" % SECRET)
        contains(text, SECRET)
    finally:
        if e is not None:
            e.d = None
        a.close()


def test_masked_work_tree_stays_out_of_git():
    """Red team 3, the other ways to the same content: what stashes or
    commits the work tree (stash, commit -a, commit of a directory) puts
    the working copy of a masked tracked file in .git, which the agent's
    container reads; commit --dry-run -vv and status -vv print it; a
    --autostash stashes it.  Each leaves it out or is refused, no object
    holds it, the owner's edit stays in the work tree, and the agent's
    own changes are committed."""
    from test_agent import Agent
    a = Agent(start=False, extra="mask = private\n")
    e = None
    try:
        p = a.project
        g = ["git", "-c", "safe.directory=*", "-C", p]
        for path, text in (("private/notes.txt", "nothing yet\n"),
                           (".claude/sessions/s.md", "s\n")):
            os.makedirs(os.path.dirname(os.path.join(p, path)),
                        exist_ok=True)
            with open(os.path.join(p, path), "w") as f:
                f.write(text)
        subprocess.run(["git", "-c", "safe.directory=*", "init", "-q", p],
                       check=True)
        subprocess.run(g + ["add", "private/notes.txt", ".claude"],
                       check=True)
        e = agent_git(a, "unused", ())     # commits them with the README
        masked = ("private/notes.txt", ".claude/users/other/notes.md")
        for path in masked:
            with open(os.path.join(p, path), "a") as f:
                f.write("T=%s\n" % SECRET)
        for path in ("README.md", ".claude/sessions/s.md"):
            with open(os.path.join(p, path), "a") as f:
                f.write("agent's edit\n")
        for c in ("commit --dry-run -vv", "status -v -v",
                  "merge --autostash main", "stash save wip"):
            text, err = e.git_exec(c)
            assert err and "masked-path" in text, "%r: %s" % (c, text)
            assert SECRET not in text, c
        for c, show in (("stash", "stash show -p"),
                        ("stash pop", "status"),
                        ("commit -m one .claude", "show HEAD"),
                        ("commit -am two", "show HEAD")):
            text, err = e.git_exec(c)
            assert not err, "%r: %s" % (c, text)
            text, err = e.git_exec(show)
            assert not err and "agent's edit" in text or c == "stash pop", \
                "%r then %r: %s" % (c, show, text)
            assert SECRET not in text, "%r then %r: %s" % (c, show, text)
        objects = subprocess.run(g + ["cat-file", "--batch-all-objects",
                                      "--batch"], capture_output=True,
                                 text=True, errors="replace").stdout
        assert SECRET not in objects, "a masked working copy in .git"
        for path in masked:
            with open(os.path.join(p, path)) as f:
                assert SECRET in f.read(), "the owner's edit of " + path
    finally:
        if e is not None:
            e.d = None
        a.close()

if __name__ == "__main__":
    main(globals())
