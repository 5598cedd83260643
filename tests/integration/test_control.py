#!/usr/bin/env python3
"""The foundation: qmsd's control socket, qmsctl status, systemd hooks."""
import grp
import json
import os
import resource
import signal
import socket
import stat
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmsdtest import (Daemon, QMSCTL, QMSD, contains, eq, main, qmsctl,
                      readline, request)


def test_builtin_defaults():
    """No file at all: the project root is the current directory."""
    d = Daemon(builtin=True)
    try:
        o = d.rpc("status")["result"]
        eq(o["daemon"]["config"], None, "config")
        eq(o["daemon"]["project_root"], os.path.realpath(d.project), "root")
        rc, out, err = d.ctl("status")
        contains(out, "config   built-in defaults")
        contains(out, "project  " + os.path.realpath(d.project))
    finally:
        d.close()


def test_status_text():
    d = Daemon()
    try:
        rc, out, err = d.ctl("status")
        eq(rc, 0, "exit code")
        contains(out, "qmsd 0.1.0: ok")
        contains(out, "pid      %d" % d.pid)
        contains(out, "config   " + d.config)
        contains(out, "socket   " + d.socket)
        contains(out, "project  " + os.path.realpath(d.project))
        contains(out, "COMPONENT")
        contains(out, "control          ready")
        # a unique prefix is the command
        rc2, out2, _ = d.ctl("stat")
        eq(rc2, 0, "prefix exit code")
        contains(out2, "control          ready")
    finally:
        d.close()


def test_columns_fit_long_names():
    """A long agent name widens the first column instead of shifting
    the others, in status and in ps."""
    long = "documentation-reviewer-2"
    d = Daemon(config='[agent "%s"]\nimage = qms-agent-x:%s\n' % (
        long, "v" * 30))
    try:
        for cmd, head in (("status", "STATE"), ("ps", "STATE")):
            rc, out, err = d.ctl(cmd)
            lines = out.splitlines()
            hdr = [l for l in lines if head in l and (
                l.startswith("COMPONENT") or l.startswith("AGENT"))][0]
            col = hdr.index(head)
            rows = lines[lines.index(hdr) + 1:]
            rows = [r for r in rows if r and not r.startswith(" ")]
            if not rows:
                raise AssertionError("no rows: " + out)
            for r in rows:
                if r[col - 1] != " " or r[col] == " ":
                    raise AssertionError("%s: not aligned:\n%s" % (cmd,
                                                                    out))
            contains(out, long, cmd)
        contains(out, "qms-agent-x:" + "v" * 30 + " ", "the whole image")
    finally:
        d.close()


def test_status_json():
    d = Daemon()
    try:
        rc, out, err = d.ctl("status", "--json")
        eq(rc, 0, "exit code")
        o = json.loads(out)
        eq(o["health"], "ok", "health")
        dm = o["daemon"]
        eq(dm["pid"], d.pid, "pid")
        eq(dm["version"], "0.1.0", "version")
        eq(dm["protocol"], 1, "protocol")
        eq(dm["config"], d.config, "config")
        eq(dm["socket"], d.socket, "socket")
        eq(dm["project_root"], os.path.realpath(d.project), "root")
        assert isinstance(dm["uptime"], (int, float)) and dm["uptime"] >= 0
        assert dm["started"].endswith("Z")
        names = [c["name"] for c in o["components"]]
        eq(names, ["control", "qms-mcp", "http", "git", "gateway", "docker",
                   "audit"], "components")
        q = o["components"][1]
        eq(q["state"], "disabled", "qms-mcp without qms-cli")
        contains(q["detail"], "qms-cli (enabled = auto)")
        for c in o["components"]:
            for key in ("name", "state", "since", "detail"):
                assert key in c, key
        # the raw method answers the same object
        r = d.rpc("status")
        eq(r["result"]["daemon"]["pid"], d.pid, "rpc pid")
    finally:
        d.close()


def test_status_unreachable():
    d = Daemon()
    try:
        sock = d.socket
        eq(d.stop(), 0, "qmsd exit status on SIGTERM")
        assert not os.path.exists(sock), "socket left behind"
        rc, out, err = qmsctl("-S", sock, "status")
        eq(rc, 3, "exit code with qmsd gone")
        contains(out, "UNKNOWN: cannot connect to qmsd at " + sock)
        contains(out, "No such file or directory")
        # a socket nobody listens on
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(sock)
        s.close()
        rc, out, err = qmsctl("-S", sock, "status")
        eq(rc, 3, "exit code on a dead socket")
        contains(out, "Connection refused")
        # QMSD_SOCKET is honoured too
        rc, out, err = qmsctl("status", env={"QMSD_SOCKET": sock})
        eq(rc, 3, "exit code via QMSD_SOCKET")
        contains(out, sock)
        rc, out, err = qmsctl("version", env={"QMSD_SOCKET": sock})
        eq(rc, 3, "version exit code with qmsd gone")
        contains(err, sock)
    finally:
        d.close()


def fake_daemon(path, reply):
    """A peer that answers each request line with REPLY(request)."""
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(8)

    def serve():
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            with c:
                req = json.loads(readline(c))
                c.sendall((json.dumps(reply(req)) + "\n").encode())
    threading.Thread(target=serve, daemon=True).start()
    return srv


def test_status_exit_codes():
    """qmsctl maps health to the monitoring-plugin exit codes."""
    d = Daemon(wait=False)
    d.proc.kill()
    d.proc.wait()
    try:
        path = os.path.join(d.dir, "fake.sock")
        health = {"value": "ok"}

        def reply(req):
            return {"jsonrpc": "2.0", "id": req["id"], "result": {
                "health": health["value"],
                "daemon": {"pid": 1, "version": "0.1.0", "uptime": 1},
                "components": [{"name": "x", "state": "starting",
                                "since": "2026-01-01T00:00:00Z",
                                "detail": "d"}]}}
        srv = fake_daemon(path, reply)
        for h, code in (("ok", 0), ("warning", 1), ("critical", 2),
                        ("bogus", 3)):
            health["value"] = h
            rc, out, err = qmsctl("-S", path, "status")
            eq(rc, code, "exit code for health " + h)
            rc, out, err = qmsctl("-S", path, "status", "--json")
            eq(rc, code, "--json exit code for health " + h)
        srv.close()
    finally:
        d.close()


def test_usage_errors():
    rc, out, err = qmsctl()
    eq(rc, 64, "no command")
    contains(err, "usage: qmsctl")
    rc, out, err = qmsctl("frobnicate")
    eq(rc, 64, "unknown command")
    contains(err, "unknown command: frobnicate")
    for c in ("status", "version", "reload"):
        contains(err, c, "valid commands listed")
    rc, out, err = qmsctl("status", "--bogus")
    eq(rc, 64, "bad status argument")
    contains(err, "usage: qmsctl status [--json]")
    rc, out, err = qmsctl("-Z")
    eq(rc, 64, "bad global option")
    p = subprocess.run([QMSD, "-Z"], capture_output=True, text=True)
    eq(p.returncode, 64, "qmsd usage")
    contains(p.stderr, "usage: qmsd")
    p = subprocess.run([QMSD, "-V"], capture_output=True, text=True)
    eq(p.returncode, 0, "qmsd -V")
    contains(p.stdout, "qmsd 0.1.0 (control protocol 1)")


def test_version():
    d = Daemon()
    try:
        rc, out, err = d.ctl("version")
        eq(rc, 0, "exit code")
        contains(out, "qmsctl 0.1.0 (control protocol 1)")
        contains(out, "qmsd 0.1.0 (control protocol 1)")
    finally:
        d.close()


def test_check_config():
    d = Daemon(wait=False)
    d.proc.kill()
    d.proc.wait()
    try:
        conf = os.path.join(d.dir, "c.conf")
        with open(conf, "w") as f:
            f.write("[qmsd]\nlog-level = debug\n")
        p = subprocess.run([QMSD, "-n", "-c", conf], capture_output=True,
                           text=True)
        eq((p.returncode, p.stdout), (0, "configuration OK\n"), "good file")
        with open(conf, "w") as f:
            f.write("# x\n[qmsd]\nlog-level = debug\nsokcet = /x\n")
        p = subprocess.run([QMSD, "-n", "-c", conf], capture_output=True,
                           text=True)
        eq(p.returncode, 1, "bad file exit")
        eq(p.stderr, conf + ':4: unknown key "sokcet" in [qmsd]\n',
           "bad file message")
        missing = os.path.join(d.dir, "missing.conf")
        p = subprocess.run([QMSD, "-n", "-c", missing],
                           capture_output=True, text=True)
        eq(p.returncode, 1, "missing file exit")
        eq(p.stderr, missing + ": No such file or directory\n", "missing")
        # without -c and without /etc/qmsd/qmsd.conf: the built-ins
        if not os.path.exists("/etc/qmsd/qmsd.conf"):
            p = subprocess.run([QMSD, "-n"], capture_output=True,
                               text=True, cwd=d.dir)
            eq((p.returncode, p.stdout), (0, "configuration OK\n"),
               "built-in defaults")
        # a bad file stops start-up too, with the same message
        p = subprocess.run([QMSD, "-f", "-c", conf, "-S",
                            os.path.join(d.dir, "s")],
                           capture_output=True, text=True, timeout=10)
        eq(p.returncode, 78, "start with a bad file (EX_CONFIG)")
        contains(p.stderr, "qmsd: error: " + conf + ":4: unknown key")
    finally:
        d.close()


def test_notify_lifecycle():
    d = Daemon(watchdog_usec=100000)
    try:
        st = d.notify.wait_for("STATUS=")
        # docker is not needed with no agent: whatever its state, ok
        assert st.startswith("STATUS=ok: control ready, qms-mcp disabled, "
                             "http ready, git ready, gateway ready, "
                             "docker "), st
        # pets at half the interval: several within a second
        for _ in range(3):
            d.notify.wait_for("WATCHDOG=1", timeout=2)
        os.kill(d.pid, signal.SIGHUP)
        d.notify.wait_for("RELOADING=1")
        d.notify.wait_for("READY=1")
        d.proc.send_signal(signal.SIGTERM)
        d.notify.wait_for("STOPPING=1")
        eq(d.proc.wait(10), 0, "exit status")
    finally:
        d.close()


def test_watchdog_stops_with_loop():
    """The pings come from the loop: a stopped loop sends none."""
    d = Daemon(watchdog_usec=100000)
    try:
        d.notify.wait_for("WATCHDOG=1", timeout=2)
        os.kill(d.pid, signal.SIGSTOP)
        time.sleep(0.3)
        d.notify.take()
        time.sleep(0.5)
        eq([m for m in d.notify.take() if m == "WATCHDOG=1"], [],
           "pings while stopped")
        os.kill(d.pid, signal.SIGCONT)
        d.notify.wait_for("WATCHDOG=1", timeout=2)
    finally:
        d.close()


def test_socket_activation():
    d = Daemon(wait=False)
    d.proc.kill()
    d.proc.wait()
    try:
        sock = os.path.join(d.dir, "activated.sock")
        e = dict(os.environ)
        e["NOTIFY_SOCKET"] = d.notify.path
        p = subprocess.Popen(["systemd-socket-activate", "-l", sock,
                              "-E", "NOTIFY_SOCKET", QMSD, "-f", "-S", sock,
                              "-c", d.config],
                             cwd=d.project, env=e,
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        try:
            # the socket exists before qmsd runs: the first client starts it
            deadline = time.time() + 10
            while not os.path.exists(sock) and time.time() < deadline:
                time.sleep(0.05)
            rc, out, err = qmsctl("-S", sock, "status", "--json")
            eq(rc, 0, "status through the activated socket: " + err)
            o = json.loads(out)
            contains(o["components"][0]["detail"], "socket activation")
            eq(o["daemon"]["socket"], sock, "the passed socket's path")
            d.notify.wait_for("READY=1")
        finally:
            p.send_signal(signal.SIGTERM)
            p.wait(10)
    finally:
        d.close()


def test_sighup_good_and_bad():
    d = Daemon(config="[qmsd]\nproject-root = {project}\n")
    try:
        other = os.path.join(d.dir, "other")
        os.mkdir(other)
        d.write_config("[qmsd]\nproject-root = %s\n" % other)
        os.kill(d.pid, signal.SIGHUP)
        d.notify.wait_for("RELOADING=1")
        d.notify.wait_for("READY=1")
        eq(d.rpc("status")["result"]["daemon"]["project_root"], other,
           "root after a good reload")
        d.write_config("[qmsd]\nproject-root = %s\nlog-level = loud\n"
                       % d.project)
        os.kill(d.pid, signal.SIGHUP)
        d.notify.wait_for("RELOADING=1")
        d.notify.wait_for("READY=1")
        contains(d.log(), d.config + ':3: log-level must be')
        contains(d.log(), "keeping the running configuration")
        eq(d.rpc("status")["result"]["daemon"]["project_root"], other,
           "root after a bad reload")
        # the same through qmsctl reload, which says why
        rc, out, err = d.ctl("reload")
        eq(rc, 1, "reload of a bad file")
        contains(err, d.config + ":3: log-level must be")
        d.write_config("[qmsd]\nproject-root = {project}\n")
        rc, out, err = d.ctl("reload")
        eq((rc, out), (0, "reloaded %s\n" % d.config), "good reload")
        eq(d.rpc("status")["result"]["daemon"]["project_root"],
           os.path.realpath(d.project), "root after qmsctl reload")
        assert d.alive()
    finally:
        d.close()


def test_bad_input_keeps_connection():
    d = Daemon()
    try:
        with d.connect() as s:
            s.sendall(b"garbage\n")
            r = json.loads(readline(s))
            eq(r["error"]["code"], -32700, "garbage")
            eq(r["id"], None, "garbage id")
            s.sendall(b'[{"jsonrpc":"2.0","id":1,"method":"status"}]\n')
            eq(json.loads(readline(s))["error"]["code"], -32600, "batch")
            s.sendall(b'{"jsonrpc":"2.0","id":7,"method":"nope"}\n')
            r = json.loads(readline(s))
            eq((r["id"], r["error"]["code"]), (7, -32601), "unknown")
            contains(r["error"]["message"], '"nope"')
            s.sendall(b'{"jsonrpc":"1.0","id":8,"method":"status"}\n')
            r = json.loads(readline(s))
            eq((r["id"], r["error"]["code"]), (8, -32600), "invalid")
            # a notification is done and not answered: the next reply
            # is the next request's
            s.sendall(b'{"jsonrpc":"2.0","method":"version"}\n')
            r = request(s, "version", id=9)
            eq((r["id"], r["result"]["protocol"]), (9, 1), "after all that")
    finally:
        d.close()


def test_long_line():
    d = Daemon()
    try:
        with d.connect() as s:
            s.sendall(b"x" * (1 << 20) + b"\n")
            r = json.loads(readline(s))
            eq(r["error"]["code"], -32600, "1 MiB line")
            contains(r["error"]["message"], "exceeds 65536 bytes")
            r = request(s, "version", id=2)
            eq(r["result"]["version"], "0.1.0", "same connection after")
            # a line of exactly the limit is still read
            pad = " " * (65536 - len('{"jsonrpc":"2.0","id":3,'
                                     '"method":"version"}'))
            s.sendall(('{"jsonrpc":"2.0","id":3,"method":"version"}' +
                       pad + "\n").encode())
            eq(json.loads(readline(s))["id"], 3, "line at the limit")
        assert d.alive()
    finally:
        d.close()


def test_half_line_then_hangup():
    d = Daemon()
    try:
        for _ in range(20):
            with d.connect() as s:
                s.sendall(b'{"jsonrpc":"2.0","id":1,"meth')
        # and one that half-closes after a whole request: it is answered
        with d.connect() as s:
            s.sendall(b'{"jsonrpc":"2.0","id":4,"method":"version"}\n')
            s.shutdown(socket.SHUT_WR)
            eq(json.loads(readline(s))["id"], 4, "answer after SHUT_WR")
        eq(d.rpc("version")["result"]["protocol"], 1, "still serving")
    finally:
        d.close()


def test_many_clients_one_thread():
    d = Daemon()
    try:
        eq(d.threads(), 1, "threads while idle")
        socks = [d.connect() for _ in range(200)]
        for i, s in enumerate(socks):
            s.sendall(('{"jsonrpc":"2.0","id":%d,"method":"status"}\n'
                       % i).encode())
        eq(d.threads(), 1, "threads under load")
        for i, s in enumerate(socks):
            eq(json.loads(readline(s))["id"], i, "reply %d" % i)
            s.close()
        # 200 qmsctl processes at once, as monitoring might
        procs = [subprocess.Popen([QMSCTL, "-S", d.socket, "status"],
                                  stdout=subprocess.DEVNULL)
                 for _ in range(200)]
        codes = [p.wait(60) for p in procs]
        eq(codes, [0] * 200, "exit codes")
        eq(d.threads(), 1, "threads after load")
    finally:
        d.close()


def test_stalled_clients_do_not_delay_others():
    d = Daemon()
    try:
        # one client floods requests and never reads its answers
        flood = d.connect()
        flood.setblocking(False)
        line = b'{"jsonrpc":"2.0","id":1,"method":"status"}\n' * 1000
        sent = 0
        try:
            for _ in range(200):
                sent += flood.send(line)
        except BlockingIOError:
            pass
        # another connects and never sends anything
        idle = d.connect()
        # everyone else is answered throughout
        for _ in range(20):
            rc, out, err = d.ctl("status")
            eq(rc, 0, "status while others stall")
        assert sent > 0
        assert d.alive()
        flood.close()
        idle.close()
        eq(d.rpc("version")["result"]["protocol"], 1, "after")
    finally:
        d.close()


def test_emfile_pauses_accept():
    def lowfd():
        resource.setrlimit(resource.RLIMIT_NOFILE, (32, 32))
    d = Daemon(preexec=lowfd)
    try:
        socks = []
        for _ in range(60):
            try:
                socks.append(d.connect())
            except OSError:
                break
        t0 = os.times()
        cpu0 = _cpu(d.pid)
        time.sleep(1.5)
        cpu = _cpu(d.pid) - cpu0
        contains(d.log(), "pausing")
        # spinning on accept would burn the whole 1.5 s
        assert cpu < 0.5, "qmsd spun on EMFILE: %.2fs of CPU" % cpu
        for s in socks:
            s.close()
        deadline = time.time() + 10
        while True:
            rc, out, err = d.ctl("status")
            if rc == 0 or time.time() > deadline:
                break
        eq(rc, 0, "status once descriptors are free: " + out)
        del t0
    finally:
        d.close()


def _cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick


def test_permissions():
    """Read-only methods for any peer; the rest for root/admin/run-as."""
    d = Daemon(config="[qmsd]\nproject-root = {project}\n"
               "admin-group = users\n")
    try:
        users = grp.getgrnam("users").gr_gid
        st = os.stat(d.socket)
        eq(stat.S_IMODE(st.st_mode), 0o660, "socket mode")
        eq(st.st_gid, users, "socket group")
        # open it to everyone so that the per-request check is what
        # decides, not the file mode
        os.chmod(d.socket, 0o666)
        nobody = ["setpriv", "--reuid=65534", "--regid=65534",
                  "--clear-groups", "--"]
        rc, out, err = qmsctl("-S", d.socket, "status", prefix=nobody)
        eq(rc, 0, "status as nobody: " + err)
        rc, out, err = qmsctl("-S", d.socket, "version", prefix=nobody)
        eq(rc, 0, "version as nobody")
        rc, out, err = qmsctl("-S", d.socket, "reload", prefix=nobody)
        eq(rc, 1, "reload as nobody")
        contains(err, "permission denied: reload requires uid 0, group "
                 "'users' or user 'root' (you are uid 65534)")
        member = ["setpriv", "--reuid=65534", "--regid=65534",
                  "--groups=%d" % users, "--"]
        rc, out, err = qmsctl("-S", d.socket, "reload", prefix=member)
        eq(rc, 0, "reload as a member of the admin group: " + err)
        primary = ["setpriv", "--reuid=65534", "--regid=%d" % users,
                   "--clear-groups", "--"]
        rc, out, err = qmsctl("-S", d.socket, "reload", prefix=primary)
        eq(rc, 0, "reload with the admin group as primary group: " + err)
    finally:
        d.close()


def test_failed_reload_is_shown_until_a_good_one():
    """Issue 14: a reload that fails leaves a trace in status (where and
    why, and since when the running configuration is), until a good
    reload clears it."""
    d = Daemon(config="[http]\nmax-body = 1M\n")
    try:
        good = open(d.config).read()
        st = d.rpc("status")["result"]["daemon"]
        eq(st["reload_error"], None, "no failed reload yet")
        loaded = st["config_loaded"]
        with open(d.config, "a") as f:
            f.write("[http]\nmax-body = lots\n")
        rc, out, err = d.ctl("reload")
        eq(rc, 1, "the bad reload fails")
        st = d.rpc("status")["result"]["daemon"]
        contains(st["reload_error"], "%s:" % d.config, "where")
        contains(st["reload_error"], "max-body", "why")
        eq(st["config_loaded"], loaded, "the running configuration's time")
        rc, out, err = d.ctl("status")
        contains(out, "  reload   failed at %s:" % d.config, "shown")
        contains(out, "running the configuration loaded at %s" % loaded)
        with open(d.config, "w") as f:
            f.write(good)
        eq(d.ctl("reload")[0], 0, "a good reload")
        eq(d.rpc("status")["result"]["daemon"]["reload_error"], None,
           "cleared")
        assert "reload   failed" not in d.ctl("status")[1], "not shown"
    finally:
        d.close()


def test_one_qmsd_per_state_directory():
    """Issue 14: a second qmsd on another control socket but the same
    state directory would adopt the same containers and rotate the same
    tokens: it refuses to start, naming the first, which is unharmed;
    once the first is gone (even by SIGKILL), the directory is free."""
    d = Daemon()
    try:
        state = os.path.join(d.dir, "state")
        other = os.path.join(d.dir, "other.sock")
        p = subprocess.run([QMSD, "-f", "-S", other, "-c", d.config],
                           capture_output=True, text=True, timeout=10,
                           cwd=d.project)
        eq(p.returncode, 1, "second qmsd")
        contains(p.stderr, "another qmsd (pid %d) uses the state directory "
                 "%s" % (d.pid, state))
        assert not os.path.exists(other), "its socket is gone"
        eq(d.rpc("version")["result"]["protocol"], 1, "first unharmed")
        d.proc.kill()
        d.proc.wait()
        e = Daemon(config="[qmsd]\nstate-dir = %s\n" % state)
        try:
            eq(e.rpc("version")["result"]["protocol"], 1, "free again")
        finally:
            e.close()
    finally:
        d.close()


def test_stale_and_live_socket():
    d = Daemon(wait=False)
    d.proc.kill()
    d.proc.wait()
    try:
        e = Daemon(args=())
        try:
            # a second qmsd on the live socket refuses to start
            p = subprocess.run([QMSD, "-f", "-S", e.socket, "-c", e.config],
                               capture_output=True, text=True, timeout=10,
                               cwd=e.project)
            eq(p.returncode, 1, "second qmsd")
            contains(p.stderr, "qmsd: error: another qmsd is already "
                     "running on " + e.socket)
            eq(e.rpc("version")["result"]["protocol"], 1, "first unharmed")
        finally:
            e.close()
        # stale file: replaced
        f = Daemon(wait=False)
        f.proc.kill()
        f.proc.wait()
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(f.socket)
        s.close()
        p = subprocess.Popen([QMSD, "-f", "-S", f.socket, "-c", f.config],
                             cwd=f.project,
                             stderr=subprocess.PIPE, text=True,
                             env={**os.environ,
                                  "NOTIFY_SOCKET": f.notify.path})
        try:
            f.notify.wait_for("READY=1")
            rc, out, err = qmsctl("-S", f.socket, "status")
            eq(rc, 0, "status after replacing a stale socket")
        finally:
            p.terminate()
            _, errout = p.communicate(timeout=10)
            contains(errout, "replaced a stale socket")
            f.close()
        # not a socket: left alone
        g = Daemon(wait=False)
        g.proc.kill()
        g.proc.wait()
        with open(g.socket, "w") as fh:
            fh.write("precious")
        p = subprocess.run([QMSD, "-f", "-S", g.socket, "-c", g.config],
                           capture_output=True, text=True, timeout=10,
                           cwd=g.project)
        eq(p.returncode, 1, "file in the way")
        contains(p.stderr, "exists and is not a socket")
        with open(g.socket) as fh:
            eq(fh.read(), "precious", "file untouched")
        g.close()
    finally:
        d.close()


if __name__ == "__main__":
    main(globals())
