#!/usr/bin/env python3
"""Secrets never enter the agent (issue 18), in real sealed containers:
GitHub is a stand-in on the host's loopback (fakegithub.py: its own test
CA, which qmsd trusts for upstreams through [qmsd] upstream-ca, and the
real git http-backend behind it).  The agent's env-file holds the real
token; inside, GH_TOKEN and GH_ENTERPRISE_TOKEN are placeholders that
qmsd's egress proxy swaps for it on the way out, within the repositories
and refs the agent section allows.  git clone and push, gh api and curl
work with only the placeholder inside, a push out of scope fails with
the reason, the token is nowhere in the container nor in qmsd's log, and
a host without a secret rule is tunnelled untouched.

The stand-in is named HOST, not localhost: gh (Go's net/http) never
sends a request for "localhost" or a loopback address through a proxy,
whatever HTTPS_PROXY and NO_PROXY say, so in a sealed container (network
none, loopback its own) `gh api` would find nothing there.  qmsd resolves
HOST (evdns reads /etc/hosts) from an /etc/hosts of its own, bound over
the real one in a mount namespace of qmsd's alone (HostsDaemon): the
host's file is never touched.  Every server here is on 127.0.0.1."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fakegithub import FakeGitHub
from qmsdtest import QMSCTL, Daemon, contains, eq, main
from test_agent import IMAGE, docker, need_docker
from test_sealed import Sealed, TLSServer

HOST = "ghe.qmsd.test"          # RFC 2606: never a real name
NOPROXY = ("env", "NO_PROXY=", "no_proxy=")

# qmsd's own /etc/hosts: mount(2) in the process unshare(1) made, then qmsd
# in its place (the same pid: the test's Daemon still holds it)
BIND_HOSTS = r"""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.mount(sys.argv[1].encode(), b"/etc/hosts", None, 4096, None) != 0:
    sys.exit("mount --bind %s /etc/hosts: %s"
             % (sys.argv[1], os.strerror(ctypes.get_errno())))
os.execv(sys.argv[2], sys.argv[2:])
"""


class HostsDaemon(Daemon):
    """qmsd with an /etc/hosts of its own (in its own mount namespace)."""

    def __init__(self, hosts, **kw):
        self.hosts = hosts
        super().__init__(**kw)

    def command(self, args):
        return (["unshare", "--mount", "--propagation", "private", "--",
                 sys.executable, "-c", BIND_HOSTS, self.hosts]
                + super().command(args))


class Secrets(Sealed):
    """A sealed agent whose env-file holds the stand-in's token, declared
    a secret for it; and a TLS server of its own CA with no secret rule,
    also allowed by egress."""

    def __init__(self):
        need_docker()
        self.fake = self.tls = None
        self.names = []
        self.d = None
        self.base = tempfile.mkdtemp(prefix="qmsd-secrets.")
        os.chmod(self.base, 0o755)
        try:
            self._start()
        except BaseException:
            self.close()
            raise

    def _start(self):
        tag = os.urandom(3).hex()
        self.name = "g" + tag
        self.names = [self.name]
        self.container = "qms-agent-" + self.name
        self.fake = FakeGitHub(self.base, name=HOST)
        os.makedirs(os.path.join(self.base, "tls"))
        self.tls = TLSServer(os.path.join(self.base, "tls"))
        self.secret = self.fake.secret
        self.auth = self.fake.authority
        self.url = self.fake.url
        self.project = os.path.join(self.base, "repo")
        os.makedirs(self.project)
        with open(os.path.join(self.project, "README.md"), "w") as f:
            f.write("readme\n")
        subprocess.run(["chown", "-R", "nobody:nogroup", self.project],
                       check=True)
        env = os.path.join(self.base, "agent.env")
        fd = os.open(env, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("GH_ENTERPRISE_TOKEN=%s\nGH_TOKEN=%s\n"
                    % (self.secret, self.secret))
        hosts = os.path.join(self.base, "hosts")
        with open("/etc/hosts") as f, open(hosts, "w") as g:
            g.write(f.read() + "\n127.0.0.1 %s\n" % HOST)
        os.chmod(hosts, 0o644)
        conf = ("[qmsd]\nproject-root = %s\nupstream-ca = %s\n"
                '[agent "%s"]\nimage = %s\n'
                "egress = %s 127.0.0.1:%d 127.0.0.1:%d\n"
                "env-file = %s\n"
                "secret = GH_ENTERPRISE_TOKEN %s\n"
                "secret = GH_TOKEN %s\n"
                "secret-repos = acme/qms\n"
                "secret-push-refs = refs/heads/agent/%s/*\n"
                "mount = %s:/etc/test-ca.pem:ro\n"
                % (self.project, self.fake.ca, self.name, IMAGE, self.auth,
                   self.fake.port, self.tls.port, env, self.auth, self.auth,
                   self.name, self.tls.ca))
        self.d = HostsDaemon(hosts, config=conf)
        self.up(self.name)

    def sh(self, script, *args, timeout=120):
        """script in the container's sh, as the agent, loopback through
        the proxy (NO_PROXY cleared), with URL and GH_HOST set for the
        stand-in; args are $1... (never the secret: the tests must not
        put it into the container themselves)."""
        return self.exec(self.name, *NOPROXY, "URL=" + self.url,
                         "GH_HOST=" + self.auth, "sh", "-c", script, "sh",
                         *args, timeout=timeout)

    def root(self, *cmd, timeout=120):
        """A command in the container as root, through docker exec: root
        with the container's capabilities, which are none (another user's
        /proc/PID/environ or 0600 files are read from the host)."""
        p = subprocess.run(["docker", "exec", "-u", "0", self.container]
                           + list(cmd), capture_output=True, text=True,
                           errors="replace", timeout=timeout)
        return p.returncode, p.stdout, p.stderr

    def egress(self, *args):
        p = subprocess.run([QMSCTL, "-S", self.d.socket, "egress",
                            self.name] + list(args), capture_output=True,
                           text=True, timeout=30)
        eq(p.returncode, 0, "qmsctl egress: " + p.stderr)
        return p.stdout

    def close(self):
        if self.d is not None:
            Sealed.close(self)      # qmsd, the container, its volumes, base
        for s in (self.fake, self.tls):
            if s is not None:
                s.close()
        shutil.rmtree(self.base, ignore_errors=True)


PLACEHOLDER = r"qmsd-placeholder-%s-[0-9a-f]{32}"

CLONE_PUSH = r"""
set -e
git clone -q "$URL/acme/qms.git" /projects/qms
cd /projects/qms
echo "from the agent" > agent.txt
git add agent.txt
git -c user.name=agent -c user.email=agent@example.com commit -qm agent
git push origin "HEAD:$1"
git rev-parse HEAD
"""

CURL_USER = r"""
curl -sS -H "Authorization: token $GH_TOKEN" "$URL/api/v3/user" && echo &&
curl -sS -H "Authorization: Bearer $GH_ENTERPRISE_TOKEN" "$URL/api/v3/user" &&
echo &&
curl -sS -u "x-access-token:$GH_TOKEN" "$URL/api/v3/user" && echo
"""


def clone_and_push(s, ref):
    """Clone acme/qms, commit, push to ref; the commit pushed."""
    rc, out, err = s.sh(CLONE_PUSH, ref, timeout=180)
    eq(rc, 0, "clone, commit, push %s: %s" % (ref, err))
    return out.split()[-1]


def test_clone_push_and_gh_with_only_a_placeholder():
    """Inside, the token variables hold placeholders; with them git
    clones acme/qms and pushes to the agent's own branch (it lands in the
    stand-in's repository), gh api user answers octocat, curl's token,
    Bearer and Basic forms work; the stand-in saw the real token in every
    request it served, and never a placeholder."""
    s = Secrets()
    try:
        rc, out, err = s.sh('printf "%s\\n%s\\n" "$GH_TOKEN" '
                            '"$GH_ENTERPRISE_TOKEN"')
        eq(rc, 0, err)
        tok, ent = out.split()
        assert re.fullmatch(PLACEHOLDER % "GH_TOKEN", tok), \
            "GH_TOKEN is no placeholder (the token: %s)" % (tok == s.secret)
        assert re.fullmatch(PLACEHOLDER % "GH_ENTERPRISE_TOKEN", ent), \
            "GH_ENTERPRISE_TOKEN is no placeholder (the token: %s)" % (
                ent == s.secret)
        ref = "refs/heads/agent/%s/work" % s.name
        main_before = s.fake.ref("acme/qms", "refs/heads/main")
        head = clone_and_push(s, ref)
        eq(s.fake.ref("acme/qms", ref), head, "the push landed upstream")
        eq(s.fake.ref("acme/qms", "refs/heads/main"), main_before, "main")
        rc, out, err = s.sh("cat /projects/qms/README.md")
        contains(out, "acme/qms, served by the fake GitHub", "the clone")
        rc, out, err = s.sh("gh api user")
        eq(rc, 0, "gh api user: " + out + err)
        eq(json.loads(out)["login"], "octocat", "gh api user")
        rc, out, err = s.sh(CURL_USER)
        eq(rc, 0, "curl: " + err)
        eq([json.loads(l)["login"] for l in out.split("\n") if l],
           ["octocat"] * 3, "curl token, Bearer, Basic")
        seen = s.fake.seen()
        served = [r for r in seen if r["status"] != 401]
        eq(sorted({r["auth"] for r in served}),
           ["basic", "bearer", "token"], "the forms that came")
        bad = [r for r in served if not r["secret"]]
        eq(bad, [], "served without the real token")
        eq([r for r in seen if r["placeholder"]], [], "a placeholder "
           "reached the stand-in")
        pushed = [c for r in served for c in r["refs"]]
        eq([c[2] for c in pushed], [ref], "the refs pushed")
        for path in ("/acme/qms.git/info/refs", "/acme/qms.git/git-upload"
                     "-pack", "/acme/qms.git/git-receive-pack",
                     "/api/v3/user"):
            assert any(r["path"] == path for r in served), (path, served)
    finally:
        s.close()


def test_refused_push_says_why():
    """A push to main fails with git's own "[remote rejected]" and the
    reason naming secret-push-refs, and main upstream is as it was; a
    clone or push of acme/other (not in secret-repos) fails naming
    secret-repos, and the stand-in never saw the token for it."""
    s = Secrets()
    try:
        main_before = s.fake.ref("acme/qms", "refs/heads/main")
        rc, out, err = s.sh(CLONE_PUSH, "refs/heads/main", timeout=180)
        assert rc != 0, "pushed to main: " + out + err
        contains(err, "[remote rejected]", "git's own words")
        contains(err, "secret-push-refs", "the reason names the key")
        eq(s.fake.ref("acme/qms", "refs/heads/main"), main_before,
           "main upstream")
        eq([c for r in s.fake.seen() for c in r["refs"]], [],
           "no ref update reached the stand-in")
        # acme/other: out of secret-repos, for a clone and a push
        rc, out, err = s.sh('git clone -q "$URL/acme/other.git" '
                            '/projects/other')
        assert rc != 0, "cloned acme/other: " + err
        contains(err, "secret-repos", "clone of acme/other: the reason")
        rc, out, err = s.sh('cd /projects/qms && git push -q '
                            '"$URL/acme/other.git" "HEAD:$1"',
                            "refs/heads/agent/%s/other" % s.name)
        assert rc != 0, "pushed to acme/other: " + err
        contains(err, "secret-repos", "push to acme/other: the reason")
        eq(s.fake.ref("acme/other", "refs/heads/agent/%s/other" % s.name),
           None, "nothing landed in acme/other")
        other = [r for r in s.fake.seen()
                 if r["path"].startswith("/acme/other.git")]
        eq([r for r in other if r["secret"] or r["placeholder"]], [],
           "acme/other was sent the token (or a placeholder)")
    finally:
        s.close()


def test_the_secret_is_nowhere_inside():
    """After clone, push and gh api have used it, the token is in no
    process's environment in the container, in none of its files, not in
    docker inspect, qmsd's log, nor `qmsctl egress`; the placeholder is
    where the token would have been."""
    s = Secrets()
    try:
        clone_and_push(s, "refs/heads/agent/%s/work" % s.name)
        rc, out, err = s.sh("gh api user")
        eq(rc, 0, "gh api user: " + err)
        rc, out, err = s.sh(CURL_USER)
        eq(rc, 0, "curl: " + err)
        assert any(r["secret"] for r in s.fake.seen()), "never used"
        # docker inspect: the placeholder in Env, the token nowhere
        p = docker("inspect", s.container)
        assert s.secret not in p.stdout, "docker inspect shows the token"
        env = json.loads(p.stdout)[0]["Config"]["Env"]
        assert any(re.fullmatch("GH_TOKEN=" + PLACEHOLDER % "GH_TOKEN", e)
                   for e in env), env
        # every process's environment and every file, read from the host
        # as root: in the container even root has no capability to read
        # another user's environ or 0600 files
        pid = json.loads(p.stdout)[0]["State"]["Pid"]
        ns = os.readlink("/proc/%d/ns/pid" % pid)
        envs = []
        for d in os.listdir("/proc"):
            try:
                if d.isdigit() and os.readlink("/proc/%s/ns/pid" % d) == ns:
                    with open("/proc/%s/environ" % d, "rb") as f:
                        envs.append(f.read().decode(errors="replace"))
            except OSError:
                pass
        out = "\n".join(envs)
        assert envs, "no process of the container found"
        assert s.secret not in out, "a process has the token in its env"
        contains(out, "GH_TOKEN=qmsd-placeholder-GH_TOKEN-", "environ")
        # a marker file proves the scan reads what the agent wrote
        mark = os.urandom(16).hex()
        rc, out, err = s.sh("umask 077; echo %s > /tmp/secrets-mark" % mark)
        eq(rc, 0, err)
        top = "/proc/%d/root" % pid
        paths = [os.path.join(top, x) for x in sorted(os.listdir(top))
                 if x not in ("proc", "sys", "dev")]
        g = subprocess.run(["timeout", "240", "grep", "-rIl", "-e",
                            s.secret, "-e", mark, "--"] + paths,
                           capture_output=True, text=True, errors="replace")
        assert g.returncode in (0, 2), "the scan did not finish: %d %s" % (
            g.returncode, g.stderr[-2000:])
        eq([l[len(top):] for l in g.stdout.split()], ["/tmp/secrets-mark"],
           "files with the token (or without the marker)")
        # qmsd's log and its egress audit
        assert s.secret not in s.d.log(), "qmsd's log has the token"
        for args in ((), ("--json",)):
            assert s.secret not in s.egress(*args), "qmsctl egress %s" \
                % " ".join(args)
    finally:
        s.close()


def test_untouched_host_is_tunnelled():
    """A host with no secret rule, allowed by egress, is a plain tunnel:
    curl sees that server's own certificate (its issuer, trusted only with
    --cacert of that server's CA, not by the container's bundle with
    qmsd's CA in it), while the secret's host is answered by qmsd's."""
    s = Secrets()
    try:
        url = "https://127.0.0.1:%d/hello.txt" % s.tls.port
        rc, out, err = s.sh('curl -sS -v --cacert /etc/test-ca.pem "$1"',
                            url)
        eq((rc, out), (0, "hello over tls\n"), "curl: " + err)
        issuer = [l for l in err.splitlines() if "issuer:" in l]
        assert issuer and "CN=127.0.0.1" in issuer[0], err
        # qmsd's CA (in the system bundle) does not make it trusted: no
        # certificate of qmsd's is in the way
        rc, out, err = s.sh('curl -sS "$1"', url)
        assert rc != 0, "trusted through the bundle: intercepted"
        contains(err, "certificate", "curl's reason")
        # the secret's host is intercepted: not the stand-in's CA
        rc, out, err = s.sh('curl -sS -v -o /dev/null '
                            '-H "Authorization: token $GH_TOKEN" '
                            '"$URL/api/v3/user"')
        eq(rc, 0, "curl to the stand-in: " + err)
        issuer = [l for l in err.splitlines() if "issuer:" in l]
        assert issuer and "fakegithub test CA" not in issuer[0], err
    finally:
        s.close()


def test_audit_records_each_substitution():
    """`qmsctl egress NAME` shows each intercepted request: an allowed
    GET /api/v3/user and a refused request for /acme/other.git/...; the
    token in neither."""
    s = Secrets()
    try:
        rc, out, err = s.sh("gh api user")
        eq(rc, 0, "gh api user: " + err)
        rc, out, err = s.sh('git ls-remote "$URL/acme/other.git"')
        assert rc != 0, "listed acme/other: " + out
        text = s.egress()
        # an allowed request: event "secret", the upstream's status, the
        # path, and which secret went in; a refused one: "denied", by
        # the key that refused it
        assert any(" secret GET %s /api/v3/user " % s.auth in l and
                   "-> 200" in l and "GH_ENTERPRISE_TOKEN put in" in l
                   for l in text.splitlines()), text
        assert any(" denied GET %s /acme/other.git/info/refs" % s.auth in l
                   and "-> 403 by secret-repos" in l
                   for l in text.splitlines()), text
        recs = [json.loads(l) for l in s.egress("--json").splitlines()
                if l.strip()]
        assert any(r["event"] == "secret" and r["path"] == "/api/v3/user"
                   and r["status"] == 200 and r["target"] == s.auth
                   for r in recs), recs
        assert any(r["event"] == "denied" and r["rule"] == "secret-repos"
                   and (r["path"] or "").startswith("/acme/other.git/")
                   for r in recs), recs
        assert s.secret not in text + json.dumps(recs), "the token"
    finally:
        s.close()


if __name__ == "__main__":
    main(globals())
