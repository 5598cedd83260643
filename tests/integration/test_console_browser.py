#!/usr/bin/env python3
"""The web console in a real browser (issue 17): Debian's chromium,
headless, driven by tests/browser/console.mjs (puppeteer-core, pinned in
tests/node), against a real qmsd with a real agent container running the
fake Claude (tests/fixtures/fake-claude.py).

One qmsd, one container, one browser for the whole scenario: log in through
`qmsctl console`; the agents and servers; a terminal (echo, stty size after
a resize); an inbox item and its notification without a reload; qmsd stopped
and started again under the open page, which says it is disconnected and
comes back by itself, terminal included; another
loopback origin's POST, event stream and WebSocket refused; no cookie, a
used link, a POST without the cookie refused; down; logout.  What only the
host sees, the script asks this wrapper for, one JSON line each way.
Screenshots of the main views go to the build's meson-logs/console-browser/.
"""
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmsdtest import contains, eq, main
from test_mail import Mail, activity, until

HERE = os.path.dirname(os.path.abspath(__file__))
BROWSER = os.path.join(HERE, "..", "browser")
SCRIPT = os.path.join(BROWSER, "console.mjs")
CHROMIUM = "/usr/bin/chromium"


def shots_dir():
    """Where the screenshots go, emptied of an earlier run's."""
    root = os.environ.get("QMSD_BUILD_ROOT")
    if not root:
        return tempfile.mkdtemp(prefix="qmsd-console-shots.")
    d = os.path.join(root, "meson-logs", "console-browser")
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        if f.endswith(".png"):
            os.unlink(os.path.join(d, f))
    return d


class Foreign:
    """tests/browser/ served on another loopback port: the origin of
    foreign.html."""

    def __init__(self):
        class Quiet(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *a, **kw):
                super().__init__(*a, directory=BROWSER, **kw)

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                      Quiet)
        self.url = "http://127.0.0.1:%d/foreign.html" % \
            self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever,
                         daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def tmux_out(a, *args):
    rc, out, err = a.tmux(*args)
    eq(rc, 0, "tmux %s: %s" % (args, err))
    return out.strip()


def answer(a, msg):
    """What the browser script asked the host for."""
    what = msg["ask"]
    if what == "tmux-status":
        v = tmux_out(a, "show-options", "-gv", "status")
        return {"lines": 0 if v == "off" else 1 if v == "on" else int(v)}
    if what == "pane-size":
        v = tmux_out(a, "display", "-p", "-t", "agent",
                     "#{pane_height} #{pane_width}")
        return {"size": [int(x) for x in v.split()]}
    if what == "drop":
        a.drop(msg["item"])
        return {}
    if what == "stop-qmsd":
        a.stop()
        return {}
    if what == "start-qmsd":
        a.start_again()
        return {}
    if what == "ps":
        return {"row": a.ps()}
    if what == "qmsd-side":
        # What a foreign page let through would change: the agent's
        # state, the terminals attached to its tmux (qmsd's own control
        # client aside), a text typed into Claude.
        clients = tmux_out(a, "list-clients", "-F",
                           "#{client_control_mode}").split()
        return {"state": a.ps()["state"],
                "terminals": clients.count("0"),
                "typed": [p for p in a.prompts() if "pwned" in p]}
    raise AssertionError("the browser script asked for %r" % what)


def run_browser(a, cfg, timeout=100):
    p = subprocess.Popen(["node", SCRIPT, json.dumps(cfg)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         text=True, bufsize=1)
    timer = threading.Timer(timeout, p.kill)
    timer.start()
    done = False
    try:
        for line in p.stdout:
            msg = json.loads(line)
            if msg.get("done"):
                done = True
                continue
            try:
                reply = answer(a, msg)
            except Exception as e:
                reply = {"error": "%s: %s" % (type(e).__name__, e)}
            p.stdin.write(json.dumps(reply) + "\n")
            p.stdin.flush()
        rc = p.wait()
    finally:
        timer.cancel()
        if p.poll() is None:
            p.kill()
            p.wait()
    eq(rc, 0, "the browser scenario (its log is above)")
    assert done, "the browser script ended without saying done"


def test_console_in_chromium():
    assert os.access(CHROMIUM, os.X_OK), "no %s: tests/deps.sh test" % \
        CHROMIUM
    a = Mail()
    foreign = None
    try:
        rc, out, err = a.up()
        eq(rc, 0, "up: " + out + err)
        a.start_session()
        until("idle", lambda: activity(a) == "idle")
        foreign = Foreign()
        rc, out, err = a.d.ctl("console")
        eq(rc, 0, "qmsctl console: " + err)
        shots = shots_dir()
        run_browser(a, {"login": out.strip(), "agent": a.name,
                        "foreign": foreign.url, "shots": shots})
        for name in ("console-agents", "console-terminal",
                     "console-disconnected", "console-401"):
            assert os.path.getsize(os.path.join(shots, name + ".png")) > 0
        # The qmsd the page logged in to, and the one it came back to.
        eq(len(a.olds), 1, "qmsd restarted once")
        first, log = a.olds[0].log(), a.d.log()
        contains(first, "console: a session began", "qmsd's side of login")
        contains(log, "console: 1 session kept from", "the session kept")
        for l in (first, log):
            assert out.strip().split("=")[-1] not in l, "the secret logged"
    finally:
        if foreign is not None:
            foreign.close()
        a.close()


if __name__ == "__main__":
    main(globals())
