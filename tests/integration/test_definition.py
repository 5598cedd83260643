#!/usr/bin/env python3
"""An agent's definition (qmsd.conf(5), definition): .claude/agents/NAME.md
in the repository becomes its Claude's user memory in the container, and
reaches the model (a real Claude Code against the scripted Messages API,
tests/fixtures/messages-api.py); what is not a regular file there is
refused before anything is made; a changed one waits, like any changed
configuration, for `up --force` while a session runs."""
import json
import os
import secrets
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmsdtest import QMSCTL, contains, eq, main, wait_state
from model import Model
from test_agent import Agent, docker
from test_model import audited, close, git_turns, sealed_with_model

TARGET = "/claude-config/CLAUDE.md"


def write_definition(project, name, text):
    d = os.path.join(project, ".claude", "agents")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, name + ".md")
    with open(path + ".new", "w") as f:
        f.write(text)
    os.rename(path + ".new", path)
    subprocess.run(["chown", "-R", "nobody:nogroup",
                    os.path.join(project, ".claude")], check=True)
    return path


def where(body, marker):
    """Where in a Messages API request MARKER is: the system prompt, the
    first user message, or None."""
    system = body.get("system")
    if marker in json.dumps(system):
        return "system"
    msgs = body.get("messages") or []
    if msgs and marker in json.dumps(msgs[0]):
        return "first user message"
    return None


def test_definition_reaches_the_model():
    """The definition's text, in the container at /claude-config/CLAUDE.md,
    is in what Claude sends the model with the first prompt; and the git
    tool's call, with no --allowedTools, is made without a dialog (the
    generated settings allow qmsd's servers)."""
    marker = "definition-" + secrets.token_hex(6)
    word = "def-" + secrets.token_hex(4)
    m = Model(git_turns(word))
    s = sealed_with_model(m)
    try:
        name = s.names[0]
        write_definition(s.project, name, "# Agent %s\n\nYou are the "
                         "reviewer. Say %s when asked.\n" % (name, marker))
        s.up(name)
        rc, out, err = s.exec(name, "cat", TARGET)
        eq((rc, out), (0, "# Agent %s\n\nYou are the reviewer. Say %s when "
                       "asked.\n" % (name, marker)), "the definition " + err)
        rc, out, err = s.exec(name, "claude", "-p", "check the tree " + word,
                              timeout=180)
        eq((rc, out.strip()), (0, "clean tree, " + word),
           "claude's answer: %s\n%s" % (err, m.summary()))
        first = m.wait_text(word, timeout=5)
        found = where(first["body"], marker)
        text = json.dumps(first["body"])
        at = text.find(marker)
        print("the definition reached the model in the %s: ...%s..."
              % (found, text[max(0, at - 300):at + 40]))
        assert found is not None, "the definition is not in the request: " \
            "system %s; first message %s" % (
                json.dumps(first["body"].get("system"))[:2000],
                json.dumps(first["body"]["messages"][0])[:2000])
        contains(json.dumps(first["body"]), TARGET, "named by its path")
        audited(s, name)
    finally:
        close(s, m)


def refused(a, what):
    """up is refused saying WHAT, and nothing is made or mounted."""
    rc, out, err = a.up()
    eq(rc, 1, "up refused: " + out + err)
    contains(err, "definition %s/.claude/agents/%s.md" % (a.project, a.name),
             "names the definition")
    contains(err, what, "says why")
    eq(docker("inspect", a.container, check=False).returncode, 1,
       "no container")
    assert not os.path.exists(os.path.join(a.d.dir, "state", "agents",
                                           a.name, "CLAUDE.md")), \
        "no copy to mount"


def test_definition_link_refused():
    """A definition that is a symbolic link, to a file only root reads or
    to another agent's definition, or reached through a linked
    directory: `up` is refused, saying so, and nothing is mounted."""
    a = Agent()
    try:
        agents = os.path.join(a.project, ".claude", "agents")
        os.makedirs(agents)
        with open(os.path.join(agents, "other.md"), "w") as f:
            f.write("the other agent's definition\n")
        mine = os.path.join(agents, a.name + ".md")
        for target in ("/etc/shadow", "other.md"):
            os.symlink(target, mine)
            refused(a, "a symbolic link, not followed")
            os.unlink(mine)
        # a real file, but in a directory reached through a link
        real = os.path.join(a.base, "elsewhere")
        os.makedirs(real)
        with open(os.path.join(real, a.name + ".md"), "w") as f:
            f.write("from outside the repository\n")
        os.rename(agents, agents + ".old")
        os.symlink(real, agents)
        refused(a, "never a link")
    finally:
        a.close()


def test_definition_fifo_refused_without_blocking():
    """A FIFO at the definition's path, which a blocking open would wait
    on for ever: `up` is refused at once, and qmsd answers status."""
    a = Agent()
    try:
        agents = os.path.join(a.project, ".claude", "agents")
        os.makedirs(agents)
        os.mkfifo(os.path.join(agents, a.name + ".md"))
        up = subprocess.Popen([QMSCTL, "-S", a.d.socket, "up", a.name],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
        try:
            rc, out, err = a.d.ctl("status", timeout=30)
            assert rc in (0, 1, 2), "status answers: %d %s" % (rc, err)
            out, err = up.communicate(timeout=60)
        finally:
            if up.poll() is None:
                up.kill()
                up.wait()
                raise AssertionError("up hung on the FIFO")
        eq(up.returncode, 1, "up refused: " + out + err)
        contains(err, "not a regular file or directory", "why")
        eq(docker("inspect", a.container, check=False).returncode, 1,
           "no container")
    finally:
        a.close()


def test_changed_definition_waits_for_force():
    """A definition changed under a running container with a session in
    it: status and ps say a recreate is pending, up is refused, and
    up --force makes the container anew with the new text."""
    a = Agent()
    try:
        write_definition(a.project, a.name, "first\n")
        eq(a.up()[0], 0, "up")
        first = a.row()["container"]
        eq(a.exec("cat", TARGET).stdout, "first\n", "the first definition")
        rc, out, err = a.d.ctl("exec", a.name, "--", "tmux", "new-session",
                               "-d", "-s", "keep", "sleep", "1000")
        eq(rc, 0, "a detached tmux session: " + err)
        write_definition(a.project, a.name, "second\n")
        row = wait_state(a.d, "agent:" + a.name, "running",
                         cond=lambda r: "config changed" in r["detail"])
        contains(row["detail"], "config changed: qmsctl up --force "
                 "recreates")
        ps = json.loads(a.d.ctl("ps", "--json")[1])["agents"][0]
        eq(ps["pending"], "config changed: qmsctl up --force recreates",
           "ps --json")
        rc, out, err = a.up()
        eq(rc, 1, "up refused: " + out + err)
        contains(err, "would end its running session(s)")
        eq(a.exec("cat", TARGET).stdout, "first\n", "kept meanwhile")
        eq(a.row()["container"], first, "not recreated")
        rc, out, err = a.up("--force")
        eq(rc, 0, "up --force: " + err)
        assert a.row()["container"] != first, "recreated"
        eq(a.exec("cat", TARGET).stdout, "second\n", "the new definition")
        eq(json.loads(a.d.ctl("ps", "--json")[1])["agents"][0]["pending"],
           None, "nothing pending")
    finally:
        a.close()


def test_empty_definition_mounts_none():
    """definition = (empty): nothing at /claude-config/CLAUDE.md though
    the default path holds a file."""
    a = Agent(extra="definition =\n")
    try:
        write_definition(a.project, a.name, "not mine\n")
        eq(a.up()[0], 0, "up")
        eq(a.exec("test", "-e", TARGET).returncode, 1, "nothing mounted")
        mounts = json.loads(docker("inspect", a.container).stdout)[0][
            "Mounts"]
        eq([m for m in mounts if m["Destination"] == TARGET], [], "mounts")
        assert not os.path.exists(os.path.join(a.d.dir, "state", "agents",
                                               a.name, "CLAUDE.md"))
    finally:
        a.close()


if __name__ == "__main__":
    main(globals())
