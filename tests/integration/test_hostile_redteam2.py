#!/usr/bin/env python3
"""Second red-team review: variants of the holes closed after the first,
performed for real against a real qmsd.  Each test fails while its hole is
open."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmsdtest import main  # noqa: E402

SECRET = "s3cr3t-" + "7c1e5f"


def agent_env_with_link():
    """The first red-team's set-up (test_hostile_redteam.py)."""
    from test_hostile_redteam import agent_env_with_link as setup
    return setup(SECRET)


def test_blame_open_range_reads_work_tree():
    """blame must name a revision, but a revision that is only negative
    ("^HEAD", "HEAD..", "HEAD~1..") leaves git with no final commit, and
    git blames the work tree then (blame.c, fake_working_tree_commit):
    through the agent's link, into another agent's notes and the host's
    .mcp.json."""
    a, e = agent_env_with_link()
    try:
        from test_hostile_redteam import leaks
        ws = ".claude/sessions"
        leaked = leaks(e, ["blame %s -- %s/%s" % (rev, ws, f)
                           for rev in ("HEAD..", "^HEAD", "HEAD...",
                                       "--reverse HEAD..")
                           for f in ("o/notes.md", "r/.mcp.json")], SECRET)
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
