#!/usr/bin/env python3
"""The console's terminal: a WebSocket on
/console/api/agents/NAME/terminal relayed by qmsd to an exec attached to the
agent's tmux, against a real qmsd and a real agent container.  The client
is written here from RFC 6455 (stdlib only), so that the frames on the wire
are the ones the test means; the frame decoder's corner cases are
unit-tested (tests/unit/test-websocket.c) and fuzzed."""
import base64
import hashlib
import json
import os
import re
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmsdtest import Daemon, eq, contains, main, wait_state
from test_agent import Agent
from test_console_auth import login, origin

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
ANSI = re.compile(rb"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|"
                  rb"[()][0-9A-Za-z]|[=>78DEHM])")
# A move of the cursor to a row (tmux draws its status line so, then goes
# back to the pane): a new line in the text, or the pane's next output reads
# as the status line's tail ("05-Dec-2623 80").
TO_ROW = re.compile(rb"\x1b\[[0-9;]*[Hfd]")


def key():
    return base64.b64encode(os.urandom(16)).decode()


class WS:
    """One WebSocket client; status is the handshake's answer."""

    def __init__(self, d, agent, cookie=None, org="self", wkey=None,
                 query="?rows=24&cols=80", headers=None, early=b""):
        self.s = socket.create_connection(("127.0.0.1", d.http_port),
                                          timeout=30)
        self.key = wkey or key()
        h = {"Host": "127.0.0.1:%d" % d.http_port, "Upgrade": "websocket",
             "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
             "Sec-WebSocket-Key": self.key}
        if org == "self":
            h["Origin"] = origin(d)
        elif org is not None:
            h["Origin"] = org
        if cookie:
            h["Cookie"] = cookie
            # the page's key, as console.js sends it (a query argument)
            if getattr(cookie, "key", None) and "k=" not in query:
                query += ("&" if "?" in query else "?") + "k=" + cookie.key
        h.update(headers or {})
        req = "GET /console/api/agents/%s/terminal%s HTTP/1.1\r\n" % (
            agent, query) + "".join("%s: %s\r\n" % kv for kv in h.items())
        # early: frames sent with the head, before the 101 is read
        self.s.sendall((req + "\r\n").encode() + early)
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            data = self.s.recv(65536)
            if not data:
                break
            self.buf += data
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            self.headers[k.strip().lower()] = v.strip()
        self.out = b""          # terminal bytes received
        self.texts = []         # text messages received
        self.closed = None      # the close frame's code
        if self.status != 101:
            n = int(self.headers.get("content-length", "0"))
            while len(self.buf) < n:
                data = self.s.recv(65536)
                if not data:
                    break
                self.buf += data
            self.body = self.buf[:n].decode()
            self.s.close()
            return
        want = base64.b64encode(hashlib.sha1(
            (self.key + GUID).encode()).digest()).decode()
        eq(self.headers.get("sec-websocket-accept"), want, "the accept")

    def send(self, opcode, data, fin=True):
        mask = os.urandom(4)
        n = len(data)
        h = bytes([(0x80 if fin else 0) | opcode])
        if n < 126:
            h += bytes([0x80 | n])
        elif n < 65536:
            h += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            h += bytes([0x80 | 127]) + struct.pack("!Q", n)
        self.s.sendall(h + mask + bytes(b ^ mask[i % 4]
                                        for i, b in enumerate(data)))

    def type(self, text):
        self.send(2, text.encode())

    def resize(self, rows, cols):
        self.send(1, json.dumps({"resize": [rows, cols]}).encode())

    def _fill(self, n, deadline):
        while len(self.buf) < n:
            self.s.settimeout(max(0.01, deadline - time.time()))
            data = self.s.recv(65536)
            if not data:
                raise EOFError("the server closed the connection")
            self.buf += data

    def frame(self, timeout=30):
        """One frame: (opcode, payload); server frames are unmasked."""
        deadline = time.time() + timeout
        self._fill(2, deadline)
        b0, b1 = self.buf[0], self.buf[1]
        assert not b1 & 0x80, "a server frame must not be masked"
        n, at = b1 & 0x7f, 2
        if n == 126:
            self._fill(4, deadline)
            n, at = struct.unpack("!H", self.buf[2:4])[0], 4
        elif n == 127:
            self._fill(10, deadline)
            n, at = struct.unpack("!Q", self.buf[2:10])[0], 10
        self._fill(at + n, deadline)
        data, self.buf = self.buf[at:at + n], self.buf[at + n:]
        op = b0 & 0x0f
        if op == 2:
            self.out += data
        elif op == 1:
            self.texts.append(json.loads(data))
        elif op == 8:
            self.closed = struct.unpack("!H", data[:2])[0] if data else 1005
        elif op == 9:
            self.send(10, data)
        return op, data

    def screen(self):
        return ANSI.sub(b"", TO_ROW.sub(b"\n", self.out)).decode(
            "utf-8", "replace")

    def wait(self, pattern, timeout=60):
        deadline = time.time() + timeout
        while True:
            m = re.search(pattern, self.screen())
            if m:
                return m
            if time.time() > deadline:
                raise AssertionError("%r never came; texts %r, screen:\n%s"
                                     % (pattern, self.texts,
                                        self.screen()[-2000:]))
            try:
                op, _ = self.frame(timeout=max(0.1, deadline - time.time()))
            except socket.timeout:
                continue
            if op == 8:
                raise AssertionError("closed (%s) waiting for %r; texts %r"
                                     % (self.closed, pattern, self.texts))

    def close(self):
        try:
            self.send(8, struct.pack("!H", 1000))
        except OSError:
            pass
        self.s.close()


ATTACHED = r"\[agent\] 0:"    # the inner tmux's status line


# Under AddressSanitizer freed memory is held in a quarantine (256M) that
# would count in a measure of qmsd's memory: none for such a measure.
NO_QUARANTINE = {"ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") +
                 ":quarantine_size_mb=0:thread_local_quarantine_size_kb=0"}


def agent(env=None):
    a = Agent(extra="command = sh\n", start=False)
    a.d = Daemon(config=a.conf(), env=env)
    return a, login(a.d)


def test_type_and_see_resize_and_two_viewers():
    a, cookie = agent()
    try:
        w = WS(a.d, a.name, cookie, query="?rows=24&cols=80")
        eq(w.status, 101, "the handshake: %s" % getattr(w, "body", ""))
        w.wait(ATTACHED, timeout=240)
        assert any("progress" in t for t in w.texts), w.texts
        n = str(int.from_bytes(os.urandom(2), "big"))
        w.type("echo hello-$((%s+1))\r" % n)
        w.wait(r"hello-%d\b" % (int(n) + 1))
        w.type("clear; stty size\r")
        w.wait(r"(?m)^2[34] 80\s")
        w.resize(31, 101)
        # The size goes browser -> qmsd -> dockerd -> tmux -> the shell;
        # asked again until it has come (a loaded machine takes seconds),
        # never longer than 60 s: a resize lost fails here.
        deadline = time.time() + 60
        while True:
            w.out = b""
            w.type("clear; stty size\r")
            try:
                w.wait(r"(?m)^3[01] 101\s", timeout=3)
                break
            except AssertionError:
                if time.time() > deadline:
                    raise
        # A second viewer: the same tmux, the same output in both.
        w2 = WS(a.d, a.name, cookie, query="?rows=31&cols=101")
        eq(w2.status, 101, "a second viewer")
        w2.wait(ATTACHED)
        w.out = w2.out = b""
        w2.type("echo pid=$$-$((6*7))\r")
        pid = w2.wait(r"pid=(\d+)-42").group(1)
        w.wait(r"pid=%s-42" % pid)
        eq(len(clients(a)), 2, "two clients: %r" % clients(a))
        # One leaves: the other goes on, and its client is gone.
        w2.close()
        deadline = time.time() + 10
        while time.time() < deadline and len(clients(a)) != 1:
            time.sleep(0.1)
        eq(len(clients(a)), 1, "one client left: %r" % clients(a))
        w.type("echo still-$((2+3))\r")
        w.wait(r"still-5")
        # A ping is answered with its payload.
        w.send(9, b"hi")
        while True:
            op, data = w.frame()
            if op == 10:
                eq(data, b"hi", "the pong's payload")
                break
        # A control message qmsd does not know: an error, not the end.
        w.send(1, b'{"bogus":1}')
        deadline = time.time() + 10
        while not any("error" in t for t in w.texts):
            w.frame(timeout=max(0.1, deadline - time.time()))
        w.type("echo after-$((3+4))\r")
        w.wait(r"after-7")
        # A protocol error (an unmasked frame): closed 1002.
        w.s.sendall(b"\x82\x01x")
        while w.closed is None:
            w.frame()
        eq(w.closed, 1002, "an unmasked frame")
        w.s.close()
        assert a.d.alive(), "qmsd lives"
    finally:
        a.close()


def test_refusals():
    a, cookie = agent()
    d = a.d
    try:
        w = WS(d, a.name, None)
        eq(w.status, 401, "no cookie")
        w = WS(d, a.name, "qmsd_console=" + "0" * 64)
        eq(w.status, 401, "a made-up cookie")
        w = WS(d, a.name, str(cookie))
        eq(w.status, 401, "the cookie without the page's key")
        w = WS(d, a.name, cookie, query="?rows=24&cols=80&k=" + "0" * 64)
        eq(w.status, 401, "the cookie with a wrong key")
        w = WS(d, a.name, cookie, org="http://evil.example")
        eq(w.status, 403, "a foreign Origin")
        w = WS(d, a.name, cookie, org="http://127.0.0.1:%d" %
               (d.http_port + 1))
        eq(w.status, 403, "another port's Origin")
        w = WS(d, a.name, cookie, org=None)
        eq(w.status, 403, "no Origin")
        contains(w.body, "Origin", "says why")
        w = WS(d, a.name, cookie, headers={"Sec-Fetch-Site": "cross-site"})
        eq(w.status, 403, "Sec-Fetch-Site: cross-site")
        w = WS(d, a.name, cookie, wkey="not-a-key")
        eq(w.status, 400, "a bad Sec-WebSocket-Key")
        contains(w.body, "Sec-WebSocket-Key", "says why")
        w = WS(d, a.name, cookie, wkey=base64.b64encode(
            os.urandom(15)).decode())
        eq(w.status, 400, "a key of 15 bytes")
        w = WS(d, a.name, cookie, headers={"Sec-WebSocket-Version": "8"})
        eq(w.status, 426, "another version")
        eq(w.headers.get("sec-websocket-version"), "13", "the one spoken")
        w = WS(d, a.name, cookie, headers={"Upgrade": "h2c"})
        eq(w.status, 400, "not an upgrade to websocket")
        w = WS(d, "nosuchagent", cookie)
        eq(w.status, 404, "an unknown agent")
        contains(w.body, "nosuchagent", "names it")
        w = WS(d, a.name, cookie, query="?rows=0&cols=80")
        eq(w.status, 400, "rows 0")
        w = WS(d, a.name, cookie, query="?rows=24&cols=100000")
        eq(w.status, 400, "cols too many")
        w = WS(d, a.name, cookie, headers={"Host": "localhost:%d" %
                                           d.http_port})
        eq(w.status, 403, "another Host (DNS rebinding)")
        # Frames sent with the head, before the 101: read as the first.
        ping = bytes([0x89, 0x82]) + b"\0\0\0\0" + b"hi"
        w = WS(d, a.name, cookie, early=ping)
        eq(w.status, 101, "a handshake with a frame after it")
        while True:
            op, data = w.frame()
            if op == 10:
                eq(data, b"hi", "the early ping answered")
                break
        # A message over 64 KiB: closed 1009, nothing left behind.
        w.send(2, b"x" * (64 * 1024 + 1))
        while w.closed is None:
            w.frame()
        eq(w.closed, 1009, "a message too big")
        w.s.close()
        assert d.alive(), "qmsd lives"
    finally:
        a.close()


def clients(a):
    """tmux's clients in the container that are terminals (tmux-link's
    control-mode client is not one)."""
    r = a.exec("tmux", "list-clients")
    return [line for line in r.stdout.split("\n")
            if line and "control-mode" not in line]


def test_viewer_leaving_mid_bring_up_abandons_the_session():
    a, cookie = agent()
    try:
        wait_state(a.d, "agent:" + a.name, "missing")
        w = WS(a.d, a.name, cookie)
        eq(w.status, 101, "the handshake")
        # Bringing up has begun (the first step said so); then it leaves.
        deadline = time.time() + 60
        while not w.texts and time.time() < deadline:
            w.frame(timeout=max(0.1, deadline - time.time()))
        assert w.texts and "progress" in w.texts[0], w.texts
        w.s.close()
        # The container comes up (an up is not undone), but nothing is
        # attached to it for the viewer that left.
        wait_state(a.d, "agent:" + a.name, "running", timeout=240)
        time.sleep(3)
        eq(clients(a), [], "no client attached for a viewer that left")
        # And the terminals' count went back: 8 can still open.
        ws = [WS(a.d, a.name, cookie) for _ in range(8)]
        try:
            for w in ws:
                eq(w.status, 101, "one of 8")
            w9 = WS(a.d, a.name, cookie)
            eq(w9.status, 503, "a ninth on one agent")
            contains(w9.body, "at most 8 per agent", "says the cap")
        finally:
            for w in ws:
                w.close()
        assert a.d.alive(), "qmsd lives"
    finally:
        a.close()


def test_output_burst_to_a_browser_that_does_not_read():
    """A hostile agent floods its terminal while the browser reads
    nothing: qmsd's memory stays bounded, and the browser, once it reads
    again, gets the rest."""
    a, cookie = agent(env=NO_QUARANTINE)
    try:
        w = WS(a.d, a.name, cookie)
        eq(w.status, 101, "the handshake")
        w.wait(ATTACHED, timeout=240)

        def rss():
            with open("/proc/%d/status" % a.d.pid) as f:
                return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
        before = rss()
        # About 200 MB of output, through tmux, read by nobody.
        w.type("yes $(printf '%0100d' 0) | head -c 200000000; "
               "echo done-$((5*5))\r")
        time.sleep(15)
        grown = rss() - before
        assert grown < 16 * 1024, "qmsd grew by %d kB" % grown
        # Reading again: the end of it comes through.
        w.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        deadline = time.time() + 240
        while time.time() < deadline and "done-25" not in w.screen():
            w.frame()
            w.out = w.out[-65536:]
        contains(w.screen(), "done-25", "the end of the burst came")
        w.close()
        assert a.d.alive(), "qmsd lives"
    finally:
        a.close()


def sanitizer_free(d):
    with open(d.stderr_path) as f:
        log = f.read()
    for bad in ("AddressSanitizer", "runtime error", "LeakSanitizer"):
        assert bad not in log, log[-4000:]


def test_listener_dropped_and_shutdown_with_terminals_open():
    """A reload that drops the loopback listener closes its terminals
    (MHD must not stop with upgraded connections); so does qmsd's
    shutdown, with one terminal up and one still being brought up."""
    from qmsdtest import free_port
    a, cookie = agent()
    d = a.d
    try:
        w = WS(d, a.name, cookie)
        eq(w.status, 101, "the handshake")
        w.wait(ATTACHED, timeout=240)
        old = d.http_port
        d.http_port = free_port()
        d.write_config(a.conf())
        rc, out, err = d.ctl("reload")
        eq(rc, 0, "reload: " + err)
        try:
            while True:
                w.frame(timeout=20)
        except EOFError:
            pass
        deadline = time.time() + 10
        while time.time() < deadline and clients(a):
            time.sleep(0.1)
        eq(clients(a), [], "the viewer's tmux client went with it")
        assert d.alive(), "qmsd lives"
        cookie = login(d)
        w = WS(d, a.name, cookie)
        eq(w.status, 101, "on the new listener")
        w.wait(ATTACHED)
        # One more, stopped mid-way: the container is stopped first.
        eq(d.ctl("down", a.name, timeout=120)[0], 0, "down")
        w2 = WS(d, a.name, cookie)
        eq(w2.status, 101, "a second handshake")
        w2.frame()
        eq(d.stop(), 0, "qmsd stopped cleanly with terminals open")
        for x in (w, w2):
            try:
                while x.closed is None:
                    x.frame(timeout=20)
            except EOFError:
                pass
        sanitizer_free(d)
        assert old != d.http_port
    finally:
        a.close()


if __name__ == "__main__":
    main(globals())
