#!/usr/bin/env python3
"""The web console attacked (issue 17): each test is one attack, performed
for real, that passes when the console holds.

- A hostile local user (no admin rights) serves a page on another port of
  127.0.0.1 and gets the person's browser to open it: cookies are not
  port-scoped, so the page's same-origin fetch of /console/... on its own
  server carries the console's session cookie, which the server keeps and
  replays with curl-like requests of its own (Host and Origin are easy to
  forge outside a browser).
- The same page tosses a cookie of its own: qmsd_console=0...0 with
  Path=/console/api, which the browser sends before the real one to the
  console too (cookies are not port-scoped either way); the console's own
  page is then logged out.
- A hostile local user without a session fills the loopback listener's
  connections with POSTs to /console/ whose heads are whole and whose
  bodies never come: the session is checked only once the body is in,
  and a connection past its head is no longer the first to be dropped.
"""
import http.server
import socket
import time
import json
import os
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmsdtest import Daemon, eq, main
from test_console_auth import link, origin, req

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "browser", "hostile.mjs")

PAGE = b"""<!doctype html><meta charset="utf-8"><title>hostile</title>
<script>
(async () => {
	for (const p of ['/console/', '/console/api/state', '/console/x'])
		await fetch(p, { credentials: 'include' }).catch(() => {});
	window.done = true;
})();
</script>
"""

TOSS = b"""<!doctype html><meta charset="utf-8"><title>hostile</title>
<script>
document.cookie = 'qmsd_console=' + '0'.repeat(64) + '; path=/console/api';
window.done = true;
</script>
"""


class Hostile:
    """A server of the hostile local user's on another loopback port: it
    serves PAGE and keeps every Cookie header it is sent."""

    def __init__(self, page=PAGE):
        cookies = self.cookies = []

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.headers.get("Cookie"):
                    cookies.append(self.headers["Cookie"])
                body = page if self.path == "/" else b"{}"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = "http://127.0.0.1:%d/" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever,
                         daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_another_loopback_port_cannot_take_the_session():
    d = Daemon()
    h = Hostile()
    try:
        cfg = {"login": origin(d) + link(d), "hostile": h.url}
        p = subprocess.run(["node", SCRIPT, json.dumps(cfg)],
                           capture_output=True, text=True, timeout=90)
        eq(p.returncode, 0, "the browser scenario: " + p.stderr)
        stolen = [c for c in h.cookies if "qmsd_console=" in c]
        # What the thief can do with what it was sent.
        for c in stolen:
            st = req(d, "GET", "/console/api/state", {"Cookie": c})[0]
            st2 = req(d, "POST", "/console/api/agents/nobody/down",
                      {"Cookie": c, "Origin": origin(d),
                       "Content-Type": "application/json"}, body=b"{}")[0]
            assert st == 401 and st2 == 401, \
                "another loopback port's server was sent the console's " \
                "cookie (%r) and used it: state %d, action %d" % \
                (c, st, st2)
    finally:
        h.close()
        d.close()


def test_another_loopback_port_cannot_log_the_console_out():
    d = Daemon()
    h = Hostile(TOSS)
    try:
        cfg = {"login": origin(d) + link(d), "hostile": h.url}
        p = subprocess.run(["node", SCRIPT, json.dumps(cfg)],
                           capture_output=True, text=True, timeout=90)
        eq(p.returncode, 0, "the browser scenario: " + p.stderr)
        eq(json.loads(p.stdout.strip().splitlines()[-1])["state"], 200,
           "the console's own API, after another port tossed a cookie")
    finally:
        h.close()
        d.close()


def test_slow_bodies_without_a_session_do_not_shut_the_console():
    d = Daemon(config="[http]\nmax-connections = 16\n")
    held = []
    try:
        for i in range(40):
            head = ("%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                    "Content-Type: application/json\r\n"
                    "Content-Length: 60000\r\n\r\n{" %
                    (("POST /console/logout", "GET /console/api/state",
                      "POST /console/api/agents/a/up")[i % 3],
                     d.http_port)).encode()
            s = socket.create_connection(("127.0.0.1", d.http_port))
            s.sendall(head)
            held.append(s)
            time.sleep(0.02)
        time.sleep(1)
        t = time.monotonic()
        try:
            st = req(d, "GET", "/console/")[0]
        except OSError as e:
            st = repr(e)
        eq(st, 401, "the console, for someone else, %.1f s later" %
           (time.monotonic() - t))
    finally:
        for s in held:
            s.close()
        d.close()


if __name__ == "__main__":
    main(globals())
