"""A stand-in for GitHub (Enterprise) on loopback, for the secrets tests
(issue 18): https with a test CA of its own, git's smart http served by
the real `git http-backend`, and the few REST answers `gh api user` needs.
Every request must carry the secret in Authorization (Basic with it as
the password, "token SECRET" or "Bearer SECRET"); anything else is a 401
that makes git ask its credential helper.  Each request is recorded for
the tests to look at: what was asked, which Authorization form came,
whether it held the secret, and for a push the refs it would update.

    fake = FakeGitHub(base, name)   # base: a directory of the test's
    fake.port, fake.ca, fake.secret, fake.url, fake.ref("acme/qms", REF)
    fake.seen()                     # [{"method", "path", "target", "host",
                                    #   "auth", "secret", "placeholder",
                                    #   "refs", "status", "chunked"}]
    fake.close()

Run as a script it proves itself with the host's git: clone, push to a
branch, and a push of several MB (chunked) over https.
"""
import base64
import binascii
import json
import os
import secrets
import shutil
import socket
import ssl
import string
import subprocess
import sys
import tempfile
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REPOS = ("acme/qms", "acme/other")
LOGIN = "octocat"
MAX_BODY = 256 << 20


def _run(*cmd, **kw):
    return subprocess.run(list(cmd), check=True, capture_output=True, **kw)


def make_ca(dir, names=("localhost",), addrs=("127.0.0.1",)):
    """A test CA and a server certificate of it for names and addrs, in
    dir: ca.pem (0644), server.pem, server.key.  Returns their paths."""
    ca, cakey = os.path.join(dir, "ca.pem"), os.path.join(dir, "ca.key")
    crt, key = os.path.join(dir, "server.pem"), os.path.join(dir, "server.key")
    csr, ext = os.path.join(dir, "server.csr"), os.path.join(dir, "server.ext")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
          "-nodes"]
    _run("openssl", "req", "-x509", *ec, "-days", "2", "-subj",
         "/CN=fakegithub test CA", "-addext",
         "basicConstraints=critical,CA:TRUE,pathlen:0", "-addext",
         "keyUsage=critical,keyCertSign,cRLSign", "-keyout", cakey,
         "-out", ca)
    _run("openssl", "req", "-new", *ec, "-subj", "/CN=%s" % names[0],
         "-keyout", key, "-out", csr)
    san = ["DNS:" + n for n in names] + ["IP:" + a for a in addrs]
    with open(ext, "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\n"
                "subjectKeyIdentifier=hash\n"
                "authorityKeyIdentifier=keyid\n"
                "subjectAltName=%s\n" % ",".join(san))
    _run("openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", cakey,
         "-CAcreateserial", "-days", "2", "-sha256", "-extfile", ext,
         "-out", crt)
    os.chmod(ca, 0o644)
    return ca, crt, key


def pkt_commands(body):
    """The ref updates at the start of a receive-pack body: a list of
    (old, new, ref), read up to the flush."""
    out, i = [], 0
    while i + 4 <= len(body):
        try:
            n = int(body[i:i + 4], 16)
        except ValueError:
            break
        if n == 0:
            break
        if n < 4:
            break
        line = body[i + 4:i + n]
        i += n
        line = line.split(b"\0", 1)[0].rstrip(b"\n")
        parts = line.split(b" ", 2)
        if len(parts) == 3:
            out.append(tuple(p.decode(errors="replace") for p in parts))
    return out


class FakeGitHub:
    def __init__(self, base_dir, name="localhost", repos=REPOS, port=0):
        """name: the host name clients use (the certificate is for it,
        localhost and 127.0.0.1); the server listens on 127.0.0.1."""
        self.dir = os.path.join(base_dir, "fakegithub")
        os.makedirs(self.dir)
        os.chmod(self.dir, 0o755)
        self.secret = "ghs_" + "".join(
            secrets.choice(string.ascii_letters + string.digits)
            for _ in range(36))
        self.requests = []
        self.lock = threading.Lock()
        self.root = os.path.join(self.dir, "repos")
        for r in repos:
            self._make_repo(r)
        self.ca, crt, key = make_ca(self.dir, names=tuple(
            dict.fromkeys((name, "localhost"))))
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(crt, key)
        fake = self

        class Handler(_Handler):
            owner = fake
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        # the handshake in the request's thread, not in accept()
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket,
                                            server_side=True,
                                            do_handshake_on_connect=False)
        self.port = self.httpd.server_address[1]
        self.name = name
        self.authority = "%s:%d" % (name, self.port)
        self.url = "https://" + self.authority
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       daemon=True)
        self.thread.start()

    def _make_repo(self, name):
        bare = self.bare(name)
        work = os.path.join(self.dir, "work", name)
        os.makedirs(work)
        _run("git", "init", "-q", "-b", "main", work)
        with open(os.path.join(work, "README.md"), "w") as f:
            f.write("%s, served by the fake GitHub\n" % name)
        _run("git", "-C", work, "add", ".")
        _run("git", "-C", work, "-c", "user.name=fake", "-c",
             "user.email=fake@example.com", "commit", "-qm", "one")
        _run("git", "clone", "-q", "--bare", work, bare)
        _run("git", "-C", bare, "config", "http.receivepack", "true")

    def bare(self, name):
        """The bare repository's directory for OWNER/REPO."""
        return os.path.join(self.root, name + ".git")

    def ref(self, name, ref):
        """What ref is in OWNER/REPO's bare repository, or None."""
        p = subprocess.run(["git", "-C", self.bare(name), "rev-parse",
                            "--verify", "-q", ref], capture_output=True,
                           text=True)
        return p.stdout.strip() if p.returncode == 0 else None

    def seen(self):
        with self.lock:
            return list(self.requests)

    def _record(self, rec):
        with self.lock:
            self.requests.append(rec)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(10)


PLACEHOLDER = "qmsd-placeholder-"


def _auth_kind(value, secret):
    """(kind, carried the secret, carried a placeholder) of an
    Authorization value."""
    if value is None:
        return "none", False, False
    scheme, _, cred = value.strip().partition(" ")
    cred = cred.strip()
    s = scheme.lower()
    if s in ("token", "bearer"):
        return s, cred == secret, PLACEHOLDER in cred
    if s == "basic":
        try:
            user, _, pw = base64.b64decode(cred, validate=True).decode() \
                .partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return "basic", False, PLACEHOLDER in value
        return "basic", pw == secret, PLACEHOLDER in user + ":" + pw
    return "other", secret in value, PLACEHOLDER in value


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fakegithub"
    owner = None

    def log_message(self, *args):
        pass

    def do_GET(self):
        self._serve()

    def do_HEAD(self):
        self._serve()

    def do_POST(self):
        self._serve()

    def do_PUT(self):
        self._serve()

    def do_PATCH(self):
        self._serve()

    def do_DELETE(self):
        self._serve()

    def _body(self):
        """The request's body, chunked decoded; None when malformed."""
        te = self.headers.get("Transfer-Encoding")
        if te is not None:
            if te.strip().lower() != "chunked":
                return None
            out = bytearray()
            while True:
                line = self.rfile.readline(1024)
                try:
                    n = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    return None
                if n == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n",
                                                            b""):
                        pass
                    return bytes(out)
                if len(out) + n > MAX_BODY:
                    return None
                out += self.rfile.read(n)
                if self.rfile.readline(4) not in (b"\r\n", b"\n"):
                    return None
        n = int(self.headers.get("Content-Length") or 0)
        if n < 0 or n > MAX_BODY:
            return None
        return self.rfile.read(n) if n else b""

    def _answer(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        return status

    def _json(self, status, obj, headers=()):
        return self._answer(status, json.dumps(obj).encode(),
                            [("Content-Type",
                              "application/json; charset=utf-8")]
                            + list(headers))

    def _serve(self):
        fake = self.owner
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        auth = self.headers.get("Authorization")
        kind, ok, placeholder = _auth_kind(auth, fake.secret)
        rec = {"method": self.command, "path": path, "target": self.path,
               "host": self.headers.get("Host"), "auth": kind,
               "secret": ok, "placeholder": placeholder, "refs": [],
               "status": None,
               "chunked": "Transfer-Encoding" in self.headers}
        body = self._body()
        if body is None:
            rec["status"] = self._answer(400, b"bad body\n")
            self.close_connection = True
            fake._record(rec)
            return
        if not ok:
            rec["status"] = self._json(
                401, {"message": "Bad credentials",
                      "documentation_url": "https://docs.github.com/rest"},
                [("WWW-Authenticate", 'Basic realm="fake"')])
            fake._record(rec)
            return
        if path.endswith("/git-receive-pack"):
            rec["refs"] = pkt_commands(body)
        api = path[len("/api/v3"):] if path.startswith("/api/v3/") \
            else path
        if ".git/" in path or path.endswith(".git"):
            rec["status"] = self._git(url, body)
        elif api in ("/user", "/user/"):
            rec["status"] = self._json(200, {
                "login": LOGIN, "id": 583231, "type": "User",
                "name": "The Octocat", "site_admin": False},
                [("X-OAuth-Scopes", "repo, read:org"),
                 ("X-GitHub-Media-Type", "github.v3; format=json")])
        elif path in ("/api/v3", "/api/v3/"):
            rec["status"] = self._json(200, {
                "current_user_url": fake.url + "/api/v3/user"})
        else:
            rec["status"] = self._json(404, {"message": "Not Found"})
        fake._record(rec)

    def _git(self, url, body):
        """git http-backend as a CGI, as a web server runs it."""
        fake = self.owner
        path = url.path
        if path.startswith("/api/v3/"):
            return self._json(404, {"message": "Not Found"})
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": fake.root,
            "GIT_HTTP_EXPORT_ALL": "1",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "SERVER_SOFTWARE": "fakegithub",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": urllib.parse.unquote(path),
            "QUERY_STRING": url.query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": "x-access-token",
            "REMOTE_ADDR": self.client_address[0],
        }
        for k, v in self.headers.items():
            k = k.upper().replace("-", "_")
            if k in ("AUTHORIZATION", "CONTENT_TYPE", "CONTENT_LENGTH",
                     "TRANSFER_ENCODING"):
                continue
            env["HTTP_" + k] = v
        gp = self.headers.get("Git-Protocol")
        if gp:
            env["GIT_PROTOCOL"] = gp
        p = subprocess.run(["git", "http-backend"], input=body, env=env,
                           capture_output=True, timeout=120)
        out = p.stdout
        sep = out.find(b"\r\n\r\n")
        seplen = 4
        if sep < 0:
            sep, seplen = out.find(b"\n\n"), 2
        if sep < 0:
            return self._answer(500, b"http-backend: " + p.stderr)
        status, headers = 200, []
        for line in out[:sep].decode("latin-1").splitlines():
            k, _, v = line.partition(":")
            if k.lower() == "status":
                status = int(v.split()[0])
            elif k.lower() != "content-length":
                headers.append((k.strip(), v.strip()))
        return self._answer(status, out[sep + seplen:], headers)


def _selftest():
    """The fake against the host's real git: clone, push a branch, push
    several MB (git sends that chunked)."""
    base = tempfile.mkdtemp(prefix="fakegithub.")
    fake = FakeGitHub(base)
    try:
        helper = "!f(){ echo username=x-access-token; echo password=%s; }; f" \
            % fake.secret
        env = dict(os.environ, GIT_SSL_CAINFO=fake.ca, NO_PROXY="*",
                   GIT_TERMINAL_PROMPT="0")
        git = ["git", "-c", "credential.helper=", "-c",
               "credential.helper=" + helper, "-c", "user.name=t", "-c",
               "user.email=t@t"]
        work = os.path.join(base, "clone")
        p = subprocess.run(git + ["clone", "-q", fake.url + "/acme/qms.git",
                                  work], env=env, capture_output=True,
                           text=True)
        assert p.returncode == 0, p.stderr
        with open(os.path.join(work, "one.txt"), "w") as f:
            f.write("one\n")
        subprocess.run(git + ["-C", work, "add", "."], check=True, env=env)
        subprocess.run(git + ["-C", work, "commit", "-qm", "one"],
                       check=True, env=env)
        p = subprocess.run(git + ["-C", work, "push", "-q", "origin",
                                  "HEAD:refs/heads/agent/x/one"], env=env,
                           capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        head = subprocess.run(["git", "-C", work, "rev-parse", "HEAD"],
                              capture_output=True, text=True).stdout.strip()
        assert fake.ref("acme/qms", "refs/heads/agent/x/one") == head
        pushes = [r for r in fake.seen()
                  if r["path"].endswith("/git-receive-pack") and r["refs"]]
        assert pushes and pushes[-1]["refs"][0][2] == \
            "refs/heads/agent/x/one", pushes
        # several MB of random bytes: above http.postBuffer, so chunked
        with open(os.path.join(work, "big.bin"), "wb") as f:
            f.write(os.urandom(6 << 20))
        subprocess.run(git + ["-C", work, "add", "."], check=True, env=env)
        subprocess.run(git + ["-C", work, "commit", "-qm", "big"],
                       check=True, env=env)
        p = subprocess.run(git + ["-c", "http.postBuffer=1048576", "-C", work,
                                  "push", "-q", "origin",
                                  "HEAD:refs/heads/agent/x/big"], env=env,
                           capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        head = subprocess.run(["git", "-C", work, "rev-parse", "HEAD"],
                              capture_output=True, text=True).stdout.strip()
        assert fake.ref("acme/qms", "refs/heads/agent/x/big") == head
        assert any(r["chunked"] and r["refs"] for r in fake.seen()), \
            "the big push was not chunked"
        # without the secret: 401, and git fails
        p = subprocess.run(["git", "-c", "credential.helper=", "ls-remote",
                            fake.url + "/acme/qms.git"], env=env,
                           capture_output=True, text=True)
        assert p.returncode != 0, "no secret, yet listed"
        served = [r for r in fake.seen() if r["status"] != 401]
        assert all(r["secret"] for r in served), served
        for r in fake.seen():
            print(r["method"], r["target"], r["auth"], r["secret"],
                  r["status"], r["refs"])
        print("ok: clone, push, big push through the fake")
    finally:
        fake.close()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    _selftest()
