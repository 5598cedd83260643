#!/usr/bin/env python3
"""Issue 16 end to end with a real Claude Code: an agent that works with
no one at its terminal.  A sealed agent (its only way out qmsd's egress
proxy, to the scripted Messages API, tests/fixtures/messages-api.py),
command `claude`, start = on-task, stop = inbox-empty: a task lands in
its inbox, qmsd starts the container and Claude in tmux, types the
notification once Claude is idle, the model answers it with a call of
qmsd's git tool (run and audited under the agent's name), Claude goes
idle, the task leaves and the policy stops the container.  And the
courier never types into an open permission dialog: the notification
waits until a person has answered it.  test_mail.py tests the same
wiring with a fake Claude, on cue."""
import json
import os
import secrets
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmsdtest import contains, eq, main, wait_state
from model import Model, tool_result, tool_use, user_text
from test_model import audited, close, sealed_with_model

from test_mail import NOTICE, until as mail_until


def until(what, pred, timeout=120, every=0.1):
    """test_mail's, with the longer wait a real Claude may need."""
    return mail_until(what, pred, timeout, every)


def ps(s, name):
    rc, out, err = s.d.ctl("ps", "--json")
    eq(rc, 0, "ps: " + err)
    for row in json.loads(out)["agents"]:
        if row["agent"] == name:
            return row
    raise AssertionError("no row for %s in %s" % (name, out))


def events(s, name, kind):
    rc, out, err = s.d.ctl("events", name, "-n", "200", "--json")
    eq(rc, 0, "events: " + err)
    return [e for e in (json.loads(l) for l in out.splitlines() if l.strip())
            if e.get("type") == kind]


def inbox(s, name):
    return os.path.join(s.project, ".claude", "users", name, "inbox")


def drop(s, name, item):
    """An item arrives as the QMS writes one: written aside, renamed in
    (qmsd makes the inbox, as the project's owner)."""
    box = inbox(s, name)
    until("the inbox made", lambda: os.path.isdir(box), timeout=30)
    aside = os.path.join(os.path.dirname(box), "." + item)
    with open(aside, "w") as f:
        f.write("# %s\n\nPlease review.\n" % item)
    os.chown(aside, 65534, 65534)
    os.rename(aside, os.path.join(box, item))


def notice_turns(m, text):
    """The turns whose user message is TEXT, exactly."""
    return [r for r in m.turns() if user_text(r["body"]).strip() == text]


def test_task_arrives_claude_works_and_stops():
    """on-task and inbox-empty with Claude: the item starts the agent
    (a policy start), its notification reaches the model as the user's
    turn, word for word, the model's git_exec call is audited as the
    agent, Claude goes idle, and the item's leaving stops the container
    (a policy stop)."""
    item = "CR-%s" % secrets.token_hex(3)
    notice = NOTICE % item
    m = Model([
        {"when": {"text": notice}, "reply": tool_use("status", "toolu_st")},
        {"when": {"tool_result": "toolu_st", "result_text": "On branch"},
         "reply": {"text": "reviewed " + item}},
    ])
    s = sealed_with_model(m, command="claude\nstart = on-task\n"
                          "stop = inbox-empty")
    name = s.names[0]
    try:
        wait_state(s.d, "agent:" + name, ("missing", "stopped"))
        eq(ps(s, name)["activity"], "no-session")
        drop(s, name, item + ".md")
        first = m.wait_text(notice, timeout=110)
        eq(user_text(first["body"]).strip(), notice,
           "the notification, as the model got it")
        contains(json.dumps(events(s, name, "policy")), '"started"',
                 "a policy start")
        m.wait_turn(lambda r: tool_result(r["body"], "toolu_st")
                    is not None, timeout=60)
        audited(s, name)
        until("idle after the work", lambda: ps(s, name)["activity"]
              == "idle", timeout=60)
        row = ps(s, name)
        eq((row["state"], row["inbox"]), ("running", 1), "ps: %s" % row)
        eq((row.get("notifications") or {}).get("delivered"), 1,
           "delivered once: %s" % row)
        eq(len(notice_turns(m, notice)), 1, "typed once: " + m.summary())
        os.unlink(os.path.join(inbox(s, name), item + ".md"))
        until("stopped by inbox-empty", lambda: ps(s, name)["state"]
              in ("stopped", "exited"), timeout=60)
        contains(json.dumps(events(s, name, "policy")), '"stopped"',
                 "a policy stop")
    finally:
        close(s, m)


def test_never_typed_into_a_permission_dialog():
    """Claude asks to run a Bash command that writes (not allowed: a
    permission dialog): while it is open an item arrives and its
    notification is not typed (the model never sees it); a person answers
    the dialog (Enter: its first option, yes), the command runs, the turn
    ends, and then the notification reaches the model.

    Claude runs in the default permission mode: in 2.1.332's default,
    auto mode, a Claude whose ANTHROPIC_BASE_URL is not Anthropic's opens
    a dialog of its own ("Auto mode can't check actions in this
    session") with no Notification hook, and read-only commands (echo)
    run without asking in either mode."""
    word = "ask-" + secrets.token_hex(3)
    item = "CR-%s" % secrets.token_hex(3)
    notice = NOTICE % item
    m = Model([
        {"when": {"text": word}, "reply": {"tool_use": {
            "name": "Bash", "input": {"command": "touch /tmp/bash-" + word,
                                      "description": "say a word"},
            "id": "toolu_bash"}}},
        {"when": {"tool_result": "toolu_bash"},
         "reply": {"text": "ran it, " + word}},
        {"when": {"text": notice}, "reply": {"text": "on it, " + item}},
    ])
    s = sealed_with_model(m, command="claude --permission-mode default")
    name = s.names[0]
    try:
        rc, out, err = s.d.ctl("session", "-d", name, timeout=300)
        eq(rc, 0, "session -d: " + out + err)
        until("idle", lambda: ps(s, name)["activity"] == "idle")
        rc, out, err = s.d.ctl("notify", name, "Run the check " + word,
                               timeout=60)
        eq(rc, 0, "notify: " + out + err)
        m.wait_text(word, timeout=30)
        until("needs-input", lambda: ps(s, name)["activity"]
              == "needs-input", timeout=60)
        drop(s, name, item + ".md")
        until("the item known", lambda: (ps(s, name).get("notifications")
                                         or {}).get("pending") == 1)
        time.sleep(8)   # what a courier that did not wait would use
        eq(notice_turns(m, notice), [], "nothing typed into the dialog")
        eq(ps(s, name)["activity"], "needs-input", "still asking")
        eq([r for r in m.turns() if tool_result(r["body"], "toolu_bash")
            is not None], [], "the dialog not answered yet")
        rc, out, err = s.d.ctl("exec", name, "--", "tmux", "send-keys",
                               "-t", "agent", "Enter", timeout=60)
        eq(rc, 0, "send-keys: " + err)
        answered = m.wait_turn(lambda r: tool_result(r["body"], "toolu_bash")
                               is not None, timeout=60)
        rc, out, err = s.exec(name, "test", "-f", "/tmp/bash-" + word)
        eq(rc, 0, "allowed, the command ran: " + json.dumps(
            tool_result(answered["body"], "toolu_bash")))
        got = m.wait_text(notice, timeout=60)
        eq(user_text(got["body"]).strip(), notice, "the notification")
        assert got["n"] > answered["n"], "after the dialog: " + m.summary()
        until("delivered", lambda: (ps(s, name).get("notifications")
                                    or {}).get("delivered") == 1)
    finally:
        close(s, m)


if __name__ == "__main__":
    main(globals())
