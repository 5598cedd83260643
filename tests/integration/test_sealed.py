#!/usr/bin/env python3
"""Sealed agents (issue 15) in real containers: network = none, the
agent's one socket mounted at /run/qmsd and the relay in the image on
127.0.0.1:3128.  Claude Code reaches both MCP servers through it, curl
and git reach a TLS server on the host's loopback through the egress
proxy when the allow-list names it, and nothing else is reachable.  Every
server here is on loopback."""
import json
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from functools import partial

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmsdtest import QMSCTL, Daemon, contains, eq, free_port, main, wait_state
from test_agent import IMAGE, docker, need_docker

HERE = os.path.dirname(os.path.abspath(__file__))
EVERYTHING = os.path.join(HERE, "..", "node", "node_modules", "@modelcontext"
                          "protocol", "server-everything", "dist", "index.js")


class Sealed:
    """qmsd with sealed agents (no network key: none is the default), a
    project owned by nobody."""

    def __init__(self, names=("s",), extra="", qms=""):
        need_docker()
        tag = secrets.token_hex(3)
        self.names = ["%s%s" % (n, tag) for n in names]
        self.base = tempfile.mkdtemp(prefix="qmsd-sealed.")
        os.chmod(self.base, 0o755)
        self.project = os.path.join(self.base, "repo")
        os.makedirs(self.project)
        with open(os.path.join(self.project, "README.md"), "w") as f:
            f.write("readme\n")
        subprocess.run(["chown", "-R", "nobody:nogroup", self.project],
                       check=True)
        conf = "[qmsd]\nproject-root = %s\n%s" % (self.project, qms)
        for n in self.names:
            conf += '[agent "%s"]\nimage = %s\n%s' % (n, IMAGE, extra)
        self.d = Daemon(config=conf)

    def up(self, name):
        p = subprocess.run([QMSCTL, "-S", self.d.socket, "up", name],
                           capture_output=True, text=True, timeout=300)
        eq(p.returncode, 0, "up %s: %s" % (name, p.stderr))

    def exec(self, name, *cmd, timeout=120):
        p = subprocess.run([QMSCTL, "-S", self.d.socket, "exec", name, "--"]
                           + list(cmd), capture_output=True, text=True,
                           timeout=timeout, stdin=subprocess.DEVNULL)
        return p.returncode, p.stdout, p.stderr

    def sock(self, name):
        return os.path.join(self.d.dir, "state", "agents", name, "link",
                            "qmsd.sock")

    def close(self):
        self.d.close()
        for n in self.names:
            docker("rm", "-f", "qms-agent-" + n, check=False)
            for v in ("qms-claude-config-", "qms-projects-"):
                docker("volume", "rm", "-f", v + n, check=False)
        shutil.rmtree(self.base, ignore_errors=True)


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class TLSServer:
    """https on 127.0.0.1 with a certificate of its own CA, serving a
    directory: a file and a bare repository (git's dumb http)."""

    def __init__(self, base):
        self.dir = os.path.join(base, "www")
        os.makedirs(self.dir)
        with open(os.path.join(self.dir, "hello.txt"), "w") as f:
            f.write("hello over tls\n")
        work = os.path.join(base, "work")
        run = partial(subprocess.run, check=True, capture_output=True)
        run(["git", "init", "-q", "-b", "main", work])
        with open(os.path.join(work, "file.txt"), "w") as f:
            f.write("cloned through the proxy\n")
        run(["git", "-C", work, "add", "."])
        run(["git", "-C", work, "-c", "user.name=t", "-c",
             "user.email=t@t", "commit", "-qm", "one"])
        bare = os.path.join(self.dir, "repo.git")
        run(["git", "clone", "-q", "--bare", work, bare])
        run(["git", "-C", bare, "update-server-info"])
        self.ca = os.path.join(base, "ca.pem")
        key = os.path.join(base, "key.pem")
        run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
             "-subj", "/CN=127.0.0.1", "-addext",
             "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", self.ca])
        os.chmod(self.ca, 0o644)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.ca, key)
        handler = partial(Quiet, directory=self.dir)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket,
                                            server_side=True)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever,
                         daemon=True).start()

    def close(self):
        self.httpd.shutdown()


def test_claude_connects_through_the_relay():
    """Claude Code in a container with no network lists both MCP servers
    connected, at the relay's address."""
    port = free_port()
    s = Sealed(qms="[qms-mcp]\nenabled = yes\ncommand = node %s "
               "streamableHttp\nworkdir = /tmp\nenvironment = PORT=%d\n"
               "url = http://127.0.0.1:%d/mcp\n" % (EVERYTHING, port, port))
    try:
        name = s.names[0]
        wait_state(s.d, "qms-mcp", "ready")
        s.up(name)
        rc, out, err = s.exec(name, "claude", "mcp", "list", timeout=180)
        lines = {l.split(":")[0]: l for l in out.splitlines() if ": http"
                 in l}
        for srv in ("qms", "git"):
            contains(lines.get(srv, ""), "http://127.0.0.1:3128/%s/mcp"
                     % srv, srv + ": " + out + err)
            contains(lines.get(srv, ""), "✔ Connected", srv + ": " + out)
        inspect = json.loads(docker("inspect", "qms-agent-" + name).stdout)
        eq(inspect[0]["HostConfig"]["NetworkMode"], "none", "no network")
    finally:
        s.close()


PROBE = r"""
import socket, sys
for host, port in [("127.0.0.1", int(sys.argv[1])), ("192.0.2.1", 443)]:
    c = socket.socket()
    c.settimeout(5)
    try:
        c.connect((host, port))
        print(host, "connected")
    except OSError as e:
        print(host, type(e).__name__, e.errno)
"""


def test_no_way_out_but_the_socket():
    """In the container a direct connect to qmsd's port on loopback finds
    nothing (the container's loopback is its own), any other address has
    no route, and /run/qmsd holds its socket alone."""
    s = Sealed()
    try:
        name = s.names[0]
        s.up(name)
        rc, out, err = s.exec(name, "python3", "-c", PROBE,
                              str(s.d.http_port))
        eq(rc, 0, err)
        contains(out, "127.0.0.1 ConnectionRefusedError", "own loopback")
        contains(out, "192.0.2.1 OSError 101", "no route (ENETUNREACH)")
        rc, out, err = s.exec(name, "sh", "-c", "ls -A /run/qmsd; "
                              "cat /proc/net/route | wc -l")
        eq(out.split(), ["qmsd.sock", "1"], "its socket alone; no route "
           "but the header line")
    finally:
        s.close()


RAW_CONNECT = r"""
import socket, sys
c = socket.create_connection(("127.0.0.1", 3128))
c.sendall(b"CONNECT 127.0.0.1:%s HTTP/1.1\r\n\r\n" % sys.argv[1].encode())
out = b""
while True:
    b = c.recv(4096)
    if not b:
        break
    out += b
print(out.decode())
"""


def test_https_and_git_through_the_proxy():
    """The allow-list names a TLS server by its loopback address: curl
    and git clone over https reach it through the proxy (its
    certificate, not qmsd's: nothing is intercepted).  Another port of
    the same address gets a 403 that says why, and is recorded."""
    tmp = tempfile.mkdtemp(prefix="qmsd-tls.")
    os.chmod(tmp, 0o755)
    tls = TLSServer(tmp)
    other = socket.socket()
    other.bind(("127.0.0.1", 0))
    other.listen(8)
    oport = other.getsockname()[1]
    s = Sealed(extra="egress = 127.0.0.1:%d\nmount = %s:/etc/test-ca.pem:ro\n"
               % (tls.port, tls.ca))
    try:
        name = s.names[0]
        s.up(name)
        # loopback is the container's own unless asked through the proxy:
        # NO_PROXY names it, so these commands clear it
        url = "https://127.0.0.1:%d" % tls.port
        rc, out, err = s.exec(name, "curl", "-sS", "--noproxy", "",
                              "--cacert", "/etc/test-ca.pem",
                              url + "/hello.txt")
        eq((rc, out), (0, "hello over tls\n"), "curl: " + err)
        rc, out, err = s.exec(name, "env", "NO_PROXY=", "no_proxy=",
                              "GIT_SSL_CAINFO=/etc/test-ca.pem", "git",
                              "clone", "-q", url + "/repo.git",
                              "/projects/clone")
        eq(rc, 0, "git clone: " + err)
        rc, out, err = s.exec(name, "cat", "/projects/clone/file.txt")
        eq(out, "cloned through the proxy\n", "the clone's file")
        # without the proxy, no way
        rc, out, err = s.exec(name, "curl", "-sS", "--noproxy", "*",
                              "--cacert", "/etc/test-ca.pem",
                              url + "/hello.txt")
        assert rc != 0, "reached without the proxy: " + out
        # an unlisted port: refused, with the reason
        rc, out, err = s.exec(name, "python3", "-c", RAW_CONNECT,
                              str(oport))
        contains(out, "HTTP/1.1 403 ", "refused: " + err)
        contains(out, "127.0.0.1:%d" % oport, "names the target")
        contains(out, '[agent "%s"] egress' % name, "names the key")
        rc, out, err = s.exec(name, "curl", "-sS", "--noproxy", "",
                              "https://127.0.0.1:%d/" % oport)
        assert rc != 0, "curl through to an unlisted port"
        contains(err, "403", "curl says the proxy refused")
        # the audit: each refusal, and the clone's tunnel with its bytes
        p = subprocess.run([QMSCTL, "-S", s.d.socket, "egress", name,
                            "--json"], capture_output=True, text=True,
                           timeout=30)
        recs = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
        denied = [r for r in recs if r["event"] == "denied" and
                  r["target"] == "127.0.0.1:%d" % oport]
        eq(len(denied), 2, "both refusals recorded: %r" % recs)
        eq((denied[0]["status"], denied[0]["rule"]), (403, "not-listed"),
           "why")
        closed = [r for r in recs if r["event"] == "closed" and
                  r["target"] == "127.0.0.1:%d" % tls.port]
        assert closed and max(r["bytes_down"] for r in closed) > 1000, \
            "tunnels recorded with their bytes: %r" % recs
        p = subprocess.run([QMSCTL, "-S", s.d.socket, "ps", "--json"],
                           capture_output=True, text=True, timeout=30)
        row = [r for r in json.loads(p.stdout)["agents"]
               if r["agent"] == name]
        assert row and row[0]["egress"]["denied"] == 2, p.stdout
    finally:
        s.close()
        tls.close()
        other.close()
        shutil.rmtree(tmp, ignore_errors=True)


def test_one_agent_not_another():
    """Two sealed agents: each container has its own socket and no other;
    the token of one, sent on the other's socket, is refused."""
    s = Sealed(names=("a", "b"))
    try:
        a, b = s.names
        s.up(a)
        s.up(b)
        rc, out, err = s.exec(a, "sh", "-c", "find / -xdev -type s "
                              "2>/dev/null; ls -A /run/qmsd")
        eq(out.split(), ["qmsd.sock"], "a's own socket only")
        rc, out, err = s.exec(a, "cat", "/pipe-dream/.mcp.json")
        tok = json.loads(out)["mcpServers"]["git"]["headers"][
            "Authorization"].split()[1]
        body = (b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":'
                b'{"protocolVersion":"2025-06-18","capabilities":{},'
                b'"clientInfo":{"name":"t","version":"1"}}}')
        for sock, want in ((s.sock(b), "403"), (s.sock(a), "200")):
            c = socket.socket(socket.AF_UNIX)
            c.connect(sock)
            c.settimeout(15)
            c.sendall(b"POST /git/mcp HTTP/1.1\r\nHost: 127.0.0.1:3128\r\n"
                      b"Content-Type: application/json\r\nAccept: "
                      b"application/json, text/event-stream\r\n"
                      b"Authorization: Bearer %s\r\nContent-Length: %d\r\n"
                      b"\r\n%s" % (tok.encode(), len(body), body))
            got = b""
            while b"\r\n\r\n" not in got:
                r = c.recv(4096)
                if not r:
                    break
                got += r
            c.close()
            contains(got.decode(), "HTTP/1.1 %s " % want, sock)
    finally:
        s.close()


if __name__ == "__main__":
    main(globals())
