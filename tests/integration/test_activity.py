#!/usr/bin/env python3
"""An agent's activity from Claude Code's hooks: the hook command qmsd
writes into the container's settings.local.json, run in the container
through its real relay (or its TCP listener), and what qmsd does with
it in ps, status --json and the control socket's events; what it
refuses, and that a refusal changes nothing."""
import json
import os
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmsdtest import QMSCTL, component, contains, eq, main
from test_agent import Agent
from test_sealed import Sealed

EVENTS = ("SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse",
          "Notification", "Stop", "SessionEnd")
MAX_HOOK = 1024 * 1024


def settings(d, name, exec_fn):
    rc, out, err = exec_fn("cat", "/pipe-dream/.claude/settings.local.json")
    eq(rc, 0, "settings.local.json: " + err)
    return json.loads(out)


def hook_command(doc, event):
    groups = doc["hooks"][event]
    eq(len(groups), 1, event)
    eq(groups[0]["hooks"][0]["type"], "command", event)
    return groups[0]["hooks"][0]["command"]


def run_hook(exec_fn, doc, event, payload):
    """Claude Code's way: the command run by a shell, the input on stdin."""
    return exec_fn("sh", "-c", 'printf %s "$1" | sh -c "$2"', "sh",
                   json.dumps(payload), hook_command(doc, event))


def ps_row(d, name):
    rc, out, err = d.ctl("ps", "--json")
    eq(rc, 0, "ps: " + err)
    for row in json.loads(out)["agents"]:
        if row["agent"] == name:
            return row
    raise AssertionError("no %s in ps: %s" % (name, out))


def events(d, name):
    rc, out, err = d.ctl("events", name, "--json")
    eq(rc, 0, "events: " + err)
    return [json.loads(line) for line in out.splitlines()]


def post(sock, path, body, token=None, method="POST"):
    """One request on an agent's own socket; the status code."""
    c = socket.socket(socket.AF_UNIX)
    c.connect(sock)
    c.settimeout(30)
    head = ("%s %s HTTP/1.1\r\nHost: 127.0.0.1:3128\r\nContent-Type: "
            "application/json\r\nContent-Length: %d\r\nConnection: close\r\n"
            % (method, path, len(body)))
    if token is not None:
        head += "Authorization: Bearer %s\r\n" % token
    try:
        c.sendall(head.encode() + b"\r\n" + body)
    except (BrokenPipeError, ConnectionResetError):
        pass    # answered before the body was all sent
    got = b""
    while True:
        try:
            r = c.recv(65536)
        except ConnectionResetError:
            break
        if not r:
            break
        got += r
    c.close()
    return int(got.split(b" ", 2)[1]), got.decode(errors="replace")


def test_hooks_move_the_activity_and_refusals_change_nothing():
    s = Sealed(names=("a", "b"))
    try:
        a, b = s.names
        s.up(a)
        s.up(b)

        def ex(*cmd):
            return s.exec(a, *cmd)
        doc = settings(s.d, a, ex)
        eq(sorted(doc["hooks"]), sorted(EVENTS), "every hook followed")
        tok = {}
        for n in (a, b):
            with open(os.path.join(s.d.dir, "state", "agents", n,
                                   "token")) as f:
                tok[n] = f.read().strip()
        with open(os.path.join(s.d.dir, "state", "host.token")) as f:
            host = f.read().strip()
        for e in EVENTS:
            cmd = hook_command(doc, e)
            contains(cmd, "'http://127.0.0.1:3128/hooks/%s'" % e, e)
            contains(cmd, "Bearer " + tok[a], e)
            contains(cmd, "-o /dev/null", e)
        eq(doc["hooks"]["PreToolUse"][0]["matcher"], "*", "every tool")
        eq(ps_row(s.d, a)["activity"], "no-session", "before any hook")

        # The command itself, in the container, through the relay.
        rc, out, err = run_hook(ex, doc, "SessionStart", {
            "session_id": "S1", "hook_event_name": "SessionStart",
            "source": "startup"})
        eq((rc, out), (0, ""), "SessionStart says nothing back: " + err)
        row = ps_row(s.d, a)
        eq(row["activity"], "idle", "after SessionStart")
        eq(row["last_event"], "SessionStart", "last event")
        assert row["activity_since"], row
        eq(component(s.d, "agent:" + a)["activity"], "idle", "status row")
        eq(ps_row(s.d, b)["activity"], "no-session", "the other agent")
        rc, out, err = run_hook(ex, doc, "UserPromptSubmit", {
            "session_id": "S1", "hook_event_name": "UserPromptSubmit",
            "prompt": "Task notification: CR-063"})
        eq((rc, out), (0, ""), "UserPromptSubmit: " + err)
        row = ps_row(s.d, a)
        eq(row["activity"], "working", "after a prompt")
        got = [(e["previous"], e["activity"]) for e in events(s.d, a)]
        eq(got, [("no-session", "idle"), ("idle", "working")], "events")
        rc, out, err = s.d.ctl("ps")
        contains(out, "working since", "ps text")

        # Refused, each with its own status, and nothing changes.
        sock = s.sock(a)
        stop = json.dumps({"session_id": "S1",
                           "hook_event_name": "Stop"}).encode()
        for why, path, body, token, method, want in (
                ("another agent's token", "/hooks/Stop", stop, tok[b],
                 "POST", 403),
                ("the host token", "/hooks/Stop", stop, host, "POST", 403),
                ("no token", "/hooks/Stop", stop, None, "POST", 401),
                ("oversized", "/hooks/Stop", b'{"a":"' + b"x" * MAX_HOOK +
                 b'"}', tok[a], "POST", 413),
                ("malformed", "/hooks/Stop", b'{"session_id":', tok[a],
                 "POST", 400),
                ("not an object", "/hooks/Stop", b'[1]', tok[a], "POST",
                 400),
                ("the event's name differs", "/hooks/Stop",
                 b'{"hook_event_name":"SessionStart"}', tok[a], "POST",
                 400),
                ("no such hook", "/hooks/Nope", stop, tok[a], "POST", 404),
                ("not a POST", "/hooks/Stop", b"", tok[a], "GET", 405)):
            code, text = post(sock, path, body, token, method)
            eq(code, want, why + ": " + text[:300])
        keys = ("activity", "activity_since", "last_event",
                "activity_detail")
        eq([ps_row(s.d, a)[k] for k in keys], [row[k] for k in keys],
           "refusals change nothing")
        eq(len(events(s.d, a)), 2, "and say nothing")

        # A hook as it happens, on a follower of the control socket.
        f = subprocess.Popen([QMSCTL, "-S", s.d.socket, "events", "-f",
                              "--json", "-n", "1", a],
                             stdout=subprocess.PIPE, text=True)
        try:
            # The last one first: the follower is subscribed.
            eq(json.loads(f.stdout.readline())["activity"], "working",
               "the tail")
            code, text = post(sock, "/hooks/Stop", stop, tok[a])
            eq(code, 204, "a Stop with the agent's own token: " + text)
            ev = json.loads(f.stdout.readline())
            eq((ev["type"], ev["agent"], ev["previous"], ev["activity"],
                ev["last_event"]), ("activity", a, "working", "idle",
                                    "Stop"), "followed")
        finally:
            f.kill()
            f.wait()

        # The container goes: no session.
        rc, out, err = s.d.ctl("down", a)
        eq(rc, 0, "down: " + err)
        eq(ps_row(s.d, a)["activity"], "no-session", "after down")
        eq(events(s.d, a)[-1]["activity_detail"],
           "the container is not running", "why")
    finally:
        s.close()


def test_hooks_over_tcp_on_host_networking():
    a = Agent(network="host")
    try:
        rc, out, err = a.up()
        eq(rc, 0, "up: " + err)

        def ex(*cmd):
            p = a.exec(*cmd)
            return p.returncode, p.stdout, p.stderr
        doc = settings(a.d, a.name, ex)
        contains(hook_command(doc, "Stop"), "'http://127.0.0.1:%d/hooks/"
                 "Stop'" % a.d.http_port, "the TCP listener")
        rc, out, err = run_hook(ex, doc, "PreToolUse", {
            "session_id": "T", "hook_event_name": "PreToolUse",
            "tool_name": "Bash", "tool_input": {"command": "ls"}})
        eq((rc, out), (0, ""), "PreToolUse: " + err)
        row = ps_row(a.d, a.name)
        eq((row["activity"], row["activity_detail"]), ("working", "Bash"),
           "over TCP")
        # The host token names no agent.
        with open(os.path.join(a.d.dir, "state", "host.token")) as f:
            host = f.read().strip()
        p = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w",
                            "%{http_code}", "-H", "Authorization: Bearer " +
                            host, "--data-binary", '{}',
                            "http://127.0.0.1:%d/hooks/Stop" % a.d.http_port],
                           capture_output=True, text=True, timeout=30)
        eq(p.stdout, "403", "the host token")
        eq(ps_row(a.d, a.name)["activity"], "working", "unchanged")
        # Stopped behind qmsd's back: no session either.
        subprocess.run(["docker", "stop", "-t", "1", a.container],
                       capture_output=True, timeout=60)
        for _ in range(100):
            if ps_row(a.d, a.name)["activity"] == "no-session":
                break
            subprocess.run(["sleep", "0.1"])
        eq(ps_row(a.d, a.name)["activity"], "no-session", "docker stop")
    finally:
        a.close()


if __name__ == "__main__":
    main(globals())
