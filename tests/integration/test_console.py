#!/usr/bin/env python3
"""The web console's page, data API and live updates (issue 17), at the
HTTP level, against a real qmsd (and, where an action needs one, a real
agent container running the fake Claude): the state has the agents and
servers; the actions work and say qmsctl's errors; the event stream
brings an inbox item's arrival and an activity change as they happen;
and every request from elsewhere is refused.  The page in a real browser
is the headless-Chromium tests' (tests/node)."""
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import socket
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmsdtest import Daemon, contains, eq, main, wait_state
from test_console_auth import Session, login, origin, req, with_key

CONF = ('[agent "claude"]\nimage = none:latest\n'
        '[agent "docs"]\nimage = none:latest\nstart = on-task\n'
        'stop = idle 2h\n')
NOT_LOGGED_IN = {"error": "not logged in: run qmsctl console"}


def api(d, method, path, cookie, body=None, headers=None):
    """An API request as the console's page makes it: (status, JSON)."""
    h = {"Cookie": cookie, "Sec-Fetch-Site": "same-origin"}
    if method == "POST":
        h["Origin"] = origin(d)
        h["Content-Type"] = "application/json"
    h.update(headers or {})         # None: not sent (req's with_key)
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    st, rh, text = req(d, method, "/console/api/" + path, h, body=data)
    if st != 101:
        eq(rh.get("x-content-type-options"), ["nosniff"], path)
    try:
        return st, json.loads(text)
    except ValueError:
        raise AssertionError("%s: not JSON (%d): %r" % (path, st, text))


class Events:
    """An open /console/api/events stream, read event by event."""

    def __init__(self, d, cookie, headers=None):
        self.c = http.client.HTTPConnection("127.0.0.1", d.http_port,
                                            timeout=60)
        self.c.putrequest("GET", "/console/api/events", skip_host=True,
                          skip_accept_encoding=True)
        self.c.putheader("Host", "127.0.0.1:%d" % d.http_port)
        self.c.putheader("Accept", "text/event-stream")
        for k, v in with_key(dict({"Cookie": cookie,
                                   "Sec-Fetch-Site": "same-origin"},
                                  **(headers or {}))).items():
            self.c.putheader(k, v)
        self.c.endheaders()
        self.r = self.c.getresponse()

    def next(self, timeout=60):
        """The next event: (name, data as JSON); comments skipped."""
        self.c.sock.settimeout(timeout)
        name, data = "message", []
        while True:
            line = self.r.readline()
            if not line:
                raise AssertionError("the stream ended")
            line = line.decode().rstrip("\n")
            if line == "":
                if data:
                    return name, json.loads("\n".join(data))
                name = "message"
                continue
            if line.startswith(":") or line.startswith("retry:"):
                continue
            k, _, v = line.partition(": ")
            if k == "event":
                name = v
            elif k == "data":
                data.append(v)

    def until(self, what, pred, timeout=120):
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            try:
                name, data = self.next(deadline - time.monotonic())
            except socket.timeout:
                break
            seen.append((name, data.get("type") if isinstance(data, dict)
                         else None))
            if pred(name, data):
                return data
        raise AssertionError("never: %s; saw %r" % (what, seen[-30:]))

    def close(self):
        self.c.close()


def clean(d):
    """qmsd stops well, and said nothing of memory (the ASan build)."""
    rc = d.stop(); print(d.log()[-3000:]) if rc else None; eq(rc, 0, "qmsd's exit status")
    log = d.log()
    for bad in ("AddressSanitizer", "runtime error:", "LeakSanitizer"):
        assert bad not in log, log[-3000:]


def agent_row(state, name):
    for a in state["agents"]:
        if a["agent"] == name:
            return a
    raise AssertionError("no agent %s in %r" % (name, state["agents"]))


def test_state_has_agents_and_servers():
    d = Daemon(config=CONF)
    try:
        cookie = login(d)
        st, s = api(d, "GET", "state", cookie)
        eq(st, 200, "state")
        eq(sorted(a["agent"] for a in s["agents"]), ["claude", "docs"])
        eq(agent_row(s, "docs")["policy"]["stop"], "idle 2h", "ps's policy")
        for k in ("state", "activity", "inbox", "container", "uptime",
                  "last_exit", "egress"):
            assert k in agent_row(s, "claude"), k
        names = [c["name"] for c in s["servers"]["components"]]
        for n in ("qms-mcp", "git", "gateway", "docker", "http"):
            assert n in names, "%s in %r" % (n, names)
        for k in ("log", "audit", "egress"):
            eq(type(s["servers"][k]), list, k)
        eq(s["servers"]["daemon"]["pid"], d.pid, "status's daemon")
        # The same as qmsctl's: one source.
        rc, out, err = d.ctl("ps", "--json")
        eq([a["agent"] for a in json.loads(out)["agents"]],
           [a["agent"] for a in s["agents"]], "ps --json's agents")
        # The page and its files.
        st, h, body = req(d, "GET", "/console/", {"Cookie": cookie})
        eq(st, 200, "the page")
        for part in ('<table id="agents">', '<section id="servers"',
                     'data-server="qms-mcp"', 'data-server="egress"',
                     '<ol id="audit"', 'id="connection"',
                     'data-action="terminal"', '<form class="policy">'):
            contains(body, part, "the DOM contract")
        csp = h["content-security-policy"][0]
        for part in ("default-src 'none'", "script-src 'self'",
                     "connect-src 'self'", "frame-ancestors 'none'",
                     "form-action 'self'"):
            contains(csp, part, "the page's CSP")
        assert "unsafe-eval" not in csp and "script-src 'self' 'unsafe" \
            not in csp, csp
        for name, ctype, part in (
                ("console.js", "text/javascript", "EventSource"),
                ("console.css", "text/css", "#agents"),
                ("xterm.js", "text/javascript", "Terminal"),
                ("xterm.css", "text/css", ".xterm"),
                ("addon-fit.js", "text/javascript", "FitAddon")):
            st, h, body = req(d, "GET", "/console/static/" + name,
                              {"Cookie": cookie})
            eq(st, 200, name)
            contains(h["content-type"][0], ctype, name)
            eq(h["x-content-type-options"], ["nosniff"], name)
            contains(body, part, name)
            etag = h["etag"][0]
            st, h, _ = req(d, "GET", "/console/static/" + name,
                           {"Cookie": cookie, "If-None-Match": etag})
            eq(st, 304, name + " unchanged")
        st, _, _ = req(d, "GET", "/console/static/nope.js",
                       {"Cookie": cookie})
        eq(st, 404, "no such file")
        st, _, _ = req(d, "GET", "/console/static/../api/state",
                       {"Cookie": cookie})
        assert st in (400, 404), st
    finally:
        d.close()


def test_actions_say_qmsctls_errors():
    d = Daemon(config=CONF)
    try:
        cookie = login(d)
        st, j = api(d, "POST", "agents/nope/up", cookie, {})
        eq((st, j), (404, {"error": 'no agent "nope"'}), "an unknown agent")
        rc, out, err = d.ctl("down", "nope")
        contains(err, 'no agent "nope"', "qmsctl's words")
        st, j = api(d, "POST", "agents/docs/policy", cookie,
                    {"start": "sometimes"})
        eq(st, 400, "a bad policy")
        rc, out, err = d.ctl("policy", "docs", "start=sometimes")
        contains(err, j["error"], "the same error as qmsctl's")
        eq(j["error"], 'start must be manual, on-task or always, not '
           '"sometimes"')
        st, j = api(d, "POST", "agents/docs/policy", cookie,
                    {"stop": "idle"})
        eq(st, 400, "idle without its duration")
        contains(j["error"], "stop must be manual, inbox-empty or idle")
        st, j = api(d, "POST", "agents/docs/policy", cookie,
                    {"reset": True, "stop": "manual"})
        eq(st, 400, "reset with a part")
        st, j = api(d, "POST", "agents/docs/policy", cookie,
                    {"stop": "idle 10m", "start": "always"})
        eq(st, 200, "a policy: %r" % j)
        eq(j["policy"]["stop"], "idle 10m")
        rc, out, err = d.ctl("policy", "docs")
        eq(out, "start=always (run-time)\nstop=idle 10m (run-time)\n",
           "qmsctl sees it")
        st, j = api(d, "POST", "agents/docs/policy", cookie, {"reset": True})
        eq(st, 200, "reset")
        rc, out, err = d.ctl("policy", "docs")
        eq(out, "start=on-task (config)\nstop=idle 2h (config)\n", "reset")
        st, j = api(d, "POST", "agents/claude/notify", cookie, {})
        eq((st, j), (400, {"error": "notify needs text (a string)"}))
        st, j = api(d, "POST", "agents/claude/fly", cookie, {})
        eq(st, 404, "an unknown action")
        st, j = api(d, "POST", "agents/claude/up", cookie, b"{not json")
        eq(st, 400, "a body that is not JSON")
        st, j = api(d, "POST", "agents/claude/up", cookie, b"[]")
        eq(st, 400, "a body that is no object")
        st, j = api(d, "POST", "agents/claude/up", cookie, {},
                    {"Content-Type": "text/plain"})
        eq(st, 415, "a form's type (no preflight) is refused")
        st, j = api(d, "GET", "agents/claude/up", cookie)
        eq(st, 405, "an action by GET")
        st, j = api(d, "POST", "state", cookie, {})
        eq(st, 405, "state by POST")
        st, j = api(d, "GET", "agents/claude/up/more", cookie)
        eq(st, 404, "no such API")
        st, j = api(d, "POST", "agents/" + "x" * 300 + "/up", cookie, {})
        eq(st, 404, "a name too long")
        st, _, _ = req(d, "POST", "/console/api/agents/claude/notify",
                       {"Cookie": cookie, "Origin": origin(d),
                        "Content-Type": "application/json"},
                       body=json.dumps({"text": "y" * 70000}).encode())
        eq(st, 413, "a body too big")
        assert d.alive(), "qmsd lives"
    finally:
        d.close()


def test_refused_from_elsewhere():
    """Cookies are not port-scoped and a page anywhere can make the
    browser send requests: each way in without the console's own page is
    refused, with the API's JSON 401 or a 403."""
    d = Daemon(config=CONF)
    try:
        cookie = login(d)
        foreign = "http://127.0.0.1:%d" % (d.http_port + 1)
        for path in ("state", "events"):
            st, j = api(d, "GET", path, None)
            eq((st, j), (401, NOT_LOGGED_IN), path + " without the cookie")
            st, j = api(d, "GET", path, "qmsd_console=" + "0" * 64)
            eq((st, j), (401, NOT_LOGGED_IN), path + " with a made-up one")
            for site in ("cross-site", "same-site"):
                st, j = api(d, "GET", path, cookie,
                            headers={"Sec-Fetch-Site": site})
                eq(st, 403, "%s from a %s page" % (path, site))
            st, _, _ = req(d, "GET", "/console/api/" + path,
                           {"Cookie": cookie, "Origin": foreign})
            eq(st, 403, path + " with another origin")
        st, j = api(d, "POST", "agents/claude/policy", None, {"reset": True})
        eq((st, j), (401, NOT_LOGGED_IN), "a POST without the cookie")
        # The cookie reaches every port of the host: without the page's
        # key (kept in the console's own origin) it opens nothing.
        for path in ("state", "events"):
            for k in (None, "0" * 64, cookie.key[:-1] + "x"):
                st, j = api(d, "GET", path, cookie, headers={"X-Qmsd-Key": k})
                eq(st, 401, "%s with the cookie and the key %r" % (path, k))
                contains(j["error"], "key", path)
        st, j = api(d, "POST", "agents/claude/policy", cookie,
                    {"reset": True}, {"X-Qmsd-Key": None})
        eq(st, 401, "an action with the cookie, without the key")
        st, _, _ = req(d, "GET", "/console/api/state?k=" + cookie.key,
                       {"Cookie": str(cookie)})
        eq(st, 200, "the key as a query argument (EventSource, WebSocket)")
        other = login(d)
        st, j = api(d, "GET", "state", cookie, headers={"X-Qmsd-Key":
                                                        other.key})
        eq(st, 401, "another session's key")
        st, j = api(d, "POST", "agents/claude/policy", cookie,
                    {"reset": True}, {"Origin": None})
        eq(st, 403, "a POST without Origin")
        contains(j["error"], "Origin")
        st, _, _ = req(d, "POST", "/console/api/agents/claude/policy",
                       {"Cookie": cookie, "Origin": foreign,
                        "Content-Type": "application/json"}, body=b"{}")
        eq(st, 403, "a POST from another origin")
        st, j = api(d, "POST", "agents/claude/policy", cookie,
                    {"reset": True}, {"Sec-Fetch-Site": "cross-site"})
        eq(st, 403, "a POST from a cross-site page")
        st, j = api(d, "GET", "agents/claude/terminal", cookie,
                    headers={"Origin": None})
        eq(st, 403, "the terminal without Origin")
        # Static files: behind the session too (one rule for /console/).
        for name in ("console.js", "xterm.js"):
            st, _, body = req(d, "GET", "/console/static/" + name)
            eq(st, 401, name + " without the cookie")
            contains(body, "qmsctl console")
            st, _, _ = req(d, "GET", "/console/static/" + name,
                           {"Cookie": cookie, "Sec-Fetch-Site": "cross-site"})
            eq(st, 403, name + " for another site's page")
        st, _, body = req(d, "GET", "/console/")
        eq(st, 401, "the page without the cookie: the HTML page")
        contains(body, "<h1>Not logged in</h1>")
        st, _, _ = req(d, "GET", "/console/",
                       {"Cookie": cookie, "Sec-Fetch-Site": "none"})
        eq(st, 200, "the page opened by hand")
        # After logout the cookie is nothing, and its stream ends.
        ev = Events(d, cookie)
        eq(ev.next(10)[0], "state")
        st, _, _ = req(d, "POST", "/console/logout",
                       {"Cookie": cookie, "Origin": origin(d)})
        eq(st, 200, "logout")
        try:
            while True:
                ev.next(5)
        except AssertionError as e:
            contains(str(e), "the stream ended", "the stream at logout")
        ev.close()
        st, j = api(d, "GET", "state", cookie)
        eq((st, j), (401, NOT_LOGGED_IN), "the old cookie")
    finally:
        d.close()


def test_streams_are_bounded():
    d = Daemon(config=CONF)
    try:
        cookie = login(d)
        streams = [Events(d, cookie) for _ in range(16)]
        for s in streams:
            eq(s.r.status, 200, "a stream")
            eq(s.r.getheader("Content-Type"),
               "text/event-stream; charset=utf-8")
            name, data = s.next(10)
            eq(name, "state", "a stream begins with the state")
            eq(sorted(a["agent"] for a in data["agents"]), ["claude", "docs"])
        st, j = api(d, "GET", "events", cookie)
        eq(st, 503, "one stream too many")
        contains(j["error"], "too many")
        streams.pop().close()
        deadline = time.monotonic() + 20
        while True:
            extra = Events(d, cookie)
            if extra.r.status == 200:
                break
            extra.r.read()
            extra.close()
            assert time.monotonic() < deadline, "the closed one's place"
            time.sleep(0.2)
        streams.append(extra)
        # A change reaches every stream.
        st, j = api(d, "POST", "agents/docs/policy", cookie,
                    {"stop": "manual"})
        eq(st, 200)
        for s in streams:
            s.until("the policy in a state", lambda n, data: n == "state"
                    and agent_row(data, "docs")["policy"]["stop"] ==
                    "manual", timeout=10)
        for s in streams:
            s.close()
        assert d.alive()
        clean(d)
    finally:
        d.close()


def test_live_inbox_and_activity_and_actions():
    """A real agent: up, an activity change and an inbox item's arrival
    come down the stream as they happen; down and restart work."""
    from test_mail import Mail, until
    a = Mail()
    try:
        d = a.d
        cookie = login(d)
        ev = Events(d, cookie)
        eq(ev.next(10)[0], "state")
        st, j = api(d, "POST", "agents/%s/up" % a.name, cookie, {})
        eq(st, 200, "up: %r" % (j,))
        assert re.match(r"^[0-9a-f]{64}$", j["container"]), j
        ev.until("running", lambda n, data: n == "state" and agent_row(
            data, a.name)["state"] == "running")
        a.start_session()
        ev.until("an activity change", lambda n, data: n == "event" and
                 data["type"] == "activity" and data["agent"] == a.name)
        a.drop("CR-777.md")
        got = ev.until("the inbox item", lambda n, data: n == "event" and
                       data["type"] == "inbox" and
                       data.get("item") == "CR-777.md")
        eq(got["change"], "arrived")
        eq(got["count"], 1)
        st, j = api(d, "POST", "agents/%s/notify" % a.name, cookie,
                    {"text": "from the console"})
        eq((st, j), (200, {"ok": True, "queued": True}), "notify")
        ev.until("its delivery", lambda n, data: n == "event" and
                 data["type"] == "delivery")
        until("typed", lambda: "from the console" in a.prompts() or
              any("from the console" in p for p in a.prompts()))
        st, j = api(d, "POST", "agents/%s/down" % a.name, cookie, {})
        eq(st, 200, "down: %r" % (j,))
        ev.until("stopped", lambda n, data: n == "state" and agent_row(
            data, a.name)["state"] in ("stopped", "missing"))
        st, j = api(d, "POST", "agents/%s/restart" % a.name, cookie, {})
        eq(st, 200, "restart: %r" % (j,))
        ev.until("running again", lambda n, data: n == "state" and
                 agent_row(data, a.name)["state"] == "running")
        ev.close()
        clean(d)
    finally:
        a.close()


def test_up_abandoned_by_its_browser():
    """A browser that leaves while its up is under way holds nothing."""
    from test_mail import Mail
    a = Mail()
    try:
        d = a.d
        cookie = login(d)
        # Each round leaves downs and ups under way, their answers to
        # Docker's requests still coming: none is taken for a later one's.
        # With no container, a restart's down is done at once and its up
        # begins while the one it interrupted still waits for Docker.
        from test_agent import docker
        for rnd in range(6):
            if rnd % 2 == 1:
                docker("rm", "-f", a.container)
                wait_state(d, "agent:" + a.name, "missing")
            for _ in range(3):
                c = http.client.HTTPConnection("127.0.0.1", d.http_port,
                                               timeout=5)
                c.request("POST", "/console/api/agents/%s/restart" % a.name,
                          body=b"{}", headers=with_key({
                              "Host": "127.0.0.1:%d" % d.http_port,
                              "Cookie": cookie, "Origin": origin(d),
                              "Content-Type": "application/json"}))
                c.close()
            for _ in range(50):
                st, j = api(d, "POST", "agents/%s/up" % a.name, cookie, {})
                if st != 409 or "is stopping" not in j.get("error", ""):
                    break
                time.sleep(0.1)
            eq(st, 200, "an up after: %r" % (j,))
        assert d.alive()
        # And qmsd stopping while a restart is under way lets it go (the
        # loop has ended: the connection closes without an answer).
        c = http.client.HTTPConnection("127.0.0.1", d.http_port, timeout=30)
        c.request("POST", "/console/api/agents/%s/restart" % a.name,
                  body=b"{}", headers=with_key({
                      "Host": "127.0.0.1:%d" % d.http_port,
                      "Cookie": cookie, "Origin": origin(d),
                      "Content-Type": "application/json"}))
        time.sleep(0.3)
        clean(d)
        try:
            st = c.getresponse().status
        except (http.client.RemoteDisconnected, ConnectionError):
            st = None
        assert st in (200, 409, 503, None), st
        c.close()
    finally:
        a.close()


def test_stops_with_streams_open():
    """qmsd stopping ends each stream (test_up_abandoned_by_its_browser
    stops it with a restart under way)."""
    d = Daemon(config=CONF)
    try:
        cookie = login(d)
        streams = [Events(d, cookie) for _ in range(3)]
        for s in streams:
            eq(s.next(10)[0], "state")
        clean(d)
        for s in streams:
            try:
                while s.next(10):
                    pass
            except (AssertionError, http.client.IncompleteRead,
                    ConnectionError):
                pass    # the end, clean or not, but an end
    finally:
        d.close()


def test_git_audit_records_come_live():
    """The git tool's audit records, allowed and denied, by caller, reach
    the stream as they are made."""
    from test_git import Env
    e = Env()
    try:
        cookie = login(e.d)
        ev = Events(e.d, cookie)
        name, state = ev.next(10)
        eq(name, "state")
        eq(state["servers"]["audit"], [], "no call yet")
        e.git_exec("status")
        got = ev.until("the allowed call", lambda n, data: n == "audit")
        contains(got["text"], "host: allowed: git status -> exit 0")
        e.git_exec("push --force")
        got = ev.until("the denied call", lambda n, data: n == "audit")
        contains(got["text"], "host: denied by no-force-push: git push "
                 "--force")
        ev.close()
        st, s = api(e.d, "GET", "state", cookie)
        eq(len(s["servers"]["audit"]), 2, "and in the state's tail")
    finally:
        e.close()


def test_a_slow_reader_is_skipped_then_resynced():
    """A browser that does not read its stream costs qmsd bounded memory:
    past 256 KiB unread its events are skipped, and once it has read it
    is told to resync; a reader beside it goes on getting every event."""
    from test_git import Env
    e = Env()
    try:
        d = e.d
        cookie = login(d)
        slow = socket.socket()
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.connect(("127.0.0.1", d.http_port))
        slow.sendall(("GET /console/api/events?k=%s HTTP/1.1\r\nHost: "
                      "127.0.0.1:%d\r\nCookie: %s\r\n\r\n"
                      % (cookie.key, d.http_port, cookie)).encode())
        fast = Events(d, cookie)
        eq(fast.next(10)[0], "state")
        seen = []

        def read_fast():
            try:
                while True:
                    seen.append(fast.next(60))
            except Exception:
                pass
        reader = threading.Thread(target=read_fast, daemon=True)
        reader.start()
        # Long records fill the kernel's buffers (4 MiB) sooner.
        push = "push --force origin " + "b" * 450
        calls = 0
        while "reads too slowly" not in d.log():
            assert calls < 20000, "never skipped: " + d.log()[-2000:]
            for _ in range(200):
                e.git_exec(push)
                calls += 1
        rss = int(open("/proc/%d/statm" % d.pid).read().split()[1]) * 4096
        for _ in range(400):
            e.git_exec(push)
        rss2 = int(open("/proc/%d/statm" % d.pid).read().split()[1]) * 4096
        assert rss2 - rss < 4 << 20, "skipped, not queued: %d" % (rss2 - rss)
        # It reads now: a resync comes, by the next heartbeat (15 s).
        slow.settimeout(40)
        buf = b""
        deadline = time.monotonic() + 40
        while b"event: resync" not in buf:
            assert time.monotonic() < deadline, "no resync"
            chunk = slow.recv(1 << 20)
            assert chunk, "the stream ended"
            buf = buf[-64:] + chunk
        slow.close()
        # The reader beside it missed nothing.
        deadline = time.monotonic() + 20
        while sum(1 for n, _ in seen if n == "audit") < calls + 400:
            assert time.monotonic() < deadline, "the fast reader got %d " \
                "audit records of %d" % (sum(1 for n, _ in seen
                                             if n == "audit"), calls + 400)
            time.sleep(0.2)
        eq([n for n, _ in seen if n == "resync"], [], "and no resync")
        fast.close()
        assert d.alive()
        clean(d)
    finally:
        e.close()


# ---- sessions across restarts of qmsd (STATE/console-sessions) ----

def on_state(state_dir):
    """A new qmsd on a state directory (another's, or made by the test)."""
    return Daemon(config="[qmsd]\nstate-dir = %s\n" % state_dir)


def sessions_file(state_dir):
    return os.path.join(state_dir, "console-sessions")


def session_id(cookie):
    return cookie.split("=", 1)[1]


def write_sessions(state_dir, records, mode=0o600):
    """records: (id, made, used), times in ms of the wall clock."""
    path = sessions_file(state_dir)
    with open(path, "w") as f:
        f.write("qmsd-console-sessions 1\n")
        for sid, made, used in records:
            f.write("%s %d %d\n" % (hashlib.sha256(sid.encode()).hexdigest(),
                                     made, used))
    os.chmod(path, mode)


def test_a_session_outlives_a_restart():
    d = Daemon()
    e = f = None
    try:
        cookie = login(d)
        eq(api(d, "GET", "state", cookie)[0], 200, "before")
        clean(d)
        state = os.path.join(d.dir, "state")
        st = os.stat(sessions_file(state))
        eq(oct(st.st_mode & 0o7777), oct(0o600), "the file's mode")
        eq(st.st_uid, os.geteuid(), "the file's owner")
        text = open(sessions_file(state)).read()
        sid = session_id(cookie)
        assert sid not in text, "the id itself is not kept: %r" % text
        contains(text, hashlib.sha256(sid.encode()).hexdigest(),
                 "its hash is")
        # A new qmsd on the same state directory.
        e = on_state(state)
        contains(e.log(), "console: 1 session kept from", "said")
        eq(api(e, "GET", "state", cookie)[0], 200, "after a restart")
        ev = Events(e, cookie)
        eq(ev.r.status, 200, "the stream after a restart")
        eq(ev.next(10)[0], "state", "the stream's first event")
        ev.close()
        # Logged out: and so after the next restart too.
        st, _, _ = req(e, "POST", "/console/logout",
                       {"Cookie": cookie, "Origin": origin(e)})
        eq(st, 200, "logout")
        assert hashlib.sha256(sid.encode()).hexdigest() not in \
            open(sessions_file(state)).read(), "gone from the file at once"
        clean(e)
        f = on_state(state)
        eq(api(f, "GET", "state", cookie), (401, NOT_LOGGED_IN),
           "logged out, restarted")
        clean(f)
    finally:
        for x in (f, e, d):
            if x is not None:
                x.close()


def test_expired_sessions_stay_expired_across_a_restart():
    """The 12 h idle limit and the 24 h cap count the time qmsd was
    away: the file's times are the wall clock's."""
    d = Daemon()
    e = None
    try:
        idle, old, fresh = login(d), login(d), login(d)
        clean(d)
        state = os.path.join(d.dir, "state")
        now = int(time.time() * 1000)
        hour = 3600 * 1000
        write_sessions(state, [
            (session_id(idle), now - 13 * hour, now - 12 * hour - 60000),
            (session_id(old), now - 24 * hour - 60000, now - 60000),
            (session_id(fresh), now - 23 * hour, now - 11 * hour)])
        e = on_state(state)
        eq(api(e, "GET", "state", idle), (401, NOT_LOGGED_IN),
           "idle for over 12 h")
        eq(api(e, "GET", "state", old), (401, NOT_LOGGED_IN),
           "made over 24 h ago")
        eq(api(e, "GET", "state", fresh)[0], 200, "within both")
        clean(e)
        text = open(sessions_file(state)).read()
        eq(len(text.splitlines()), 2, "only the live one is kept: %r" % text)
    finally:
        for x in (e, d):
            if x is not None:
                x.close()


def page_key(state, cookie):
    """A made-up session's cookie with its page's key, which qmsd derives
    from the session's id and its host token (qmsd(8), WEB CONSOLE)."""
    with open(os.path.join(state, "host.token"), "rb") as f:
        token = f.read().strip()
    sid = cookie.split("=", 1)[1]
    return Session(cookie, hmac.new(token, b"qmsd console page key\n" +
                                    sid.encode(), hashlib.sha256).hexdigest())


def test_a_bad_sessions_file_is_ignored():
    """Garbage, too long, readable by others, another's, not a file: each
    is refused with a log line; qmsd starts, and only those sessions are
    lost."""
    sid = "ab" * 32
    cookie = "qmsd_console=" + sid
    now = int(time.time() * 1000)
    good = "qmsd-console-sessions 1\n%s %d %d\n" % (
        hashlib.sha256(sid.encode()).hexdigest(), now, now)
    def put(text, mode=0o600, uid=None):
        def make(p):
            with open(os.open(p, os.O_WRONLY | os.O_CREAT, mode), "w") as f:
                f.write(text)
            os.chmod(p, mode)
            if uid is not None:
                os.chown(p, uid, -1)
        return make

    def link(p):
        put(good)(p + ".real")
        os.symlink(p + ".real", p)
    cases = [
        ("garbage", put("not sessions\n"), "line 1: not"),
        ("a bad line", put(good + "x 1 2\n"), "line 3: not a hash"),
        ("too long", put(good + " " * 5000), "longer than 4096 bytes"),
        ("readable by others", put(good, 0o644), "with mode 0644"),
        ("another's", put(good, 0o600, 65534), "owned by uid 65534"),
        ("a link", link, "console-sessions: "),
        ("a directory", os.mkdir, "not a regular file"),
    ]
    # The very file, as qmsd wants it, is taken: so each refusal below is
    # of what was done to it.
    state = tempfile.mkdtemp(prefix="qmsd-state.")
    d = None
    try:
        put(good)(sessions_file(state))
        d = on_state(state)
        cookie = page_key(state, cookie)
        eq(api(d, "GET", "state", cookie)[0], 200, "the good file")
        clean(d)
    finally:
        if d is not None:
            d.close()
        shutil.rmtree(state, ignore_errors=True)
    for what, make, why in cases:
        d = None
        state = tempfile.mkdtemp(prefix="qmsd-state.")
        try:
            make(sessions_file(state))
            d = on_state(state)
            log = d.log()
            contains(log, "console-sessions: ", what)
            contains(log, why, what)
            contains(log, "ignored: its sessions are logged out", what)
            eq(api(d, "GET", "state", cookie), (401, NOT_LOGGED_IN), what)
            # A login puts a good file in its place (a directory stays).
            login(d)
            if what != "a directory":
                st = os.lstat(sessions_file(state))
                eq(oct(st.st_mode), oct(0o100600), what + ": replaced")
            assert d.alive(), what
            clean(d)
        finally:
            if d is not None:
                d.close()
            shutil.rmtree(state, ignore_errors=True)


def test_logout_all_ends_every_session_for_good():
    d = Daemon()
    e = None
    try:
        a, b = login(d), login(d)
        ev = Events(d, a)
        eq(ev.next(10)[0], "state")
        rc, out, err = d.ctl("console", "--logout-all")
        eq((rc, out), (0, "2 console sessions logged out\n"), err)
        try:
            while True:
                ev.next(10)
        except AssertionError as x:
            contains(str(x), "the stream ended", "its stream ends at once")
        for c in (a, b):
            eq(api(d, "GET", "state", c), (401, NOT_LOGGED_IN), "after")
        contains(d.log(), "every session ended (2, by qmsctl console "
                 "--logout-all)", "said")
        eq(d.ctl("console", "--logout-all")[1],
           "0 console sessions logged out\n", "again")
        eq(d.rpc("console", {"logout_all": 1})["error"]["code"], -32602,
           "logout_all is a boolean")
        eq(d.ctl("console", "--logout-al")[0], 64, "a usage error")
        clean(d)
        e = on_state(os.path.join(d.dir, "state"))
        for c in (a, b):
            eq(api(e, "GET", "state", c), (401, NOT_LOGGED_IN),
               "and after a restart")
        clean(e)
    finally:
        for x in (e, d):
            if x is not None:
                x.close()


if __name__ == "__main__":
    main(globals())
