#!/usr/bin/env python3
"""Attacks on sealed agents (issue 15) that test_hostile_egress.py does
not make: from inside the container (its mounts, the host's abstract
sockets, its link directory), through the configuration (mounts that
would undo the seal), and on what qmsd keeps of an agent's traffic (the
egress audit ring, its followers, what `qmsctl egress` prints).  Each is
written to fail while its hole is open; every server is on loopback."""
import os
import re
import secrets
import select
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmsdtest import QMSCTL, QMSD, Daemon, contains, eq, main
from test_agent import need_docker
from test_egress import AGENT, Sealed, Upstream, read_all, wait_for
from test_sealed import Sealed as SealedBox

# Bytes a terminal acts on: C0 controls but tab and newline, DEL, C1.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")


def check_config(text):
    """qmsd -n on a configuration: (exit code, stderr)."""
    with tempfile.NamedTemporaryFile("w", suffix=".conf",
                                     delete=False) as f:
        f.write(text)
    try:
        p = subprocess.run([QMSD, "-n", "-c", f.name], capture_output=True,
                           text=True, timeout=30)
        return p.returncode, p.stderr
    finally:
        os.unlink(f.name)


def test_mounts_that_undo_the_seal_refused():
    """A `mount` that hands an agent another agent's link directory (its
    socket is that agent's identity), qmsd's whole state directory (every
    socket and token), a directory above it, Docker's socket (root on the
    host), or that covers the agent's own /run/qmsd, must be refused by
    the configuration, however the path is spelled."""
    base = tempfile.mkdtemp(prefix="qmsd-hostile-sealed.")
    state = os.path.join(base, "state")
    head = ("[qmsd]\nproject-root = %s\nstate-dir = %s\n[agent \"b\"]\n"
            "[agent \"a\"]\n" % (base, state))
    bad = [
        "mount = %s/agents/b/link:/tmp/b" % state,
        "mount = %s//agents/./b/link/:/tmp/b:ro" % state,
        "mount = %s/x/../agents/b/link:/tmp/b" % state,
        "mount = %s:/tmp/state:ro" % state,
        "mount = %s:/tmp/up:ro" % base,
        "mount = /:/host:ro",
        "mount = /run/docker.sock:/var/run/docker.sock",
        "mount = /var/run:/tmp/run",
        "mount = /srv/x:/run/qmsd",
        "mount = /srv/x:/run:ro",
        "mount = /srv/x:/run/qmsd/qmsd.sock",
        "mount = /srv/x:/:ro",
    ]
    rc, err = check_config(head + "mount = %s/data:/data:ro\n" % base)
    eq(rc, 0, "an ordinary mount is fine: %s" % err)
    for line in bad:
        rc, err = check_config(head + line + "\n")
        if rc == 0:
            raise AssertionError("accepted: %s" % line)
        contains(err, "mount", line)
    # a bridge agent has no link: /run is its own to mount on
    rc, err = check_config(head + "network = bridge\n"
                           "mount = /srv/x:/run:ro\n")
    eq(rc, 0, "bridge agent mounting on /run: %s" % err)
    os.rmdir(base)


def egress_lines(d, *args):
    p = subprocess.run([QMSCTL, "-S", d.socket, "egress", "-n", "1000"]
                       + list(args), capture_output=True, timeout=30)
    eq(p.returncode, 0, p.stderr)
    return p.stdout.decode("latin-1")


def test_agent_strings_printable_in_egress_output():
    """What an agent sends (a target, a method, bytes in a Host) ends up
    in `qmsctl egress` and the journal: a terminal escape in it (retitle
    the window, rewrite the line that showed the refusal) must never
    reach the reader's terminal, in text or in --json."""
    up = Upstream("http")
    a = Sealed("127.0.0.1:%d" % up.port)
    try:
        esc = b"\x1b]0;owned\x07\x1b[2K\r\x9b1A"
        for head in (
                b"CONNECT ev" + esc + b"il:443 HTTP/1.1\r\n\r\n",
                b"CONNECT 127.0.0.1:9" + esc + b" HTTP/1.1\r\n\r\n",
                b"G" + esc + b"T http://127.0.0.1:%d/ HTTP/1.1\r\n"
                b"Host: 127.0.0.1:%d\r\n\r\n" % (up.port, up.port),
                b"GET http://127.0.0.1:%d/ HTTP/1.1\r\nHost: x" % up.port
                + esc + b"\r\n\r\n",
                b"GET http://ev" + esc + b"il/ HTTP/1.1\r\nHost: ev" + esc
                + b"il\r\n\r\n"):
            s = a.connect()
            s.sendall(head)
            read_all(s)
            s.close()
        wait_for(lambda: egress_lines(a.d).count("\n") >= 4,
                 "the records")
        for args in ((), ("--json",), (AGENT,)):
            out = egress_lines(a.d, *args)
            bad = CONTROL.findall(out)
            if bad:
                raise AssertionError("qmsctl egress %s prints control "
                                     "bytes %r:\n%r" % (args, bad, out))
        with open(a.d.stderr_path, "rb") as f:
            log = f.read().decode("latin-1")
        bad = CONTROL.findall(log.replace("\n", ""))
        if bad:
            raise AssertionError("qmsd's log has control bytes %r" % bad)
    finally:
        a.close()
        up.close()


def test_flood_keeps_other_agents_refusals():
    """Agent b floods the proxy with refused requests, more than the
    audit ring holds.  Agent a's refusal, made just before, must still be
    shown by `qmsctl egress a`: one agent's noise must not erase another's
    record (nor must an agent be able to push its own refusal out of
    sight: its last refusals are what the reader looks for)."""
    up = Upstream("echo")
    a = Sealed("127.0.0.1:%d" % up.port,
               extra='[agent "b"]\negress = 127.0.0.1:%d\n' % up.port)
    bpath = a.path.replace("/%s/" % AGENT, "/b/")
    try:
        s = a.connect()
        s.sendall(b"CONNECT 127.0.0.1:1 HTTP/1.1\r\n\r\n")
        read_all(s)
        s.close()
        wait_for(lambda: "127.0.0.1:1 " in egress_lines(a.d, AGENT),
                 "a's refusal recorded")
        for i in range(1100):
            b = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            b.connect(bpath)
            b.settimeout(15)
            b.sendall(b"CONNECT 127.0.0.1:2 HTTP/1.1\r\n\r\n")
            read_all(b)
            b.close()
        wait_for(lambda: egress_lines(a.d, "b").count("\n") >= 900,
                 "b's flood recorded")
        contains(egress_lines(a.d, AGENT), "127.0.0.1:1 ",
                 "a's refusal still shown after b's flood")
    finally:
        a.close()
        up.close()


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def test_followers_that_never_read_hold_nothing():
    """Thirty `qmsctl egress -f` followers that stop reading while an
    agent makes thousands of records: qmsd must neither block (the agent
    and a plain `qmsctl egress` are served meanwhile) nor hold what they
    do not read beyond its per-client high-water mark (1M each), and
    followers that leave are dropped: records after they left reach no
    one and harm nothing."""
    up = Upstream("echo")
    # Under AddressSanitizer freed memory is held in a quarantine (256M)
    # that would count here: none for this measure.
    env = {"ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") +
           ":quarantine_size_mb=0:thread_local_quarantine_size_kb=0"}
    a = Sealed("127.0.0.1:%d" % up.port, env=env)
    followers = []
    try:
        for i in range(30):
            followers.append(subprocess.Popen(
                [QMSCTL, "-S", a.d.socket, "egress", "-f", "-n", "0"],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL))
        # records until each follower has been told one (each may take
        # its time to subscribe)
        waiting = {p.stdout.fileno(): p for p in followers}
        deadline = time.monotonic() + 30
        while waiting and time.monotonic() < deadline:
            s = a.connect()
            s.sendall(b"CONNECT 127.0.0.1:1 HTTP/1.1\r\n\r\n")
            read_all(s)
            s.close()
            ready, _, _ = select.select(list(waiting), [], [], 0.2)
            for fd in ready:
                contains(os.read(fd, 4096).decode(), "127.0.0.1:1 ",
                         "a follower told")
                del waiting[fd]
        eq(len(waiting), 0, "followers not told")
        # from here on, none reads: the pipes fill, then the sockets
        rss0 = rss_kb(a.d.pid)
        pad = b"x" * 200
        for i in range(6000):
            s = a.connect()
            s.sendall(b"CONNECT 127.0.0.1:1%s HTTP/1.1\r\n\r\n" % pad)
            read_all(s)
            s.close()
        grown = rss_kb(a.d.pid) - rss0
        # AddressSanitizer's redzones and shadow cost about half again
        with open(QMSD, "rb") as f:
            slack = 1.5 if b"AddressSanitizer" in f.read() else 1
        if grown > 30 * 1100 * slack + 8 * 1024:
            raise AssertionError("qmsd grew %d kB for followers that do "
                                 "not read" % grown)
        contains(egress_lines(a.d), "127.0.0.1:1", "egress answered")
        for p in followers:
            p.kill()
            p.wait()
        followers = []
        for i in range(200):
            s = a.connect()
            s.sendall(b"CONNECT 127.0.0.1:1 HTTP/1.1\r\n\r\n")
            read_all(s)
            s.close()
        # Thousands of refusals a second are past the agent's share of
        # the audit log (qmsd(8), AUDIT LOG): refused, until it refills.
        time.sleep(1.5)
        s = a.connect()
        s.sendall(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\n" % up.port)
        contains(s.recv(100).decode(), " 200 ", "served after")
        s.close()
        eq(a.d.proc.poll(), None, "qmsd alive")
    finally:
        for p in followers:
            p.kill()
            p.wait()
        a.close()
        up.close()


NOISY = r"""
import sys, time
# what a server does that quotes a caller's bad argument in its error
sys.stderr.write("bad document id '\x1b]0;owned\x07\x1b[2K\rDOC-1'\n")
sys.stderr.flush()
time.sleep(120)
"""


def test_component_output_printable_in_logs():
    """qms-mcp serves the agents' /qms/mcp: an error it prints that quotes
    what an agent sent (a document id with a terminal escape in it) must
    not reach the terminal of whoever runs `qmsctl logs qms-mcp`, nor
    qmsd's own log, as escapes."""
    d = None
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(NOISY)
    try:
        d = Daemon(config="[qms-mcp]\nenabled = yes\ncommand = python3 %s\n"
                   "workdir = /tmp\n" % f.name)
        out = ""
        deadline = time.monotonic() + 20
        while "bad document id" not in out:
            assert time.monotonic() < deadline, out
            p = subprocess.run([QMSCTL, "-S", d.socket, "logs", "qms-mcp"],
                               capture_output=True, timeout=30)
            out = p.stdout.decode("utf-8", "replace")
            time.sleep(0.1)
        bad = CONTROL.findall(out)
        if bad:
            raise AssertionError("qmsctl logs prints control bytes %r:\n%r"
                                 % (bad, out))
        with open(d.stderr_path, "rb") as g:
            log = g.read().decode("utf-8", "replace")
        contains(log, "bad document id", "in qmsd's log")
        bad = CONTROL.findall(log.replace("\n", ""))
        if bad:
            raise AssertionError("qmsd's log has control bytes %r" % bad)
    finally:
        if d is not None:
            d.close()
        os.unlink(f.name)


def test_no_shared_writable_place_between_agents():
    """Each agent's egress list is its own: agent a, which holds a secret
    (an env-file's GH_TOKEN, its token) and may send nowhere, must have no
    place that agent b, whose list lets it out, can read.  Every writable
    mount of a's container is checked: a file a writes there must not
    appear in b's.  (.claude/sessions is mounted read-write into every
    agent's container: a hands b what b then sends away.)"""
    need_docker()
    s = SealedBox(names=("a", "b"))
    try:
        a, b = s.names
        s.up(a)
        s.up(b)
        rc, out, err = s.exec(a, "sh", "-c",
                              "for d in $(awk '$4 ~ /^rw/ {print $2}' "
                              "/proc/self/mounts); do "
                              "echo secret > $d/.leak-$$ 2>/dev/null && "
                              "echo $d/.leak-$$; done")
        leaked = []
        for path in out.split():
            rc, got, err = s.exec(b, "cat", path)
            if rc == 0 and "secret" in got:
                leaked.append(path)
        eq(leaked, [], "written by a, read by b")
    finally:
        s.close()


ABSTRACT = r"""
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.connect(b"\0" + sys.argv[1].encode())
    print("connected")
except OSError as e:
    print("refused", e.errno)
print("listed" if sys.argv[1] in open("/proc/net/unix").read() else
      "unlisted")
"""


def test_container_reaches_nothing_of_the_host():
    """From inside a sealed container: an abstract Unix socket the host
    listens on (as containerd's shims once did) is out of reach, as its
    own network namespace keeps it; Docker's socket is nowhere; and its
    link directory, mounted read-only, cannot be changed: no name put in
    it (a symlink in the socket's place for root to chown), no socket
    removed, no mode widened."""
    need_docker()
    tag = "qmsd-hostile-%s" % secrets.token_hex(4)
    host = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    host.bind(b"\0" + tag.encode())
    host.listen(8)
    s = SealedBox()
    try:
        name = s.names[0]
        s.up(name)
        rc, out, err = s.exec(name, "python3", "-c", ABSTRACT, tag)
        eq(rc, 0, err)
        contains(out, "refused 111", "host's abstract socket unreachable")
        contains(out, "unlisted", "nor listed in its /proc/net/unix")
        rc, out, err = s.exec(name, "sh", "-c",
                              "ls /run/docker.sock /var/run/docker.sock "
                              "2>/dev/null; find / -xdev -name "
                              "'docker.sock' 2>/dev/null; echo end")
        eq(out.split(), ["end"], "no Docker socket")
        for cmd in ("touch /run/qmsd/x", "ln -s /etc/shadow /run/qmsd/y",
                    "rm -f /run/qmsd/qmsd.sock", "chmod 777 /run/qmsd",
                    "chmod 666 /run/qmsd/qmsd.sock",
                    "mv /run/qmsd/qmsd.sock /run/qmsd/z"):
            rc, out, err = s.exec(name, "sh", "-c", cmd)
            if rc == 0:
                raise AssertionError("in the container: %s succeeded" % cmd)
        rc, out, err = s.exec(name, "sh", "-c", "ls -A /run/qmsd; "
                              "stat -c %a /run/qmsd/qmsd.sock")
        eq(out.split(), ["qmsd.sock", "600"], "link untouched")
    finally:
        s.close()
        host.close()


if __name__ == "__main__":
    main(globals())
