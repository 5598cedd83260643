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
import threading
import time
import traceback

QMSD = os.path.abspath(os.environ.get("QMSD", "build/dev/daemon/qmsd"))
QMSCTL = os.path.abspath(os.environ.get("QMSCTL", "build/dev/client/qmsctl"))


class Notify:
    """A NOTIFY_SOCKET datagram socket, as systemd would hold it.

    A thread reads it all the time, as systemd does, so that qmsd never
    finds it full."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.messages = []
        self.cond = threading.Condition()
        self.closed = False
        self.thread = threading.Thread(target=self._reader, daemon=True)
        self.thread.start()

    def _reader(self):
        while True:
            try:
                data = self.sock.recv(4096).decode()
            except OSError:
                return
            if self.closed:
                return
            with self.cond:
                self.messages += [l for l in data.split("\n") if l]
                self.cond.notify_all()

    def wait_for(self, key, timeout=10.0):
        """Wait for a message starting with KEY; consume it and those
        before it, and return it."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for i, m in enumerate(self.messages):
                    if m.startswith(key):
                        del self.messages[:i + 1]
                        return m
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {key} from qmsd within "
                                         f"{timeout}s; saw {self.messages}")
                self.cond.wait(left)

    def take(self):
        """Everything received so far."""
        with self.cond:
            got, self.messages = self.messages, []
            return got

    def close(self):
        # Wake the reader and let it end before the descriptor goes:
        # closed under a recv() about to start, its number could be a
        # new daemon's notify socket by then, and the reader would take
        # that daemon's READY=1.
        self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.thread.join(10)
        self.sock.close()


class Daemon:
    def __init__(self, config=None, args=(), env=None, wait=True,
                 project=None, preexec=None, watchdog_usec=None,
                 builtin=False):
        self.dir = tempfile.mkdtemp(prefix="qmsd-test.")
        os.chmod(self.dir, 0o755)
        self.socket = os.path.join(self.dir, "qmsd.sock")
        self.project = project or os.path.join(self.dir, "repo")
        os.makedirs(self.project, exist_ok=True)
        self.config = None
        self.http_port = None
        # Every daemon gets its own state directory and HTTP port, so that
        # tests can run side by side; builtin=True runs with none of that.
        if not builtin:
            self.config = os.path.join(self.dir, "qmsd.conf")
            self.write_config(config or "")
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
        # appended, so that the test's own lines keep their numbers
        if "state-dir" not in text:
            text += "\n[qmsd]\nstate-dir = %s/state\n" % self.dir
        if "listen" not in text:
            if self.http_port is None:
                self.http_port = free_port()
            text += "[http]\nlisten = 127.0.0.1:%d\n" % self.http_port
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
        s.connect(self.socket)      # blocking: waits out a full backlog
        s.settimeout(10)
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


_ports_given = set()


def free_port():
    """A loopback port free now, never one given already in this process:
    a test that asks for two (qmsd's listener and a peer's) must not get
    the same twice, which the kernel may hand out again once closed."""
    while True:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        if port not in _ports_given:
            _ports_given.add(port)
            return port


NODE_MODULES = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                            "..", "node", "node_modules")
EVERYTHING = os.path.join(NODE_MODULES, "@modelcontextprotocol",
                          "server-everything", "dist", "index.js")


def component(d, name):
    """The status row of one component."""
    for c in d.rpc("status")["result"]["components"]:
        if c["name"] == name:
            return c
    raise AssertionError("no component " + name)


def wait_state(d, name, states, timeout=30, cond=None):
    """Poll status until NAME is in one of STATES (and cond(row) holds)."""
    if isinstance(states, str):
        states = (states,)
    deadline = time.monotonic() + timeout
    row = None
    while time.monotonic() < deadline:
        row = component(d, name)
        if row["state"] in states and (cond is None or cond(row)):
            return row
        time.sleep(0.05)
    raise AssertionError(f"{name} never reached {states}: {row}\n"
                         + d.log()[-3000:])


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
