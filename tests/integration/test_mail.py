#!/usr/bin/env python3
"""Work arriving (issue 16): an inbox item or a person's message typed into
the agent's session only while it is idle, counted delivered only when its
UserPromptSubmit hook reports it, retried when not, exactly once across a
qmsd killed with -9; and the start and stop policies acting on it.

A real dockerd, the test image, sealed agents (network = none: the hooks
come through the agent's socket); in place of Claude the agent runs
tests/fixtures/fake-claude.py, which fires the real hook commands of the
generated settings on cue.  test_claude_at_work.py does it with Claude."""
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmsdtest import Daemon, contains, eq, main, wait_state
from test_agent import Agent
from test_session import Pane, ctl_cmd

FAKE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                    "fixtures", "fake-claude.py")
NOTICE = "Task notification: %s is in your inbox. Read it and act on it."


class Mail(Agent):
    """An agent whose command is the fake Claude, logging the prompts it
    takes to its workspace."""

    def __init__(self, fake_args="", policy="", start=True):
        super().__init__(extra="", network="none", start=False)
        shutil.copy(FAKE, os.path.join(self.project, "fake-claude.py"))
        self.workspace = os.path.join(self.project, ".claude", "users",
                                      self.name, "workspace")
        self.inbox = os.path.join(self.project, ".claude", "users",
                                  self.name, "inbox")
        os.makedirs(self.workspace)
        subprocess.run(["chown", "-R", "nobody:nogroup", self.project],
                       check=True)
        self.extra = ("command = python3 /pipe-dream/fake-claude.py --log "
                      "/pipe-dream/.claude/users/%s/workspace/prompts %s\n%s"
                      % (self.name, fake_args, policy))
        if start:
            self.d = Daemon(config=self.conf())

    def restart(self, kill=False):
        """A new qmsd on the same state directory and port."""
        self.stop(kill)
        self.start_again()

    def stop(self, kill=False):
        """qmsd stopped (SIGTERM, or SIGKILL); start_again() follows."""
        if kill:
            self.d.stop(sig=9)
        else:
            self.d.stop()

    def start_again(self):
        """A new qmsd on the stopped one's state directory and port."""
        old = self.d
        self.port = getattr(self, "port", None) or old.http_port
        self.state = getattr(self, "state", None) or old.dir + "/state"
        self.d = Daemon(config=self.conf() + "[qmsd]\nstate-dir = %s\n"
                        "[http]\nlisten = 127.0.0.1:%d\n"
                        % (self.state, self.port))
        self.olds = getattr(self, "olds", []) + [old]

    def close(self):
        super().close()
        for old in getattr(self, "olds", []):
            old.close()

    def prompts(self):
        try:
            with open(os.path.join(self.workspace, "prompts")) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def drop(self, item, text="Please review.\n"):
        """An item arrives as a writer should make it: written aside,
        renamed in."""
        os.makedirs(self.inbox, exist_ok=True)
        tmp = os.path.join(self.workspace, "." + item)
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, os.path.join(self.inbox, item))

    def take(self, item):
        os.unlink(os.path.join(self.inbox, item))

    def ps(self):
        rc, out, err = self.d.ctl("ps", "--json")
        eq(rc, 0, "ps: " + err)
        for row in json.loads(out)["agents"]:
            if row["agent"] == self.name:
                return row
        raise AssertionError("no row for %s in %s" % (self.name, out))

    def tmux(self, *args):
        return self.d.ctl("exec", self.name, "--", "tmux", *args,
                          timeout=60)

    def start_session(self):
        rc, out, err = self.d.ctl("session", "-d", self.name, timeout=300)
        eq(rc, 0, "session -d: " + out + err)


def until(what, pred, timeout=60, every=0.1):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(every)
    raise AssertionError("never: %s (last: %r)" % (what, last))


def activity(a):
    return a.ps().get("activity")


def notifications(a):
    return a.ps().get("notifications") or {}


def test_item_typed_when_idle_and_confirmed():
    """on-task: an item starts the agent, its notification is typed once
    the session is idle, and the hook's prompt counts it delivered; ps
    shows the inbox and the count; the events say so."""
    a = Mail(policy="start = on-task\n")
    try:
        wait_state(a.d, "agent:" + a.name, ("missing", "stopped"))
        eq(activity(a), "no-session")
        a.drop("CR-063.md")
        until("the notification taken", lambda: a.prompts(), timeout=180)
        eq(a.prompts(), [NOTICE % "CR-063"])
        until("delivered", lambda: notifications(a).get("delivered") == 1)
        row = a.ps()
        eq(row["inbox"], 1)
        eq(row["state"], "running")
        rc, out, err = a.d.ctl("events", a.name, "-n", "100", "--json")
        eq(rc, 0, err)
        kinds = [json.loads(l) for l in out.splitlines()]
        contains(json.dumps([e for e in kinds if e.get("type") ==
                             "delivery"]), '"state": "delivered"')
        contains(json.dumps([e for e in kinds if e.get("type") ==
                             "policy"]), '"action": "started"')
        rc, out, err = a.d.ctl("events", a.name, "-n", "100")
        contains(out, " %s inbox arrived CR-063.md (1 in the inbox)\n"
                 % a.name)
        contains(out, " %s policy started\n" % a.name)
        contains(out, " item CR-063.md delivered (1 attempt)\n")
        # Leaves and comes again with the same name: new work, typed anew.
        a.take("CR-063.md")
        until("gone from ps", lambda: a.ps()["inbox"] == 0)
        a.drop("CR-063.md")
        until("typed again", lambda: len(a.prompts()) == 2)
    finally:
        a.close()


def test_never_typed_while_a_prompt_is_open():
    """A permission prompt is open (needs-input): an item waits, and the
    answer the prompt gets is the person's, not the notification."""
    a = Mail(fake_args="--ask")
    try:
        a.start_session()
        until("idle", lambda: activity(a) == "idle")
        rc, out, err = a.d.ctl("notify", a.name, "Start the work", timeout=60)
        eq(rc, 0, "notify: " + out + err)
        until("needs-input", lambda: activity(a) == "needs-input")
        a.drop("CR-100.md")
        time.sleep(8)   # what a courier that did not wait would use
        eq(a.prompts(), ["Start the work"], "nothing typed at the prompt")
        eq(notifications(a).get("pending"), 1)
        rc, out, err = a.tmux("send-keys", "-t", "agent", "1", "Enter")
        eq(rc, 0, err)
        until("the item after the answer", lambda: len(a.prompts()) >= 3)
        eq(a.prompts()[1], "answer: 1")
        eq(a.prompts()[2], NOTICE % "CR-100")
    finally:
        a.close()


def test_unconfirmed_is_retried():
    """The first typing is lost (no hook): Enter again, then typed anew
    over a cleared line; delivered once, after two attempts."""
    a = Mail(fake_args="--drop 1")
    try:
        a.start_session()
        until("idle", lambda: activity(a) == "idle")
        a.drop("CR-200.md")
        until("delivered", lambda: notifications(a).get("delivered") == 1,
              timeout=60)
        eq(a.prompts(), [NOTICE % "CR-200"])
        rc, out, err = a.d.ctl("events", a.name, "-n", "100", "--json")
        d = [json.loads(l) for l in out.splitlines()
             if '"delivery"' in l]
        eq(d[-1]["attempts"], 2, "typed twice")
    finally:
        a.close()


def test_killed_before_delivery_delivers_once():
    """qmsd killed with -9 while the agent works with an item waiting,
    and again while a typed notification waits for its hook: after each
    restart every item is typed exactly once."""
    a = Mail(fake_args="--work 6 --hook-delay 4")
    try:
        a.start_session()
        until("idle", lambda: activity(a) == "idle")
        rc, out, err = a.d.ctl("notify", "-n", a.name, "Warm up")
        eq(rc, 0, err)
        until("working", lambda: activity(a) == "working", timeout=30)
        a.drop("CR-300.md")
        until("known", lambda: notifications(a).get("pending") == 1)
        a.restart(kill=True)
        # The fake's Stop (after its work) reaches the new qmsd, which
        # types the item; its UserPromptSubmit hook waits 4s: killed again
        # in between, the hook (retrying) confirms it to the third.
        until("typed", lambda: notifications(a).get("typed") == 1,
              timeout=60, every=0.05)
        a.restart(kill=True)
        until("delivered", lambda: notifications(a).get("delivered") == 1,
              timeout=60)
        time.sleep(12)  # what a retype would need
        eq(a.prompts(), ["Warm up", NOTICE % "CR-300"])
    finally:
        a.close()


def test_notify_checks_and_waits():
    """qmsctl notify: refused texts, an unknown agent, -n, and waiting for
    delivery."""
    a = Mail()
    try:
        for bad, why in (("yes please", "may not begin"),
                         ("1", "may not begin"),
                         ("two\nlines", "one line"),
                         ("esc \x1b[201~ out", "one line")):
            rc, out, err = a.d.ctl("notify", a.name, bad)
            eq(rc != 0, True, "refused: %r" % bad)
            contains(err, why)
        rc, out, err = a.d.ctl("notify", "nosuch", "Hello")
        eq(rc != 0, True)
        contains(err, "nosuch")
        a.start_session()
        until("idle", lambda: activity(a) == "idle")
        rc, out, err = a.d.ctl("notify", a.name, "Hello", "there",
                               timeout=60)
        eq(rc, 0, err)
        contains(out, "delivered")
        eq(a.prompts(), ["Hello there"])
    finally:
        a.close()


def test_policies_stop_and_start():
    """inbox-empty stops the agent once its last item left and it is idle;
    always starts it again after it exits by itself, not after a person's
    down; idle DURATION stops an idle agent."""
    a = Mail(policy="start = on-task\nstop = inbox-empty\n")
    try:
        a.drop("CR-400.md")
        until("typed", lambda: a.prompts(), timeout=180)
        until("idle", lambda: activity(a) == "idle")
        eq(a.ps()["state"], "running")
        a.take("CR-400.md")
        until("stopped by inbox-empty", lambda: a.ps()["state"] in
              ("stopped", "exited"), timeout=60)
        rc, out, err = a.d.ctl("policy", a.name, "start=always",
                               "stop=idle 2s")
        eq(rc, 0, out + err)
        until("started by always", lambda: activity(a) == "idle",
              timeout=180)
        until("stopped by idle 2s", lambda: a.ps()["state"] in
              ("stopped", "exited"), timeout=60)
    finally:
        a.close()


def test_always_comes_back_not_after_a_persons_down():
    """start = always: up at qmsd's start, Claude in it; back after the
    container is killed and after Claude's session is killed; not after a
    person's down, until that person's up."""
    a = Mail(policy="start = always\n")
    try:
        until("started at qmsd's start", lambda: activity(a) == "idle",
              timeout=180)
        subprocess.run(["docker", "kill", a.container], check=True,
                       capture_output=True)
        until("down", lambda: activity(a) == "no-session")
        until("back after the kill", lambda: activity(a) == "idle",
              timeout=180)
        rc, out, err = a.tmux("kill-session", "-t", "agent")
        until("the session seen gone", lambda: "the tmux session is gone" in
              a.d.ctl("events", a.name, "-n", "20", "--json")[1])
        until("back after the session went", lambda: activity(a) == "idle",
              timeout=120)
        rc, out, err = a.d.ctl("down", a.name, timeout=120)
        eq(rc, 0, out + err)
        time.sleep(6)
        eq(a.ps()["state"] in ("stopped", "exited"), True,
           "a person's down holds")
        rc, out, err = a.up()
        eq(rc, 0, out + err)
        until("Claude again after the person's up",
              lambda: activity(a) == "idle", timeout=120)
    finally:
        a.close()


def test_session_gone_is_no_session():
    """The tmux session killed while the container runs: no-session, from
    the link's stream ending (nothing polls), and the event says so."""
    a = Mail()
    try:
        a.start_session()
        until("idle", lambda: activity(a) == "idle")
        rc, out, err = a.tmux("kill-session", "-t", "agent")
        eq(rc, 0, err)
        until("no-session", lambda: activity(a) == "no-session")
        row = a.ps()
        eq(row["state"], "running", "the container still runs")
        contains(row["activity_detail"], "tmux session")
        rc, out, err = a.d.ctl("events", a.name, "-n", "5", "--json")
        contains(out, '"activity_detail":"the tmux session is gone",'
                 '"previous":"idle"')
    finally:
        a.close()


def test_reload_keeps_the_mail():
    """A reload that changes nothing of an agent's mail neither announces
    its items again nor types anything again; a new notice text applies
    to the next item."""
    a = Mail()
    try:
        a.start_session()
        until("idle", lambda: activity(a) == "idle")
        a.drop("CR-500.md")
        until("delivered", lambda: notifications(a).get("delivered") == 1)
        rc, out, err = a.d.ctl("reload")
        eq(rc, 0, out + err)
        time.sleep(3)
        rc, out, err = a.d.ctl("events", a.name, "-n", "100", "--json")
        arrived = [l for l in out.splitlines() if '"arrived"' in l]
        eq(len(arrived), 1, "announced once")
        a.d.write_config(a.conf(a.extra + "notice = Task: {item} waits\n"))
        rc, out, err = a.d.ctl("reload")
        eq(rc, 0, out + err)
        a.drop("CR-501.md")
        until("the new text", lambda: len(a.prompts()) == 2)
        eq(a.prompts(), [NOTICE % "CR-500", "Task: CR-501 waits"])
    finally:
        a.close()


def test_not_stopped_while_a_person_is_attached():
    """stop = idle 2s waits while a person's qmsctl session is attached to
    the Claude the policy would stop, and acts once the person leaves."""
    a = Mail(policy="stop = idle 2s\n")
    try:
        a.start_session()
        until("idle", lambda: activity(a) == "idle")
        p = Pane(ctl_cmd(a, "session", a.name), cols=100, rows=30)
        try:
            p.wait("\u276f")
            time.sleep(8)   # four times the idle time
            eq(a.ps()["state"], "running", "kept while attached")
            p.keys("C-b", "d")      # the agent's tmux: detach
            p.wait("EXIT=0")
        finally:
            p.close()
        until("stopped once the person left", lambda: a.ps()["state"] in
              ("stopped", "exited"), timeout=60)
    finally:
        a.close()


if __name__ == "__main__":
    main(globals())
