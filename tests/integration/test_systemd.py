#!/usr/bin/env python3
"""qmsd under a real systemd: a Debian 12 container that boots systemd as
PID 1, where qmsd is installed with meson install from this build, as the
README says, and run as qmsd.service and qmsd.socket.

The container shares the host's network (qmsd listens on a loopback port)
and has every capability this machine grants but CAP_SYS_RESOURCE, which
the sandbox withholds, so --privileged cannot be used."""
import os
import re
import secrets
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmsdtest import contains, eq, free_port, main
from test_agent import docker, need_docker

TOP = os.path.realpath(os.path.join(os.path.dirname(
    os.path.abspath(__file__)), "..", ".."))
BASE = "qms-debian:bookworm"
IMAGE = "qms-systemd-test:latest"


def build_image():
    r = subprocess.run(["sh", os.path.join(TOP, "docker", "debian-base.sh"),
                        BASE],
                       capture_output=True, text=True)
    eq(r.returncode, 0, "debian-base.sh: " + r.stderr)
    r = subprocess.run(["docker", "build", "-q", "--network", "host",
                        "--build-arg", "BASE=" + BASE, "-t", IMAGE,
                        os.path.join(TOP, "tests", "fixtures",
                                     "systemd-image")],
                       capture_output=True, text=True, timeout=900)
    eq(r.returncode, 0, "docker build: " + r.stdout + r.stderr)


class Machine:
    def __init__(self):
        need_docker()
        build_image()
        self.name = "qmsd-systemd-" + secrets.token_hex(3)
        self.port = free_port()
        docker("run", "-d", "--name", self.name,
               "--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE",
               "--security-opt", "seccomp=unconfined",
               "--security-opt", "apparmor=unconfined",
               "--cgroupns", "private", "--network", "host",
               "--tmpfs", "/run", "--tmpfs", "/run/lock", "--tmpfs", "/tmp",
               "-v", "%s:%s" % (TOP, TOP), IMAGE)
        try:
            # Until systemd listens, systemctl cannot even ask.
            deadline = time.time() + 60
            while True:
                r = self.sh("systemctl is-system-running", check=False)
                state = r.stdout.strip()
                if state in ("running", "degraded"):
                    break
                if time.time() > deadline:
                    raise AssertionError("systemd did not boot: %s%s %s" % (
                        r.stdout, r.stderr, self.sh(
                            "systemctl --failed --no-pager",
                            check=False).stdout))
                time.sleep(0.2)
            # Installed as the README says, from the build under test.
            self.sh("meson install --no-rebuild --quiet -C %s" %
                    os.environ["QMSD_BUILD_ROOT"])
            self.sh("systemd-sysusers && systemd-tmpfiles --create "
                    "&& systemctl daemon-reload")
            # A project owned by a user, and a configuration for it.
            self.sh("useradd -m alice && useradd -m -G qms carol "
                    "&& useradd -m bob && mkdir -p /srv/repo /etc/qmsd "
                    "&& chown alice: /srv/repo "
                    "&& su alice -c 'git init -q /srv/repo'")
            self.config("[qmsd]\nproject-root = /srv/repo\n"
                        "[http]\nlisten = 127.0.0.1:%d\n" % self.port)
        except BaseException:
            self.close()
            raise

    def sh(self, script, check=True):
        r = subprocess.run(["docker", "exec", self.name, "sh", "-c",
                            script], capture_output=True, text=True,
                           timeout=120)
        if check and r.returncode != 0:
            raise AssertionError("%s: exit %d: %s%s" % (
                script, r.returncode, r.stdout, r.stderr))
        return r

    def config(self, text):
        self.sh("cat > /etc/qmsd/qmsd.conf <<'EOF'\n%sEOF" % text)

    def show(self, unit, *props):
        out = self.sh("systemctl show %s %s" % (
            " ".join("-p " + p for p in props), unit)).stdout
        return dict(l.split("=", 1) for l in out.splitlines() if "=" in l)

    def wait_for(self, what, pred, timeout=30):
        deadline = time.time() + timeout
        while True:
            got = pred()
            if got:
                return got
            if time.time() > deadline:
                raise AssertionError("%s never happened; journal:\n%s" % (
                    what, self.sh("journalctl --no-pager -n 30 -u qmsd "
                                  "-u qmsd.socket", check=False).stdout))
            time.sleep(0.2)

    def close(self):
        docker("rm", "-f", self.name, check=False)


def test_start_status_reload_stop():
    m = Machine()
    try:
        m.sh("systemctl start qmsd")
        eq(m.show("qmsd", "ActiveState")["ActiveState"], "active", "start")
        r = m.sh("qmsctl status", check=False)
        eq(r.returncode, 0, "qmsctl status: " + r.stdout + r.stderr)
        contains(r.stdout, "project  /srv/repo (run as alice)", "status")
        contains(r.stdout, "listening on 127.0.0.1:%d" % m.port, "http")
        pid = m.show("qmsd", "MainPID")["MainPID"]
        # reload: the same process, the new configuration
        m.config("[qmsd]\nproject-root = /srv/repo\nlog-level = debug\n"
                 "[http]\nlisten = 127.0.0.1:%d\n" % m.port)
        m.sh("systemctl reload qmsd")
        eq(m.show("qmsd", "MainPID", "ActiveState"),
           {"MainPID": pid, "ActiveState": "active"}, "after reload")
        # a bad file: reload fails, saying where, and qmsd runs on
        m.config("[qmsd]\nproject-root = /srv/repo\nlog-level = loud\n")
        r = m.sh("systemctl reload qmsd", check=False)
        if r.returncode == 0:
            raise AssertionError("reload of a bad file succeeded")
        log = m.sh("journalctl --no-pager -u qmsd").stdout
        contains(log, "/etc/qmsd/qmsd.conf:3:", "the file and line")
        eq(m.show("qmsd", "MainPID", "ActiveState"),
           {"MainPID": pid, "ActiveState": "active"}, "after a bad reload")
        eq(m.sh("qmsctl status", check=False).returncode, 0, "status")
        # stop: a clean exit, and nothing left behind
        m.sh("systemctl stop qmsd")
        eq(m.show("qmsd", "ActiveState", "Result", "ExecMainStatus"),
           {"ActiveState": "inactive", "Result": "success",
            "ExecMainStatus": "0"}, "after stop")
        eq(m.sh("pgrep -x qmsd", check=False).stdout, "", "no qmsd")
    finally:
        m.close()


def test_watchdog_restarts_a_stopped_loop():
    m = Machine()
    try:
        # The unit's 30s, made short for the test by a drop-in.
        m.sh("mkdir -p /etc/systemd/system/qmsd.service.d && printf "
             "'[Service]\\nWatchdogSec=2s\\n' > "
             "/etc/systemd/system/qmsd.service.d/watchdog.conf && "
             "systemctl daemon-reload && systemctl start qmsd")
        pid = m.show("qmsd", "MainPID")["MainPID"]
        # Pings come from the loop: a qmsd that runs stays up.
        time.sleep(5)
        eq(m.show("qmsd", "MainPID", "NRestarts"),
           {"MainPID": pid, "NRestarts": "0"}, "pinged while running")
        m.sh("kill -STOP %s" % pid)
        m.wait_for("a restart", lambda: m.show(
            "qmsd", "NRestarts")["NRestarts"] == "1" and m.show(
            "qmsd", "ActiveState")["ActiveState"] == "active")
        contains(m.sh("journalctl --no-pager -u qmsd").stdout,
                 "Watchdog timeout", "the watchdog's doing")
        if m.show("qmsd", "MainPID")["MainPID"] == pid:
            raise AssertionError("the same process")
        eq(m.sh("qmsctl status", check=False).returncode, 0, "status")
    finally:
        m.close()


def test_socket_activation_on_first_status():
    m = Machine()
    try:
        m.sh("systemctl start qmsd.socket")
        eq(m.show("qmsd", "ActiveState")["ActiveState"], "inactive",
           "not yet started")
        eq(m.sh("stat -c '%a %U %G' /run/qmsd/qmsd.sock").stdout,
           "660 root qms\n", "the socket systemd made")
        # a member of qms: the first request starts qmsd, and is answered
        r = m.sh("su carol -c 'qmsctl status'", check=False)
        eq(r.returncode, 0, "status as a member of qms: " + r.stdout +
           r.stderr)
        contains(r.stdout, "(socket activation)", "the socket was passed")
        eq(m.show("qmsd", "ActiveState")["ActiveState"], "active", "started")
        # anyone else cannot even connect
        r = m.sh("su bob -c 'qmsctl status'", check=False)
        eq(r.returncode, 3, "bob, not in qms: UNKNOWN")
        contains(r.stdout, "UNKNOWN: cannot connect to qmsd at "
                 "/run/qmsd/qmsd.sock: Permission denied", "bob's answer")
        # stopped, the service starts again on the next request
        m.sh("systemctl stop qmsd")
        eq(m.sh("qmsctl status", check=False).returncode, 0, "again")
        eq(m.show("qmsd", "ActiveState")["ActiveState"], "active", "again")
    finally:
        m.close()


def doc_commands(section):
    """The commands (lines "# ...") of the first literal block under the
    subsection SECTION of qmsd(8), as a reader would type them."""
    with open(os.path.join(TOP, "docs", "qmsd.8")) as f:
        text = f.read()
    m = re.search(r"^\.Ss %s\n(?:(?!^\.S[sh] ).)*?^\.Bd -literal[^\n]*\n"
                  r"(.*?)^\.Ed$" % re.escape(section), text, re.M | re.S)
    if m is None:
        raise AssertionError("qmsd(8) has no literal block under " + section)
    return [l[2:] for l in m.group(1).splitlines() if l.startswith("# ")]


def test_without_systemd_as_pid1():
    """qmsd(8), "Without systemd", followed literally in a container whose
    PID 1 is not systemd: no sysusers, no tmpfiles, no socket unit."""
    need_docker()
    build_image()
    commands = doc_commands("Without systemd")
    eq(commands[-1].split()[:2], ["qmsd", "-f"], "the block ends with qmsd")
    name = "qmsd-nosystemd-" + secrets.token_hex(3)
    port = free_port()
    docker("run", "-d", "--name", name, "--network", "host",
           "--tmpfs", "/run", "--tmpfs", "/tmp", "-v", "%s:%s" % (TOP, TOP),
           IMAGE, "sleep", "infinity")

    def sh(script, check=True):
        r = subprocess.run(["docker", "exec", name, "sh", "-c", script],
                           capture_output=True, text=True, timeout=120)
        if check and r.returncode != 0:
            raise AssertionError("%s: exit %d: %s%s" % (
                script, r.returncode, r.stdout, r.stderr))
        return r
    try:
        eq(sh("cat /proc/1/comm").stdout, "sleep\n", "PID 1")
        sh("meson install --no-rebuild --quiet -C %s" %
           os.environ["QMSD_BUILD_ROOT"])
        sh("useradd -m alice && useradd -m carol && useradd -m bob "
           "&& mkdir -p /srv/repo /etc/qmsd && chown alice: /srv/repo "
           "&& su alice -c 'git init -q /srv/repo'")
        sh("cat > /etc/qmsd/qmsd.conf <<'EOF'\n[qmsd]\nproject-root = "
           "/srv/repo\n[http]\nlisten = 127.0.0.1:%d\nEOF" % port)
        # As typed at a root prompt; qmsd's standard output let go, or
        # docker exec would wait for it.
        sh("exec </dev/null >/dev/null\n" + "\n".join(commands))
        sh("usermod -aG qms carol")
        deadline = time.time() + 30
        while True:
            r = sh("su carol -c 'qmsctl status'", check=False)
            if r.returncode == 0 or time.time() > deadline:
                break
            time.sleep(0.2)
        eq(r.returncode, 0, "status as a member of qms: " + r.stdout +
           r.stderr + sh("cat /var/log/qmsd.log", check=False).stdout)
        contains(r.stdout, "project  /srv/repo (run as alice)", "status")
        contains(r.stdout, "listening on /run/qmsd/qmsd.sock\n",
                 "a socket qmsd made, not one passed to it")
        eq(sh("stat -c '%a %U %G' /run/qmsd/qmsd.sock /run/qmsd "
              "/var/lib/qmsd").stdout,
           "660 root qms\n755 root root\n700 root root\n", "modes")
        r = sh("su bob -c 'qmsctl status'", check=False)
        eq(r.returncode, 3, "bob, not in qms: UNKNOWN")
        log = sh("cat /var/log/qmsd.log").stdout
        contains(log, "qmsd: info: ", "its log, as lines")
        # Reloaded by SIGHUP, and stopped by TERM, as under systemd.
        sh("pkill -HUP -x qmsd")
        deadline = time.time() + 10
        while "reload" not in sh("cat /var/log/qmsd.log").stdout:
            if time.time() > deadline:
                raise AssertionError("no reload in the log: " + log)
            time.sleep(0.2)
        sh("pkill -TERM -x qmsd")
        deadline = time.time() + 10
        while sh("test -e /run/qmsd/qmsd.sock", check=False).returncode == 0:
            if time.time() > deadline:
                raise AssertionError("qmsd did not stop")
            time.sleep(0.2)
    finally:
        docker("rm", "-f", name, check=False)


if __name__ == "__main__":
    main(globals())
