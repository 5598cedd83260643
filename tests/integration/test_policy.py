#!/usr/bin/env python3
"""qmsctl policy: an agent's start and stop policies, from the
configuration and as changed at run time, kept across restarts of qmsd."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmsdtest import Daemon, contains, eq, main

CONF = ('[agent "claude"]\nimage = none:latest\n'
        '[agent "docs"]\nimage = none:latest\nstart = on-task\n'
        'stop = idle 2h\n')


def show(d, agent):
    rc, out, err = d.ctl("policy", agent)
    eq(rc, 0, "policy: " + err)
    return out


def ps_policy(d, agent):
    rc, out, err = d.ctl("ps", "--json")
    eq(rc, 0, "ps: " + err)
    for a in json.loads(out)["agents"]:
        if a["agent"] == agent:
            return a["policy"]
    raise AssertionError("no agent %s in ps" % agent)


def test_config_then_run_time_then_reset():
    d = Daemon(config=CONF)
    try:
        eq(show(d, "claude"), "start=manual (config)\nstop=manual (config)\n",
           "the defaults")
        eq(show(d, "docs"), "start=on-task (config)\nstop=idle 2h (config)\n",
           "the configuration's")
        rc, out, err = d.ctl("policy", "docs", "stop=idle 600s")
        eq(rc, 0, "set: " + err)
        eq(out, "start=on-task (config)\nstop=idle 10m (run-time)\n", "set")
        path = os.path.join(d.dir, "state", "agents", "docs", "policy")
        eq(oct(os.stat(path).st_mode & 0o777), "0o600", "its mode")
        with open(path) as f:
            eq(f.read(), "stop=idle 10m\n", "the file")
        eq(ps_policy(d, "docs"), {"start": "on-task", "stop": "idle 10m",
                                  "start_from": "config",
                                  "stop_from": "run-time"}, "ps")
        rc, out, err = d.ctl("ps")
        contains(out, "policy start=on-task stop=idle 10m", "ps text")
        rc, out, err = d.ctl("policy", "docs", "--reset")
        eq(out, "start=on-task (config)\nstop=idle 2h (config)\n", "reset")
        eq(os.path.exists(path), False, "its file removed")
    finally:
        d.close()


def test_kept_across_restart():
    d = Daemon(config=CONF)
    try:
        rc, out, err = d.ctl("policy", "claude", "start=always",
                             "stop=inbox-empty")
        eq(rc, 0, "set: " + err)
        d.stop()
    except Exception:
        d.close()
        raise
    # The same state directory, a new qmsd.
    conf = CONF + "[qmsd]\nstate-dir = %s/state\n" % d.dir
    e = Daemon(config=conf)
    try:
        eq(show(e, "claude"),
           "start=always (run-time)\nstop=inbox-empty (run-time)\n",
           "after a restart")
    finally:
        e.close()
        d.close()


def test_bad_values_refused():
    d = Daemon(config=CONF)
    try:
        for args, want in (
                (("docs", "start=sometimes"),
                 'start must be manual, on-task or always, not "sometimes"'),
                (("docs", "stop=idle 0s"), "idle needs a duration from 1s"),
                (("docs", "stop=idle"), "stop must be manual, inbox-empty"),
                (("nobody", "start=always"), 'no agent "nobody"')):
            rc, out, err = d.ctl("policy", *args)
            eq(rc, 1, "refused: %s" % (args,))
            contains(err, want, "why")
        rc, out, err = d.ctl("policy", "docs", "start=always", "--reset")
        eq(rc, 64, "--reset alone")
        rc, out, err = d.ctl("policy", "docs", "start=always", "start=manual")
        eq(rc, 64, "a part twice")
        eq(show(d, "docs"), "start=on-task (config)\nstop=idle 2h (config)\n",
           "unchanged")
    finally:
        d.close()


def test_corrupt_file_logged_and_ignored():
    base = Daemon(config=CONF)
    state = os.path.join(base.dir, "state", "agents", "docs")
    os.makedirs(state, exist_ok=True)
    with open(os.path.join(state, "policy"), "w") as f:
        f.write("start=always\nstart=manual\n")
    base.stop()
    conf = CONF + "[qmsd]\nstate-dir = %s/state\n" % base.dir
    e = Daemon(config=conf)
    try:
        eq(show(e, "docs"), "start=on-task (config)\nstop=idle 2h (config)\n",
           "ignored")
        contains(e.log(), "policy: line 2: start is given twice; its "
                 "run-time policy is ignored", "the log")
        # Setting over it replaces it whole.
        rc, out, err = e.ctl("policy", "docs", "start=manual")
        eq(rc, 0, "set: " + err)
        with open(os.path.join(state, "policy")) as f:
            eq(f.read(), "start=manual\n", "replaced")
    finally:
        e.close()
        base.close()


def test_config_keys_checked():
    d = Daemon(config=CONF.replace("stop = idle 2h", "stop = idle 2 hours"),
               wait=False)
    try:
        d.proc.wait(10)
        contains(d.log(), "stop: idle needs a duration", "the error")
    finally:
        d.close()


if __name__ == "__main__":
    main(globals())
