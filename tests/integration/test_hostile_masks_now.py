#!/usr/bin/env python3
"""Red team against "a mask the owner adds applies at the reload" (an up
of qmsd's own, masks_only in daemon/agent.c, that recreates a running
container when a mask key added since it was made masks a path in it).
Each test is an attack, or a careless owner's slip, that worked against
the first version of it, and is refused now."""
import os
import secrets
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmsdtest import Daemon, eq, main, wait_state
from test_agent import Agent, docker
from test_git import Env

SECRET = "ghp_" + "MASKSNOW" + "pasted0123456789"
OWNER = ("-c", "safe.directory=*", "-c", "user.name=Owner", "-c",
         "user.email=owner@example.invalid")


def git(project, *args):
    subprocess.run(["git", "-C", project] + list(OWNER) + list(args),
                   check=True, capture_output=True)


def write(project, rel, text):
    path = os.path.join(project, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def two_agents(victim_extra, branches):
    """An Agent (the victim, a.name) and a second agent in the same
    project, the hostile one, with no masks of its own; the project a
    git repository whose branches are {name: {path: text}} (each with
    README.md and a .gitignore as well), the work tree on the first.
    Returns the Agent, the hostile agent's name and a git_exec client
    with its token; nothing is up yet."""
    a = Agent(start=False)
    h = "h" + secrets.token_hex(4)
    p = a.project
    write(p, ".gitignore", ".env\n*.local\n.mcp.json\n.claude/\n")
    git(p, "init", "-q", "-b", "main")
    git(p, "add", "README.md", ".gitignore")
    git(p, "commit", "-qm", "start")
    for name, files in branches.items():
        git(p, "checkout", "-q", "-b", name, "main")
        for rel, text in files.items():
            write(p, rel, text)
        git(p, "add", *files)
        git(p, "commit", "-qm", name)
    git(p, "checkout", "-q", next(iter(branches)))
    subprocess.run(["chown", "-R", "nobody:nogroup", p], check=True)
    a.extra = victim_extra + ("[agent \"%s\"]\nimage = %s\nnetwork = host\n"
                              % (h, a.image))
    a.d = Daemon(config=a.conf())
    a.hostile = h
    return a


def hostile_git(a):
    """git_exec with the hostile agent's token (its container is up)."""
    return Env.of_agent(a, a.hostile)


def close_two(a):
    docker("rm", "-f", "qms-agent-" + a.hostile, check=False)
    for v in ("qms-claude-config-", "qms-projects-"):
        docker("volume", "rm", "-f", v + a.hostile, check=False)
    a.close()


def test_hostile_checkout_ends_another_agents_sessions():
    """The owner masks two files from agent V (mask = a/notes.txt, mask =
    b/notes.txt), each committed on its own branch; V is made while the
    work tree has the first.  Another agent H, with no masks, only
    switches branches through git_exec, as its policy allows.  Each
    switch makes one of V's masks appear and the other go.  Once, the
    masks-only up recreated V for a configured mask the spec mounts and
    V's container did not, ending V's session every time, with no up of
    anyone's.  Now only a key added since V was made counts (the label
    io.qmsd.masks): a file that comes under a key V had waits, as a
    secret found by the walk does."""
    a = two_agents("mask = a/notes.txt\nmask = b/notes.txt\n", {
        "one": {"a/notes.txt": SECRET + "\n"},
        "two": {"b/notes.txt": SECRET + "\n"},
    })
    try:
        eq(a.up()[0], 0, "up V")
        eq(a.d.ctl("up", a.hostile, timeout=300)[0], 0, "up H")
        e = hostile_git(a)
        first = a.row()["container"]
        eq(a.d.ctl("exec", a.name, "--", "sh", "-c",
                   "sleep 1000 >/dev/null 2>&1 &")[0], 0, "V's session")
        ids = [first]
        for branch in ("two", "one", "two"):
            text, err = e.git_exec("checkout " + branch)
            eq(err, False, "H: checkout %s: %s" % (branch, text))
            deadline = time.monotonic() + 12
            while time.monotonic() < deadline:
                c = a.row()["container"]
                if c not in (None, ids[-1]) and a.row()["state"] == \
                        "running":
                    ids.append(c)
                    break
                time.sleep(0.2)
        eq(len(ids) - 1, 0, "V's container recreated by H's branch "
           "switches (sleep still running: %s)" %
           (a.exec("pgrep", "-f", "sleep 1000").returncode == 0))
        eq(a.exec("pgrep", "-f", "sleep 1000").returncode, 0,
           "V's session lives")
    finally:
        close_two(a)


def test_mask_spelled_otherwise_masks_nothing():
    """A careless owner writes the masks as people write paths: a
    directory with its trailing slash, a path from "./", a doubled
    slash.  The configuration takes each as a path inside the repository,
    and none of them masks anything: the container reads all three files
    (the mount is looked up through safe-path.h, which refuses an empty
    or "." component, as if nothing were there), and so does a reload
    that adds them."""
    a = Agent(start=False, extra="mask = private/\nmask = ./conf/key.pem\n"
              "mask = data//token.txt\n")
    try:
        for rel in ("private/notes.txt", "conf/key.pem", "data/token.txt"):
            write(a.project, rel, SECRET + "\n")
        subprocess.run(["chown", "-R", "nobody:nogroup", a.project],
                       check=True)
        a.d = Daemon(config=a.conf())
        eq(a.up()[0], 0, "up")
        shown = [rel for rel in ("private/notes.txt", "conf/key.pem",
                                 "data/token.txt")
                 if SECRET in a.exec("cat", "/pipe-dream/" + rel).stdout]
        eq(shown, [], "masked files the container reads")
    finally:
        a.close()


def test_hostile_link_fails_another_agent():
    """V masks b/notes.txt, not there when V is made.  H switches to a
    branch where b/notes.txt is a committed symbolic link to its own
    directory.  Once, the masks-only up saw a new mask (looked up without
    following the link: a file, so /dev/null), removed V's container, and
    the new one could not start (a file cannot be mounted on the
    directory the link shows in the container): V failed, down, though H
    only ran git checkout.  Now the key is not new (V was made under it),
    and a link to a directory on its own way is not masked (no mount can
    be made over it, and what it shows is there to read anyway): V's own
    up starts."""
    a = two_agents("mask = b/notes.txt\n", {
        "one": {"a/other.txt": "x\n"},
        "two": {"c/x.txt": "x\n"},
    })
    try:
        p = a.project
        git(p, "checkout", "-q", "two")
        os.makedirs(os.path.join(p, "b"))
        os.symlink(".", os.path.join(p, "b", "notes.txt"))
        git(p, "add", "b/notes.txt")
        git(p, "commit", "-qm", "a link")
        git(p, "checkout", "-q", "one")
        subprocess.run(["chown", "-R", "nobody:nogroup", p], check=True)
        eq(a.up()[0], 0, "up V")
        eq(a.d.ctl("up", a.hostile, timeout=300)[0], 0, "up H")
        e = hostile_git(a)
        text, err = e.git_exec("checkout two")
        eq(err, False, "H: checkout two: " + text)
        first = a.row()["container"]
        time.sleep(10)
        row = a.row()
        eq((row["state"], row["container"]), ("running", first),
           "V after H's checkout: %s" % row["detail"])
        rc, out, err = a.up()
        eq(rc, 0, "V's up with the link at its mask: " + err)
        eq(a.row()["state"], "running", "V runs")
        # what the link shows is b itself, there to read anyway
        p = a.exec("ls", "-A", "/pipe-dream/b/notes.txt/")
        eq((p.returncode, p.stdout), (0, "notes.txt\n"), "b, through it")
    finally:
        close_two(a)


def test_masked_link_to_a_directory():
    """mask = b/notes.txt, where b/notes.txt is a link to the directory c
    beside it, which holds a secret: once taken for a file (/dev/null,
    the link not followed) and the container failed to start; now masked
    where it leads, by the empty directory, and c reads as empty."""
    a = Agent(start=False, extra="mask = b/notes.txt\n")
    try:
        write(a.project, "c/key.txt", SECRET + "\n")
        os.makedirs(os.path.join(a.project, "b"))
        os.symlink("../c", os.path.join(a.project, "b", "notes.txt"))
        subprocess.run(["chown", "-R", "-h", "nobody:nogroup", a.project],
                       check=True)
        a.d = Daemon(config=a.conf())
        rc, out, err = a.up()
        eq(rc, 0, "up: " + err)
        p = a.exec("ls", "-A", "/pipe-dream/c")
        eq((p.returncode, p.stdout), (0, ""), "c masked through the link")
    finally:
        a.close()


def test_container_killed_while_qmsd_looks():
    """The container dies (docker kill, an OOM) while qmsd's own
    masks-only up is looking at it after a reload: its die event came
    while an up was under way, which once counted as qmsd's own doing, and
    the look then settled on a container that did not run.  The agent
    stayed "running" on a dead container and its restart policy never
    ran.  Whatever the order, it ends running again with the mask on."""
    a = Agent(start=False)
    try:
        for i in range(3):
            write(a.project, "private/n%d.txt" % i, SECRET + "\n")
        subprocess.run(["chown", "-R", "nobody:nogroup", a.project],
                       check=True)
        a.d = Daemon(config=a.conf())
        eq(a.up()[0], 0, "up")
        masks = ""
        for i in range(3):
            before = a.row()["container"]
            masks += "mask = private/n%d.txt\n" % i
            a.d.write_config(a.conf(a.extra + masks))
            eq(a.d.ctl("reload")[0], 0, "reload")
            time.sleep(0.02 * i)
            docker("kill", a.container, check=False)
            wait_state(a.d, "agent:" + a.name, "running", cond=lambda r:
                       r["container"] not in (None, before) or
                       r.get("restarts", 0) > i, timeout=60)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                p = a.exec("cat", "/pipe-dream/private/n%d.txt" % i)
                if p.returncode == 0 and a.row()["state"] == "running":
                    break
                time.sleep(0.2)
            eq((p.returncode, p.stdout), (0, ""),
               "round %d: running, and masked: %r" % (i, a.row()))
    finally:
        a.close()


if __name__ == "__main__":
    main(globals())
