#!/usr/bin/env python3
"""A real Claude Code doing real work in a sealed agent container,
against the scripted Messages API (tests/fixtures/messages-api.py, on
127.0.0.2): its only way out is qmsd's egress proxy, whose allow-list
names the fixture.  The model answers with a call of qmsd's git tool,
which qmsd runs and audits under the agent's name, and the answer to
the tool's result comes back as Claude's text."""
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmsdtest import contains, eq, main
from model import GIT_TOOL, Model, api, tool_result, tool_use
from test_sealed import Sealed
from test_session import Pane, ctl_cmd
import gitrepo


def sealed_with_model(m, command=None):
    """A sealed agent whose Claude talks to M; the project a git
    repository with one commit."""
    tmp = tempfile.mkdtemp(prefix="qmsd-model.")
    os.chmod(tmp, 0o755)
    try:
        s = Sealed(extra="egress = %s\nenv-file = %s\n%s" % (
            m.target, m.env_file(tmp),
            "command = %s\n" % command if command else ""))
    except BaseException:
        m.close()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    s.tmp = tmp
    for args in (["init", "-q", "-b", "main"], ["add", "."],
                 ["commit", "-qm", "first"]):
        gitrepo.git(s.project, "-c", "safe.directory=*", "-c",
                    "user.name=t", "-c", "user.email=t@t", *args)
    subprocess.run(["chown", "-R", "nobody:nogroup", s.project], check=True)
    return s


def agent_at_work(prefix, command=None):
    """A word for the prompt, a model scripted for it, and a sealed agent
    up.  Nothing more: qmsd's up has Claude's first-run screens done and
    the project trusted, and its settings allow qmsd's git tool, so that
    Claude never stops at a dialog for them."""
    word = prefix + secrets.token_hex(4)
    m = Model(git_turns(word))
    s = sealed_with_model(m, command)
    try:
        s.up(s.names[0])
    except BaseException:
        close(s, m)
        raise
    return word, m, s, s.names[0]


def close(s, m):
    s.close()
    m.close()
    shutil.rmtree(s.tmp, ignore_errors=True)


def git_turns(word):
    """A prompt with WORD: the model checks the tree, then says so."""
    return [
        {"when": {"text": word}, "reply": tool_use("status", "toolu_st")},
        {"when": {"tool_result": "toolu_st", "result_text": "On branch"},
         "reply": {"text": "clean tree, " + word}},
    ]


def audited(s, name):
    """qmsd's git audit has the status call, under the agent's name."""
    rc, out, err = s.d.ctl("logs", "git")
    eq(rc, 0, "logs git: " + err)
    assert re.search(r"(?m) %s: allowed: git status -> exit 0" % name,
                     out), "the call audited as %s: %s" % (name, out)


def test_print_mode_git_call():
    """claude -p in the container: the prompt reaches the model, whose
    git_exec call qmsd runs and audits as the agent, and the model's
    answer to the result is what claude prints."""
    word, m, s, name = agent_at_work("prompt-")
    try:
        t0 = time.monotonic()
        rc, out, err = s.exec(name, "claude", "-p", "check the tree " + word,
                              timeout=180)
        eq((rc, out.strip()), (0, "clean tree, " + word),
           "claude's answer: %s\n%s" % (err, m.summary()))
        first = m.wait_text(word, timeout=5)
        second = m.wait_turn(lambda r: tool_result(r["body"], "toolu_st")
                             is not None, timeout=5)
        contains(tool_result(second["body"], "toolu_st"), "On branch main",
                 "the tool's result, as the model saw it")
        audited(s, name)
        # the way out was the egress proxy, to the fixture's address
        rc, out, err = s.d.ctl("egress", name, "--json")
        recs = [json.loads(l) for l in out.splitlines() if l.strip()]
        assert [r for r in recs if r["event"] == "closed" and
                r["target"] == m.target and r["status"] == 200], out
        print("claude -p: the prompt at the model %.2fs after exec, "
              "the answer %.2fs" % (first["monotonic"] - t0,
                                    time.monotonic() - t0))
    finally:
        close(s, m)


def post(url, body):
    req = urllib.request.Request(url, json.dumps(body).encode(),
                                 {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.read().decode()


def test_fixture_speaks_the_stream():
    """The fixture alone: a turn's step chosen by the user's text (not a
    system reminder's), answered as Messages API events in order, a
    tool's result matched by its id, side requests canned and recorded
    apart, and a 0.0.0.0 refused."""
    m = Model([{"when": {"text": "go"}, "reply": tool_use("log -1", "t1")},
               {"when": {"tool_result": "t1"}, "reply": {"text": "done"}}])
    try:
        url = m.url + "/v1/messages?beta=true"
        reminder = {"type": "text", "text": "<system-reminder>go"
                    "</system-reminder>"}
        out = post(url, {"model": "x", "stream": True, "messages": [
            {"role": "user", "content": [reminder, {"type": "text",
                                                    "text": "stop"}]}]})
        contains(out, api_text(api.UNSCRIPTED), "a reminder's text is "
                 "not the user's")
        out = post(url, {"model": "x", "stream": True, "messages": [
            {"role": "user", "content": [reminder, {"type": "text",
                                                    "text": "go on"}]},
            {"role": "system", "content": "skipped"}]})
        events = re.findall(r"(?m)^event: (\w+)$", out)
        eq(events, ["message_start", "content_block_start",
                    "content_block_delta", "content_block_stop",
                    "message_delta", "message_stop"], "events")
        data = [json.loads(l[6:]) for l in out.splitlines()
                if l.startswith("data: ")]
        eq(data[1]["content_block"]["name"], GIT_TOOL, "the tool")
        eq(json.loads(data[2]["delta"]["partial_json"]),
           {"command": "log -1"}, "its input, whole")
        eq(data[4]["delta"]["stop_reason"], "tool_use", "stop reason")
        out = json.loads(post(url, {"model": "x", "messages": [
            {"role": "user", "content": [{"type": "tool_result",
                                          "tool_use_id": "t1",
                                          "content": "abc"}]}]}))
        eq(out["content"], [{"type": "text", "text": "done"}], "result")
        title = json.loads(post(url, {
            "model": "claude-haiku-4-5", "messages": [], "output_config": {
                "format": {"type": "json_schema", "schema": {
                    "type": "object", "properties": {
                        "title": {"type": "string"}}}}}}))
        eq(list(json.loads(title["content"][0]["text"])), ["title"],
           "a title that fits its schema")
        eq([(r["kind"], r["step"]) for r in m.requests()],
           [("turn", None), ("turn", 0), ("turn", 1), ("side", None)],
           "records")
        try:
            api.Server("0.0.0.0")
            raise AssertionError("bound 0.0.0.0")
        except ValueError:
            pass
    finally:
        m.close()


def api_text(text):
    return json.dumps({"type": "text_delta", "text": text})


READY = r"(?m)^\s*❯\s*$"      # Claude's empty prompt line


def wait_screen(screen, pattern, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = screen()
        found = re.search(pattern, text)
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("%r never on screen:\n%s" % (pattern, screen()))


def work_done(s, m, name, word, screen):
    """The prompt's turn and the tool's result reached the model, the
    call is audited as the agent, and the answer is on the screen."""
    m.wait_turn(lambda r: tool_result(r["body"], "toolu_st") is not None)
    wait_screen(screen, "clean tree, " + word)
    audited(s, name)


def test_session_in_tmux_headless():
    """Claude started detached in the agent's tmux session (as a start
    without a terminal would), the ready prompt waited for, the prompt
    pasted (bracketed) and submitted: it reaches the model, and the work
    is done."""
    word, m, s, name = agent_at_work("paste-")
    try:

        def screen():
            return s.exec(name, "tmux", "capture-pane", "-p", "-t",
                          "agent")[1]
        t0 = time.monotonic()
        rc, out, err = s.exec(name, "tmux", "new-session", "-d", "-s",
                              "agent", "-x", "120", "-y", "40", "claude")
        eq(rc, 0, "tmux: " + err)
        wait_screen(screen, READY)
        t1 = time.monotonic()
        rc, out, err = s.exec(name, "tmux", "set-buffer", "-b", "qms",
                              "check the tree " + word)
        eq(rc, 0, "set-buffer: " + err)
        t2 = time.monotonic()
        for keys in (["paste-buffer", "-p", "-d", "-b", "qms", "-t",
                      "agent"], ["send-keys", "-t", "agent", "Enter"]):
            rc, out, err = s.exec(name, "tmux", *keys)
            eq(rc, 0, "%s: %s" % (keys[0], err))
        first = m.wait_text(word)
        work_done(s, m, name, word, screen)
        print("headless: ready prompt %.2fs after start; the prompt at "
              "the model %.2fs after the paste began"
              % (t1 - t0, first["monotonic"] - t2))
    finally:
        close(s, m)


def test_session_attached_in_a_terminal():
    """The same with a person's terminal: qmsctl session on the host
    runs the agent's command (Claude) in its tmux session, and a paste
    in the host's terminal, bracketed, reaches the model."""
    word, m, s, name = agent_at_work("typed-", command="claude")
    p = None
    try:
        t0 = time.monotonic()
        p = Pane(ctl_cmd(s, "session", name), cols=120, rows=40)
        wait_screen(p.screen, READY)
        t1 = time.monotonic()
        p.tmux("set-buffer", "-b", "qms", "check the tree " + word)
        t2 = time.monotonic()
        p.tmux("paste-buffer", "-p", "-d", "-b", "qms", "-t", "t")
        p.keys("Enter")
        first = m.wait_text(word)
        work_done(s, m, name, word, p.screen)
        print("attached: ready prompt %.2fs after qmsctl session; the "
              "prompt at the model %.2fs after the paste began"
              % (t1 - t0, first["monotonic"] - t2))
    finally:
        if p is not None:
            p.close()
        close(s, m)


if __name__ == "__main__":
    main(globals())
