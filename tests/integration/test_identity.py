#!/usr/bin/env python3
"""Who an agent is in its container (issue 14): a user and a group named
after it, git commits in its name, gh as git's credential helper when its
env-file has a token, and an ssh deploy key given with `mount`, all seen
through a real qmsd, dockerd and the image built from docker/Dockerfile,
by `qmsctl exec` as a user would."""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmsdtest import QMSCTL, QMSD, contains, eq, free_port, main
from test_agent import Agent

# Not a word of it may be read as more than one value: quotes, a
# backslash, git's comment signs and what looks like a section header.
# (qmsd.conf's own comment, a ; after a blank, is not in it.)
HOSTILE = 'Eve "x" \\;# [core] sshCommand = touch /tmp/pwned'


def qexec(a, *cmd, stdin=""):
    p = subprocess.run([QMSCTL, "-S", a.d.socket, "exec", a.name, "--"] +
                       list(cmd), capture_output=True, text=True,
                       timeout=120, input=stdin)
    return p.returncode, p.stdout, p.stderr


def up(a):
    rc, out, err = a.up()
    eq(rc, 0, "up: " + err)


def commit_as(a, repo):
    """A commit in the agent's /projects, and the identity it recorded."""
    rc, out, err = qexec(a, "sh", "-c", "git init -q %s 2>/dev/null; "
                         "git -C %s commit -q --allow-empty -m m && "
                         "git -C %s log -1 --format='%%an <%%ae>'" %
                         (repo, repo, repo))
    eq(rc, 0, "commit: " + err)
    return out.rstrip("\n")


def test_user_and_group_named():
    a = Agent()
    try:
        up(a)
        eq(qexec(a, "whoami")[1], a.name + "\n", "whoami")
        eq(qexec(a, "id", "-gn")[1], a.name + "\n", "id -gn")
        eq(qexec(a, "id", "-un")[1], a.name + "\n", "id -un")
        # ssh needs a name and a home for the uid: it has both now
        rc, out, err = qexec(a, "ssh", "-G", "example.org")
        eq(rc, 0, "ssh -G: " + err)
        contains(out, "\nuser %s\n" % a.name, "ssh's user")
        contains(out, "identityfile ~/.ssh/id_ed25519", "ssh's keys")
        eq(qexec(a, "sh", "-c", "echo ~%s" % a.name)[1], "/claude-config\n",
           "home is HOME")
        # the files: the owner's alone, as the token's
        adir = os.path.join(a.d.dir, "state", "agents", a.name)
        for f in ("passwd", "group", "gitconfig"):
            st = os.stat(os.path.join(adir, f))
            eq((oct(st.st_mode & 0o777), st.st_uid), ("0o400", 65534),
               "mode and owner of " + f)
        # the container cannot change them
        rc, out, err = qexec(a, "sh", "-c", "echo x >> "
                             "/var/lib/extrausers/passwd")
        assert rc != 0, "passwd is read-only"
    finally:
        a.close()


def test_git_identity_and_override():
    """The default names the agent; the configuration's replaces it (a
    new container at the next up); the agent's own ~/.gitconfig wins over
    both.  A value made to break out of its line stays one value."""
    a = Agent()
    try:
        up(a)
        eq(commit_as(a, "/projects/x"), "%s (qmsd agent) <%s@qmsd.invalid>"
           % (a.name, a.name), "the default identity")
        # no GH_TOKEN in its environment: no credential helper
        rc, out, err = qexec(a, "git", "config", "--get-all",
                             "credential.https://github.com.helper")
        eq((rc, out), (1, ""), "no helper without a token")
        first = a.row()["container"]
        a.d.write_config(a.conf(a.extra + "git-user-name = %s\n"
                                "git-user-email = eve@example.org\n"
                                % HOSTILE))
        eq(a.d.ctl("reload")[0], 0, "reload")
        up(a)
        assert a.row()["container"] != first, "recreated"
        eq(commit_as(a, "/projects/x"), HOSTILE + " <eve@example.org>",
           "the configured identity, byte for byte")
        rc, out, err = qexec(a, "git", "config", "--system",
                             "--name-only", "--list")
        eq(out, "user.name\nuser.email\n", "nothing else in /etc/gitconfig")
        # git config --global writes ~/.gitconfig, which wins
        rc, out, err = qexec(a, "git", "config", "--global", "user.name",
                             "Mine")
        eq(rc, 0, "git config --global: " + err)
        eq(commit_as(a, "/projects/x"), "Mine <eve@example.org>",
           "the agent's own setting")
    finally:
        a.close()


def test_gh_credential_helper_from_env_file():
    a = Agent(start=False)
    try:
        env = os.path.join(a.base, "agent.env")
        with open(env, "w") as f:
            f.write("GH_TOKEN=ghp_qmsdtest0123456789\n")
        os.chmod(env, 0o600)
        a.extra = "env-file = %s\n" % env
        from qmsdtest import Daemon
        a.d = Daemon(config=a.conf())
        up(a)
        rc, out, err = qexec(a, "git", "config", "--get-all",
                             "credential.https://github.com.helper")
        eq(out, "\n!gh auth git-credential\n", "as gh auth setup-git")
        rc, out, err = qexec(a, "git", "config", "--get-all",
                             "credential.https://gist.github.com.helper")
        eq(out, "\n!gh auth git-credential\n", "gist too")
        # git asks gh, gh answers from GH_TOKEN: no login, no network
        rc, out, err = qexec(a, "git", "credential", "fill",
                             stdin="protocol=https\nhost=github.com\n\n")
        eq(rc, 0, "credential fill: " + err)
        contains(out, "password=ghp_qmsdtest0123456789\n", "the token")
        # the token is read from the environment, never written
        adir = os.path.join(a.d.dir, "state", "agents", a.name)
        with open(os.path.join(adir, "gitconfig")) as f:
            assert "ghp_" not in f.read()
        # and other hosts are not given it
        rc, out, err = qexec(a, "git", "config", "--get-urlmatch",
                             "credential.helper", "https://example.org")
        eq(out, "", "no helper for other hosts")
    finally:
        a.close()


def test_hostile_identity_refused_at_check():
    """A value that would end its line in the gitconfig, here by a
    carriage return, is refused with its file and line by qmsd -n, and
    by a reload, which keeps the running configuration."""
    base = tempfile.mkdtemp(prefix="qmsd-ident.")
    try:
        conf = os.path.join(base, "qmsd.conf")
        with open(conf, "w", newline="") as f:
            f.write('[qmsd]\nproject-root = %s\n[agent "a"]\n'
                    'git-user-name = x\r[core]\r\tsshCommand = touch '
                    '/tmp/pwned\n' % base)
        p = subprocess.run([QMSD, "-n", "-c", conf], capture_output=True,
                           text=True, timeout=30)
        eq(p.returncode != 0, True, "refused")
        contains(p.stderr, "%s:4: git-user-name: a control character "
                 "(0x0d) at byte 2" % conf)
        with open(conf, "w") as f:
            f.write('[qmsd]\nproject-root = %s\n[agent "a"]\n'
                    'git-user-email = <a@example.org>\n' % base)
        p = subprocess.run([QMSD, "-n", "-c", conf], capture_output=True,
                           text=True, timeout=30)
        contains(p.stderr, "%s:4: git-user-email: \"<a@example.org>\": git "
                 "drops < and >" % conf)
    finally:
        shutil.rmtree(base, ignore_errors=True)


class Sshd:
    """A throwaway sshd on 127.0.0.1 serving a bare git repository: its
    own host key and authorized keys, git-shell as the only command."""

    def __init__(self, base):
        self.dir = os.path.join(base, "sshd")
        os.makedirs(self.dir)
        self.port = free_port()
        key = os.path.join(self.dir, "host_ed25519")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "",
                        "-f", key], check=True)
        self.host_pub = open(key + ".pub").read().split()[:2]
        self.authorized = os.path.join(self.dir, "authorized_keys")
        open(self.authorized, "w").close()
        self.repo = os.path.join(self.dir, "repo.git")
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main",
                        self.repo], check=True)
        work = os.path.join(self.dir, "work")
        subprocess.run(["git", "init", "-q", "-b", "main", work],
                       check=True)
        with open(os.path.join(work, "README"), "w") as f:
            f.write("over ssh\n")
        g = ["git", "-C", work, "-c", "user.name=t", "-c", "user.email=t@t"]
        subprocess.run(g + ["add", "README"], check=True)
        subprocess.run(g + ["commit", "-q", "-m", "first"], check=True)
        subprocess.run(g + ["push", "-q", self.repo, "main"], check=True)
        conf = os.path.join(self.dir, "sshd_config")
        with open(conf, "w") as f:
            # Root is the only account with a shell to run git-shell
            # through; it may run nothing else, with a key only.
            f.write("ListenAddress 127.0.0.1\nPort %d\nHostKey %s\n"
                    "PidFile %s/sshd.pid\nAuthorizedKeysFile %s\n"
                    "AllowUsers root\nPermitRootLogin prohibit-password\n"
                    "PasswordAuthentication no\n"
                    "KbdInteractiveAuthentication no\nUsePAM no\n"
                    "StrictModes no\nDisableForwarding yes\nPermitTTY no\n"
                    "ForceCommand /usr/bin/git-shell -c "
                    "\"$SSH_ORIGINAL_COMMAND\"\n"
                    % (self.port, key, self.dir, self.authorized))
        # What Debian's service makes: sshd's privilege separation root.
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        self.log = open(os.path.join(self.dir, "log"), "w")
        self.proc = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f",
                                      conf], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                break
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    raise AssertionError("sshd did not start: " +
                                         open(self.log.name).read())
                time.sleep(0.05)

    def known_hosts(self):
        return "[127.0.0.1]:%d %s %s\n" % (self.port, *self.host_pub)

    def url(self):
        return "ssh://root@127.0.0.1:%d%s" % (self.port, self.repo)

    def close(self):
        self.proc.terminate()
        self.proc.wait(10)
        self.log.close()


def need_sshd():
    if not os.access("/usr/sbin/sshd", os.X_OK) or os.geteuid() != 0:
        print("no sshd, or not root (tests/deps.sh test installs it)")
        sys.exit(77)


def deploy_keys(a, sshd, config=None):
    """qmsd.conf(5)'s key directory, the owner's, 0700: a key sshd takes,
    its known host and, if given, an ssh config."""
    keys = os.path.join(a.base, "claude-ssh")
    os.makedirs(keys)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
                    "qmsd agent", "-f", os.path.join(keys, "id_ed25519")],
                   check=True)
    with open(os.path.join(keys, "known_hosts"), "w") as f:
        f.write(sshd.known_hosts())
    if config is not None:
        with open(os.path.join(keys, "config"), "w") as f:
            f.write(config)
    subprocess.run(["chown", "-R", "nobody:nogroup", keys], check=True)
    os.chmod(keys, 0o700)
    with open(sshd.authorized, "w") as f:
        f.write(open(os.path.join(keys, "id_ed25519.pub")).read())
    return keys


def test_deploy_key_over_ssh():
    """docs/guide.md's deploy key, followed: a key directory of the
    owner's mounted read-only over ~/.ssh; ssh in the container finds the
    key and the known host there, clones over ssh and pushes a commit in
    the agent's name."""
    need_sshd()
    a = Agent(start=False)
    sshd = None
    try:
        sshd = Sshd(a.base)
        keys = deploy_keys(a, sshd)
        from qmsdtest import Daemon
        # before the mount: neither key nor known host in the container
        # (the host's ~/.ssh is never mounted), so no clone
        a.d = Daemon(config=a.conf())
        up(a)
        rc, out, err = qexec(a, "git", "clone", "-q", sshd.url(),
                             "/projects/nokey")
        assert rc != 0, "cloned without a key"
        a.d.write_config(a.conf("mount = %s:/claude-config/.ssh:ro\n"
                                % keys))
        eq(a.d.ctl("reload")[0], 0, "reload")
        up(a)
        rc, out, err = qexec(a, "git", "clone", "-q", sshd.url(),
                             "/projects/repo")
        eq(rc, 0, "clone over ssh: " + err)
        eq(qexec(a, "cat", "/projects/repo/README")[1], "over ssh\n",
           "cloned")
        rc, out, err = qexec(a, "sh", "-c", "cd /projects/repo && "
                             "echo more >> README && git commit -qam more "
                             "&& git push -q origin main")
        eq(rc, 0, "push over ssh: " + err)
        p = subprocess.run(["git", "--git-dir", sshd.repo, "log", "-1",
                            "--format=%an <%ae>"], capture_output=True,
                           text=True)
        eq(p.stdout, "%s (qmsd agent) <%s@qmsd.invalid>\n" % (a.name, a.name),
           "pushed in the agent's name")
        # read-only: the agent cannot swap the key or the known hosts
        rc, out, err = qexec(a, "sh", "-c", "echo x >> "
                             "/claude-config/.ssh/known_hosts")
        assert rc != 0, "known_hosts is read-only"
    finally:
        if sshd is not None:
            sshd.close()
        a.close()


def test_deploy_key_over_ssh_through_the_proxy():
    """qmsd.conf(5)'s deploy key in a sealed container (network = none):
    ssh has no route of its own, and reaches the server through the egress
    proxy with the documented ProxyCommand, to a port the agent's egress
    list names; once the list no longer names it, the proxy refuses."""
    need_sshd()
    a = Agent(start=False, network="none")
    sshd = None
    try:
        sshd = Sshd(a.base)
        keys = deploy_keys(a, sshd, "Host 127.0.0.1\n    ProxyCommand socat"
                           " - PROXY:127.0.0.1:%h:%p,proxyport=3128\n")
        from qmsdtest import Daemon
        mount = "mount = %s:/claude-config/.ssh:ro\n" % keys
        a.d = Daemon(config=a.conf(mount + "egress = 127.0.0.1:%d\n"
                                   % sshd.port))
        up(a)
        # without the ProxyCommand, 127.0.0.1 is the container's own
        # loopback: the host's sshd is not there
        rc, out, err = qexec(a, "sh", "-c", "GIT_SSH_COMMAND='ssh -F "
                             "/dev/null' git clone -q %s /projects/direct"
                             % sshd.url())
        assert rc != 0, "cloned with no network"
        contains(err, "Connection refused", "not the host's loopback")
        rc, out, err = qexec(a, "git", "clone", "-q", sshd.url(),
                             "/projects/repo")
        eq(rc, 0, "clone through the proxy: " + err)
        eq(qexec(a, "cat", "/projects/repo/README")[1], "over ssh\n",
           "cloned")
        rc, out, err = qexec(a, "sh", "-c", "cd /projects/repo && "
                             "echo more >> README && git commit -qam more "
                             "&& git push -q origin main")
        eq(rc, 0, "push through the proxy: " + err)
        # not listed any more: refused, with no new container
        a.d.write_config(a.conf(mount + "egress = @anthropic\n"))
        eq(a.d.ctl("reload")[0], 0, "reload")
        rc, out, err = qexec(a, "git", "clone", "-q", sshd.url(),
                             "/projects/again")
        assert rc != 0, "cloned past the list"
        contains(err, "CONNECT 127.0.0.1:%d: Forbidden" % sshd.port,
                 "the proxy's 403, as socat says it")
    finally:
        if sshd is not None:
            sshd.close()
        a.close()


if __name__ == "__main__":
    main(globals())
