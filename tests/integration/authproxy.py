"""An HTTP forwarder that adds a bearer token, for MCP clients that cannot
send headers of their own (the conformance suite).  Everything else passes
through as sent, Host and Origin included, so qmsd judges the client's own
headers.  One upstream connection per client connection; loopback only."""
import socket
import threading


def _read_head(sock, buf):
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            return None, buf
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    return head, rest


def _pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    for s in (dst, src):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _serve(client, upstream_port, token):
    up = socket.create_connection(("127.0.0.1", upstream_port))
    threading.Thread(target=_pump, args=(up, client), daemon=True).start()
    buf = b""
    try:
        while True:
            head, buf = _read_head(client, buf)
            if head is None:
                break
            lines = [l for l in head.split(b"\r\n")
                     if not l.lower().startswith(b"authorization:")]
            length = 0
            for l in lines[1:]:
                if l.lower().startswith(b"content-length:"):
                    length = int(l.split(b":", 1)[1])
            lines.insert(1, b"Authorization: Bearer " + token.encode())
            while len(buf) < length:
                chunk = client.recv(65536)
                if not chunk:
                    break
                buf += chunk
            body, buf = buf[:length], buf[length:]
            up.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + body)
    except OSError:
        pass
    try:
        up.shutdown(socket.SHUT_WR)
    except OSError:
        pass


class AuthProxy:
    def __init__(self, upstream_port, token):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.upstream_port = upstream_port
        self.token = token
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=_serve, args=(c, self.upstream_port,
                                                  self.token),
                             daemon=True).start()

    def close(self):
        self.sock.close()
