#!/usr/bin/env python3
"""docker/Dockerfile, really built with docker/build-image.sh, as users
build it: no registry is reachable here, so on a Debian base the script
makes with debootstrap, and through this machine's TLS-inspecting proxy,
whose certificates the script must find on its own.  The image is tagged
qms-agent-test:latest, the one the agent, session and gateway tests run, so
they run against what users build."""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmsdtest import QMSCTL, contains, eq, main
from test_agent import IMAGE, Agent, docker, need_docker

TOP = os.path.realpath(os.path.join(os.path.dirname(
    os.path.abspath(__file__)), "..", ".."))
SCRIPT = os.path.join(TOP, "docker", "build-image.sh")
SYSTEM_CAS = "/usr/local/share/ca-certificates"


def pem_certs(text):
    """The PEM certificates of TEXT, each as its lines."""
    out, cur = [], None
    for line in text.splitlines():
        line = line.rstrip("\r")
        if line == "-----BEGIN CERTIFICATE-----":
            cur = []
        if cur is not None:
            cur.append(line)
        if line == "-----END CERTIFICATE-----" and cur is not None:
            out.append("\n".join(cur))
            cur = None
    return out


def host_cas():
    """What this machine trusts beyond Debian's set: the proxy's."""
    paths = sorted(glob.glob(os.path.join(SYSTEM_CAS, "*.crt")))
    certs = []
    for p in paths:
        with open(p) as f:
            certs += [c for c in pem_certs(f.read()) if c not in certs]
    return paths, certs


def script(*args, env=None, timeout=120):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run(["sh", SCRIPT] + list(args), capture_output=True,
                          text=True, env=e, timeout=timeout)


def pinned_claude():
    with open(os.path.join(TOP, "tests", "node", "package-lock.json")) as f:
        lock = json.load(f)
    return lock["packages"]["node_modules/@anthropic-ai/claude-code"][
        "version"]


def test_build_script_finds_ca_certificates():
    """Each source of extra certificates the script reads, each certificate
    once, the system's whole bundle left out, a DER file said and skipped,
    the proxy variables passed by name: seen with -n, which builds
    nothing."""
    need_docker()
    paths, certs = host_cas()
    tmp = tempfile.mkdtemp(prefix="qms-ca.")
    try:
        # A proxy's certificate of its own, and a copy of one the system
        # directory already holds.
        mine = os.path.join(tmp, "proxy.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                        "-nodes", "-subj", "/CN=qms test proxy", "-days",
                        "2", "-keyout", os.path.join(tmp, "key"), "-out",
                        mine], check=True, capture_output=True)
        bundle = os.path.join(tmp, "bundle.pem")
        with open(bundle, "w") as f, open(mine) as m:
            f.write(m.read() + "\n".join(certs) + "\n")
        der = os.path.join(tmp, "proxy.der")
        subprocess.run(["openssl", "x509", "-in", mine, "-outform", "der",
                        "-out", der], check=True, capture_output=True)
        env = {"NODE_EXTRA_CA_CERTS": bundle,
               "SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt",
               "https_proxy": "http://user:secret@127.0.0.1:3128"}
        r = script("-n", "-t", "qms-agent-ca:test", env=env)
        eq(r.returncode, 0, "build-image.sh -n: " + r.stdout + r.stderr)
        for p in paths:
            contains(r.stderr, p + " (", "the system directory's")
        contains(r.stderr, bundle + " (%d)" % (len(certs) + 1),
                 "NODE_EXTRA_CA_CERTS")
        contains(r.stderr, "; %d in all" % (len(certs) + 1), "each once")
        contains(r.stderr, "the system's whole bundle: SSL_CERT_FILE",
                 "the system's bundle left out")
        contains(r.stdout, "EXTRA_CA_CERTS=<%d certificates>" % (
            len(certs) + 1), "all of them passed")
        contains(r.stdout, "--build-arg https_proxy ", "the proxy")
        eq("secret" in r.stdout + r.stderr, False, "by name, not value")
        contains(r.stdout, "--network host", "host networking")
        contains(r.stdout, "-t qms-agent-ca:test ", "the tag asked for")
        r = script("-n", env={"NODE_EXTRA_CA_CERTS": der})
        eq(r.returncode, 0, "build-image.sh -n: " + r.stderr)
        contains(r.stderr, der + " holds no PEM certificate", "DER said")
        contains(r.stdout, "<%d certificates>" % len(certs), "and skipped")
    finally:
        shutil.rmtree(tmp)


def test_build_script_errors():
    """What is missing is said before any minute is spent."""
    need_docker()
    r = script("-x")
    eq(r.returncode, 2, "a bad option")
    contains(r.stderr, "usage: build-image.sh", "usage")
    if shutil.which("docker", path="/usr/bin:/bin") is None:
        r = script("-n", env={"PATH": "/usr/bin:/bin"})
        eq(r.returncode, 1, "no docker")
        contains(r.stderr, "docker is not installed", "no docker")
    # A base that must be made with debootstrap, by a user who is not
    # root (and so cannot reach this dockerd either).
    r = subprocess.run(["setpriv", "--reuid", "65534", "--regid", "65534",
                        "--clear-groups", "sh",
                        os.path.join(TOP, "docker", "debian-base.sh"),
                        "qms-no-such-base:test"],
                       capture_output=True, text=True, timeout=60)
    eq(r.returncode, 1, "debootstrap as nobody")
    contains(r.stderr, "with debootstrap needs root", "not root")


def test_dockerfile_builds_agent_image():
    """The image script building behind the suite's CA setting: it finds
    this machine's proxy certificates on its own, without them npm fails
    with SELF_SIGNED_CERT_IN_CHAIN, and the image trusts exactly them."""
    need_docker()
    r = subprocess.run(["sh", os.path.join(TOP, "tests", "fixtures",
                                           "build-agent-image.sh"), IMAGE],
                       capture_output=True, text=True, timeout=1500)
    eq(r.returncode, 0, "build-agent-image.sh: " + r.stdout + r.stderr)
    paths, certs = host_cas()
    for p in paths:
        contains(r.stderr, p + " (", "the script found the proxy's")
    eq(len(r.stdout.splitlines()), 1, "one line on success: " + r.stdout)
    contains(r.stdout, "built %s on " % IMAGE, "what was built")
    got = docker("run", "--rm", "--network", "none", IMAGE, "cat",
                 "/usr/local/share/ca-certificates/extra.crt").stdout
    eq(pem_certs(got), certs, "the image trusts the host's extra CAs")
    info = json.loads(docker("image", "inspect", IMAGE).stdout)[0]
    eq(info["Config"]["Cmd"], ["sleep", "infinity"], "only keeps alive")
    eq(info["Config"]["User"], "agent", "not root by default")
    env = dict(e.split("=", 1) for e in info["Config"]["Env"])
    eq(env.get("LANG"), "C.UTF-8", "a UTF-8 locale for tmux")
    eq("DEBIAN_FRONTEND" in env, False, "build-only settings stay out")
    history = docker("history", "--no-trunc", IMAGE).stdout
    contains(history, "npm install -g", "made by docker/Dockerfile")
    # What a session needs, as the image's own user...
    out = docker("run", "--rm", "--network", "none", IMAGE, "sh", "-c",
                 "id -u; claude --version; tmux -V; git --version; "
                 "gh --version; stat -c %a /claude-config /projects; "
                 "command -v node npm || echo no-node").stdout
    lines = out.splitlines()
    eq(lines[0], "1000", "the agent user")
    contains(out, "%s (Claude Code)" % pinned_claude(), "claude")
    for w in ("tmux 3", "git version 2", "gh version 2", "1777\n1777",
              "no-node"):
        contains(out, w, "in the image")
    # ...and as the uid qmsd gives it, with HOME where qmsd puts it.
    out = docker("run", "--rm", "--network", "none", "--user", "4242:4242",
                 "-e", "HOME=/claude-config", IMAGE, "sh", "-c",
                 "claude --version && touch /claude-config/x && echo ok"
                 ).stdout
    eq(out.split()[-1], "ok", "an unknown uid runs claude")
    contains(out, pinned_claude(), "claude as that uid")


def test_image_is_a_development_machine():
    """The original workflow in /projects, through a qmsd agent and
    qmsctl exec, as the owner's uid: a venv and pip, curl, jq, ssh."""
    a = Agent()
    try:
        rc, out, err = a.up()
        eq(rc, 0, "up: " + err)
        p = subprocess.run(
            [QMSCTL, "-S", a.d.socket, "exec", a.name, "--", "sh", "-ec",
             "cd /projects; python3 -m venv v; v/bin/pip --version; "
             "v/bin/python -c 'import sys; print(sys.prefix)'; "
             "curl --version; jq --version; "
             "echo '{\"a\": [1, 2]}' | jq -c .a; ssh -V 2>&1"],
            capture_output=True, text=True, timeout=120)
        eq(p.returncode, 0, "the tools: " + p.stdout + p.stderr)
        for w in ("pip 2", "/projects/v\n", "curl 7", "jq-1", "[1,2]\n",
                  "OpenSSH_"):
            contains(p.stdout, w, "in the agent's container")
    finally:
        a.close()


def test_image_names_any_uid():
    """ssh wants a name for its uid, and qmsd runs the container as a uid
    the image does not know: names are looked up in /var/lib/extrausers
    first, where qmsd puts them."""
    need_docker()
    tmp = tempfile.mkdtemp(prefix="qms-users.")
    try:
        with open(os.path.join(tmp, "passwd"), "w") as f:
            f.write("alice:x:4242:4343:Alice:/claude-config:/bin/bash\n")
        with open(os.path.join(tmp, "group"), "w") as f:
            f.write("devs:x:4343:\n")
        os.chmod(tmp, 0o755)
        cmd = ["run", "--rm", "--network", "none", "--user", "4242:4343",
               "-e", "HOME=/claude-config", IMAGE, "sh", "-c",
               "ssh -V 2>&1 && id -un && id -gn"]
        r = docker(*cmd, check=False)
        eq(r.returncode != 0, True, "no name, no ssh: " + r.stdout)
        contains(r.stdout, "No user exists for uid 4242", "why")
        cmd[1:1] = ["-v", tmp + "/passwd:/var/lib/extrausers/passwd:ro",
                    "-v", tmp + "/group:/var/lib/extrausers/group:ro"]
        r = docker(*cmd, check=False)
        eq(r.returncode, 0, "named: " + r.stdout + r.stderr)
        contains(r.stdout, "OpenSSH_", "ssh")
        contains(r.stdout, "\nalice\ndevs\n", "the names")
    finally:
        shutil.rmtree(tmp)


def test_readme_derived_image():
    """docker/README.md's image with more tools, built as it says (its FROM
    pointed at the image under test) and run by a qmsd agent whose `image`
    names it."""
    need_docker()
    with open(os.path.join(TOP, "docker", "README.md")) as f:
        text = f.read()
    m = re.search(r"```dockerfile\n(.*?)```", text, re.S)
    if m is None:
        raise AssertionError("no dockerfile block in docker/README.md")
    dockerfile = m.group(1)
    contains(dockerfile, "FROM qms-agent:latest\n", "derived from ours")
    tag = "qms-agent-derived-test:latest"
    tmp = tempfile.mkdtemp(prefix="qms-derived.")
    try:
        with open(os.path.join(tmp, "Dockerfile"), "w") as f:
            f.write(dockerfile.replace("FROM qms-agent:latest",
                                       "FROM " + IMAGE))
        r = subprocess.run(["docker", "build", "--network", "host", "-t",
                            tag, tmp], capture_output=True, text=True,
                           timeout=900)
        eq(r.returncode, 0, "docker build: " + r.stdout[-3000:] + r.stderr)
    finally:
        shutil.rmtree(tmp)
    info = json.loads(docker("image", "inspect", tag).stdout)[0]
    eq(info["Config"]["User"], "agent", "back to the agent user")
    eq(info["Config"]["Cmd"], ["sleep", "infinity"], "still keeps alive")
    a = Agent(image=tag)
    try:
        rc, out, err = a.up()
        eq(rc, 0, "up: " + err)
        p = subprocess.run([QMSCTL, "-S", a.d.socket, "exec", a.name, "--",
                            "sh", "-c", "rg --version; make --version; "
                            "claude --version"],
                           capture_output=True, text=True, timeout=60)
        eq(p.returncode, 0, "exec: " + p.stdout + p.stderr)
        for w in ("ripgrep ", "GNU Make ", pinned_claude()):
            contains(p.stdout, w, "in the derived image")
    finally:
        a.close()
        docker("rmi", tag, check=False)


if __name__ == "__main__":
    main(globals())
