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


def test_structured_fields():
    jd = journald()
    tmp = "/tmp/qmsd-journal-%d" % os.getpid()
    os.makedirs(tmp + "/repo", exist_ok=True)
    port = free_port()
    conf = os.path.join(tmp, "qmsd.conf")
    with open(conf, "w") as f:
        f.write("[qmsd]\nstate-dir = %s/state\n[http]\nlisten = "
                "127.0.0.1:%d\n" % (tmp, free_port()))
        f.write("[qms-mcp]\nenabled = yes\ncommand = node %s "
                "streamableHttp\nworkdir = /tmp\nenvironment = PORT=%d\n"
                "url = http://127.0.0.1:%d/mcp\n" % (EVERYTHING, port, port))
    sock = os.path.join(tmp, "qmsd.sock")
    ident = "qmsd-test-%d" % os.getpid()
    stream = journal_stream(ident)
    st = os.fstat(stream.fileno())
    notify = Notify(os.path.join(tmp, "notify"))
    env = dict(os.environ, JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino),
               NOTIFY_SOCKET=notify.path)
    p = subprocess.Popen([QMSD, "-f", "-S", sock, "-c", conf], cwd=tmp +
                         "/repo", env=env, stdin=subprocess.DEVNULL,
                         stdout=stream.fileno(), stderr=stream.fileno())
    try:
        notify.wait_for("READY=1")
        pid = str(p.pid)
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
        eq(entries("SYSLOG_IDENTIFIER=" + ident), [], "plain stderr lines")
        # the child answers its handshake a moment after it says it listens
        deadline = time.time() + 30
        while True:
            rc, out, err = qmsctl("-S", sock, "status")
            if rc == 0 or time.time() > deadline:
                break
            time.sleep(0.1)
        eq(rc, 0, "status: " + out)
    finally:
        p.terminate()
        p.wait(20)
        stream.close()
        notify.close()
        if jd is not None:
            jd.terminate()
            jd.wait(10)
        subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main(globals())
