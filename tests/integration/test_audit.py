#!/usr/bin/env python3
"""The audit trail (issue 19): one append-only, hash-chained log in the
state directory, each record on disk before the answer it records goes
out; qmsctl audit reads it, and --verify names the first record changed,
removed or reordered."""
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmsdtest import (QMSCTL, Daemon, component, contains, eq, main,
                      request, wait_state)
from test_egress import AGENT, Sealed, Upstream, read_head, refusal
from test_gateway import Gateway
from test_git import Env

GENESIS = "0" * 64


def log_path(d):
    return os.path.join(d.dir, "state", "audit.log")


def lines(d):
    with open(log_path(d), "rb") as f:
        return f.read().decode().splitlines()


def records(d):
    return [json.loads(l) for l in lines(d)]


def chain_ok(ls):
    """The chain checked here, apart from qmsctl's: seq from 1 without a
    gap, each prev the SHA-256 of the line before."""
    prev = GENESIS
    for i, l in enumerate(ls):
        r = json.loads(l)
        eq(list(r)[:4], ["seq", "time", "prev", "kind"], "leading members")
        eq(r["seq"], i + 1, "seq of line %d" % (i + 1))
        eq(r["prev"], prev, "prev of record %d" % r["seq"])
        prev = hashlib.sha256(l.encode()).hexdigest()
    return prev


def of_kind(d, kind, **match):
    return [r for r in records(d) if r["kind"] == kind and
            all(r.get(k) == v for k, v in match.items())]


def audit(d, *args, **kw):
    return d.ctl("audit", *args, **kw)


def test_admin_actions_are_recorded_before_they_run():
    """Who ran what on the control socket: method, uid, pid and the agent
    it names, on disk when the answer comes; read-only methods are not
    recorded."""
    d = Daemon(config='[agent "claude"]\nimage = none:latest\n')
    try:
        rc, out, err = d.ctl("reload")
        eq(rc, 0, "reload: " + err)
        # On disk before the answer: read at once, no waiting.
        got = of_kind(d, "admin", method="reload")
        eq(len(got), 1, "one reload record")
        eq(got[0]["uid"], os.getuid(), "by uid")
        assert got[0]["pid"] > 0, got[0]
        # Recorded before it runs: even one that then fails.
        rc, out, err = d.ctl("mcp-config", "claude")
        contains(err, "no token yet")
        eq(of_kind(d, "admin", method="mcp-config")[0].get("agent"),
           "claude", "the agent it names")
        for ro in ("status", "version", "ps"):
            d.ctl(ro)       # status: critical, docker being away
            eq(of_kind(d, "admin", method=ro), [], ro + " not recorded")
        eq(records(d)[0]["kind"], "qmsd", "the start first")
        eq(records(d)[0]["event"], "start", "the start first")
        chain_ok(lines(d))
        assert d.stop() == 0
        last = records(d)[-1]
        eq((last["kind"], last["event"]), ("qmsd", "stop"), "the stop last")
        chain_ok(lines(d))
        # The head went to the journal (stderr here) at start and stop.
        heads = re.findall(r"audit: log head at (start|stop): record (\d+) "
                           r"sha256 ([0-9a-f]{64})", d.log())
        eq([h[0] for h in heads], ["start", "stop"], "journalled heads")
        eq(int(heads[1][1]), last["seq"], "the stop's head seq")
        eq(heads[1][2], hashlib.sha256(lines(d)[-1].encode()).hexdigest(),
           "the stop's head hash")
        st = os.stat(log_path(d))
        eq(oct(st.st_mode & 0o777), "0o600", "mode")
        eq(st.st_uid, os.geteuid(), "qmsd's own")
    finally:
        d.close()


def test_git_calls_are_recorded_before_the_answer():
    e = Env()
    try:
        out, failed = e.git_exec("status")
        eq(failed, False, out)
        # Two records: allowed, before it ran; its outcome, before the
        # answer.
        got = of_kind(e.d, "git", command="status")
        eq([(r["caller"], r["verdict"], r["outcome"]) for r in got],
           [("host", "allowed", "starts"), ("host", "allowed", "exit 0")],
           "caller, verdict, outcome, on disk as the answer came")
        assert "agent" not in got[0], "the host is no agent"
        out, failed = e.git_exec("push --force origin main")
        eq(failed, True, out)
        got = of_kind(e.d, "git", verdict="denied")
        eq(len(got), 1, "a refusal is one record")
        assert got[0]["rule"], got[0]
        chain_ok(lines(e.d))
    finally:
        e.close()


def test_tool_calls_are_recorded_without_their_arguments():
    g = Gateway()
    try:
        g.ready()
        body = json.dumps({"jsonrpc": "2.0", "id": 7, "method":
                           "tools/call", "params": {
                               "name": "qms_read", "arguments": {
                                   "doc": "ARGUMENT-MARKER-31337"}}})
        eq(raw_post(g, body)[0], 200, "the call went on")
        got = of_kind(g.d, "tool", tool="qms_read")
        eq(len(got), 1, "recorded before it went on")
        eq((got[0]["caller"], got[0]["server"]), ("host", "qms"), "who")
        with open(log_path(g.d)) as f:
            assert "ARGUMENT-MARKER-31337" not in f.read(), "no arguments"
        eq(len(g.recorded("tools/call")), 1, "reached the server once")
        # Other methods are not tool calls: not recorded.
        eq(g.post("tools/list")[0], 200, "tools/list")
        eq(len(of_kind(g.d, "tool")), 1, "tools/list not recorded")
        chain_ok(lines(g.d))
    finally:
        g.close()


def raw_post(g, body):
    c = g.conn()
    c.request("POST", "/qms/mcp", body=body, headers={
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "Authorization": "Bearer " + g.token})
    r = c.getresponse()
    return r.status, r.read().decode()


def test_a_body_read_two_ways_is_refused():
    """What qmsd reads and what the QMS server reads must not differ: a
    tools/call hidden behind a second "method" (Python keeps the last,
    cJSON the first) or a body qmsd cannot parse never reaches the server
    unrecorded."""
    g = Gateway()
    try:
        g.ready()
        before = len(g.recorded("tools/call"))
        st, text = raw_post(g, '{"jsonrpc":"2.0","id":1,"method":"tools/'
                            'list","method":"tools/call","params":{"name":'
                            '"qms_read","arguments":{}}}')
        eq(st, 400, "a member given twice: " + text)
        contains(text, "given twice")
        st, text = raw_post(g, '{"jsonrpc":"2.0","id":1,"method":"tools/'
                            'call","params":{"name":"a","name":"qms_read"}}')
        eq(st, 400, "a name given twice: " + text)
        st, text = raw_post(g, '{"jsonrpc":"2.0","id":1,"method":"tools/c')
        eq(st, 400, "not JSON: " + text)
        contains(text, "-32700")
        time.sleep(0.3)
        eq(len(g.recorded("tools/call")), before, "none reached the server")
        eq(of_kind(g.d, "tool"), [], "and none is recorded as made")
        # A batch: each call in it is recorded.
        st, text = raw_post(g, json.dumps([
            {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
             "params": {"name": "t1", "arguments": {}}},
            {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
             "params": {"name": "t2", "arguments": {}}}]))
        eq(sorted(r["tool"] for r in of_kind(g.d, "tool")), ["t1", "t2"],
           "a batch's calls")
    finally:
        g.close()


def test_egress_decisions_are_recorded_before_the_answer():
    up = Upstream("echo")
    a = Sealed("127.0.0.1:%d" % up.port)
    try:
        head, s = a.ask(b"CONNECT 127.0.0.1:9 HTTP/1.1\r\n\r\n")
        contains(head, "403", "refused")
        got = of_kind(a.d, "egress", event="denied")
        eq(len(got), 1, "the refusal on disk as it came")
        eq((got[0]["agent"], got[0]["target"], got[0]["status"]),
           (AGENT, "127.0.0.1:9", 403), "whose, where, what")
        s.close()
        head, s = a.ask(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\n" % up.port)
        contains(head, "200", "allowed")
        got = of_kind(a.d, "egress", event="open")
        eq(len(got), 1, "the open on disk before the 200 came")
        s.sendall(b"ping")
        eq(s.recv(4), b"ping", "the tunnel works")
        s.close()
        deadline = time.monotonic() + 10
        while not of_kind(a.d, "egress", event="closed"):
            assert time.monotonic() < deadline, "the close is recorded"
            time.sleep(0.05)
        chain_ok(lines(a.d))
    finally:
        a.close()
        up.close()


def test_read_and_filtered():
    """qmsctl audit reads it; --agent and --since keep what they say;
    --json gives the lines as they are."""
    up = Upstream("echo")
    a = Sealed("127.0.0.1:%d" % up.port)
    try:
        head, s = a.ask(b"CONNECT 127.0.0.1:9 HTTP/1.1\r\n\r\n")
        s.close()
        eq(a.d.ctl("reload")[0], 0, "reload")
        rc, out, err = audit(a.d, "--json")
        eq(rc, 0, err)
        got = [json.loads(l) for l in out.splitlines()]
        assert [r["kind"] for r in got][:1] == ["qmsd"], got
        assert any(r["kind"] == "egress" for r in got), got
        eq(out.splitlines()[:len(lines(a.d)) - 1], lines(a.d)[:-1],
           "the lines as they are")
        rc, out, err = audit(a.d, "--json", "--agent", AGENT)
        eq(rc, 0, err)
        got = [json.loads(l) for l in out.splitlines()]
        assert got and all(r.get("agent") == AGENT for r in got), got
        rc, out, err = audit(a.d)
        eq(rc, 0, err)
        contains(out, "egress")
        contains(out, "reload")
        rc, out, err = audit(a.d, "--json", "--since", "2999-01-01")
        eq((rc, out), (0, ""), "nothing after then: " + err)
        rc, out, err = audit(a.d, "--json", "--since", "10m")
        eq(rc, 0, err)
        assert len(out.splitlines()) >= 3, out
        rc, out, err = audit(a.d, "--since", "yesterday-ish")
        assert rc != 0 and err, (rc, err)
    finally:
        a.close()
        up.close()


def test_follow():
    d = Daemon(config="")
    try:
        p = subprocess.Popen([QMSCTL, "-S", d.socket, "audit", "-f",
                              "--json"], stdout=subprocess.PIPE, text=True)
        try:
            first = json.loads(p.stdout.readline())
            eq(first["seq"], 1, "from the start")
            eq(d.ctl("reload")[0], 0, "reload")
            seen = []
            while not any(r.get("method") == "reload" for r in seen):
                seen.append(json.loads(p.stdout.readline()))
            seqs = [first["seq"]] + [r["seq"] for r in seen]
            eq(seqs, list(range(1, len(seqs) + 1)), "each once, in order")
        finally:
            p.kill()
            p.wait()
    finally:
        d.close()


def verify(d, *args):
    rc, out, err = audit(d, "--verify", *args)
    return rc, (out + err).strip()


def rewrite(d, new):
    """The log's contents replaced in place (the writer's descriptor stays
    on the same file)."""
    with open(log_path(d), "r+b") as f:
        f.seek(0)
        f.write(new)
        f.truncate()


def test_verify_names_the_spot():
    d = Daemon(config="")
    try:
        for _ in range(12):
            eq(d.ctl("mcp-config")[0], 0, "mcp-config")
        rc, text = verify(d)
        eq(rc, 0, text)
        contains(text, "intact")

        def tampered(change, want):
            with open(log_path(d), "rb") as f:
                orig = f.read()
            bad = change(orig.decode().splitlines(True))
            rewrite(d, "".join(bad).encode())
            rc, text = verify(d)
            # What the verify itself appended stays; the rest comes back.
            with open(log_path(d), "rb") as f:
                now = f.read()
            rewrite(d, orig + now[len("".join(bad).encode()):])
            eq(rc, 1, "%s: %s" % (want, text))
            assert re.search(want, text), (want, text)
            rc2, text2 = verify(d)
            eq(rc2, 0, "restored: " + text2)

        def edit(ls):
            r = json.loads(ls[4])
            r["method"] = "reload"
            ls[4] = json.dumps(r, separators=(",", ":")) + "\n"
            return ls
        tampered(edit, r"record 5\b.*changed")
        tampered(lambda ls: ls[:6] + ls[7:], r"record 7\b.*removed")
        tampered(lambda ls: ls[:7] + [ls[8], ls[7]] + ls[9:],
                 r"record (8|9)\b.*(out of order|order)")
        tampered(lambda ls: ls[1:], r"record 1\b")
        # The last ones cut off: qmsd's head says what is missing.
        tampered(lambda ls: ls[:-3], r"truncated|removed")

        def edit_last(ls):
            ls[-1] = ls[-1].replace('"kind":"admin"', '"kind":"admin",'
                                    '"x":1')
            return ls
        tampered(edit_last, r"changed")
    finally:
        d.close()


def test_truncated_while_stopped_is_seen_by_the_journalled_head():
    """Cut while qmsd was stopped, the chain goes on from the cut and
    qmsd cannot tell; the head it journalled at its stop can."""
    d = Daemon(config="")
    state = os.path.join(d.dir, "state")
    d2 = None
    try:
        for _ in range(5):
            eq(d.ctl("mcp-config")[0], 0, "mcp-config")
        eq(d.stop(), 0, "stopped")
        seq, h = re.findall(r"log head at stop: record (\d+) sha256 "
                            r"([0-9a-f]{64})", d.log())[-1]
        ls = lines(d)
        with open(log_path(d), "w") as f:
            f.write("".join(l + "\n" for l in ls[:-3]))
        d2 = Daemon(config="[qmsd]\nstate-dir = %s\n" % state)
        rc, text = verify(d2)
        eq(rc, 0, "a cut while stopped is a chain still: " + text)
        rc, text = verify(d2, "--head", "%s:%s" % (seq, h))
        eq(rc, 1, text)
        # The head's record is not there as it was: missing, or its seq
        # made anew by the records since.
        contains(text, "record %s" % seq)
        contains(text, "the head given")
        # The head of a log that was not cut is found.
        d2.stop()
        seq2, h2 = re.findall(r"log head at stop: record (\d+) sha256 "
                              r"([0-9a-f]{64})", d2.log())[-1]
        d3 = Daemon(config="[qmsd]\nstate-dir = %s\n" % state)
        try:
            rc, text = verify(d3, "--head", "%s:%s" % (seq2, h2))
            eq(rc, 0, text)
        finally:
            d3.close()
    finally:
        d.close()
        if d2 is not None:
            d2.close()


def test_a_line_cut_short_is_ended_and_named():
    """A crash in the middle of a write leaves half a line: the next
    start ends it and goes on, and --verify names it."""
    d = Daemon(config="")
    state = os.path.join(d.dir, "state")
    try:
        eq(d.ctl("mcp-config")[0], 0, "mcp-config")
        d.stop()
        n = len(lines(d))
        with open(log_path(d), "a") as f:
            f.write('{"seq":%d,"time":"2026-' % (n + 1))
        d2 = Daemon(config="[qmsd]\nstate-dir = %s\n" % state)
        try:
            contains(d2.log(), "cut short")
            eq(d2.ctl("mcp-config")[0], 0, "audited actions go on")
            rc, text = verify(d2)
            eq(rc, 1, text)
            contains(text, "line %d" % (n + 1))
            # Past the cut line, the chain holds: its bytes are hashed.
            after = lines(d)[n + 1:]      # d2 writes d's state
            eq(json.loads(after[0])["seq"], n + 2, "seq goes on")
        finally:
            d2.close()
    finally:
        d.close()


def test_without_its_writer_nothing_audited_happens():
    """The writer killed: audited actions are refused with why, qmsd
    lives on and says so in status, read-only ones still answer."""
    d = Daemon(config="")
    try:
        eq(d.ctl("mcp-config")[0], 0, "mcp-config")
        out = subprocess.run(["ps", "-e", "-o", "pid=,ppid=,comm="],
                             capture_output=True, text=True).stdout
        writer = [int(l.split()[0]) for l in out.splitlines()
                  if l.split()[1:] == [str(d.pid), "qmsd-audit"]]
        eq(len(writer), 1, "one writer, qmsd's child")
        os.kill(writer[0], signal.SIGKILL)
        wait_state(d, "audit", "failed")
        rc, out, err = d.ctl("mcp-config")
        eq(rc, 1, "refused")
        contains(err, "the audit log cannot be written")
        eq(d.ctl("status")[0], 2, "status: critical")
        assert d.alive()
        n = len(lines(d))
        eq(d.ctl("reload")[0], 1, "reload refused too")
        eq(len(lines(d)), n, "nothing more written")
    finally:
        d.close()


def test_not_for_others():
    """The log is qmsd's (0600) and qmsctl audit is for admins: another
    user reads neither."""
    d = Daemon(config="")
    try:
        os.chmod(d.dir, 0o755)
        os.chmod(d.socket, 0o666)
        p = subprocess.run([QMSCTL, "-S", d.socket, "audit"],
                           capture_output=True, text=True,
                           user="nobody", group="nogroup")
        assert p.returncode != 0, p
        contains(p.stderr.lower(), "permission denied")
        p = subprocess.run(["cat", log_path(d)], capture_output=True,
                           user="nobody", group="nogroup")
        assert p.returncode != 0, "nobody read it"
    finally:
        d.close()


def test_ten_thousand_audited_calls_verify_clean():
    """10,000 audited calls from 8 clients at once: every one recorded,
    in one chain, and the records share syncs."""
    d = Daemon(config="")
    try:
        per = 1250

        def client():
            with d.connect() as s:
                s.settimeout(120)
                msg = "".join(json.dumps({"jsonrpc": "2.0", "id": i,
                                          "method": "mcp-config"}) + "\n"
                              for i in range(per)).encode()
                s.sendall(msg)
                got, buf = 0, b""
                while got < per:
                    chunk = s.recv(1 << 16)
                    assert chunk, "closed after %d" % got
                    buf += chunk
                    got = buf.count(b"\n")
                for l in buf.splitlines():
                    assert b'"result"' in l, l[:200]
        ts = [threading.Thread(target=client) for _ in range(8)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(300)
        eq(len(of_kind(d, "admin", method="mcp-config")), 8 * per,
           "every call recorded")
        chain_ok(lines(d))
        rc, text = verify(d)
        eq(rc, 0, text)
        contains(text, "intact")
    finally:
        d.close()


if __name__ == "__main__":
    main(globals())
