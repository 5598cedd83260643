#!/usr/bin/env python3
"""Logging to the journal with structured fields when stderr is the journal.

systemd is not PID 1 here, so the test runs systemd-journald by hand (when
none runs) and connects qmsd's stderr to its stream socket the way systemd
does for a service, setting JOURNAL_STREAM to that socket's device:inode."""
import json
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmsdtest import (EVERYTHING, QMSD, Notify, contains, eq, free_port,
                      main, qmsctl)

JOURNALD = "/lib/systemd/systemd-journald"
STDOUT_SOCKET = "/run/systemd/journal/stdout"


def listening():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(STDOUT_SOCKET)
        return True
    except OSError:
        return False
    finally:
        s.close()


def journald():
    """A running journald; returns the process if we started it.  A socket
    left by one that has gone does not count: wait for a live one."""
    if listening():
        return None
    p = subprocess.Popen([JOURNALD], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    deadline = time.time() + 10
    while not listening():
        if time.time() > deadline or p.poll() is not None:
            raise AssertionError("systemd-journald did not start")
        time.sleep(0.05)
    return p


def journal_stream(identifier):
    """A stream to journald, set up as systemd sets one up for a unit."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(STDOUT_SOCKET)
    s.shutdown(socket.SHUT_RD)
    # identifier, unit id, priority, level prefix, syslog, kmsg, console
    s.sendall(("%s\n\n6\n0\n0\n0\n0\n" % identifier).encode())
    return s


def entries(match):
    out = subprocess.run(["journalctl", "--no-pager", "-o", "json",
                          "--all", match], capture_output=True,
                         text=True).stdout
    return [json.loads(l) for l in out.splitlines() if l.strip()]


def wait_entries(match, pred, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = [e for e in entries(match) if pred(e)]
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError("no journal entry for %s; have %s" %
                         (match, entries(match)[-5:]))


class JournaledQmsd:
    """A qmsd whose stderr is a journal stream, as under systemd."""

    def __init__(self, config):
        self.jd = journald()
        self.tmp = tmp = "/tmp/qmsd-journal-%d" % os.getpid()
        os.makedirs(tmp + "/repo", exist_ok=True)
        conf = os.path.join(tmp, "qmsd.conf")
        with open(conf, "w") as f:
            f.write("[qmsd]\nstate-dir = %s/state\n[http]\nlisten = "
                    "127.0.0.1:%d\n" % (tmp, free_port()))
            f.write(config)
        self.sock = os.path.join(tmp, "qmsd.sock")
        self.ident = "qmsd-test-%d" % os.getpid()
        self.stream = journal_stream(self.ident)
        st = os.fstat(self.stream.fileno())
        self.notify = Notify(os.path.join(tmp, "notify"))
        env = dict(os.environ, JOURNAL_STREAM="%d:%d" % (st.st_dev,
                                                         st.st_ino),
                   NOTIFY_SOCKET=self.notify.path)
        self.p = subprocess.Popen([QMSD, "-f", "-S", self.sock, "-c", conf],
                                  cwd=tmp + "/repo", env=env,
                                  stdin=subprocess.DEVNULL,
                                  stdout=self.stream.fileno(),
                                  stderr=self.stream.fileno())
        self.notify.wait_for("READY=1")
        self.pid = str(self.p.pid)

    def close(self):
        self.p.terminate()
        self.p.wait(20)
        self.stream.close()
        self.notify.close()
        if self.jd is not None:
            self.jd.terminate()
            self.jd.wait(10)
        subprocess.run(["rm", "-rf", self.tmp])


def test_structured_fields():
    # One test, one qmsd: a journald this file starts is stopped at its
    # end, which a second test running alongside would not survive.
    port, listed = free_port(), free_port()
    q = JournaledQmsd("[qms-mcp]\nenabled = yes\ncommand = node %s "
                      "streamableHttp\nworkdir = /tmp\nenvironment = "
                      "PORT=%d\nurl = http://127.0.0.1:%d/mcp\n"
                      '[agent "jrnl"]\nimage = none:latest\n'
                      'egress = 127.0.0.1:%d\n'
                      % (EVERYTHING, port, port, listed))
    try:
        pid = q.pid
        # qmsd's own messages: sd_journal_send, with a priority
        ready = wait_entries("_PID=" + pid, lambda e:
                             "ready: project" in e.get("MESSAGE", ""))
        eq(ready[0]["PRIORITY"], "6", "info priority")
        # the child's output, tagged with its component and stream
        lines = wait_entries("QMSD_COMPONENT=qms-mcp", lambda e:
                             e.get("_PID") == pid and "listening on port"
                             in e.get("MESSAGE", ""))
        eq(lines[0]["QMSD_STREAM"], "stderr", "stream field")
        # and nothing went to the stream as plain text
        eq(entries("SYSLOG_IDENTIFIER=" + q.ident), [], "plain stderr lines")
        # the child answers its handshake a moment after it says it listens
        # (health as a whole is critical: the agent has no Docker here)
        deadline = time.time() + 30
        while True:
            rc, out, err = qmsctl("-S", q.sock, "status", "--json")
            state = [c["state"] for c in json.loads(out)["components"]
                     if c["name"] == "qms-mcp"]
            if state == ["ready"] or time.time() > deadline:
                break
            time.sleep(0.1)
        eq(state, ["ready"], "qms-mcp: " + out)
        egress_entry(q)
    finally:
        q.close()


def egress_entry(q):
    """A refusal of the egress proxy (issue 15) on an agent's socket: one
    entry with the audit's fields."""
    refused = free_port()
    path = os.path.join(q.tmp, "state", "agents", "jrnl", "link",
                        "qmsd.sock")
    deadline = time.time() + 20
    while not os.path.exists(path) and time.time() < deadline:
        time.sleep(0.05)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    s.sendall(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\n" % refused)
    contains(s.recv(65536).decode("latin-1"), " 403 ", "refused")
    s.close()
    e = wait_entries("QMSD_COMPONENT=egress", lambda e:
                     e.get("_PID") == q.pid)[0]
    target = "127.0.0.1:%d" % refused
    eq((e["PRIORITY"], e["QMSD_AGENT"], e["QMSD_EGRESS_EVENT"],
        e["QMSD_EGRESS_METHOD"], e["QMSD_EGRESS_TARGET"],
        e["QMSD_EGRESS_STATUS"], e["QMSD_EGRESS_RULE"],
        e["QMSD_EGRESS_BYTES_UP"], e["QMSD_EGRESS_BYTES_DOWN"]),
       ("6", "jrnl", "denied", "CONNECT", target, "403", "not-listed",
        "0", "0"), "the fields")
    eq("QMSD_EGRESS_ADDRESS" in e, False, "no address: none connected")
    contains(e["QMSD_EGRESS_REASON"], target, "the reason")
    contains(e["MESSAGE"], "jrnl: denied CONNECT %s -> 403 by "
             "not-listed" % target, "the message")
    int(e["QMSD_EGRESS_DURATION_MS"])


if __name__ == "__main__":
    main(globals())
