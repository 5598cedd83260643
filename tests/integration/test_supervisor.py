#!/usr/bin/env python3
"""Supervision of the QMS MCP server, with a real MCP server as the child."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmsdtest import (EVERYTHING, QMSCTL, Daemon, component, contains, eq,
                      free_port, main, wait_state)


def everything_conf(port, extra=""):
    return ("[qms-mcp]\nenabled = yes\n"
            "command = node %s streamableHttp\n"
            "workdir = /tmp\n"
            "environment = PORT=%d\n"
            "url = http://127.0.0.1:%d/mcp\n%s" % (EVERYTHING, port, port,
                                                   extra))


def command_conf(command, extra=""):
    port = free_port()
    return ("[qms-mcp]\nenabled = yes\ncommand = %s\nworkdir = /tmp\n"
            "url = http://127.0.0.1:%d/mcp\n%s" % (command, port, extra))


def child_pid(d):
    return component(d, "qms-mcp")["pid"]


def test_ready_by_handshake():
    port = free_port()
    d = Daemon(config=everything_conf(port))
    try:
        row = wait_state(d, "qms-mcp", "ready")
        contains(row["detail"], "MCP 2025-06-18 on http://127.0.0.1:%d/mcp"
                 % port)
        assert isinstance(row["probe_ms"], (int, float))
        eq(row["restarts"], 0, "restarts")
        rc, out, err = d.ctl("status")
        eq(rc, 0, "status exit when ready")
        contains(out, "qms-mcp          ready")
        contains(out, "pid %d, 0 restarts, probe" % row["pid"])
        # systemd hears about it too
        deadline = time.time() + 10
        while True:
            st = d.notify.wait_for("STATUS=")
            if "qms-mcp ready" in st or time.time() > deadline:
                break
        contains(st, "qms-mcp ready", "STATUS=")
        # the child's output reached the log, with its component
        contains(d.log(), "qms-mcp: MCP Streamable HTTP Server listening")
    finally:
        d.close()


def test_kill9_restarts():
    port = free_port()
    d = Daemon(config=everything_conf(port, "backoff-min = 100ms\n"))
    try:
        first = wait_state(d, "qms-mcp", "ready")["pid"]
        os.kill(first, signal.SIGKILL)
        row = wait_state(d, "qms-mcp", "ready",
                         cond=lambda r: r["pid"] not in (None, first))
        eq(row["restarts"], 1, "restart count")
        eq(row["last_exit"], "signal 9 (Killed)", "last exit")
        rc, out, err = d.ctl("status")
        contains(out, "1 restart, last exit: signal 9 (Killed)")
    finally:
        d.close()


def test_backoff_grows_then_gives_up():
    d = Daemon(config=command_conf(
        "/bin/false", "backoff-min = 100ms\nbackoff-max = 400ms\n"
        "give-up = 5\ngive-up-window = 1m\n"))
    try:
        row = wait_state(d, "qms-mcp", "failed")
        contains(row["detail"], "gave up after 5 failures within 60s")
        contains(row["detail"], "exit 1")
        delays = [int(m) for m in
                  re.findall(r"qms-mcp: next start in (\d+) ms", d.log())]
        eq(delays, [100, 200, 400, 400], "delays between attempts")
        rc, out, err = d.ctl("status")
        eq(rc, 2, "status exit with a failed component")
        # start clears the give-up state: it runs (and fails) again
        rc, out, err = d.ctl("start", "qms-mcp")
        eq(rc, 0, "start a failed component: " + err)
        wait_state(d, "qms-mcp", "backoff",
                   cond=lambda r: r["restarts"] >= 5)
        rc, out, err = d.ctl("status")
        eq(rc, 1, "status exit while in backoff")
    finally:
        d.close()


def test_never_listens_restarts():
    d = Daemon(config=command_conf(
        "sleep 1000", "start-timeout = 1s\nbackoff-min = 100ms\n"))
    try:
        row = wait_state(d, "qms-mcp", "starting")
        contains(row["detail"], "waiting for an MCP handshake")
        rc, out, err = d.ctl("status")
        eq(rc, 1, "status exit while starting")
        row = wait_state(d, "qms-mcp", ("starting", "backoff"),
                         cond=lambda r: r["restarts"] >= 1)
        contains(d.log(), "no MCP handshake within 1s")
    finally:
        d.close()


def test_sigterm_ignored_then_killed():
    d = Daemon(config=command_conf(
        "python3 -c 'import signal, time; "
        "signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print(\"ignoring\", flush=True); time.sleep(1000)'",
        "stop-timeout = 1s\n"))
    try:
        row = wait_state(d, "qms-mcp", "starting")
        pid = row["pid"]
        deadline = time.time() + 10
        while "ignoring" not in d.log() and time.time() < deadline:
            time.sleep(0.05)
        rc, out, err = d.ctl("stop", "qms-mcp")
        eq((rc, out), (0, "qms-mcp: stopping\n"), "stop")
        row = wait_state(d, "qms-mcp", "stopped")
        eq(row["last_exit"], "signal 9 (Killed)", "killed after the timeout")
        contains(d.log(), "still running 1s after SIGTERM; killing")
        assert not os.path.exists("/proc/%d" % pid), "child left running"
        # stopped by hand stays stopped across a reload
        os.kill(d.pid, signal.SIGHUP)
        d.notify.wait_for("RELOADING=1")
        d.notify.wait_for("READY=1")
        eq(component(d, "qms-mcp")["state"], "stopped", "after reload")
    finally:
        d.close()


def test_port_in_use():
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    port = holder.getsockname()[1]
    d = Daemon(config=everything_conf(port, "backoff-min = 100ms\n"))
    try:
        row = wait_state(d, "qms-mcp", "backoff")
        contains(row["detail"],
                 "127.0.0.1:%d is in use by another process" % port)
        eq(row.get("pid"), None, "no child was started")
        holder.close()
        wait_state(d, "qms-mcp", "ready")
    finally:
        holder.close()
        d.close()


def test_logs_and_follow():
    port = free_port()
    d = Daemon(config=everything_conf(port, "probe-interval = 200ms\n"))
    try:
        wait_state(d, "qms-mcp", "ready")
        rc, out, err = d.ctl("logs", "qms-mcp", "-n", "3")
        eq(rc, 0, "logs")
        eq(len(out.splitlines()), 3, "-n 3 lines")
        rc, out, err = d.ctl("logs", "qms-mcp", "-n", "1000")
        contains(out, "MCP Streamable HTTP Server listening on port %d"
                 % port)
        f = subprocess.Popen([QMSCTL, "-S", d.socket, "logs", "qms-mcp",
                              "-n", "0", "-f"], stdout=subprocess.PIPE,
                             text=True)
        try:
            # each probe makes the server log a few lines, the first of
            # them this one: followed from wherever a probe was
            got = []
            while len(got) < 20 and not any(
                    "Received MCP POST request" in x for x in got):
                got.append(f.stdout.readline())
            for line in got:
                assert re.match(r"\d{4}-\d\d-\d\dT\S+Z ", line), line
            contains("".join(got), "Received MCP POST request")
        finally:
            f.send_signal(signal.SIGINT)
            eq(f.wait(10), 0, "logs -f exit on SIGINT")
        rc, out, err = d.ctl("logs", "nosuch")
        eq(rc, 1, "logs of an unknown component")
        contains(err, 'unknown component "nosuch"; components are: '
                 'control, qms-mcp')
        rc, out, err = d.ctl("logs")
        eq(rc, 64, "logs without a component")
    finally:
        d.close()


def test_child_environment_and_descriptors():
    d = Daemon(config=command_conf("sleep 1000",
                                   "environment = EXTRA=1 'SP=a b'\n"),
               watchdog_usec=10000000)
    try:
        pid = wait_state(d, "qms-mcp", "starting")["pid"]
        # Once sleep sleeps: before, the dynamic loader may still hold a
        # library open (a descriptor of the child's own, not one leaked).
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with open("/proc/%d/syscall" % pid) as f:
                if f.read().split()[0] in ("35", "230"):
                    break
            time.sleep(0.01)
        fds = sorted(int(x) for x in os.listdir("/proc/%d/fd" % pid))
        eq(fds, [0, 1, 2], "descriptors the child holds")
        eq(os.readlink("/proc/%d/fd/0" % pid), "/dev/null", "stdin")
        for fd in (1, 2):
            assert os.readlink("/proc/%d/fd/%d" % (pid, fd)).startswith(
                "pipe:"), "fd %d is a pipe" % fd
        eq(os.getpgid(pid), pid, "own process group")
        with open("/proc/%d/environ" % pid, "rb") as f:
            env = dict(kv.split("=", 1) for kv in
                       f.read().decode().split("\0") if "=" in kv)
        for k in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID",
                  "LISTEN_FDS", "LISTEN_PID", "JOURNAL_STREAM"):
            assert k not in env, k + " leaked into the child"
        eq(env.get("EXTRA"), "1", "configured environment")
        eq(env.get("SP"), "a b", "quoted environment value")
        eq(env.get("HOME"), "/root", "HOME of the run-as user")
        # the parent-death signal: qmsd SIGKILLed takes the child along
        d.proc.kill()
        d.proc.wait()
        deadline = time.time() + 5
        while os.path.exists("/proc/%d" % pid) and time.time() < deadline:
            time.sleep(0.05)
        assert not os.path.exists("/proc/%d" % pid), "child outlived qmsd"
    finally:
        d.close()


def test_runs_as_run_as_user():
    d = Daemon(config="[qmsd]\nrun-as = nobody\n" +
               command_conf("sleep 1000"))
    try:
        pid = wait_state(d, "qms-mcp", "starting")["pid"]
        with open("/proc/%d/status" % pid) as f:
            ids = {l.split(":")[0]: l.split()[1:] for l in f
                   if l.startswith(("Uid:", "Gid:"))}
        eq(ids["Uid"][0], "65534", "uid")
        eq(ids["Gid"][0], "65534", "gid")
    finally:
        d.close()


def proc_groups(pid):
    with open("/proc/%d/status" % pid) as f:
        for l in f:
            if l.startswith("Groups:"):
                return sorted(int(g) for g in l.split()[1:])
    return []


def test_groups_of_run_as_and_reload():
    """The child has the run-as user's groups, as initgroups gives them;
    qmsd looks them up once, and again at a reload."""
    import secrets
    group = "qmsdt" + secrets.token_hex(3)
    subprocess.run(["groupadd", group], check=True)
    d = None
    try:
        d = Daemon(config="[qmsd]\nrun-as = nobody\n" +
                   command_conf("sleep 1000"))
        pid = wait_state(d, "qms-mcp", "starting")["pid"]
        eq(proc_groups(pid), sorted(os.getgrouplist("nobody", 65534)),
           "nobody's groups")
        subprocess.run(["gpasswd", "-a", "nobody", group], check=True,
                       stdout=subprocess.DEVNULL)
        gid = int(subprocess.run(["getent", "group", group],
                                 capture_output=True, text=True,
                                 check=True).stdout.split(":")[2])
        rc, out, err = d.ctl("reload")
        eq(rc, 0, "reload: " + err)
        rc, out, err = d.ctl("restart", "qms-mcp")
        eq(rc, 0, "restart: " + err)
        pid = wait_state(d, "qms-mcp", "starting",
                         cond=lambda r: r["pid"] not in (None, pid))["pid"]
        if gid not in proc_groups(pid):
            raise AssertionError("the new group after a reload: %s" %
                                 proc_groups(pid))
    finally:
        if d is not None:
            d.close()
        subprocess.run(["groupdel", group])


def test_no_zombies_after_100_restarts():
    d = Daemon(config=command_conf(
        "/bin/true", "backoff-min = 1ms\nbackoff-max = 1ms\n"))
    try:
        codes = set()
        deadline = time.time() + 60
        while time.time() < deadline:
            rc, out, err = d.ctl("status")
            codes.add(rc)
            if component(d, "qms-mcp")["restarts"] >= 100:
                break
        assert component(d, "qms-mcp")["restarts"] >= 100
        assert 3 not in codes, "status unanswered during restarts"
        def zombies():
            found = set()
            for p in os.listdir("/proc"):
                if not p.isdigit():
                    continue
                try:
                    with open("/proc/%s/stat" % p) as f:
                        st = f.read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(st[1]) == d.pid and st[0] == "Z":
                    found.add(p)
            return found
        # The child restarted every millisecond may be between its exit
        # and qmsd's reaping at the moment of a look: a zombie is one
        # still there a second later.
        first = zombies()
        time.sleep(1)
        eq(sorted(first & zombies()), [], "zombie children of qmsd")
        eq(d.threads(), 1, "threads")
    finally:
        d.close()


def test_shutdown_stops_child():
    port = free_port()
    d = Daemon(config=everything_conf(port))
    try:
        pid = wait_state(d, "qms-mcp", "ready")["pid"]
        eq(d.stop(signal.SIGINT), 0, "exit on SIGINT")
        assert not os.path.exists("/proc/%d" % pid), "child left behind"
        contains(d.log(), "qms-mcp: stopping -> stopped: shutdown")
    finally:
        d.close()


def test_disabled():
    d = Daemon(config="[qms-mcp]\nenabled = no\n")
    try:
        row = component(d, "qms-mcp")
        eq(row["state"], "disabled", "state")
        eq(row["detail"], "enabled = no in the configuration", "detail")
        rc, out, err = d.ctl("status")
        eq(rc, 0, "a disabled component does not count against health")
        rc, out, err = d.ctl("start", "qms-mcp")
        eq(rc, 1, "start a disabled component")
        contains(err, "qms-mcp is disabled")
        # enabling it by reload starts it
        d.write_config(command_conf("sleep 1000"))
        rc, out, err = d.ctl("reload")
        eq(rc, 0, "reload")
        wait_state(d, "qms-mcp", "starting")
    finally:
        d.close()


def test_admin_commands():
    d = Daemon(config=command_conf("sleep 1000"))
    try:
        first = wait_state(d, "qms-mcp", "starting")["pid"]
        rc, out, err = d.ctl("restart", "qms-mcp")
        eq(rc, 0, "restart")
        wait_state(d, "qms-mcp", "starting",
                   cond=lambda r: r["pid"] not in (None, first))
        rc, out, err = d.ctl("stop", "qms-mcp")
        wait_state(d, "qms-mcp", "stopped")
        rc, out, err = d.ctl("start", "qms-mcp")
        eq(rc, 0, "start")
        wait_state(d, "qms-mcp", "starting")
        rc, out, err = d.ctl("stop", "nosuch")
        eq(rc, 1, "stop an unknown component")
        rc, out, err = d.ctl("stop", "control")
        eq(rc, 1, "stop the control socket")
        contains(err, "control cannot be stopped")
        # admin only: nobody is refused even with the socket open to all
        os.chmod(d.socket, 0o666)
        rc, out, err = d.ctl("stop", "qms-mcp",
                             prefix=["setpriv", "--reuid=65534",
                                     "--regid=65534", "--clear-groups"])
        eq(rc, 1, "stop as nobody")
        contains(err, "permission denied: stop requires")
        rc, out, err = d.ctl("logs", "qms-mcp",
                             prefix=["setpriv", "--reuid=65534",
                                     "--regid=65534", "--clear-groups"])
        eq(rc, 0, "logs is read-only: " + err)
    finally:
        d.close()


if __name__ == "__main__":
    main(globals())
