#!/usr/bin/env python3
"""Red team, issue 14: a hostile agent against the tracked-template
exemption from the masks (daemon/templates.c).  Each test is an attack that
worked when written: it fails until the mechanism is fixed."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmsdtest import contains, eq, main
from test_git import Env

SECRET = "ghp_" + "REDTEAM3" + "pasted0123456789"


def template_agent():
    """A tracked, unmodified docker/.env.example (test_agent's), the
    agent up and its container showing the template; returns the Agent,
    the template's path on the host and inside, and a git_exec client
    with the agent's own token."""
    from test_agent import TEMPLATE, tracked_template_agent
    a = tracked_template_agent()
    eq(a.up()[0], 0, "up")
    inside = "/pipe-dream/docker/.env.example"
    eq(a.exec("cat", inside).stdout, TEMPLATE, "the template shows")
    e = Env.of_agent(a)
    return a, os.path.join(a.project, "docker", ".env.example"), inside, e


def test_git_diff_shows_pasted_token():
    """The owner pastes a real token into the tracked template (the usual
    slip: editing .env.example instead of a copy).  Its working copy is
    modified, so qmsd says it is masked; yet git_exec's diff, with the
    agent's token and no pathspec, prints the working copy's new lines.
    The masked-path rule is lexical on pathspecs and never sees a diff
    of the whole tree (nor of a directory holding the file)."""
    a, host, inside, e = template_agent()
    try:
        with open(host, "a") as f:
            f.write("REAL_TOKEN=%s\n" % SECRET)
        leaks = []
        for c in ("diff", "diff HEAD", "diff -R", "diff -- docker",
                  "diff -- .", "status -vv"):
            text, err = e.git_exec(c)
            if SECRET in text:
                leaks.append(c)
        eq(leaks, [], "git_exec commands that print the pasted token")
    finally:
        e.d = None
        a.close()


def test_git_diff_shows_masked_tracked_file():
    """Not only templates: a tracked file under a `mask =` directory, a
    tracked settings.env, and another agent's tracked notes, all edited
    after the up.  The container hides the first and the third, git_exec
    refuses all three as pathspecs, and a plain `git diff` with the
    agent's token prints every new line."""
    import subprocess
    from test_agent import Agent
    from test_hostile_git import agent_git
    a = Agent(start=False, extra="mask = private\n")
    e = None
    try:
        p = a.project
        os.makedirs(os.path.join(p, "private"))
        for path, text in (("private/notes.txt", "nothing yet\n"),
                           ("settings.env", "A=1\n")):
            with open(os.path.join(p, path), "w") as f:
                f.write(text)
        subprocess.run(["git", "-c", "safe.directory=*", "init", "-q", p],
                       check=True)
        subprocess.run(["git", "-c", "safe.directory=*", "-C", p, "add",
                        "private/notes.txt", "settings.env",
                        ".claude/users/other/notes.md"], check=True)
        e = agent_git(a, "unused", ())     # commits them with the README
        for path in ("private/notes.txt", "settings.env",
                     ".claude/users/other/notes.md"):
            with open(os.path.join(p, path), "a") as f:
                f.write("T=%s\n" % SECRET)
        eq(a.exec("cat", "/pipe-dream/private/notes.txt").stdout, "",
           "masked in the container")
        text, err = e.git_exec("diff")
        assert SECRET not in text, "diff prints masked files: " + text
        text, err = e.git_exec("diff -- .claude")
        assert SECRET not in text, "diff prints another agent's: " + text
    finally:
        if e is not None:
            e.d = None
        a.close()


def test_pasted_token_readable_live_in_container():
    """The exemption leaves the live working copy in the container, not
    the content git vouched for: a token pasted into the template after
    the up is readable at once, and stays readable for as long as the
    agent keeps a process running (it holds off the implicit recreate
    that would mask it)."""
    a, host, inside, e = template_agent()
    try:
        eq(a.d.ctl("exec", a.name, "--", "tmux", "new-session", "-d",
                   "-s", "hold", "sleep", "1000")[0], 0, "hold a session")
        with open(host, "a") as f:
            f.write("REAL_TOKEN=%s\n" % SECRET)
        rc, out, err = a.up()
        p = a.exec("cat", inside)
        assert SECRET not in p.stdout, ("the token pasted into the "
                                        "template is readable in the "
                                        "container (up: rc %d %s): %r"
                                        % (rc, err.strip(), p.stdout))
    finally:
        e.d = None
        a.close()


def test_replaced_on_host_unmasks_in_container():
    """A mask (or a template's snapshot) is a mount on the name's dentry,
    which the container shares with the host through the repository's
    bind mount.  The owner saves .env or the template by rename, as
    `sed -i`, `mv` and many editors do: the kernel detaches every mount
    on a dentry renamed over in another namespace (Linux 3.18), and the
    running container reads the new file under the old name at once,
    with no up at all."""
    a, host, inside, e = template_agent()
    try:
        env = os.path.join(a.project, ".env")
        eq(a.exec("cat", "/pipe-dream/.env").stdout, "", "masked")
        leaks = []
        for path, where in ((env, "/pipe-dream/.env"), (host, inside)):
            with open(path + ".new", "w") as f:
                f.write("REAL_TOKEN=%s\n" % SECRET)
            os.chmod(path + ".new", 0o644)
            os.rename(path + ".new", path)
            if SECRET in a.exec("cat", where).stdout:
                leaks.append(where)
        eq(leaks, [], "masked files readable after a rename on the host")
    finally:
        e.d = None
        a.close()


def test_new_mask_applies_despite_a_session():
    """The owner adds `mask = private/notes.txt` and reloads while the
    agent keeps a process of its own running (which once held the
    recreate off until a human's `up --force`).  A path masked since the
    container was made outranks what runs in it: qmsd makes the container
    anew at the reload, with no up, and says why; an up then has nothing
    left to do.  A change that masks nothing (memory) still waits."""
    from test_agent import Agent
    from qmsdtest import Daemon, wait_state
    a = Agent(start=False)
    try:
        os.makedirs(os.path.join(a.project, "private"))
        with open(os.path.join(a.project, "private", "notes.txt"),
                  "w") as f:
            f.write(SECRET + "\n")
        a.d = Daemon(config=a.conf())
        eq(a.up()[0], 0, "up")
        first = a.row()["container"]
        eq(a.d.ctl("exec", a.name, "--", "sh", "-c",
                   "sleep 1000 >/dev/null 2>&1 &")[0], 0,
           "a process of its own, no tmux needed")
        # a change that masks nothing waits for an up --force, as before
        a.d.write_config(a.conf(a.extra + "memory = 1G\n"))
        eq(a.d.ctl("reload")[0], 0, "reload")
        wait_state(a.d, "agent:" + a.name, "running",
                   cond=lambda r: "config changed" in r["detail"])
        eq(a.row()["container"], first, "kept for its session")
        a.d.write_config(a.conf(a.extra + "memory = 1G\n"
                                "mask = private/notes.txt\n"))
        eq(a.d.ctl("reload")[0], 0, "reload")
        row = wait_state(a.d, "agent:" + a.name, "running", cond=lambda r:
                         r["container"] not in (None, first), timeout=60)
        p = a.exec("cat", "/pipe-dream/private/notes.txt")
        eq((p.returncode, p.stdout), (0, ""), "masked with no up")
        eq(a.exec("pgrep", "-f", "sleep 1000").returncode, 1,
           "what ran in the old container ended with it")
        contains(a.d.log(), "agent %s: private/notes.txt is masked now "
                 "and its container still shows it; recreating %s ends "
                 "what runs in it" % (a.name, a.container), "says why")
        eq(a.up()[0], 0, "up")
        eq(a.row()["container"], row["container"], "nothing left to do")
    finally:
        a.close()


def test_impostor_engine_gets_the_env_file():
    """A careless owner points [docker] socket into a world-writable
    directory (or at a rootless engine's path before it runs).  A local
    user outside every group of qmsd's binds an engine of their own there;
    qmsd, as root, talks to it as to Docker: it sends the container's
    whole spec, the env-file's GH_TOKEN in it, to that user.  Nothing
    checks who is at the other end (SO_PEERCRED) or who owns the socket
    and its directory."""
    import pwd
    import subprocess
    import tempfile
    import time
    from test_agent import Agent
    nobody = pwd.getpwnam("nobody")
    pub = tempfile.mkdtemp(prefix="qmsd-pub.")
    os.chmod(pub, 0o1777)           # like /tmp
    sock = os.path.join(pub, "docker.sock")
    log = os.path.join(pub, "stolen.log")
    fake = subprocess.Popen(
        ["/usr/bin/python3", os.path.join(os.path.dirname(
            os.path.abspath(__file__)), "fake_engine.py"), sock, log],
        user=nobody.pw_uid, group=nobody.pw_gid, extra_groups=[])
    a = None
    try:
        for _ in range(100):
            if os.path.exists(sock):
                break
            time.sleep(0.05)
        envf = tempfile.NamedTemporaryFile("w", suffix=".envfile",
                                           delete=False)
        envf.write("GH_TOKEN=%s\n" % SECRET)
        envf.close()
        a = Agent(extra="env-file = %s\n[docker]\nsocket = %s\n"
                  % (envf.name, sock))
        a.d.ctl("up", a.name, timeout=60)
        stolen = open(log).read() if os.path.exists(log) else ""
        assert SECRET not in stolen, ("qmsd sent the env-file's token to "
                                      "a socket owned by nobody in a "
                                      "world-writable directory")
        assert "/containers/create" not in stolen, "a spec sent to nobody"
    finally:
        fake.kill()
        fake.wait()
        if a is not None:
            a.close()
        os.unlink(envf.name)
        import shutil
        shutil.rmtree(pub, ignore_errors=True)


if __name__ == "__main__":
    main(globals())
