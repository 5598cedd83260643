#!/usr/bin/env python3
"""Bash completion for qmsctl: commands from qmsctl, components and agent
names from the running daemon, through the script meson installs."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmsdtest import QMSCTL, Daemon, eq, main

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                      "..", "..", "client", "qmsctl.bash")


def complete(*words, prog=QMSCTL, env=None):
    """COMPREPLY for a command line whose last word is being completed."""
    words = [prog] + list(words)
    quoted = " ".join("'%s'" % w.replace("'", "'\\''") for w in words)
    script = ('. "$1"; COMP_WORDS=(%s); COMP_CWORD=%d; _qmsctl; '
              'printf "%%s\\n" "${COMPREPLY[@]}"' % (quoted, len(words) - 1))
    r = subprocess.run(["bash", "--norc", "--noprofile", "-c", script,
                        "bash", SCRIPT], capture_output=True, text=True,
                       env=dict(os.environ, **(env or {})))
    eq(r.stderr, "", "bash errors")
    return sorted(w for w in r.stdout.splitlines() if w)


AGENTS = '[agent "claude"]\nimage = none:latest\n[agent "docs"]\n' \
         'image = none:latest\n'


def test_commands_from_qmsctl():
    got = complete("")
    for c in ("status", "session", "exec", "git-check", "mcp-config",
              "logs", "up", "down", "ps", "version"):
        if c not in got:
            raise AssertionError("%s not offered: %s" % (c, got))
    eq(complete("st"), ["start", "status", "stop"], "prefix st")
    eq(complete("-S", "/x", "ver"), ["version"], "after -S")
    eq(complete("help", "st"), ["start", "status", "stop"], "help st")
    eq(complete("he", "status", ""), [], "help takes one command")


def test_agents_and_components_from_daemon():
    d = Daemon(config=AGENTS)
    try:
        s = ("-S", d.socket)
        eq(complete(*s, "up", ""), ["--force", "claude", "docs"], "up")
        eq(complete(*s, "session", "d"), ["docs"], "session d")
        eq(complete(*s, "ses", "--via-docker", "c"), ["claude"],
           "a prefix of the command, and an option before the agent")
        eq(complete(*s, "down", "claude", ""), [], "one agent only")
        eq(complete(*s, "session", "-"), ["--force", "--via-docker", "-d"],
           "session options")
        eq(complete(*s, "notify", ""), ["-n", "claude", "docs"],
           "notify agent")
        eq(complete(*s, "notify", "docs", "T"), [], "notify text")
        eq(complete(*s, "exec", ""), ["--force", "claude", "docs"],
           "exec agent")
        eq(complete(*s, "exec", "--force", "d"), ["docs"],
           "exec --force agent")
        eq(complete(*s, "exec", "docs", ""), ["--"], "exec then --")
        comps = complete(*s, "restart", "")
        for c in ("qms-mcp", "agent:claude", "agent:docs", "http",
                  "control"):
            if c not in comps:
                raise AssertionError("%s not offered: %s" % (c, comps))
        eq(complete(*s, "logs", "-n", "50", "qms"), ["qms-mcp"],
           "logs after -n N")
        eq(complete(*s, "logs", "-n", ""), [], "the count of -n")
        eq(complete(*s, "status", "--j"), ["--json"], "status option")
        eq(complete(*s, "egress", ""), ["--json", "-f", "-n", "claude",
                                        "docs"], "egress")
        eq(complete(*s, "egress", "-n", ""), [], "the count of egress -n")
        eq(complete(*s, "egress", "-n", "5", "d"), ["docs"],
           "egress after -n N")
        eq(complete(*s, "egress", "docs", ""), ["--json", "-f", "-n"],
           "one agent only")
        eq(complete(*s, "policy", ""), ["claude", "docs"], "policy agent")
        eq(complete(*s, "git-check", ""), ["--agent"], "git-check option")
        eq(complete(*s, "git-check", "--agent", "c"), ["claude"],
           "git-check --agent's agent")
        eq(complete(*s, "git-check", "--agent", "docs", ""), [],
           "the command is not ours to know")
        eq(complete(*s, "policy", "docs", "st"),
           ["start=always", "start=manual", "start=on-task",
            "stop=idle", "stop=inbox-empty", "stop=manual"], "policy parts")
        eq(complete(*s, "policy", "docs", "--"), ["--reset"],
           "policy --reset")
        eq(complete(*s, "policy", "docs", "stop=m"), ["stop=manual"],
           "policy stop=")
        eq(complete(*s, "policy", "docs", "start", "=", "o"), ["on-task"],
           "policy start = (bash splits at =)")
        eq(complete(*s, "policy", "docs", "start=always", "--"), [],
           "--reset alone")
        eq(complete(*s, "console", ""), ["--logout-all"], "console")
        eq(complete(*s, "console", "--logout-all", ""), [], "alone")
        eq(complete("mcp-config", "", env={"QMSD_SOCKET": d.socket}),
           ["claude", "docs"], "the socket from QMSD_SOCKET")
    finally:
        d.stop()


def test_no_daemon_no_noise():
    eq(complete("-S", "/nonexistent/qmsd.sock", "up", ""), ["--force"],
       "no agents, no errors")


if __name__ == "__main__":
    main(globals())
