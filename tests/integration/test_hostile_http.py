#!/usr/bin/env python3
"""Issue 13, a hostile agent at the HTTP listener: request smuggling
through the /qms/mcp gateway (item 4), and slow or idle connections that
would hold every slot (item 8).  Each attack is performed for real against
a real qmsd, with a recording MCP server as the gateway's upstream."""
import json
import os
import resource
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmsdtest import Daemon, contains, eq, main, wait_state
from test_gateway import Gateway
from test_git import Env


def raw(port, data, timeout=10):
    """Send DATA as it is and read the answer until the server closes or
    a whole response head and Content-Length body are in."""
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(timeout)
    try:
        s.sendall(data)
        got = b""
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            got += chunk
            head, sep, rest = got.partition(b"\r\n\r\n")
            if sep:
                clen = [l.split(b":", 1)[1].strip() for l in
                        head.split(b"\r\n")
                        if l.lower().startswith(b"content-length:")]
                if clen and len(rest) >= int(clen[0]):
                    break
        return got
    finally:
        s.close()


def status(answer):
    line = answer.split(b"\r\n", 1)[0]
    return int(line.split()[1]) if line.startswith(b"HTTP/") else None


def chunked(data):
    return b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data)


def head(path, token, extra):
    return (("POST %s HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer "
             "%s\r\nContent-Type: application/json\r\nAccept: application/"
             "json, text/event-stream\r\n" % (path, token)).encode() +
            extra + b"\r\n")


def msg(method, id=1):
    return json.dumps({"jsonrpc": "2.0", "id": id,
                       "method": method}).encode()


def smuggled_request():
    """A whole second upstream request, as an agent would hide it."""
    inner = msg("smuggled", 99)
    return (b"POST /mcp HTTP/1.1\r\nHost: localhost\r\nX-QMS-Identity: "
            b"someone-else\r\nX-QMS-Instance: someone-else\r\nContent-Type: "
            b"application/json\r\nContent-Length: %d\r\n\r\n%s"
            % (len(inner), inner))


def identities(g):
    """Every identity the upstream was ever told of."""
    if not os.path.exists(g.log):
        return set()
    with open(g.log) as f:
        return {{k.lower(): v for k, v in json.loads(l)["headers"].items()}
                .get("x-qms-identity") for l in f}


def test_smuggling_content_length_and_chunked():
    """Item 4: Content-Length with Transfer-Encoding: chunked, the body
    carrying a second upstream request with X-QMS-Identity: someone-else.
    qmsd refuses the request (400) and the upstream never sees the second
    request nor the identity; qmsd goes on serving."""
    g = Gateway()
    try:
        g.ready()
        first = msg("tools/list")
        body = first + smuggled_request()
        ans = raw(g.d.http_port, head("/qms/mcp", g.token,
                  b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n"
                  % len(first)) + chunked(body))
        time.sleep(0.5)        # what was smuggled would have arrived by now
        eq(g.recorded("smuggled"), [], "the smuggled request upstream")
        assert "someone-else" not in identities(g), identities(g)
        eq(status(ans), 400, "both framings: %r" % ans[:300])
        contains(ans.decode(), "Transfer-Encoding", "says why")
        eq(g.post("ping")[0], 200, "still serving")
    finally:
        g.close()


def test_header_control_bytes_refused():
    """Item 4: a control byte in a header value (a bare CR first: Python's
    and other parsers take it for a line end, so it would add a forged
    X-QMS-Identity upstream) is refused with a 400, on /qms/mcp and on
    /git/mcp alike, and nothing reaches the upstream."""
    g = Gateway()
    try:
        g.ready()
        m = msg("injected")
        for value in (b"abc\rX-QMS-Identity: someone-else",
                      b"abc\x01def", b"abc\x7fdef", b"abc\x1bdef",
                      b"abc\r\n X-QMS-Identity: someone-else"):
            for path in ("/qms/mcp", "/git/mcp"):
                ans = raw(g.d.http_port, head(path, g.token,
                          b"Mcp-Session-Id: %s\r\nContent-Length: %d\r\n"
                          % (value, len(m))) + m)
                eq(status(ans), 400, "%r on %s: %r" % (value, path,
                                                       ans[:200]))
                contains(ans.decode(), "control byte", "says why")
        # a tab is a legal byte in a value, and passes
        eq(g.post("ping", headers={"Mcp-Session-Id": "a\tb"})[0], 200,
           "a tab")
        time.sleep(0.3)
        eq(g.recorded("injected"), [], "nothing went upstream")
        assert "someone-else" not in identities(g), identities(g)
    finally:
        g.close()


def test_ambiguous_framing_refused():
    """Item 4: every framing that two parsers could read two ways is
    refused by qmsd itself (400, connection closed) before anything goes
    upstream: two Content-Lengths, a Transfer-Encoding other than chunked,
    chunked twice, both framings; on /git/mcp as on /qms/mcp."""
    g = Gateway()
    try:
        g.ready()
        m = msg("framed")
        cases = [
            (b"Content-Length: %d\r\nContent-Length: %d\r\n"
             % (len(m), len(m) + 60), m + smuggled_request()[:60]),
            (b"Transfer-Encoding: gzip\r\n", chunked(m)),
            (b"Transfer-Encoding: chunked, chunked\r\n", chunked(m)),
            (b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked"
             b"\r\n", chunked(m)),
            (b"Transfer-Encoding: chunked\r\nContent-Length: %d\r\n"
             % len(m), chunked(m)),
        ]
        for extra, body in cases:
            for path in ("/qms/mcp", "/git/mcp"):
                t0 = time.monotonic()
                ans = raw(g.d.http_port, head(path, g.token, extra) + body)
                eq(status(ans), 400, "%r on %s: %r" % (extra, path,
                                                       ans[:200]))
                contains(ans.decode(), "Connection: close", "closes")
                assert time.monotonic() - t0 < 5, "answered at once"
        time.sleep(0.3)
        eq(g.recorded("framed"), [], "nothing went upstream")
        # one framing either way still passes
        for extra, body in ((b"Content-Length: %d\r\n" % len(m), m),
                            (b"Transfer-Encoding: chunked\r\n",
                             chunked(m))):
            ans = raw(g.d.http_port, head("/git/mcp", g.token, extra) +
                      body)
            eq(status(ans), 200, "%r: %r" % (extra, ans[:200]))
    finally:
        g.close()


class Crowd:
    """Hostile clients on loopback, in one thread: SLOW ones that send a
    request line and then a header line every 2 s (each line well within
    every idle timeout), IDLE ones that send nothing.  Each reconnects at
    once when qmsd closes it, as an attacker would; how long each first
    connection lived is kept."""

    def __init__(self, port, slow, idle):
        self.port = port
        self.socks = {}         # socket -> (kind, connected at, first)
        self.lived = {"slow": [], "idle": []}
        self.stop = False
        for i in range(slow + idle):
            self.open("slow" if i < slow else "idle", True)
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def open(self, kind, first=False):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", self.port))
        except BlockingIOError:
            pass
        self.socks[s] = (kind, time.monotonic(), first)
        if kind == "slow":
            self.send(s, b"POST /git/mcp HTTP/1.1\r\nHost: localhost\r\n")

    def send(self, s, data):
        try:
            s.send(data)
        except OSError:
            pass

    def run(self):
        import selectors
        last = time.monotonic()
        while not self.stop:
            sel = selectors.DefaultSelector()
            for s in self.socks:
                sel.register(s, selectors.EVENT_READ)
            for key, _ in sel.select(0.2):
                s = key.fileobj
                try:
                    if s.recv(4096):
                        continue
                except BlockingIOError:
                    continue
                except OSError:
                    pass
                kind, t0, first = self.socks.pop(s)
                s.close()
                if first:
                    self.lived[kind].append(time.monotonic() - t0)
                self.open(kind)
            sel.close()
            if time.monotonic() - last >= 2:
                last = time.monotonic()
                for s, (kind, _, _) in list(self.socks.items()):
                    if kind == "slow":
                        self.send(s, b"X-Slow: 1\r\n")

    def first_open(self, kind):
        # The thread adds and removes sockets meanwhile: count a copy.
        while True:
            try:
                socks = list(self.socks.values())
                break
            except RuntimeError:
                continue
        return sum(1 for k, _, f in socks if k == kind and f)

    def close(self):
        self.stop = True
        self.thread.join(10)
        for s in self.socks:
            s.close()


def test_slowloris_and_idle_connections():
    """Item 8: 300 clients trickling a request head and 300 idle ones, all
    on loopback and reconnecting when dropped, against 256 slots: a real
    git_exec call still succeeds at once while they hang on, idle
    connections go within request-line-timeout (5 s) and slow ones within
    head-timeout (10 s), however regularly they send."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2048:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard), hard))
    e = Env()
    crowd = None
    try:
        eq(e.git_exec("status")[1], False, "before the crowd")
        crowd = Crowd(e.port, 300, 300)
        time.sleep(2)           # every slot is taken by now
        for i in range(3):
            t0 = time.monotonic()
            out, err = e.git_exec("status")
            eq(err, False, "git_exec under the crowd: " + out)
            took = time.monotonic() - t0
            assert took < 3, "a real call took %.1f s" % took
            time.sleep(2)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (crowd.first_open("slow") or
                                               crowd.first_open("idle")):
            time.sleep(0.2)
        eq(crowd.first_open("slow"), 0, "slow clients still connected")
        eq(crowd.first_open("idle"), 0, "idle clients still connected")
        # from the client's side, a connection lives on in the backlog
        # before qmsd takes it: a few seconds' margin
        assert max(crowd.lived["idle"]) < 5 + 4, max(crowd.lived["idle"])
        assert max(crowd.lived["slow"]) < 10 + 4, max(crowd.lived["slow"])
        eq(e.d.alive(), True, "qmsd is up")
    finally:
        if crowd is not None:
            crowd.close()
        e.close()


if __name__ == "__main__":
    main(globals())
