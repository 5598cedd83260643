#!/usr/bin/env python3
"""The audit trail (issue 19) attacked: by a hostile agent (its egress
socket, its gateway and git calls), a hostile local user and a hostile
web page.  Each test is an attack, and fails while the hole it names is
open: an action that happens with no record on disk, or before it; a
record that is not what happened or that breaks the log for a reader;
one agent filling the disk or the pending queue so that everyone's
audited actions are refused; a client whose answer is lost.

The log is read here from the file (STATE/audit.log) and its chain
checked in Python, never through qmsctl audit.  "On disk" is made
observable by stopping the writer child (SIGSTOP, as a slow disk would):
whatever happens while it is stopped happened before its record was
durable."""
import contextlib
import functools
import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gitrepo
from qmsdtest import (Daemon, component, contains, eq, main, request,
                      wait_state)
from test_egress import AGENT, Sealed, Upstream
from test_gateway import Gateway
from test_git import Env

GENESIS = "0" * 64
LINE_MAX = 4096         # AUDIT_LINE_MAX, common/audit-chain.h


# ---- reading the log apart from qmsd and qmsctl ----

def log_path(d):
    return os.path.join(d.dir, "state", "audit.log")


def raw_lines(path):
    """The log's lines as bytes, split on "\\n" alone (the spec's only
    line end), and whether the file ends in one."""
    with open(path, "rb") as f:
        data = f.read()
    return data.split(b"\n")[:-1], data.endswith(b"\n") or data == b""


def chain_ok(path):
    """The chain as common/audit-chain.h says, on bytes: seq from 1 with
    no gap, each prev the SHA-256 of the line before.  The lines."""
    ls, ended = raw_lines(path)
    assert ended, "the log ends inside a line"
    prev = GENESIS
    for i, l in enumerate(ls):
        r = json.loads(l.decode("utf-8"))
        eq(list(r)[:4], ["seq", "time", "prev", "kind"],
           "leading members of line %d" % (i + 1))
        eq(r["seq"], i + 1, "seq of line %d" % (i + 1))
        eq(r["prev"], prev, "prev of record %d" % r["seq"])
        prev = hashlib.sha256(l).hexdigest()
    return ls


def records(d):
    """Every line that parses, as a record (a line that does not is the
    subject of its own test, not of the others)."""
    out = []
    for l in raw_lines(log_path(d))[0]:
        try:
            out.append(json.loads(l.decode("utf-8", "replace")))
        except ValueError:
            pass
    return out


def of_kind(d, kind, **match):
    return [r for r in records(d) if r.get("kind") == kind and
            all(r.get(k) == v for k, v in match.items())]


def writer_pid(d):
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid=,comm="],
                         capture_output=True, text=True).stdout
    pids = [int(l.split()[0]) for l in out.splitlines()
            if l.split()[1:] == [str(d.pid), "qmsd-audit"]]
    eq(len(pids), 1, "one writer, qmsd's child")
    return pids[0]


def secret_agent(base, tls):
    """A sealed agent with a secret for tls (test_sealed.TLSServer), its
    env-file in base: (host:port, Sealed)."""
    env = os.path.join(base, "agent.env")
    fd = os.open(env, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, b"TOK=not-a-real-secret\n")
    os.close(fd)
    auth = "127.0.0.1:%d" % tls.port
    return auth, Sealed(auth, extra="env-file = %s\nsecret = TOK %s\n"
                        "[qmsd]\nupstream-ca = %s\n" % (env, auth, tls.ca))


@contextlib.contextmanager
def writer_stopped(d):
    """The writer stopped (a disk that takes its time): nothing reaches
    the disk until the block ends."""
    pid = writer_pid(d)
    os.kill(pid, signal.SIGSTOP)
    try:
        yield pid
    finally:
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass                # qmsd stopped, and ended it


def kill_writer(d):
    os.kill(writer_pid(d), signal.SIGKILL)
    wait_state(d, "audit", "failed")


def post_raw(g, body, timeout=30):
    c = g.conn()
    c.timeout = timeout
    c.request("POST", "/qms/mcp", body=body, headers={
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "Authorization": "Bearer " + g.token})
    r = c.getresponse()
    return r.status, r.read().decode("utf-8", "replace")


def call(name, id=1):
    return {"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": name, "arguments": {}}}


# ---- the gateway: what the QMS server runs, qmsd must have read ----

def test_a_tool_call_in_another_encoding_is_not_unrecorded():
    """CRITICAL.  A JSON body in UTF-16 or UTF-32: Python's json.loads
    (the stand-in QMS server, the recording server, the MCP SDK releases
    that parse with it) detects the encoding and runs the tools/call;
    cJSON reads every NUL as whitespace and every key as "", sees no
    "method", records nothing and passes the body on.  A tool call then
    reaches the server with no record at all.  Either qmsd refuses what
    it cannot read as the server would, or it records the call."""
    g = Gateway()
    try:
        g.ready()
        for enc in ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"):
            before = len(g.recorded("tools/call"))
            tools = len(of_kind(g.d, "tool"))
            body = json.dumps(call("qms_approve")).encode(enc)
            st, text = post_raw(g, body)
            time.sleep(0.2)
            reached = len(g.recorded("tools/call")) - before
            recorded = len(of_kind(g.d, "tool")) - tools
            assert reached == 0 or recorded >= reached, (
                "%s: the server ran %d tools/call, %d recorded (answer "
                "%d %s)" % (enc, reached, recorded, st, text[:200]))
    finally:
        g.close()


def test_a_nul_does_not_hide_the_tool_called():
    """A NUL in the tool's name: cJSON's string ends at it, so the record
    names "qms_status" while the server is asked for
    "qms_status\\u0000...".  What is recorded is what was called, or the
    call is refused as read two ways."""
    g = Gateway()
    try:
        g.ready()
        name = "qms_status\u0000--and-something-else"
        before = len(g.recorded("tools/call"))
        st, text = post_raw(g, json.dumps(call(name)))
        time.sleep(0.2)
        if len(g.recorded("tools/call")) > before:
            got = [r["tool"] for r in of_kind(g.d, "tool")]
            assert name in got, ("the server was asked for %r; the log "
                                 "says %r" % (name, got))
        else:
            assert st >= 400, (st, text)
    finally:
        g.close()


def test_every_record_is_one_utf8_json_line_for_any_reader():
    """MEDIUM.  A tool name is the agent's: raw bytes that are not UTF-8
    go into the log as they came (cJSON checks none), so the line is not
    JSON to a strict reader (Python's json, jq, a browser); and U+2028,
    U+2029, U+0085 go in raw, which Python's splitlines and other readers
    take for line ends: the record splits in two, the halves parse as
    nothing, and a verifier built that way reports a tampering that
    never was (or a reader that skips what does not parse loses the
    record).  Every line must be UTF-8 JSON, and the file's lines the
    same whatever line ends a reader knows."""
    g = Gateway()
    try:
        g.ready()
        post_raw(g, json.dumps(call("x\u2028{seq:99}")))
        post_raw(g, json.dumps(call("y\u0085z\u2029")))
        post_raw(g, b'{"jsonrpc":"2.0","id":3,"method":"tools/call",'
                 b'"params":{"name":"\xff\xfe\xc0\xaf","arguments":{}}}')
        time.sleep(0.3)
        eq(len(of_kind(g.d, "tool")) >= 1, True, "the calls were seen")
        ls, ended = raw_lines(log_path(g.d))
        problems = []
        for l in ls:
            try:
                json.loads(l.decode("utf-8"))
            except ValueError as e:
                problems.append("a line that is not UTF-8 JSON (%s): %r"
                                % (e, l[-80:]))
        text = b"\n".join(ls).decode("utf-8", "replace") + "\n"
        seen = text.splitlines()
        if len(seen) != len(ls):
            problems.append("%d lines, %d to a reader splitting on Unicode "
                            "line ends" % (len(ls), len(seen)))
        eq(problems, [], "the log as its readers see it")
    finally:
        g.close()


def test_a_long_record_still_fits_a_line():
    """Fields an agent fills, each as long as it can make them and made
    of bytes that print six times longer escaped: the line stays within
    AUDIT_LINE_MAX, whole JSON, the chain intact."""
    g = Gateway()
    try:
        g.ready()
        post_raw(g, json.dumps(call("\u0001" * 60000)))
        post_raw(g, json.dumps(call("\u00e9" * 30000 + "x")))
        time.sleep(0.2)
        ls = chain_ok(log_path(g.d))
        for l in ls:
            assert len(l) <= LINE_MAX, "a line of %d bytes" % len(l)
        eq(len(of_kind(g.d, "tool")), 2, "both recorded")
    finally:
        g.close()


def test_a_batch_is_not_a_flood_of_records():
    """HIGH.  One POST of 1 MiB (max-body's default), a batch of 43,690
    bare {"method":"tools/call"}: 24 bytes of body each, a ~190-byte
    record each, hashed on the loop in one turn (half a second here).
    7.7 MB of log from one request, with no bound but max-body.  A batch
    is bounded work: refused past a small number of calls, or recorded
    in bounded records."""
    g = Gateway()
    try:
        g.ready()
        one = b'{"method":"tools/call"}'
        n = (1024 * 1024 - 2) // (len(one) + 1)
        before = len(of_kind(g.d, "tool"))
        size0 = os.path.getsize(log_path(g.d))
        post_raw(g, b"[" + b",".join([one] * n) + b"]", timeout=120)
        time.sleep(0.5)
        added = len(of_kind(g.d, "tool")) - before
        grown = os.path.getsize(log_path(g.d)) - size0
        assert added <= 1000 and grown <= 1024 * 1024, (
            "one 1 MiB request added %d records, %d bytes of log"
            % (added, grown))
    finally:
        g.close()


def test_one_caller_cannot_starve_the_others():
    """HIGH.  Batches like the one above, three at a time, keep more than
    AUDIT_MAX_PENDING (8 MiB) waiting for the disk: meanwhile every other
    audited action, an admin's included, is refused ("the audit log is
    behind").  One caller's records must not take the queue from the
    others."""
    g = Gateway()
    try:
        g.ready()
        one = b'{"method":"tools/call"}'
        n = (1024 * 1024 - 2) // (len(one) + 1)
        body = b"[" + b",".join([one] * n) + b"]"
        stop = time.monotonic() + 20
        refused = []

        def flood():
            while time.monotonic() < stop and not refused:
                try:
                    post_raw(g, body, timeout=120)
                except OSError:
                    pass

        def admin():
            # Pipelined, as a script's calls would be: each round's
            # requests are read in one turn of the loop.
            with g.d.connect() as s:
                s.settimeout(60)
                f = s.makefile("rb")
                while time.monotonic() < stop and not refused:
                    s.sendall(b"".join(json.dumps(
                        {"jsonrpc": "2.0", "id": i, "method": "mcp-config"}
                    ).encode() + b"\n" for i in range(16)))
                    for _ in range(16):
                        r = json.loads(f.readline())
                        if "error" in r:
                            refused.append(r["error"]["message"])
        ts = [threading.Thread(target=flood) for _ in range(3)] + \
             [threading.Thread(target=admin) for _ in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(180)
        assert not refused, ("%d admin calls refused while one caller "
                             "floods, the first: %s" % (len(refused),
                                                        refused[0]))
    finally:
        g.close()


def test_gateway_and_admin_wait_for_the_disk():
    """A guard (holds today): with the writer stopped, a tools/call never
    reaches the server and an admin method never runs; both go once the
    disk has their records."""
    g = Gateway()
    try:
        g.ready()
        res = {}
        with writer_stopped(g.d):
            t1 = threading.Thread(target=lambda: res.update(
                tool=post_raw(g, json.dumps(call("qms_status")))))
            t1.start()

            def reload():
                with g.d.connect() as s:
                    s.settimeout(30)
                    res["admin"] = request(s, "mcp-config")
            t2 = threading.Thread(target=reload)
            t2.start()
            time.sleep(1.5)
            eq(g.recorded("tools/call"), [], "the call went upstream "
               "before its record was on disk")
            assert "admin" not in res, "answered before recorded: %r" % res
        t1.join(30)
        t2.join(30)
        eq(res["tool"][0], 200, "the call went, once recorded")
        assert "result" in res["admin"], res
        eq(len(g.recorded("tools/call")), 1, "once")
        chain_ok(log_path(g.d))
    finally:
        g.close()


# ---- git: the command runs, then its record is written ----

def head_count(e):
    return int(gitrepo.git(e.project, "rev-list", "--count", "HEAD"))


def test_a_git_call_does_not_run_before_its_record():
    """HIGH.  git-tool.c writes the call's record when git has finished
    and holds only the answer: the commit (or push) is made with nothing
    on disk, and a crash or a disk that never syncs leaves an effect with
    no record.  With the writer stopped, the commit must not be made."""
    e = Env()
    try:
        n = head_count(e)
        out = {}
        with writer_stopped(e.d):
            t = threading.Thread(target=lambda: out.update(
                r=e.git_exec("commit --allow-empty -m before-its-record")))
            t.start()
            time.sleep(2)
            made = head_count(e)
        t.join(60)
        eq(made, n, "commits made while their record was not on disk")
        eq(out["r"][1], False, "the commit, once recorded: %s" % out)
        eq(head_count(e), n + 1, "made once recorded")
        assert of_kind(e.d, "git", command="commit --allow-empty -m "
                       "before-its-record"), "recorded"
    finally:
        e.close()


def test_a_git_call_does_not_run_without_the_log():
    """HIGH.  The log cannot be written (its writer gone: a full disk,
    which an agent can bring about, below): every audited action is
    refused, but a git call still runs, and only its answer is withheld.
    The commit must not be made."""
    e = Env()
    try:
        n = head_count(e)
        kill_writer(e.d)
        text, failed = e.git_exec("commit --allow-empty -m unrecorded")
        eq(failed, True, "refused: " + text)
        eq(head_count(e), n, "a commit made with no log to record it")
    finally:
        e.close()


# ---- egress ----

def test_an_intercepted_tunnel_moves_nothing_before_its_record():
    """HIGH.  A tunnel to a secret's host: its "open" record is waited
    for before the 200, but the TLS on the agent's socket is live as
    soon as the intercept starts.  An agent that does not wait for the
    200 (nothing makes it) shakes hands, sends its request (a secret put
    in, for a placeholder) and has the answer, every record of it still
    in memory: the "secret" and "closed" records are not waited for at
    all.  With the writer stopped, no request may reach the upstream."""
    from test_sealed import TLSServer
    base = tempfile.mkdtemp(prefix="qmsd-red-ic.")
    tls = TLSServer(base)
    auth, a = secret_agent(base, tls)
    try:
        got = b""
        with writer_stopped(a.d):
            s = a.connect()
            s.sendall(b"CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n"
                      % (auth.encode(), auth.encode()))
            time.sleep(0.5)     # qmsd has connected and intercepts
            s.settimeout(3)
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            try:
                ts = ctx.wrap_socket(s, server_hostname="127.0.0.1")
                ts.sendall(b"GET /hello.txt HTTP/1.1\r\nHost: %s\r\n"
                           b"Connection: close\r\n\r\n" % auth.encode())
                while True:
                    b = ts.recv(4096)
                    if not b:
                        break
                    got += b
            except (OSError, ssl.SSLError):
                pass
            on_disk = len(raw_lines(log_path(a.d))[0])
        s.close()
        assert b"hello over tls" not in got, (
            "the upstream answered through the intercept while %d "
            "record(s) were on disk, none of this tunnel" % on_disk)
    finally:
        a.close()
        tls.close()
        shutil.rmtree(base, ignore_errors=True)


def test_an_intercepted_request_waits_for_its_own_record():
    """A guard (egress-intercept.c): inside an intercepted tunnel whose
    "open" is on disk, each request is a decision recorded as it is made
    ("secret" when it goes on, without the upstream's status, which is
    not known yet; "denied" when refused), and with the writer stopped
    neither the request reaches the upstream nor the refusal the agent."""
    from test_sealed import TLSServer, Quiet
    base = tempfile.mkdtemp(prefix="qmsd-red-icr.")
    tls = TLSServer(base)
    seen = []

    class Counting(Quiet):
        def do_GET(self):
            seen.append(self.path)
            super().do_GET()
    tls.httpd.RequestHandlerClass = functools.partial(Counting,
                                                      directory=tls.dir)
    auth, a = secret_agent(base, tls)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE

    def tunnel():
        head, s = a.ask(b"CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n"
                        % (auth.encode(), auth.encode()))
        contains(head, "200", "the tunnel")
        s.settimeout(30)
        return ctx.wrap_socket(s, server_hostname="127.0.0.1")

    def answer(ts):
        got = b""
        while True:
            b = ts.recv(4096)
            if not b:
                return got
            got += b
    try:
        for path, extra, want in (
                ("/hello.txt", b"", b"hello over tls"),
                ("/refused.txt", b"Authorization: Bearer "
                 b"qmsd-placeholder-NOPE-" + b"0" * 32 + b"\r\n", b" 403 ")):
            ts = tunnel()
            out = {}
            with writer_stopped(a.d):
                ts.sendall(b"GET %s HTTP/1.1\r\nHost: %s\r\n%s"
                           b"Connection: close\r\n\r\n"
                           % (path.encode(), auth.encode(), extra))
                t = threading.Thread(target=lambda: out.update(
                    got=answer(ts)))
                t.start()
                time.sleep(1.5)
                eq((seen, "got" in out), ([], False), path + ": went on "
                   "before its record was on disk")
            t.join(30)
            contains(out["got"].decode("utf-8", "replace"),
                     want.decode(), path + ", once recorded")
            ts.close()
            seen.clear()
        got = [r for r in of_kind(a.d, "egress")
               if r.get("path") in ("/hello.txt", "/refused.txt")]
        eq([(r["event"], r["path"], r.get("status")) for r in got],
           [("secret", "/hello.txt", None),
            ("denied", "/refused.txt", 403)], "the decisions")
        contains(got[0]["reason"], "no placeholder", "what was done")
        chain_ok(log_path(a.d))
    finally:
        a.close()
        tls.close()
        shutil.rmtree(base, ignore_errors=True)


def test_a_tunnel_connects_nowhere_before_its_record():
    """LOW.  An allowed CONNECT: qmsd connects to the upstream first and
    records "open" (with the address) after; the connection is made with
    nothing on disk (and made too when the log cannot be written).  A
    connection is an effect an agent chooses (a port knock, a signal):
    the decision is recorded before it."""
    up = Upstream("echo")
    a = Sealed("127.0.0.1:%d" % up.port)
    try:
        with writer_stopped(a.d):
            s = a.connect()
            s.sendall(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\n" % up.port)
            time.sleep(1)
            accepted = up.accepted
        s.close()
        eq(accepted, 0, "connections made upstream before the record")
    finally:
        a.close()
        up.close()


def flood_refusals(path, seconds, threads=16):
    """Refused CONNECTs as fast as an agent on network = none can make
    them; how many were answered."""
    head = b"CONNECT " + b"a" * 200 + b".example:443 HTTP/1.1\r\n\r\n"
    stop = time.monotonic() + seconds
    counts = [0] * threads

    def worker(i):
        while time.monotonic() < stop:
            s = socket.socket(socket.AF_UNIX)
            try:
                s.connect(path)
                s.sendall(head)
                if s.recv(64).startswith(b"HTTP/1.1 4"):
                    counts[i] += 1
            except OSError:
                pass
            finally:
                s.close()
    ts = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(seconds + 30)
    return sum(counts)


def test_one_agents_refusals_cannot_fill_the_disk():
    """HIGH.  An agent with no network at all makes ~10,000 refused
    CONNECTs a second on its socket, each a record of ~650 bytes: 6.5
    MB/s, 23 GB an hour, no bound.  The disk fills, the writer dies, and
    from then on every audited action of everyone (an admin's `down` of
    that very agent included) is refused until qmsd restarts (below).
    One agent's records must be bounded (a rate, with what was dropped
    counted in a record)."""
    a = Sealed("127.0.0.1:1")
    try:
        size0 = os.path.getsize(log_path(a.d))
        answered = flood_refusals(a.path, 3)
        time.sleep(0.5)
        grown = os.path.getsize(log_path(a.d)) - size0
        assert answered > 0, "the refusals were answered"
        assert grown <= 1024 * 1024, (
            "3 s of one agent's refusals: %d answered, the log grew by %d "
            "bytes" % (answered, grown))
        chain_ok(log_path(a.d))
    finally:
        a.close()


def test_a_full_disk_does_not_end_the_trail_for_good():
    """HIGH.  The state directory's filesystem fills (an agent's records,
    above, or anything else): the writer dies on ENOSPC having written
    part of a line, so the chain is broken on disk for good, and qmsd
    refuses every audited action until it is restarted, however soon the
    space is back.  Once there is room again the log must go on, every
    line whole and chained."""
    mnt = tempfile.mkdtemp(prefix="qmsd-red-full.")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700",
                    "tmpfs", mnt], check=True)
    d = None
    try:
        state = os.path.join(mnt, "state")
        d = Daemon(config='[agent "%s"]\negress = 127.0.0.1:1\n[qmsd]\n'
                   'state-dir = %s\n' % (AGENT, state))
        path = os.path.join(state, "agents", AGENT, "link", "qmsd.sock")
        ballast = os.path.join(mnt, "ballast")
        vfs = os.statvfs(mnt)
        with open(ballast, "wb") as f:
            try:
                f.write(b"\0" * (vfs.f_bavail * vfs.f_frsize - 16384))
            except OSError:
                pass
        deadline = time.monotonic() + 60
        while component(d, "audit")["state"] != "failed":
            assert time.monotonic() < deadline, "the disk never filled"
            flood_refusals(path, 0.2, threads=2)
        os.unlink(ballast)
        deadline = time.monotonic() + 15
        while True:
            rc, out, err = d.ctl("reload")
            if rc == 0:
                break
            assert time.monotonic() < deadline, (
                "room again, and still: " + err.strip())
            time.sleep(0.5)
        with open(os.path.join(state, "audit.log"), "rb") as f:
            data = f.read()
        lines = data.split(b"\n")[:-1]
        assert data.endswith(b"\n"), "a line cut by the full disk"
        prev = GENESIS
        for i, l in enumerate(lines):
            r = json.loads(l)
            eq((r["seq"], r["prev"]), (i + 1, prev), "record %d" % (i + 1))
            prev = hashlib.sha256(l).hexdigest()
    finally:
        if d is not None:
            d.close()
        subprocess.run(["umount", "-l", mnt])
        shutil.rmtree(mnt, ignore_errors=True)


# ---- the control socket ----

def test_a_half_closed_client_gets_its_admin_answer():
    """MEDIUM.  docs/control-protocol.md: a client may shut down its
    sending side after its last request (nc -N, socat at end of input)
    and qmsd still sends what it owes.  An admin method is now deferred
    until its record is on disk, and the end of input frees the client
    first: the method never runs, no answer comes, and the log holds a
    record of an action that was not done."""
    d = Daemon(config="")
    try:
        for method in ("mcp-config", "reload"):
            s = d.connect()
            s.sendall((json.dumps({"jsonrpc": "2.0", "id": 1,
                                   "method": method}) + "\n").encode())
            s.shutdown(socket.SHUT_WR)
            got = b""
            while True:
                b = s.recv(65536)
                if not b:
                    break
                got += b
            s.close()
            assert b'"result"' in got, "%s, half-closed: %r" % (method, got)
    finally:
        d.close()


def test_many_admin_calls_then_gone():
    """A guard: 2,000 admin calls pipelined, the client gone at once:
    qmsd lives, the chain holds, and an admin's next call is answered."""
    d = Daemon(config="")
    try:
        s = d.connect()
        s.sendall("".join(json.dumps({"jsonrpc": "2.0", "id": i,
                                      "method": "reload"}) + "\n"
                          for i in range(2000)).encode())
        s.close()
        time.sleep(1)
        assert d.alive(), "qmsd died"
        eq(d.ctl("mcp-config")[0], 0, "answered after")
        chain_ok(log_path(d))
    finally:
        d.close()


def test_the_log_is_readable_while_it_cannot_be_written():
    """MEDIUM.  `audit` is an admin method, recorded before it runs: when
    the log cannot be written, reading it (to see what happened) is
    refused too, just when it is needed."""
    d = Daemon(config="")
    try:
        kill_writer(d)
        r = d.rpc("audit")
        assert "result" in r, "reading the log: %r" % r
    finally:
        d.close()


# ---- the console ----

def test_a_console_terminal_is_recorded():
    """HIGH.  The console's terminal is `qmsctl session` from a browser:
    it brings the agent up and types into it.  `session` on the control
    socket is recorded; the terminal is not recorded at all.  Opening it
    must leave a record (before the session starts, as for every other
    admin action, even one that then fails: docker is away here)."""
    from test_console_auth import login
    from test_console_terminal import WS
    d = Daemon(config='[agent "claude"]\nimage = none:latest\n')
    try:
        cookie = login(d)
        before = len(of_kind(d, "admin"))
        w = WS(d, "claude", cookie)
        eq(w.status, 101, "the terminal opened")
        deadline = time.time() + 10
        while w.closed is None and time.time() < deadline:
            try:
                w.frame(timeout=1)
            except (socket.timeout, EOFError):
                break
        w.s.close()
        got = [r for r in of_kind(d, "admin")[before:]
               if r.get("agent") == "claude"]
        assert got, "no record of the terminal: %r" % records(d)[-3:]
    finally:
        d.close()


def test_a_console_terminal_starts_once_recorded():
    """A guard (console-terminal.c): the terminal's record names the
    console session as its other actions' do, and its session does not
    start (here it would fail at once: docker is away) while the record
    is not on disk; a record that cannot be written closes the terminal
    with why, nothing started."""
    from test_console_auth import login
    from test_console_terminal import WS
    d = Daemon(config='[agent "claude"]\nimage = none:latest\n')

    def frames(w, seconds):
        deadline = time.time() + seconds
        while w.closed is None and time.time() < deadline:
            try:
                w.frame(timeout=max(0.1, deadline - time.time()))
            except socket.timeout:
                pass
            except EOFError:
                break
    try:
        cookie = login(d)
        with writer_stopped(d):
            w = WS(d, "claude", cookie)
            eq(w.status, 101, "the terminal opened")
            frames(w, 1.5)
            eq((w.texts, w.closed), ([], None), "the session began before "
               "its record was on disk")
        frames(w, 20)
        w.s.close()
        assert w.closed is not None and any("error" in t for t in w.texts), (
            "the session tried, once recorded: %r %r" % (w.texts, w.closed))
        got = of_kind(d, "admin", method="terminal", agent="claude")
        eq(len(got), 1, "one record")
        eq(got[0]["via"], "console", "via")
        assert len(got[0]["session"]) == 12 and "uid" not in got[0], got[0]
        kill_writer(d)
        w = WS(d, "claude", cookie)
        eq(w.status, 101, "the terminal opened")
        frames(w, 20)
        w.s.close()
        contains(json.dumps(w.texts), "could not record", "why")
        eq(w.closed, 1011, "closed")
    finally:
        d.close()


def test_stopping_with_answers_held_for_the_disk():
    """A git answer held for its record when qmsd is told to stop (a slow
    disk, a full one): qmsd answers it and stops cleanly, never with a
    request still suspended in libmicrohttpd (which aborts)."""
    from test_git import Env
    e = Env()
    try:
        got = []

        def call():
            try:
                got.append(e.git_exec("status"))
            except (OSError, http.client.HTTPException) as x:
                got.append(x)       # no answer: qmsd went
        with writer_stopped(e.d):
            t = threading.Thread(target=call, daemon=True)
            t.start()
            time.sleep(1)
            rc = e.d.stop(timeout=30)
        t.join(10)
        eq(rc, 0, "qmsd's exit status: " + e.d.log()[-2000:])
        assert "panic" not in e.d.log().lower(), e.d.log()[-2000:]
    finally:
        e.close()


# ---- the writer and its file ----

def test_the_writer_holds_nothing_else():
    """A guard: the writer child holds the log, its socket to qmsd and
    the standard descriptors, nothing of qmsd's (no listener, no token,
    no Docker socket), and is not stopped by a signal sent to the
    service's group."""
    g = Gateway()
    try:
        g.ready()
        pid = writer_pid(g.d)
        held = {}
        for fd in os.listdir("/proc/%d/fd" % pid):
            held[int(fd)] = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        others = {fd: what for fd, what in held.items()
                  if fd > 2 and what != os.path.realpath(log_path(g.d))}
        eq(len(others), 1, "beyond the log, one socket: %r" % held)
        assert list(others.values())[0].startswith("socket:"), held
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            os.kill(pid, sig)
        time.sleep(0.3)
        eq(writer_pid(g.d), pid, "the writer outlives a group's signals")
        eq(g.d.ctl("mcp-config")[0], 0, "and writes")
    finally:
        g.close()


def test_a_planted_log_is_refused():
    """A guard: a symlink or a FIFO where the log goes, or a file another
    user owns or others may read: qmsd refuses to start, and writes
    nothing through it."""
    for kind in ("symlink", "fifo", "mode", "owner"):
        top = tempfile.mkdtemp(prefix="qmsd-red-plant.")
        state = os.path.join(top, "state")
        os.mkdir(state, 0o700)
        target = os.path.join(top, "target")
        with open(target, "w") as f:
            f.write("untouched\n")
        log = os.path.join(state, "audit.log")
        if kind == "symlink":
            os.symlink(target, log)
        elif kind == "fifo":
            os.mkfifo(log, 0o600)
        else:
            with open(log, "w"):
                pass
            os.chmod(log, 0o644 if kind == "mode" else 0o600)
            if kind == "owner":
                os.chown(log, 65534, 65534)
        d = Daemon(config="[qmsd]\nstate-dir = %s\n" % state, wait=False)
        try:
            try:
                rc = d.proc.wait(10)
            except subprocess.TimeoutExpired:
                rc = None
            assert rc not in (None, 0), "%s: qmsd ran" % kind
            contains(d.log(), "audit", kind)
            with open(target) as f:
                eq(f.read(), "untouched\n", kind)
            if kind in ("mode", "owner"):
                eq(os.path.getsize(log), 0, kind)
        finally:
            d.close()
            shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    main(globals())
