"""The egress proxy on a sealed agent's socket (issue 15), attacked from
the socket as a hostile agent would: what its allow-list names is reached,
and nothing else, however the request is spelled.  No container is needed:
the socket exists once the agent is configured, and these tests speak to it
as the relay in the container would.  Every upstream is on loopback."""
import os
import socket
import stat
import threading
import time

from qmsdtest import Daemon, contains, eq, free_port, main

AGENT = "a1"


class Upstream:
    """A loopback server that records what each connection sent.  mode
    "echo" sends every byte back; "http" answers one request with a small
    response and closes; "sink" reads and never answers."""

    def __init__(self, mode="echo"):
        self.mode = mode
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(64)
        self.port = self.srv.getsockname()[1]
        self.received = []      # bytes of each connection, when it ended
        self.accepted = 0
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            with self.lock:
                self.accepted += 1
            threading.Thread(target=self._serve, args=(c,),
                             daemon=True).start()

    def _serve(self, c):
        got = b""
        c.settimeout(30)
        try:
            while True:
                b = c.recv(65536)
                if not b:
                    break
                got += b
                if self.mode == "echo":
                    c.sendall(b)
                elif self.mode == "http" and b"\r\n\r\n" in got:
                    body = b"hello from upstream\n"
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n"
                              b"Connection: close\r\n\r\n%s" %
                              (len(body), body))
                    # what else comes on this connection is recorded too
                    c.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        with self.lock:
            self.received.append(got)
        c.close()

    def close(self):
        self.srv.close()


class Unanswered:
    """A loopback port where a connect never completes: a listener whose
    accept queue is full, so that the kernel drops later SYNs."""

    def __init__(self):
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(0)
        self.port = self.srv.getsockname()[1]
        self.fillers = []
        for _ in range(4):
            c = socket.socket()
            c.setblocking(False)
            try:
                c.connect(("127.0.0.1", self.port))
            except BlockingIOError:
                pass
            self.fillers.append(c)
        time.sleep(0.2)

    def close(self):
        for c in self.fillers:
            c.close()
        self.srv.close()


class Sealed:
    """qmsd with one agent on network = none and the given egress list."""

    def __init__(self, egress, extra="", env=None):
        self.d = Daemon(config='[agent "%s"]\negress = %s\n%s'
                        % (AGENT, egress, extra), env=env)
        self.path = os.path.join(self.d.dir, "state", "agents", AGENT,
                                 "link", "qmsd.sock")

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(self.path)
        s.settimeout(15)
        return s

    def ask(self, head, then=b""):
        """Send a request head; return the proxy's answer head and the
        socket (open, for a tunnel)."""
        s = self.connect()
        s.sendall(head + then)
        return read_head(s), s

    def close(self):
        self.d.close()


def read_head(s):
    got = b""
    while b"\r\n\r\n" not in got:
        b = s.recv(1)
        if not b:
            break
        got += b
    return got.decode("latin-1")


def read_all(s):
    out = b""
    while True:
        try:
            b = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not b:
            break
        out += b
    return out


def refusal(s, head):
    """The whole answer of a refusal: head and body, then the close."""
    body = read_all(s).decode("latin-1")
    s.close()
    return head + body


def wait_for(cond, what, timeout=10):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("not within %ds: %s" % (timeout, what))
        time.sleep(0.05)


def test_connect_tunnels_both_ways():
    """A listed host:port is reached with CONNECT; bytes go both ways,
    also those sent right behind the head, and a half-close passes."""
    up = Upstream("echo")
    a = Sealed("127.0.0.1:%d" % up.port)
    try:
        head, s = a.ask(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: "
                        b"127.0.0.1:%d\r\n\r\n" % (up.port, up.port),
                        then=b"early ")
        contains(head, "HTTP/1.1 200 ", "tunnel opened")
        payload = os.urandom(3 << 20)
        threading.Thread(target=lambda: (s.sendall(payload),
                                         s.shutdown(socket.SHUT_WR)),
                         daemon=True).start()
        back = read_all(s)
        eq(len(back), len(b"early ") + len(payload), "every byte back")
        eq(back, b"early " + payload, "the same bytes, in order")
        s.close()
    finally:
        a.close()
        up.close()


def test_unlisted_port_refused_with_reason():
    """Another port of a listed host is refused: a 403 that names the
    refused host:port and the key that would allow it, and nothing is
    connected to."""
    up = Upstream("echo")
    other = Upstream("echo")
    a = Sealed("127.0.0.1:%d" % up.port)
    try:
        head, s = a.ask(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\n"
                        % other.port)
        text = refusal(s, head)
        contains(text, "HTTP/1.1 403 ", "refused")
        contains(text, "127.0.0.1:%d" % other.port, "names the target")
        contains(text, '[agent "%s"] egress' % AGENT, "names the key")
        time.sleep(0.2)
        eq(other.accepted, 0, "the unlisted port was never connected to")
    finally:
        a.close()
        up.close()
        other.close()


def test_name_resolving_to_loopback_refused():
    """A listed name whose address is loopback (DNS rebinding into the
    host) is refused unless that address is listed too."""
    up = Upstream("echo")
    a = Sealed("localhost:%d" % up.port)
    try:
        head, s = a.ask(b"CONNECT localhost:%d HTTP/1.1\r\n\r\n" % up.port)
        text = refusal(s, head)
        contains(text, "HTTP/1.1 403 ", "refused")
        contains(text, "loopback", "says why")
        eq(up.accepted, 0, "never connected")
    finally:
        a.close()
    # listed with its address, the same name is reached
    a = Sealed("localhost:%d 127.0.0.1:%d" % (up.port, up.port))
    try:
        head, s = a.ask(b"CONNECT localhost:%d HTTP/1.1\r\n\r\n" % up.port)
        contains(head, "HTTP/1.1 200 ", "allowed with its address listed")
        s.close()
    finally:
        a.close()
        up.close()


def test_ip_literal_spellings_refused():
    """Only the literal listed is reached: the other spellings of
    127.0.0.1 (decimal, octal, hex, short) and IPv6 forms of it are
    refused before anything is resolved or connected."""
    up = Upstream("echo")
    a = Sealed("127.0.0.1:%d" % up.port)
    try:
        for t in ("2130706433", "0177.0.0.1", "0x7f.0.0.1", "127.1",
                  "017700000001", "[::1]", "[::ffff:127.0.0.1]",
                  "[::ffff:7f00:1]", "127.000.000.001", "127.0.0.1%25lo"):
            head, s = a.ask(b"CONNECT %s:%d HTTP/1.1\r\n\r\n"
                            % (t.encode(), up.port))
            text = refusal(s, head)
            if not (text.startswith("HTTP/1.1 403 ") or
                    text.startswith("HTTP/1.1 400 ")):
                raise AssertionError("%s: %r" % (t, text[:200]))
            # plain HTTP, the same
            head, s = a.ask(b"GET http://%s:%d/ HTTP/1.1\r\nHost: %s:%d"
                            b"\r\n\r\n" % (t.encode(), up.port, t.encode(),
                                           up.port))
            text = refusal(s, head)
            if not (text.startswith("HTTP/1.1 403 ") or
                    text.startswith("HTTP/1.1 400 ")):
                raise AssertionError("GET %s: %r" % (t, text[:200]))
        time.sleep(0.2)
        eq(up.accepted, 0, "no spelling got through")
    finally:
        a.close()
        up.close()


def test_host_differs_from_target_refused():
    """An absolute-form request whose Host names another host (a virtual
    host the list does not allow, behind an address it does) is refused;
    so is one with two Hosts, or none."""
    up = Upstream("http")
    a = Sealed("127.0.0.1:%d" % up.port)
    try:
        for host in (b"Host: evil.example\r\n",
                     b"Host: 127.0.0.1:1\r\n",
                     b"Host: 127.0.0.1:%d\r\nHost: evil.example\r\n"
                     % up.port,
                     b""):
            head, s = a.ask(b"GET http://127.0.0.1:%d/ HTTP/1.1\r\n%s\r\n"
                            % (up.port, host))
            text = refusal(s, head)
            contains(text, "HTTP/1.1 400 ", repr(host))
            contains(text, "Host", "says why")
        time.sleep(0.2)
        eq(up.accepted, 0, "nothing reached the upstream")
    finally:
        a.close()
        up.close()


def test_connect_with_body_refused():
    """A CONNECT has no body: one that says it has is refused, and the
    bytes are never sent anywhere.  So are bare-LF heads, folded headers
    and chunked bodies, which a server behind might read otherwise."""
    up = Upstream("echo")
    a = Sealed("127.0.0.1:%d" % up.port)
    p = up.port
    try:
        cases = [
            (b"CONNECT 127.0.0.1:%d HTTP/1.1\r\nContent-Length: 5\r\n\r\n"
             b"hello" % p, "400", "no body"),
            (b"CONNECT 127.0.0.1:%d HTTP/1.1\r\nTransfer-Encoding: "
             b"chunked\r\n\r\n0\r\n\r\n" % p, "400", "no body"),
            (b"CONNECT 127.0.0.1:%d HTTP/1.1\n\n" % p, "400", "CRLF"),
            (b"GET http://127.0.0.1:%d/ HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
             b" folded\r\n\r\n" % (p, p), "400", "folded"),
            (b"POST http://127.0.0.1:%d/ HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
             b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" % (p, p), "501",
             "Content-Length"),
            (b"POST http://127.0.0.1:%d/ HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
             b"Content-Length: 1\r\nContent-Length: 2\r\n\r\nab" % (p, p),
             "400", "Content-Length"),
            (b"GET https://127.0.0.1:%d/ HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
             b"\r\n" % (p, p), "400", "CONNECT"),
            (b"GET http://user@127.0.0.1:%d/ HTTP/1.1\r\nHost: 127.0.0.1:%d"
             b"\r\n\r\n" % (p, p), "400", "userinfo"),
            (b"CONNECT 127.0.0.1:%d HTTP/2.0\r\n\r\n" % p, "400", "HTTP/1"),
        ]
        for raw, status, why in cases:
            head, s = a.ask(raw)
            text = refusal(s, head)
            contains(text, "HTTP/1.1 %s " % status, repr(raw))
            contains(text, why, repr(raw))
        time.sleep(0.2)
        eq(up.accepted, 0, "none reached the upstream")
    finally:
        a.close()
        up.close()


def test_second_request_never_relayed():
    """Plain HTTP is one request a connection: a second one pipelined
    behind it (to the same host, or another) never leaves qmsd, and the
    first goes upstream without the hop-by-hop headers (no token in
    Proxy-Authorization goes anywhere)."""
    up = Upstream("http")
    a = Sealed("127.0.0.1:%d" % up.port)
    try:
        first = (b"POST http://127.0.0.1:%d/one HTTP/1.1\r\nHost: "
                 b"127.0.0.1:%d\r\nProxy-Authorization: Basic c2VjcmV0\r\n"
                 b"Connection: keep-alive, X-Secret\r\nX-Secret: s3\r\n"
                 b"Content-Length: 4\r\n\r\nbody" % (up.port, up.port))
        second = (b"GET http://127.0.0.1:%d/two HTTP/1.1\r\nHost: "
                  b"127.0.0.1:%d\r\n\r\n" % (up.port, up.port))
        head, s = a.ask(first, then=second)
        contains(head, "HTTP/1.1 200 ", "the first is answered")
        rest = read_all(s)
        contains(rest.decode(), "hello from upstream", "its body")
        s.close()
        wait_for(lambda: len(up.received) == 1, "the upstream connection "
                 "ends")
        got = up.received[0].decode("latin-1")
        contains(got, "POST /one HTTP/1.1\r\n", "origin-form upstream")
        contains(got, "\r\n\r\nbody", "the body")
        eq(got.count("HTTP/1.1\r\n"), 1, "one request only: %r" % got)
        eq("/two" in got, False, "the second never went")
        for h in ("Proxy-Authorization", "X-Secret", "keep-alive"):
            eq(h.lower() in got.lower(), False, h + " not passed on")
        contains(got, "Connection: close\r\n", "asks the server to close")
        eq(up.accepted, 1, "one upstream connection")
    finally:
        a.close()
        up.close()


def test_request_inside_a_tunnel_is_only_bytes():
    """After CONNECT the connection is the upstream's: a second CONNECT
    on it is not read by qmsd (no second decision, no second upstream);
    it reaches the first upstream as bytes."""
    up = Upstream("echo")
    other = Upstream("echo")
    a = Sealed("127.0.0.1:%d" % up.port)
    try:
        head, s = a.ask(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\n" % up.port)
        contains(head, "HTTP/1.1 200 ", "tunnel")
        inner = b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\n" % other.port
        s.sendall(inner)
        s.shutdown(socket.SHUT_WR)
        eq(read_all(s), inner, "echoed by the first upstream")
        s.close()
        time.sleep(0.2)
        eq(other.accepted, 0, "the second target never reached")
    finally:
        a.close()
        up.close()
        other.close()


def test_token_is_the_sockets_agent():
    """On an agent's socket the socket is the identity: MCP requests need
    a bearer token, and the host's token (any token but the agent's) is
    refused there, though it is good on the TCP listener."""
    a = Sealed("")
    try:
        with open(os.path.join(a.d.dir, "state", "host.token")) as f:
            host_token = f.read().strip()
        body = (b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":'
                b'{"protocolVersion":"2025-06-18","capabilities":{},'
                b'"clientInfo":{"name":"t","version":"1"}}}')
        for tok, status in ((None, "401"), (host_token, "403"),
                            ("x" * 64, "401")):
            s = a.connect()
            s.sendall(b"POST /git/mcp HTTP/1.1\r\nHost: 127.0.0.1:3128\r\n"
                      b"Content-Type: application/json\r\nAccept: "
                      b"application/json, text/event-stream\r\n%s"
                      b"Content-Length: %d\r\n\r\n%s"
                      % (b"Authorization: Bearer %s\r\n" % tok.encode()
                         if tok else b"", len(body), body))
            text = read_all(s).decode()
            s.close()
            contains(text, "HTTP/1.1 %s " % status, str(tok)[:8])
            if status == "403":
                contains(text, "agent %s's" % AGENT, "says whose socket")
        # the host's token on the TCP listener: accepted there
        s = socket.create_connection(("127.0.0.1", a.d.http_port))
        s.sendall(b"POST /git/mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  b"Content-Type: application/json\r\nAccept: "
                  b"application/json, text/event-stream\r\n"
                  b"Authorization: Bearer %s\r\nContent-Length: %d\r\n\r\n%s"
                  % (host_token.encode(), len(body), body))
        s.settimeout(15)
        text = read_all(s).decode()
        s.close()
        contains(text, "HTTP/1.1 200 ", "the host token on TCP")
    finally:
        a.close()


def test_socket_is_private():
    """The socket is the owner's alone (0600, in a 0700 directory that
    holds nothing else), only agents on network = none get one, and a
    disabled agent none."""
    a = Sealed("", extra='[agent "b"]\nnetwork = host\n'
               '[agent "c"]\nenabled = no\n')
    try:
        st = os.stat(a.path)
        eq(stat.S_ISSOCK(st.st_mode), True, "a socket")
        eq(stat.S_IMODE(st.st_mode), 0o600, "socket mode")
        d = os.path.dirname(a.path)
        eq(stat.S_IMODE(os.stat(d).st_mode), 0o700, "directory mode")
        eq(os.listdir(d), ["qmsd.sock"], "alone in its directory")
        agents = os.path.join(a.d.dir, "state", "agents")
        for other in ("b", "c"):
            eq(os.path.exists(os.path.join(agents, other, "link")), False,
               other + " has no socket")
    finally:
        a.close()


def test_max_tunnels():
    """egress-max-tunnels: past it a request is refused with 429 and the
    key's name; one closed, the next gets through."""
    up = Upstream("echo")
    a = Sealed("127.0.0.1:%d" % up.port, extra="egress-max-tunnels = 2\n")
    try:
        req = b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\n" % up.port
        h1, s1 = a.ask(req)
        h2, s2 = a.ask(req)
        contains(h1 + h2, "200 ", "two open")
        eq((h1 + h2).count(" 200 "), 2, "both")
        h3, s3 = a.ask(req)
        text = refusal(s3, h3)
        contains(text, "HTTP/1.1 429 ", "the third refused")
        contains(text, "egress-max-tunnels", "names the limit")
        s1.close()
        deadline = time.monotonic() + 10
        while True:
            h4, s4 = a.ask(req)
            if " 200 " in h4 or time.monotonic() > deadline:
                break
            s4.close()
            time.sleep(0.05)
        contains(h4, "HTTP/1.1 200 ", "room again once one closed")
        s2.close()
        s4.close()
    finally:
        a.close()
        up.close()


def test_connect_timeout():
    """An upstream that never completes the handshake (a listener whose
    queue is full) is given up after egress-connect-timeout with a 504,
    and other agents' requests are served meanwhile."""
    hole = Unanswered()
    port = hole.port
    up = Upstream("echo")
    a = Sealed("127.0.0.1:%d 127.0.0.1:%d" % (port, up.port),
               extra="egress-connect-timeout = 1s\n")
    try:
        stuck = a.connect()
        stuck.sendall(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\n" % port)
        # meanwhile another request goes through at once
        head, s = a.ask(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\n" % up.port)
        contains(head, "HTTP/1.1 200 ", "not held up by the stuck one")
        s.close()
        text = refusal(stuck, read_head(stuck))
        contains(text, "HTTP/1.1 504 ", "given up")
        contains(text, "egress-connect-timeout", "says which limit")
    finally:
        a.close()
        up.close()
        hole.close()


def test_idle_timeout():
    """A tunnel with no byte either way for egress-idle-timeout is
    closed; one that keeps talking is not."""
    up = Upstream("echo")
    a = Sealed("127.0.0.1:%d" % up.port, extra="egress-idle-timeout = 1s\n")
    try:
        _, quiet = a.ask(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\n" % up.port)
        _, busy = a.ask(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\n" % up.port)
        for _ in range(8):
            busy.sendall(b"x")
            eq(busy.recv(1), b"x", "the busy one echoes")
            time.sleep(0.3)
        quiet.settimeout(5)
        eq(quiet.recv(1), b"", "the quiet one was closed")
        busy.sendall(b"y")
        eq(busy.recv(1), b"y", "the busy one still open")
        quiet.close()
        busy.close()
    finally:
        a.close()
        up.close()


def test_stuck_reader_blocks_no_one():
    """A client that sends a lot and an upstream that never reads it:
    that tunnel stops (its pipe full), the loop does not, and qmsd's
    memory does not grow with what the client pushes."""
    sink = Upstream("sink")
    sink_stuck = socket.socket()
    sink_stuck.bind(("127.0.0.1", 0))
    sink_stuck.listen(8)          # accepts in the kernel, never reads
    sport = sink_stuck.getsockname()[1]
    up = Upstream("echo")
    a = Sealed("127.0.0.1:%d 127.0.0.1:%d" % (sport, up.port))
    try:
        _, s = a.ask(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\n" % sport)
        s.setblocking(False)
        pushed = 0
        chunk = b"z" * 65536
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                pushed += s.send(chunk)
            except BlockingIOError:
                time.sleep(0.05)
        with open("/proc/%d/status" % a.d.pid) as f:
            rss = [l for l in f if l.startswith("VmRSS")][0]
        kb = int(rss.split()[1])
        head, t = a.ask(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\n" % up.port)
        contains(head, "200 ", "another tunnel opens")
        t.sendall(b"ping")
        eq(t.recv(4), b"ping", "and works")
        t.close()
        if kb > 200 * 1024:
            raise AssertionError("qmsd's RSS is %d kB after %d bytes "
                                 "pushed at a stuck upstream" % (kb, pushed))
        s.close()
    finally:
        a.close()
        up.close()
        sink.close()
        sink_stuck.close()


def test_client_leaves_midway():
    """Clients that leave at each step (mid-head, while connecting, mid-
    tunnel) leave qmsd serving and nothing open: the next request works
    and the tunnel count is back to where it was."""
    hole = Unanswered()
    port = hole.port
    up = Upstream("echo")
    a = Sealed("127.0.0.1:%d 127.0.0.1:%d" % (port, up.port),
               extra="egress-max-tunnels = 3\n")
    try:
        for _ in range(5):
            s = a.connect()
            s.sendall(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\nHo" % up.port)
            s.close()
            s = a.connect()     # hangs in connect(): leaves meanwhile
            s.sendall(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\n" % port)
            time.sleep(0.05)
            s.close()
            _, s = a.ask(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\n" % up.port)
            s.sendall(b"abc")
            s.close()
        # all counted ones are back: three at once still fit
        socks = []
        deadline = time.monotonic() + 10
        while len(socks) < 3 and time.monotonic() < deadline:
            head, s = a.ask(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\n"
                            % up.port)
            if " 200 " in head:
                socks.append(s)
            else:
                s.close()
                time.sleep(0.1)
        eq(len(socks), 3, "every tunnel of the clients that left is gone")
        for s in socks:
            s.close()
        eq(a.d.alive(), True, "qmsd is alive")
    finally:
        a.close()
        up.close()
        hole.close()


def test_reload_changes_the_list():
    """A reload applies the new list at once: to new requests, and to
    open tunnels, which it closes when their target is no longer listed
    (one still listed stays open); an agent taken off network = none
    loses its socket."""
    up = Upstream("echo")
    up2 = Upstream("echo")
    a = Sealed("127.0.0.1:%d 127.0.0.1:%d" % (up.port, up2.port))
    try:
        _, s = a.ask(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\n" % up.port)
        _, k = a.ask(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\n" % up2.port)
        s.sendall(b"before")
        eq(s.recv(6), b"before", "open before the reload")
        a.d.write_config('[agent "%s"]\negress = 127.0.0.1:%d\n'
                         % (AGENT, up2.port))
        a.d.ctl("reload")
        head, t = a.ask(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\n" % up.port)
        contains(refusal(t, head), "HTTP/1.1 403 ", "refused after reload")
        s.settimeout(5)
        eq(read_all(s), b"", "the tunnel no longer allowed is closed")
        s.close()
        k.sendall(b"still")
        eq(k.recv(5), b"still", "the one still listed stays open")
        k.close()
        rc, out, err = a.d.ctl("egress", AGENT)
        contains(out, "no longer in agent %s's egress list" % AGENT,
                 "the closing is recorded")
        a.d.write_config('[agent "%s"]\nnetwork = host\n' % AGENT)
        a.d.ctl("reload")
        wait_for(lambda: not os.path.exists(a.path), "the socket goes")
    finally:
        a.close()
        up.close()
        up2.close()


if __name__ == "__main__":
    main(globals())
