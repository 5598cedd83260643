#!/usr/bin/env python3
"""The documentation against the code it describes: each fact in one place.

The control methods are those of methods[] in daemon/methods.c, each a
heading of docs/control-protocol.md; the configuration keys are those of
keys[] in daemon/config.c, each a list entry of qmsd.conf(5) and of no other
page; the qmsctl commands are those of cmd_table[] in client/qmsctl.c, each
an entry of qmsctl(1); the README stays short; and asking for help is not an
error.  A table that cannot be found is a failure, never an empty set."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmsdtest import QMSCTL, QMSD, contains, eq, main

TOP = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(
    __file__)), "..", ".."))
METHODS_C = os.path.join(TOP, "daemon", "methods.c")
CONFIG_C = os.path.join(TOP, "daemon", "config.c")
QMSCTL_C = os.path.join(TOP, "client", "qmsctl.c")
PROTOCOL = os.path.join(TOP, "docs", "control-protocol.md")
CONF5 = os.path.join(TOP, "docs", "qmsd.conf.5")
README = os.path.join(TOP, "README.md")
README_MAX = 300


def read(path):
    with open(path) as f:
        return f.read()


def table(src, name, what):
    """The body of the C array NAME[] = { ... };, or a failure."""
    m = re.search(r"\b%s\[\]\s*=\s*\{(.*?)\n\};" % re.escape(name), src,
                  re.S)
    if m is None:
        raise AssertionError("no %s[] table in %s" % (name, what))
    return m.group(1)


def code_methods():
    """{name: read-only} from the rows of methods[]."""
    body = table(read(METHODS_C), "methods", METHODS_C)
    rows = re.findall(r'\{\s*"([a-z][a-z0-9-]*)"\s*,\s*([01])\s*,', body)
    if not rows:
        raise AssertionError("methods[] in %s has no rows" % METHODS_C)
    eq(len(rows), len(set(n for n, _ in rows)), "each method once")
    return {n: ro == "1" for n, ro in rows}


def documented_methods():
    """{name: read-only} from the ### headings under ## Methods: each names
    one or more methods in backticks, then (read-only) or (admin)."""
    text = read(PROTOCOL)
    m = re.search(r"^## Methods\n(.*?)(?=^## )", text, re.M | re.S)
    if m is None:
        raise AssertionError("no '## Methods' section in " + PROTOCOL)
    got = {}
    for h in re.findall(r"^### (.*)$", m.group(1), re.M):
        a = re.fullmatch(r"((?:`[a-z][a-z0-9-]*`(?:, )?)+) "
                         r"\((read-only|admin)\)", h)
        if a is None:
            raise AssertionError("a method heading not of the form "
                                 "### `name` (read-only|admin): " + h)
        for n in re.findall(r"`([^`]+)`", a.group(1)):
            if n in got:
                raise AssertionError("method documented twice: " + n)
            got[n] = a.group(2) == "read-only"
    if not got:
        raise AssertionError("no method headings in " + PROTOCOL)
    return got


def test_methods_documented():
    code, doc = code_methods(), documented_methods()
    eq(sorted(set(code) - set(doc)), [], "methods of methods[] not "
       "documented in docs/control-protocol.md")
    eq(sorted(set(doc) - set(code)), [], "methods documented in "
       "docs/control-protocol.md that methods[] does not have")
    eq({n: ro for n, ro in doc.items()}, code, "read-only as in methods[]")


def config_keys():
    """(section, key) for every row of keys[] in daemon/config.c."""
    body = table(read(CONFIG_C), "keys", CONFIG_C)
    keys = re.findall(r'\b(?:KEY|LIST)\(\s*"([a-z-]+)",\s*"([a-z-]+)"', body)
    keys += [("agent", k) for k in re.findall(r'\bAGENT\(\s*"([a-z-]+)"',
                                              body)]
    if not keys:
        raise AssertionError("keys[] in %s has no rows" % CONFIG_C)
    eq(len(keys), len(set(keys)), "each key once in keys[]")
    return set(keys)


# A key's definition in mdoc: a list entry naming it, then "=".
MDOC_KEY = re.compile(r"^\.It\s+(?:(?:Ic|Cm|Li|Ar|Sy)\s+)?([a-z][a-z-]*)"
                      r"\s+Ns\s+=", re.M)


def conf5_keys():
    """(section, key) of every key entry in qmsd.conf(5), by the .Ss of
    the section it is under, with repeats."""
    found = []
    section = None
    for line in read(CONF5).splitlines():
        m = re.match(r'\.S[hs] The \[([a-z-]+)[^\]]*\] sections?$', line)
        if m:
            section = m.group(1)
            continue
        if line.startswith(".Sh") or line.startswith(".Ss"):
            section = None
            continue
        m = MDOC_KEY.match(line)
        if m:
            if section is None:
                raise AssertionError("qmsd.conf(5): a key entry outside a "
                                     "section's list: " + line)
            found.append((section, m.group(1)))
    return found


def test_config_keys_in_qmsd_conf_5_once():
    keys = config_keys()
    found = conf5_keys()
    twice = sorted(k for k in set(found) if found.count(k) > 1)
    eq(twice, [], "keys described more than once in qmsd.conf(5)")
    eq(sorted(keys - set(found)), [], "keys of config.c missing from "
       "qmsd.conf(5)")
    eq(sorted(set(found) - keys), [], "keys in qmsd.conf(5) that config.c "
       "does not have")


def markdown_key_definitions(text, names):
    """Keys a markdown file defines: a list item or table row that starts
    with the key and "=" (`give-up = 5`, `[agent] give-up` =), or, in a
    code block, a key line right under a comment (the way a commented
    configuration explains a key).  An example may set keys; it may not
    explain them."""
    found = []
    fenced, prev = False, ""
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced, prev = not fenced, ""
            continue
        if fenced:
            m = re.match(r"\s*#?\s*([a-z][a-z-]*)\s*=", line)
            if m and m.group(1) in names and prev.lstrip().startswith("#") \
                    and not re.match(r"\s*#?\s*[a-z][a-z-]*\s*=", prev):
                found.append(m.group(1))
            prev = line
            continue
        m = re.match(r"\s*(?:[-*+]|\d+\.|\|)\s*\**`(?:\[[a-z-]+\] )?"
                     r"([a-z][a-z-]*)(?: ?=[^`]*`|`\s*=)", line)
        if m and m.group(1) in names:
            found.append(m.group(1))
    return found


def test_config_keys_nowhere_else():
    names = {k for _, k in config_keys()}
    bad = []
    for page in ("qmsd.8", "qmsctl.1"):
        for k in MDOC_KEY.findall(read(os.path.join(TOP, "docs", page))):
            if k in names:
                bad.append("%s: %s" % (page, k))
    mds = [README] + sorted(
        os.path.join(TOP, "docs", f)
        for f in os.listdir(os.path.join(TOP, "docs")) if f.endswith(".md"))
    for md in mds:
        for k in markdown_key_definitions(read(md), names):
            bad.append("%s: %s" % (os.path.relpath(md, TOP), k))
    eq(bad, [], "configuration keys described outside qmsd.conf(5)")


def test_readme_short():
    n = len(read(README).splitlines())
    if n > README_MAX:
        raise AssertionError("README.md has %d lines, more than %d: move "
                             "the reference to its page" % (n, README_MAX))


def qmsctl_commands():
    """The names of the commands in cmd_table[], from their entries."""
    src = read(QMSCTL_C)
    body = table(src, "cmd_table", QMSCTL_C)
    entries = re.findall(r"&(cmd_[a-z0-9_]+_entry)", body)
    if not entries:
        raise AssertionError("cmd_table[] in %s has no rows" % QMSCTL_C)
    client = os.path.join(TOP, "client")
    text = src + "".join(read(os.path.join(client, f))
                         for f in sorted(os.listdir(client))
                         if f.startswith("cmd-") and f.endswith(".c"))
    names = []
    for e in entries:
        m = re.search(r"\b%s\s*=\s*\{[^}]*?\.name\s*=\s*\"([a-z-]+)\"" % e,
                      text, re.S)
        if m is None:
            raise AssertionError("no definition of %s with a .name" % e)
        names.append(m.group(1))
    return names


def documented_commands():
    """The commands qmsctl(1) lists: .It Ic NAME, or .It Xo then .Ic NAME."""
    got, xo = [], False
    for line in read(os.path.join(TOP, "docs", "qmsctl.1")).splitlines():
        m = re.match(r"\.It Ic ([a-z][a-z-]*)\b", line)
        if m:
            got.append(m.group(1))
        elif xo:
            m = re.match(r"\.Ic ([a-z][a-z-]*)\b", line)
            if m:
                got.append(m.group(1))
        xo = line.strip() == ".It Xo"
    return got


def test_qmsctl_commands_in_qmsctl_1():
    code, doc = qmsctl_commands(), documented_commands()
    eq(sorted(set(code) - set(doc)), [], "commands of cmd_table[] not "
       "in qmsctl(1)")
    eq(sorted(set(doc) - set(code)), [], "commands in qmsctl(1) that "
       "cmd_table[] does not have")


def run(*argv):
    env = dict(os.environ, QMSD_SOCKET="/nonexistent/qmsd.sock")
    return subprocess.run(list(argv), capture_output=True, text=True,
                          env=env, timeout=30)


def test_help():
    for args in (["--help"], ["-h"], ["help"]):
        r = run(QMSCTL, *args)
        eq((r.returncode, r.stderr), (0, ""), "qmsctl %s" % " ".join(args))
        if not r.stdout.startswith("usage: qmsctl "):
            raise AssertionError("qmsctl %s: no usage on stdout: %r" % (
                " ".join(args), r.stdout))
        for c in ("status", "session", "help"):
            contains(r.stdout, "\n  %s " % c, "qmsctl %s lists %s" % (
                " ".join(args), c))
    for c in qmsctl_commands():
        r = run(QMSCTL, "help", c)
        eq((r.returncode, r.stderr), (0, ""), "qmsctl help " + c)
        contains(r.stdout, "usage: qmsctl " + c, "qmsctl help " + c)
    r = run(QMSCTL, "help", "status")
    contains(r.stdout, "usage: qmsctl status [--json]\n", "its usage")
    r = run(QMSCTL, "help", "stat")
    contains(r.stdout, "usage: qmsctl status", "a unique prefix")
    r = run(QMSCTL, "help", "nosuchcommand")
    eq((r.returncode, r.stdout), (64, ""), "qmsctl help nosuchcommand")
    contains(r.stderr, "unknown command: nosuchcommand", "a clear error")
    for args in (["--help"], ["-h"]):
        r = run(QMSD, *args)
        eq((r.returncode, r.stderr), (0, ""), "qmsd %s" % args[0])
        if not r.stdout.startswith("usage: qmsd "):
            raise AssertionError("qmsd %s: no usage on stdout: %r" % (
                args[0], r.stdout))
    r = run(QMSD, "--no-such-option")
    eq((r.returncode, r.stdout), (64, ""), "qmsd, a bad option")
    contains(r.stderr, "usage: qmsd", "qmsd, a bad option")


if __name__ == "__main__":
    main(globals())
