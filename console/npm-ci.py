#!/usr/bin/env python3
"""Build step: `npm ci` the pinned xterm.js packages (console/package.json,
console/package-lock.json) into the build directory, never the source tree,
and copy out the three files the console serves.

usage: npm-ci.py OUTDIR package.json package-lock.json"""
import os
import shutil
import subprocess
import sys

FILES = (
    ("@xterm/xterm/lib/xterm.js", "xterm.js"),
    ("@xterm/xterm/css/xterm.css", "xterm.css"),
    ("@xterm/addon-fit/lib/addon-fit.js", "addon-fit.js"),
)


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    out, pkg, lock = sys.argv[1:]
    work = os.path.join(out, "console-npm")
    os.makedirs(work, exist_ok=True)
    shutil.copyfile(pkg, os.path.join(work, "package.json"))
    shutil.copyfile(lock, os.path.join(work, "package-lock.json"))
    # No install scripts run; the lock's integrity hashes are checked.
    subprocess.run(["npm", "ci", "--ignore-scripts", "--no-audit",
                    "--no-fund", "--loglevel=error"], cwd=work, check=True,
                   stdout=sys.stderr)
    for src, dst in FILES:
        shutil.copyfile(os.path.join(work, "node_modules", src),
                        os.path.join(out, dst))


if __name__ == "__main__":
    main()
