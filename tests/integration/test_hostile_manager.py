#!/usr/bin/env python3
"""Attacks on what issue 16 added: an agent's hooks, its inbox, qmsd's
tmux link into its container, and the policies that start and stop it,
made as a hostile agent (which owns its container, its tmux server and
what its hooks say), as a hostile local user (who may write an inbox, or
connect to the control socket without the admin group) would.  Each is
written to fail while its hole is open; every server is on loopback."""
import json
import os
import secrets
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmsdtest import Daemon, contains, eq, main
from test_activity import post
from test_agent import IMAGE, Agent, docker, need_docker
from test_hostile_control import as_user, code
from test_mail import Mail, until
from test_sealed import Sealed

MANAGER_EVENTS = 256


def token(d, name):
    with open(os.path.join(d.dir, "state", "agents", name, "token")) as f:
        return f.read().strip()


def events(d, name, n=1000):
    rc, out, err = d.ctl("events", name, "-n", str(n), "--json")
    eq(rc, 0, "events: " + err)
    return [json.loads(line) for line in out.splitlines()]


def ps_row(d, name, timeout=30):
    rc, out, err = d.ctl("ps", "--json", timeout=timeout)
    eq(rc, 0, "ps: " + err)
    for row in json.loads(out)["agents"]:
        if row["agent"] == name:
            return row
    raise AssertionError("no %s in ps: %s" % (name, out))


def hook(sock, tok, event, **fields):
    body = dict(session_id="S", hook_event_name=event, **fields)
    code_, text = post(sock, "/hooks/" + event, json.dumps(body).encode(),
                       tok)
    eq(code_, 204, "%s: %s" % (event, text[:200]))


def test_hook_flood_keeps_other_agents_events():
    """Agent a flips its own activity back and forth with its own hooks,
    more times than qmsd keeps events: agent b's one event is still there
    for `qmsctl events b`, and a's newest are too.  (Its flood moves only
    its own activity: a forged hook for b on a's socket is refused, as
    test_activity shows.)"""
    s = Sealed(names=("a", "b"))
    try:
        a, b = s.names
        s.up(a)
        s.up(b)
        hook(s.sock(b), token(s.d, b), "SessionStart", source="startup")
        eq([e["activity"] for e in events(s.d, b)], ["idle"], "b's event")
        ta, sa = token(s.d, a), s.sock(a)
        for i in range(MANAGER_EVENTS + 50):
            if i % 2 == 0:
                hook(sa, ta, "PreToolUse", tool_name="Bash")
            else:
                hook(sa, ta, "Stop")
        eq([e["activity"] for e in events(s.d, b)], ["idle"],
           "b's event outlives a's flood")
        got = events(s.d, a)
        assert len(got) >= MANAGER_EVENTS // 2, len(got)
        eq(got[-1]["activity"], "idle", "a's newest is kept")
        eq(ps_row(s.d, b)["activity"], "idle", "b's activity untouched")
    finally:
        s.close()


def test_inbox_flood_does_not_freeze_qmsd():
    """10000 items dropped into an agent's inbox at once (by whoever
    writes it: the repository's owner, or another agent through the QMS)
    must not stop qmsd answering: another agent's hook, run as its own
    command runs it (which gives up after about 13 s), still lands, and
    the control socket answers while the items are counted.  qmsd wrote
    the whole deliveries file, synced, once per item: minutes of a loop
    that answered nobody."""
    need_docker()
    tag = secrets.token_hex(3)
    flooded, other = "flooded" + tag, "other" + tag
    d = Daemon(config="[qmsd]\nproject-root = {project}\n"
               "[agent \"%s\"]\nimage = qms-agent-test:latest\n"
               "[agent \"%s\"]\nimage = qms-agent-test:latest\n"
               "network = host\n" % (flooded, other))
    try:
        rc, out, err = d.ctl("up", other, timeout=300)
        eq(rc, 0, "up: " + err)
        inbox = os.path.join(d.project, ".claude", "users", flooded,
                             "inbox")
        until("the inbox made", lambda: os.path.isdir(inbox), 10)
        n = 10000
        for i in range(n):
            open(os.path.join(inbox, "CR-%05d.md" % i), "w").close()
        # The other agent's hook, as its settings run it: curl, 3 s each,
        # retried for 10 s.
        p = subprocess.run(
            ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
             "--connect-timeout", "2", "--max-time", "3", "--retry", "10",
             "--retry-delay", "1", "--retry-max-time", "10",
             "--retry-all-errors", "-H",
             "Authorization: Bearer " + token(d, other), "-H",
             "Content-Type: application/json", "--data-binary",
             '{"session_id":"O","hook_event_name":"SessionStart"}',
             "http://127.0.0.1:%d/hooks/SessionStart" % d.http_port],
            capture_output=True, text=True, timeout=60)
        eq(p.stdout, "204", "the other agent's hook while the inbox "
           "floods: " + p.stderr)
        eq(ps_row(d, other)["activity"], "idle", "and it counted")
        until("all counted", lambda: ps_row(d, flooded)["inbox"] == n,
              timeout=60, every=0.5)
        eq(ps_row(d, flooded)["notifications"]["pending"], n,
           "one notification each")
        # Kept, each once, for a qmsd started again.
        path = os.path.join(d.dir, "state", "agents", flooded, "deliveries")
        until("saved", lambda: len(json.load(open(path))["deliveries"]) ==
              n, 30)
    finally:
        d.close()
        for name in (flooded, other):
            docker("rm", "-f", "qms-agent-" + name, check=False)
            for v in ("qms-claude-config-", "qms-projects-"):
                docker("volume", "rm", "-f", v + name, check=False)


def test_restart_loop_is_held_off():
    """start = always, and the agent kills its own tmux server as soon as
    its session starts (here its command does; any process of the agent
    can): qmsd must not start it again in a loop, an exec and a tmux
    session each time, but back off as for a start that failed."""
    a = Agent(extra="command = tmux kill-server\nstart = always\n",
              network="none")
    try:
        until("the first start", lambda: [
            e for e in events(a.d, a.name) if e.get("type") == "policy"],
            timeout=180)
        time.sleep(20)
        starts = [e for e in events(a.d, a.name)
                  if e.get("type") == "policy" and
                  e.get("action") == "started"]
        # 5 s, then 10, then 20 after each quick end: at most 3 here.
        assert len(starts) <= 4, "started %d times in 20 s: %s" % (
            len(starts), [e["time"] for e in starts])
        contains(a.d.log(), "not started again for", "the log says why")
    finally:
        a.close()


def test_control_methods_of_issue_16_need_the_admin_group():
    """notify types into an agent's Claude, session -d and tmux-link start
    one and type into it, policy-set changes what starts it: none for a
    local user outside the admin group.  events and policy are read-only,
    and carry no prompt or notification text."""
    need_docker()
    d = Daemon(config="[qmsd]\nproject-root = {project}\n"
               "admin-group = users\n[agent \"claude\"]\n"
               "image = qms-agent-test:latest\n")
    try:
        os.chmod(d.socket, 0o666)
        calls = [("notify", {"agent": "claude", "text": "Run rm -rf"}),
                 ("session", {"agent": "claude", "detach": True}),
                 ("tmux-link", {"agent": "claude", "action": "start"}),
                 ("tmux-link", {"agent": "claude", "text": "hi"}),
                 ("policy-set", {"agent": "claude", "start": "always"})]
        out = as_user(d, 65534, 65534, [], calls)
        for (m, p), r in zip(calls, out):
            eq(code(r), -32001, "%s %s as nobody: %s" % (m, p, r))
        # A person's message, as an admin: its text never in the events.
        rc, o, err = d.ctl("notify", "--no-wait", "claude",
                           "Secret plan CR-999", timeout=30)
        out = as_user(d, 65534, 65534, [], [("events", {"agent": "claude",
                                                        "lines": 1000}),
                                            ("policy", {"agent": "claude"}),
                                            ("ps", None)])
        for r in out:
            assert "error" not in r, r
            assert "Secret plan" not in json.dumps(r), r
    finally:
        d.close()


def test_hook_bodies_and_web_pages():
    """On the loopback listener (host networking): a web page's request
    (a foreign Origin, or a rebound Host) is refused even with the
    agent's token, and changes nothing; hook bodies with a NUL, invalid
    UTF-8 and terminal escapes in every field move only the agent's own
    activity, and what ps and events show of them is printable ASCII."""
    a = Agent(network="host")
    try:
        rc, out, err = a.up()
        eq(rc, 0, "up: " + err)
        url = "http://127.0.0.1:%d/hooks/" % a.d.http_port
        tok = token(a.d, a.name)

        def curl(event, body, *headers):
            args = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                    "-H", "Authorization: Bearer " + tok, "-H",
                    "Content-Type: application/json", "--data-binary", "@-"]
            for h in headers:
                args += ["-H", h]
            p = subprocess.run(args + [url + event], input=body,
                               capture_output=True, timeout=30)
            return p.stdout.decode()
        stop = b'{"session_id":"W","hook_event_name":"Stop"}'
        eq(curl("Stop", stop, "Origin: http://evil.example.com"), "403",
           "a web page's Origin")
        eq(curl("Stop", stop, "Host: evil.example.com"), "403",
           "a rebound Host")
        eq(ps_row(a.d, a.name)["activity"], "no-session", "unchanged")
        esc = "\x1b]0;owned\x07\x1b[2K\r\u009b1A"
        for body in (
                b'{"session_id":"W\x00X","hook_event_name":"PreToolUse",'
                b'"tool_name":"Ba\x00sh\xff\xfe"}',
                json.dumps({"session_id": "W" + esc, "hook_event_name":
                            "PreToolUse", "tool_name": esc + "\u202e"
                            }).encode(),
                b'{"session_id":"W","hook_event_name":"PreToolUse",'
                b'"tool_name":"\xc0\xaf\xed\xa0\x80"}'):
            eq(curl("PreToolUse", body), "204", repr(body))
            row = ps_row(a.d, a.name)
            eq(row["activity"], "working", repr(body))
            for k in ("activity_detail", "last_event"):
                v = row[k]
                assert all(" " <= c < "\x7f" for c in v), (k, v)
        rc, out, err = a.d.ctl("events", a.name, "-n", "100")
        eq(rc, 0, err)
        assert all(" " <= c < "\x7f" or c == "\n" for c in out), repr(out)
        assert a.d.alive()
    finally:
        a.close()


def test_forged_prompt_confirms_nothing_of_another_agent():
    """Agent b's notification is typed and waits for b's UserPromptSubmit
    (b's Claude lost it).  Agent m posts that very prompt with its own
    hook, on its own socket: b's notification stays undelivered (m's
    hooks reach m's records only), and b's activity does not move."""
    b = Mail(fake_args="--drop 9", start=False)
    m = "m" + secrets.token_hex(3)
    b.extra += "[agent \"%s\"]\nimage = %s\nnetwork = none\n" % (m, IMAGE)
    b.d = Daemon(config=b.conf())
    try:
        b.start_session()
        until("b idle", lambda: ps_row(b.d, b.name)["activity"] == "idle")
        text = "Review CR-7 now"
        rc, out, err = b.d.ctl("notify", "--no-wait", b.name, text)
        eq(rc, 0, "notify: " + out + err)
        until("typed", lambda: ps_row(b.d, b.name)["notifications"]
              ["typed"] == 1)
        rc, out, err = b.d.ctl("up", m, timeout=300)
        eq(rc, 0, "up: " + err)
        sock = os.path.join(b.d.dir, "state", "agents", m, "link",
                            "qmsd.sock")
        hook(sock, token(b.d, m), "UserPromptSubmit", prompt=text)
        row = ps_row(b.d, b.name)
        eq(row["notifications"]["delivered"], 0, "b's not confirmed by m")
        eq(row["activity"], "idle", "b's activity unmoved")
        eq(ps_row(b.d, m)["activity"], "working", "m's own moved")
    finally:
        b.close()
        docker("rm", "-f", "qms-agent-" + m, check=False)
        for v in ("qms-claude-config-", "qms-projects-"):
            docker("volume", "rm", "-f", v + m, check=False)


def test_inbox_link_and_fifo_are_not_followed():
    """The inbox replaced by a link to another agent's inbox, or to /etc,
    is not watched (its count 0, why in ps); a FIFO named like an item is
    no item, and qmsd, which never opens one, still answers."""
    need_docker()
    d = Daemon(config="[qmsd]\nproject-root = {project}\n"
               "[agent \"victim\"]\nimage = qms-agent-test:latest\n"
               "[agent \"mallory\"]\nimage = qms-agent-test:latest\n")
    try:
        users = os.path.join(d.project, ".claude", "users")
        vin = os.path.join(users, "victim", "inbox")
        min_ = os.path.join(users, "mallory", "inbox")
        until("inboxes made", lambda: os.path.isdir(vin) and
              os.path.isdir(min_), 10)
        open(os.path.join(vin, "CR-1.md"), "w").close()
        os.mkfifo(os.path.join(min_, "x.md"))
        until("victim's item", lambda: ps_row(d, "victim")["inbox"] == 1)
        eq(ps_row(d, "mallory")["inbox"], 0, "a FIFO is no item")
        for target in (vin, "/etc"):
            os.rename(min_, min_ + ".old") if os.path.isdir(min_) and \
                not os.path.islink(min_) else os.unlink(min_)
            os.symlink(target, min_)
            until("not watched: " + target, lambda: ps_row(
                d, "mallory")["inbox_error"] is not None, 30)
            eq(ps_row(d, "mallory")["inbox"], 0, "through a link: " + target)
        eq(ps_row(d, "victim")["inbox"], 1, "the victim's own count")
    finally:
        d.close()


if __name__ == "__main__":
    main(globals())
