#!/usr/bin/env python3
"""The Git MCP proxy: the HTTP front, the MCP endpoint, git_exec against
real repositories, and real MCP clients (Claude Code, the TypeScript SDK,
the official conformance suite)."""
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gitrepo
from authproxy import AuthProxy
from qmsdtest import (NODE_MODULES, Daemon, contains, eq, free_port, main,
                      wait_state)

NODE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                        "node")


class Env:
    """A qmsd serving a real project with a submodule and a remote."""

    def __init__(self, extra=""):
        self.base = tempfile.mkdtemp(prefix="qmsd-git.")
        self.project, self.remote = gitrepo.make(self.base)
        self.d = Daemon(config="[qmsd]\nproject-root = %s\n%s" %
                        (self.project, extra))
        self.port = self.d.http_port
        with open(os.path.join(self.d.dir, "state", "host.token")) as f:
            self.token = f.read().strip()

    @classmethod
    def of_agent(cls, a, name=None):
        """A client of the qmsd of Agent a (test_agent.py), with the
        token of agent name, a's own by default: its container is up."""
        e = cls.__new__(cls)
        with open(os.path.join(a.d.dir, "state", "agents", name or a.name,
                               "token")) as f:
            e.token = f.read().strip()
        e.d, e.port, e.base = a.d, a.d.http_port, a.base
        return e

    def post(self, body, headers=None, token=True, path="/git/mcp",
             method="POST", raw=None):
        h = {"Content-Type": "application/json",
             "Accept": "application/json, text/event-stream"}
        if token:
            h["Authorization"] = "Bearer " + (self.token if token is True
                                              else token)
        h.update(headers or {})
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        data = raw if raw is not None else (json.dumps(body) if body
                                            is not None else None)
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        text = r.read().decode()
        c.close()
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = text
        return r.status, dict(r.getheaders()), parsed

    def rpc(self, method, params=None, id=1, **kw):
        msg = {"jsonrpc": "2.0", "id": id, "method": method}
        if params is not None:
            msg["params"] = params
        return self.post(msg, **kw)

    def git_exec(self, command, **kw):
        status, _, body = self.rpc("tools/call", {
            "name": "git_exec", "arguments": {"command": command}}, **kw)
        eq(status, 200, "tools/call status for %r" % command)
        res = body["result"]
        return res["content"][0]["text"], res["isError"]

    def close(self):
        self.d.close()
        shutil.rmtree(self.base, ignore_errors=True)


def test_mcp_lifecycle():
    e = Env()
    try:
        st, h, b = e.rpc("initialize", {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"}})
        eq(st, 200, "initialize")
        eq(h.get("Content-Type"), "application/json", "content type")
        eq(b["result"]["protocolVersion"], "2025-06-18", "negotiated")
        eq(b["result"]["serverInfo"]["name"], "git", "server name")
        assert "tools" in b["result"]["capabilities"]
        st, h, b = e.rpc("initialize", {"protocolVersion": "1999-01-01"})
        eq(b["result"]["protocolVersion"], "2025-11-25", "our latest")
        st, h, b = e.post({"jsonrpc": "2.0",
                           "method": "notifications/initialized"})
        eq((st, b), (202, None), "notification")
        st, h, b = e.rpc("ping", id="p")
        eq((st, b["id"], b["result"]), (200, "p", {}), "ping")
        st, h, b = e.rpc("tools/list")
        tools = b["result"]["tools"]
        eq([t["name"] for t in tools], ["git_exec"], "tools")
        eq(tools[0]["inputSchema"]["required"], ["command"], "schema")
        contains(tools[0]["description"], "&&")
        st, h, b = e.rpc("server/discover")
        eq((st, b["error"]["code"]), (200, -32601), "server/discover")
        st, h, b = e.rpc("resources/list")
        eq((st, b["error"]["code"]), (200, -32601), "unknown method")
        st, h, b = e.rpc("tools/call", {"name": "rm", "arguments": {}})
        eq((st, b["error"]["code"]), (200, -32602), "unknown tool")
        st, h, b = e.rpc("tools/call", {"name": "git_exec",
                                        "arguments": {}})
        eq(b["result"]["isError"], True, "no command")
        contains(b["result"]["content"][0]["text"], "Denied:")
        # a response from the client is accepted and ignored
        st, h, b = e.post({"jsonrpc": "2.0", "id": 5, "result": {}})
        eq(st, 202, "client response")
    finally:
        e.close()


def test_http_errors():
    e = Env(extra="[http]\nmax-body = 4K\n")
    try:
        init = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
        for m in ("GET", "DELETE", "PUT"):
            st, h, b = e.post(None, method=m)
            eq((st, h.get("Allow")), (405, "POST"), m)
        st, h, b = e.post(init, headers={"Content-Type": "text/plain"})
        eq(st, 415, "wrong content type")
        st, h, b = e.post(init, headers={"Accept": "text/html"})
        eq(st, 406, "Accept without JSON")
        st, h, b = e.post(init, headers={"Accept": "application/json"})
        eq(st, 200, "Accept: application/json alone")
        st, h, b = e.post(init, headers={"MCP-Protocol-Version": "2020-01-01"})
        eq(st, 400, "unsupported protocol version")
        contains(b["error"]["message"], "2025-11-25")
        for v in ("2025-11-25", "2025-06-18", "2025-03-26"):
            st, h, b = e.post(init, headers={"MCP-Protocol-Version": v})
            eq(st, 200, "protocol " + v)
        st, h, b = e.post(init, token=False)
        eq(st, 401, "no token")
        eq(b["error"]["code"], -32001, "401 body is JSON-RPC")
        st, h, b = e.post(init, token="qms_" + "0" * 64)
        eq(st, 401, "wrong token")
        st, h, b = e.post(init, headers={"Authorization": "Basic eDp5"},
                          token=False)
        eq(st, 401, "not a bearer token")
        st, h, b = e.post(init, headers={"Host": "evil.example.com"})
        eq(st, 403, "foreign Host")
        st, h, b = e.post(init, headers={"Host": "host.docker.internal:9"})
        eq(st, 200, "host.docker.internal, any port")
        st, h, b = e.post(init, headers={"Origin": "http://evil.example.com"})
        eq(st, 403, "foreign Origin")
        st, h, b = e.post(None, raw="x" * 5000)
        eq(st, 413, "body over max-body")
        st, h, b = e.post(None, raw="{not json")
        eq((st, b["error"]["code"]), (400, -32700), "malformed JSON")
        st, h, b = e.post(None, raw="[" + json.dumps(init) + "]")
        eq((st, b["error"]["code"]), (400, -32600), "batch")
        st, h, b = e.post(init, path="/nope")
        eq(st, 404, "unknown path")
        # a connection cut mid-body is just dropped
        s = socket.create_connection(("127.0.0.1", e.port))
        s.sendall(b"POST /git/mcp HTTP/1.1\r\nHost: localhost\r\n"
                  b"Content-Length: 100\r\n\r\n{\"jso")
        s.close()
        st, h, b = e.rpc("ping")
        eq(st, 200, "still serving after all that")
        assert e.d.alive()
    finally:
        e.close()


def test_origin_allowed_when_listed():
    e = Env(extra="[http]\nallowed-origins = http://localhost:3000\n")
    try:
        st, h, b = e.rpc("ping", headers={"Origin": "http://localhost:3000"})
        eq(st, 200, "listed origin")
        st, h, b = e.rpc("ping", headers={"Origin": "http://localhost:3001"})
        eq(st, 403, "unlisted origin")
    finally:
        e.close()


def test_commit_and_push():
    e = Env()
    # Served over git:// on loopback: a local-path remote needs a shell
    # (git runs "git-receive-pack 'PATH'" through sh), which confined git
    # cannot run (docs/git-policy.md, "Confinement").
    port = free_port()
    daemon = subprocess.Popen(
        ["git", "daemon", "--reuseaddr", "--listen=127.0.0.1",
         "--port=%d" % port, "--base-path=" + e.base, "--export-all",
         "--enable=receive-pack", e.base],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                break
            except OSError:
                time.sleep(0.05)
        gitrepo.git(e.project, "remote", "set-url", "origin",
                    "git://127.0.0.1:%d/remote.git" % port)
        out, err = e.git_exec("status")
        eq(err, False, "status")
        contains(out, "On branch main")
        out, err = e.git_exec("git diff")
        eq((out, err), ("(no output)", False), "empty output")
        with open(os.path.join(e.project, ".claude", "sessions", "s2.md"),
                  "w") as f:
            f.write("notes\n")
        out, err = e.git_exec("add .claude/sessions/ && git commit -m "
                              "'Session notes' && git push")
        eq(err, False, "add, commit, push: " + out)
        contains(out, "Session notes")
        eq(gitrepo.git(e.remote, "log", "-1", "--format=%s", "main").strip(),
           "Session notes", "the remote has the commit")
        out, err = e.git_exec("log --oneline nosuchref")
        eq(err, True, "failing git")
        assert out.startswith("[Exit code: 128]\n"), out
        contains(out, "fatal:")
        # && stops at the first failure, as in a shell
        out, err = e.git_exec("log nosuchref && commit --allow-empty -m x")
        eq(err, True, "chain with a failure")
        eq(gitrepo.git(e.project, "log", "-1", "--format=%s").strip(),
           "Session notes", "second command not run")
        # reading a submodule's pointer in history is fine
        out, err = e.git_exec("log --oneline -- flow-state")
        eq(err, False, "log of the submodule pointer")
        contains(out, "add flow-state")
    finally:
        daemon.kill()
        daemon.wait()
        e.close()


ATTACKS = [
    ("push --force", "no-force-push"),
    ("push origin +main", "no-force-push"),
    ("push --forc", "no-force-push"),
    ("push origin :main", "no-remote-delete"),
    ("reset --hard HEAD~1", "no-discard"),
    ("clean -fdx", "no-discard"),
    ("checkout .", "no-discard"),
    ("restore .", "no-discard"),
    ("branch -D main", "no-history-loss"),
    ("status; touch /tmp/qmsd-pwned", "shell-operator"),
    ("status && touch /tmp/qmsd-pwned", "unknown-subcommand"),
    ("log $(touch /tmp/qmsd-pwned)", "shell-expansion"),
    ("log `touch /tmp/qmsd-pwned`", "shell-expansion"),
    ("status | sh", "shell-operator"),
    ("status\ntouch /tmp/qmsd-pwned", "control-char"),
    ("-c core.pager='touch /tmp/qmsd-pwned' log", "global-option"),
    ("--git-dir=/tmp log", "global-option"),
    ("config core.hooksPath /tmp", "no-config-write"),
    ("fetch --upload-pack='touch /tmp/qmsd-pwned' origin", "no-program"),
    ("submodule update --init", "no-submodule"),
    ("add flow-state", "protected-path"),
    ("add ./flow-state/engine.py", "protected-path"),
    ("rm -r --cached flow-state", "protected-path"),
    ("add ../outside", "outside-repo"),
    ("add ':(top)flow-state'", "pathspec-magic"),
    ("commit -F /etc/passwd", "no-file-option"),
    ("push ext::sh origin", "remote-not-allowed"),
    ("push https://example.invalid/x.git main", "remote-not-allowed"),
]


def test_attacks_leave_repo_unchanged():
    e = Env()
    try:
        before = gitrepo.snapshot(e.project, e.remote)
        for command, rule in ATTACKS:
            out, err = e.git_exec(command)
            eq(err, True, "refused: " + command)
            assert out.startswith("Denied: "), (command, out)
            contains(out, "(rule: %s)" % rule, command)
        eq(gitrepo.snapshot(e.project, e.remote), before, "repository")
        assert not os.path.exists("/tmp/qmsd-pwned"), "a command ran"
    finally:
        e.close()


def test_audit_and_git_check():
    e = Env()
    try:
        e.git_exec("status")
        e.git_exec("push --force")
        e.git_exec("git log -1")
        rc, out, err = e.d.ctl("logs", "git")
        eq(rc, 0, "logs git")
        contains(out, "host: allowed: git status -> exit 0")
        # The word git is shown once, sent or not (qmsd(8), Audit).
        contains(out, "host: allowed: git log -1 -> exit 0")
        contains(out, "host: denied by no-force-push: git push --force -> "
                 "refused")
        rc, out, err = e.d.ctl("git-check", "push --force origin main")
        eq(rc, 1, "git-check of a force push")
        contains(out, "Denied: ")
        contains(out, "rule: no-force-push")
        rc, out, err = e.d.ctl("git-check", "commit -am 'fix: x'")
        eq(rc, 0, "git-check of a commit")
        contains(out, "allowed; would run:")
        contains(out, "git commit")
        row = wait_state(e.d, "git", "ready")
        contains(row["detail"], "3 calls, 1 denied")
    finally:
        e.close()


class HangingServer:
    """A TCP server that accepts and never answers: a git remote that
    makes fetch wait forever."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                self.conns.append(self.sock.accept()[0])
            except OSError:
                return

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


def git_children(pid):
    """Every process below pid but the audit log's writer (audit-log.h)."""
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid=,comm="],
                         capture_output=True, text=True).stdout
    rows = [l.split(None, 2) for l in out.splitlines()]
    kids, parents = [], {int(r[0]): int(r[1]) for r in rows}
    writer = {int(r[0]) for r in rows if r[2:] == ["qmsd-audit"]}
    for p, pp in parents.items():
        if p in writer:
            continue
        q = pp
        while q > 1:
            if q == pid:
                kids.append(p)
                break
            q = parents.get(q, 0)
    return kids


def test_timeout_kills_group():
    hang = HangingServer()
    e = Env(extra="[git]\ntimeout = 1s\n")
    try:
        gitrepo.git(e.project, "remote", "set-url", "origin",
                    "http://127.0.0.1:%d/x.git" % hang.port)
        t0 = time.monotonic()
        out, err = e.git_exec("fetch origin")
        eq(err, True, "timed out")
        contains(out, "[Killed: the command ran longer than 1s]")
        assert time.monotonic() - t0 < 30
        eq(git_children(e.d.pid), [], "git and its helpers are gone")
        rc, out, err = e.d.ctl("logs", "git")
        contains(out, "-> timeout")
    finally:
        e.close()
        hang.close()


def test_concurrent_slow_calls():
    hang = HangingServer()
    e = Env(extra="[git]\ntimeout = 2s\nmax-concurrent = 10\n")
    try:
        gitrepo.git(e.project, "remote", "set-url", "origin",
                    "http://127.0.0.1:%d/x.git" % hang.port)
        results = []

        def call():
            results.append(e.git_exec("fetch origin"))
        threads = [threading.Thread(target=call) for _ in range(20)]
        for t in threads:
            t.start()
        answered = 0
        while any(t.is_alive() for t in threads):
            rc, out, err = e.d.ctl("status", timeout=5)
            assert rc in (0, 1), "status while git runs: %d %s" % (rc, out)
            answered += 1
            # the loop serves MCP too meanwhile
            st, h, b = e.rpc("ping")
            eq(st, 200, "ping while git runs")
        for t in threads:
            t.join()
        assert answered >= 2, answered
        eq(len(results), 20, "every call answered")
        for out, err in results:
            eq(err, True, "each timed out")
        eq(e.d.threads(), 1, "threads")
    finally:
        e.close()
        hang.close()


def test_runs_as_owner():
    """git writes into the repository as its owner, never as root."""
    base = tempfile.mkdtemp(prefix="qmsd-git.")
    try:
        project, remote = gitrepo.make(base)
        subprocess.run(["chown", "-R", "nobody:nogroup", base], check=True)
        d = Daemon(config="[qmsd]\nproject-root = %s\n" % project)
        try:
            with open(os.path.join(d.dir, "state", "host.token")) as f:
                token = f.read().strip()
            e = Env.__new__(Env)
            e.port, e.token = d.http_port, token
            with open(os.path.join(project, "new.txt"), "w") as f:
                f.write("x\n")
            os.chown(os.path.join(project, "new.txt"), 65534, 65534)
            out, err = e.git_exec("add new.txt && commit -m new")
            eq(err, False, "commit as the owner: " + out)
            root_owned = []
            for dirpath, dirs, files in os.walk(os.path.join(project,
                                                             ".git")):
                for n in dirs + files:
                    if os.lstat(os.path.join(dirpath, n)).st_uid == 0:
                        root_owned.append(os.path.join(dirpath, n))
            eq(root_owned, [], "root-owned files in the repository")
        finally:
            d.close()
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_mcp_config():
    e = Env()
    try:
        rc, out, err = e.d.ctl("mcp-config")
        eq(rc, 0, "mcp-config")
        doc = json.loads(out)
        git = doc["mcpServers"]["git"]
        eq(git["type"], "http", "type")
        eq(git["url"], "http://127.0.0.1:%d/git/mcp" % e.port, "url")
        eq(git["headers"]["Authorization"], "Bearer " + e.token, "token")
        st = os.stat(os.path.join(e.d.dir, "state", "host.token"))
        eq(st.st_mode & 0o777, 0o600, "token file mode")
    finally:
        e.close()


def test_claude_mcp_list():
    e = Env()
    home = tempfile.mkdtemp(prefix="qmsd-claude.")
    try:
        claude = os.path.join(NODE_MODULES, ".bin", "claude")
        env = dict(os.environ, HOME=home,
                   CLAUDE_CONFIG_DIR=os.path.join(home, "config"))
        for name, token in (("git", e.token), ("bad", "qms_" + "1" * 64)):
            subprocess.run([claude, "mcp", "add", "--transport", "http",
                            "-s", "user", name,
                            "http://127.0.0.1:%d/git/mcp" % e.port,
                            "--header", "Authorization: Bearer " + token],
                           cwd=home, env=env, check=True,
                           capture_output=True, timeout=120)
        p = subprocess.run([claude, "mcp", "list"], cwd=home, env=env,
                           capture_output=True, text=True, timeout=120)
        lines = {l.split(":")[0]: l for l in p.stdout.splitlines()
                 if ": http" in l}
        contains(lines.get("git", ""), "✔ Connected", "claude mcp list")
        contains(lines.get("bad", ""), "401", "a bad token is a 401")
    finally:
        e.close()
        shutil.rmtree(home, ignore_errors=True)


def test_typescript_sdk_client():
    e = Env()
    try:
        p = subprocess.run(["node", os.path.join(NODE_DIR, "sdk-client.mjs"),
                            "http://127.0.0.1:%d/git/mcp" % e.port, e.token,
                            "log --format=%s -1"],
                           capture_output=True, text=True, timeout=120)
        eq(p.returncode, 0, "sdk client: " + p.stderr)
        o = json.loads(p.stdout)
        eq(o["server"]["name"], "git", "server")
        eq(o["tools"], ["git_exec"], "tools")
        eq(o["result"]["isError"], False, "isError")
        eq(o["result"]["content"][0]["text"], "add flow-state", "output")
    finally:
        e.close()


def conformance(scenario):
    def run():
        e = Env(extra="[http]\nallowed-origins = http://127.0.0.1:%s\n"
                % "{proxy}")
        proxy = AuthProxy(e.port, e.token)
        try:
            e.d.write_config(open(e.d.config).read().replace(
                "{proxy}", str(proxy.port)))
            rc, out, err = e.d.ctl("reload")
            eq(rc, 0, "reload: " + err)
            conf = os.path.join(NODE_MODULES, ".bin", "conformance")
            p = subprocess.run([conf, "server", "--url",
                                "http://127.0.0.1:%d/git/mcp" % proxy.port,
                                "--scenario", scenario],
                               capture_output=True, text=True, timeout=300)
            eq(p.returncode, 0, "conformance %s:\n%s\n%s" %
               (scenario, p.stdout[-3000:], p.stderr[-3000:]))
            assert "FAILURE" not in p.stdout + p.stderr
        finally:
            proxy.close()
            e.close()
    return run


for _s in ("server-initialize", "ping", "tools-list",
           "dns-rebinding-protection"):
    globals()["test_conformance_" + _s.replace("-", "_")] = conformance(_s)


if __name__ == "__main__":
    main(globals())
