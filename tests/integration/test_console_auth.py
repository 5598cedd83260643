#!/usr/bin/env python3
"""Who may see the web console: a one-time link from `qmsctl console`
(admin only), a session cookie, Host and Origin checks, logout; served on
the loopback listener and nowhere else.  Expiry is unit-tested
(tests/unit/test-console-auth.c), with the time passed in."""
import http.client
import os
import re
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmsdtest import QMSCTL, Daemon, contains, eq, free_port, main, wait_state

LINK = re.compile(r"^http://127\.0\.0\.1:(\d+)/console/login\?t=([0-9a-f]{64})$")


def link(d):
    rc, out, err = d.ctl("console")
    eq(rc, 0, "qmsctl console: " + err)
    m = LINK.match(out.strip())
    assert m, "not a login link: %r" % out
    eq(int(m.group(1)), d.http_port, "the loopback listener's port")
    return "/console/login?t=" + m.group(2)


class Session(str):
    """A login's cookie header value, with the page's key (.key): the key
    the login's redirect gives the page in its fragment, which the page
    sends with every API request (X-Qmsd-Key, or ?k=)."""

    def __new__(cls, cookie, key):
        s = str.__new__(cls, cookie)
        s.key = key
        return s


def with_key(headers):
    """headers, plus X-Qmsd-Key when its Cookie is a Session's and the
    caller did not name one (None: sent without)."""
    h = dict(headers or {})
    if isinstance(h.get("Cookie"), Session) and "X-Qmsd-Key" not in h:
        h["X-Qmsd-Key"] = h["Cookie"].key
    return {k: v for k, v in h.items() if v is not None}


def req(d, method, path, headers=None, host=None, body=None):
    """One request; (status, headers as a dict of lists, body)."""
    c = http.client.HTTPConnection("127.0.0.1", d.http_port, timeout=15)
    c.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    c.putheader("Host", host or "127.0.0.1:%d" % d.http_port)
    for k, v in with_key(headers).items():
        c.putheader(k, v)
    if body is not None:
        c.putheader("Content-Length", str(len(body)))
    c.endheaders(body)
    r = c.getresponse()
    h = {}
    for k, v in r.getheaders():
        h.setdefault(k.lower(), []).append(v)
    data = r.read().decode()
    c.close()
    return r.status, h, data


def login(d):
    """A session: its cookie header value, with the page's key."""
    st, h, _ = req(d, "GET", link(d))
    eq(st, 303, "the login link")
    m = re.match(r"qmsd_console=([0-9a-f]{64});", h["set-cookie"][0])
    assert m, h["set-cookie"]
    k = re.match(r"^/console/#k=([0-9a-f]{64})$", h["location"][0])
    assert k, h["location"]
    return Session("qmsd_console=" + m.group(1), k.group(1))


def origin(d):
    return "http://127.0.0.1:%d" % d.http_port


def test_login_sets_a_strict_cookie_and_drops_the_secret():
    d = Daemon()
    try:
        path = link(d)
        st, h, _ = req(d, "GET", path)
        eq(st, 303, "the link")
        loc = h["location"][0]
        assert re.match(r"^/console/#k=[0-9a-f]{64}$", loc), (
            "to the console, no secret, the page's key in a fragment: %r"
            % loc)
        cookie = h["set-cookie"][0]
        attrs = [a.strip() for a in cookie.split(";")]
        for a in ("HttpOnly", "SameSite=Strict", "Path=/console"):
            assert a in attrs, "%s not in %r" % (a, cookie)
        secret = path.split("=", 1)[1]
        assert secret not in cookie, "the cookie is not the link's secret"
        assert secret not in loc, "the key is not the link's secret"
        assert loc[-64:] not in cookie, "the key is not the cookie"
        eq(h["referrer-policy"], ["same-origin"], "no Referer leaks to others")
        sid = attrs[0]
        st, h, body = req(d, "GET", "/console/", {"Cookie": sid})
        eq(st, 200, "the console with the cookie")
        contains(body, '<table id="agents">', "the console's page")
        eq(h["x-frame-options"], ["DENY"], "never in a frame")
        # No other page than /console/ (the rest is static/ and api/).
        eq(req(d, "GET", "/console/agents", {"Cookie": sid})[0], 404,
           "no such page")
        assert secret not in d.log(), "the secret is not logged"
    finally:
        d.close()


def test_a_used_link_is_refused():
    d = Daemon()
    try:
        path = link(d)
        eq(req(d, "GET", path)[0], 303, "first use")
        st, h, body = req(d, "GET", path)
        eq(st, 403, "second use")
        contains(body, "qmsctl console", "says what to do")
        assert "set-cookie" not in h, "no session for a used link"
        # A made-up link and a link without its secret are refused alike.
        eq(req(d, "GET", "/console/login?t=" + "0" * 64)[0], 403, "unknown")
        eq(req(d, "GET", "/console/login")[0], 403, "no secret")
        # Links are independent: a second one works once too.
        eq(req(d, "GET", link(d))[0], 303, "a fresh link")
    finally:
        d.close()


def test_pending_links_are_bounded():
    """At most 8 links wait: a ninth makes the oldest give way."""
    d = Daemon()
    try:
        paths = [link(d) for _ in range(9)]
        eq(req(d, "GET", paths[0])[0], 403, "the oldest gave way")
        for p in paths[1:]:
            eq(req(d, "GET", p)[0], 303, "the newer ones work")
    finally:
        d.close()


def test_no_session_is_401_with_what_to_do():
    d = Daemon()
    try:
        for hdrs in ({}, {"Cookie": "qmsd_console=" + "a" * 64},
                     {"Cookie": "qmsd_console=short"},
                     {"Cookie": "other=1"}):
            st, h, body = req(d, "GET", "/console/", hdrs)
            eq(st, 401, "no valid cookie: %r" % hdrs)
            contains(body, "qmsctl console", "says what to do")
        # The console needs no bearer token, and one does not open it.
        tok = open(os.path.join(d.dir, "state", "host.token")).read().strip()
        eq(req(d, "GET", "/console/",
               {"Authorization": "Bearer " + tok})[0], 401,
           "the host token is no console session")
    finally:
        d.close()


def test_foreign_origin_and_wrong_host_are_refused():
    d = Daemon()
    try:
        sid = login(d)
        for o in ("http://evil.example", "null",
                  "http://localhost:%d" % d.http_port,
                  "https://127.0.0.1:%d" % d.http_port):
            st, _, body = req(d, "GET", "/console/",
                              {"Cookie": sid, "Origin": o})
            eq(st, 403, "Origin %s" % o)
        eq(req(d, "GET", "/console/", {"Cookie": sid, "Origin": origin(d)})
           [0], 200, "the listener's own origin")
        for host in ("localhost:%d" % d.http_port, "evil.example",
                     "127.0.0.1", "127.0.0.1:%d" % (d.http_port + 1)):
            st, _, body = req(d, "GET", "/console/", {"Cookie": sid},
                              host=host)
            eq(st, 403, "Host %s" % host)
            contains(body, "Host", "says why")
        # A refused request does not spend a link.
        path = link(d)
        eq(req(d, "GET", path, {"Origin": "http://evil.example"})[0], 403,
           "a login from another origin")
        eq(req(d, "GET", path, host="localhost:%d" % d.http_port)[0], 403,
           "a login under another name")
        eq(req(d, "GET", path)[0], 303, "the link still works")
    finally:
        d.close()


def test_logout_takes_post_the_cookie_and_the_same_origin():
    d = Daemon()
    try:
        sid = login(d)
        st, _, body = req(d, "POST", "/console/logout", body=b"")
        eq(st, 401, "POST logout without the cookie")
        contains(body, "qmsctl console", "says what to do")
        eq(req(d, "GET", "/console/logout", {"Cookie": sid})[0], 405,
           "GET logout")
        eq(req(d, "POST", "/console/", {"Cookie": sid}, body=b"")[0], 405,
           "POST elsewhere")
        eq(req(d, "POST", "/console/logout", {"Cookie": sid}, body=b"")[0],
           403, "neither Origin nor Referer")
        eq(req(d, "POST", "/console/logout",
               {"Cookie": sid, "Referer": "http://evil.example/console/"},
               body=b"")[0], 403, "a foreign Referer")
        eq(req(d, "POST", "/console/logout",
               {"Cookie": sid, "Origin": "http://evil.example"},
               body=b"")[0], 403, "a foreign Origin")
        eq(req(d, "GET", "/console/", {"Cookie": sid})[0], 200,
           "the refused logouts ended nothing")
        st, h, _ = req(d, "POST", "/console/logout",
                       {"Cookie": sid, "Origin": origin(d)}, body=b"")
        eq(st, 200, "logout")
        contains(h["set-cookie"][0], "Max-Age=0", "the cookie is dropped")
        eq(req(d, "GET", "/console/", {"Cookie": sid})[0], 401,
           "the session is over")
        # A Referer from the console's own page does as well.
        sid = login(d)
        eq(req(d, "POST", "/console/logout",
               {"Cookie": sid, "Referer": origin(d) + "/console/"},
               body=b"")[0], 200, "logout with a same-origin Referer")
        eq(req(d, "GET", "/console/", {"Cookie": sid})[0], 401,
           "that session is over too")
    finally:
        d.close()


def test_not_for_others_than_admins():
    """A local user who can reach the control socket but is not an admin
    gets no link."""
    d = Daemon(config="[qmsd]\nadmin-group = users\n")
    try:
        os.chmod(d.socket, 0o666)
        def nobody():
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
        p = subprocess.run([QMSCTL, "-S", d.socket, "console"],
                           capture_output=True, text=True, timeout=30,
                           preexec_fn=nobody)
        assert p.returncode != 0, "nobody got a link: %r" % p.stdout
        assert "/console/login" not in p.stdout, p.stdout
        contains(p.stderr, "permission denied", "says why")
        # The link an admin gets still works: nothing was spent.
        eq(req(d, "GET", link(d))[0], 303, "root's link")
    finally:
        d.close()


def test_not_on_an_agents_socket():
    """An agent's socket serves its MCP servers, never the console, whatever
    Host it sends and even with a valid session cookie."""
    from test_sealed import Sealed
    s = Sealed()
    try:
        name = s.names[0]
        s.up(name)
        d = s.d
        sid = login(d)
        eq(req(d, "GET", "/console/", {"Cookie": sid})[0], 200,
           "on the loopback listener")
        for path in ("/console/", "/console/login?t=" + "0" * 64,
                     "/console/logout"):
            c = socket.socket(socket.AF_UNIX)
            c.connect(s.sock(name))
            c.settimeout(15)
            c.sendall(b"GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                      b"Cookie: %s\r\n\r\n" % (path.encode(), d.http_port,
                                               sid.encode()))
            got = b""
            while b"\r\n\r\n" not in got:
                r = c.recv(4096)
                if not r:
                    break
                got += r
            c.close()
            contains(got.decode(), "HTTP/1.1 404 ", "%s on %s's socket" %
                     (path, name))
    finally:
        s.close()


def test_not_on_the_docker_bridge():
    """A docker-bridge listener serves agents, never the console, even when
    its network's gateway is a loopback address (as here, so that nothing
    leaves the machine)."""
    import secrets
    from test_agent import docker, need_docker
    need_docker()
    name = "qmsd-cons-" + secrets.token_hex(3)
    a = secrets.randbelow(200) + 20
    docker("network", "create", "--subnet", "127.%d.0.0/24" % a,
           "--gateway", "127.%d.0.1" % a, name)
    lport, bport = free_port(), free_port()
    d = None
    try:
        d = Daemon(config="[http]\nlisten = 127.0.0.1:%d docker-bridge:%d\n"
                   "docker-network = %s\n[agent \"bridged\"]\nimage = "
                   "qms-agent-test:latest\nnetwork = bridge\n" %
                   (lport, bport, name))
        d.http_port = lport
        wait_state(d, "http", "ready", cond=lambda r:
                   "docker-bridge:%d" % bport in r["detail"] and
                   "waits" not in r["detail"])
        rc, out, err = d.ctl("console")
        eq(rc, 0, err)
        contains(out, "http://127.0.0.1:%d/" % d.http_port,
                 "the link is the loopback listener's, not the bridge's")
        sid = login(d)
        ip = "127.%d.0.1" % a
        for host in ("%s:%d" % (ip, bport), "127.0.0.1:%d" % d.http_port):
            c = http.client.HTTPConnection(ip, bport, timeout=15)
            c.request("GET", "/console/", headers={"Host": host,
                                                   "Cookie": sid})
            eq(c.getresponse().status, 404, "on the bridge, Host %s" % host)
            c.close()
        eq(req(d, "GET", "/console/", {"Cookie": sid})[0], 200,
           "on the loopback listener")
    finally:
        if d is not None:
            d.close()
        docker("network", "rm", name, check=False)


if __name__ == "__main__":
    main(globals())
