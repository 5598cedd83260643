"""A refused push as real git sees it: rp_refusal's answer (through
tests/integration/rp-refuse.c) to a real `git push` over http.

A small HTTP server on 127.0.0.1 answers info/refs with the real
`git http-backend` and the push's POST with what rp_refusal made of the
commands git sent; git must print its own "! [remote rejected] REF -> REF
(REASON)" and fail, and the repository must not have the ref.  The same
server passing the POST to http-backend lets the push through, so that
a broken harness cannot pass for a refusal."""
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmsdtest import contains, main  # noqa: E402


def build_root():
    root = os.environ.get("QMSD_BUILD_ROOT")
    if root:
        return root
    qmsd = os.environ.get("QMSD")
    if qmsd:
        return os.path.dirname(os.path.dirname(os.path.abspath(qmsd)))
    return "build/dev"


RP_REFUSE = os.path.join(build_root(), "tests", "rp-refuse")


def cgi(root, method, path, query, body=b"", ctype=""):
    """Run git http-backend as a CGI; its status, headers and body."""
    env = {"PATH": os.environ["PATH"], "GIT_PROJECT_ROOT": root,
           "GIT_HTTP_EXPORT_ALL": "1", "REQUEST_METHOD": method,
           "PATH_INFO": path, "QUERY_STRING": query,
           "CONTENT_TYPE": ctype, "CONTENT_LENGTH": str(len(body)),
           "REMOTE_ADDR": "127.0.0.1"}
    out = subprocess.run(["git", "http-backend"], input=body, env=env,
                         capture_output=True, check=True).stdout
    head, _, rest = out.partition(b"\r\n\r\n")
    status, headers = 200, []
    for line in head.split(b"\r\n"):
        name, _, value = line.decode().partition(":")
        if name.lower() == "status":
            status = int(value.split()[0])
        else:
            headers.append((name, value.strip()))
    return status, headers, rest


def drop_side_band(adv):
    """The advertisement with side-band-64k taken from the first ref's
    capabilities, its pkt-line's length written again."""
    out, pos = b"", 0
    while pos < len(adv):
        n = int(adv[pos:pos + 4], 16)
        if n < 4:
            out += adv[pos:pos + 4]
            pos += 4
            continue
        payload = adv[pos + 4:pos + n]
        if b"\0" in payload:
            ref, _, caps = payload.partition(b"\0")
            caps = b" ".join(c for c in caps.rstrip(b"\n").split(b" ")
                             if c != b"side-band-64k") + b"\n"
            assert b"side-band" not in caps
            payload = ref + b"\0" + caps
        out += b"%04x" % (len(payload) + 4) + payload
        pos += n
    return out


def read_body(handler):
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int(handler.rfile.readline().split(b";")[0], 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b""):
                    pass
                return body
            body += handler.rfile.read(size)
            handler.rfile.readline()
    return handler.rfile.read(int(handler.headers.get("Content-Length",
                                                      "0")))


class Server:
    def __init__(self, root, reason=None, side_band=True):
        self.root, self.reason, self.side_band = root, reason, side_band
        self.log = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def answer(self, status, headers, body):
                self.send_response(status)
                for name, value in headers:
                    if name.lower() != "content-length":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True

            def do_GET(self):
                path, _, query = self.path.partition("?")
                status, headers, body = cgi(outer.root, "GET", path, query)
                if query == "service=git-receive-pack" and \
                        not outer.side_band:
                    body = drop_side_band(body)
                self.answer(status, headers, body)

            def do_POST(self):
                body = read_body(self)
                if outer.reason is None or \
                        not self.path.endswith("/git-receive-pack"):
                    self.answer(*cgi(outer.root, "POST", self.path, "",
                                     body, self.headers["Content-Type"]))
                    return
                p = subprocess.run([RP_REFUSE, outer.reason], input=body,
                                   capture_output=True)
                outer.log.append(p.stderr.decode())
                if p.returncode != 0:
                    self.answer(500, [], p.stderr)
                    return
                self.answer(200, [("Content-Type",
                                   "application/x-git-receive-pack-result"),
                                  ("Cache-Control", "no-cache")], p.stdout)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                     Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class Repos:
    """A bare repository served over http, and a clone with a commit."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="qmsd-rp-")
        self.env = dict(os.environ, HOME=self.dir, GIT_CONFIG_NOSYSTEM="1",
                        GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t",
                        GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t",
                        GIT_TERMINAL_PROMPT="0", LC_ALL="C")
        self.env.pop("GIT_DIR", None)
        self.bare = os.path.join(self.dir, "srv", "repo.git")
        self.work = os.path.join(self.dir, "work")
        self.git("init", "-q", "--bare", "-b", "main", self.bare)
        self.git("-C", self.bare, "config", "http.receivepack", "true")
        self.git("init", "-q", "-b", "main", self.work)
        with open(os.path.join(self.work, "f"), "w") as f:
            f.write("one\n")
        self.git("-C", self.work, "add", "f")
        self.git("-C", self.work, "commit", "-q", "-m", "one")
        for branch in ("x", "y"):
            self.git("-C", self.work, "branch", branch)

    def git(self, *args, check=True):
        return subprocess.run(["git", *args], env=self.env, check=check,
                              capture_output=True, text=True)

    def push(self, port, *refspecs):
        url = f"http://127.0.0.1:{port}/repo.git"
        return self.git("-C", self.work, "push", "--porcelain", url,
                        *refspecs, check=False)

    def push_plain(self, port, *refspecs):
        url = f"http://127.0.0.1:{port}/repo.git"
        return self.git("-C", self.work, "push", url, *refspecs,
                        check=False)

    def has(self, ref):
        return self.git("-C", self.bare, "rev-parse", "--verify", "-q",
                        ref, check=False).returncode == 0

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def refused(side_band, reason, refspecs, shown, refs):
    repos = Repos()
    srv = Server(os.path.join(repos.dir, "srv"), reason, side_band)
    try:
        p = repos.push_plain(srv.port, *refspecs)
        out = p.stdout + p.stderr
        assert p.returncode != 0, f"the push passed: {out}"
        for ref in refs:
            short = ref[len("refs/heads/"):]
            contains(out, f"! [remote rejected] {short} -> {short} "
                     f"({shown})", "git's refusal")
            assert not repos.has(ref), f"{ref} was made"
        log = "".join(srv.log)
        contains(log, f"report-status 1 side-band-64k {int(side_band)}",
                 "what git asked for")
        for ref in refs:
            contains(log, ref, "the command read")
        # --porcelain: git's own reading of the report, line by line.
        p = repos.push(srv.port, *refspecs)
        assert p.returncode != 0
        for ref in refs:
            contains(p.stdout, f"!\t{ref}:{ref}\t[remote rejected] "
                     f"({shown})", "porcelain")
    finally:
        srv.close()
        repos.close()


def test_refused_in_side_band():
    refused(True, "refs/heads/x is not under refs/heads/agent/a/",
            ["refs/heads/x"],
            "refs/heads/x is not under refs/heads/agent/a/",
            ["refs/heads/x"])


def test_refused_without_side_band():
    refused(False, "the repository is not in this agent's scope",
            ["refs/heads/x"],
            "the repository is not in this agent's scope",
            ["refs/heads/x"])


def test_refused_every_ref_one_line_reason():
    # Control bytes and newlines in the reason never break git's report.
    refused(True, "no\nnew line\r\x1b[31mhere\x7f",
            ["refs/heads/x", "refs/heads/y"],
            "no new line  [31mhere ", ["refs/heads/x", "refs/heads/y"])


def test_passed_through_http_backend():
    # The harness itself: the same push, answered by http-backend, passes.
    repos = Repos()
    srv = Server(os.path.join(repos.dir, "srv"), None)
    try:
        p = repos.push_plain(srv.port, "refs/heads/x")
        assert p.returncode == 0, p.stderr
        assert repos.has("refs/heads/x")
    finally:
        srv.close()
        repos.close()


if __name__ == "__main__":
    main(globals())
