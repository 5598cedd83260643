#!/usr/bin/env python3
"""Issue 13: a hostile agent, attacking from inside its own container
(tests/dockerd.sh's dockerd, the test image), and what qmsd root does with
the paths it can write.  Each test performs the attack for real."""
import json
import os
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmsdtest import QMSCTL, Daemon, component, contains, eq, main  # noqa: E402
from test_agent import IMAGE, Agent, docker  # noqa: E402

MARKER = "ROOT-ONLY-MARKER-7f3a"


def mountpoint(volume):
    return json.loads(docker("volume", "inspect", volume).stdout)[0][
        "Mountpoint"]


def volume_holds(mp, text):
    """Whether any file of the volume (links not followed) holds text."""
    for dirpath, _, files in os.walk(mp):
        for n in files:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            if stat.S_ISREG(st.st_mode):
                with open(p, errors="replace") as f:
                    if text in f.read():
                        return p
    return None


def root_only_file(a):
    """A file only root reads, holding JSON: what a link would steal."""
    victim = os.path.join(a.base, "victim.json")
    with open(victim, "w") as f:
        json.dump({"marker": MARKER, "oauthAccount": {"token": MARKER}}, f)
    os.chmod(victim, 0o600)
    os.chown(victim, 0, 0)
    return victim


def test_3_config_json_link_not_followed():
    """Item 3: the agent replaces /claude-config/.claude.json by a link to
    a file only root reads on the host; the next `up` (which marks the
    project trusted there) must neither read it into the volume nor
    write it."""
    a = Agent()
    try:
        eq(a.up()[0], 0, "up")
        victim = root_only_file(a)
        before = open(victim).read()
        p = a.exec("sh", "-c", "rm -f /claude-config/.claude.json && "
                   "ln -s %s /claude-config/.claude.json" % victim)
        eq(p.returncode, 0, "the agent plants its link: " + p.stderr)
        rc, out, err = a.up()
        eq(rc, 0, "up: " + err)
        mp = mountpoint("qms-claude-config-" + a.name)
        eq(volume_holds(mp, MARKER), None, "the root-only file in the volume")
        assert os.path.islink(os.path.join(mp, ".claude.json")), \
            "the agent's link is left as it was, not written through"
        eq(open(victim).read(), before, "the link's target")
        st = os.stat(victim)
        eq((stat.S_IMODE(st.st_mode), st.st_uid), (0o600, 0), "its mode")
        contains(a.d.log(), "a symbolic link, not followed", "log")
        # A force recreate goes the same way.
        rc, out, err = a.up("--force")
        eq(rc, 0, "up --force: " + err)
        eq(volume_holds(mp, MARKER), None, "after a recreate")
        eq(open(victim).read(), before, "the link's target")
    finally:
        a.close()


def test_3_config_json_fifo_does_not_freeze():
    """Item 3: a FIFO at /claude-config/.claude.json, which a blocking
    open would wait on for ever: `up` returns, without trusting, and the
    daemon answers `status` meanwhile."""
    a = Agent()
    try:
        eq(a.up()[0], 0, "up")
        p = a.exec("sh", "-c", "rm -f /claude-config/.claude.json && "
                   "mkfifo /claude-config/.claude.json")
        eq(p.returncode, 0, "the agent makes its FIFO: " + p.stderr)
        up = subprocess.Popen([QMSCTL, "-S", a.d.socket, "up", a.name],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
        try:
            t0 = time.monotonic()
            rc, out, err = a.d.ctl("status", timeout=10)
            assert rc in (0, 1), "status answers: %d %s" % (rc, err)
            assert time.monotonic() - t0 < 5, "status took too long"
            out, err = up.communicate(timeout=30)
        finally:
            if up.poll() is None:
                up.kill()
                up.wait()
                raise AssertionError("up hung on the FIFO")
        eq(up.returncode, 0, "up: " + err)
        contains(a.d.log(), "not a regular file or directory", "log")
        mp = mountpoint("qms-claude-config-" + a.name)
        assert stat.S_ISFIFO(os.lstat(os.path.join(mp, ".claude.json"))
                             .st_mode), "the FIFO left alone"
    finally:
        a.close()


def test_3_env_file_fifo_does_not_freeze():
    """Item 3's rule, for the admin's env-file too: a FIFO there would hold
    the loop in open(); `up` is refused at once, saying why, and `status`
    answers."""
    a = Agent(start=False)
    fifo = os.path.join(a.base, "agent.env")
    os.mkfifo(fifo)
    try:
        a.d = Daemon(config=a.conf(a.extra + "env-file = %s\n" % fifo))
        t0 = time.monotonic()
        rc, out, err = a.up()
        assert time.monotonic() - t0 < 10, "up took too long"
        eq(rc, 1, "up refused")
        contains(err, "not a regular file", "why")
        rc, out, err = a.d.ctl("status", timeout=10)
        assert rc in (0, 1, 2), "status answers: %d %s" % (rc, err)
    finally:
        a.close()


SWAPPER = r"""
import ctypes, sys, time
libc = ctypes.CDLL(None, use_errno=True)
a, b, secs = sys.argv[1].encode(), sys.argv[2].encode(), float(sys.argv[3])
end = time.monotonic() + secs
n = 0
while time.monotonic() < end:
    for _ in range(1000):
        libc.renameat2(-100, a, -100, b, 2)   # RENAME_EXCHANGE
        n += 1
print(n)
"""


def test_3_users_link_creates_nothing_outside():
    """Item 3: .claude/users made a link to a directory outside the
    repository before `up` (an owner-writable one, and a root-owned one
    standing for /etc): nothing is made there, and `up` says why.  Then
    the race: .claude/users swapped with such a link (renameat2
    RENAME_EXCHANGE) without pause while `up` runs again and again."""
    a = Agent()
    try:
        users = os.path.join(a.project, ".claude", "users")
        outside = os.path.join(a.base, "outside")
        os.makedirs(outside)
        os.chown(outside, 65534, 65534)
        real = users + ".real"
        os.rename(users, real)
        os.symlink(outside, users)
        rc, out, err = a.up()
        assert rc != 0, "up through a link must fail"
        contains(err, "symbolic link", "why")
        eq(os.listdir(outside), [], "nothing made outside the repository")

        # The race, against a root-owned directory (the /etc of the issue).
        etc = os.path.join(a.base, "etc")
        os.makedirs(etc)
        os.unlink(users)
        os.rename(real, users)
        eq(a.up()[0], 0, "up with the real directory")
        link = users + ".swap"
        os.symlink(etc, link)
        swap = subprocess.Popen([sys.executable, "-c", SWAPPER, users, link,
                                 "8"], stdout=subprocess.PIPE, text=True)
        tries = made = 0
        deadline = time.monotonic() + 7
        try:
            while time.monotonic() < deadline:
                # Remove the agent's directory wherever the real one is,
                # so that each up has something to make.
                for d in (users, link):
                    try:
                        fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY |
                                     os.O_NOFOLLOW)
                    except OSError:
                        continue
                    try:
                        for sub in ("%s/workspace" % a.name, a.name):
                            try:
                                os.rmdir(sub, dir_fd=fd)
                            except OSError:
                                pass
                    finally:
                        os.close(fd)
                rc, _, _ = a.up()
                tries += 1
                made += rc == 0
                if os.listdir(etc):
                    break
        finally:
            swap.wait(30)
        eq(os.listdir(etc), [], "nothing made in the root-owned directory "
           "after %d ups" % tries)
        assert tries >= 5, "the race ran %d times" % tries
        print("race: %d ups, %d succeeded, %s swaps" %
              (tries, made, swap.stdout.read().strip()))
    finally:
        a.close()


SECRETS = {
    "prod.env": "PROD=secret-prod\n",
    "config/secrets.env": "CONF=secret-conf\n",
    "a/b/c/d/e/f/g/.env": "DEEP=secret-deep\n",
    "web/.env.production": "WEB=secret-web\n",
    "vault/real.txt": "LINKED=secret-linked\n",
}


def test_9_secrets_masked_in_container():
    """Item 9: prod.env, config/secrets.env, a .env seven levels deep and
    a .env that is a link to a file of the repository are all unreadable
    in the container; another agent's directory is not even listed."""
    a = Agent(start=False)
    try:
        for rel, text in SECRETS.items():
            p = os.path.join(a.project, rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as f:
                f.write(text)
        os.makedirs(os.path.join(a.project, "app"))
        os.symlink("../vault/real.txt", os.path.join(a.project, "app",
                                                      ".env"))
        os.symlink("../vault/real.txt", os.path.join(a.project, "app",
                                                      "linked.env"))
        subprocess.run(["chown", "-hR", "nobody:nogroup", a.project],
                       check=True)
        a.d = Daemon(config=a.conf())
        rc, out, err = a.up()
        eq(rc, 0, "up: " + err)
        for rel in list(SECRETS) + ["app/.env", "app/linked.env"]:
            p = a.exec("cat", "/pipe-dream/" + rel)
            assert "secret" not in p.stdout, "%s reads %r" % (rel, p.stdout)
        # Nothing of the secrets anywhere in the repository's view.
        p = a.exec("grep", "-r", "secret-", "/pipe-dream")
        eq(p.stdout, "", "grep -r finds no secret")
        p = a.exec("ls", "-A", "/pipe-dream/.claude/users")
        eq(p.stdout.split(), [a.name], "only its own directory is listed")
        p = a.exec("ls", "/pipe-dream/.claude/users/%s" % a.name)
        eq(p.stdout.split(), ["inbox", "workspace"], "its own directory")
        # An agent made after this container: not there either.
        os.makedirs(os.path.join(a.project, ".claude", "users", "late"))
        p = a.exec("ls", "-A", "/pipe-dream/.claude/users")
        eq(p.stdout.split(), [a.name], "a later agent is not listed")
    finally:
        a.close()


def test_9_own_workspace_env_spares_other_agents():
    """Item 9: an agent's own workspace .env (and three hundred *.env
    files, past the mask limit) does not break a second agent's `up`,
    nor its own next one, and the second cannot see the first."""
    a = Agent(start=False)
    second = a.name + "b"
    try:
        extra = ("[agent \"%s\"]\nimage = %s\nnetwork = host\n"
                 % (second, IMAGE))
        a.d = Daemon(config=a.conf() + "\n" + extra)
        eq(a.up()[0], 0, "first up")
        p = a.exec("sh", "-c", "cd /pipe-dream/.claude/users/%s/workspace && "
                   "echo X=own > .env && mkdir -p s && i=0; while [ $i -lt "
                   "300 ]; do echo Y > s/$i.env; i=$((i+1)); done; "
                   "echo Z > /pipe-dream/.claude/sessions/shared.env"
                   % a.name)
        eq(p.returncode, 0, "the agent writes its .env files: " + p.stderr)
        rc, out, err = a.d.ctl("up", second, timeout=300)
        eq(rc, 0, "the second agent's up: " + err)
        p = docker("exec", "qms-agent-" + second, "ls", "-A",
                   "/pipe-dream/.claude/users", check=False)
        eq(p.stdout.split(), [second], "the second sees only itself")
        rc, out, err = a.up("--force")
        eq(rc, 0, "the first agent's own up again: " + err)
        eq(a.exec("cat", "/pipe-dream/.claude/users/%s/workspace/.env"
                  % a.name).stdout, "X=own\n", "its own file, its own")
    finally:
        docker("rm", "-f", "qms-agent-" + second, check=False)
        for v in ("qms-claude-config-", "qms-projects-"):
            docker("volume", "rm", "-f", v + second, check=False)
        a.close()


def test_9_too_deep_refuses_up():
    """Item 9: a directory deeper than qmsd looks for secrets: `up` is
    refused with why, rather than a container with a secret left in
    view."""
    a = Agent(start=False)
    try:
        deep = os.path.join(a.project, *(["d"] * 33))
        os.makedirs(deep)
        with open(os.path.join(deep, ".env"), "w") as f:
            f.write("DEEPEST=secret\n")
        subprocess.run(["chown", "-R", "nobody:nogroup", a.project],
                       check=True)
        a.d = Daemon(config=a.conf())
        rc, out, err = a.up()
        assert rc != 0, "up must be refused"
        contains(err, "directories deep", "why")
        eq(docker("ps", "-aq", "--filter", "name=" + a.container).stdout,
           "", "no container made")
    finally:
        a.close()


def test_10_placeholders_are_private():
    """Item 10 (placeholders): the mount points qmsd makes in the
    repository are 0600 and the owner's; an empty one an older qmsd left
    0644 is tightened; a .mcp.json the owner wrote is left alone, and its
    mode is told of in the log."""
    a = Agent()
    try:
        settings = os.path.join(a.project, ".claude", "settings.local.json")
        mcp = os.path.join(a.project, ".mcp.json")
        os.makedirs(os.path.dirname(settings), exist_ok=True)
        with open(settings, "w"):
            pass
        os.chmod(settings, 0o644)
        os.chown(settings, 0, 0)
        eq(a.up()[0], 0, "up")
        for p in (mcp, settings):
            st = os.lstat(p)
            eq((stat.S_IMODE(st.st_mode), st.st_uid), (0o600, 65534),
               "mode and owner of " + p)
        eq(a.d.ctl("down", a.name)[0], 0, "down")
        os.unlink(mcp)
        with open(mcp, "w") as f:
            f.write('{"mcpServers": {}}\n')
        os.chmod(mcp, 0o644)
        os.chown(mcp, 65534, 65534)
        eq(a.up()[0], 0, "up over the owner's .mcp.json")
        eq(open(mcp).read(), '{"mcpServers": {}}\n', "its contents")
        eq(stat.S_IMODE(os.lstat(mcp).st_mode), 0o644, "its mode, the "
           "owner's to change")
        contains(a.d.log(), ".mcp.json can be read by others", "log")
    finally:
        a.close()


def _status_warning(d, name):
    row = component(d, "agent:" + name)
    rc, text, _ = d.ctl("status")
    rc, js, _ = d.ctl("status", "--json")
    rows = [c for c in json.loads(js)["components"]
            if c["name"] == "agent:" + name]
    return row, text, rows[0]


def test_14_host_network_warns_in_status():
    """Item 14: an agent on the host's network, with the QMS server on
    loopback, is warned of in `status` and `status --json` (its health
    untouched); on a bridge it is not."""
    conf = ("[qms-mcp]\nenabled = yes\ncommand = sleep 600\n"
            "workdir = {dir}\nurl = http://127.0.0.1:%d/mcp\n"
            "[agent \"hosty\"]\nimage = %s\nnetwork = host\n"
            "[agent \"bridgy\"]\nimage = %s\nnetwork = bridge\n")
    d = Daemon(config=conf % (18001, IMAGE, IMAGE),
               env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    try:
        row, text, js = _status_warning(d, "hosty")
        assert "network = host" in (js.get("warning") or ""), js
        contains(js["warning"], "127.0.0.1:18001", "names the port")
        contains(text, "warning: network = host", "status text")
        eq(text.count("warning: network = host"), 1, "once, for hosty")
        row, text, js = _status_warning(d, "bridgy")
        eq(js.get("warning"), None, "bridge: no warning")
        d.write_config(conf.replace("127.0.0.1", "[::1]")
                       % (18001, IMAGE, IMAGE))
        eq(d.ctl("reload")[0], 0, "reload")
        row, text, js = _status_warning(d, "hosty")
        contains(js.get("warning") or "", "[::1]:18001", "::1 is loopback")
        # The QMS server disabled: nothing to reach.
        d.write_config((conf % (18001, IMAGE, IMAGE)).replace(
            "enabled = yes", "enabled = no"))
        eq(d.ctl("reload")[0], 0, "reload")
        row, text, js = _status_warning(d, "hosty")
        eq(js.get("warning"), None, "qms-mcp disabled")
    finally:
        d.close()


if __name__ == "__main__":
    main(globals())
