#!/usr/bin/env python3
"""What issue 13's guards cost a git_exec call, for two builds in one run
on one repository: the build before them (--old) and the build with them
(--new).  The guards on the path of every call are Landlock (two system
calls in the child before exec, the ruleset made once per configuration)
and the header checks of the HTTP listener; a call that stages files
(add, commit -a, stash) also runs a probe first (git status
--porcelain=v2), which is a second git.

  git-guard.py --old BUILD_DIR [--new BUILD_DIR] [-n COUNT]

Each build's qmsd runs in turn on the same repository of 4000 files; for
each operation, COUNT calls alternate with the same plain git run by
spawn.c, and the median of the differences is qmsd's overhead over plain
git.  The overheads and their ratios new/old are reported, never asserted.
"""
import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402  (make_repo, spawnbench, call, the builds)
import qmsdtest  # noqa: E402

OPS = [
    # (label, git_exec command, plain git argv)
    ("status", "status", ["git", "status"]),
    ("add src/m000/f0000.c (probed)", "add src/m000/f0000.c",
     ["git", "add", "src/m000/f0000.c"]),
]


def measure(build, repo, n):
    qmsdtest.QMSD = os.path.join(build, "daemon", "qmsd")
    d = qmsdtest.Daemon(config="[qmsd]\nproject-root = %s\n" % repo,
                        project=repo)
    out = {"build": build}
    try:
        with open(os.path.join(d.dir, "state", "host.token")) as f:
            tok = f.read().strip()
        hdr = {"Authorization": "Bearer " + tok,
               "Content-Type": "application/json",
               "Accept": "application/json"}
        conn = http.client.HTTPConnection("127.0.0.1", d.http_port,
                                          timeout=60)
        for label, cmd, argv in OPS:
            body = bench.call("git_exec", {"command": cmd})
            diffs = []
            for i in range(n + 10):
                t0 = time.perf_counter()
                conn.request("POST", "/git/mcp", body=body, headers=hdr)
                text = conn.getresponse().read()
                tq = (time.perf_counter() - t0) * 1000
                assert b'"isError":false' in text, text[:300]
                tg = bench.spawnbench(argv, 1, 1, 0, repo)[
                    "samples_us"][0] / 1000
                if i >= 10:
                    diffs.append(tq - tg)
            out[label] = {"overhead_ms_median": statistics.median(diffs),
                          "n": len(diffs)}
        conn.close()
    finally:
        d.close()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--old", required=True,
                    help="a build of the code before the guards")
    ap.add_argument("--new", default=bench.BUILD)
    ap.add_argument("-n", type=int, default=200)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="qmsd-git-guard.")
    os.chmod(tmp, 0o755)
    try:
        bench.SPAWN = os.path.join(tmp, "spawn")
        subprocess.run(["cc", "-O2", "-o", bench.SPAWN,
                        os.path.join(HERE, "spawn.c")], check=True)
        repo = os.path.join(tmp, "repo")
        bench.make_repo(repo, commits=20)
        res = {"old": measure(os.path.abspath(a.old), repo, a.n),
               "new": measure(os.path.abspath(a.new), repo, a.n)}
        for label, _, _ in OPS:
            o = res["old"][label]["overhead_ms_median"]
            w = res["new"][label]["overhead_ms_median"]
            res[label + ": new - old, ms"] = w - o
        print(json.dumps(res, indent=1, sort_keys=True))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
