"""Attacks on a sealed agent's socket (issue 15) by a hostile agent, a
hostile upstream or a hostile local user, each written so that it fails
while the hole is open.  Built on test_egress.py's helpers: no container
is needed, every upstream is on loopback."""
import os
import socket
import time

from qmsdtest import contains, eq, main
from test_egress import (AGENT, Sealed, Upstream, read_all, read_head,
                         wait_for)


def test_many_bare_headers_rewritten_whole():
    """The head sent upstream for plain HTTP is rebuilt as "Name: value";
    a head of a hundred "a:b" fields (no blank after the colon, each one
    byte longer rewritten) and a short target must still go upstream
    whole and exact, not cut or followed by bytes of qmsd's memory."""
    up = Upstream("http")
    a = Sealed("127.0.0.1:%d" % up.port)
    try:
        fields = b"".join(b"h%02d:v\r\n" % i for i in range(98))
        head, s = a.ask(b"GET http://127.0.0.1:%d HTTP/1.1\r\n"
                        b"Host:127.0.0.1:%d\r\n%s\r\n"
                        % (up.port, up.port, fields))
        contains(head, "HTTP/1.1 200 ", "answered")
        read_all(s)
        s.close()
        wait_for(lambda: len(up.received) == 1, "the upstream request")
        got = up.received[0]
        want = (b"GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s"
                b"Connection: close\r\n\r\n"
                % (up.port, b"".join(b"h%02d: v\r\n" % i
                                     for i in range(98))))
        eq(got, want, "the head went upstream exactly")
        # qmsd is alive and serves the next one
        head, s = a.ask(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\n" % up.port)
        contains(head, "HTTP/1.1 200 ", "still serving")
        s.close()
    finally:
        a.close()
        up.close()


if __name__ == "__main__":
    main(globals())
