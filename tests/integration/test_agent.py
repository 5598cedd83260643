#!/usr/bin/env python3
"""Agent containers against a real dockerd (tests/dockerd.sh) and the
image built from docker/Dockerfile (test_image.py)."""
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmsdtest import QMSCTL, Daemon, component, contains, eq, main, wait_state

IMAGE = "qms-agent-test:latest"
HERE = os.path.dirname(os.path.abspath(__file__))


def docker(*args, check=True, host=None):
    env = dict(os.environ)
    if host:
        env["DOCKER_HOST"] = host
    p = subprocess.run(["docker"] + list(args), capture_output=True,
                       text=True, env=env, timeout=120)
    if check and p.returncode != 0:
        raise AssertionError("docker %s: %s" % (" ".join(args), p.stderr))
    return p


def need_docker():
    if not os.environ.get("DOCKER_HOST") or docker(
            "version", check=False).returncode != 0:
        print("no dockerd (tests/run-all.sh starts one)")
        sys.exit(77)


class Agent:
    """A qmsd with one agent of a unique name, and a project for it owned
    by nobody, holding a secret and another agent's directory."""

    def __init__(self, extra="", image=IMAGE, start=True, network="host"):
        need_docker()
        self.name = "t" + secrets.token_hex(4)
        self.container = "qms-agent-" + self.name
        self.base = tempfile.mkdtemp(prefix="qmsd-agent.")
        os.chmod(self.base, 0o755)
        self.project = os.path.join(self.base, "repo")
        os.makedirs(os.path.join(self.project, ".claude", "users", "other"))
        with open(os.path.join(self.project, ".env"), "w") as f:
            f.write("GH_TOKEN=secret\n")
        os.makedirs(os.path.join(self.project, "sub"))
        with open(os.path.join(self.project, "sub", ".env.local"), "w") as f:
            f.write("KEY=secret\n")
        with open(os.path.join(self.project, ".claude", "users", "other",
                               "notes.md"), "w") as f:
            f.write("private\n")
        with open(os.path.join(self.project, "README.md"), "w") as f:
            f.write("readme\n")
        subprocess.run(["chown", "-R", "nobody:nogroup", self.project],
                       check=True)
        self.extra = extra
        self.image = image
        self.network = network
        self.d = Daemon(config=self.conf()) if start else None

    def conf(self, extra=None):
        return ("[qmsd]\nproject-root = %s\n[agent \"%s\"]\nimage = %s\n"
                "network = %s\n%s" % (self.project, self.name, self.image,
                                      self.network, self.extra
                                      if extra is None else extra))

    def up(self, *args):
        return self.d.ctl("up", *(list(args) + [self.name]), timeout=300)

    def row(self):
        return component(self.d, "agent:" + self.name)

    def exec(self, *cmd):
        return docker("exec", self.container, *cmd, check=False)

    def close(self):
        if self.d is not None:
            self.d.close()
        docker("rm", "-f", self.container, check=False)
        for v in ("qms-claude-config-", "qms-projects-"):
            docker("volume", "rm", "-f", v + self.name, check=False)
        shutil.rmtree(self.base, ignore_errors=True)


def test_mounts_and_identity():
    a = Agent()
    try:
        wait_state(a.d, "agent:" + a.name, "missing")
        rc, out, err = a.up()
        eq(rc, 0, "up: " + err)
        contains(out, "agent %s: running" % a.name)
        row = wait_state(a.d, "agent:" + a.name, "running")
        p = a.exec("id", "-u")
        eq(p.stdout.strip(), "65534", "the container runs as the owner")
        p = a.exec("touch", "/pipe-dream/new")
        assert p.returncode != 0 and "Read-only" in p.stderr, p.stderr
        p = a.exec("cat", "/pipe-dream/README.md")
        eq(p.stdout, "readme\n", "the repository reads")
        p = a.exec("sh", "-c", "echo hi > /pipe-dream/.claude/users/%s/"
                   "workspace/w.md" % a.name)
        eq(p.returncode, 0, "workspace write: " + p.stderr)
        ws = os.path.join(a.project, ".claude", "users", a.name,
                          "workspace", "w.md")
        eq(os.stat(ws).st_uid, 65534, "workspace file owned by the owner")
        p = a.exec("sh", "-c", "echo s > /pipe-dream/.claude/sessions/s.md")
        eq(p.returncode, 0, "sessions write")
        for secret in ("/pipe-dream/.env", "/pipe-dream/sub/.env.local"):
            p = a.exec("cat", secret)
            eq(p.stdout, "", "masked " + secret)
        p = a.exec("ls", "/pipe-dream/.claude/users/other")
        eq(p.stdout, "", "the other agent's directory is masked")
        p = a.exec("sh", "-c", "echo $HOME; touch $HOME/x && echo ok")
        eq(p.stdout, "/claude-config\nok\n", "a HOME the agent can write")
        # the generated .mcp.json carries this agent's own token
        p = a.exec("cat", "/pipe-dream/.mcp.json")
        doc = json.loads(p.stdout)
        tokfile = os.path.join(a.d.dir, "state", "agents", a.name, "token")
        with open(tokfile) as f:
            token = f.read().strip()
        eq(doc["mcpServers"]["git"]["headers"]["Authorization"],
           "Bearer " + token, "token in .mcp.json")
        eq(doc["mcpServers"]["git"]["url"], "http://127.0.0.1:%d/git/mcp"
           % a.d.http_port, "url on host networking")
        eq(oct(os.stat(tokfile).st_mode & 0o777), "0o400", "token mode")
        labels = json.loads(docker("inspect", a.container).stdout)[0][
            "Config"]["Labels"]
        eq(labels["io.qmsd.agent"], a.name, "agent label")
        assert len(labels["io.qmsd.config"]) == 16
        # nothing root-owned was left in the repository
        for dirpath, dirs, files in os.walk(a.project):
            for n in dirs + files:
                st = os.lstat(os.path.join(dirpath, n))
                eq(st.st_uid, 65534, "owner of " + os.path.join(dirpath, n))
        rc, out, err = a.d.ctl("ps")
        contains(out, a.name)
        contains(out, "running")
        # Docker's init is PID 1: down's SIGTERM ends the main process
        # (143), where "sleep infinity" as PID 1 would ignore it and wait
        # out the stop timeout for SIGKILL (137).
        eq(a.exec("cat", "/proc/1/comm").stdout, "docker-init\n", "init")
        rc, out, err = a.d.ctl("down", a.name)
        eq(rc, 0, "down: " + err)
        eq(json.loads(docker("inspect", a.container).stdout)[0]["State"][
            "ExitCode"], 143, "stopped by SIGTERM")
    finally:
        a.close()


def test_sealed_container():
    """network = none, as Docker made it: loopback only; the agent's socket
    directory alone at /run/qmsd, read-only; the relay (socat, under
    Docker's init) on 127.0.0.1:3128 as the container's command; the proxy
    variables set with the relay itself exempt, and .mcp.json pointing at
    the relay.  What answers through it: test_sealed.py."""
    a = Agent(network="none")
    try:
        rc, out, err = a.up()
        eq(rc, 0, "up: " + err)
        wait_state(a.d, "agent:" + a.name, "running")
        link = os.path.join(a.d.dir, "state", "agents", a.name, "link")
        st = os.stat(link)
        eq((st.st_uid, oct(st.st_mode & 0o777)), (65534, "0o700"),
           "the link directory: the owner's, private")
        info = json.loads(docker("inspect", a.container).stdout)[0]
        eq(info["HostConfig"]["NetworkMode"], "none", "network")
        mounts = [m for m in info["Mounts"]
                  if m["Destination"] == "/run/qmsd"]
        eq([(m["Source"], m["RW"]) for m in mounts], [(link, False)],
           "the link directory alone, read-only")
        p = a.exec("sh", "-c", "touch /run/qmsd/x")
        contains(p.stderr, "Read-only", "nothing written there")
        # loopback alone (no route out: sealed-no_way_out_but_the_socket)
        p = a.exec("sh", "-c", "tail -n +3 /proc/net/dev | cut -d: -f1")
        eq(p.stdout.split(), ["lo"], "interfaces")
        # the relay: the command, Docker's init its parent, on loopback
        p = a.exec("ps", "-eo", "pid=,ppid=,args=")
        relay = [l.split(None, 2) for l in p.stdout.splitlines()
                 if l.split(None, 2)[2].startswith("socat ")]
        eq([(r[1], r[2]) for r in relay],
           [("1", "socat TCP-LISTEN:3128,bind=127.0.0.1,reuseaddr,fork "
             "UNIX-CONNECT:/run/qmsd/qmsd.sock")], "the relay")
        p = a.exec("sh", "-c", "cat /proc/net/tcp /proc/net/tcp6 | "
                   "awk '$4 == \"0A\" {print $2}'")
        eq(p.stdout.split(), ["0100007F:0C38"], "listening: 127.0.0.1:3128")
        p = a.exec("env")
        env = dict(l.split("=", 1) for l in p.stdout.splitlines()
                   if "=" in l)
        for k in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
            eq(env.get(k), "http://127.0.0.1:3128", k)
        for k in ("NO_PROXY", "no_proxy"):
            eq(env.get(k), "127.0.0.1,localhost", k)
        doc = json.loads(a.exec("cat", "/pipe-dream/.mcp.json").stdout)
        eq([doc["mcpServers"][s]["url"] for s in ("qms", "git")],
           ["http://127.0.0.1:3128/qms/mcp",
            "http://127.0.0.1:3128/git/mcp"], "urls: the relay")
        # the relay ends, the container with it, and qmsd restarts it
        # (the exec may end with the container before it reports: 137)
        assert a.exec("pkill", "-x", "socat").returncode in (0, 137), \
            "pkill"
        wait_state(a.d, "agent:" + a.name, "running",
                   cond=lambda r: r.get("restarts", 0) >= 1, timeout=60)
    finally:
        a.close()


def test_new_secret_is_masked_at_the_next_up():
    """qmsd keeps the list of .env files between ups and watches the
    repository for changes: a secret made after a first up, whether in a
    directory it walked, in a directory made since, or renamed into
    place, must be masked by the next container all the same."""
    a = Agent()
    try:
        eq(a.up()[0], 0, "up")
        first = a.row()["container"]
        eq(a.exec("cat", "/pipe-dream/sub/.env.local").stdout, "",
           "masked before")
        # agents write their workspaces all the time: nothing to mask
        eq(a.exec("sh", "-c", "echo w > /pipe-dream/.claude/users/%s/"
                  "workspace/notes.md" % a.name).returncode, 0, "write")
        eq(a.up()[0], 0, "up again")
        eq(a.row()["container"], first, "kept: nothing changed")
        made = [os.path.join(a.project, "sub", ".env.new"),
                os.path.join(a.project, "late", "deeper", ".env"),
                os.path.join(a.project, "sub", ".env.production")]
        with open(made[0], "w") as f:
            f.write("NEW=secret\n")
        os.makedirs(os.path.dirname(made[1]))
        with open(made[1], "w") as f:
            f.write("DEEP=secret\n")
        staged = os.path.join(a.project, "sub", "staged")
        with open(staged, "w") as f:
            f.write("MOVED=secret\n")
        os.rename(staged, made[2])
        subprocess.run(["chown", "-R", "nobody:nogroup", a.project],
                       check=True)
        # status says so before anyone asks for an up (issue 14)
        wait_state(a.d, "agent:" + a.name, "running", cond=lambda r:
                   "config changed: qmsctl up --force recreates" in
                   r["detail"])
        rc, out, err = a.up()
        eq(rc, 0, "up after the new secrets: " + err)
        assert a.row()["container"] != first, "recreated with new masks"
        for path in made:
            inside = "/pipe-dream/" + os.path.relpath(path, a.project)
            p = a.exec("cat", inside)
            eq((p.returncode, p.stdout), (0, ""), "masked " + inside)
        # and one gone: the next container no longer masks it
        os.unlink(made[0])
        eq(a.up()[0], 0, "up after a secret went")
        p = a.exec("ls", "/pipe-dream/sub")
        assert ".env.new" not in p.stdout, p.stdout
    finally:
        a.close()


def test_config_volume_survives_recreate():
    a = Agent()
    try:
        eq(a.up()[0], 0, "up")
        first = a.row()["container"]
        p = a.exec("sh", "-c", "echo logged-in > /claude-config/login")
        eq(p.returncode, 0, "write /claude-config")
        tokfile = os.path.join(a.d.dir, "state", "agents", a.name, "token")
        old_token = open(tokfile).read()
        # a different configuration: the next up makes a new container
        a.d.write_config(a.conf(a.extra + "memory = 1G\n"))
        eq(a.d.ctl("reload")[0], 0, "reload")
        rc, out, err = a.up()
        eq(rc, 0, "up after the change: " + err)
        second = a.row()["container"]
        assert second != first, "recreated"
        eq(a.exec("cat", "/claude-config/login").stdout, "logged-in\n",
           "the login survives")
        assert open(tokfile).read() != old_token, "the token rotated"
        mem = json.loads(docker("inspect", a.container).stdout)[0][
            "HostConfig"]["Memory"]
        eq(mem, 1 << 30, "new memory limit")
        # unchanged: the same container stays
        eq(a.up()[0], 0, "up again")
        eq(a.row()["container"], second, "kept")
    finally:
        a.close()


def test_claude_config_seeded_and_kept():
    """Each up leaves Claude's config (/claude-config/.claude.json) saying
    its first-run screens are done and the project trusted, so that
    Claude starts without a person; whatever else the file holds (the
    login) is kept, and a file that is no JSON object is left alone."""
    a = Agent()
    try:
        eq(a.up()[0], 0, "up")

        def config():
            return json.loads(a.exec("cat", "/claude-config/.claude.json")
                              .stdout)
        doc = config()
        eq((doc["hasCompletedOnboarding"],
            doc["projects"]["/pipe-dream"]["hasTrustDialogAccepted"]),
           (True, True), "seeded")
        mine = {"oauthAccount": {"emailAddress": "a@b"},
                "hasCompletedOnboarding": False,
                "projects": {"/pipe-dream": {"allowedTools": ["x"]},
                             "/elsewhere": {"hasTrustDialogAccepted": False}}}
        eq(a.exec("sh", "-c", "cat > /claude-config/.claude.json <<'E'\n"
                  "%s\nE" % json.dumps(mine)).returncode, 0, "written")
        eq(a.up()[0], 0, "up again")
        want = json.loads(json.dumps(mine))
        want["hasCompletedOnboarding"] = True
        want["projects"]["/pipe-dream"]["hasTrustDialogAccepted"] = True
        eq(config(), want, "the agent's own content kept")
        eq(a.exec("sh", "-c", "echo '[1]' > /claude-config/.claude.json")
           .returncode, 0, "written")
        eq(a.up()[0], 0, "up with an array there")
        eq(a.exec("cat", "/claude-config/.claude.json").stdout, "[1]\n",
           "left alone")
        contains(a.d.log(), ".claude.json is not a JSON object", "log")
    finally:
        a.close()


def test_recreate_refused_while_a_session_runs():
    """A configuration changed under a running container: the next up,
    exec or session would recreate it and end a detached tmux session.
    Never implicitly (issue 14): refused, the session kept, status and
    ps say what is pending, and --force recreates."""
    a = Agent()
    try:
        eq(a.up()[0], 0, "up")
        first = a.row()["container"]
        rc, out, err = a.d.ctl("exec", a.name, "--", "tmux", "new-session",
                               "-d", "-s", "keep", "sleep", "1000")
        eq(rc, 0, "a detached tmux session: " + err)
        a.d.write_config(a.conf(a.extra + "memory = 1G\n"))
        eq(a.d.ctl("reload")[0], 0, "reload")
        # status knows before anyone asks for an up
        row = wait_state(a.d, "agent:" + a.name, "running",
                         cond=lambda r: "config changed" in r["detail"])
        contains(row["detail"], "config changed: qmsctl up --force "
                 "recreates")
        eq(row["health"], "warning", "runs on its old configuration")
        rc, out, err = a.d.ctl("ps")
        contains(out, "running, config changed: qmsctl up --force "
                 "recreates", "ps")
        ps = json.loads(a.d.ctl("ps", "--json")[1])["agents"][0]
        eq((ps["state"], ps["pending"]), ("running", "config changed: "
           "qmsctl up --force recreates"), "ps --json")
        want = ("agent %s: its configuration changed and recreating the "
                "container would end its running session(s)" % a.name)
        for verb in (("up", a.name), ("exec", a.name, "--", "true")):
            rc, out, err = a.d.ctl(*verb, timeout=300)
            eq(rc, 1, " ".join(verb) + " refused: " + out + err)
            contains(err, want, " ".join(verb))
            contains(err, "tmux", "says what runs")
            contains(err, "qmsctl up --force %s recreates it" % a.name)
        eq(a.row()["container"], first, "not recreated")
        eq(a.exec("tmux", "has-session", "-t", "keep").returncode, 0,
           "the tmux session lives")
        rc, out, err = a.d.ctl("exec", "--force", a.name, "--", "true",
                               timeout=300)
        eq(rc, 0, "exec --force: " + err)
        assert a.row()["container"] != first, "recreated by --force"
        assert "config changed" not in a.row()["detail"], a.row()
        eq(json.loads(a.d.ctl("ps", "--json")[1])["agents"][0]["pending"],
           None, "nothing pending")
        mem = json.loads(docker("inspect", a.container).stdout)[0][
            "HostConfig"]["Memory"]
        eq(mem, 1 << 30, "the new configuration")
        # with nothing running in it, an edit recreates as before
        second = a.row()["container"]
        a.d.write_config(a.conf(a.extra + "memory = 2G\n"))
        eq(a.d.ctl("reload")[0], 0, "reload")
        rc, out, err = a.d.ctl("exec", a.name, "--", "true", timeout=300)
        eq(rc, 0, "exec with nothing running: " + err)
        assert a.row()["container"] != second, "recreated without --force"
    finally:
        a.close()


def test_recreate_refused_while_an_exec_is_attached():
    """An exec qmsd brokered, still attached, counts as a session."""
    a = Agent()
    try:
        eq(a.up()[0], 0, "up")
        first = a.row()["container"]
        held = subprocess.Popen(
            [QMSCTL, "-S", a.d.socket, "exec", a.name, "--",
             "sleep", "1000"], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 30
            while "sleep 1000" not in a.exec("ps", "-eo", "args").stdout:
                assert time.monotonic() < deadline, "the exec never ran"
                time.sleep(0.1)
            a.d.write_config(a.conf(a.extra + "pids = 300\n"))
            eq(a.d.ctl("reload")[0], 0, "reload")
            rc, out, err = a.up()
            eq(rc, 1, "up refused: " + out + err)
            contains(err, "would end its running session(s) (sleep 1000)")
            eq(a.row()["container"], first, "kept")
            eq(held.poll(), None, "the exec still runs")
        finally:
            held.kill()
            held.wait()
    finally:
        a.close()


def test_docker_kill_restarts():
    a = Agent(extra="backoff-min = 100ms\n")
    try:
        eq(a.up()[0], 0, "up")
        docker("kill", a.container)
        row = wait_state(a.d, "agent:" + a.name, ("backoff", "starting",
                                                  "running"),
                         cond=lambda r: r.get("last_exit") == "exit 137")
        row = wait_state(a.d, "agent:" + a.name, "running",
                         cond=lambda r: r["restarts"] >= 1)
        eq(row["restarts"], 1, "restarted once")
        contains(a.d.log(), "container exited unexpectedly (exit 137)")
        eq(json.loads(docker("inspect", a.container).stdout)[0]["State"][
            "Running"], True, "running again")
    finally:
        a.close()


def test_docker_stop_is_reported():
    a = Agent(extra="backoff-min = 100ms\n")
    try:
        eq(a.up()[0], 0, "up")
        docker("stop", "-t", "1", a.container)
        row = wait_state(a.d, "agent:" + a.name, "stopped")
        contains(row["detail"], "stopped outside qmsd (docker stop)")
        time.sleep(0.5)
        eq(a.row()["state"], "stopped", "not restarted")
        eq(a.up()[0], 0, "up starts it again")
        wait_state(a.d, "agent:" + a.name, "running")
        rc, out, err = a.d.ctl("down", a.name)
        eq((rc, out), (0, "agent %s: stopped\n" % a.name), "down")
        eq(a.row()["state"], "stopped", "after down")
        eq(docker("volume", "inspect", "qms-claude-config-" + a.name,
                  check=False).returncode, 0, "volumes kept")
    finally:
        a.close()


def test_qmsd_sigkill_adopts():
    a = Agent()
    try:
        eq(a.up()[0], 0, "up")
        cid = a.row()["container"]
        pid1 = a.exec("cat", "/proc/1/stat").stdout.split()[21]
        a.d.proc.kill()
        a.d.proc.wait()
        # the same configuration (state and port too), a new qmsd
        d2 = Daemon(config=a.conf() + "[qmsd]\nstate-dir = %s/state\n"
                    "[http]\nlisten = 127.0.0.1:%d\n" % (a.d.dir,
                                                       a.d.http_port))
        old, a.d = a.d, d2
        try:
            row = wait_state(d2, "agent:" + a.name, "running")
            eq(row["container"], cid, "the same container")
            eq(a.exec("cat", "/proc/1/stat").stdout.split()[21], pid1,
               "still the same process inside")
            eq(a.up()[0], 0, "up of an adopted agent")
            eq(a.row()["container"], cid, "not recreated")
        finally:
            old.close()
    finally:
        a.close()


def test_bad_image_and_name_taken():
    a = Agent(image="qms-no-such-image:latest")
    try:
        rc, out, err = a.up()
        eq(rc, 1, "up with a missing image")
        contains(err, "image qms-no-such-image:latest is missing; build it: "
                 "sh docker/build-image.sh -t qms-no-such-image:latest")
        eq(a.row()["state"], "failed", "state")
    finally:
        a.close()
    b = Agent()
    try:
        docker("create", "--name", b.container, IMAGE)
        rc, out, err = b.up()
        eq(rc, 1, "up with the name taken")
        contains(err, "the name %s is taken by a container qmsd does not "
                 "own" % b.container)
    finally:
        b.close()


def test_docker_missing():
    need_docker()
    d = Daemon(config="[agent \"x\"]\nimage = %s\n" % IMAGE,
               env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    try:
        row = wait_state(d, "docker", "unreachable")
        contains(row["detail"], "no Docker socket at /nonexistent/docker.sock")
        rc, out, err = d.ctl("status")
        eq(rc, 2, "critical when an agent needs docker")
        rc, out, err = d.ctl("up", "x")
        eq(rc, 1, "up without docker")
        contains(err, "docker is unreachable: no Docker socket")
    finally:
        d.close()
    d = Daemon(config="", env={"DOCKER_HOST": "unix:///nonexistent/s"})
    try:
        wait_state(d, "docker", "unreachable")
        eq(d.ctl("status")[0], 0, "no agent: docker does not count")
    finally:
        d.close()


def test_docker_permission_denied():
    """A qmsd that may not use the Docker socket says so."""
    need_docker()
    from qmsdtest import QMSD, qmsctl
    base = tempfile.mkdtemp(prefix="qmsd-nobody.")
    try:
        os.makedirs(os.path.join(base, "repo"))
        conf = os.path.join(base, "qmsd.conf")
        with open(conf, "w") as f:
            f.write("[qmsd]\nproject-root = %s/repo\nstate-dir = %s/state\n"
                    "[http]\nlisten = 127.0.0.1:%d\n[agent \"x\"]\n"
                    "image = %s\n" % (base, base, __import__("qmsdtest")
                                      .free_port(), IMAGE))
        subprocess.run(["chown", "-R", "nobody:nogroup", base], check=True)
        os.chmod(base, 0o755)
        sock = os.path.join(base, "qmsd.sock")
        env = dict(os.environ)
        env.pop("NOTIFY_SOCKET", None)
        p = subprocess.Popen(["setpriv", "--reuid=65534", "--regid=65534",
                              "--clear-groups", "--", QMSD, "-f", "-S", sock,
                              "-c", conf], cwd=base, env=env,
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        try:
            deadline = time.time() + 30
            detail = ""
            while time.time() < deadline:
                rc, out, err = qmsctl("-S", sock, "status", "--json")
                if rc in (0, 1, 2):
                    rows = {c["name"]: c for c in
                            json.loads(out)["components"]}
                    if rows["docker"]["state"] == "unreachable":
                        detail = rows["docker"]["detail"]
                        break
                time.sleep(0.1)
            contains(detail, "permission denied on %s (qmsd needs root or "
                     "the docker group)" % os.environ["DOCKER_HOST"][7:])
        finally:
            p.terminate()
            p.wait(20)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_docker_socket_key():
    """[docker] socket wins over DOCKER_HOST; without it DOCKER_HOST
    counts; a reload cannot move qmsd to another engine."""
    need_docker()
    real = os.environ["DOCKER_HOST"][len("unix://"):]
    bogus = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    d = Daemon(config="[docker]\nsocket = %s\n" % real, env=bogus)
    try:
        row = wait_state(d, "docker", "ready")
        contains(row["detail"], "on " + real)
        d.write_config("[docker]\nsocket = /run/elsewhere.sock\n")
        eq(d.ctl("reload")[0], 0, "reload")
        contains(d.log(), "docker: socket /run/elsewhere.sock takes "
                 "effect at the next start; still using " + real)
        eq(component(d, "docker")["state"], "ready", "the same engine")
    finally:
        d.close()
    d = Daemon(config="", env=bogus)
    try:
        row = wait_state(d, "docker", "unreachable")
        contains(row["detail"], "no Docker socket at /nonexistent/"
                 "docker.sock")
    finally:
        d.close()


def sleep_image(host, tag):
    """An image holding sleep(1) and the libraries it needs, imported
    into the dockerd at host: a private dockerd gets it in about a
    second, where loading the test image takes over twenty."""
    import io
    import re
    import tarfile
    buf = io.BytesIO()
    ldd = subprocess.run(["ldd", "/bin/sleep"], capture_output=True,
                         text=True, check=True).stdout
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(os.path.realpath("/bin/sleep"), arcname="bin/sleep")
        for path in re.findall(r"(/\S+) \(0x", ldd):
            tar.add(os.path.realpath(path), arcname=path.lstrip("/"))
        for d in ("tmp", "pipe-dream"):
            info = tarfile.TarInfo(d)
            info.type = tarfile.DIRTYPE
            info.mode = 0o1777 if d == "tmp" else 0o755
            tar.addfile(info)
    subprocess.run(["docker", "import", "--change",
                    'CMD ["/bin/sleep", "infinity"]', "-", tag],
                   input=buf.getvalue(), check=True, capture_output=True,
                   env=dict(os.environ, DOCKER_HOST=host))


def test_dockerd_restart_recovers():
    """A dockerd of this test's own, stopped and started under qmsd."""
    need_docker()
    ddir = tempfile.mkdtemp(prefix="qmsd-dk.", dir="/run")
    sock = "unix://%s/docker.sock" % ddir
    script = os.path.join(HERE, "..", "dockerd.sh")
    subprocess.run(["sh", script, "start", ddir], check=True)
    try:
        sleep_image(sock, "qms-sleep:test")
        a = Agent(start=False, image="qms-sleep:test",
                  extra="backoff-min = 100ms\n")
        a.d = Daemon(config=a.conf(), env={"DOCKER_HOST": sock})
        try:
            eq(a.up()[0], 0, "up")
            subprocess.run(["sh", script, "stop", ddir], check=True)
            row = wait_state(a.d, "docker", "unreachable")
            eq(a.d.alive(), True, "qmsd stays up")
            # qmsd's words, not libcurl's (issue 14)
            assert "partial file" not in row["detail"], row["detail"]
            assert ("Docker went away" in row["detail"] or
                    "no Docker socket" in row["detail"]), row["detail"]
            # qmsd had it running: not "ok" while Docker is away
            row = wait_state(a.d, "agent:" + a.name, "lost")
            eq(row["health"], "warning", "a lost agent counts")
            contains(row["detail"], "docker is unreachable")
            contains(row["detail"], "back by its restart policy")
            eq(a.d.rpc("status")["result"]["health"] != "ok", True,
               "overall health")
            subprocess.run(["sh", script, "start", ddir], check=True)
            wait_state(a.d, "docker", "ready", timeout=60)
            # dockerd took the container down with it: an unexpected
            # exit, so the agent comes back by its policy, unasked
            row = wait_state(a.d, "agent:" + a.name, "running", timeout=60)
            eq(row["restarts"], 1, "one restart")
            eq(docker("inspect", "-f", "{{.State.Running}}", a.container,
                      host=sock).stdout.strip(), "true", "docker agrees")
            contains(a.d.log(), "its container ended while docker was away")
        finally:
            a.d.close()
            a.d = None
            docker("rm", "-f", a.container, check=False, host=sock)
            shutil.rmtree(a.base, ignore_errors=True)
    finally:
        subprocess.run(["sh", script, "stop", ddir])
        subprocess.run(["rm", "-rf", ddir])


TEMPLATE = "EXAMPLE_TOKEN=put-yours-here\n"


def tracked_template_agent():
    """An Agent whose project is a git repository with a committed
    docker/.env.example and an untracked (ignored) .env."""
    from gitrepo import git
    a = Agent(start=False)
    os.makedirs(os.path.join(a.project, "docker"))
    with open(os.path.join(a.project, "docker", ".env.example"), "w") as f:
        f.write(TEMPLATE)
    with open(os.path.join(a.project, ".gitignore"), "w") as f:
        f.write(".env\n*.local\n.mcp.json\n.claude/\n")
    owner = ("-c", "safe.directory=*", "-c", "user.name=Owner", "-c",
             "user.email=owner@example.invalid")     # the repo is nobody's
    git(a.project, *owner, "init", "-q", "-b", "main")
    git(a.project, *owner, "add", "README.md", ".gitignore",
        "docker/.env.example")
    git(a.project, *owner, "commit", "-q", "-m", "start")
    subprocess.run(["chown", "-R", "nobody:nogroup", a.project], check=True)
    a.d = Daemon(config=a.conf())
    return a


def test_tracked_template_unmasked_unless_modified():
    """A tracked, unmodified .env.example is in git anyway: the container
    shows it, and its git status is clean.  Its working copy modified (a
    real token pasted in), it is masked from the next recreate on; an
    untracked .env stays masked throughout."""
    a = tracked_template_agent()
    inside = "/pipe-dream/docker/.env.example"
    host = os.path.join(a.project, "docker", ".env.example")
    try:
        eq(a.up()[0], 0, "up")
        first = a.row()["container"]
        eq(a.exec("cat", inside).stdout, TEMPLATE, "the template shows")
        eq(a.exec("cat", "/pipe-dream/.env").stdout, "", "untracked masked")
        p = a.exec("git", "-C", "/pipe-dream", "status", "--porcelain")
        eq((p.returncode, p.stdout), (0, ""), "git status in the container")
        eq(a.up()[0], 0, "up again")
        eq(a.row()["container"], first, "kept: git's word is the same")

        with open(host, "a") as f:          # written in place
            f.write("REAL_TOKEN=ghp_secret\n")
        eq(a.up()[0], 0, "up after the template was modified")
        second = a.row()["container"]
        assert second != first, "recreated with the template masked"
        p = a.exec("cat", inside)
        eq((p.returncode, p.stdout), (0, ""), "the modified template masked")
        eq(a.exec("cat", "/pipe-dream/.env").stdout, "", "untracked masked")

        with open(host, "w") as f:          # back to what git holds
            f.write(TEMPLATE)
        eq(a.up()[0], 0, "up after the template was restored")
        eq(a.exec("cat", inside).stdout, TEMPLATE, "shown again")
    finally:
        a.close()


if __name__ == "__main__":
    main(globals())
