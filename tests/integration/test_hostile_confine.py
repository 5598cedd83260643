#!/usr/bin/env python3
"""Issue 13, the hostile agent against git and the deferred paths: git runs
confined by Landlock (item 1b), a client that leaves never crashes qmsd
(item 5), and a git killed at its deadline leaves no index.lock (item 12).
Each test performs the attack for real and checks that nothing happened."""
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gitrepo
from test_git import Env  # noqa: E402
from qmsdtest import (Daemon, component, contains, eq, free_port, main,
                      wait_state)

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get("QMSD_BUILD_ROOT", "")


class Project(Env):
    """test_git's Env (a qmsd on a real repository with a submodule and a
    remote), whose git_exec goes over a raw socket and whose requests can
    be made as bytes, for clients that leave midway."""

    def __init__(self, extra=""):
        super().__init__(extra)
        os.chmod(self.base, 0o755)

    def raw_request(self, path, body):
        data = json.dumps(body).encode()
        head = ("POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                "Content-Type: application/json\r\n"
                "Accept: application/json, text/event-stream\r\n"
                "Authorization: Bearer %s\r\nContent-Length: %d\r\n\r\n" %
                (path, self.port, self.token, len(data))).encode()
        return head, data


def call_body(command, id=1):
    return {"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": "git_exec",
                       "arguments": {"command": command}}}


def drop_clients(port, requests, count, seed, budget=60):
    """count clients, each sends one of requests (head, body) and leaves at
    a random point: mid-headers, mid-body, right after the request, or a
    little later while the answer is being made."""
    rnd = random.Random(seed)
    socks = []
    deadline = time.monotonic() + budget
    for i in range(count):
        if time.monotonic() > deadline:
            break
        head, body = rnd.choice(requests)
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        where = rnd.choice(("headers", "body", "sent", "later", "later"))
        try:
            if where == "headers":
                s.sendall(head[:rnd.randrange(1, len(head))])
            elif where == "body":
                s.sendall(head + body[:rnd.randrange(0, len(body))])
            else:
                s.sendall(head + body)
            if where == "later":
                # keep a few open at once, so calls queue behind each other
                socks.append(s)
                if len(socks) > 8 or rnd.random() < 0.3:
                    time.sleep(rnd.uniform(0, 0.02))
                    socks.pop(0).close()
                continue
        except OSError:
            pass
        s.close()
    for s in socks:
        time.sleep(0.002)
        s.close()


SPAWN = os.path.join(BUILD, "tests", "confined-spawn")


def spawn(root, home, state, *argv, confined=True):
    """git run as qmsd runs it (proc_spawn, landlock_git's ruleset)."""
    cmd = [SPAWN] + ([] if confined else ["-u"]) + [root, home, state]
    p = subprocess.run(cmd + list(argv), capture_output=True, text=True,
                       timeout=60)
    if p.returncode == 77:
        raise AssertionError("Landlock unavailable here: " + p.stderr)
    return p


class Confined:
    """A repository, an owner's home and qmsd's state directory with a
    token in it, side by side as on a host."""

    def __init__(self):
        self.base = tempfile.mkdtemp(prefix="qmsd-confine.")
        self.project, self.remote = gitrepo.make(self.base)
        self.home = os.path.join(self.base, "home")
        self.state = os.path.join(self.base, "state")
        os.makedirs(self.home)
        os.makedirs(self.state)
        self.token = os.path.join(self.state, "host.token")
        with open(self.token, "w") as f:
            f.write("s3cret-token\n")

    def run(self, *argv, confined=True):
        return spawn(self.project, self.home, self.state, *argv,
                     confined=confined)

    def close(self):
        shutil.rmtree(self.base, ignore_errors=True)


def test_confined_git_runs_no_other_program():
    """Item 1(b): git asked to run a program of the agent's choosing (an
    alias "!cmd", a pager) through the very spawn qmsd uses: confined, the
    shell cannot be executed and nothing is created; unconfined (-u) the
    same command does create the marker, so the attack is real."""
    c = Confined()
    try:
        marker = os.path.join(c.project, "MARKER")
        attacks = [("-c", "alias.x=!touch MARKER", "x"),
                   ("-c", "core.pager=touch MARKER", "-p", "log", "-1"),
                   ("-c", "alias.y=!/usr/bin/touch MARKER", "y")]
        for a in attacks:
            p = c.run("git", *a)
            assert not os.path.exists(marker), "confined %r ran" % (a,)
            if "pager" not in a[1]:
                contains(p.stderr, "Permission denied", "refused exec")
        p = c.run("git", *attacks[0], confined=False)
        assert os.path.exists(marker), "unconfined, the attack works: " + \
            p.stderr
        os.unlink(marker)
        # git's own programs still run
        p = c.run("git", "log", "--oneline", "-1")
        eq(p.returncode, 0, "git log confined: " + p.stderr)
        contains(p.stdout, "flow-state")
    finally:
        c.close()


def test_confined_git_reads_nothing_of_the_state_dir():
    """Item 1(b): git made to read qmsd's token by ways a policy could
    miss (a path, a symlink planted in the agent's workspace, an objects
    alternate pointing into the state directory) fails with EACCES when
    confined, and succeeds unconfined; qmsd itself runs git so (status
    says "landlock ABI") and an allowed git_exec meets the same wall."""
    c = Confined()
    try:
        ws = os.path.join(c.project, ".claude", "users", "a", "workspace")
        os.makedirs(ws)
        os.symlink(c.token, os.path.join(ws, "link"))
        for args in (("hash-object", c.token),
                     ("hash-object", os.path.join(ws, "link"))):
            p = c.run("git", *args)
            assert p.returncode != 0, "confined read: %r" % (args,)
            contains(p.stderr, "Permission denied", "EACCES")
            p = c.run("git", *args, confined=False)
            eq(p.returncode, 0, "unconfined read %r: %s" % (args, p.stderr))
        # An alternate object store in the state directory: a blob there
        # is readable by cat-file when git is unconfined.
        stolen = os.path.join(c.state, "objects")
        gitrepo.git(c.state, "init", "-q", "--bare", "st.git")
        oid = subprocess.run(
            ["git", "--git-dir", os.path.join(c.state, "st.git"),
             "hash-object", "-w", c.token], capture_output=True,
            text=True, check=True).stdout.strip()
        alt = os.path.join(c.project, ".git", "objects", "info",
                           "alternates")
        os.makedirs(os.path.dirname(alt), exist_ok=True)
        with open(alt, "w") as f:
            f.write(os.path.join(c.state, "st.git", "objects") + "\n")
        p = c.run("git", "cat-file", "-p", oid, confined=False)
        contains(p.stdout, "s3cret-token", "unconfined, the alternate works")
        p = c.run("git", "cat-file", "-p", oid)
        assert "s3cret-token" not in p.stdout, "confined read the token"
        # The same through qmsd, whose state directory this is.
        d = Daemon(config="[qmsd]\nproject-root = %s\nstate-dir = %s\n" %
                   (c.project, c.state))
        try:
            row = component(d, "git")
            contains(row["detail"], "landlock ABI", "status")
            p = Project.__new__(Project)
            p.port = d.http_port
            with open(c.token) as f:
                p.token = f.read().strip()
            out, err = p.git_exec("cat-file -p " + oid)
            assert "s3cret-token" not in out, "qmsd's git read it: " + out
            eq(err, True, "the call fails: " + out)
        finally:
            d.close()
    finally:
        c.close()


HANG = "#include <unistd.h>\nint main(void) { sleep(60); return 0; }\n"


def test_killed_git_leaves_no_index_lock():
    """Item 12: the owner's pre-commit hook hangs past [git] timeout while
    git holds .git/index.lock; qmsd kills it and removes the lock its own
    git made, so the next commit works (before the fix: "index.lock: File
    exists").  A lock that another git took meanwhile, while qmsd's hung
    git (a fetch) never held it, stays."""
    p = Project(extra="[git]\ntimeout = 1s\n")
    srv = socket.socket()
    try:
        # A compiled hook: a script hook needs a shell, which confined git
        # cannot execute (docs/git-policy.md).
        src = os.path.join(p.base, "hang.c")
        with open(src, "w") as f:
            f.write(HANG)
        hook = os.path.join(p.project, ".git", "hooks", "pre-commit")
        subprocess.run(["cc", "-o", hook, src], check=True)
        lock = os.path.join(p.project, ".git", "index.lock")
        with open(os.path.join(p.project, "README.md"), "a") as f:
            f.write("more\n")
        # commit -a holds index.lock while its hook runs
        out, err = p.git_exec("commit -a -m hung")
        eq(err, True, "the hung commit fails")
        contains(out, "[Killed:", "killed at its deadline")
        assert not os.path.exists(lock), "index.lock left behind"
        os.unlink(hook)
        out, err = p.git_exec("commit -a -m second")
        eq(err, False, "the next commit: " + out)
        # Someone else's lock, taken while qmsd's git hung in a fetch.
        srv.bind(("127.0.0.1", 0))
        srv.listen(5)
        gitrepo.git(p.project, "remote", "set-url", "origin",
                    "git://127.0.0.1:%d/x.git" % srv.getsockname()[1])
        import threading
        def plant():
            time.sleep(0.4)
            with open(lock, "w") as f:
                f.write("theirs\n")
        t = threading.Thread(target=plant)
        t.start()
        out, err = p.git_exec("fetch origin")
        t.join()
        contains(out, "[Killed:", "the fetch hung")
        assert os.path.exists(lock), "another git's lock was removed"
        os.unlink(lock)
    finally:
        srv.close()
        p.close()


def test_git_client_leaves():
    """Item 5: 200 git_exec calls whose clients leave at random points
    (before the answer, mid-body, right after the headers) do not crash
    qmsd (a use-after-free of the request under ASan before the fix); it
    still answers status and a normal git call."""
    p = Project()
    try:
        reqs = [p.raw_request("/git/mcp", call_body(c)) for c in
                ("log --oneline", "status", "log -p", "show HEAD",
                 "diff HEAD~1")]
        drop_clients(p.port, reqs, 200, seed=13)
        time.sleep(1)
        assert p.d.alive(), "qmsd died: " + p.d.log()[-3000:]
        eq(component(p.d, "git")["state"], "ready", "git row")
        out, err = p.git_exec("log --oneline -1")
        eq(err, False, "a normal call after the drops: " + out)
        contains(out, "flow-state")
    finally:
        p.close()


def test_gateway_client_leaves():
    """Item 5: clients of /qms/mcp that leave at random points (before
    the child answered, mid-stream, with the body half sent) leave qmsd
    alive, answering status and a normal call through the gateway."""
    tmp = tempfile.mkdtemp(prefix="qmsd-hostile-gw.")
    os.chmod(tmp, 0o777)
    port = free_port()
    fixture = os.path.join(HERE, "..", "fixtures", "recording-mcp.py")
    d = Daemon(config="[qms-mcp]\nenabled = yes\ncommand = python3 %s %d "
               "%s/log %s/gate\nworkdir = /tmp\nurl = "
               "http://127.0.0.1:%d/mcp\nprobe-interval = 1s\n" %
               (fixture, port, tmp, tmp, port))
    try:
        wait_state(d, "qms-mcp", "ready")
        with open(os.path.join(d.dir, "state", "host.token")) as f:
            token = f.read().strip()
        p = Project.__new__(Project)
        p.port, p.token = d.http_port, token
        reqs = [p.raw_request("/qms/mcp", {"jsonrpc": "2.0", "id": 1,
                                           "method": m})
                for m in ("tools/list", "test/events", "test/hang",
                          "ping")]
        drop_clients(d.http_port, reqs, 200, seed=5)
        time.sleep(1)
        assert d.alive(), "qmsd died: " + d.log()[-3000:]
        open(os.path.join(tmp, "gate"), "w").close()
        import http.client
        c = http.client.HTTPConnection("127.0.0.1", d.http_port, timeout=30)
        c.request("POST", "/qms/mcp", body=json.dumps(
            {"jsonrpc": "2.0", "id": 7, "method": "ping"}), headers={
                "Content-Type": "application/json",
                "Accept": "application/json, text/event-stream",
                "Authorization": "Bearer " + token})
        r = c.getresponse()
        eq(r.status, 200, "a normal call after the drops")
        eq(json.loads(r.read())["id"], 7, "its answer")
        eq(component(d, "qms-mcp")["state"], "ready", "status answers")
    finally:
        d.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(globals())
