#!/usr/bin/env python3
"""The QMS MCP gateway at /qms/mcp: identity from the token, streaming,
errors that never hang, with a recording MCP server as the child."""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmsdtest import (EVERYTHING, QMSCTL, Daemon, component, contains, eq,
                      free_port, main, wait_state)

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                       "fixtures", "recording-mcp.py")


class Gateway:
    def __init__(self, extra=""):
        self.tmp = tempfile.mkdtemp(prefix="qmsd-gw.")
        os.chmod(self.tmp, 0o777)
        self.log = os.path.join(self.tmp, "requests.log")
        self.gate = os.path.join(self.tmp, "gate")
        self.port = free_port()
        self.qms_conf = (
            "[qms-mcp]\nenabled = yes\ncommand = python3 %s %d %s %s\n"
            "workdir = /tmp\nurl = http://127.0.0.1:%d/mcp\n"
            "probe-interval = 1s\n%s" % (FIXTURE, self.port, self.log,
                                         self.gate, self.port, extra))
        self.d = Daemon(config=self.qms_conf)
        with open(os.path.join(self.d.dir, "state", "host.token")) as f:
            self.token = f.read().strip()

    def ready(self):
        wait_state(self.d, "qms-mcp", "ready")

    def conn(self):
        return http.client.HTTPConnection("127.0.0.1", self.d.http_port,
                                          timeout=30)

    def post(self, method, token=None, headers=None, id=1):
        h = {"Content-Type": "application/json",
             "Accept": "application/json, text/event-stream"}
        if token is not False:
            h["Authorization"] = "Bearer " + (token or self.token)
        h.update(headers or {})
        c = self.conn()
        c.request("POST", "/qms/mcp", body=json.dumps(
            {"jsonrpc": "2.0", "id": id, "method": method}), headers=h)
        r = c.getresponse()
        return r.status, r.read().decode(), dict(r.getheaders())

    def recorded(self, method):
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            return [json.loads(l) for l in f if json.loads(l)["method"] ==
                    method]

    def close(self):
        self.d.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def test_identity_from_the_token():
    g = Gateway()
    try:
        g.ready()
        st, body, h = g.post("tools/list", headers={
            "X-QMS-Identity": "lead", "X-QMS-Instance": "forged",
            "Host": "localhost:1"})
        eq(st, 200, "through the gateway: " + body)
        rec = g.recorded("tools/list")[-1]["headers"]
        hdr = {k.lower(): v for k, v in rec.items()}
        eq(hdr["x-qms-identity"], "host", "identity of the host token")
        eq(hdr["x-qms-instance"], "host", "instance of the host token")
        eq(hdr["host"], "localhost", "Host sent upstream")
        assert "authorization" not in hdr, "the token went upstream"
        # no token: 401, and nothing arrives upstream
        before = len(g.recorded("ping"))
        st, body, h = g.post("ping", token=False)
        eq(st, 401, "no token")
        st, body, h = g.post("ping", token="qms_" + "2" * 64)
        eq(st, 401, "a wrong token")
        eq(len(g.recorded("ping")), before, "never arrived")
        row = component(g.d, "gateway")
        assert row["served"] >= 1, row
    finally:
        g.close()


def test_request_body_streams_and_limits():
    """A body sent in pieces reaches the child whole; one over max-body is
    refused and never arrives."""
    g = Gateway(extra="[http]\nmax-body = 4K\n")
    try:
        g.ready()
        s = socket.create_connection(("127.0.0.1", g.d.http_port))
        s.settimeout(20)
        body = json.dumps({"jsonrpc": "2.0", "id": 3,
                           "method": "tools/list", "params": {}})
        s.sendall(("POST /qms/mcp HTTP/1.1\r\nHost: localhost\r\n"
                   "Authorization: Bearer %s\r\nContent-Type: "
                   "application/json\r\nContent-Length: %d\r\n\r\n"
                   % (g.token, len(body))).encode())
        half = len(body) // 2
        for part in (body[:half], body[half:]):
            s.sendall(part.encode())
            time.sleep(0.2)
        got = b""
        while b'"id": 3' not in got and b'"id":3' not in got:
            chunk = s.recv(4096)
            assert chunk, "no answer: %r" % got
            got += chunk
        assert got.startswith(b"HTTP/1.1 200"), got[:100]
        s.close()
        before = len(g.recorded("big"))
        st, body, h = g.post("big", headers={}, id="x" * 5000)
        eq(st, 413, "over max-body")
        eq(len(g.recorded("big")), before, "never arrived")
    finally:
        g.close()


def test_agent_identity():
    """An agent's token names the agent and its container upstream."""
    from test_agent import Agent, need_docker
    need_docker()
    g = Gateway()
    a = Agent(start=False)
    try:
        g.d.close()
        # The child now runs as the agent project's owner, nobody: the
        # first child's log, root's if it was probed, is not for it.
        if os.path.exists(g.log):
            os.unlink(g.log)
        g.d = Daemon(config=g.qms_conf + a.conf())
        with open(os.path.join(g.d.dir, "state", "host.token")) as f:
            g.token = f.read().strip()
        a.d = g.d
        g.ready()
        eq(a.up()[0], 0, "up")
        with open(os.path.join(g.d.dir, "state", "agents", a.name,
                               "token")) as f:
            tok = f.read().strip()
        st, body, h = g.post("tools/list", token=tok,
                             headers={"X-QMS-Identity": "lead"})
        eq(st, 200, "agent through the gateway")
        hdr = {k.lower(): v for k, v in
               g.recorded("tools/list")[-1]["headers"].items()}
        eq(hdr["x-qms-identity"], a.name, "the agent's own name")
        eq(hdr["x-qms-instance"], a.row()["container"], "its container")
        rc, out, err = g.d.ctl("mcp-config", a.name)
        doc = json.loads(out)
        eq(doc["mcpServers"]["qms"]["url"], "http://127.0.0.1:%d/qms/mcp"
           % g.d.http_port, "qms url")
        eq(doc["mcpServers"]["qms"]["headers"]["Authorization"],
           "Bearer " + tok, "agent token")
    finally:
        a.d = None
        a.close()
        g.close()


def test_sse_relayed_event_by_event():
    g = Gateway()
    try:
        g.ready()
        s = socket.create_connection(("127.0.0.1", g.d.http_port))
        s.settimeout(20)
        body = json.dumps({"jsonrpc": "2.0", "id": 7,
                           "method": "test/events"})
        s.sendall(("POST /qms/mcp HTTP/1.1\r\nHost: localhost\r\n"
                   "Authorization: Bearer %s\r\nContent-Type: "
                   "application/json\r\nAccept: application/json, "
                   "text/event-stream\r\nContent-Length: %d\r\n\r\n%s"
                   % (g.token, len(body), body)).encode())
        got = b""
        while b'"n":1' not in got:
            chunk = s.recv(4096)
            assert chunk, "closed before the first event"
            got += chunk
        # the upstream is still holding its reply open (no gate yet)
        assert b'"n":2' not in got
        contains(got.decode(), "text/event-stream")
        open(g.gate, "w").close()
        while b'"n":2' not in got:
            chunk = s.recv(4096)
            assert chunk, "closed before the second event"
            got += chunk
        s.close()
    finally:
        g.close()


def test_child_killed_mid_request():
    g = Gateway()
    try:
        g.ready()
        pid = component(g.d, "qms-mcp")["pid"]
        result = {}

        def call():
            try:
                result["r"] = g.post("test/hang")
            except Exception as e:       # a cut connection is an answer
                result["e"] = e
        t = threading.Thread(target=call)
        t.start()
        deadline = time.time() + 10
        while not g.recorded("test/hang") and time.time() < deadline:
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)
        t.join(30)
        assert not t.is_alive(), "the client hangs"
        if "r" in result:
            assert result["r"][0] >= 500, result
        contains(component(g.d, "gateway")["last_error"], "qms-mcp")
    finally:
        g.close()


def test_client_leaving_cancels_upstream():
    g = Gateway()
    try:
        g.ready()
        for method in ("test/hang", "test/events"):
            s = socket.create_connection(("127.0.0.1", g.d.http_port))
            body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method})
            s.sendall(("POST /qms/mcp HTTP/1.1\r\nHost: localhost\r\n"
                       "Authorization: Bearer %s\r\nContent-Type: "
                       "application/json\r\nContent-Length: %d\r\n\r\n%s"
                       % (g.token, len(body), body)).encode())
            deadline = time.time() + 10
            while not g.recorded(method) and time.time() < deadline:
                time.sleep(0.05)
            if method == "test/events":
                s.recv(4096)      # the first event: the stream is open
            wait_state(g.d, "gateway", "ready",
                       cond=lambda r: r["active"] == 1)
            s.close()
            row = wait_state(g.d, "gateway", "ready",
                             cond=lambda r: r["active"] == 0)
        eq(row["cancelled"], 2, "both upstream requests cancelled")
        eq(g.post("ping")[0], 200, "still serving")
    finally:
        g.close()


def test_503_while_in_backoff():
    d = Daemon(config="[qms-mcp]\nenabled = yes\ncommand = /bin/false\n"
               "workdir = /tmp\nurl = http://127.0.0.1:%d/mcp\n"
               "backoff-min = 5s\n" % free_port())
    try:
        wait_state(d, "qms-mcp", "backoff")
        with open(os.path.join(d.dir, "state", "host.token")) as f:
            tok = f.read().strip()
        c = http.client.HTTPConnection("127.0.0.1", d.http_port, timeout=10)
        t0 = time.monotonic()
        c.request("POST", "/qms/mcp", body='{"jsonrpc":"2.0","id":1,'
                  '"method":"ping"}', headers={
                      "Authorization": "Bearer " + tok,
                      "Content-Type": "application/json"})
        r = c.getresponse()
        body = json.loads(r.read())
        eq(r.status, 503, "status")
        contains(body["error"]["message"], "qms-mcp is in backoff, next "
                 "start in")
        assert time.monotonic() - t0 < 5, "answered at once, no hang"
    finally:
        d.close()


def test_100_concurrent_clients():
    g = Gateway()
    try:
        g.ready()
        results = []

        def call(i):
            try:
                results.append(g.post("tools/list", id=i)[0])
            except Exception as e:
                results.append(repr(e))
        threads = [threading.Thread(target=call, args=(i,))
                   for i in range(100)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        eq(sorted(results), [200] * 100, "every request answered")
        eq(g.d.threads(), 1, "threads")
    finally:
        g.close()


# docker-bridge is opened only while an agent has network = bridge; this
# one is never brought up.
BRIDGED = '[agent "bridged"]\nimage = qms-agent-test:latest\nnetwork = bridge\n'


def test_docker_bridge_listen_and_rebind():
    """listen = docker-bridge:PORT binds the gateway of a Docker network,
    found from the engine, and moves when it moves.  The network here has
    a loopback subnet: nothing leaves the machine."""
    from test_agent import docker, need_docker
    import secrets
    need_docker()
    name = "qmsd-br-" + secrets.token_hex(3)
    a, b = secrets.randbelow(200) + 20, secrets.randbelow(200) + 20
    while b == a:
        b = secrets.randbelow(200) + 20
    docker("network", "create", "--subnet", "127.%d.0.0/24" % a,
           "--gateway", "127.%d.0.1" % a, name)
    port = free_port()
    d = None
    try:
        d = Daemon(config="[http]\nlisten = 127.0.0.1:%d docker-bridge:%d\n"
                   "docker-network = %s\n%s" % (free_port(), port, name,
                                                BRIDGED))
        with open(os.path.join(d.dir, "state", "host.token")) as f:
            tok = f.read().strip()

        def ping(ip):
            c = http.client.HTTPConnection(ip, port, timeout=5)
            c.request("POST", "/git/mcp", body='{"jsonrpc":"2.0","id":1,'
                      '"method":"ping"}', headers={
                          "Authorization": "Bearer " + tok,
                          "Content-Type": "application/json",
                          "Host": "host.docker.internal:%d" % port})
            return c.getresponse().status
        row = wait_state(d, "http", "ready", cond=lambda r:
                         "docker-bridge:%d" % port in r["detail"] and
                         "waits" not in r["detail"])
        eq(ping("127.%d.0.1" % a), 200, "on the bridge's gateway")
        # the network moves: qmsd follows
        docker("network", "rm", name)
        docker("network", "create", "--subnet", "127.%d.0.0/24" % b,
               "--gateway", "127.%d.0.1" % b, name)
        deadline = time.time() + 40
        ok = False
        while time.time() < deadline and not ok:
            try:
                ok = ping("127.%d.0.1" % b) == 200
            except OSError:
                time.sleep(0.5)
        assert ok, "not rebound: " + d.log()[-1500:]
        contains(d.log(), "docker-bridge is 127.%d.0.1" % b)
        try:
            ping("127.%d.0.1" % a)
            raise AssertionError("still listening on the old address")
        except OSError:
            pass
    finally:
        if d is not None:
            d.close()
        docker("network", "rm", name, check=False)


def test_docker_bridge_network_missing():
    """docker-network names no network: the row says so, and the log."""
    from test_agent import need_docker
    need_docker()
    d = Daemon(config="[http]\nlisten = 127.0.0.1:%d docker-bridge:%d\n"
               "docker-network = qmsd-no-such-net\n%s" % (free_port(),
                                                          free_port(),
                                                          BRIDGED))
    try:
        row = wait_state(d, "http", "degraded")
        contains(row["detail"], "no Docker network by that name "
                 "([http] docker-network)", "the reason")
        eq(row["health"], "warning", "health")
        contains(d.log(), "warning: http: docker-bridge: no Docker network",
                 "logged")
    finally:
        d.close()


def test_docker_bridge_waits_for_docker():
    """No Docker at all: the docker-bridge address only waits; the docker
    row says why, and http stays ready on its other address."""
    tmp = tempfile.mkdtemp(prefix="qmsd-nodocker.")
    port, bport = free_port(), free_port()
    d = Daemon(config="[http]\nlisten = 127.0.0.1:%d docker-bridge:%d\n%s"
               % (port, bport, BRIDGED),
               env={"DOCKER_HOST": "unix://%s/none.sock" % tmp})
    try:
        row = wait_state(d, "http", "ready")
        eq(row["detail"], "listening on 127.0.0.1:%d; docker-bridge:%d "
           "waits for Docker's bridge" % (port, bport), "detail")
        eq(row["health"], "ok", "health")
    finally:
        d.close()
        os.rmdir(tmp)


def test_docker_bridge_only_for_bridge_agents():
    """Without an agent on network = bridge the docker-bridge address is
    not opened, and the http row does not count it against itself; an
    agent on a bridge added by a reload opens it, and its going closes
    it again."""
    from test_agent import docker, need_docker
    import secrets
    need_docker()
    name = "qmsd-br-" + secrets.token_hex(3)
    a = secrets.randbelow(200) + 20
    docker("network", "create", "--subnet", "127.%d.0.0/24" % a,
           "--gateway", "127.%d.0.1" % a, name)
    gw = "127.%d.0.1" % a
    port, bport = free_port(), free_port()
    conf = ("[http]\nlisten = 127.0.0.1:%d docker-bridge:%d\n"
            "docker-network = %s\n" % (port, bport, name))
    sealed = '[agent "sealed"]\nimage = qms-agent-test:latest\n'

    def listening():
        try:
            socket.create_connection((gw, bport), timeout=5).close()
            return True
        except OSError:
            return False
    d = None
    try:
        d = Daemon(config=conf + sealed)
        # Docker has answered where the bridge is, and still nothing opens
        deadline = time.time() + 30
        while "docker-bridge is %s" % gw not in d.log():
            assert time.time() < deadline, d.log()[-1500:]
            time.sleep(0.1)
        row = wait_state(d, "http", "ready")
        eq(row["detail"], "listening on 127.0.0.1:%d" % port, "detail")
        eq(row["health"], "ok", "health")
        eq(listening(), False, "docker-bridge not opened")
        assert "listening on docker-bridge" not in d.log(), d.log()
        # an agent on a bridge: opened
        d.write_config(conf + sealed + BRIDGED)
        eq(d.ctl("reload")[0], 0, "reload")
        wait_state(d, "http", "ready", cond=lambda r:
                   "docker-bridge:%d" % bport in r["detail"])
        eq(listening(), True, "docker-bridge opened")
        # disabled: closed again
        d.write_config(conf + sealed + BRIDGED + "enabled = no\n")
        eq(d.ctl("reload")[0], 0, "reload")
        row = wait_state(d, "http", "ready", cond=lambda r:
                         "docker-bridge" not in r["detail"])
        eq(row["detail"], "listening on 127.0.0.1:%d" % port, "detail")
        deadline = time.time() + 10
        while listening():
            assert time.time() < deadline, "still open"
            time.sleep(0.1)
    finally:
        if d is not None:
            d.close()
        docker("network", "rm", name, check=False)
    # docker-bridge alone, unused: nothing listens, and that is all right
    d = Daemon(config="[http]\nlisten = docker-bridge:%d\n" % bport)
    try:
        row = wait_state(d, "http", "ready")
        eq(row["detail"], "not listening: docker-bridge waits for an agent "
           "with network = bridge", "detail")
        eq(row["health"], "ok", "health")
    finally:
        d.close()


def test_claude_in_container_connects():
    """The real Claude Code in the agent's container, with the real
    server-everything as the child: both servers connect."""
    from test_agent import Agent, need_docker
    need_docker()
    port = free_port()
    a = Agent(start=False)
    try:
        a.d = Daemon(config=a.conf() + (
            "[qms-mcp]\nenabled = yes\ncommand = node %s streamableHttp\n"
            "workdir = /tmp\nenvironment = PORT=%d\n"
            "url = http://127.0.0.1:%d/mcp\n" % (EVERYTHING, port, port)))
        wait_state(a.d, "qms-mcp", "ready")
        p = subprocess.run([QMSCTL, "-S", a.d.socket, "exec", a.name, "--",
                            "claude", "mcp", "list"], capture_output=True,
                           text=True, timeout=180, stdin=subprocess.DEVNULL)
        lines = {l.split(":")[0]: l for l in p.stdout.splitlines()
                 if ": http" in l}
        contains(lines.get("qms", ""), "✔ Connected", "qms: " + p.stdout +
                 p.stderr)
        contains(lines.get("git", ""), "✔ Connected", "git: " + p.stdout)
    finally:
        a.close()

if __name__ == "__main__":
    main(globals())
