#!/usr/bin/env python3
"""qmsd against its peers, in one run on one machine (issue 9).

Run by tests/bench/run.sh, which installs and builds what this needs.
Writes tests/bench/RESULTS.md, tests/bench/results.json and
tests/bench/plots/*.png.  Benchmarks are never part of the pass/fail suite:
every goal here is a ratio to a peer measured in the same run, reported as
met or missed, never asserted.

  bench.py [--quick] [--only git,protocol,control,session,gateway,egress,mail,
                             terminal,intercept,audit]

--quick runs every benchmark with small counts (for trying the script out);
--only runs some of them (RESULTS.md then has only those; memory is
measured in every run, under whatever load the others make).
"""
import argparse
import datetime
import http.client
import json
import os
import platform
import pty
import re
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, "..", ".."))
BUILD = os.environ.get("BENCH_BUILD", os.path.join(TOP, "build", "bench"))
os.environ.setdefault("QMSD", os.path.join(BUILD, "daemon", "qmsd"))
os.environ.setdefault("QMSCTL", os.path.join(BUILD, "client", "qmsctl"))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
from qmsdtest import Daemon, QMSCTL, component, free_port  # noqa: E402

NODE_MODULES = os.path.join(HERE, "node_modules")
EVERYTHING = os.path.join(NODE_MODULES, "@modelcontextprotocol",
                          "server-everything", "dist", "index.js")
CYANHEADS = os.path.join(NODE_MODULES, "@cyanheads", "git-mcp-server",
                         "dist", "index.js")
LOADGEN = os.path.join(HERE, "loadgen.mjs")
WRK_SCRIPT = os.path.join(HERE, "post.lua")
IMAGE = os.environ.get("BENCH_IMAGE", "qms-agent-test:latest")
AGENT = "bench"
CONTAINER = "qms-agent-" + AGENT
PROTO = "2025-06-18"

INIT = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                   "params": {"protocolVersion": PROTO, "capabilities": {},
                              "clientInfo": {"name": "bench",
                                             "version": "1"}}})
INITIALIZED = json.dumps({"jsonrpc": "2.0",
                          "method": "notifications/initialized"})
TOOLS_LIST = json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
PING = json.dumps({"jsonrpc": "2.0", "id": 3, "method": "ping"})


def call(name, args, id=4):
    return json.dumps({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                       "params": {"name": name, "arguments": args}})


def log(*a):
    print("[bench %s]" % time.strftime("%H:%M:%S"), *a, flush=True)


# ---------------------------------------------------------------- numbers

def pct(xs, p):
    """The p-th percentile, nearest rank."""
    s = sorted(xs)
    if not s:
        return float("nan")
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def summary_ms(samples_us):
    ms = [x / 1000.0 for x in samples_us]
    return {"n": len(ms), "median": statistics.median(ms) if ms else None,
            "p99": pct(ms, 99) if ms else None,
            "min": min(ms) if ms else None, "mean":
            statistics.fmean(ms) if ms else None}


def loadgen(spec):
    p = subprocess.run(["node", LOADGEN], input=json.dumps(spec),
                       capture_output=True, text=True, timeout=900)
    try:
        r = json.loads(p.stdout)
    except ValueError:
        raise RuntimeError("loadgen failed: %s %s" % (p.stdout, p.stderr))
    if r["errors"]:
        raise RuntimeError("loadgen: %d errors, first: %s" %
                           (r["errors"], r["first_error"]))
    return r


SPAWN = None          # tests/bench/spawn.c, compiled by World
TUNNEL = None         # tests/bench/tunnel.c, compiled by World
TLS = None            # tests/bench/tls.c, compiled by World
CTL = None            # tests/bench/ctl.c, compiled by World


def spawnbench(argv, concurrency, count, warmup, cwd="/", any_exit=False):
    """ARGV run COUNT times by spawn.c, CONCURRENCY at a time."""
    p = subprocess.run([SPAWN] + (["-a"] if any_exit else []) +
                       [str(concurrency), str(count), str(warmup),
                        cwd] + list(argv), capture_output=True, text=True,
                       timeout=900)
    try:
        r = json.loads(p.stdout)
    except ValueError:
        raise RuntimeError("spawn failed: %s %s" % (p.stdout, p.stderr))
    if r["errors"]:
        raise RuntimeError("spawn %s: %d errors, first: %s" %
                           (argv, r["errors"], r["first_error"]))
    return r


def wrk(port, path, body, headers, seconds, conns=8):
    env = dict(os.environ, BENCH_BODY=body, BENCH_HEADERS="\n".join(
        "%s: %s" % kv for kv in headers.items()))
    p = subprocess.run(["wrk", "-t1", "-c%d" % conns, "-d%ds" % seconds,
                        "-s", WRK_SCRIPT,
                        "http://127.0.0.1:%d%s" % (port, path)],
                       capture_output=True, text=True, env=env,
                       timeout=seconds + 60)
    line = [l for l in p.stdout.splitlines() if l.startswith("{")]
    if not line:
        raise RuntimeError("wrk: %s %s" % (p.stdout, p.stderr))
    r = json.loads(line[-1])
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    bad = r["connect"] + r["read"] + r["write"] + r["status"] + r["timeout"]
    r["bad"] = bad
    if bad:
        raise RuntimeError("wrk: %d bad answers on %s: %s" % (bad, path, r))
    return r


class RSS:
    """Samples VmRSS of some processes while a load runs."""

    def __init__(self, pids, interval=0.02):
        self.pids = dict(pids)
        self.peak = {k: 0 for k in self.pids}
        self.stop_ev = threading.Event()
        self.t = threading.Thread(target=self._run, args=(interval,),
                                  daemon=True)

    def __enter__(self):
        self.t.start()
        return self

    def _run(self, interval):
        while not self.stop_ev.is_set():
            for k, pid in self.pids.items():
                self.peak[k] = max(self.peak[k], rss_kib(pid))
            self.stop_ev.wait(interval)

    def __exit__(self, *a):
        self.stop_ev.set()
        self.t.join()
        for k, pid in self.pids.items():
            self.peak[k] = max(self.peak[k], rss_kib(pid))


def proc_status(pid, key):
    if not pid:
        return 0
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_kib(pid):
    return proc_status(pid, "VmRSS")


def smaps_breakdown(pid, top=12):
    """Resident KiB per mapping (file, or [heap], [stack], anonymous)."""
    per = {}
    name = None
    try:
        with open("/proc/%d/smaps" % pid) as f:
            for line in f:
                if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                    parts = line.split(None, 5)
                    name = parts[5].strip() if len(parts) > 5 else \
                        "[anonymous]"
                elif line.startswith("Rss:"):
                    per[name] = per.get(name, 0) + int(line.split()[1])
    except OSError:
        return {}
    rows = sorted(((v, k) for k, v in per.items() if v), reverse=True)
    files = sum(v for k, v in per.items() if k.startswith("/"))
    return {"top": [(os.path.basename(k), v) for v, k in rows[:top]],
            "libraries": len([k for k in per if ".so" in k]),
            "file_kib": files, "total_kib": sum(per.values())}


# ---------------------------------------------------------------- fixtures

def make_repo(path, files=4000, commits=5000, seed=9):
    """A repository of FILES files in 200 directories and COMMITS commits,
    made with git fast-import, with a tree in progress: one staged change,
    four unstaged, three untracked files."""
    import random
    rnd = random.Random(seed)
    os.makedirs(path)
    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", HOME=path)
    subprocess.run(["git", "init", "-q", "-b", "main", path], check=True,
                   env=env)
    names = ["src/m%03d/f%04d.c" % (i % 200, i) for i in range(files)]
    p = subprocess.Popen(["git", "fast-import", "--quiet"], cwd=path,
                         stdin=subprocess.PIPE, env=env)
    w = p.stdin.write

    def data(b):
        w(b"data %d\n" % len(b))
        w(b)
        w(b"\n")
    for c in range(commits):
        w(b"commit refs/heads/main\n")
        w(b"committer Bench <bench@example.invalid> %d +0000\n"
          % (1700000000 + c * 600))
        data(b"change %d: touch a few files\n" % c)
        for n in (names if c == 0 else rnd.sample(names, 3)):
            w(b"M 100644 inline %s\n" % n.encode())
            data(("/* %s rev %d */\n" % (n, c)).encode() +
                 b"int x;\n" * rnd.randint(5, 40))
    p.stdin.close()
    if p.wait() != 0:
        raise RuntimeError("git fast-import failed")
    subprocess.run(["git", "checkout", "-q", "-f", "main"], cwd=path,
                   check=True, env=env)
    subprocess.run(["git", "gc", "-q"], cwd=path, check=True, env=env)
    for n in names[:5]:
        with open(os.path.join(path, n), "a") as f:
            f.write("// edited\n")
    subprocess.run(["git", "add", names[0]], cwd=path, check=True, env=env)
    for i in range(3):
        with open(os.path.join(path, "notes-%d.md" % i), "w") as f:
            f.write("draft\n")
    # what qmsd adds for the agent's container stays out of the status
    with open(os.path.join(path, ".git", "info", "exclude"), "a") as f:
        f.write(".mcp.json\n.claude/\n")
    # git status refreshes the index once; do it before anyone measures
    subprocess.run(["git", "status"], cwd=path, check=True,
                   capture_output=True, env=env)
    return len(names), commits


def docker(*args, check=True, timeout=120):
    p = subprocess.run(["docker"] + list(args), capture_output=True,
                       text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise RuntimeError("docker %s: %s" % (" ".join(args), p.stderr))
    return p


def wait_port(port, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing listens on port %d" % port)


class Peer:
    """A node MCP server of the comparison, run as it is documented."""

    def __init__(self, name, argv, env, cwd, logdir):
        self.name = name
        self.port = free_port()
        e = dict(os.environ)
        e.update({k: v.replace("{port}", str(self.port))
                  for k, v in env.items()})
        self.log = open(os.path.join(logdir, name + ".log"), "w")
        self.proc = subprocess.Popen(argv, cwd=cwd, env=e,
                                     stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=self.log)
        wait_port(self.port)

    @property
    def pid(self):
        return self.proc.pid

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def http_post(port, path, body, headers=None):
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    h = {"Content-Type": "application/json",
         "Accept": "application/json, text/event-stream"}
    h.update(headers or {})
    c.request("POST", path, body=body, headers=h)
    r = c.getresponse()
    text = r.read().decode()
    hdrs = {k.lower(): v for k, v in r.getheaders()}
    c.close()
    return r.status, hdrs, text


def mcp_session(port, path, headers=None):
    """initialize and notifications/initialized; the session's headers."""
    st, h, text = http_post(port, path, INIT, headers)
    if st != 200:
        raise RuntimeError("initialize on %d%s: %d %s" % (port, path, st,
                                                          text))
    out = dict(headers or {})
    if "mcp-session-id" in h:
        out["mcp-session-id"] = h["mcp-session-id"]
    out["MCP-Protocol-Version"] = PROTO
    http_post(port, path, INITIALIZED, out)
    return out


# ---------------------------------------------------------------- the world

class World:
    """qmsd with its child (server-everything) and an agent, the peers,
    and the repository they all work on."""

    def __init__(self, quick):
        self.quick = quick
        self.tmp = tempfile.mkdtemp(prefix="qmsd-bench.")
        os.chmod(self.tmp, 0o755)
        global SPAWN, TUNNEL, TLS, CTL
        SPAWN = os.path.join(self.tmp, "spawn")
        subprocess.run(["cc", "-O2", "-o", SPAWN,
                        os.path.join(HERE, "spawn.c")], check=True)
        TUNNEL = os.path.join(self.tmp, "tunnel")
        subprocess.run(["cc", "-O2", "-Wall", "-Wextra", "-Werror", "-o",
                        TUNNEL, os.path.join(HERE, "tunnel.c")], check=True)
        CTL = os.path.join(self.tmp, "ctl")
        subprocess.run(["cc", "-O2", "-Wall", "-Wextra", "-Werror", "-o",
                        CTL, os.path.join(HERE, "ctl.c")], check=True)
        TLS = os.path.join(self.tmp, "tls")
        subprocess.run(["cc", "-O2", "-Wall", "-Wextra", "-Werror", "-o",
                        TLS, os.path.join(HERE, "tls.c"), "-lssl",
                        "-lcrypto"], check=True)
        self.repo = os.path.join(self.tmp, "repo")
        t = time.monotonic()
        self.repo_files, self.repo_commits = make_repo(self.repo)
        log("repository: %d files, %d commits (%.1f s)" % (
            self.repo_files, self.repo_commits, time.monotonic() - t))
        self.child_port = free_port()
        conf = ("[qmsd]\nproject-root = %s\n"
                "[qms-mcp]\nenabled = yes\n"
                "command = node %s streamableHttp\nworkdir = /tmp\n"
                "environment = PORT=%d\nurl = http://127.0.0.1:%d/mcp\n"
                "stable-after = 1s\n"
                "[agent \"%s\"]\nimage = %s\nnetwork = host\n"
                "command = sh\n" % (self.repo, EVERYTHING, self.child_port,
                                    self.child_port, AGENT, IMAGE))
        self.conf = conf
        docker("rm", "-f", CONTAINER, check=False)
        self.d = Daemon(config=conf, project=self.repo)
        self.port = self.d.http_port
        with open(os.path.join(self.d.dir, "state", "host.token")) as f:
            self.token = f.read().strip()
        self.auth = {"Authorization": "Bearer " + self.token}
        self.peers = {}
        self.wait_child()

    def start_peers(self):
        logdir = self.tmp
        # @cyanheads/git-mcp-server over HTTP, as its README says
        # (MCP_TRANSPORT_TYPE=http), with the least logging it offers.
        self.peers["cyanheads"] = Peer(
            "cyanheads", ["node", CYANHEADS],
            {"MCP_TRANSPORT_TYPE": "http", "MCP_HTTP_HOST": "127.0.0.1",
             "MCP_HTTP_PORT": "{port}", "NODE_ENV": "production",
             "MCP_LOG_LEVEL": "warn", "LOGS_DIR": os.path.join(logdir,
                                                               "cy-logs"),
             "GIT_SIGN_COMMITS": "false"}, self.repo, logdir)
        # server-everything on its own, the reference MCP server
        self.peers["everything"] = Peer(
            "everything", ["node", EVERYTHING, "streamableHttp"],
            {"PORT": "{port}"}, "/tmp", logdir)

    def wait_child(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            row = component(self.d, "qms-mcp")
            if row["state"] == "ready":
                return row
            time.sleep(0.02)
        raise RuntimeError("qms-mcp never ready: %s" % row)

    def reconfigure(self, extra):
        """The configuration plus EXTRA, by qmsctl reload."""
        self.d.write_config(self.conf + extra)
        p = self.ctl("reload")
        if p.returncode != 0:
            raise RuntimeError("reload: " + p.stderr)

    def child_pid(self):
        return component(self.d, "qms-mcp")["pid"]

    def ctl(self, *args, timeout=300):
        p = subprocess.run([QMSCTL, "-S", self.d.socket] + list(args),
                           capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
        return p

    def up(self):
        p = self.ctl("up", AGENT)
        if p.returncode != 0:
            raise RuntimeError("qmsctl up: " + p.stderr)
        return p.stdout

    def close(self):
        for p in self.peers.values():
            p.close()
        self.d.close()
        docker("rm", "-f", CONTAINER, check=False)
        for v in ("qms-claude-config-", "qms-projects-"):
            docker("volume", "rm", "-f", v + AGENT, check=False)
        shutil.rmtree(self.tmp, ignore_errors=True)


# ---------------------------------------------------------------- 1. git

GIT_OPS = [
    # (label, qmsd git_exec command, cyanheads tool and arguments,
    #  plain git argv, what the peer's tool runs)
    ("status", "status", ("git_status", {}), ["git", "status"]),
    ("log --oneline -50", "log --oneline -50",
     ("git_log", {"maxCount": 50, "oneline": True}),
     ["git", "log", "--oneline", "-50"]),
]
# what @cyanheads/git-mcp-server 2.15.3 runs for those tools (its
# src/services/git/providers/cli/operations), measured as a floor too
PEER_GIT = {
    "status": ["git", "status", "--porcelain=v2", "-b"],
    "log --oneline -50": ["git", "log", "--format=<<<COMMIT_START>>>%H\x1f"
                          "%h\x1f%s<<<COMMIT_END>>>", "-n50"],
}


def bench_git(w, res):
    quick = w.quick
    concs = [1, 8, 32]
    cy = w.peers["cyanheads"]
    out = {"concurrency": concs, "ops": {}, "notes": {}}
    # the client's own floor: spawning /bin/true, and an HTTP round trip
    # that does nothing (qmsd's ping)
    n0 = 60 if quick else 500
    out["spawn_true"] = summary_ms(spawnbench(["/bin/true"], 1, n0, 20)[
        "samples_us"])
    out["node_spawn_true"] = summary_ms(loadgen({
        "kind": "spawn", "cmd": "/bin/true", "concurrency": 1,
        "count": n0, "warmup": 20})["samples_us"])
    out["http_ping"] = summary_ms(loadgen({
        "kind": "http", "port": w.port, "path": "/git/mcp",
        "headers": w.auth, "body": PING, "expect": '"result"',
        "concurrency": 1, "count": n0 * 4, "warmup": 50})["samples_us"])
    peak = {"qmsd": 0, "cyanheads": 0}
    for label, cmd, (tool, targs), argv in GIT_OPS:
        targs = dict(targs, path=w.repo)
        # check once that every side does the work
        st, _, text = http_post(w.port, "/git/mcp", call(
            "git_exec", {"command": cmd}), w.auth)
        assert st == 200 and '"isError":false' in text.replace(" ", ""), \
            text[:300]
        sess = mcp_session(cy.port, "/mcp")
        st, _, text = http_post(cy.port, "/mcp", call(tool, targs), sess)
        assert st == 200 and '"isError":true' not in text.replace(
            " ", ""), text[:300]
        rows = {}
        for c in concs:
            n = (40 if quick else 400) if c == 1 else \
                max(40 if quick else 400, (4 if quick else 25) * c)
            wu = max(5, c)
            specs = {
                "qmsd": {"kind": "http", "port": w.port,
                         "path": "/git/mcp", "headers": w.auth,
                         "body": call("git_exec", {"command": cmd}),
                         "expect": '"isError":false'},
                "cyanheads": {"kind": "http", "port": cy.port,
                              "path": "/mcp", "body": call(tool, targs),
                              "reject": '"isError":true',
                              "expect": '"result"',
                              "session": {"body": INIT,
                                          "notify": INITIALIZED}},
                "git": {"argv": argv},
                "git (peer's)": {"argv": PEER_GIT[label]},
            }
            # in rounds, every side in turn: a load that comes and goes
            # falls on all of them
            rounds = 1 if quick else 4
            samples = {side: [] for side in specs}
            secs = {side: 0.0 for side in specs}
            pids = {"qmsd": w.d.pid, "cyanheads": cy.pid}
            for _ in range(rounds):
                for side, spec in specs.items():
                    spec.update(concurrency=c, count=n // rounds, warmup=wu)
                    with RSS(pids) as m:
                        if "argv" in spec:
                            r = spawnbench(spec["argv"], c, n // rounds, wu,
                                           w.repo)
                        else:
                            r = loadgen(spec)
                    for k in peak:
                        peak[k] = max(peak[k], m.peak[k])
                    samples[side] += r["samples_us"]
                    secs[side] += r["measured_s"]
            for side in specs:
                s = summary_ms(samples[side])
                s["rps"] = len(samples[side]) / secs[side] \
                    if secs[side] else None
                rows.setdefault(side, {})[c] = s
                log("git %-18s c=%-2d %-13s median %7.2f ms  p99 %7.2f ms"
                    "  n=%d" % (label, c, side, s["median"], s["p99"],
                                s["n"]))
        # c=1 once more, call by call: qmsd and plain git alternately from
        # one client (http.client with keep-alive; spawn.c), so that the
        # median of the differences is qmsd's overhead alone
        pairs = []
        conn = http.client.HTTPConnection("127.0.0.1", w.port, timeout=60)
        hdr = dict(w.auth, **{"Content-Type": "application/json",
                              "Accept": "application/json"})
        body = call("git_exec", {"command": cmd})
        for i in range(30 if quick else 300):
            t0 = time.perf_counter()
            conn.request("POST", "/git/mcp", body=body, headers=hdr)
            resp = conn.getresponse()
            text = resp.read()
            tq = (time.perf_counter() - t0) * 1000
            assert b'"isError":false' in text, text[:300]
            tg = spawnbench(argv, 1, 1, 0, w.repo)["samples_us"][0] / 1000
            pairs.append((tq, tg))
        conn.close()
        diffs = [a - b for a, b in pairs]
        rows["paired"] = {"n": len(pairs),
                          "qmsd_median": statistics.median(a for a, _ in
                                                           pairs),
                          "git_median": statistics.median(b for _, b in
                                                          pairs),
                          "diff_median": statistics.median(diffs),
                          "diff_p99": pct(diffs, 99)}
        log("git %-18s c=1  paired: qmsd - git median %.2f ms, p99 %.2f ms"
            % (label, rows["paired"]["diff_median"],
               rows["paired"]["diff_p99"]))
        out["ops"][label] = rows
    # the same calls with qmsd's queue out of the way: as many git at once
    # as the client sends, as plain git and cyanheads have
    w.reconfigure("[git]\nmax-concurrent = 32\n")
    try:
        for label, cmd, _, _ in GIT_OPS:
            rows = out["ops"][label]
            for c in concs[1:]:
                n = max(40 if quick else 400, (4 if quick else 25) * c)
                with RSS({"qmsd": w.d.pid}) as m:
                    r = loadgen({
                        "kind": "http", "port": w.port, "path": "/git/mcp",
                        "headers": w.auth, "body": call(
                            "git_exec", {"command": cmd}),
                        "expect": '"isError":false', "concurrency": c,
                        "count": n, "warmup": max(5, c)})
                peak["qmsd"] = max(peak["qmsd"], m.peak["qmsd"])
                s = summary_ms(r["samples_us"])
                s["rps"] = len(r["samples_us"]) / r["measured_s"]
                rows.setdefault("qmsd, max-concurrent 32", {})[c] = s
                log("git %-18s c=%-2d %-13s median %7.2f ms  p99 %7.2f ms"
                    "  n=%d" % (label, c, "qmsd mc=32", s["median"],
                                s["p99"], s["n"]))
    finally:
        w.reconfigure("")
    out["peak_rss_kib"] = peak
    res["git"] = out


# ---------------------------------------------------------------- 2. protocol

def bench_protocol(w, res):
    secs = 2 if w.quick else 5
    ev = w.peers["everything"]
    cy = w.peers["cyanheads"]
    out = {"seconds": secs, "connections": 8, "rows": {}}
    pids = {"qmsd": w.d.pid, "everything": ev.pid, "cyanheads": cy.pid}
    peak = {k: 0 for k in pids}
    for method, body in (("tools/list", TOOLS_LIST), ("ping", PING),
                         ("initialize", INIT)):
        row = {}
        for side, port, path, hdr in (
                ("qmsd", w.port, "/git/mcp", w.auth),
                ("everything", ev.port, "/mcp", None),
                ("cyanheads", cy.port, "/mcp", None)):
            h = dict(hdr or {})
            if method != "initialize":
                # the peers are stateful: one session, as a client has
                h = mcp_session(port, path, h)
            st, _, text = http_post(port, path, body, h)
            assert st == 200 and '"result"' in text, (side, method, text)
            with RSS({side: pids[side]}) as m:
                r = wrk(port, path, body, h, secs)
            peak[side] = max(peak[side], m.peak[side])
            r["answer_bytes"] = len(text)
            row[side] = r
            log("protocol %-10s %-10s %9.0f req/s  p50 %6.2f ms  p99 "
                "%6.2f ms" % (method, side, r["rps"], r["p50_us"] / 1000,
                              r["p99_us"] / 1000))
        out["rows"][method] = row
    out["peak_rss_kib"] = peak
    res["protocol"] = out


# ---------------------------------------------------------------- 3. memory

def measure_idle(w, res, key):
    pids = {"qmsd": w.d.pid, "child": w.child_pid()}
    for k, p in w.peers.items():
        pids[k] = p.pid
    m = {k: rss_kib(p) for k, p in pids.items()}
    anon = {k: proc_status(p, "RssAnon") for k, p in pids.items()}
    res.setdefault("memory", {})[key] = m
    res["memory"][key + "_anon"] = anon
    log("memory %s: %s" % (key, ", ".join("%s %d KiB (anon %d)" % (
        k, m[k], anon[k]) for k in m)))


# ---------------------------------------------------------------- 4/5. control

def docker_api(method, path, body=None, upgrade=False):
    """One request to dockerd's socket (DOCKER_HOST); the status and the
    body (for an upgraded exec start: every byte until the end)."""
    sock = os.environ["DOCKER_HOST"][len("unix://"):]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock)
    data = json.dumps(body).encode() if body is not None else b""
    head = "%s /v1.41%s HTTP/1.1\r\nHost: docker\r\n" % (method, path)
    if body is not None:
        head += "Content-Type: application/json\r\nContent-Length: %d\r\n" \
            % len(data)
    if upgrade:
        head += "Connection: Upgrade\r\nUpgrade: tcp\r\n"
    else:
        head += "Connection: close\r\n"
    s.sendall(head.encode() + b"\r\n" + data)
    got = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
    s.close()
    status = int(got.split(b" ", 2)[1])
    body = got.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in got else b""
    if b"Transfer-Encoding: chunked" in got.split(b"\r\n\r\n", 1)[0]:
        out, rest = b"", body
        while rest:
            n, _, rest = rest.partition(b"\r\n")
            n = int(n, 16)
            if n == 0:
                break
            out, rest = out + rest[:n], rest[n + 2:]
        body = out
    return status, body


def api_exec(container, cmd, user):
    """docker exec through the Engine API alone: create, start (attached,
    upgraded), and the exit code; what qmsd and the docker CLI both do."""
    st, b = docker_api("POST", "/containers/%s/exec" % container, {
        "AttachStdout": True, "AttachStderr": True, "Cmd": cmd,
        "User": user, "WorkingDir": "/pipe-dream"})
    if st != 201:
        raise RuntimeError("exec create: %d %s" % (st, b))
    eid = json.loads(b)["Id"]
    st, _ = docker_api("POST", "/exec/%s/start" % eid, {"Detach": False,
                                                         "Tty": False},
                       upgrade=True)
    if st not in (101, 200):
        raise RuntimeError("exec start: %d" % st)
    st, b = docker_api("GET", "/exec/%s/json" % eid)
    code = json.loads(b)["ExitCode"]
    if code != 0:
        raise RuntimeError("exec exit code %s" % code)


def bench_control(w, res):
    quick = w.quick
    w.up()
    cont = json.loads(docker("inspect", CONTAINER).stdout)[0]
    user = cont["Config"]["User"] or "0:0"
    out = {"container_user": user}
    n = 20 if quick else 100
    p = w.ctl("status")
    assert p.returncode == 0 and "agent:" + AGENT in p.stdout, p.stdout
    assert json.loads(docker("inspect", CONTAINER).stdout)[0]["State"][
        "Running"]
    out["spawn_true"] = summary_ms(spawnbench(["/bin/true"], 1, n, 5)[
        "samples_us"])
    # qmsctl's own start: the same program, failing to connect at once
    out["qmsctl start"] = summary_ms(spawnbench(
        [QMSCTL, "-S", os.path.join(w.tmp, "none.sock"), "status"], 1, n,
        5, any_exit=True)["samples_us"])
    out["qmsctl_libraries"] = len([l for l in sh("ldd", QMSCTL).splitlines()
                                   if "=>" in l])
    specs = {
        "qmsctl status": [QMSCTL, "-S", w.d.socket, "status"],
        "qmsctl status --json": [QMSCTL, "-S", w.d.socket, "status",
                                 "--json"],
        "docker inspect": ["docker", "inspect", CONTAINER],
    }
    for side, argv in specs.items():
        s = summary_ms(spawnbench(argv, 1, n, 5)["samples_us"])
        out[side] = s
        log("control %-16s median %7.2f ms  p99 %7.2f ms  n=%d" % (
            side, s["median"], s["p99"], s["n"]))
    n = 10 if quick else 40
    # `true` as a program; an image without one (the test image is built
    # from the host's programs, and true is a shell builtin there) gets
    # `sh -c true` on both sides
    cmd = ["true"]
    if docker("exec", CONTAINER, "true", check=False).returncode != 0:
        cmd = ["sh", "-c", "true"]
    out["exec_command"] = " ".join(cmd)
    specs = {
        "qmsctl exec": [QMSCTL, "-S", w.d.socket, "exec", AGENT, "--"] +
        cmd,
        "docker exec": ["docker", "exec", "-u", user, "-w", "/pipe-dream",
                        CONTAINER] + cmd,
    }
    out["docker_exec_argv"] = " ".join(specs["docker exec"][:-len(cmd)]
                                       ).replace(CONTAINER, "CONTAINER")
    for side, argv in specs.items():
        s = summary_ms(spawnbench(argv, 1, n, 3)["samples_us"])
        out[side] = s
        log("control %-16s median %7.2f ms  p99 %7.2f ms  n=%d" % (
            side, s["median"], s["p99"], s["n"]))
    # the floor of both: the Engine API's exec, from Python, no program
    # started on the host
    xs = []
    for i in range(n + 3):
        t0 = time.perf_counter()
        api_exec(CONTAINER, cmd, user)
        if i >= 3:
            xs.append((time.perf_counter() - t0) * 1e6)
    s = summary_ms(xs)
    out["engine API exec"] = s
    log("control %-16s median %7.2f ms  p99 %7.2f ms  n=%d" % (
        "engine API exec", s["median"], s["p99"], s["n"]))
    res["control"] = out


# ---------------------------------------------------------------- 6. session

STEP_RE = {
    "qms-mcp": re.compile(rb"qms-mcp (?:ready|disabled[^\r\n]*) "
                          rb"\((\d+\.\d+) s\)"),
    "git": re.compile(rb"git MCP endpoint ready \((\d+\.\d+) s\)"),
    "agent": re.compile(rb"agent \S+ running \([0-9a-f]+\) "
                        rb"\((\d+\.\d+) s\)"),
    "attached": re.compile(rb"attached \((\d+\.\d+) s in all\)"),
}


def pty_session(w, timeout=120):
    """qmsctl session in a terminal of its own; returns what it printed
    per step, and when (from the start) the steps, tmux's status line
    and the answer to a typed command came."""
    t0 = time.monotonic()
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = "xterm"
        os.execv(QMSCTL, [QMSCTL, "-S", w.d.socket, "session", AGENT])
    buf = b""
    seen = {}
    typed = False
    # a new answer each time: a reattached tmux redraws the old ones
    k = int.from_bytes(os.urandom(2), "big") + 1000
    question = b"echo READY-$((%d*7))\r" % k
    answer = b"READY-%d" % (k * 7)
    deadline = t0 + timeout
    try:
        while time.monotonic() < deadline:
            r, _, _ = select.select([fd], [], [], 0.5)
            if not r:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            now = time.monotonic() - t0
            buf += chunk
            for k, rx in STEP_RE.items():
                if k not in seen:
                    m = rx.search(buf)
                    if m:
                        seen[k] = (float(m.group(1)), now)
            if "tmux" not in seen and b"[agent]" in buf:
                seen["tmux"] = (None, now)
            if "tmux" in seen and not typed:
                os.write(fd, question)
                typed = True
            if typed and answer in buf:
                seen["prompt"] = (None, now)
                break
        else:
            raise RuntimeError("session: no prompt in %ds: %r" %
                               (timeout, buf[-2000:]))
        if "prompt" not in seen:
            raise RuntimeError("session ended before its prompt: %r" %
                               buf[-2000:])
        # the shell ends, and with it tmux's session and qmsctl (this
        # terminal answers none of tmux's queries, and tmux then passes
        # C-b d on to the shell)
        os.write(fd, b"exit\r")
        end = time.monotonic() + 10
        while time.monotonic() < end:
            r, _, _ = select.select([fd], [], [], 0.5)
            if r:
                try:
                    if not os.read(fd, 65536):
                        break
                except OSError:
                    break
    finally:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
        os.close(fd)
    return seen


def wait_row(w, name, states, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = component(w.d, name)
        if row["state"] in states:
            return row
        time.sleep(0.02)
    raise RuntimeError("%s never %s: %s" % (name, states, row))


def bench_session(w, res):
    quick = w.quick
    out = {"cold": [], "warm": [], "crash": []}
    n = 2 if quick else 5
    for i in range(n):
        # cold: the child stopped, the agent's container removed
        p = w.ctl("stop", "qms-mcp")
        if p.returncode != 0:
            raise RuntimeError("stop: " + p.stderr)
        wait_row(w, "qms-mcp", ("stopped",))
        docker("rm", "-f", CONTAINER)
        wait_row(w, "agent:" + AGENT, ("missing",))
        time.sleep(0.5)
        seen = pty_session(w)
        out["cold"].append({k: list(v) for k, v in seen.items()})
        log("session cold %d: %s" % (i, fmt_steps(seen)))
    for i in range(n):
        seen = pty_session(w)
        out["warm"].append({k: list(v) for k, v in seen.items()})
        log("session warm %d: %s" % (i, fmt_steps(seen)))
    # crash to ready: SIGKILL the child, time until the new one is ready
    w.wait_child()
    n = 3 if quick else 10
    for i in range(n):
        time.sleep(1.3)         # > stable-after: the backoff is 100 ms
        row = w.wait_child()
        old = row["pid"]
        t0 = time.monotonic()
        os.kill(old, signal.SIGKILL)
        t_new = None
        while True:
            row = component(w.d, "qms-mcp")
            now = time.monotonic() - t0
            if row.get("pid") not in (None, old) and t_new is None:
                t_new = now
            if row["state"] == "ready" and row.get("pid") != old:
                break
            if now > 60:
                raise RuntimeError("child not ready again: %s" % row)
            time.sleep(0.002)
        out["crash"].append({"respawned": t_new, "ready": now,
                             "restarts": row.get("restarts")})
        log("crash %d: new pid after %.3f s, ready after %.3f s" % (
            i, t_new if t_new is not None else now, now))
    # the same child started by hand: from exec to its first answer to
    # initialize, polled every 5 ms (how fast the child itself can be)
    n = 3 if quick else 10
    for i in range(n):
        port = free_port()
        t0 = time.monotonic()
        p = subprocess.Popen(["node", EVERYTHING, "streamableHttp"],
                             cwd="/tmp", env=dict(os.environ, PORT=str(port)),
                             stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        try:
            while True:
                try:
                    st, _, _ = http_post(port, "/mcp", INIT)
                    if st == 200:
                        break
                except OSError:
                    pass
                if time.monotonic() - t0 > 60:
                    raise RuntimeError("server-everything never answered")
                time.sleep(0.005)
            out.setdefault("child_alone", []).append(time.monotonic() - t0)
        finally:
            p.kill()
            p.wait()
    log("child alone: exec to first initialize answer: %s s" % ", ".join(
        "%.3f" % x for x in out["child_alone"]))
    res["session"] = out


def fmt_steps(seen):
    return ", ".join("%s %.2f" % (k, v[1]) for k, v in seen.items())


# ---------------------------------------------------------------- 7. gateway

def bench_gateway(w, res):
    quick = w.quick
    w.wait_child()
    out = {}
    body = call("echo", {"message": "hello"})
    paths = {"direct": (w.child_port, "/mcp", {}),
             "gateway": (w.port, "/qms/mcp", w.auth)}
    for c in (1, 8):
        n = 100 if quick else (1500 if c == 1 else 2000)
        samples = {"direct": [], "gateway": []}
        rps = {"direct": [], "gateway": []}
        peak = peak_child = 0
        # A B B A: the child's own drift falls on both sides alike
        for side in ("direct", "gateway", "gateway", "direct"):
            port, path, hdr = paths[side]
            spec = {"kind": "http", "port": port, "path": path,
                    "headers": hdr, "body": body, "expect": "Echo: hello",
                    "session": {"body": INIT, "notify": INITIALIZED},
                    "concurrency": c, "count": n, "warmup": 50}
            with RSS({"qmsd": w.d.pid, "child": w.child_pid()}) as m:
                r = loadgen(spec)
            peak = max(peak, m.peak["qmsd"])
            peak_child = max(peak_child, m.peak["child"])
            samples[side] += r["samples_us"]
            rps[side].append(len(r["samples_us"]) / r["measured_s"])
        rows = {}
        for side in ("direct", "gateway"):
            s = summary_ms(samples[side])
            s["rps"] = statistics.fmean(rps[side])
            s["quantiles"] = [round(pct(samples[side], q) / 1000.0, 4)
                              for q in range(1, 100)]
            rows[side] = s
            log("gateway c=%d %-8s median %6.3f ms  p99 %6.3f ms  n=%d" % (
                c, side, s["median"], s["p99"], s["n"]))
        rows["peak_rss_kib"] = peak
        rows["peak_child_rss_kib"] = peak_child
        out[c] = rows
    res["gateway"] = out


# ---------------------------------------------------------------- 8. egress

EGRESS_AGENT = "bench-egress"


def tunnel(*args, timeout=600):
    """tests/bench/tunnel.c's JSON; an error is the caller's to judge."""
    p = subprocess.run([TUNNEL] + [str(a) for a in args],
                       capture_output=True, text=True, timeout=timeout)
    try:
        return json.loads(p.stdout)
    except ValueError:
        raise RuntimeError("tunnel %s: %s %s" % (args[0], p.stdout,
                                                 p.stderr))


def cpu_s(pid):
    """utime + stime of PID (every thread), in seconds."""
    if not pid:
        return 0.0
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proxy_refusal(path, port):
    """What qmsd's agent socket answers to a CONNECT its list lacks."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    s.sendall(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n"
              % (port, port))
    got = b""
    try:
        while len(got) < 4096:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
    except socket.timeout:
        pass
    s.close()
    return got.decode(errors="replace")


def bench_egress(w, res):
    """Issue 15's egress proxy: bulk bytes through a CONNECT tunnel, the
    time a CONNECT adds, and qmsd's memory per open tunnel, against
    direct loopback and tinyproxy, one client (tunnel.c) for all."""
    import resource
    quick = w.quick
    size = (128 if quick else 1024) << 20
    rounds = 1 if quick else 2
    n_conn = 200 if quick else 2000
    k_idle = 100 if quick else 500
    out = {"bytes": size, "rounds": rounds, "k": k_idle}
    # every proxy holds two descriptors a tunnel, the client one, the sink
    # one: more than the usual 1024 at K tunnels
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    procs = []
    d = None
    try:
        sink = subprocess.Popen([TUNNEL, "sink"], stdout=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, text=True)
        procs.append(sink)
        sport = int(sink.stdout.readline())
        # tinyproxy as Debian ships it, in the foreground, allowed to
        # CONNECT to the sink's port only, logging only what is critical
        # (qmsd's audit is not turned off, so this favours tinyproxy)
        tport = free_port()
        tconf = os.path.join(w.tmp, "tinyproxy.conf")
        with open(tconf, "w") as f:
            f.write("Port %d\nListen 127.0.0.1\nTimeout 600\n"
                    "MaxClients %d\nLogLevel Critical\n"
                    "PidFile \"%s\"\nConnectPort %d\nAllow 127.0.0.1\n" % (
                        tport, k_idle * 2 + 100,
                        os.path.join(w.tmp, "tinyproxy.pid"), sport))
        tlog = open(os.path.join(w.tmp, "tinyproxy.log"), "w")
        tp = subprocess.Popen(["tinyproxy", "-d", "-c", tconf],
                              stdin=subprocess.DEVNULL, stdout=tlog,
                              stderr=tlog)
        procs.append(tp)
        wait_port(tport)
        peers = {"direct": ("direct", None),
                 "tinyproxy": ("tcp:127.0.0.1:%d" % tport, tp.pid)}
        # qmsd with one agent, network = none (the default), whose list
        # names the sink: its socket is there once the agent is configured
        conf = ("[qmsd]\nproject-root = %s\n"
                "[agent \"%s\"]\nimage = %s\negress = 127.0.0.1:%d\n"
                "egress-max-tunnels = %d\n" % (w.repo, EGRESS_AGENT, IMAGE,
                                               sport, k_idle + 16))
        d = Daemon(config=conf, project=w.repo)
        sock = os.path.join(d.dir, "state", "agents", EGRESS_AGENT, "link",
                            "qmsd.sock")
        deadline = time.monotonic() + 5
        while not os.path.exists(sock) and time.monotonic() < deadline:
            time.sleep(0.05)
        out["qmsd_socket"] = os.path.exists(sock)
        if os.environ.get("BENCH_EGRESS_STANDIN"):
            # for trying the benchmark before qmsd has its proxy: socat
            # from a Unix socket to tinyproxy in qmsd's place; the numbers
            # are socat's and tinyproxy's, and the report says so
            sock = os.path.join(w.tmp, "standin.sock")
            st = subprocess.Popen(["socat", "UNIX-LISTEN:%s,fork" % sock,
                                   "TCP:127.0.0.1:%d" % tport],
                                  stdin=subprocess.DEVNULL)
            procs.append(st)
            deadline = time.monotonic() + 5
            while not os.path.exists(sock) and time.monotonic() < deadline:
                time.sleep(0.05)
            out["standin"] = "socat UNIX-LISTEN:SOCKET,fork " \
                "TCP:127.0.0.1:TINYPROXY"
            peers["qmsd"] = ("unix:" + sock, None)
        elif out["qmsd_socket"]:
            peers["qmsd"] = ("unix:" + sock, d.pid)
            # the proxy checks: a port its list lacks is refused
            ans = proxy_refusal(sock, sport + 1 if sport < 65535 else 1)
            out["refusal"] = ans[:600]
            log("egress: qmsd refuses an unlisted port: %s" %
                ans.split("\r\n", 1)[0])
        else:
            out["qmsd_missing"] = ("no agent socket at STATE/agents/%s/"
                                   "link/qmsd.sock: this qmsd has no egress "
                                   "proxy" % EGRESS_AGENT)
            log("egress: " + out["qmsd_missing"])
        out["peers"] = list(peers)
        # 1. bulk: one way (down: the sink to the client, as a download;
        # up: the client to the sink), then both ways at once; the peers
        # in turn, the order reversed each round
        modes = {"down": (0, size), "up": (size, 0), "both": (size, size)}
        bulk = {m: {p: [] for p in peers} for m in modes}
        order = list(peers)
        for r in range(rounds):
            for m, (up, down) in modes.items():
                for p in order:
                    spec, pid = peers[p]
                    c0, s0 = cpu_s(pid), cpu_s(sink.pid)
                    x = tunnel("bulk", "%s=%s" % (p, spec), sport, up, down)
                    if x.get("error"):
                        raise RuntimeError("egress bulk: " + x["error"])
                    x["proxy_cpu_s"] = cpu_s(pid) - c0 if pid else None
                    x["sink_cpu_s"] = cpu_s(sink.pid) - s0
                    x["mib_s"] = max(up, down) / (1 << 20) / x["seconds"]
                    bulk[m][p].append(x)
                    log("egress %-4s %-9s %8.0f MiB/s%s  (%.2f s)" % (
                        m, p, x["mib_s"], "  proxy CPU %.2f s" %
                        x["proxy_cpu_s"] if pid else "", x["seconds"]))
            order.reverse()
        out["bulk"] = bulk
        # 2. CONNECT setup: connect, CONNECT, 200, one byte there and
        # back, the peers in turn per sample
        x = tunnel("connect", sport, n_conn, 50,
                   *["%s=%s" % (p, peers[p][0]) for p in peers])
        if x["errors"]:
            raise RuntimeError("egress connect: " + x["first_error"])
        out["connect"] = {}
        for p, xs in x["peers"].items():
            s = summary_ms(xs)
            s["quantiles"] = [round(pct(xs, q) / 1000.0, 4)
                              for q in range(1, 100)]
            out["connect"][p] = s
            log("egress connect %-9s median %6.3f ms  p99 %6.3f ms  n=%d" %
                (p, s["median"], s["p99"], s["n"]))
        # 3. memory per open tunnel: K tunnels held idle
        out["idle"] = {}
        for p in peers:
            spec, pid = peers[p]
            if not pid:
                continue
            time.sleep(0.5)
            x = tunnel("idle", "%s=%s" % (p, spec), sport, k_idle, pid)
            if x.get("error"):
                raise RuntimeError("egress idle: " + x["error"])
            out["idle"][p] = x
            log("egress idle %-9s %d tunnels: VmRSS %d -> %d KiB "
                "(%.1f KiB each), threads %d -> %d" % (
                    p, k_idle, x["before"]["rss_kib"], x["open"]["rss_kib"],
                    (x["open"]["rss_kib"] - x["before"]["rss_kib"]) /
                    k_idle, x["before"]["threads"], x["open"]["threads"]))
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        if d is not None:
            d.close()
            shutil.rmtree(d.dir, ignore_errors=True)
    res["egress"] = out


# ---------------------------------------------------------------- 9. mail

MAIL_AGENT, HAND_AGENT = "bench-mail", "bench-hand"
NOTICE = "Task notification: %s is in your inbox. Read it and act on it."
NOBODY = 65534


def bench_mail(w, res):
    """Issue 16: an inbox item's arrival (its rename into the inbox) to
    its notification reaching the model (the scripted Messages API's
    record of the request), cold (container stopped: start = on-task) and
    warm (Claude idle), against the original hub's way by hand
    (by-hand.sh: docker start, tmux, a poll of the screen, send-keys),
    a real Claude Code on both sides in sealed containers of one
    qmsd."""
    from model import Model
    n = 2 if w.quick else 5
    out = {"runs": n, "measured": "%s, qmsd %s (%s), load average %s" % (
        datetime.datetime.now(datetime.timezone.utc).strftime(
            "%Y-%m-%d %H:%M UTC"), sh("git", "-C", TOP, "describe",
                                      "--always", "--dirty"),
        os.path.relpath(BUILD, TOP), " ".join(open(
            "/proc/loadavg").read().split()[:3]))}
    m = Model([{"reply": {"text": "On it."}, "repeat": True}])
    proj = os.path.join(w.tmp, "mail-repo")
    os.makedirs(proj)
    with open(os.path.join(proj, "README.md"), "w") as f:
        f.write("readme\n")
    for args in (["init", "-q", "-b", "main"], ["add", "."],
                 ["-c", "user.name=b", "-c", "user.email=b@b", "commit",
                  "-qm", "first"]):
        subprocess.run(["git", "-C", proj] + args, check=True)
    subprocess.run(["chown", "-R", "%d:%d" % (NOBODY, NOBODY), proj],
                   check=True)
    common = "image = %s\negress = %s\nenv-file = %s\ncommand = claude\n" % (
        IMAGE, m.target, m.env_file(w.tmp))
    conf = ("[qmsd]\nproject-root = %s\n"
            "[agent \"%s\"]\n%sstart = on-task\nstop = inbox-empty\n"
            "[agent \"%s\"]\n%s" % (proj, MAIL_AGENT, common, HAND_AGENT,
                                    common))
    for a in (MAIL_AGENT, HAND_AGENT):
        docker("rm", "-f", "qms-agent-" + a, check=False)
    d = Daemon(config=conf, project=proj)

    def ctl(*args, timeout=300):
        return subprocess.run([QMSCTL, "-S", d.socket] + list(args),
                              capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)

    def row(agent):
        for r in json.loads(ctl("ps", "--json").stdout)["agents"]:
            if r["agent"] == agent:
                return r
        return {}

    def until(what, pred, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pred():
                return
            time.sleep(0.05)
        raise RuntimeError("bench mail: never %s" % what)

    box = os.path.join(proj, ".claude", "users", MAIL_AGENT, "inbox")

    def arrive(item):
        aside = os.path.join(os.path.dirname(box), "." + item + ".md")
        with open(aside, "w") as f:
            f.write("# %s\n" % item)
        os.chown(aside, NOBODY, NOBODY)
        os.rename(aside, os.path.join(box, item + ".md"))
        return time.monotonic()

    def at_model(text, timeout=120):
        r = m.wait_text(text, timeout=timeout)
        return r["monotonic"]

    hand = os.path.join(HERE, "by-hand.sh")
    hc = "qms-agent-" + HAND_AGENT
    user = "%d:%d" % (NOBODY, NOBODY)

    def by_hand(mode, text):
        t0 = time.monotonic()
        p = subprocess.run(["sh", hand, mode, hc, user, "peer", text],
                           capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            raise RuntimeError("by-hand.sh %s: %s" % (mode, p.stderr))
        try:
            return at_model(text, timeout=20) - t0
        except AssertionError:
            return None         # typed too early: lost

    res["mail"] = out
    try:
        until("the inbox made", lambda: os.path.isdir(box), 30)
        # the peer's container made by qmsd, then stopped: by hand, it is
        # only started and exec'd into
        p = ctl("up", HAND_AGENT)
        if p.returncode != 0:
            raise RuntimeError("up: " + p.stderr)
        ctl("down", HAND_AGENT)
        qc = {"cold": [], "warm": []}
        hd = {"cold": [], "warm": [], "lost": 0}
        for i in range(n + 1):          # the first of each, not counted
            # qmsd: an item starts the agent (cold); a second one comes
            # while Claude is idle (warm); both leave, inbox-empty stops it
            until("stopped", lambda: row(MAIL_AGENT).get("state") in
                  ("missing", "stopped", "exited"))
            c, wm = "CR-c%d" % i, "CR-w%d" % i
            t = arrive(c)
            cold = at_model(NOTICE % c) - t
            until("idle", lambda: row(MAIL_AGENT).get("activity") == "idle")
            time.sleep(0.5)
            t = arrive(wm)
            warm = at_model(NOTICE % wm) - t
            until("idle", lambda: row(MAIL_AGENT).get("activity") == "idle")
            for it in (c, wm):
                os.unlink(os.path.join(box, it + ".md"))
            # by hand, the same two on the other agent
            hcold = by_hand("cold", NOTICE % ("PR-c%d" % i))
            time.sleep(2)               # Claude's answer, then idle
            hwarm = by_hand("warm", NOTICE % ("PR-w%d" % i))
            time.sleep(1)
            docker("stop", "-t", "2", hc)
            log("mail %s: qmsd cold %.2f s warm %.2f s; by hand cold %s "
                "warm %s" % ("warm-up" if i == 0 else "run %d" % i, cold,
                             warm, "%.2f s" % hcold if hcold else "lost",
                             "%.2f s" % hwarm if hwarm else "lost"))
            if i == 0:
                continue
            qc["cold"].append(cold)
            qc["warm"].append(warm)
            for k, v in (("cold", hcold), ("warm", hwarm)):
                if v is None:
                    hd["lost"] += 1
                else:
                    hd[k].append(v)
        out["qmsd"], out["by_hand"] = qc, hd
    finally:
        d.close()
        m.close()
        for a in (MAIL_AGENT, HAND_AGENT):
            docker("rm", "-f", "qms-agent-" + a, check=False)
            for v in ("qms-claude-config-", "qms-projects-"):
                docker("volume", "rm", "-f", v + a, check=False)
        shutil.rmtree(d.dir, ignore_errors=True)


# ---------------------------------------------------------------- 11. intercept

SECRET_AGENT = "bench-secret"
SECRET_NAME = "BENCH_TOKEN"


def tls(*args, timeout=600):
    """tests/bench/tls.c's JSON; an error is the caller's to judge."""
    p = subprocess.run([TLS] + [str(a) for a in args],
                       capture_output=True, text=True, timeout=timeout)
    try:
        return json.loads(p.stdout)
    except ValueError:
        raise RuntimeError("tls %s: %s %s" % (args[0], p.stdout, p.stderr))


def make_test_ca(dirpath):
    """A test CA and a server certificate for 127.0.0.1 (SAN IP), made
    with the openssl CLI: (ca.pem, server.pem, server.key)."""
    os.makedirs(dirpath, exist_ok=True)
    ca, cakey = (os.path.join(dirpath, n) for n in ("ca.pem", "ca.key"))
    crt, key, csr, ext = (os.path.join(dirpath, n) for n in (
        "server.pem", "server.key", "server.csr", "server.ext"))
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    for argv in (["openssl", "req", "-x509"] + ec +
                 ["-keyout", cakey, "-out", ca, "-days", "2",
                  "-subj", "/CN=qmsd bench upstream CA",
                  "-addext", "basicConstraints=critical,CA:TRUE",
                  "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
                 ["openssl", "req"] + ec +
                 ["-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1"]):
        subprocess.run(argv, check=True, capture_output=True)
    with open(ext, "w") as f:
        f.write("subjectAltName = IP:127.0.0.1\nbasicConstraints = CA:FALSE"
                "\nextendedKeyUsage = serverAuth\n")
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", ca,
                    "-CAkey", cakey, "-CAcreateserial", "-out", crt,
                    "-days", "2", "-extfile", ext], check=True,
                   capture_output=True)
    return ca, crt, key


def placeholder(token, agent, name):
    """What the container's NAME holds (secret-auth.h's
    secret_placeholder): "qmsd-placeholder-NAME-" and 32 hex digits of
    HMAC-SHA-256 under the host token."""
    import hashlib
    import hmac
    mac = hmac.new(token.encode(), ("qmsd secret placeholder\n%s\n%s" % (
        agent, name)).encode(), hashlib.sha256).hexdigest()
    return "qmsd-placeholder-%s-%s" % (name, mac[:32])


def bench_intercept(w, res):
    """Issue 18: an intercepted host (TLS ended by qmsd with its CA, the
    placeholder swapped for the secret in Authorization, TLS again to the
    upstream) against a tunnelled one (spliced bytes, the client's TLS
    to the server itself), through the same agent socket of one qmsd to
    two instances of the same HTTPS server, one client (tls.c) for
    both: bulk bytes each way, the time of a whole new request, and
    qmsd's memory per open connection."""
    import resource
    import secrets as pysecrets
    quick = w.quick
    size = (64 if quick else 256) << 20
    rounds = 2
    n_lat = 200 if quick else 1000
    k_idle = 50 if quick else 200
    out = {"bytes": size, "rounds": rounds, "k": k_idle,
           "measured": "%s, load average %s" % (
               datetime.datetime.now(datetime.timezone.utc).strftime(
                   "%Y-%m-%d %H:%M UTC"), " ".join(open(
                       "/proc/loadavg").read().split()[:3]))}
    res["intercept"] = out
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    tmp = os.path.join(w.tmp, "intercept")
    ca, crt, key = make_test_ca(tmp)
    secret = pysecrets.token_hex(24)
    envfile = os.path.join(tmp, "agent.env")
    fd = os.open(envfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("%s=%s\n" % (SECRET_NAME, secret))
    os.chown(envfile, 0, 0)
    procs = []
    d = None
    try:
        ports = {}
        for side in ("tunnelled", "intercepted"):
            p = subprocess.Popen([TLS, "serve", crt, key],
                                 stdout=subprocess.PIPE,
                                 stdin=subprocess.DEVNULL, text=True,
                                 env=dict(os.environ, BENCH_SECRET=secret))
            procs.append(p)
            ports[side] = (int(p.stdout.readline()), p)
        pa, pb = ports["tunnelled"][0], ports["intercepted"][0]
        conf = ("[qmsd]\nproject-root = %s\nupstream-ca = %s\n"
                "[agent \"%s\"]\nimage = %s\n"
                "egress = 127.0.0.1:%d 127.0.0.1:%d\nenv-file = %s\n"
                "secret = %s 127.0.0.1:%d\negress-max-tunnels = %d\n" % (
                    w.repo, ca, SECRET_AGENT, IMAGE, pa, pb, envfile,
                    SECRET_NAME, pb, k_idle + 16))
        out["config"] = conf.replace(w.tmp, "TMP")
        d = Daemon(config=conf, project=w.repo, wait=False)
        try:
            d.wait_ready()
        except AssertionError as e:
            # a qmsd without interception refuses the configuration
            out["qmsd_missing"] = "qmsd did not start: %s" % (
                str(e).strip()[-600:])
            log("intercept: " + out["qmsd_missing"])
            return
        state = os.path.join(d.dir, "state")
        sock = os.path.join(state, "agents", SECRET_AGENT, "link",
                            "qmsd.sock")
        eca = os.path.join(state, "egress-ca", "ca.crt")
        deadline = time.monotonic() + 5
        while not (os.path.exists(sock) and os.path.exists(eca)) and \
                time.monotonic() < deadline:
            time.sleep(0.05)
        out["qmsd_socket"] = os.path.exists(sock)
        out["egress_ca"] = os.path.exists(eca)
        if not (out["qmsd_socket"] and out["egress_ca"]):
            out["qmsd_missing"] = "%s%s" % (
                "" if out["qmsd_socket"] else "no agent socket at STATE/"
                "agents/%s/link/qmsd.sock; " % SECRET_AGENT,
                "" if out["egress_ca"] else "no STATE/egress-ca/ca.crt: "
                "this qmsd does not intercept")
            log("intercept: " + out["qmsd_missing"])
            log("intercept: qmsd's log: " + d.log()[-2000:])
            return
        with open(os.path.join(state, "host.token")) as f:
            token = f.read().strip()
        auth = "Bearer " + placeholder(token, SECRET_AGENT, SECRET_NAME)
        target = {"tunnelled": "127.0.0.1:%d" % pa,
                  "intercepted": "127.0.0.1:%d" % pb}
        cafile = {"tunnelled": ca, "intercepted": eca}
        peers = ["tunnelled", "intercepted"]
        spec = "unix:" + sock
        # 0. the real thing: the intercepted server got the secret, the
        # tunnelled one the placeholder as the client sent it
        want = {"tunnelled": "other", "intercepted": "secret"}
        out["auth_seen"] = {}
        for p in peers:
            x = tls("bulk", spec, target[p], cafile[p], "down", 1, auth)
            if x.get("error"):
                raise RuntimeError("intercept %s: %s" % (p, x["error"]))
            out["auth_seen"][p] = x["auth_seen"]
            log("intercept: %s server saw Authorization: %s" % (
                p, x["auth_seen"]))
            if x["auth_seen"] != want[p]:
                raise RuntimeError("intercept: the %s server saw %r, not "
                                   "%r" % (p, x["auth_seen"], want[p]))
        # what the client sees of the intercepted server: qmsd's leaf,
        # not the server's own (the tunnelled CA does not verify it)
        x = tls("bulk", spec, target["intercepted"], ca, "down", 1)
        out["intercepted_with_server_ca"] = x.get("error")
        # 1. bulk: down (GET /bytes/N) and up (POST /sink), the peers in
        # turn, the order reversed each round
        bulk = {m: {p: [] for p in peers} for m in ("down", "up")}
        order = list(peers)
        srv = {p: ports[p][1].pid for p in peers}
        for r in range(rounds):
            for m in ("down", "up"):
                for p in order:
                    c0, s0 = cpu_s(d.pid), cpu_s(srv[p])
                    x = tls("bulk", spec, target[p], cafile[p], m, size,
                            auth)
                    if x.get("error"):
                        raise RuntimeError("intercept bulk: " + x["error"])
                    if x["auth_seen"] != want[p]:
                        raise RuntimeError("intercept bulk %s: %s" % (
                            p, x["auth_seen"]))
                    x["qmsd_cpu_s"] = cpu_s(d.pid) - c0
                    x["server_cpu_s"] = cpu_s(srv[p]) - s0
                    x["mib_s"] = size / (1 << 20) / x["seconds"]
                    bulk[m][p].append(x)
                    log("intercept %-4s %-11s %7.0f MiB/s  qmsd CPU %.2f s"
                        "  (%.2f s)" % (m, p, x["mib_s"], x["qmsd_cpu_s"],
                                        x["seconds"]))
            order.reverse()
        out["bulk"] = bulk
        # 2. a whole new request each: connect, CONNECT, 200, TLS
        # handshake, GET /bytes/1 with the placeholder, the answer; the
        # peers in turn per sample
        x = tls("latency", n_lat, 50, *["%s=%s=%s=%s=%s" % (
            p, spec, target[p], cafile[p], auth) for p in peers])
        if x["errors"]:
            raise RuntimeError("intercept latency: " + x["first_error"])
        if x["auth_seen"] != want:
            raise RuntimeError("intercept latency: servers saw %s" %
                               x["auth_seen"])
        out["latency"] = {}
        for p, xs in x["peers"].items():
            s = summary_ms(xs)
            s["quantiles"] = [round(pct(xs, q) / 1000.0, 4)
                              for q in range(1, 100)]
            out["latency"][p] = s
            log("intercept request %-11s median %6.3f ms  p99 %6.3f ms  "
                "n=%d" % (p, s["median"], s["p99"], s["n"]))
        # 3. memory per open connection: K connections through to their
        # TLS handshake's end, held idle
        out["idle"] = {}
        for p in peers:
            time.sleep(0.5)
            x = tls("idle", spec, target[p], cafile[p], k_idle, d.pid)
            if x.get("error"):
                raise RuntimeError("intercept idle %s: %s" % (p,
                                                              x["error"]))
            out["idle"][p] = x
            log("intercept idle %-11s %d connections: VmRSS %d -> %d KiB "
                "(%.1f KiB each)" % (
                    p, k_idle, x["before"]["rss_kib"], x["open"]["rss_kib"],
                    (x["open"]["rss_kib"] - x["before"]["rss_kib"]) /
                    k_idle))
        # qmsd's log must not hold the secret
        out["secret_in_log"] = secret in d.log()
        if out["secret_in_log"]:
            log("intercept: THE SECRET IS IN QMSD'S LOG")
        summarize_intercept(out)
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        if d is not None:
            d.close()
            docker("rm", "-f", "qms-agent-" + SECRET_AGENT, check=False)
            shutil.rmtree(d.dir, ignore_errors=True)


def summarize_intercept(out):
    """The goals, as ratios of this run's peers: intercepted throughput
    at least 0.5x tunnelled's (median of the rounds, each way); what
    interception adds to a new request under 5 ms at the median."""
    g = out["goals"] = {}
    for m, per in out["bulk"].items():
        t = statistics.median(x["mib_s"] for x in per["tunnelled"])
        i = statistics.median(x["mib_s"] for x in per["intercepted"])
        g["throughput_" + m] = {
            "tunnelled_mib_s": t, "intercepted_mib_s": i, "ratio": i / t,
            "goal": 0.5, "met": i / t >= 0.5,
            "qmsd_cpu_s": {p: statistics.median(x["qmsd_cpu_s"] for x in
                                                per[p]) for p in per}}
        log("intercept goal: %s %.0f / %.0f MiB/s = %.2fx (goal >= 0.5x): "
            "%s" % (m, i, t, i / t, "met" if i / t >= 0.5 else "MISSED"))
    lat = out["latency"]
    added = lat["intercepted"]["median"] - lat["tunnelled"]["median"]
    g["added_latency"] = {
        "tunnelled_ms": lat["tunnelled"]["median"],
        "intercepted_ms": lat["intercepted"]["median"],
        "added_ms": added, "added_p99_ms": lat["intercepted"]["p99"] -
        lat["tunnelled"]["p99"], "goal_ms": 5.0, "met": added < 5.0}
    log("intercept goal: added latency %.3f ms at the median (goal < 5 ms):"
        " %s" % (added, "met" if added < 5.0 else "MISSED"))
    for p, x in out.get("idle", {}).items():
        x["per_conn_kib"] = (x["open"]["rss_kib"] - x["before"]["rss_kib"]) \
            / float(x["k"])


# ---------------------------------------------------------------- 12. audit

AUDIT_RECORDED = "mcp-config"   # an admin method: recorded before it runs
AUDIT_UNRECORDED = "version"    # read-only: never recorded
AUDIT_CONNS = (16, 64)
GOAL_AU_HANDOFF_MS = 0.5    # added at c=1 over the disk's own sync
GOAL_AU_THROUGHPUT = 0.5    # recorded / unrecorded calls per second, c=16
GOAL_AU_PER_SYNC = 0.25     # records per sync, of the clients
GOAL_AU_PROBE = 1.0         # unrecorded call under recorded load / a sync


def ctl(*args, timeout=600):
    """tests/bench/ctl.c's JSON; a failed call stops the run."""
    p = subprocess.run([CTL] + [str(a) for a in args], capture_output=True,
                       text=True, timeout=timeout)
    try:
        r = json.loads(p.stdout)
    except ValueError:
        raise RuntimeError("ctl %s: %s %s" % (args[0], p.stdout, p.stderr))
    if r.get("error") or r.get("errors"):
        raise RuntimeError("ctl %s: %s" % (args[0], r.get("error") or
                                           r.get("first_error")))
    return r


def fs_info(path):
    """The filesystem PATH is on: its type, device, mount point and
    options, the block device's driver and whether it says it is
    rotational."""
    info = {"path": path, "statfs_type": sh("stat", "-f", "-c", "%T", path)}
    df = sh("df", "--output=source,fstype,target", path).splitlines()
    if len(df) == 2 and len(df[1].split(None, 2)) == 3:
        info["device"], info["fstype"], info["mount"] = \
            df[1].split(None, 2)
    st = os.stat(path)
    dev = "%d:%d" % (os.major(st.st_dev), os.minor(st.st_dev))
    with open("/proc/self/mountinfo") as f:
        for line in f:
            x = line.split()
            if x[2] == dev and x[4] == info.get("mount"):
                info["options"] = x[5]
                if " - " in line:
                    info["super_options"] = line.split(" - ", 1)[1].split(
                    )[2]
    sysdev = os.path.realpath("/sys/dev/block/" + dev)
    for q in (sysdev, os.path.dirname(sysdev)):
        try:
            with open(os.path.join(q, "queue", "rotational")) as f:
                info["rotational"] = f.read().strip() == "1"
            info["block_device"] = os.path.basename(q)
            drv = os.path.join(q, "device", "driver")
            if os.path.exists(drv):
                info["driver"] = os.path.basename(os.path.realpath(drv))
            break
        except OSError:
            pass
    return info


def audit_base():
    """A directory on a real disk for the audit log: the temporary
    directory unless it is in memory (tmpfs), then /var/tmp, then the
    build directory."""
    for d in (tempfile.gettempdir(), "/var/tmp", BUILD):
        if os.path.isdir(d) and sh("stat", "-f", "-c", "%T", d) not in (
                "tmpfs", "ramfs", "?"):
            return d
    raise RuntimeError("no directory on a disk for the audit log")


def child_named(ppid, comm):
    """The pid of PPID's child whose name is COMM, or None."""
    for e in os.listdir("/proc"):
        if not e.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % e) as f:
                t = f.read()
        except OSError:
            continue
        if t[t.index("(") + 1:t.rindex(")")] == comm and \
                int(t.rsplit(")", 1)[1].split()[1]) == ppid:
            return int(e)
    return None


def audit_stats(d):
    """qmsd's audit counters (`qmsctl status --json`, component audit)."""
    return component(d, "audit")["stats"]


def audit_loop_ns(st):
    """The loop's nanoseconds on records so far (its mean times count)."""
    return st["loop_ns_per_record"] * st["records"]


def check_chain(path):
    """The log read back as qmsctl audit --verify would: seq from 1
    without a gap, each prev the SHA-256 of the line before; and how many
    admin records each method has."""
    import hashlib
    prev, seq, methods = "0" * 64, 0, {}
    with open(path, "rb") as f:
        for raw in f:
            line = raw.rstrip(b"\n")
            seq += 1
            try:
                rec = json.loads(line)
            except ValueError:
                return {"records": seq - 1, "clean": False,
                        "first_bad": seq, "why": "not JSON"}
            if rec.get("seq") != seq or rec.get("prev") != prev:
                return {"records": seq - 1, "clean": False,
                        "first_bad": seq, "why": "seq or prev"}
            prev = hashlib.sha256(line).hexdigest()
            if rec.get("kind") == "admin":
                m = rec.get("method", "?")
                methods[m] = methods.get(m, 0) + 1
    return {"records": seq, "clean": True, "head": prev,
            "admin_methods": methods}


def audit_load(d, writer, conns, seconds, method, sent):
    """CONNS clients making METHOD calls for SECONDS: calls per second,
    their latency, and what qmsd's audit counters and CPU did."""
    a, c0, w0 = audit_stats(d), cpu_s(d.pid), cpu_s(writer)
    r = ctl("load", d.socket, conns, seconds, 0.3, method)
    b, c1, w1 = audit_stats(d), cpu_s(d.pid), cpu_s(writer)
    sent[method] = sent.get(method, 0) + r.get("sent", 0)
    s = summary_ms(r["samples_us"])
    recs, syncs = b["records"] - a["records"], b["syncs"] - a["syncs"]
    out = {"conns": conns, "rate": r["n"] / r["seconds"], "n": r["n"],
           "seconds": r["seconds"], "median": s["median"], "p99": s["p99"],
           "records": recs, "syncs": syncs, "bytes": b["bytes"] - a["bytes"],
           "records_per_sync": recs / syncs if syncs else None,
           "loop_ns_per_record": (audit_loop_ns(b) - audit_loop_ns(a)) /
           recs if recs else None,
           "qmsd_cpu_us_per_call": (c1 - c0) * 1e6 / r["sent"]
           if r.get("sent") else None,
           "writer_cpu_us_per_record": (w1 - w0) * 1e6 / recs
           if recs else None}
    return out


def audit_probe(d, floor, n, load=None, sent=None):
    """Unrecorded calls one at a time, in turn with a sync of the naive
    log, alone or while 16 clients make LOAD calls."""
    p = None
    if load is not None:
        p = subprocess.Popen([CTL, "load", d.socket, "16", "0", "0.3",
                              load], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
        time.sleep(0.5)
    a = audit_stats(d)
    try:
        r = ctl("lat", d.socket, n, 50, AUDIT_UNRECORDED, "@sync:" + floor)
    finally:
        if p is not None:
            lo, _ = p.communicate(timeout=60)
    b = audit_stats(d)
    out = {"unrecorded": summary_ms(r["samples_us"][AUDIT_UNRECORDED]),
           "sync": summary_ms(r["samples_us"]["@sync:" + floor])}
    sent[AUDIT_UNRECORDED] = sent.get(AUDIT_UNRECORDED, 0) + r["sent"]
    if p is not None:
        lr = json.loads(lo)
        if lr.get("error") or lr.get("errors"):
            raise RuntimeError("ctl load: %s" % (lr.get("error") or
                                                 lr.get("first_error")))
        sent[load] = sent.get(load, 0) + lr["sent"]
        recs, syncs = b["records"] - a["records"], b["syncs"] - a["syncs"]
        out["load"] = {"method": load, "conns": 16,
                       "rate": lr["n"] / lr["seconds"],
                       "median": summary_ms(lr["samples_us"])["median"],
                       "records_per_sync": recs / syncs if syncs else None}
    return out


def bench_audit(w, res):
    """Issue 19: what the audit log costs.  One qmsd of its own (no agent,
    no child), its state directory on a disk: a recorded admin call
    (mcp-config, its record synced before it runs) against an unrecorded
    one (version) on the control socket, one at a time and with 16 and 64
    clients; the naive log (each record appended and fdatasync()ed by
    itself, on the same disk) as the floor; unrecorded calls while
    recorded ones load qmsd; the audit counters qmsd keeps (records,
    syncs, the loop's time per record); the chain read back."""
    quick = w.quick
    n_lat = 300 if quick else 2000
    rounds = 1 if quick else 3
    secs = 1.0 if quick else 2.0
    base = tempfile.mkdtemp(prefix="qmsd-bench-audit.", dir=audit_base())
    os.chmod(base, 0o755)
    state = os.path.join(base, "state")
    floor = os.path.join(base, "naive.log")
    out = {"recorded": AUDIT_RECORDED, "unrecorded": AUDIT_UNRECORDED,
           "n_lat": n_lat, "rounds": rounds, "seconds": secs,
           "fs": fs_info(base),
           "run": {"qmsd": "%s (`git describe`)" % res["machine"]["qmsd"],
                   "build": res["machine"]["build"],
                   "date": datetime.datetime.now(
                       datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                   "loadavg_start": open("/proc/loadavg").read().split()[
                       :3]}}
    res["audit"] = out
    log("audit: state directory on %s (%s, %s), %s" % (
        out["fs"].get("device", "?"), out["fs"].get("fstype", "?"),
        out["fs"].get("block_device", "?"), state))
    d = None
    sent = {}
    try:
        d = Daemon(config="[qmsd]\nstate-dir = %s\n" % state)
        writer = child_named(d.pid, "qmsd-audit")
        if writer is None:
            raise RuntimeError("qmsd has no audit writer (qmsd-audit)")
        # qmsd's start is the first record; its row counts it once synced
        deadline = time.monotonic() + 10
        while audit_stats(d)["syncs"] < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        out["stats_start"] = audit_stats(d)
        # one at a time: recorded, unrecorded and the naive log in turn
        r = ctl("lat", d.socket, n_lat, 50, AUDIT_RECORDED,
                AUDIT_UNRECORDED, "@sync:" + floor)
        for m in (AUDIT_RECORDED, AUDIT_UNRECORDED):
            sent[m] = sent.get(m, 0) + r["sent"] // 2
        out["latency"] = {
            "recorded": summary_ms(r["samples_us"][AUDIT_RECORDED]),
            "unrecorded": summary_ms(r["samples_us"][AUDIT_UNRECORDED]),
            "sync": summary_ms(r["samples_us"]["@sync:" + floor])}
        for k, x in out["latency"].items():
            log("audit c=1 %-10s median %7.3f ms  p99 %7.3f ms  n=%d" % (
                k, x["median"], x["p99"], x["n"]))
        # many clients, the peers in turn, the order reversed each round
        tp = out["throughput"] = {str(c): {"recorded": [], "unrecorded": []}
                                  for c in AUDIT_CONNS}
        tp["sync"] = []
        # each recorded load next to its unrecorded one and to the naive
        # log, whose syncs can be ten times slower a few seconds later
        order = [("unrecorded", 16), ("recorded", 16), ("sync", 1),
                 ("recorded", 64), ("unrecorded", 64)]
        for i in range(rounds):
            for k, c in (order if i % 2 == 0 else order[::-1]):
                m = {"recorded": AUDIT_RECORDED,
                     "unrecorded": AUDIT_UNRECORDED,
                     "sync": "@sync:" + floor}[k]
                x = audit_load(d, writer, c, secs, m, sent)
                (tp["sync"] if k == "sync" else tp[str(c)][k]).append(x)
                log("audit c=%-3d %-10s %8.0f calls/s  median %6.3f ms  "
                    "p99 %6.3f ms%s" % (
                        c, k, x["rate"], x["median"], x["p99"],
                        "  %.1f records/sync, loop %.1f us/record" % (
                            x["records_per_sync"],
                            x["loop_ns_per_record"] / 1000.0)
                        if x["records"] else ""))
        # does a recorded load hold up the loop?  Unrecorded calls alone,
        # then while 16 clients make recorded (and unrecorded) calls
        pr = out["probe"] = {}
        for k, load in (("idle", None), ("recorded_load", AUDIT_RECORDED),
                        ("unrecorded_load", AUDIT_UNRECORDED)):
            pr[k] = audit_probe(d, floor, n_lat, load, sent)
            log("audit probe %-15s unrecorded median %6.3f ms p99 %6.3f "
                "ms; naive sync median %6.3f ms" % (
                    k, pr[k]["unrecorded"]["median"],
                    pr[k]["unrecorded"]["p99"], pr[k]["sync"]["median"]))
        out["stats_end"] = audit_stats(d)
        out["status_detail"] = component(d, "audit")["detail"]
        d.stop()
        out["chain"] = check_chain(os.path.join(state, "audit.log"))
        out["sent"] = sent
        ch = out["chain"]
        log("audit: the log read back: %d records, %s; %d %s records for "
            "%d %s calls sent" % (
                ch["records"], "chain clean" if ch["clean"] else
                "BROKEN at %d" % ch["first_bad"],
                ch.get("admin_methods", {}).get(AUDIT_RECORDED, 0),
                AUDIT_RECORDED, sent.get(AUDIT_RECORDED, 0),
                AUDIT_RECORDED))
        out["run"]["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
        summarize_audit(out)
    finally:
        if d is not None:
            d.close()
        shutil.rmtree(base, ignore_errors=True)


def summarize_audit(out):
    """The goals, as ratios to this run's peers: a recorded call at c=1
    adds the disk's own sync and under 0.5 ms more; recorded calls at 16
    clients at least half the unrecorded ones' rate; a sync carries at
    least a quarter of the clients' records; and an unrecorded call made
    while 16 clients make recorded ones waits less than a sync."""
    g = out["goals"] = {}
    lat = out["latency"]
    added = lat["recorded"]["median"] - lat["unrecorded"]["median"]
    g["added_latency"] = {
        "recorded_ms": lat["recorded"]["median"],
        "unrecorded_ms": lat["unrecorded"]["median"],
        "sync_ms": lat["sync"]["median"], "added_ms": added,
        "added_p99_ms": lat["recorded"]["p99"] - lat["unrecorded"]["p99"],
        "over_sync_ms": added - lat["sync"]["median"],
        "goal_ms": GOAL_AU_HANDOFF_MS,
        "met": added - lat["sync"]["median"] < GOAL_AU_HANDOFF_MS}
    log("audit goal: c=1 added %.3f ms, the naive sync %.3f ms: %.3f ms "
        "over it (goal < %g ms): %s" % (
            added, lat["sync"]["median"], added - lat["sync"]["median"],
            GOAL_AU_HANDOFF_MS, "met" if g["added_latency"]["met"]
            else "MISSED"))
    naive = [x["rate"] for x in out["throughput"]["sync"]]
    for c in AUDIT_CONNS:
        t = out["throughput"][str(c)]
        ratios = [r["rate"] / u["rate"] for r, u in
                  zip(t["recorded"], t["unrecorded"])]
        # group commit's gain: recorded calls against the naive log's
        # records in the same round
        gains = [r["rate"] / n for r, n in zip(t["recorded"], naive)]
        per_sync = statistics.median(x["records_per_sync"]
                                     for x in t["recorded"])
        x = g["throughput_%d" % c] = {
            "conns": c,
            "recorded_rate": statistics.median(x["rate"]
                                               for x in t["recorded"]),
            "unrecorded_rate": statistics.median(x["rate"]
                                                 for x in t["unrecorded"]),
            "ratio": statistics.median(ratios), "ratios": ratios,
            "naive_rate": statistics.median(naive),
            "over_naive": statistics.median(gains), "over_naive_rounds":
            gains,
            "records_per_sync": per_sync,
            "per_sync_goal": GOAL_AU_PER_SYNC * c,
            "per_sync_met": per_sync >= GOAL_AU_PER_SYNC * c,
            "loop_ns_per_record": statistics.median(
                x["loop_ns_per_record"] for x in t["recorded"]),
            "goal": GOAL_AU_THROUGHPUT if c == 16 else None}
        x["met"] = x["ratio"] >= GOAL_AU_THROUGHPUT if c == 16 else None
        log("audit goal: c=%d recorded %.0f / unrecorded %.0f calls/s = "
            "%.2fx%s; %.1f records per sync (goal >= %g): %s" % (
                c, x["recorded_rate"], x["unrecorded_rate"], x["ratio"],
                " (goal >= %gx): %s" % (GOAL_AU_THROUGHPUT, "met" if
                                        x["met"] else "MISSED")
                if c == 16 else "", per_sync, x["per_sync_goal"],
                "met" if x["per_sync_met"] else "MISSED"))
    pr = out["probe"]["recorded_load"]
    ratio = pr["unrecorded"]["median"] / pr["sync"]["median"]
    g["probe"] = {"unrecorded_ms": pr["unrecorded"]["median"],
                  "unrecorded_p99_ms": pr["unrecorded"]["p99"],
                  "sync_ms": pr["sync"]["median"], "ratio": ratio,
                  "idle_ms": out["probe"]["idle"]["unrecorded"]["median"],
                  "goal": GOAL_AU_PROBE, "met": ratio < GOAL_AU_PROBE}
    log("audit goal: an unrecorded call under a recorded load %.3f ms, a "
        "sync meanwhile %.3f ms: %.2fx (goal < %gx): %s" % (
            pr["unrecorded"]["median"], pr["sync"]["median"], ratio,
            GOAL_AU_PROBE, "met" if g["probe"]["met"] else "MISSED"))
    st = out["stats_end"]
    g["loop"] = {"loop_ns_per_record_all": st["loop_ns_per_record"],
                 "records": st["records"], "syncs": st["syncs"]}


# ---------------------------------------------------------------- machine

def sh(*cmd):
    try:
        return subprocess.run(list(cmd), capture_output=True, text=True,
                              timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = proc_meminfo("MemTotal")

    def npm_version(pkg):
        try:
            with open(os.path.join(NODE_MODULES, pkg, "package.json")) as f:
                return json.load(f)["version"]
        except OSError:
            return "?"
    return {
        "cpu": cpu, "cores": os.cpu_count(), "memory_gib":
        round(mem / 1024 / 1024, 1) if mem else None,
        "kernel": platform.release(),
        "debian": open("/etc/debian_version").read().strip()
        if os.path.exists("/etc/debian_version") else "?",
        "qmsd": sh("git", "-C", TOP, "describe", "--always", "--dirty",
                   "--tags"),
        "qmsd_version": sh(os.environ["QMSD"], "-V"),
        "build": "meson buildtype=release (%s)" % os.path.relpath(BUILD,
                                                                 TOP),
        "cc": sh("cc", "--version").splitlines()[0] if sh("cc", "--version")
        else "?",
        "node": sh("node", "--version"),
        "git": sh("git", "--version"),
        "docker": sh("docker", "version", "--format",
                     "{{.Server.Version}} (API {{.Server.APIVersion}})"),
        "wrk": sh("wrk", "-v").splitlines()[0] if sh("wrk", "-v") else "?",
        "tinyproxy": sh("tinyproxy", "-v"),
        "cyanheads": npm_version("@cyanheads/git-mcp-server"),
        "everything": npm_version("@modelcontextprotocol/server-everything"),
        "sdk": npm_version("@modelcontextprotocol/sdk"),
        "image": IMAGE,
        "loadavg_start": open("/proc/loadavg").read().split()[:3],
        "date": datetime.datetime.now(datetime.timezone.utc).strftime(
            "%Y-%m-%d %H:%M UTC"),
    }


def proc_meminfo(key):
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


# ---------------------------------------------------------------- main

PHASES = ["git", "protocol", "control", "session", "gateway", "egress",
          "mail", "terminal", "intercept", "audit"]


def bench_terminal(w, res):
    """Issue 17: the console's terminal, keystroke to echo through qmsd's
    WebSocket relay against docker exec -it into the same tmux session,
    and qmsd's memory per open terminal: terminal.py, on a qmsd and an
    agent of its own (it logs in through qmsctl console)."""
    p = subprocess.run([sys.executable, os.path.join(HERE, "terminal.py"),
                        "--build", BUILD, "-n", "30" if w.quick else "100"],
                       capture_output=True, text=True, timeout=900)
    if p.returncode != 0:
        raise RuntimeError("terminal.py: %s" % p.stderr[-2000:])
    out = json.JSONDecoder().raw_decode(p.stdout.lstrip())[0]
    out["measured"] = "%s, load average %s" % (
        datetime.datetime.now(datetime.timezone.utc).strftime(
            "%Y-%m-%d %H:%M UTC"), " ".join(open(
                "/proc/loadavg").read().split()[:3]))
    res["terminal"] = out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true",
                    help="every benchmark with small counts")
    ap.add_argument("--only", default=",".join(PHASES),
                    help="some of " + ",".join(PHASES))
    ap.add_argument("--out", default=HERE,
                    help="where RESULTS.md, results.json and plots/ go")
    a = ap.parse_args()
    # a TERM ends the run through the finally blocks that clean up
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    only = a.only.split(",")
    for p in only:
        if p not in PHASES:
            ap.error("unknown benchmark %r (of %s)" % (p, ",".join(PHASES)))
    res = {"machine": machine(), "quick": a.quick, "only": only}
    t_start = time.monotonic()
    w = World(a.quick)
    try:
        res["repo"] = {"files": w.repo_files, "commits": w.repo_commits}
        w.start_peers()
        time.sleep(1)
        measure_idle(w, res, "idle")
        if "git" in only:
            bench_git(w, res)
        if "protocol" in only:
            bench_protocol(w, res)
        if "gateway" in only:
            bench_gateway(w, res)
        if "control" in only:
            bench_control(w, res)
        if "session" in only:
            bench_session(w, res)
        if "egress" in only:
            bench_egress(w, res)
        if "mail" in only:
            bench_mail(w, res)
        if "terminal" in only:
            bench_terminal(w, res)
        if "intercept" in only:
            bench_intercept(w, res)
        if "audit" in only:
            bench_audit(w, res)
        measure_idle(w, res, "after")
        res["memory"]["qmsd_smaps"] = smaps_breakdown(w.d.pid)
        res["memory"]["hwm"] = {"qmsd": proc_status(w.d.pid, "VmHWM")}
        for k, p in w.peers.items():
            res["memory"]["hwm"][k] = proc_status(p.pid, "VmHWM")
    finally:
        res["machine"]["loadavg_end"] = open(
            "/proc/loadavg").read().split()[:3]
        w.close()
    res["elapsed_s"] = time.monotonic() - t_start
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump(res, f, indent=1, sort_keys=True)
    import report
    report.write(res, a.out)
    log("done in %.0f s; %s written" % (
        res["elapsed_s"], os.path.join(a.out, "RESULTS.md")))


if __name__ == "__main__":
    main()
