#!/usr/bin/env python3
"""docker/Dockerfile, really built: on a Debian base made here with
debootstrap (no registry is reachable), with host networking for apt and
npm.  The image is tagged qms-agent-test:latest, the one the agent, session
and gateway tests run, so they run against what users build."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmsdtest import contains, eq, main
from test_agent import IMAGE, docker, need_docker

TOP = os.path.realpath(os.path.join(os.path.dirname(
    os.path.abspath(__file__)), "..", ".."))


def pinned_claude():
    with open(os.path.join(TOP, "tests", "node", "package-lock.json")) as f:
        lock = json.load(f)
    return lock["packages"]["node_modules/@anthropic-ai/claude-code"][
        "version"]


def test_dockerfile_builds_agent_image():
    need_docker()
    r = subprocess.run(["sh", os.path.join(TOP, "tests", "fixtures",
                                           "build-agent-image.sh"), IMAGE],
                       capture_output=True, text=True, timeout=1500)
    eq(r.returncode, 0, "build-agent-image.sh: " + r.stdout + r.stderr)
    info = json.loads(docker("image", "inspect", IMAGE).stdout)[0]
    eq(info["Config"]["Cmd"], ["sleep", "infinity"], "only keeps alive")
    eq(info["Config"]["User"], "agent", "not root by default")
    env = dict(e.split("=", 1) for e in info["Config"]["Env"])
    eq(env.get("LANG"), "C.UTF-8", "a UTF-8 locale for tmux")
    eq("DEBIAN_FRONTEND" in env, False, "build-only settings stay out")
    history = docker("history", "--no-trunc", IMAGE).stdout
    contains(history, "npm install -g", "made by docker/Dockerfile")
    # What a session needs, as the image's own user...
    out = docker("run", "--rm", "--network", "none", IMAGE, "sh", "-c",
                 "id -u; claude --version; tmux -V; git --version; "
                 "gh --version; stat -c %a /claude-config /projects; "
                 "command -v node npm || echo no-node").stdout
    lines = out.splitlines()
    eq(lines[0], "1000", "the agent user")
    contains(out, "%s (Claude Code)" % pinned_claude(), "claude")
    for w in ("tmux 3", "git version 2", "gh version 2", "1777\n1777",
              "no-node"):
        contains(out, w, "in the image")
    # ...and as the uid qmsd gives it, with HOME where qmsd puts it.
    out = docker("run", "--rm", "--network", "none", "--user", "4242:4242",
                 "-e", "HOME=/claude-config", IMAGE, "sh", "-c",
                 "claude --version && touch /claude-config/x && echo ok"
                 ).stdout
    eq(out.split()[-1], "ok", "an unknown uid runs claude")
    contains(out, pinned_claude(), "claude as that uid")


if __name__ == "__main__":
    main(globals())
