#!/usr/bin/env python3
"""The README's Quick start and "A complete example for a QMS repository",
followed literally on a fresh machine, end with a working agent.

The fresh machine is made of namespaces: a mount namespace in which /etc,
/home, /root and /var/lib are overlays of this machine's (so useradd,
/etc/qmsd and /var/lib/qmsd are the namespace's alone) and /run is empty,
and a network namespace with loopback alone, in which a dockerd of its own
runs with Docker's defaults (the default bridge; nothing can leave, since
the namespace has no other interface).  In it: a user alice and her QMS
repository /home/alice/pipe-dream with the qms-cli and flow-state
submodules (qms-cli is tests/fixtures/qms-cli, a stand-in server started
by the same command), and a copy of this checkout in /root/qmsd.

The README's shell blocks run there as they are, with two exceptions the
namespace forces: a command the README runs in the foreground (qmsd -f)
runs in the background while the next block runs "in another terminal",
and `sh docker/build-image.sh` talks to the suite's dockerd, which can
reach apt and npm (the build hits its cache: the suite built the same
image with the same script), after which the image is loaded into the
namespace's dockerd."""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmsdtest import contains, eq, main
from test_image import pinned_claude

TOP = os.path.realpath(os.path.join(os.path.dirname(
    os.path.abspath(__file__)), "..", ".."))
HERE = os.path.abspath(__file__)


def readme_blocks(heading):
    """The ```sh blocks of the README section under HEADING."""
    with open(os.path.join(TOP, "README.md")) as f:
        text = f.read()
    m = re.search(r"^## %s\n(.*?)(?=^## )" % re.escape(heading), text,
                  re.S | re.M)
    assert m, "README has no section %r" % heading
    return re.findall(r"^```sh\n(.*?)^```", m.group(1), re.S | re.M)


def sh(cmd, cwd="/root/qmsd", env=None, timeout=600, check=True):
    r = subprocess.run(["sh", "-ec", cmd], cwd=cwd, env=env,
                       capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    if check and r.returncode != 0:
        raise AssertionError("%r: exit %d\n%s%s" % (cmd, r.returncode,
                                                   r.stdout, r.stderr))
    return r


def background(cmd, log):
    """A command the README runs in the foreground, in a terminal."""
    f = open(log, "w")
    return subprocess.Popen(["sh", "-ec", cmd], cwd="/root/qmsd",
                            stdout=f, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL,
                            start_new_session=True)


def interrupt(p, log):
    """Ctrl-C, as the README says."""
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGINT)
    try:
        p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        raise AssertionError("qmsd did not stop on Ctrl-C:\n" + tail(log))


def tail(log, n=30):
    try:
        with open(log) as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


def wait_status(p, log, want, timeout):
    """qmsctl status, as the README shows it, until WANT is in it."""
    deadline = time.time() + timeout
    out = ""
    while time.time() < deadline:
        if p.poll() is not None:
            raise AssertionError("qmsd exited (%d):\n%s" % (p.returncode,
                                                           tail(log)))
        r = sh("build/dev/client/qmsctl status", check=False)
        out = r.stdout + r.stderr
        if all(re.search(w, out) for w in want):
            return out
        time.sleep(0.5)
    raise AssertionError("status never showed %r:\n%s\nqmsd:\n%s"
                         % (want, out, tail(log)))


def make_machine(t):
    """The fresh machine: run inside unshare --mount --net."""
    for cmd in (["mount", "--make-rprivate", "/"],
                ["ip", "link", "set", "lo", "up"]):
        subprocess.run(cmd, check=True)
    suite = os.environ["DOCKER_HOST"][len("unix://"):]
    os.makedirs(t + "/suite")
    subprocess.run(["mount", "--bind", os.path.dirname(suite),
                    t + "/suite"], check=True)
    for d in ("/etc", "/home", "/root", "/var/lib"):
        up, work = t + "/up" + d.replace("/", "-"), t + "/wk" + \
            d.replace("/", "-")
        os.makedirs(up)
        os.makedirs(work)
        subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                        "lowerdir=%s,upperdir=%s,workdir=%s" % (d, up, work),
                        d], check=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=755", "tmpfs",
                    "/run"], check=True)
    # What a fresh machine does not have (the overlays show this one's).
    for d in ("/var/lib/qmsd", "/etc/qmsd", "/var/lib/docker"):
        shutil.rmtree(d, ignore_errors=True)
    # Docker on a disk of its own: overlay2 cannot stack on an overlay.
    os.makedirs(t + "/docker")
    os.makedirs("/var/lib/docker")
    subprocess.run(["mount", "--bind", t + "/docker", "/var/lib/docker"],
                   check=True)
    return "unix://%s/suite/%s" % (t, os.path.basename(suite))


def start_docker(t):
    log = open(t + "/dockerd.log", "w")
    p = subprocess.Popen(["dockerd"], stdout=log, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL, start_new_session=True)
    env = dict(os.environ, DOCKER_HOST="unix:///run/docker.sock")
    for _ in range(600):
        if subprocess.run(["docker", "version"], env=env,
                          capture_output=True).returncode == 0:
            return p
        if p.poll() is not None:
            break
        time.sleep(0.1)
    raise AssertionError("dockerd did not start:\n" + tail(t + "/dockerd.log"))


def stop_docker(p):
    env = dict(os.environ, DOCKER_HOST="unix:///run/docker.sock")
    ids = subprocess.run(["docker", "ps", "-aq"], env=env,
                         capture_output=True, text=True).stdout.split()
    if ids:
        subprocess.run(["docker", "rm", "-f"] + ids, env=env,
                       capture_output=True)
    p.terminate()
    try:
        p.wait(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def as_alice(cmd):
    r = subprocess.run(["runuser", "-u", "alice", "--", "env",
                        "HOME=/home/alice", "sh", "-ec", cmd],
                       cwd="/home/alice", capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=120)
    eq(r.returncode, 0, "as alice: %s\n%s" % (cmd, r.stderr))


def make_qms_repository():
    """alice and her QMS repository, with its two submodules."""
    sh("useradd --create-home --shell /bin/bash alice", cwd="/")
    src = "/home/alice/src"
    os.makedirs(src + "/qms-cli")
    shutil.copytree(os.path.join(TOP, "tests", "fixtures", "qms-cli"),
                    src + "/qms-cli", dirs_exist_ok=True)
    os.makedirs(src + "/flow-state")
    with open(src + "/flow-state/README.md", "w") as f:
        f.write("flow state\n")
    shutil.chown(src, "alice", "alice")
    sh("chown -R alice:alice /home/alice/src", cwd="/")
    as_alice("git config --global user.name alice; "
             "git config --global user.email alice@example.org; "
             "git config --global init.defaultBranch main; "
             "git config --global protocol.file.allow always; "
             "for r in qms-cli flow-state; do "
             "git -C src/$r init -q; git -C src/$r add -A; "
             "git -C src/$r commit -qm init; done; "
             "git init -q pipe-dream; cd pipe-dream; "
             "echo '# pipe dream' > README.md; "
             "git submodule -q add /home/alice/src/qms-cli qms-cli; "
             "git submodule -q add /home/alice/src/flow-state flow-state; "
             "git add -A; git commit -qm 'a QMS repository'")


def copy_checkout():
    """This checkout as it is (what git knows, changes included)."""
    files = subprocess.run(["git", "-C", TOP, "ls-files", "-z", "-c", "-o",
                            "--exclude-standard"], capture_output=True,
                           check=True).stdout.split(b"\0")
    for name in files:
        if not name:
            continue
        name = name.decode()
        src = os.path.join(TOP, name)
        if not os.path.isfile(src) or os.path.islink(src):
            continue
        dst = os.path.join("/root/qmsd", name)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(src, dst)


def quick_start(t):
    block = readme_blocks("Quick start")[0]
    lines = [l for l in block.splitlines() if l and not l.startswith("#")]
    eq(len(lines), 2, "the Quick start has two commands")
    log = t + "/quick-start.log"
    p = background(lines[0], log)
    try:
        # Building takes a while on two cores.
        out = wait_status(p, log, [r"docker +ready", r"agent:claude +missing"],
                          900)
        with open(os.path.join(TOP, "README.md")) as f:
            readme = f.read()
        shown = re.findall(r"(?m)^(control|qms-mcp|http|git|gateway|docker|"
                           r"agent:claude) +(\w+)", readme)
        for comp, state in shown:
            contains(out, comp, "the README's status rows")
        contains(out, "qms-mcp          disabled", "no qms-cli in qmsd")
    finally:
        interrupt(p, log)


def complete_example(t, suite):
    first, second = readme_blocks("A complete example for a QMS repository")
    lines = first.rstrip("\n").split("\n")
    fg = lines.pop()
    eq(fg, "build/dev/daemon/qmsd -f", "the example ends in the foreground")
    build = [l for l in lines if "docker/build-image.sh" in l]
    eq(len(build), 1, "one image build")
    # The Claude Code the suite's image has, so that the build is the
    # suite's, from its cache.
    benv = dict(os.environ, DOCKER_HOST=suite,
                CLAUDE_CODE_VERSION=pinned_claude())
    r = sh(build[0], env=benv, timeout=1500)
    sh("docker -H %s save qms-agent:latest | docker -H unix:///run/docker.sock"
       " load -q" % suite, timeout=600)
    rest = "\n".join(l for l in lines if l not in build)
    r = sh(rest, env=dict(os.environ, DOCKER_HOST="unix:///run/docker.sock"))
    contains(r.stdout + r.stderr, "configuration OK", "qmsd -n")
    log = t + "/qmsd.log"
    env = dict(os.environ)
    env.pop("DOCKER_HOST", None)
    p = subprocess.Popen(["sh", "-ec", fg], cwd="/root/qmsd", env=env,
                         stdout=open(log, "w"), stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_status(p, log, [r"qms-mcp +ready", r"docker +ready",
                             r"gateway +ready"], 120)
        exec_line, session_line = [l for l in second.splitlines() if l]
        r = sh(exec_line, env=env, timeout=300)
        out = r.stdout
        assert re.search(r"qms: .*/qms/mcp .*Connected", out), out
        assert re.search(r"git: .*/git/mcp .*Connected", out), out
        # What the README says of the container.
        r = sh("build/dev/client/qmsctl exec claude -- sh -c 'whoami; "
               "cd /projects && git init -q x && cd x && git commit -q "
               "--allow-empty -m hi && git log --format=%an'", env=env)
        eq(r.stdout.split()[0], "claude", "whoami")
        contains(r.stdout, "claude", "a commit in /projects has its name")
        # The session, in a terminal: Claude Code's screen in tmux.
        sock = "readme-" + str(os.getpid())
        tm = ["tmux", "-L", sock]
        subprocess.run(tm + ["new-session", "-d", "-x", "100", "-y", "30",
                             "cd /root/qmsd && " + session_line +
                             "; echo EXIT=$?; sleep 600"], check=True)
        try:
            deadline = time.time() + 90
            screen = ""
            while time.time() < deadline:
                screen = subprocess.run(tm + ["capture-pane", "-p"],
                                        capture_output=True,
                                        text=True).stdout
                if re.search(r"Claude Code|claude", screen) and \
                        "[agent]" in screen:
                    break
                time.sleep(0.5)
            else:
                raise AssertionError("no Claude in the session:\n" + screen)
            subprocess.run(tm + ["send-keys", "C-b", "d"])
            deadline = time.time() + 30
            while time.time() < deadline and "EXIT=" not in screen:
                screen = subprocess.run(tm + ["capture-pane", "-p"],
                                        capture_output=True,
                                        text=True).stdout
                time.sleep(0.2)
            contains(screen, "EXIT=0", "detached")
        finally:
            subprocess.run(tm + ["kill-server"], capture_output=True)
    finally:
        interrupt(p, log)


def inner(t):
    suite = make_machine(t)
    del os.environ["DOCKER_HOST"]      # a fresh machine has none
    dockerd = start_docker(t)
    try:
        make_qms_repository()
        copy_checkout()
        quick_start(t)
        complete_example(t, suite)
    finally:
        stop_docker(dockerd)


def test_quick_start_and_complete_example():
    if os.getuid() != 0:
        print("needs root, to make a fresh machine of namespaces")
        sys.exit(77)
    host = os.environ.get("DOCKER_HOST", "")
    if not host.startswith("unix://") or subprocess.run(
            ["docker", "version"], capture_output=True).returncode != 0:
        print("no dockerd (tests/run-all.sh starts one)")
        sys.exit(77)
    t = tempfile.mkdtemp(prefix="qmsd-readme.", dir="/var/tmp")
    try:
        r = subprocess.run(["unshare", "--mount", "--net", "--pid", "--fork",
                            "--mount-proc", "--", sys.executable,
                            HERE, "--inner", t], timeout=1700)
        eq(r.returncode, 0, "the README, followed (output above)")
    finally:
        subprocess.run(["umount", "-R", t + "/docker"], capture_output=True)
        shutil.rmtree(t, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--inner"]:
        try:
            inner(sys.argv[2])
        except Exception:
            import traceback
            traceback.print_exc()
            for log in ("qmsd.log", "quick-start.log", "dockerd.log"):
                print("--- %s:\n%s" % (log, tail(os.path.join(
                    sys.argv[2], log))))
            sys.exit(1)
        sys.exit(0)
    main(globals())
