"""Helpers for qmsd's integration tests.

Each test file defines functions named test_*; `python3 FILE NAME` runs one,
`python3 FILE --list` lists them (meson registers each as its own test).
Every daemon a test starts gets a private socket, a private directory and its
own NOTIFY_SOCKET, and the test waits for READY=1 rather than sleeping.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

QMSD = os.environ.get("QMSD", "build/daemon/qmsd")
QMSCTL = os.environ.get("QMSCTL", "build/client/qmsctl")


class Notify:
    """A NOTIFY_SOCKET datagram socket, as systemd would hold it."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.messages = []

    def wait_for(self, key, timeout=10.0):
        """Wait for a message holding KEY=...; return it."""
        for m in self.messages:
            if m.startswith(key):
                self.messages.remove(m)
                return m
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = self.sock.recv(4096).decode()
            except socket.timeout:
                break
            lines = data.split("\n")
            found = None
            for line in lines:
                if found is None and line.startswith(key):
                    found = line
                elif line:
                    self.messages.append(line)
            if found is not None:
                return found
        raise AssertionError(f"no {key} from qmsd within {timeout}s; "
                             f"saw {self.messages}")

    def drain(self):
        self.sock.settimeout(0.0)
        try:
            while True:
                for line in self.sock.recv(4096).decode().split("\n"):
                    if line:
                        self.messages.append(line)
        except (BlockingIOError, socket.timeout):
            pass

    def close(self):
        self.sock.close()


class Daemon:
    def __init__(self, config=None, args=(), env=None, wait=True,
                 project=None, preexec=None, watchdog_usec=None):
        self.dir = tempfile.mkdtemp(prefix="qmsd-test.")
        os.chmod(self.dir, 0o755)
        self.socket = os.path.join(self.dir, "qmsd.sock")
        self.project = project or os.path.join(self.dir, "repo")
        os.makedirs(self.project, exist_ok=True)
        self.config = None
        if config is not None:
            self.config = os.path.join(self.dir, "qmsd.conf")
            self.write_config(config)
        self.notify = Notify(os.path.join(self.dir, "notify"))
        e = dict(os.environ)
        e["NOTIFY_SOCKET"] = self.notify.path
        for k in ("LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES",
                  "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM"):
            e.pop(k, None)
        if watchdog_usec is not None:
            e["WATCHDOG_USEC"] = str(watchdog_usec)
        if env:
            e.update(env)
        self.stderr_path = os.path.join(self.dir, "stderr")
        self.stderr = open(self.stderr_path, "w")
        cmd = self.command(args)
        self.proc = subprocess.Popen(cmd, cwd=self.project, env=e,
                                     stdin=subprocess.DEVNULL,
                                     stdout=self.stderr, stderr=self.stderr,
                                     preexec_fn=preexec)
        if wait:
            self.wait_ready()

    def command(self, args):
        cmd = [QMSD, "-f", "-S", self.socket]
        if self.config is not None:
            cmd += ["-c", self.config]
        return cmd + list(args)

    def write_config(self, text):
        text = text.replace("{project}", self.project)
        text = text.replace("{dir}", self.dir)
        with open(self.config, "w") as f:
            f.write(text)

    def wait_ready(self, timeout=10.0):
        try:
            self.notify.wait_for("READY=1", timeout)
        except AssertionError:
            raise AssertionError("qmsd did not become ready: " + self.log())

    def log(self):
        self.stderr.flush()
        with open(self.stderr_path) as f:
            return f.read()

    @property
    def pid(self):
        return self.proc.pid

    def threads(self):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("Threads:"):
                    return int(line.split()[1])
        raise AssertionError("no Threads: line")

    def ctl(self, *args, **kw):
        return qmsctl("-S", self.socket, *args, **kw)

    def rpc(self, method, params=None, id=1):
        """One request on a fresh connection; returns the decoded reply."""
        with self.connect() as s:
            return request(s, method, params, id)

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(self.socket)
        return s

    def alive(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("qmsd did not stop within %ds" % timeout)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.notify.close()
        self.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def qmsctl(*args, timeout=30, input=None, env=None, prefix=()):
    e = dict(os.environ)
    e.pop("QMSD_SOCKET", None)
    if env:
        e.update(env)
    p = subprocess.run(list(prefix) + [QMSCTL] + list(args),
                       capture_output=True, text=True, timeout=timeout,
                       input=input, env=e)
    return p.returncode, p.stdout, p.stderr


def readline(s):
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            raise AssertionError("connection closed; got %r" % buf)
        buf += chunk
    return buf


def request(s, method, params=None, id=1):
    msg = {"jsonrpc": "2.0", "id": id, "method": method}
    if params is not None:
        msg["params"] = params
    s.sendall((json.dumps(msg) + "\n").encode())
    return json.loads(readline(s))


def eq(got, want, what=""):
    if got != want:
        raise AssertionError(f"{what}: got {got!r}, want {want!r}")


def contains(text, part, what=""):
    if part not in text:
        raise AssertionError(f"{what}: {part!r} not in {text!r}")


def main(ns):
    tests = sorted(k for k, v in ns.items()
                   if k.startswith("test_") and callable(v))
    if sys.argv[1:] == ["--list"]:
        print("\n".join(t[5:] for t in tests))
        return
    names = ["test_" + a for a in sys.argv[1:]] or tests
    failed = 0
    for name in names:
        try:
            ns[name]()
            print(f"ok {name}")
        except Exception:
            failed += 1
            print(f"FAIL {name}")
            traceback.print_exc()
    sys.exit(1 if failed else 0)
