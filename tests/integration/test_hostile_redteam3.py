#!/usr/bin/env python3
"""Red team, issue 14: a hostile agent against the tracked-template
exemption from the masks (daemon/masks.c).  Each test is an attack that
worked when written: it fails until the mechanism is fixed."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmsdtest import eq, main
from test_git import Env

SECRET = "ghp_" + "REDTEAM3" + "pasted0123456789"


def template_agent():
    """A tracked, unmodified docker/.env.example (test_agent's), the
    agent up and its container showing the template; returns the Agent,
    the template's path on the host and inside, and a git_exec client
    with the agent's own token."""
    from test_agent import TEMPLATE, tracked_template_agent
    a = tracked_template_agent()
    eq(a.up()[0], 0, "up")
    inside = "/pipe-dream/docker/.env.example"
    eq(a.exec("cat", inside).stdout, TEMPLATE, "the template shows")
    with open(os.path.join(a.d.dir, "state", "agents", a.name,
                           "token")) as f:
        tok = f.read().strip()
    e = Env.__new__(Env)
    e.d, e.port, e.token, e.base = a.d, a.d.http_port, tok, a.base
    return a, os.path.join(a.project, "docker", ".env.example"), inside, e


def test_git_diff_shows_pasted_token():
    """The owner pastes a real token into the tracked template (the usual
    slip: editing .env.example instead of a copy).  Its working copy is
    modified, so qmsd says it is masked; yet git_exec's diff, with the
    agent's token and no pathspec, prints the working copy's new lines.
    The masked-path rule is lexical on pathspecs and never sees a diff
    of the whole tree."""
    a, host, inside, e = template_agent()
    try:
        with open(host, "a") as f:
            f.write("REAL_TOKEN=%s\n" % SECRET)
        for c in ("diff", "diff HEAD", "diff -U0", "diff --word-diff"):
            text, err = e.git_exec(c)
            assert SECRET not in text, "%r shows the token: %s" % (c, text)
    finally:
        e.d = None
        a.close()


def test_pasted_token_readable_live_in_container():
    """The exemption leaves the live working copy in the container, not
    the content git vouched for: a token pasted into the template after
    the up is readable at once, and stays readable for as long as the
    agent keeps a process running (it holds off the implicit recreate
    that would mask it)."""
    a, host, inside, e = template_agent()
    try:
        eq(a.d.ctl("exec", a.name, "--", "tmux", "new-session", "-d",
                   "-s", "hold", "sleep", "1000")[0], 0, "hold a session")
        with open(host, "a") as f:
            f.write("REAL_TOKEN=%s\n" % SECRET)
        rc, out, err = a.up()
        p = a.exec("cat", inside)
        assert SECRET not in p.stdout, ("the token pasted into the "
                                        "template is readable in the "
                                        "container (up: rc %d %s): %r"
                                        % (rc, err.strip(), p.stdout))
    finally:
        e.d = None
        a.close()


if __name__ == "__main__":
    main(globals())
