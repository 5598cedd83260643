#!/usr/bin/env python3
"""Hostile clients of the control socket: peers outside the admin group,
malformed params, connections that leave mid-request, several hand-overs
on one connection, shutdown with answers owed."""
import grp
import json
import os
import random
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmsdtest import Daemon, contains, eq, main

ADMIN_METHODS = ["up", "down", "session", "exec-resize", "exec-status",
                 "mcp-config", "reload", "start", "stop", "restart"]
READONLY = ["version", "status", "logs", "git-check", "ps"]


class Conn:
    """A control connection that keeps notifications apart and collects
    the descriptors qmsd hands over."""

    def __init__(self, d):
        self.s = d.connect()
        self.buf = b""
        self.fds = []

    def send(self, method, params=None, id=1):
        m = {"jsonrpc": "2.0", "id": id, "method": method}
        if params is not None:
            m["params"] = params
        self.s.sendall((json.dumps(m) + "\n").encode())

    def read(self):
        while True:
            if b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                o = json.loads(line)
                if "id" in o:
                    return o
                continue
            data, fds, _, _ = socket.recv_fds(self.s, 65536, 4)
            self.fds += fds
            if not data:
                raise AssertionError("connection closed")
            self.buf += data

    def call(self, method, params=None, id=1):
        self.send(method, params, id)
        return self.read()

    def close(self):
        for fd in self.fds:
            os.close(fd)
        self.s.close()


def as_user(d, uid, gid, groups, calls):
    """Each (method, params) on one connection from a child with these
    credentials; the decoded answers."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            os.setgroups(groups)
            os.setgid(gid)
            os.setuid(uid)
            c = Conn(d)
            out = [c.call(m, p, i) for i, (m, p) in enumerate(calls)]
            os.write(w, json.dumps(out).encode())
        except BaseException as e:
            os.write(w, json.dumps({"exc": repr(e)}).encode())
        os._exit(0)
    os.close(w)
    data = b""
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    out = json.loads(data)
    if isinstance(out, dict):
        raise AssertionError("child: " + out["exc"])
    return out


def code(reply):
    return reply.get("error", {}).get("code")


def test_nobody_gets_no_admin_method():
    d = Daemon(config="[qmsd]\nproject-root = {project}\n"
               "admin-group = users\n")
    try:
        os.chmod(d.socket, 0o666)
        params = {"agent": "claude", "exec": "ab", "rows": 1, "cols": 1,
                  "component": "http", "argv": ["id"]}
        out = as_user(d, 65534, 65534, [],
                      [(m, params) for m in ADMIN_METHODS])
        for m, r in zip(ADMIN_METHODS, out):
            eq(code(r), -32001, "%s as nobody: %s" % (m, r))
        out = as_user(d, 65534, 65534, [],
                      [(m, {"component": "http", "command": "git status"})
                       for m in READONLY])
        for m, r in zip(READONLY, out):
            assert code(r) != -32001, "%s as nobody: %s" % (m, r)
        assert d.alive()
    finally:
        d.close()


def test_reload_moves_admin_rights_and_bad_reload_keeps_them():
    users = grp.getgrnam("users").gr_gid
    d = Daemon(config="[qmsd]\nproject-root = {project}\n"
               "admin-group = users\n")
    try:
        os.chmod(d.socket, 0o666)
        member = (65534, 65534, [users])
        eq(code(as_user(d, *member, [("reload", None)])[0]), None,
           "a member reloads")
        d.write_config("[qmsd]\nproject-root = {project}\n"
                       "admin-group = root\n")
        assert "result" in d.rpc("reload")
        eq(code(as_user(d, *member, [("reload", None)])[0]), -32001,
           "no longer admin once the group changed")
        # a run-as that does not resolve: the running config stays
        d.write_config("[qmsd]\nproject-root = {project}\n"
                       "admin-group = users\nrun-as = nosuchuser-qmsd\n")
        r = d.rpc("reload")
        contains(r["error"]["message"], "no such user")
        eq(code(as_user(d, *member, [("reload", None)])[0]), -32001,
           "a failed reload grants nothing")
        # a number names the user; its name is what is kept
        d.write_config("[qmsd]\nproject-root = {project}\n"
                       "admin-group = root\nrun-as = 65534\n")
        assert "result" in d.rpc("reload")
        eq(d.rpc("status")["result"]["daemon"]["run_as"], "nobody")
        eq(code(as_user(d, 65534, 65534, [], [("reload", None)])[0]), None,
           "the run-as user is admin")
        d.write_config("[qmsd]\nproject-root = {project}\n"
                       "admin-group = root\n")
        assert "result" in d.rpc("reload")
        eq(code(as_user(d, 65534, 65534, [], [("reload", None)])[0]),
           -32001, "the old run-as user is not")
    finally:
        d.close()


def test_reload_gives_the_socket_to_the_new_admin_group():
    """The socket's group is who may connect at all: a reload that moves
    admin-group must move it too, or the old group keeps its way in and
    the new one has none."""
    users = grp.getgrnam("users").gr_gid
    d = Daemon(config="[qmsd]\nproject-root = {project}\n"
               "admin-group = users\n")
    try:
        eq(os.stat(d.socket).st_gid, users, "socket group at start")
        d.write_config("[qmsd]\nproject-root = {project}\n"
                       "admin-group = root\n")
        assert "result" in d.rpc("reload")
        eq(os.stat(d.socket).st_gid, 0, "socket group after the reload")
    finally:
        d.close()


BAD = [None, 5, -1, 1e308, -1e308, "x", "../../x", [], [1] * 3000, {},
       {"a": {"b": [None]}}, True, "z" * 40000]
KEYS = ["component", "lines", "follow", "command", "agent", "force", "tty",
        "rows", "cols", "term", "argv", "exec"]


def test_malformed_params_to_every_method():
    d = Daemon(config="[qmsd]\nproject-root = {project}\n"
               "[agent \"claude\"]\nimage = qms-agent-test:latest\n",
               env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    try:
        c = Conn(d)
        n = 0
        for m in READONLY + ADMIN_METHODS:
            if m == "reload":
                continue
            for k in KEYS:
                for v in BAD:
                    n += 1
                    r = c.call(m, {k: v}, n)
                    eq(r["id"], n, "one answer per request")
            for p in (5, "x", [1, 2], None):
                n += 1
                eq(c.call(m, p, n)["id"], n, "params not an object")
        c.s.sendall(b'{"jsonrpc":"2.0","id":1,"method":"version",'
                    b'"params":{"x":"' + b"a" * 70000 + b'"}}\n')
        contains(c.read()["error"]["message"], "exceeds")
        eq(c.call("version", None, 7)["id"], 7, "the connection goes on")
        assert d.alive()
    finally:
        d.close()


def test_non_string_agent_is_refused():
    """A malformed agent name must be refused, not read as "claude":
    down {"agent": ["x"]} would stop the default agent."""
    d = Daemon(config="[qmsd]\nproject-root = {project}\n"
               "[agent \"claude\"]\nimage = qms-agent-test:latest\n",
               env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    try:
        for m in ("up", "down", "session"):
            for v in (["x"], 5, {}, True):
                r = d.rpc(m, {"agent": v})
                eq(code(r), -32602, "%s with agent %r: %s" % (m, v, r))
    finally:
        d.close()


def test_session_console_size_is_bounded():
    """The session's rows and cols go to dockerd as ConsoleSize: bounded
    as exec-resize bounds them."""
    d = Daemon(config="[qmsd]\nproject-root = {project}\n"
               "[agent \"claude\"]\nimage = qms-agent-test:latest\n",
               env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    try:
        for rows, cols in ((2 ** 31 - 1, 80), (24, 10 ** 12), (-5, 80),
                           ("24", 80)):
            r = d.rpc("session", {"tty": True, "rows": rows, "cols": cols,
                                  "argv": ["true"]})
            eq(code(r), -32602, "rows %r cols %r: %s" % (rows, cols, r))
    finally:
        d.close()


def docker_agent():
    from test_agent import Agent
    return Agent(extra="command = sh\n")


def test_exec_is_its_connections_only():
    a = docker_agent()
    try:
        A = Conn(a.d)
        r = A.call("session", {"agent": a.name, "argv": ["sleep", "60"],
                               "tty": True, "rows": 10, "cols": 10})
        ex = r["result"]["exec"]
        eq(len(A.fds), 1, "the stream was handed over")
        B = Conn(a.d)
        for m, p in (("exec-resize", {"exec": ex, "rows": 5, "cols": 5}),
                     ("exec-status", {"exec": ex})):
            eq(code(B.call(m, p)), -32001, m + " by another connection")
        # dockerd answers the upgrade a moment before it marks the
        # exec running: the owner asks until it is
        deadline = time.monotonic() + 10
        while not A.call("exec-status", {"exec": ex})["result"]["running"]:
            assert time.monotonic() < deadline, "the exec never ran"
            time.sleep(0.05)
        eq(A.call("exec-resize", {"exec": ex, "rows": 5, "cols": 5})
           ["result"], {}, "resize by the owner")
        # the owner leaves with both asks in flight
        A.send("exec-status", {"exec": ex}, 2)
        A.send("exec-resize", {"exec": ex, "rows": 7, "cols": 7}, 3)
        A.close()
        # a new connection is never the old one
        C = Conn(a.d)
        eq(code(C.call("exec-status", {"exec": ex})), -32001, "reconnected")
        B.close()
        C.close()
        time.sleep(1)
        assert a.d.alive()
    finally:
        a.close()


def test_askers_that_leave_mid_session():
    a = docker_agent()
    try:
        eq(a.up()[0], 0, "up")
        for i in range(40):
            c = Conn(a.d)
            c.send("session", {"agent": a.name, "argv": ["true"]})
            time.sleep(random.uniform(0, 0.03))
            c.close()
        time.sleep(3)
        c = Conn(a.d)
        assert "result" in c.call("session", {"agent": a.name,
                                              "argv": ["true"]})
        c.close()
        eq(a.d.stop(), 0, "a clean exit (ASan: no leak, no use after free)")
    finally:
        a.close()


def test_askers_of_up_that_leave():
    """Issue 13, item 5 (control up): an up whose client leaves gives up
    its place among the agent's waiters at once, so 40 clients that ask
    and leave while the agent comes up cannot keep a real one out (there
    are 16 places), and qmsd ends cleanly (ASan: nothing leaked)."""
    a = docker_agent()
    try:
        eq(a.up()[0], 0, "up")
        for round in range(2):
            keep = Conn(a.d)
            assert "result" in keep.call("down", {"agent": a.name})
            for i in range(40):
                c = Conn(a.d)
                c.send("up", {"agent": a.name})
                if i % 4:
                    time.sleep(random.uniform(0, 0.005))
                c.close()
            time.sleep(0.2)
            r = keep.call("up", {"agent": a.name}, id=2)
            assert "result" in r, r
            keep.close()
        eq(a.d.rpc("status")["result"]["health"] in ("ok", "warning"), True,
           "qmsd answers")
        eq(a.d.stop(), 0, "a clean exit (ASan: no leak, no use after free)")
    finally:
        a.close()


def test_second_handover_on_one_connection_is_answered():
    """Two sessions asked on one connection: each request gets its answer
    (qmsd passes one descriptor at a time, so the second must wait or be
    refused, never vanish)."""
    a = docker_agent()
    try:
        c = Conn(a.d)
        assert "result" in c.call("up", {"agent": a.name})
        # Keep qmsd's output to us backed up so that the first
        # hand-over is still pending when the second is ready.
        st = json.dumps({"jsonrpc": "2.0", "id": 0,
                         "method": "status"}).encode() + b"\n"
        c.s.sendall(st * 400)
        c.send("session", {"agent": a.name, "argv": ["sleep", "60"]}, 1)
        c.send("session", {"agent": a.name, "argv": ["sleep", "61"]}, 2)
        time.sleep(5)
        c.s.settimeout(10)
        ids = set()
        while ids != {1, 2}:
            try:
                o = c.read()
            except (socket.timeout, AssertionError):
                break
            if o["id"]:
                ids.add(o["id"])
        eq(ids, {1, 2}, "both sessions answered")
        c.close()
    finally:
        a.close()


def test_shutdown_with_exec_asks_in_flight():
    """SIGTERM with exec-status and exec-resize owed: each deferred
    request is ended (under ASan, an unanswered one is a leak and qmsd
    exits non-zero)."""
    a = docker_agent()
    try:
        c = Conn(a.d)
        r = c.call("session", {"agent": a.name, "argv": ["sleep", "60"],
                               "tty": True})
        ex = r["result"]["exec"]
        for i in range(20):
            c.send("exec-status", {"exec": ex}, 100 + i)
            c.send("exec-resize", {"exec": ex, "rows": 5, "cols": 5},
                   200 + i)
        c.send("session", {"agent": a.name, "argv": ["true"]}, 300)
        eq(a.d.stop(signal.SIGTERM, timeout=30), 0, "exit status: " +
           a.d.log()[-3000:])
        c.close()
    finally:
        a.close()


if __name__ == "__main__":
    main(globals())
