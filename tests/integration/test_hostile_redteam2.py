#!/usr/bin/env python3
"""Second red-team review: variants of the holes closed after the first,
performed for real against a real qmsd.  Each test fails while its hole is
open."""
import json
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmsdtest import Daemon, eq, main
from test_git import Env

SECRET = "s3cr3t-" + "7c1e5f"


def agent_env_with_link():
    """A project with another agent's notes and a host .mcp.json holding
    SECRET; agent "a" up, with its token; the agent has committed
    .claude/sessions/o/notes.md and .claude/sessions/r/.mcp.json, then
    replaced o by a link to ../users/other and r by a link to ../.. (all
    of which it does in its container).  Returns (agent, env)."""
    from test_agent import Agent
    a = Agent(start=False)
    p = a.project
    g = ["git", "-c", "safe.directory=*", "-C", p]
    subprocess.run(["git", "-c", "safe.directory=*", "init", "-q", "-b",
                    "main", p], check=True)
    with open(os.path.join(p, ".mcp.json"), "w") as f:
        f.write('{"token": "%s"}\n' % SECRET)
    with open(os.path.join(p, ".claude", "users", "other", "notes.md"),
              "w") as f:
        f.write("%s\n" % SECRET)
    subprocess.run(g + ["add", "README.md"], check=True)
    subprocess.run(g + ["-c", "user.name=o", "-c", "user.email=o@x",
                        "commit", "-q", "-m", "r"], check=True)
    for k, v in (("user.name", "o"), ("user.email", "o@x")):
        subprocess.run(g + ["config", k, v], check=True)
    subprocess.run(["chown", "-R", "nobody:nogroup", p], check=True)
    a.d = Daemon(config=a.conf())
    eq(a.up()[0], 0, "up")
    with open(os.path.join(a.d.dir, "state", "agents", a.name,
                           "token")) as f:
        tok = f.read().strip()
    e = Env.__new__(Env)
    e.d, e.port, e.token, e.base = a.d, a.d.http_port, tok, a.base
    ws = ".claude/sessions"
    for d, f in (("o", "notes.md"), ("r", ".mcp.json")):
        os.makedirs(os.path.join(p, ws, d), exist_ok=True)
        with open(os.path.join(p, ws, d, f), "w") as fh:
            fh.write("mine\n")
    subprocess.run(["chown", "-R", "nobody:nogroup", p], check=True)
    text, err = e.git_exec("add -v %s && commit -m mine" % ws)
    assert not err, text
    for d, target in (("o", "../users/other"), ("r", "../..")):
        subprocess.run(["rm", "-rf", os.path.join(p, ws, d)], check=True)
        os.symlink(target, os.path.join(p, ws, d))
        os.lchown(os.path.join(p, ws, d), 65534, 65534)
    return a, e


def test_blame_open_range_reads_work_tree():
    """blame must name a revision, but a revision that is only negative
    ("^HEAD", "HEAD..", "HEAD~1..") leaves git with no final commit, and
    git blames the work tree then (blame.c, fake_working_tree_commit):
    through the agent's link, into another agent's notes and the host's
    .mcp.json."""
    a, e = agent_env_with_link()
    try:
        ws = ".claude/sessions"
        leaked = []
        for rev in ("HEAD..", "^HEAD", "HEAD...", "--reverse HEAD.."):
            for f in ("o/notes.md", "r/.mcp.json"):
                c = "blame %s -- %s/%s" % (rev, ws, f)
                text, err = e.git_exec(c)
                if SECRET in text:
                    leaked.append((c, text[:200]))
        assert not leaked, "masked content through a link: %r" % leaked
    finally:
        e.d = None
        a.close()


def test_agent_grep_pattern_first_still_works():
    """Not a leak but the fix's cost: an agent's "grep PATTERN" gets
    --cached appended after the pattern ("git grep PATTERN --cached"), and
    git grep stops parsing options at the first non-option, so it dies
    with "option '--cached' must come before non-option arguments": the
    most common grep fails for every agent.  --cached must go before the
    first positional word (git-policy.c, emit)."""
    a, e = agent_env_with_link()
    try:
        text, err = e.git_exec("grep -n mine")
        assert not err and "mine" in text, "grep PATTERN failed: %r" % text
    finally:
        e.d = None
        a.close()


if __name__ == "__main__":
    main(globals())
