#!/usr/bin/env python3
"""Issue 19, commits and pushes: an agent's commits through git_exec say
who made them (a QMS-Agent trailer it can neither drop nor forge, and the
agent as committer), the host's do not, and an agent with push-refs
pushes only those refs.  Each test brings a real agent up for its token
(so it needs the test dockerd), against a real repository whose remote a
git daemon serves."""
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmsdtest import Daemon, contains, eq, free_port, main


def git(p, *args, check=True):
    r = subprocess.run(["git", "-c", "safe.directory=*", "-C", p] +
                       list(args), capture_output=True, text=True)
    if check and r.returncode != 0:
        raise AssertionError("git %s: %s" % (" ".join(args), r.stderr))
    return r.stdout


def served(a):
    """Agent a's project as an owner (nobody) makes it: README committed
    by "Owner", pushed to a bare remote that a git daemon serves on
    loopback (a local-path remote needs a shell, which confined git
    cannot run).  Returns the remote's path and the daemon."""
    p = a.project
    remote = os.path.join(a.base, "remote.git")
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", remote],
                   check=True)
    subprocess.run(["git", "-c", "safe.directory=*", "init", "-q", "-b",
                    "main", p], check=True)
    for k, v in (("user.name", "Owner"), ("user.email", "owner@x")):
        git(p, "config", k, v)
    git(p, "add", "README.md")
    git(p, "commit", "-q", "-m", "r")
    git(p, "push", "-q", remote, "main")
    port = free_port()
    daemon = subprocess.Popen(
        ["git", "daemon", "--reuseaddr", "--listen=127.0.0.1",
         "--port=%d" % port, "--base-path=" + a.base, "--export-all",
         "--enable=receive-pack", a.base],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            break
        except OSError:
            time.sleep(0.05)
    git(p, "remote", "add", "origin", "git://127.0.0.1:%d/remote.git" % port)
    subprocess.run(["chown", "-R", "nobody:nogroup", p], check=True)
    return remote, daemon


def up(a):
    """qmsd on a's project, the agent up: a git_exec client with its
    token, and one with the host's."""
    from test_git import Env
    a.d = Daemon(config=a.conf())
    eq(a.up()[0], 0, "up")
    e = Env.of_agent(a)
    with open(os.path.join(a.d.dir, "state", "host.token")) as f:
        tokens = {"agent": e.token, "host": f.read().strip()}
    return e, tokens


def trailers(p, rev="HEAD"):
    return git(p, "log", "-1", "--format=%(trailers:key=QMS-Agent,"
               "valueonly)", rev).split()


def who(p, rev="HEAD"):
    return git(p, "log", "-1", "--format=%an <%ae>|%cn <%ce>", rev).strip()


def denied(e, command, rule):
    text, err = e.git_exec(command)
    assert err and text.startswith("Denied: "), (command, text)
    contains(text, "(rule: %s)" % rule)
    return text


def test_commits_carry_the_agent():
    from test_agent import Agent
    # --no-verify allowed, to show the trailer is git's and not a hook's.
    a = Agent(extra="[git]\nallow-no-verify = yes\n", start=False)
    daemon = None
    try:
        remote, daemon = served(a)
        e, tok = up(a)
        p, n = a.project, a.name
        agent = "%s (qmsd agent) <%s@agents.qmsd.invalid>" % (n, n)
        with open(os.path.join(p, "n.md"), "w") as f:
            f.write("n\n")
        text, err = e.git_exec("add n.md && commit -m 'Notes'")
        assert not err, text
        eq(trailers(p), [n], "the agent's commit names it")
        eq(who(p), "Owner <owner@x>|" + agent,
           "author the owner (git-author's default), committer the agent")
        # An amend, with its message or a new one, keeps exactly one.
        for c in ("commit --amend --no-edit", "commit --amend -m 'Notes 2'",
                  "commit --amend --no-verify --no-edit"):
            text, err = e.git_exec(c)
            assert not err, (c, text)
            eq(trailers(p), [n], "one trailer after " + c)
        eq(git(p, "log", "-1", "--format=%s").strip(), "Notes 2", "amended")
        # Trailer-like lines of the agent's own stay, and ours is last.
        text, err = e.git_exec("commit --allow-empty --cleanup=verbatim "
                               "-m 'v' -m 'Signed-off-by: A <a@x>'")
        assert not err, text
        eq(git(p, "log", "-1", "--format=%(trailers:only,unfold)").split(
            "\n")[:2], ["Signed-off-by: A <a@x>", "QMS-Agent: " + n],
           "the agent's trailer last")
        # Forging and removing, each refused, nothing committed.
        head = git(p, "rev-parse", "HEAD")
        for c, rule in (
                ("commit --allow-empty -m 'x\n\nQMS-Agent: other'",
                 "forged-trailer"),
                ("commit --allow-empty -m x -m 'qms-agent : other'",
                 "forged-trailer"),
                ("commit --allow-empty -m x --trailer 'QMS-Agent: other'",
                 "forged-trailer"),
                ("commit --allow-empty -m x --trailer 'Q=other'",
                 "forged-trailer"),
                ("commit --allow-empty -m x --trailer "
                 "'Fixes: 1\nQMS-Agent: other'", "forged-trailer"),
                ("commit --amend -m 'x\n\nQMS-Agent: other'",
                 "forged-trailer"),
                ("commit --allow-empty --cleanup=verbatim "
                 "-m 'x\n\nQMS-Agent: other\n'", "forged-trailer"),
                ("-c trailer.QMS-Agent.ifexists=doNothing commit "
                 "--allow-empty -m x", "global-option"),
                ("-c trailer.ifmissing=doNothing commit --allow-empty -m x",
                 "global-option"),
                ("commit --allow-empty --author='B <b@x>' -m x",
                 "forged-author"),
                ("merge -m 'QMS-Agent: other' main", "forged-trailer")):
            denied(e, c, rule)
        eq(git(p, "rev-parse", "HEAD"), head, "nothing committed")
        # --no-verify skips hooks, not the trailer.
        text, err = e.git_exec("commit --allow-empty --no-verify -m nv")
        assert not err, text
        eq(trailers(p), [n], "--no-verify keeps the trailer")
        # A merge commit names the agent as its committer.
        text, err = e.git_exec("switch -c side && commit --allow-empty "
                               "-m s && switch main && merge --no-ff "
                               "-m 'Merge side' side")
        assert not err, text
        eq(who(p).split("|")[1], agent, "the merge's committer")
        # The host's commits: neither trailer nor committer changed.
        e.token = tok["host"]
        text, err = e.git_exec("commit --allow-empty -m host")
        assert not err, text
        eq(trailers(p), [], "no trailer on the host's commit")
        eq(who(p), "Owner <owner@x>|Owner <owner@x>", "the host's")
        # git-check shows the agent's command as it would run.
        rc, out, err = a.d.ctl("git-check", "--agent", n, "commit -m x")
        eq(rc, 0, "git-check --agent: " + err)
        contains(out, "git commit --message=x --trailer=QMS-Agent: " + n)
        contains(out, "as agent %s, with:" % n)
        contains(out, "GIT_COMMITTER_NAME=%s (qmsd agent)" % n)
        contains(out, "GIT_COMMITTER_EMAIL=%s@agents.qmsd.invalid" % n)
        contains(out, "config trailer.QMS-Agent.ifexists=replace")
        rc, out, err = a.d.ctl("git-check", "commit -m x")
        eq(rc, 0, "git-check as the host")
        assert "QMS-Agent" not in out, out
        rc, out, err = a.d.ctl("git-check", "--agent", n,
                               "commit -m x --author='B <b@x>'")
        eq(rc, 1, "git-check --agent of a refused command")
        contains(out, "rule: forged-author")
        rc, out, err = a.d.ctl("git-check", "--agent", "nosuch", "status")
        eq(rc, 3, "git-check --agent of no agent")
        contains(err, 'no agent "nosuch"')
    finally:
        if daemon is not None:
            daemon.kill()
            daemon.wait()
        a.close()


def test_pushes_stay_in_push_refs():
    from test_agent import Agent
    a = Agent(start=False)
    a.extra = ("push-refs = refs/heads/agent/%s/*\ngit-author = agent\n"
               "git-committer-name = Pusher Bot\n" % a.name)
    daemon = None
    try:
        remote, daemon = served(a)
        e, tok = up(a)
        p, n = a.project, a.name
        main_before = git(remote, "rev-parse", "main")
        text, err = e.git_exec("commit --allow-empty -m work")
        assert not err, text
        eq(who(p), "Pusher Bot <%s@agents.qmsd.invalid>|Pusher Bot "
           "<%s@agents.qmsd.invalid>" % (n, n), "git-author = agent")
        for c in ("push", "push origin main", "push origin HEAD",
                  "push origin HEAD:refs/heads/main",
                  "push origin HEAD:agent/other/x", "push --all origin",
                  "push --tags origin HEAD:agent/%s/x" % n):
            text = denied(e, c, "push-ref-not-allowed")
            contains(text, "refs/heads/agent/%s/*" % n)
            contains(text, '[agent "%s"] push-refs' % n)
        eq(git(remote, "rev-parse", "main"), main_before, "main untouched")
        eq(git(remote, "for-each-ref", "refs/heads/agent"), "",
           "nothing pushed yet")
        text, err = e.git_exec("push origin HEAD:agent/%s/work" % n)
        assert not err, text
        eq(git(remote, "rev-parse", "refs/heads/agent/%s/work" % n),
           git(p, "rev-parse", "HEAD"), "the allowed push went through")
        eq(git(remote, "rev-parse", "main"), main_before, "main untouched")
        rc, out, err = a.d.ctl("git-check", "--agent", n, "push origin x")
        eq(rc, 1, "git-check --agent of a push outside")
        contains(out, "rule: push-ref-not-allowed")
        rc, out, err = a.d.ctl("git-check", "--agent", n,
                               "push origin agent/%s/x" % n)
        eq(rc, 0, "git-check --agent of a push inside")
        contains(out, "git push --no-follow-tags origin refs/heads/agent/"
                 "%s/x:refs/heads/agent/%s/x" % (n, n))
        # The host pushes as before.
        e.token = tok["host"]
        text, err = e.git_exec("push origin main")
        assert not err, text
        eq(git(remote, "rev-parse", "main"), git(p, "rev-parse", "main"),
           "the host's push")
    finally:
        if daemon is not None:
            daemon.kill()
            daemon.wait()
        a.close()


if __name__ == "__main__":
    main(globals())
