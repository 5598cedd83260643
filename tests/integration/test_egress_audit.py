#!/usr/bin/env python3
"""The egress audit as a person sees it: `qmsctl egress [AGENT] [-f]`, and
the counts in `status` and `ps`.  The records come from the egress proxy
on an agent's own socket (STATE/agents/NAME/link/qmsd.sock), driven here
as the agent's relay would: a CONNECT to a listed loopback port opens a
tunnel to a local echo server, one to an unlisted port is refused with a
403.  No container and no Docker are needed: the socket is made for every
enabled agent with network = none.  Traffic stays on the machine."""
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmsdtest import (QMSCTL, Daemon, component, contains, eq, free_port,
                      main)

PAYLOAD = b"through the tunnel and back\n"


class Echo:
    """A TCP echo server on 127.0.0.1: the upstream a tunnel reaches."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._echo, args=(c,),
                             daemon=True).start()

    @staticmethod
    def _echo(c):
        with c:
            while True:
                data = c.recv(65536)
                if not data:
                    return
                c.sendall(data)

    def close(self):
        self.sock.close()


def config(echo_port, names=("e1",)):
    text = ""
    for n in names:
        text += ('[agent "%s"]\nimage = none:latest\negress = 127.0.0.1:%d\n'
                 % (n, echo_port))
    return text


def agent_socket(d, name):
    return os.path.join(d.dir, "state", "agents", name, "link", "qmsd.sock")


def until(what, cond, timeout=30):
    """Wait for cond() to be true: for qmsd to have done something."""
    deadline = time.monotonic() + timeout
    while True:
        got = cond()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError("never: " + what)
        time.sleep(0.05)


def link(d, name):
    """A connection on the agent's socket, once qmsd has made it."""
    path = agent_socket(d, name)
    until("%s exists" % path, lambda: os.path.exists(path))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.settimeout(10)
    return s


def read_head(s):
    """The status line and headers of an answer, and what came after."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    return head.decode("latin-1"), rest


def connect_line(port):
    return ("CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n"
            % (port, port)).encode()


def tunnel(d, name, port):
    """Open a tunnel through the proxy; the socket, the tunnel open."""
    s = link(d, name)
    s.sendall(connect_line(port))
    head, rest = read_head(s)
    if not head.split(" ")[1:2] == ["200"]:
        raise AssertionError("CONNECT answered %r" % head)
    eq(rest, b"", "nothing past the 200 before we send")
    return s


def echo_through(s):
    s.sendall(PAYLOAD)
    got = b""
    while len(got) < len(PAYLOAD):
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
    eq(got, PAYLOAD, "echoed through the tunnel")


def refused(d, name, port):
    """A CONNECT to an unlisted port: the 403 and its body."""
    s = link(d, name)
    try:
        s.sendall(connect_line(port))
        head, body = read_head(s)
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                body += chunk
        except socket.timeout:
            pass
    finally:
        s.close()
    eq(head.split(" ")[1:2], ["403"], "an unlisted port: " + head)
    return body.decode("latin-1")


def records(d, *args):
    rc, out, err = d.ctl("egress", "--json", *args)
    eq((rc, err), (0, ""), "qmsctl egress --json")
    return [json.loads(l) for l in out.splitlines()]


def counts_ps(d, name):
    rc, out, err = d.ctl("ps", "--json")
    eq(rc, 0, "ps --json")
    for a in json.loads(out)["agents"]:
        if a["agent"] == name:
            return a["egress"]
    raise AssertionError("no agent %s in ps" % name)


def counts_status(d, name):
    return component(d, "agent:" + name)["egress"]


ZERO = {"allowed": 0, "denied": 0, "open": 0, "bytes_up": 0,
        "bytes_down": 0, "failed": 0}


# ---- what holds without a single record ----

def test_no_records_yet():
    d = Daemon(config=config(free_port(), ("e1", "e2")))
    try:
        rc, out, err = d.ctl("egress")
        eq((rc, out, err), (0, "", ""), "egress, nothing recorded")
        eq(records(d, "e1"), [], "egress e1 --json")
        eq(counts_ps(d, "e1"), ZERO, "ps --json egress")
        eq(counts_status(d, "e2"), ZERO, "status agent row egress")
        rc, out, err = d.ctl("ps")
        eq(rc, 0, "ps")
        if "egress" in out:
            raise AssertionError("ps says egress with nothing to say: "
                                 + out)
    finally:
        d.close()


def test_usage_and_unknown_agent():
    d = Daemon(config=config(free_port()))
    try:
        rc, out, err = d.ctl("egress", "nosuch")
        eq(rc, 1, "egress of an unknown agent")
        contains(err, 'no agent "nosuch"')
        rc, out, err = d.ctl("egress", "nosuch", "-f")
        eq(rc, 1, "egress -f of an unknown agent does not follow")
        rc, out, err = d.ctl("egress", "e1", "e2")
        eq(rc, 64, "two agents")
        contains(err, "usage: qmsctl egress")
        rc, out, err = d.ctl("egress", "-n", "x")
        eq(rc, 64, "a bad -n")
        rc, out, err = d.ctl("egress", "--bogus")
        eq(rc, 64, "an unknown option")
        r = d.rpc("egress", {"agent": 7})
        eq(r["error"]["code"], -32602, "agent not a string")
        r = d.rpc("egress", {"lines": -1})
        eq(r["error"]["code"], -32602, "negative lines")
        r = d.rpc("egress", {"agent": "e1", "lines": 5})
        eq(r["result"], {"records": [], "follow": False}, "the result")
    finally:
        d.close()


def subscribe(d, agent=None):
    """A raw `egress` follower; the socket, subscribed once answered."""
    s = d.connect()
    params = {"follow": True, "lines": 0}
    if agent is not None:
        params["agent"] = agent
    s.sendall((json.dumps({"jsonrpc": "2.0", "id": 1, "method": "egress",
                           "params": params}) + "\n").encode())
    eq(json.loads(s.recv(65536))["result"], {"records": [], "follow": True},
       "subscribed")
    return s


def test_followers_leave_with_their_clients():
    """Subscriptions of clients that went are ended, and those still there
    at shutdown too, before the ring goes (a follower told after that, or
    removed twice, would crash qmsd).  The records that would reach them
    need the proxy: see test_follow."""
    d = Daemon(config=config(free_port()))
    try:
        for i in range(20):
            subscribe(d, "e1" if i % 2 else None).close()
        kept = [subscribe(d), subscribe(d, "e1")]
        eq(d.rpc("version")["result"]["protocol"], 1, "qmsd still answers")
        eq(d.stop(), 0, "a clean exit with followers still there")
        for s in kept:
            s.close()
    finally:
        d.close()


# ---- with the egress proxy (issue 15): records made for real ----

def test_tunnel_and_refusal_recorded():
    echo = Echo()
    blocked = free_port()
    d = Daemon(config=config(echo.port, ("e1", "e2")))
    try:
        s = tunnel(d, "e1", echo.port)
        echo_through(s)
        until("one tunnel open in ps",
              lambda: counts_ps(d, "e1")["open"] == 1)
        eq(counts_status(d, "e1")["open"], 1, "status: one open")
        s.close()
        until("the tunnel's closed record", lambda: any(
            r["event"] == "closed" for r in records(d, "e1")))

        body = refused(d, "e1", blocked)
        contains(body, "127.0.0.1:%d" % blocked, "the 403 names the target")

        got = records(d, "e1")
        eq([r["event"] for r in got], ["open", "closed", "denied"],
           "the records, oldest first")
        for r in got:
            eq(r["agent"], "e1", "agent")
            eq(r["method"], "CONNECT", "method")
        opened, closed, denied = got
        eq(opened["target"], "127.0.0.1:%d" % echo.port, "target")
        eq(opened["address"], "127.0.0.1:%d" % echo.port, "address")
        eq(opened["status"], 200, "open status")
        eq(closed["bytes_up"], len(PAYLOAD), "bytes up")
        eq(closed["bytes_down"], len(PAYLOAD), "bytes down")
        eq(denied["target"], "127.0.0.1:%d" % blocked, "denied target")
        eq(denied["status"], 403, "denied status")
        eq(denied["rule"], "not-listed", "why")
        eq(denied["address"], None, "no address for a refusal")
        contains(denied["reason"], "127.0.0.1:%d" % blocked, "reason")

        # The text people read: one line each, all of it there.
        rc, out, err = d.ctl("egress", "e1")
        eq(rc, 0, "egress e1")
        lines = out.splitlines()
        eq(len(lines), 3, "three lines: " + out)
        contains(lines[0], " e1 open CONNECT 127.0.0.1:%d at 127.0.0.1:%d "
                 "-> 200" % (echo.port, echo.port), "open line")
        contains(lines[1], " e1 closed CONNECT 127.0.0.1:%d at "
                 "127.0.0.1:%d -> 200, %d bytes up, %d down, "
                 % (echo.port, echo.port, len(PAYLOAD), len(PAYLOAD)),
                 "closed line")
        contains(lines[2], " e1 denied CONNECT 127.0.0.1:%d -> 403 by "
                 "not-listed, 0 bytes up, 0 down, " % blocked, "denied line")
        contains(lines[2], denied["reason"], "the reason")
        rc, out, err = d.ctl("egress", "e1", "-n", "1")
        eq(out, lines[2] + "\n", "-n 1: the last")

        # One agent's records are its own; all of them without a name.
        refused(d, "e2", blocked)
        eq([r["event"] for r in records(d, "e2")], ["denied"], "e2's")
        eq([r["agent"] for r in records(d)], ["e1", "e1", "e1", "e2"],
           "everyone's")

        want = {"allowed": 1, "denied": 1, "open": 0,
                "bytes_up": len(PAYLOAD), "bytes_down": len(PAYLOAD),
                "failed": 0}
        eq(counts_ps(d, "e1"), want, "ps --json counts")
        eq(counts_status(d, "e1"), want, "status counts")
        eq(counts_ps(d, "e2")["denied"], 1, "e2 denied")
        eq(counts_ps(d, "e2")["allowed"], 0, "e2 allowed")
        rc, out, err = d.ctl("ps")
        contains(out, "egress 1 allowed, 1 denied, 0 open, %d bytes up, "
                 "%d down" % (len(PAYLOAD), len(PAYLOAD)), "ps text")
        rc, out, err = d.ctl("status")
        contains(out, "egress 1 allowed, 1 denied, 0 open", "status text")
    finally:
        d.close()
        echo.close()


def test_follow():
    echo = Echo()
    blocked = free_port()
    d = Daemon(config=config(echo.port, ("e1", "e2")))
    try:
        # A record before: -n 1 shows it once the follower is subscribed.
        refused(d, "e1", blocked)
        f = subprocess.Popen([QMSCTL, "-S", d.socket, "egress", "e1", "-n",
                              "1", "-f"], stdout=subprocess.PIPE, text=True)
        j = subprocess.Popen([QMSCTL, "-S", d.socket, "egress", "--json",
                              "-n", "1", "-f"], stdout=subprocess.PIPE,
                             text=True)
        # A follower whose client just goes, as a killed qmsctl's does.
        subscribe(d).close()
        try:
            contains(f.stdout.readline(), " e1 denied CONNECT", "-n 1")
            eq(json.loads(j.stdout.readline())["event"], "denied", "-n 1")
            refused(d, "e2", blocked)   # not e1's: f must not show it
            e2 = json.loads(j.stdout.readline())
            eq((e2["agent"], e2["event"]), ("e2", "denied"), "all agents")
            s = tunnel(d, "e1", echo.port)
            echo_through(s)
            s.close()
            got = [f.stdout.readline() for _ in range(2)]
            contains(got[0], " e1 open CONNECT 127.0.0.1:%d" % echo.port)
            contains(got[1], " e1 closed CONNECT 127.0.0.1:%d" % echo.port)
            js = [json.loads(j.stdout.readline()) for _ in range(2)]
            eq([r["event"] for r in js], ["open", "closed"], "JSON lines")
            eq(js[1]["bytes_up"], len(PAYLOAD), "bytes up, followed")
        finally:
            for p in (f, j):
                p.send_signal(signal.SIGINT)
                eq(p.wait(10), 0, "egress -f exits 0 on SIGINT")
        # The followers are gone; recording goes on without them.
        refused(d, "e1", blocked)
        if not d.alive():
            raise AssertionError("qmsd died: " + d.log())
        eq(counts_ps(d, "e1")["denied"], 2, "both refusals counted")
    finally:
        d.close()
        echo.close()



def test_flood_spares_the_journal():
    """One agent's flood of refusals reaches the journal at most 20 a
    second (journald, past its own limit, would drop every message of
    qmsd's, the other agents' records with them); the journal is told how
    many it did not get, the ring keeps the last ones, and another
    agent's refusal during the flood is journaled."""
    echo = Echo()
    d = Daemon(config=config(echo.port, names=("e1", "e2")))
    try:
        start = time.monotonic()
        for _ in range(200):
            refused(d, "e1", 9)
        refused(d, "e2", 9)
        elapsed = time.monotonic() - start
        time.sleep(1.1)
        refused(d, "e1", 9)     # the next second: the summary first
        log = d.log()
        lines = [l for l in log.splitlines() if "e1: denied" in l]
        allowed = 20 * (int(elapsed) + 3)
        assert len(lines) <= allowed, "%d e1 lines journaled in %.1fs" % (
            len(lines), elapsed)
        assert len(lines) < 200, "the flood went whole to the journal"
        contains(log, "e2: denied", "the other agent's refusal")
        contains(log, "egress records over 20 a second not journaled",
                 "the journal is told")
        eq(counts_ps(d, "e1")["denied"], 201, "every refusal counted")
    finally:
        d.close()
        echo.close()


if __name__ == "__main__":
    main(globals())
