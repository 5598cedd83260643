#!/usr/bin/env python3
"""A hostile local user's Docker Engine impostor on a Unix socket: answers
just enough of the API for qmsd to create a container, and appends each
request (method, path, body) to a log.  Usage: fake_engine.py SOCKET LOG"""
import http.server
import json
import os
import socketserver
import sys

SOCK, LOG = sys.argv[1], sys.argv[2]


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, code, obj=None, extra=()):
        body = json.dumps(obj).encode() if obj is not None else b""
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Api-Version", "1.41")
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle_one(self, method):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode("utf-8", "replace") if n else ""
        with open(LOG, "a") as f:
            f.write(json.dumps([method, self.path, body]) + "\n")
        p = self.path.split("?")[0]
        if p.endswith("/_ping"):
            return self.reply(200, "OK")
        if p.endswith("/version"):
            return self.reply(200, {"Version": "24.0.0", "ApiVersion": "1.41"})
        if "/events" in p:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.flush()
            self.rfile.read(1)      # held open until qmsd goes
            return
        if p.endswith("/volumes/create"):
            return self.reply(201, {"Name": "v", "Labels": {}})
        if p.endswith("/containers/json"):
            return self.reply(200, [])
        if p.endswith("/containers/create"):
            return self.reply(201, {"Id": "f" * 64, "Warnings": []})
        if "/containers/" in p and p.endswith("/json"):
            return self.reply(404, {"message": "No such container"})
        if p.endswith("/start"):
            return self.reply(204)
        return self.reply(404, {"message": "no"})

    def do_GET(self):
        self.handle_one("GET")

    def do_POST(self):
        self.handle_one("POST")

    def do_DELETE(self):
        self.handle_one("DELETE")


class S(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


if os.path.exists(SOCK):
    os.unlink(SOCK)
S(SOCK, H).serve_forever()
