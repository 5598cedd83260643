#!/usr/bin/env python3
"""Issue 18 attacked: a hostile agent (raw sockets through its relay, its
own TLS client trusting the container's bundle) tries to get the real
secret out, to use it outside its scope (another repository, a refused
ref, GraphQL, the account), to smuggle a second request past the scope
check, and to make qmsd hold memory without bound.  A hostile local user
tries the CA key.

The harness is test_secrets.py's: a sealed agent whose env-file holds the
stand-in's token (fakegithub.py), `secret = GH_TOKEN HOST:PORT`,
`secret-repos = acme/qms`, `secret-push-refs = refs/heads/agent/NAME/*`.
The stand-in here is a FakeGitHub whose every request is also recorded
with all its headers (which header held the real token), and which has an
in-scope echo path (/api/v3/repos/acme/qms/echo) that answers with the
request's headers, so that where the secret went is seen exactly.

Each test asserts what the attack must not achieve; a test that fails is
a finding (see the report in the commit that added this file)."""
import base64
import gzip
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakegithub
from fakegithub import FakeGitHub
from qmsdtest import eq, main
import test_secrets
from test_secrets import Secrets

ZERO = "0" * 40


class EchoHandler(fakegithub._Handler):
    """The stand-in's handler, recording every header of every request
    (in rec["headers"]), with an echo path in acme/qms's API space."""

    def _serve(self):
        fake = self.owner
        hdrs = [(k, v) for k, v in self.headers.items()]
        path = self.path.split("?")[0]
        if path == "/api/v3/repos/acme/qms/echo":
            kind, ok, ph = fakegithub._auth_kind(
                self.headers.get("Authorization"), fake.secret)
            body = json.dumps(hdrs).encode()
            rec = {"method": self.command, "path": path,
                   "target": self.path, "host": self.headers.get("Host"),
                   "auth": kind, "secret": ok, "placeholder": ph,
                   "refs": [], "status": None, "chunked": False,
                   "headers": hdrs}
            self._body()
            rec["status"] = self._answer(200, body, [("Content-Type",
                                                      "application/json")])
            fake._record(rec)
            return
        n = len(fake.seen())
        super()._serve()
        with fake.lock:
            for r in fake.requests[n:]:
                if r["target"] == self.path and "headers" not in r:
                    r["headers"] = hdrs
                    break


class EchoGitHub(FakeGitHub):
    def __init__(self, *a, **kw):
        orig = fakegithub._Handler
        fakegithub._Handler = EchoHandler
        try:
            super().__init__(*a, **kw)
        finally:
            fakegithub._Handler = orig


# test_secrets.Secrets builds its FakeGitHub by the module's name
test_secrets.FakeGitHub = EchoGitHub

# The attacker's kit, run inside the container as the agent: each request
# a CONNECT through the relay, then TLS (trusting the container's bundle,
# or nothing with "noverify"), then raw bytes; the answer read to close.
KIT = r"""
import base64, json, os, socket, ssl, sys, time
PH = os.environ["GH_TOKEN"]
def expand(b):
    b = b.replace(b"@PH@", PH.encode())
    while b"@B64(" in b:
        i = b.index(b"@B64("); j = b.index(b")@", i)
        b = b[:i] + base64.b64encode(b[i + 5:j]) + b[j + 2:]
    return b
def tunnel(auth, sni, noverify, timeout):
    s = socket.create_connection(("127.0.0.1", 3128), timeout=timeout)
    s.sendall(b"CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n"
              % (auth.encode(), auth.encode()))
    h = b""
    while b"\r\n\r\n" not in h:
        d = s.recv(1)
        if not d:
            break
        h += d
    if b" 200 " not in h.split(b"\r\n")[0]:
        raise Exception("CONNECT: %r" % h[:200])
    ctx = ssl.create_default_context(
        cafile="/etc/ssl/certs/ca-certificates.crt")
    if noverify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    t = ctx.wrap_socket(s, server_hostname=sni)
    return t
def run(r):
    out = {"resp": "", "err": ""}
    data = b""
    try:
        t = tunnel(r["connect"], r.get("sni") or r["connect"].rsplit(":", 1)[0],
                   r.get("noverify"), r.get("timeout", 20))
        out["issuer"] = str(t.getpeercert().get("issuer")) \
            if not r.get("noverify") else ""
        for p in r["send"]:
            if isinstance(p, (int, float)):
                time.sleep(p)
                continue
            t.sendall(expand(base64.b64decode(p)))
        while True:
            d = t.recv(65536)
            if not d:
                break
            data += d
    except Exception as e:
        out["err"] = "%s: %s" % (type(e).__name__, e)
    out["resp"] = base64.b64encode(data).decode()
    return out
reqs = json.loads(base64.b64decode(sys.argv[1]))
print(json.dumps([run(r) for r in reqs]))
"""


def attack(s, reqs, timeout=300):
    """reqs: dicts {"connect", "send": [bytes | seconds], "sni",
    "noverify"}; @PH@ in the bytes is the container's GH_TOKEN placeholder
    (expanded inside), @B64(...)@ base64 of what is between.  The answers
    (bytes) and errors, in order."""
    enc = []
    for r in reqs:
        r = dict(r)
        r["send"] = [p if isinstance(p, (int, float)) else
                     base64.b64encode(p).decode() for p in r["send"]]
        enc.append(r)
    arg = base64.b64encode(json.dumps(enc).encode()).decode()
    rc, out, err = s.exec(s.name, *test_secrets.NOPROXY, "python3", "-c",
                          KIT, arg, timeout=timeout)
    eq(rc, 0, "the kit: " + err)
    res = json.loads(out)
    for r in res:
        r["resp"] = base64.b64decode(r["resp"])
    return res


def status(resp):
    m = re.match(rb"HTTP/1\.[01] (\d{3})", resp)
    return int(m.group(1)) if m else None


def refused(resp):
    """An answer of qmsd's own refusing: a 4xx/5xx, or git's ERR."""
    st = status(resp)
    return b"X-Qmsd-Egress: secret" in resp and (
        st in (400, 403, 413, 431, 501) or
        (st == 200 and b"ERR qmsd:" in resp))


def get(path, host, auth="token @PH@", method="GET", extra=b"", body=b""):
    h = b"%s %s HTTP/1.1\r\nHost: %s\r\n" % (method.encode(), path.encode(),
                                             host.encode())
    if auth is not None:
        h += b"Authorization: %s\r\n" % auth.encode()
    if body or method in ("POST", "PUT", "PATCH"):
        h += b"Content-Length: %d\r\n" % len(body)
    return h + extra + b"\r\n" + body


def in_scope(path):
    """Where the token may go: acme/qms (git or the REST API) and the
    account's reads."""
    p = path.lower()
    return (p.startswith("/acme/qms.git/") or p.startswith("/acme/qms/") or
            p.startswith("/api/v3/repos/acme/qms/") or
            p == "/api/v3/repos/acme/qms" or p.startswith("/api/v3/user"))


def secret_reached(s):
    """Every request the stand-in saw with the real token in any header:
    (method, path, the header names that held it)."""
    out = []
    for r in s.fake.seen():
        names = [k for k, v in r.get("headers", []) if s.secret in v or
                 _b64_has(v, s.secret)]
        if r["secret"] or names:
            out.append((r["method"], r["path"], names))
    return out


def _b64_has(value, secret):
    for w in value.split():
        try:
            if secret in base64.b64decode(w, validate=True).decode(
                    "latin-1"):
                return True
        except Exception:
            pass
    return False


def test_scope_and_smuggling_never_carry_the_secret_out():
    """Paths that name another repository in every spelling a reader
    might decode, GraphQL, account writes, a second request pipelined
    after a body, after the answer, in HTTP/1.0 keep-alive, behind
    100-continue, CL+TE and chunk tricks, Host and SNI games, a bypass by
    IP literal: the stand-in never sees the token on a path out of scope,
    nor in a header but Authorization, and the agent never sees it."""
    s = Secrets()
    try:
        H = s.auth
        bad_paths = [
            "/acme/other.git/info/refs?service=git-upload-pack",
            "/acme/qms/../other.git/info/refs?service=git-upload-pack",
            "/acme/qms.git/../../acme/other.git/info/refs",
            "//acme/other.git/info/refs?service=git-upload-pack",
            "/acme%2fother.git/info/refs?service=git-upload-pack",
            "/acme/qms%2f..%2f..%2facme/other.git/info/refs",
            "/acme/./other.git/info/refs",
            "/ACME/OTHER.git/info/refs?service=git-upload-pack",
            "/api/v3/repos/acme/other",
            "/api/v3/repos/acme/qms/../../acme/other",
            "/api/v3/repos/acme/qms/..%2f..%2facme/other",
            "/api/v3/Repos/acme/other",
            "/api/v3/repositories/1/contents",
            "/api/v3/api/v3/repos/acme/other",
            "/api/v3/user/../repos/acme/other",
            "/api/v3/acme/other",
            "/acme/other?x=/acme/qms",
            "/acme;x/qms.git/info/refs",
            "/acme/qms\\..\\other.git/info/refs",
            "/api/v3/users/octocat/repos",
            "/api/v3/orgs/acme/repos",
            "/api/v3/search/code?q=repo:acme/other",
        ]
        reqs = [{"connect": H, "send": [get(p, H)]} for p in bad_paths]
        # GraphQL (POST), and writes on the account
        gql = b'{"query":"{viewer{login}}"}'
        for p in ("/api/graphql", "/api/v3/graphql", "/graphql"):
            reqs.append({"connect": H, "send": [get(p, H, method="POST",
                                                    body=gql)]})
        reqs.append({"connect": H, "send": [get(
            "/api/v3/user/repos", H, method="POST", body=b'{"name":"x"}')]})
        reqs.append({"connect": H, "send": [get(
            "/api/v3/user/keys", H, method="POST", body=b'{"key":"x"}')]})
        nbad = len(reqs)
        # Authorization forms that must not be swapped (and are refused)
        forged = "qmsd-placeholder-GH_TOKEN-" + "0" * 32
        for a in ("token " + forged,                 # another agent's
                  "Bearer @PH@ junk",                # trailing junk
                  "Bearer @PH@@PH@",
                  "Basic @B64(@PH@)@",               # no colon
                  "Digest @PH@",
                  "token x@PH@"):
            reqs.append({"connect": H, "send": [get("/api/v3/user", H,
                                                    auth=a)]})
        nforms = len(reqs)
        # two Authorization headers, one a placeholder
        reqs.append({"connect": H, "send": [get(
            "/api/v3/user", H, extra=b"Authorization: token @PH@\r\n")]})
        reqs.append({"connect": H, "send": [get(
            "/api/v3/user", H, auth="token junk",
            extra=b"authorization: token @PH@\r\n")]})
        # Connection naming Authorization (to drop it midway)
        reqs.append({"connect": H, "send": [get(
            "/api/v3/user", H, extra=b"Connection: authorization\r\n")]})
        # Host games: another name, none, two, absolute-form
        reqs.append({"connect": H, "send": [get("/api/v3/user",
                                                "evil.example")]})
        reqs.append({"connect": H, "send": [
            b"GET /api/v3/user HTTP/1.1\r\nAuthorization: token @PH@\r\n\r\n"]})
        reqs.append({"connect": H, "send": [get(
            "/api/v3/user", H, extra=b"Host: evil.example\r\n")]})
        reqs.append({"connect": H, "send": [get(
            "https://evil.example/api/v3/user", H)]})
        # framing tricks: CL+TE, TE variants, obs-fold, bare LF, NUL
        inner = get("/acme/other.git/info/refs?service=git-upload-pack", H)
        for extra in (b"Transfer-Encoding: chunked\r\n",
                      b"Transfer-Encoding: chunked, identity\r\n",
                      b"Transfer-Encoding:  chunked\r\n",
                      b"Transfer-Encoding: xchunked\r\n",
                      b"Content-Length: 0\r\n",
                      b"Content-Length: +5\r\n",
                      b"X-A: b\r\n c\r\n",
                      b"X-A: b\nX-B: c\r\n",
                      b"X-A: b\x00\r\n"):
            reqs.append({"connect": H, "send": [
                get("/api/v3/user", H, method="POST", extra=extra,
                    body=b"0\r\n\r\n" + inner)]})
        nframing = len(reqs)
        # smuggling: a second request after a body, in the same records
        # and later; after the answer; HTTP/1.0 keep-alive; 100-continue
        body = b"0000"
        first = get("/acme/qms.git/git-upload-pack", H, method="POST",
                    body=body)
        reqs.append({"connect": H, "send": [first + inner]})
        reqs.append({"connect": H, "send": [first, 1.0, inner]})
        reqs.append({"connect": H, "send": [
            get("/api/v3/user", H) + inner]})
        reqs.append({"connect": H, "send": [
            b"GET /api/v3/user HTTP/1.0\r\nHost: %s\r\nConnection: "
            b"keep-alive\r\nAuthorization: token @PH@\r\n\r\n" % H.encode()
            + inner]})
        reqs.append({"connect": H, "send": [
            get("/acme/qms.git/git-upload-pack", H, method="POST",
                extra=b"Expect: 100-continue\r\n", body=b"")[:-0 or None]
            .replace(b"Content-Length: 0", b"Content-Length: 4"), 1.0,
            b"0000" + inner]})
        # chunked body, the second request in its last chunk's trailer
        reqs.append({"connect": H, "send": [
            b"POST /acme/qms.git/git-upload-pack HTTP/1.1\r\nHost: %s\r\n"
            b"Authorization: token @PH@\r\nTransfer-Encoding: chunked\r\n"
            b"\r\n4\r\n0000\r\n0\r\n\r\n" % H.encode() + inner]})
        nsmuggle = len(reqs)
        # the placeholder elsewhere than Authorization: never swapped
        reqs.append({"connect": H, "send": [get(
            "/api/v3/repos/acme/qms/echo?access_token=@PH@", H, auth=None,
            extra=b"X-Authorization: token @PH@\r\nCookie: t=@PH@\r\n"
                  b"Proxy-Authorization: token @PH@\r\n")]})
        # SNI of another name (the agent's own TLS, unverified): still
        # the secret's host, under its scope
        reqs.append({"connect": H, "sni": "evil.example", "noverify": True,
                     "send": [get("/acme/other.git/info/refs", H)]})
        # the same server by IP literal: a plain tunnel, no swap
        reqs.append({"connect": "127.0.0.1:%d" % s.fake.port,
                     "noverify": True,
                     "send": [get("/api/v3/user",
                                  "127.0.0.1:%d" % s.fake.port)]})
        res = attack(s, reqs)
        for i, r in enumerate(res[:nbad]):
            assert refused(r["resp"]), (reqs[i], r)
        for i, r in enumerate(res[nbad:nforms]):
            # refused by qmsd, or passed unswapped (the stand-in's 401)
            assert status(r["resp"]) in (401, 403), "form %d: %r" % (i, r)
        for i, r in enumerate(res[nforms:nframing]):
            assert status(r["resp"]) in (400, 431, 501), (i, r)
        for i, r in enumerate(res[nframing:nsmuggle]):
            eq(len(re.findall(rb"HTTP/1\.[01] [2-5]\d\d ", r["resp"])), 1,
               "one answer, smuggle %d: %r" % (i, r))
        echo = res[nsmuggle]
        eq(status(echo["resp"]), 200, echo)
        hdrs = json.loads(echo["resp"].split(b"\r\n\r\n", 1)[1])
        assert not any(k.lower() == "proxy-authorization" for k, v in hdrs)
        assert any(k.lower() == "cookie" and "qmsd-placeholder-" in v
                   for k, v in hdrs), hdrs
        assert status(res[nsmuggle + 1]["resp"]) == 403, res[nsmuggle + 1]
        eq(status(res[nsmuggle + 2]["resp"]), 401, "by IP: a plain "
           "tunnel, the placeholder unswapped: %r" % res[nsmuggle + 2])
        for r in res:
            assert s.secret.encode() not in r["resp"], r
        # the stand-in: the token only on in-scope paths, in Authorization
        reached = secret_reached(s)
        eq([r for r in reached if not in_scope(r[1])], [],
           "the token reached a path out of scope")
        eq([r for r in reached if r[2] not in ([], ["Authorization"])], [],
           "the token in a header but Authorization")
        eq([r["path"] for r in s.fake.seen()
            if r["path"].lower().startswith("/acme/other")
            and (r["secret"] or r["placeholder"])], [],
           "a smuggled request reached acme/other")
        # nothing of it in qmsd's log nor its audit
        assert s.secret not in s.d.log()
        assert s.secret not in s.egress("--json")
    finally:
        s.close()


def pkt(s):
    if isinstance(s, str):
        s = s.encode()
    return b"%04x" % (len(s) + 4) + s


def push(path, H, cmds, extra=b"", body_tail=b"0000", caps="report-status "
         "side-band-64k"):
    body = b""
    for i, c in enumerate(cmds):
        body += pkt(c + ("\0" + caps if i == 0 and caps is not None else "")
                    + "\n")
    body += body_tail
    return get(path, H, method="POST", body=body, extra=b"Content-Type: "
               b"application/x-git-receive-pack-request\r\n" + extra)


def test_push_refs_hold():
    """Pushes out of secret-push-refs in every shape a receive-pack body
    allows: a probe flush then commands, several commands with one
    refused, a delete, odd ref bytes, shallow and push-cert, a gzipped
    body, side-band and report-status off, the path spelled otherwise.
    main upstream never moves and the stand-in never sees a refused
    ref's update with the token.  And the REST API's own ways to move a
    ref (PATCH git/refs, PUT contents, merges, DELETE the repository):
    the token must not go with them either, or secret-push-refs is only
    a word."""
    s = Secrets()
    try:
        H = s.auth
        main_before = s.fake.ref("acme/qms", "refs/heads/main")
        mine = "refs/heads/agent/%s/x" % s.name
        new = main_before
        P = "/acme/qms.git/git-receive-pack"
        gz = push(P, H, ["%s %s refs/heads/main" % (ZERO, new)])
        head, body = gz.split(b"\r\n\r\n", 1)
        zb = gzip.compress(body)
        gz = head.replace(b"Content-Length: %d" % len(body),
                          b"Content-Length: %d" % len(zb)) + \
            b"\r\nContent-Encoding: gzip\r\n\r\n" + zb
        shapes = [
            push(P, H, ["%s %s refs/heads/main" % (ZERO, new)]),
            push(P, H, ["%s %s %s" % (ZERO, new, mine),
                        "%s %s refs/heads/main" % (ZERO, new)]),
            push(P, H, ["%s %s refs/heads/main" % (new, ZERO)]),
            push(P, H, ["%s %s %s/../../main" % (ZERO, new, mine)]),
            push(P, H, ["%s %s refs/heads/agent/%s/../../main"
                        % (ZERO, new, s.name)]),
            push(P, H, ["shallow " + new, "%s %s refs/heads/main"
                        % (ZERO, new)], caps=None),
            push(P, H, ["push-cert\0report-status",
                        "%s %s refs/heads/main" % (ZERO, new),
                        "push-cert-end"], caps=None),
            push(P, H, ["%s %s refs/heads/main" % (ZERO, new)], caps=""),
            push(P, H, ["%s %s refs/heads/main" % (ZERO, new)], caps=None),
            push("/acme/qms/git-receive-pack", H,
                 ["%s %s refs/heads/main" % (ZERO, new)]),
            push("/acme/qms.git/git-receive-pack?x=1", H,
                 ["%s %s refs/heads/main" % (ZERO, new)]),
            push("/api/v3/acme/qms.git/git-receive-pack", H,
                 ["%s %s refs/heads/main" % (ZERO, new)]),
            push("/acme/QMS.git/git-receive-pack", H,
                 ["%s %s refs/heads/main" % (ZERO, new)]),
            gz,
        ]
        # commands out of reach of the peek: a first pkt that never ends
        shapes.append(get(P, H, method="POST", body=b"ffff" + b"0" * 4000))
        reqs = [{"connect": H, "send": [b]} for b in shapes]
        # a probe flush first, then the real commands: receive-pack stops
        # at the first flush, but qmsd must not take the rest unseen
        probe = push(P, H, [], body_tail=b"0000" + pkt(
            "%s %s refs/heads/main\0report-status\n" % (ZERO, new)) +
            b"0000")
        reqs.append({"connect": H, "send": [probe]})
        res = attack(s, reqs)
        for i, r in enumerate(res[:-1]):
            st = status(r["resp"])
            assert st in (400, 403) or (st == 200 and b"ng " in r["resp"]),\
                "shape %d: %r" % (i, r)
        eq(s.fake.ref("acme/qms", "refs/heads/main"), main_before, "main")
        refs = [c[2] for r in s.fake.seen() if r["secret"]
                for c in r["refs"]]
        eq([r for r in refs if not r.startswith("refs/heads/agent/%s/"
                                                % s.name)], [],
           "a refused ref's update reached the stand-in with the token")
        # The REST API moves refs too, with the same token
        api = [
            ("PATCH", "/api/v3/repos/acme/qms/git/refs/heads/main",
             b'{"sha":"%s","force":true}' % new.encode()),
            ("DELETE", "/api/v3/repos/acme/qms/git/refs/heads/main", b""),
            ("POST", "/api/v3/repos/acme/qms/git/refs",
             b'{"ref":"refs/heads/main2","sha":"%s"}' % new.encode()),
            ("PUT", "/api/v3/repos/acme/qms/contents/README.md",
             b'{"message":"m","content":"eA==","branch":"main"}'),
            ("POST", "/api/v3/repos/acme/qms/merges",
             b'{"base":"main","head":"%s"}' % mine.encode()),
            ("DELETE", "/api/v3/repos/acme/qms", b""),
        ]
        res = attack(s, [{"connect": H, "send": [
            get(p, H, method=m, body=b, extra=b"Content-Length: 0\r\n"
                if m == "DELETE" else b"")]} for m, p, b in api])
        wrote = [(r["method"], r["path"]) for r in s.fake.seen()
                 if r["secret"] and r["method"] != "GET" and
                 r["path"].startswith("/api/v3/")]
        eq(wrote, [], "the token went with a REST write that moves refs "
           "outside secret-push-refs (or deletes the repository)")
    finally:
        s.close()


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


BLOAT = r"""
import os, socket, ssl, sys, time
H = sys.argv[1]; n = int(sys.argv[2])
PH = os.environ["GH_TOKEN"]
s = socket.create_connection(("127.0.0.1", 3128), timeout=60)
s.sendall(b"CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (H.encode(), H.encode()))
h = b""
while b"\r\n\r\n" not in h:
    h += s.recv(1)
ctx = ssl.create_default_context(cafile="/etc/ssl/certs/ca-certificates.crt")
t = ctx.wrap_socket(s, server_hostname=H.rsplit(":", 1)[0])
t.sendall(b"POST /acme/qms.git/git-receive-pack HTTP/1.1\r\nHost: %s\r\n"
          b"Authorization: token %s\r\nTransfer-Encoding: chunked\r\n\r\n"
          % (H.encode(), PH.encode()))
t.sendall(b"4\r\nffff\r\n")
one = b"1;" + b"e" * 1000 + b"\r\nx\r\n"
block = one * 1000
for i in range(n // 1000):
    t.sendall(block)
print("sent", flush=True)
sys.stdin.read() if False else time.sleep(float(sys.argv[3]))
"""


def test_peek_is_bounded_in_raw_bytes():
    """A push in scope is held (PEEK) while its commands are read, at most
    512 KiB of them decoded; but the raw bytes held are what cost memory.
    A chunked body of 1-byte chunks, each with a 1000-byte extension, gives
    1 decoded byte per ~1 KB held: 60000 such chunks (60 MB) must not grow
    qmsd by anything near that."""
    s = Secrets()
    try:
        pid = _qmsd_pid(s)
        before = rss_kb(pid)
        p = subprocess.Popen(
            [test_secrets.QMSCTL, "-S", s.d.socket, "exec", s.name, "--",
             *test_secrets.NOPROXY, "python3", "-c", BLOAT, s.auth,
             "60000", "20"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL, text=True)
        peak = before
        deadline = time.time() + 120
        while time.time() < deadline and p.poll() is None:
            peak = max(peak, rss_kb(pid))
            time.sleep(0.2)
            if peak - before > 48 * 1024:
                break
        p.kill()
        p.wait()
        grew = peak - before
        assert grew < 16 * 1024, ("qmsd grew by %d KiB holding one push's "
                                  "chunk extensions (PEEK holds raw bytes "
                                  "unbounded)" % grew)
    finally:
        s.close()


def _qmsd_pid(s):
    """qmsd's pid (the Daemon's process: unshare, then python exec'd into
    qmsd, the same pid)."""
    for attr in ("proc", "p", "process"):
        pr = getattr(s.d, attr, None)
        if pr is not None and hasattr(pr, "pid"):
            return pr.pid
    raise AssertionError("no qmsd pid in the Daemon")


def test_local_user_cannot_reach_the_ca_key():
    """The CA's key: STATE/egress-ca 0700 root, ca.key 0600 root; nobody
    (a local user not in the admin group) cannot read it, nor the
    env-file."""
    s = Secrets()
    try:
        st = os.path.join(s.d.dir, "state", "egress-ca")
        key = os.path.join(st, "ca.key")
        eq(oct(os.stat(st).st_mode & 0o777), oct(0o700), st)
        eq(oct(os.stat(key).st_mode & 0o777), oct(0o600), key)
        eq(os.stat(key).st_uid, 0, key)
        for f in (key, os.path.join(s.base, "agent.env")):
            p = subprocess.run(["runuser", "-u", "nobody", "--", "cat", f],
                               capture_output=True, text=True)
            assert p.returncode != 0 and "BEGIN" not in p.stdout and \
                s.secret not in p.stdout, f
        # and the container has the certificate, not the key
        rc, out, err = s.root("sh", "-c", "grep -rl 'PRIVATE KEY' /etc/ssl "
                              "/usr/local/share/ca-certificates; true")
        eq(out.strip(), "", "a private key in the container's CA dirs")
    finally:
        s.close()


if __name__ == "__main__":
    main(globals())
