#!/usr/bin/env python3
"""qmsd's own CPU per `qmsctl exec AGENT -- true`, for two builds in one
run on one repository of 4000 files (issue 12): `up` and `exec` used to
walk the whole repository for .env files on the loop each time; the
list is now kept and watched with inotify.

  exec-cpu.py [--old BUILD_DIR] [--new BUILD_DIR] [-n COUNT]

Each build's qmsd runs in turn with one agent on the same repository;
after a warm-up, COUNT execs run one at a time and qmsd's CPU time (every
thread's, from /proc/PID/task/*/schedstat, in nanoseconds) is divided by
COUNT.  A ratio new/old is reported, never asserted.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import shutil
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import bench  # noqa: E402  (make_repo, docker, the image)
import qmsdtest  # noqa: E402


def cpu_ns(pid):
    """Every thread's time on a CPU so far, in ns."""
    total = 0
    for t in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/schedstat" % (pid, t)) as f:
            total += int(f.read().split()[0])
    return total


def measure(build, repo, n, tag):
    qmsd = os.path.join(build, "daemon", "qmsd")
    qmsctl = os.path.join(build, "client", "qmsctl")
    agent = "cpu" + tag
    container = "qms-agent-" + agent
    conf = ("[qmsd]\nproject-root = %s\n[agent \"%s\"]\nimage = %s\n"
            "network = host\ncommand = sh\n" % (repo, agent, bench.IMAGE))
    bench.docker("rm", "-f", container, check=False)
    qmsdtest.QMSD = qmsd
    d = qmsdtest.Daemon(config=conf, project=repo)
    try:
        def ctl(*args):
            p = subprocess.run([qmsctl, "-S", d.socket] + list(args),
                               capture_output=True, text=True, timeout=300,
                               stdin=subprocess.DEVNULL)
            if p.returncode != 0:
                raise RuntimeError("qmsctl %s: %s" % (args, p.stderr))
        ctl("up", agent)
        cmd = ["true"]
        if bench.docker("exec", container, "true",
                        check=False).returncode != 0:
            cmd = ["sh", "-c", "true"]
        for _ in range(3):
            ctl("exec", agent, "--", *cmd)
        c0, t0 = cpu_ns(d.pid), time.monotonic()
        for _ in range(n):
            ctl("exec", agent, "--", *cmd)
        c1, t1 = cpu_ns(d.pid), time.monotonic()
    finally:
        d.close()
        bench.docker("rm", "-f", container, check=False)
        for v in ("qms-claude-config-", "qms-projects-"):
            bench.docker("volume", "rm", "-f", v + agent, check=False)
    return {"build": build, "cpu_ms_per_exec": (c1 - c0) / n / 1e6,
            "wall_ms_per_exec": (t1 - t0) / n * 1e3, "n": n}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--old", help="a build of the code before (BUILD_DIR)")
    ap.add_argument("--new", default=bench.BUILD)
    ap.add_argument("-n", type=int, default=100)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="qmsd-exec-cpu.")
    os.chmod(tmp, 0o755)
    try:
        repo = os.path.join(tmp, "repo")
        files, _ = bench.make_repo(repo, commits=20)
        dirs = sum(1 for _ in os.walk(repo))
        res = {"repo_files": files, "repo_dirs": dirs}
        if a.old:
            res["old"] = measure(os.path.abspath(a.old), repo, a.n, "old")
        res["new"] = measure(os.path.abspath(a.new), repo, a.n, "new")
        if a.old:
            res["ratio_new_old"] = (res["new"]["cpu_ms_per_exec"] /
                                    res["old"]["cpu_ms_per_exec"])
        print(json.dumps(res, indent=1, sort_keys=True))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
