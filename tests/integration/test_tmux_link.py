#!/usr/bin/env python3
"""qmsd's own link to an agent's tmux session (issue 16): a headless start
that a person's qmsctl session later joins, typing untrusted text through
tmux's control mode, a killed session noticed without polling, and a
restarted qmsd adopting the session.  A real dockerd and the local test
image; the agent's command is a plain program instead of Claude.

Until the activity is wired, what the link noticed is read from qmsd's
log ("linked to its tmux session", "tmux session gone")."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmsdtest import Daemon, contains, eq, main, wait_state
from test_agent import Agent
from test_session import Pane, ctl_cmd

# Each tries to leave the quotes, run a tmux command or have something
# expanded (an environment variable, a home directory, a format, a shell
# command in a format).
HOSTILE = [
    "'; kill-server; '",
    "\"; kill-server; \"",
    "\\'; run-shell 'touch /tmp/pwned'; '",
    "x' ; run-shell \"touch /tmp/pwned\" ; display 'y",
    "$HOME ${HOME} ~ ~root #{session_name} #(touch /tmp/pwned) #[fg=red]",
    "{ kill-server } ;; \\; %if 1 %endif \\\\ \\",
    "a'b\"c\\d$e;f#g{h}i~j`touch /tmp/pwned`",
    "' '' ''' \\' \\\\' ;'",
]


def rpc(a, params):
    r = a.d.rpc("tmux-link", dict(params, agent=a.name))
    return r.get("result"), r.get("error", {}).get("message")


def start(a):
    res, err = rpc(a, {"action": "start"})
    eq(err, None, "headless start")
    return res


def type_text(a, text):
    return rpc(a, {"action": "type", "text": text})


def wait_log(d, part, timeout=30, count=1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if d.log().count(part) >= count:
            return
        time.sleep(0.05)
    raise AssertionError("%r never in the log:\n%s" % (part, d.log()[-3000:]))


def in_container(a, *cmd):
    return a.d.ctl("exec", a.name, "--", *cmd, timeout=120)


def test_headless_start_then_session():
    a = Agent(extra="command = sh\n")
    try:
        start(a)
        wait_log(a.d, "agent %s: linked to its tmux session (headless "
                 "start)" % a.name)
        # typed through the link before anyone looks
        res, err = type_text(a, "echo typed-$((6*7)) pid=$$")
        eq(err, None, "typing")
        # a second start joins what runs
        start(a)
        p = Pane(ctl_cmd(a, "session", a.name), cols=90, rows=27)
        try:
            p.wait(r"\[agent\] 0:")
            pid = p.wait(r"typed-42 pid=(\d+)").group(1)
            p.type("echo again=$$")
            eq(p.wait(r"again=(\d+)").group(1), pid, "the same program")
            # the person's terminal sizes the window, not the link
            rc, out, err = in_container(a, "tmux", "list-windows", "-t",
                                        "agent", "-F",
                                        "#{window_width}x#{window_height}")
            eq((rc, out.strip()), (0, "90x26"), "window size")
            rc, out, err = in_container(a, "tmux", "list-clients", "-F",
                                        "#{client_flags}")
            contains(out, "ignore-size", "the link's client")
        finally:
            p.close()
    finally:
        a.close()


def test_hostile_text_arrives_literally():
    a = Agent(extra='command = sh -c "stty -echo; cat > /tmp/typed"\n')
    try:
        start(a)
        for t in HOSTILE:
            res, err = type_text(a, t)
            eq(err, None, "typing %r" % t)
        want = "".join(t + "\n" for t in HOSTILE)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            got = in_container(a, "cat", "/tmp/typed")[1]
            if got == want:
                break
            time.sleep(0.1)
        eq(got, want, "what arrived")
        eq(in_container(a, "ls", "/tmp/pwned")[0] != 0, True, "nothing ran")
        rc, out, err = in_container(a, "tmux", "ls")
        contains(out, "agent:", "the tmux server still runs")
        # not one line: refused before tmux sees it
        for bad in ("a\nrun-shell 'touch /tmp/pwned'", "a\rb", "a\x1bb"):
            res, err = type_text(a, bad)
            contains(err or "", "one line of printable text", repr(bad))
        # the link still answers
        eq(rpc(a, {"action": "enter"})[1], None, "enter")
    finally:
        a.close()


def test_killed_session_is_noticed():
    a = Agent(extra="command = sh\n")
    try:
        start(a)
        rc, out, err = in_container(a, "tmux", "kill-session", "-t", "agent")
        eq(rc, 0, "kill-session: " + err)
        wait_log(a.d, "agent %s: tmux session gone" % a.name)
        res, err = type_text(a, "hello")
        contains(err or "", "agent %s has no tmux session" % a.name)
        # a person's session brings a new one, and the link with it
        p = Pane(ctl_cmd(a, "session", a.name))
        try:
            p.wait(r"\[agent\] 0:")
            wait_log(a.d, "agent %s: linked to its tmux session" % a.name,
                     count=2)
            eq(type_text(a, "echo via-link-$((2*21))")[1], None, "typing")
            p.wait(r"via-link-42")
        finally:
            p.close()
    finally:
        a.close()


def test_restart_adopts_the_session():
    a = Agent(extra="command = sh\n")
    try:
        start(a)
        a.d.stop()
        rc, out, err = a.exec("tmux", "ls").returncode, None, None
        eq(rc, 0, "the session outlives qmsd")
        d2 = Daemon(config=a.conf() + "[qmsd]\nstate-dir = %s/state\n"
                    "[http]\nlisten = 127.0.0.1:%d\n" % (a.d.dir,
                                                       a.d.http_port))
        old, a.d = a.d, d2
        try:
            wait_state(d2, "agent:" + a.name, "running")
            wait_log(d2, "agent %s: linked to its tmux session" % a.name)
            in_container(a, "tmux", "kill-session", "-t", "agent")
            wait_log(d2, "agent %s: tmux session gone" % a.name)
        finally:
            old.close()
    finally:
        a.close()


def test_quoting_with_a_local_tmux():
    """The quoting, against the tmux of this machine (no docker): what a
    set-buffer of each hostile text holds is the text."""
    env = dict(os.environ, TMUX_TMPDIR=os.path.join(
        "/tmp", "qmsd-tl-%d" % os.getpid()))
    os.makedirs(env["TMUX_TMPDIR"], exist_ok=True)
    quote = os.environ.get("QMSD_BUILD_ROOT", "build/dev") + \
        "/tests/tmux-quote"
    try:
        subprocess.run(["tmux", "new-session", "-d", "-s", "agent", "cat"],
                       env=env, check=True)
        for t in HOSTILE:
            q = subprocess.run([quote, t], capture_output=True, text=True,
                               check=True).stdout.rstrip("\n")
            subprocess.run(["tmux", "-C", "attach", "-t", "agent", "-f",
                            "ignore-size,no-output"], env=env, text=True,
                           input="set-buffer -b q -- %s\n" % q,
                           capture_output=True, timeout=10)
            got = subprocess.run(["tmux", "show-buffer", "-b", "q"],
                                 env=env, capture_output=True,
                                 text=True).stdout
            eq(got, t, "set-buffer of %r" % q)
        eq(os.path.exists("/tmp/pwned"), False, "nothing ran")
    finally:
        subprocess.run(["tmux", "kill-server"], env=env)


if __name__ == "__main__":
    main(globals())
