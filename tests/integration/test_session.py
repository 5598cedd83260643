#!/usr/bin/env python3
"""qmsctl session and exec: a real pty (tmux on the host), a real dockerd,
the local test image with tmux and Claude Code inside."""
import grp
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmsdtest import (EVERYTHING, QMSCTL, contains, eq, free_port, main,
                      wait_state)
from test_agent import IMAGE, Agent, docker


class Pane:
    """A terminal on the host: a tmux server of the test's own."""

    def __init__(self, command, cols=80, rows=24):
        self.sock = "qmsd-test-" + secrets.token_hex(4)
        self.tmux("new-session", "-d", "-s", "t", "-x", str(cols), "-y",
                  str(rows), command + "; echo EXIT=$?; sleep 600")

    def tmux(self, *args):
        return subprocess.run(["tmux", "-L", self.sock] + list(args),
                              capture_output=True, text=True, timeout=30)

    def keys(self, *keys):
        self.tmux("send-keys", "-t", "t", *keys)

    def type(self, text):
        self.tmux("send-keys", "-t", "t", "-l", text)
        self.tmux("send-keys", "-t", "t", "Enter")

    def screen(self):
        return self.tmux("capture-pane", "-p", "-t", "t", "-S",
                         "-200").stdout

    def wait(self, pattern, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = re.search(pattern, self.screen())
            if m:
                return m
            time.sleep(0.1)
        raise AssertionError("%r never on screen:\n%s" % (pattern,
                                                        self.screen()))

    def close(self):
        self.tmux("kill-server")


def session_agent(command="sh", extra=""):
    return Agent(extra="command = %s\n%s" % (command, extra))


def ctl_cmd(a, *args):
    return " ".join([QMSCTL, "-S", a.d.socket] + list(args))


ATTACHED = r"\[agent\] 0:"    # the inner tmux's status line


def test_keys_output_resize_detach():
    a = session_agent()
    p = Pane(ctl_cmd(a, "session", a.name))
    try:
        p.wait(ATTACHED)
        p.type("echo hi-$((40+2))")
        p.wait(r"hi-42")
        p.type("echo pid=$$")
        pid = p.wait(r"pid=(\d+)").group(1)
        p.type("stty size")
        p.wait(r"\n2[34] 80\s")
        p.tmux("resize-window", "-t", "t", "-x", "100", "-y", "30")
        time.sleep(0.5)
        # clear: the answer may be on the screen's first line
        p.type("clear; stty size")
        p.wait(r"(?m)^(29|30) 100\s")
        # detach tmux inside: the shell goes on
        p.keys("C-b", "d")
        p.wait(r"EXIT=0")
        # a second session attaches to the same shell
        p2 = Pane(ctl_cmd(a, "session", a.name))
        try:
            # the inner tmux redraws the screen over qmsctl's lines
            p2.wait(r"\[agent\] 0:sh")
            p2.type("echo again=$$")
            eq(p2.wait(r"again=(\d+)").group(1), pid, "the same process")
        finally:
            p2.close()
    finally:
        p.close()
        a.close()


def test_session_comes_back_to_a_kept_container():
    """A detached session, then a changed configuration: the recreate is
    refused (issue 14), and the next qmsctl session attaches to the very
    session it protects, saying that the configuration waits."""
    a = session_agent()
    p = Pane(ctl_cmd(a, "session", a.name))
    try:
        p.wait(ATTACHED)
        p.type("echo pid=$$")
        pid = p.wait(r"pid=(\d+)").group(1)
        p.keys("C-b", "d")
        p.wait(r"EXIT=0")
        first = a.row()["container"]
        a.d.write_config(a.conf(a.extra + "memory = 1G\n"))
        eq(a.d.ctl("reload")[0], 0, "reload")
        wait_state(a.d, "agent:" + a.name, "running",
                   cond=lambda r: "config changed" in r["detail"])
        rc, out, err = a.d.ctl("exec", a.name, "--", "true", timeout=300)
        eq(rc, 1, "an exec is refused: " + err)
        progress = os.path.join(a.base, "progress")
        p2 = Pane(ctl_cmd(a, "session", a.name) + " 2>" + progress)
        try:
            p2.wait(r"\[agent\] 0:")
            p2.type("echo again=$$")
            eq(p2.wait(r"again=(\d+)").group(1), pid, "the same shell")
            with open(progress) as f:
                contains(f.read(), "its configuration changed, kept while "
                         "a session runs in it: qmsctl up --force "
                         "recreates it", "says what waits")
        finally:
            p2.close()
        eq(a.row()["container"], first, "not recreated")
    finally:
        p.close()
        a.close()


def test_sigkill_of_qmsctl_leaves_program_running():
    a = session_agent()
    p = Pane(ctl_cmd(a, "session", a.name))
    try:
        p.wait(ATTACHED)
        p.type("echo alive=$$")
        pid = p.wait(r"alive=(\d+)").group(1)
        out = subprocess.run(["pgrep", "-f", "%s -S %s session" %
                              (QMSCTL, a.d.socket)], capture_output=True,
                             text=True).stdout.split()
        assert out, "qmsctl not found"
        for q in out:
            os.kill(int(q), signal.SIGKILL)
        deadline = time.time() + 10
        while time.time() < deadline and any(
                os.path.exists("/proc/" + q) for q in out):
            time.sleep(0.05)
        r = a.exec("sh", "-c", "kill -0 %s && echo still" % pid)
        eq(r.stdout, "still\n", "the shell in tmux outlived qmsctl")
        r = a.exec("tmux", "ls")
        contains(r.stdout, "agent:", "the tmux session is there")
    finally:
        p.close()
        a.close()


def test_exit_codes_and_streams():
    a = session_agent()
    try:
        r = subprocess.run([QMSCTL, "-S", a.d.socket, "exec", a.name, "--",
                            "sh", "-c", "echo out; echo err >&2; exit 7"],
                           capture_output=True, text=True, timeout=120,
                           stdin=subprocess.DEVNULL)
        eq((r.returncode, r.stdout, r.stderr), (7, "out\n", "err\n"),
           "exit code and streams apart")
        r = subprocess.run([QMSCTL, "-S", a.d.socket, "exec", a.name, "--",
                            "cat"], input="through stdin\n",
                           capture_output=True, text=True, timeout=60)
        eq((r.returncode, r.stdout), (0, "through stdin\n"), "stdin")
        r = subprocess.run([QMSCTL, "-S", a.d.socket, "exec", a.name, "--",
                            "nosuchprogram"], capture_output=True, text=True,
                           timeout=60, stdin=subprocess.DEVNULL)
        assert r.returncode in (126, 127), r
        # with a terminal, exec gets one and still returns the code
        p = Pane(ctl_cmd(a, "exec", a.name, "--", "sh", "-c",
                         "'test -t 0 && echo tty-yes; exit 5'"))
        try:
            p.wait(r"tty-yes")
            p.wait(r"EXIT=5")
        finally:
            p.close()
        # session without a terminal says what to do instead
        r = subprocess.run([QMSCTL, "-S", a.d.socket, "session", a.name],
                           capture_output=True, text=True,
                           stdin=subprocess.DEVNULL)
        eq(r.returncode, 64, "session without a terminal")
        contains(r.stderr, "use: qmsctl exec %s -- COMMAND" % a.name)
    finally:
        a.close()


def test_claude_first_screen():
    # With no network here Claude Code's first screen says it cannot
    # reach its service; the shell after it keeps that on screen.
    a = Agent(extra="command = sh -c 'claude; echo claude-exited=$?; "
              "sleep 600'\n")
    p = Pane(ctl_cmd(a, "session", a.name), cols=120, rows=40)
    try:
        p.wait(ATTACHED)
        p.wait(r"Claude\s+Code", timeout=90)
    finally:
        p.close()
        a.close()


def test_admin_group_without_docker_group():
    a = Agent(extra="command = sh\n")
    users = grp.getgrnam("users").gr_gid
    a.d.close()
    from qmsdtest import Daemon
    a.d = Daemon(config=a.conf() + "[qmsd]\nadmin-group = users\n")
    # uid 12346 is neither root nor the project's owner (nobody)
    member = "setpriv --reuid=12346 --regid=12346 --groups=%d --" % users
    p = Pane(member + " " + ctl_cmd(a, "session", a.name))
    try:
        p.wait(ATTACHED, timeout=120)
        p.type("id -u")
        p.wait(r"65534")
        try:
            grp.getgrnam("docker")
            docker_gid = grp.getgrnam("docker").gr_gid
            assert docker_gid not in (users,), "test setup"
        except KeyError:
            pass
    finally:
        p.close()
    try:
        # in neither group: the socket itself is closed to them
        r = subprocess.run(["setpriv", "--reuid=12345", "--regid=12345",
                            "--clear-groups", "--", QMSCTL, "-S",
                            a.d.socket, "exec", a.name, "--", "id"],
                           capture_output=True, text=True,
                           stdin=subprocess.DEVNULL)
        eq(r.returncode, 3, "not even a connection")
        contains(r.stderr, "Permission denied")
        # and with the socket opened to all, qmsd refuses by the rule
        os.chmod(a.d.socket, 0o666)
        r = subprocess.run(["setpriv", "--reuid=12345", "--regid=12345",
                            "--clear-groups", "--", QMSCTL, "-S",
                            a.d.socket, "exec", a.name, "--", "id"],
                           capture_output=True, text=True,
                           stdin=subprocess.DEVNULL)
        eq(r.returncode, 1, "refused by qmsd")
        contains(r.stderr, "permission denied: session requires")
    finally:
        a.close()


def test_via_docker_fallback():
    """For users in the docker group: docker exec -it, same tmux."""
    a = session_agent()
    try:
        eq(a.up()[0], 0, "up")
        p = Pane("DOCKER_HOST=%s %s" % (os.environ["DOCKER_HOST"],
                                        ctl_cmd(a, "session",
                                                "--via-docker", a.name)))
        try:
            p.wait(ATTACHED)
            p.type("echo via-$((2*3))")
            p.wait(r"via-6")
        finally:
            p.close()
    finally:
        a.close()


def test_cold_session_prints_steps():
    port = free_port()
    a = Agent(extra="command = sh\n")
    a.d.close()
    from qmsdtest import Daemon
    a.d = Daemon(config=a.conf() + (
        "[qms-mcp]\nenabled = yes\ncommand = node %s streamableHttp\n"
        "workdir = /tmp\nenvironment = PORT=%d\n"
        "url = http://127.0.0.1:%d/mcp\n" % (EVERYTHING, port, port)))
    try:
        # everything stopped: the child and the agent's container
        eq(a.d.ctl("stop", "qms-mcp")[0], 0, "stop qms-mcp")
        wait_state(a.d, "qms-mcp", "stopped")
        wait_state(a.d, "agent:" + a.name, "missing")
        progress = os.path.join(a.base, "progress")
        p = Pane(ctl_cmd(a, "session", a.name) + " 2>" + progress)
        try:
            p.wait(ATTACHED)
            with open(progress) as f:
                s = f.read()
            for step in (r"qms-mcp ready \(\d+\.\d\d s\)",
                         r"git MCP endpoint ready \(\d+\.\d\d s\)",
                         r"agent %s running \([0-9a-f]{12}\) \(\d+\.\d\d s\)"
                         % a.name, r"attached \(\d+\.\d\d s in all\)"):
                assert re.search(step, s), (step, s)
            p.type("echo ready-$((1+1))")
            p.wait(r"ready-2")
        finally:
            p.close()
        eq(wait_state(a.d, "qms-mcp", "ready")["state"], "ready", "child")
    finally:
        a.close()


EXITED = r"Claude exited with status %s\.\s+Press Enter to start it " \
    r"again, or Ctrl-D to close this session\."


def test_exit_says_why_and_offers_a_restart():
    """The command ending leaves a message and the tmux session, and Enter
    starts it again; end of input closes the session."""
    a = session_agent()
    p = Pane(ctl_cmd(a, "session", a.name))
    try:
        p.wait(ATTACHED)
        p.type("echo first-$$; exit 3")
        first = p.wait(r"first-(\d+)").group(1)
        p.wait(EXITED % "3")
        r = a.exec("tmux", "ls")
        contains(r.stdout, "agent:", "the tmux session stays")
        # the attached qmsctl is still there, waiting on the same screen
        assert "EXIT=" not in p.screen(), p.screen()
        # a command that cannot start waits too: no spinning
        time.sleep(1)
        eq(len(re.findall(r"Claude exited", p.screen())), 1, "one exit")
        p.keys("Enter")
        p.type("echo second-$$")
        second = p.wait(r"second-(\d+)").group(1)
        assert second != first, "a new process"
        # Ctrl-C reaches the command, not the loop around it
        p.keys("C-c")
        # the shell's new prompt first: a line typed while the interrupt
        # is still on its way is one the shell throws away
        p.wait(r"\^C\n\$")
        p.type("echo still-$$")
        eq(p.wait(r"still-(\d+)").group(1), second, "Ctrl-C ended nothing")
        p.type("kill -9 $$")
        p.wait(EXITED % r"137 \(signal 9, KILL\)")
        # stopped, the command goes on: there is nothing to return to
        p.keys("Enter")
        p.type("exec sleep 600")
        time.sleep(0.5)
        p.keys("C-z")
        time.sleep(0.5)
        eq(len(re.findall(r"Claude exited", p.screen())), 2, "not on a stop")
        p.keys("C-c")
        p.wait(EXITED % r"130 \(signal 2, INT\)")
        p.keys("C-d")
        p.wait(r"EXIT=0")
        r = a.exec("tmux", "ls")
        assert "agent:" not in r.stdout, r.stdout
    finally:
        p.close()
        a.close()


def image_without_tmux():
    """The test image less tmux: what a session does without it."""
    name = "qms-agent-test-notmux:latest"
    if docker("image", "inspect", name, check=False).returncode != 0:
        c = "qmsd-notmux-" + secrets.token_hex(4)
        conf = json.loads(docker("image", "inspect", IMAGE).stdout)[0][
            "Config"]
        docker("run", "--name", c, "--network", "host", "--user", "0",
               IMAGE, "rm", "-f", "/usr/bin/tmux")
        docker("commit", "--change", "CMD " + json.dumps(conf["Cmd"]),
               "--change", "USER " + (conf["User"] or "0"), c, name)
        docker("rm", "-f", c, check=False)
    return name


def test_exit_without_tmux_keeps_the_status():
    a = Agent(extra="command = sh\n", image=image_without_tmux())
    p = Pane(ctl_cmd(a, "session", a.name))
    try:
        p.wait(r"(?m)^\$\s*$")
        p.type("echo in-$((6*7)); exit 3")
        p.wait(r"in-42")
        p.wait(EXITED % "3")
        p.keys("Enter")
        p.type("echo again-$((6*7)); exit 4")
        p.wait(r"again-42")
        p.wait(EXITED % "4")
        p.keys("C-d")
        p.wait(r"EXIT=4")
    finally:
        p.close()
        a.close()


if __name__ == "__main__":
    main(globals())
