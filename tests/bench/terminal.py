#!/usr/bin/env python3
"""The console's terminal (issue 17): keystroke to echo through its
WebSocket, relayed by qmsd, against `docker exec -it` in a pty of its own
into the same container and the same tmux session; and qmsd's memory per
open terminal.

  DOCKER_HOST=... terminal.py [--build DIR] [-n COUNT] [--terminals N]

One agent runs `sh` in tmux (as the integration tests run it).  A
keystroke is one letter typed at the idle shell; its echo is the first
output that holds it (tmux redraws it), timed from the send; a backspace
then takes it away, untimed.  The two ways take turns, keystroke by
keystroke, so that a load on the machine falls on both.  The goal is a
median no more than 1.2 times docker exec's, reported as met or missed,
never asserted.  Memory: qmsd's RSS before and after N terminals are
attached (at most 8 per agent), divided by N.
"""
import argparse
import json
import os
import pty
import select
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, "..", ".."))


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Exec:
    """docker exec -it into the container's tmux, in a pty."""

    def __init__(self, container):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.environ["TERM"] = "xterm-256color"
            os.execvp("docker", ["docker", "exec", "-it", "-e",
                                 "TERM=xterm-256color", container, "tmux",
                                 "attach", "-t", "agent"])
        self.out = b""

    def send(self, data):
        os.write(self.fd, data)

    def read(self, timeout):
        r, _, _ = select.select([self.fd], [], [], timeout)
        if not r:
            return b""
        data = os.read(self.fd, 65536)
        self.out = (self.out + data)[-65536:]
        return data

    def close(self):
        os.kill(self.pid, 15)
        os.waitpid(self.pid, 0)
        os.close(self.fd)


class Console:
    """The console's WebSocket (the integration test's client)."""

    def __init__(self, ws):
        self.w = ws

    def send(self, data):
        self.w.type(data.decode())

    def read(self, timeout):
        before = len(self.w.out)
        r, _, _ = select.select([self.w.s], [], [], timeout) \
            if not self.w.buf else ([1], [], [])
        if not r:
            return b""
        self.w.frame(timeout=timeout)
        data = self.w.out[before:]
        self.w.out = self.w.out[-65536:]
        return data


def settle(t, quiet=0.3):
    """Read until nothing came for quiet seconds."""
    while t.read(quiet):
        pass


def keystroke(t, letter):
    """Seconds from sending letter to the first output holding it."""
    t0 = time.monotonic()
    t.send(letter)
    deadline = t0 + 10
    got = b""
    while time.monotonic() < deadline:
        got += t.read(deadline - time.monotonic())
        if letter in got:
            dt = time.monotonic() - t0
            break
    else:
        raise RuntimeError("no echo of %r" % letter)
    t.send(b"\x7f")
    settle(t, 0.05)
    return dt


def summary(xs):
    xs = sorted(xs)
    return {"median_ms": statistics.median(xs) * 1000,
            "p90_ms": xs[int(len(xs) * 0.9) - 1] * 1000,
            "min_ms": xs[0] * 1000, "n": len(xs)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(TOP, "build", "dev"))
    ap.add_argument("-n", type=int, default=200)
    ap.add_argument("--terminals", type=int, default=8)
    a = ap.parse_args()
    os.environ["QMSD"] = os.path.join(a.build, "daemon", "qmsd")
    os.environ["QMSCTL"] = os.path.join(a.build, "client", "qmsctl")
    sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
    from test_agent import Agent
    from test_console_auth import login
    from test_console_terminal import ATTACHED, WS

    ag = Agent(extra="command = sh\n")
    res = {}
    try:
        cookie = login(ag.d)
        w = WS(ag.d, ag.name, cookie)
        assert w.status == 101, w.status
        w.wait(ATTACHED, timeout=240)
        console = Console(w)
        ex = Exec(ag.container)
        deadline = time.monotonic() + 30
        while b"[agent]" not in ex.out and time.monotonic() < deadline:
            ex.read(1)
        settle(console)
        settle(ex)
        lat = {"console": [], "docker_exec": []}
        letters = b"abcdefghijklmnopqrstuvwxyz"
        for i in range(a.n):
            c = letters[i % 26:i % 26 + 1]
            lat["console"].append(keystroke(console, c))
            settle(ex, 0.02)
            lat["docker_exec"].append(keystroke(ex, c))
            settle(console, 0.02)
        ex.close()
        res["latency"] = {k: summary(v) for k, v in lat.items()}
        ratio = (res["latency"]["console"]["median_ms"] /
                 res["latency"]["docker_exec"]["median_ms"])
        res["latency"]["ratio"] = ratio
        res["latency"]["goal_met"] = ratio <= 1.2

        # Memory per terminal.
        w.close()
        time.sleep(1)
        before = rss_kib(ag.d.pid)
        ws = []
        for i in range(a.terminals):
            x = WS(ag.d, ag.name, cookie)
            assert x.status == 101, x.status
            x.wait(ATTACHED, timeout=60)
            ws.append(x)
        time.sleep(1)
        for x in ws:
            settle(Console(x), 0.2)
        after = rss_kib(ag.d.pid)
        for x in ws:
            x.close()
        res["memory"] = {"terminals": a.terminals, "rss_before_kib": before,
                         "rss_after_kib": after,
                         "per_terminal_kib": (after - before) /
                         a.terminals}
    finally:
        ag.close()
    print(json.dumps(res, indent=1))
    lc, ld = res["latency"]["console"], res["latency"]["docker_exec"]
    print("keystroke to echo: console %.2f ms (p90 %.2f), docker exec -it "
          "%.2f ms (p90 %.2f): %.2fx, goal <= 1.2x %s" % (
              lc["median_ms"], lc["p90_ms"], ld["median_ms"], ld["p90_ms"],
              res["latency"]["ratio"],
              "met" if res["latency"]["goal_met"] else "MISSED"))
    print("memory: %.0f KiB of RSS per open terminal (%d terminals)" % (
        res["memory"]["per_terminal_kib"], a.terminals))


if __name__ == "__main__":
    main()
