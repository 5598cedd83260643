"""Attacks on a sealed agent's socket (issue 15) by a hostile agent, a
hostile upstream or a hostile local user, each written so that it fails
while the hole is open.  Built on test_egress.py's helpers: no container
is needed, every upstream is on loopback."""
import os
import random
import shutil
import socket
import stat
import struct
import subprocess
import time

from qmsdtest import Daemon, contains, eq, main
from test_egress import (AGENT, Sealed, Upstream, read_all, read_head,
                         wait_for)


def test_many_bare_headers_rewritten_whole():
    """The head sent upstream for plain HTTP is rebuilt as "Name: value";
    a head of a hundred "a:b" fields (no blank after the colon, each one
    byte longer rewritten) and a short target must still go upstream
    whole and exact, not cut or followed by bytes of qmsd's memory."""
    up = Upstream("http")
    a = Sealed("127.0.0.1:%d" % up.port)
    try:
        fields = b"".join(b"h%02d:v\r\n" % i for i in range(98))
        head, s = a.ask(b"GET http://127.0.0.1:%d HTTP/1.1\r\n"
                        b"Host:127.0.0.1:%d\r\n%s\r\n"
                        % (up.port, up.port, fields))
        contains(head, "HTTP/1.1 200 ", "answered")
        read_all(s)
        s.close()
        wait_for(lambda: len(up.received) == 1, "the upstream request")
        got = up.received[0]
        want = (b"GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s"
                b"Connection: close\r\n\r\n"
                % (up.port, b"".join(b"h%02d: v\r\n" % i
                                     for i in range(98))))
        eq(got, want, "the head went upstream exactly")
        # qmsd is alive and serves the next one
        head, s = a.ask(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\n" % up.port)
        contains(head, "HTTP/1.1 200 ", "still serving")
        s.close()
    finally:
        a.close()
        up.close()


def nfds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def settled_nfds(pid):
    """qmsd's descriptors once it has settled: it opens some after it says
    it is ready (Docker's answer, then its event stream), later on a busy
    machine; a count taken before them is one that never comes back."""
    last, since = nfds(pid), time.monotonic()
    deadline = since + 30
    while time.monotonic() - since < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
        n = nfds(pid)
        if n != last:
            last, since = n, time.monotonic()
    return last


class Now:
    """A count shown as it is when the message is printed."""

    def __init__(self, pid):
        self.pid = pid

    def __str__(self):
        try:
            return str(nfds(self.pid))
        except OSError as e:
            return str(e)


def test_half_heads_hold_no_descriptors():
    """An agent that opens connection after connection, each sending
    half a proxy request and then nothing, must not make qmsd hold a
    descriptor (and a head's buffer) for each: they are bounded per agent,
    else the agent runs qmsd out of descriptors for every agent and the
    host.  Another agent is served meanwhile, and so is this one once its
    connections go."""
    up = Upstream("echo")
    a = Sealed("127.0.0.1:%d" % up.port,
               extra='[agent "b"]\negress = 127.0.0.1:%d\n' % up.port)
    socks = []
    try:
        before = nfds(a.d.pid)
        for i in range(600):
            s = a.connect()
            s.sendall(b"CONNECT 127.0.0.1:%d" % up.port)
            socks.append(s)
        # what qmsd holds once it has seen them all
        b = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        b.connect(a.path.replace("/%s/" % AGENT, "/b/"))
        b.settimeout(15)
        b.sendall(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\n" % up.port)
        contains(read_head(b), "HTTP/1.1 200 ", "the other agent served")
        b.close()
        held = nfds(a.d.pid) - before
        if held > 200:
            raise AssertionError("qmsd holds %d descriptors for 600 "
                                 "half-sent heads of one agent" % held)
        for s in socks:
            s.close()
        socks = []
        deadline = time.monotonic() + 10
        while True:
            head, s = a.ask(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\n"
                            % up.port)
            s.close()
            if " 200 " in head or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        contains(head, "HTTP/1.1 200 ", "served again")
    finally:
        for s in socks:
            s.close()
        a.close()
        up.close()


def test_half_close_after_request_is_answered():
    """A client that shuts its sending side once its request is sent
    (HTTP/1.0 style, `nc -N`, a relay passing such a client's EOF on) has
    not left: it waits for the answer, and gets it.  Only a client gone
    both ways cancels the work."""
    web = Upstream("http")
    echo = Upstream("echo")
    a = Sealed("127.0.0.1:%d 127.0.0.1:%d" % (web.port, echo.port))
    try:
        s = a.connect()
        s.sendall(b"GET http://127.0.0.1:%d/x HTTP/1.0\r\nHost: "
                  b"127.0.0.1:%d\r\n\r\n" % (web.port, web.port))
        s.shutdown(socket.SHUT_WR)
        text = read_all(s).decode("latin-1")
        s.close()
        contains(text, "HTTP/1.1 200 ", "plain HTTP answered")
        contains(text, "hello from upstream", "with its body")
        s = a.connect()
        s.sendall(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\nlast words"
                  % echo.port)
        s.shutdown(socket.SHUT_WR)
        text = read_all(s).decode("latin-1")
        s.close()
        contains(text, "HTTP/1.1 200 ", "the tunnel opened")
        eq(text.endswith("\r\n\r\nlast words"), True,
           "the bytes went and came back: %r" % text)
    finally:
        a.close()
        web.close()
        echo.close()


def reset(s):
    """Close with a RST, as a client that crashes does."""
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


class ResetUpstream(Upstream):
    """An upstream that reads a little, may answer a part, then resets."""

    def _serve(self, c):
        try:
            c.settimeout(5)
            c.recv(10)
            if random.random() < 0.5:
                c.sendall(b"HTTP/1.1 200 OK\r\n\r\npartial")
        except OSError:
            pass
        reset(c)


def test_resets_at_every_step_leave_nothing_open():
    """Clients that reset, half-close or leave at every step (mid-head,
    right after it, mid-body, mid-tunnel), against upstreams that echo,
    answer or reset, leave qmsd alive and holding no descriptor more than
    before once the idle timeout has passed."""
    random.seed(15)
    up, bad, web = Upstream("echo"), ResetUpstream(), Upstream("http")
    a = Sealed("127.0.0.1:%d 127.0.0.1:%d 127.0.0.1:%d"
               % (up.port, bad.port, web.port),
               extra="egress-idle-timeout = 1s\n")
    try:
        before = settled_nfds(a.d.pid)
        for _ in range(200):
            port = random.choice([up.port, bad.port, web.port])
            req = random.choice([
                b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\n" % port,
                b"GET http://127.0.0.1:%d/ HTTP/1.1\r\nHost: 127.0.0.1:%d"
                b"\r\n\r\n" % (port, port),
                b"POST http://127.0.0.1:%d/ HTTP/1.1\r\nHost: 127.0.0.1:%d"
                b"\r\nContent-Length: 100000\r\n\r\n" % (port, port)])
            step = random.choice(["mid-head", "after-head", "data",
                                  "half-close", "read"])
            s = a.connect()
            s.settimeout(2)
            try:
                if step == "mid-head":
                    s.sendall(req[:random.randint(1, len(req) - 1)])
                    reset(s)
                    continue
                s.sendall(req)
                if step == "after-head":
                    reset(s)
                    continue
                if step == "half-close":
                    s.shutdown(socket.SHUT_WR)
                try:
                    s.recv(100)
                except OSError:
                    pass
                if step == "data":
                    s.sendall(os.urandom(random.randint(1, 300000)))
            except OSError:
                pass
            if random.random() < 0.5:
                reset(s)
            else:
                s.close()
        # the head deadline (10 s) and the linger (5 s) bound the rest; the
        # wait is long for a busy machine: what is asserted is that they
        # all close, not how soon.
        wait_for(lambda: nfds(a.d.pid) <= before, "qmsd's descriptors "
                 "back to %d (now %s)" % (before, Now(a.d.pid)), timeout=60)
        eq(a.d.alive(), True, "qmsd is alive")
        head, s = a.ask(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\n" % up.port)
        contains(head, "HTTP/1.1 200 ", "and serves")
        s.close()
    finally:
        a.close()
        for u in (up, bad, web):
            u.close()


INITIALIZE = (b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":'
              b'{"protocolVersion":"2025-06-18","capabilities":{},'
              b'"clientInfo":{"name":"t","version":"1"}}}')


def mcp_post(s, token, body=INITIALIZE):
    s.sendall(b"POST /git/mcp HTTP/1.1\r\nHost: 127.0.0.1:3128\r\n"
              b"Content-Type: application/json\r\nAccept: "
              b"application/json, text/event-stream\r\n"
              b"Authorization: Bearer %s\r\nContent-Length: %d\r\n\r\n%s"
              % (token.encode(), len(body), body))


def test_agent_named_host_is_not_the_host():
    """The host's token has the identity "host", which git_exec and the
    gateway take for the owner; the socket's check is that the token's
    identity is the socket's agent's name.  An agent named "host" would
    then take the host's token on its socket (and its own token would be
    the owner's everywhere).  Either the name is refused, or the host's
    token is refused on that agent's socket."""
    d = Daemon(config='[agent "host"]\negress =\n', wait=False)
    try:
        try:
            d.notify.wait_for("READY=1", 10)
        except AssertionError:
            eq(d.alive(), False, "not ready, and gone")
            contains(d.log(), "host", "the name is refused")
            return
        with open(os.path.join(d.dir, "state", "host.token")) as f:
            host_token = f.read().strip()
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(os.path.join(d.dir, "state", "agents", "host", "link",
                               "qmsd.sock"))
        s.settimeout(15)
        mcp_post(s, host_token)
        text = read_all(s).decode("latin-1")
        s.close()
        contains(text.split("\r\n")[0], " 403 ",
                 "the host's token on agent host's socket")
    finally:
        d.close()


def test_one_agent_cannot_fill_the_mcp_slots():
    """The connections of every agent's socket that are not proxy
    requests share one HTTP server and its max-connections.  One agent,
    with its own token, holding them all (requests whose bodies trickle
    in, each byte within connection-timeout) and taking each slot that
    frees, must not leave another agent's MCP requests unanswered: on the
    docker bridge max-connections-per-peer bounded each container; the
    socket is the peer here."""
    import threading
    from test_sealed import Sealed as Containers
    c = Containers(names=("a", "b"), qms="[http]\nmax-connections = 16\n"
                   "max-connections-per-peer = 4\n")
    stop = threading.Event()
    held = []
    tried = []
    try:
        a, b = c.names
        c.up(a)
        with open(os.path.join(c.d.dir, "state", "agents", a,
                               "token")) as f:
            token = f.read().strip()

        def hog():
            while not stop.is_set():
                try:
                    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    tried.append(1)
                    s.connect(c.sock(a))
                    s.sendall(b"POST /git/mcp HTTP/1.1\r\nHost: "
                              b"127.0.0.1:3128\r\nAuthorization: Bearer "
                              b"%s\r\nContent-Type: application/json\r\n"
                              b"Content-Length: 500000\r\n\r\n{"
                              % token.encode())
                    held.append(s)
                except OSError:
                    pass
                for s in list(held):
                    try:
                        s.send(b" ")
                    except OSError:
                        held.remove(s)
                        s.close()
                time.sleep(0.02)

        threading.Thread(target=hog, daemon=True).start()
        # as many as it may hold and more: past its share they are closed
        wait_for(lambda: len(tried) >= 40, "agent a tries to hold them all")
        for i in range(5):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(c.sock(b))
            s.settimeout(15)
            s.sendall(b"POST /git/mcp HTTP/1.1\r\nHost: 127.0.0.1:3128"
                      b"\r\nContent-Length: 2\r\n\r\n{}")
            text = read_all(s).decode("latin-1")
            s.close()
            contains(text, "HTTP/1.1 401 ", "agent b's request %d is "
                     "answered" % (i + 1))
            time.sleep(0.2)
    finally:
        stop.set()
        time.sleep(0.1)
        for s in held:
            s.close()
        c.close()


BUILD = os.environ.get("QMSD_BUILD_ROOT",
                       os.path.join(os.path.dirname(os.path.abspath(
                           __file__)), "..", "..", "build", "dev"))
RACER = os.path.join(BUILD, "tests", "socket-racer")
NOBODY = 65534


def tracer(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("TracerPid:"):
                return int(line.split()[1])
    return 0


def test_socket_dir_swap_never_chowns_for_root():
    """The socket's directory is mounted into the container and is its
    owner's: the agent can swap a symlink in for qmsd.sock while qmsd, as
    root, makes the socket anew (a restart, or a reload that seals the
    agent again).  Nothing qmsd does to the socket may then land on the
    symlink's target: a root-owned file stays root's, with its mode."""
    if os.geteuid() != 0 or shutil.which("strace") is None:
        print("skip: needs root (qmsd chowns the socket only as root) "
              "and strace")
        return
    a = Sealed("", extra="[qmsd]\nrun-as = nobody\n")
    victim = os.path.join(a.d.dir, "victim")
    with open(victim, "w") as f:
        f.write("root's\n")
    os.chmod(victim, 0o644)
    racers = []
    try:
        d = os.path.dirname(a.path)
        eq(os.stat(d).st_uid, NOBODY, "the directory is the owner's")
        for _ in range(2):
            racers.append(subprocess.Popen([RACER, d, victim, str(NOBODY)]))
        # qmsd's changes of mode and owner held back a while each, so
        # that the race is won whenever it can be (strace only delays).
        slow = ("chmod", "fchmodat", "chown", "fchownat", "lchown")
        racers.append(subprocess.Popen(
            ["strace", "-f", "-qq", "-o", "/dev/null", "-e",
             "trace=" + ",".join(slow), "-e",
             "inject=%s:delay_enter=50000" % ",".join(slow),
             "-p", str(a.d.pid)]))
        wait_for(lambda: tracer(a.d.pid) != 0, "strace attached")
        sealed = '[agent "%s"]\negress =\n[qmsd]\nrun-as = nobody\n' % AGENT
        opened = '[agent "%s"]\nnetwork = host\n[qmsd]\nrun-as = nobody\n' \
            % AGENT
        for i in range(10):
            a.d.write_config(opened)
            a.d.ctl("reload")
            a.d.write_config(sealed)
            a.d.ctl("reload")
            st = os.lstat(victim)
            eq((st.st_uid, stat.S_IMODE(st.st_mode)), (0, 0o644),
               "the target after %d socket(s) made" % (i + 1))
        for r in racers:
            eq(r.poll(), None, "the racers ran throughout")
        eq(os.stat(d).st_uid, NOBODY, "the directory is the owner's again")
    finally:
        for r in racers:
            r.kill()
            r.wait()
        a.close()


if __name__ == "__main__":
    main(globals())
