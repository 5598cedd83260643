#!/usr/bin/env python3
"""The documentation against the code it describes: each fact in one place.

The control methods are those of methods[] in daemon/methods.c, each a
heading of docs/control-protocol.md; the configuration keys are those of
keys[] in daemon/config.c, each a list entry of qmsd.conf(5) and of no other
page; the qmsctl commands are those of cmd_table[] in client/qmsctl.c, each
an entry of qmsctl(1); the README stays short; asking for help is not an
error; and what docs/troubleshooting.md quotes as qmsd's or qmsctl's output
can be printed by a format string of theirs.  A table that cannot be found
is a failure, never an empty set."""
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


SOURCES = ("daemon", "client", "common")
CONV = re.compile(r"%[-+ #0]*(?:\d+|\*)?(?:\.(?:\d+|\*))?"
                  r"(?:hh|h|ll|l|z|j|t|L)?[diouxXeEfgGcsp]")


def c_strings(src):
    """The string literals of C source SRC, adjacent ones joined, without
    comments and character constants (a quote in '"' starts nothing)."""
    out, cur, i, n = [], None, 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith("/*", i):
            i = src.index("*/", i + 2) + 2
        elif src.startswith("//", i):
            i = src.find("\n", i)
            i = n if i == -1 else i
        elif c == "'":
            m = re.compile(r"'(?:[^'\\\n]|\\.)*'").match(src, i)
            i = m.end()
        elif c == '"':
            m = re.compile(r'"((?:[^"\\\n]|\\.)*)"').match(src, i)
            s = re.sub(r"\\(.)", lambda e: {"n": "\n", "t": "\t"}.get(
                e.group(1), e.group(1)), m.group(1))
            cur = s if cur is None else cur + s
            i = m.end()
        else:
            if not c.isspace() and cur is not None:
                out.append(cur)
                cur = None
            i += 1
    if cur is not None:
        out.append(cur)
    return out


def formats():
    """Each format string of qmsd and qmsctl, as its literal pieces around
    the conversions (%% is a literal %)."""
    fs = set()
    for d in SOURCES:
        for name in sorted(os.listdir(os.path.join(TOP, d))):
            if not name.endswith(".c"):
                continue
            for s in c_strings(read(os.path.join(TOP, d, name))):
                pieces = [p.replace("\0", "%") for p in
                          CONV.split(s.replace("%%", "\0"))]
                pieces[-1] = pieces[-1].rstrip("\n")
                # "%s: %s" or "%s %s" would make any text a message; of
                # those without words, only FILE:LINE: MESSAGE is one.
                if (re.search(r"[A-Za-z]{2}", "".join(pieces)) or
                        s.rstrip("\n") == "%s:%d: %s"):
                    fs.add(tuple(pieces))
    return fs


def literals():
    """The string literals of qmsd and qmsctl, as they are: pieces of
    messages that are given to a format as its arguments."""
    return {s for d in SOURCES for name in os.listdir(os.path.join(TOP, d))
            if name.endswith(".c")
            for s in c_strings(read(os.path.join(TOP, d, name)))}


BLANK = re.compile(r"\s")


class Messages:
    """Whether a line could be printed by qmsd or qmsctl: a format string
    whose conversions stand for values (a word without blanks, as a path,
    a name, a number or a placeholder such as PATH), strerror(3) texts,
    an elision ("..."), or messages that are themselves such lines."""

    def __init__(self):
        self.fs = formats()
        self.words = literals() | set(FOREIGN) | {
            os.strerror(e) for e in range(1, 134)}
        self.memo, self.vmemo = {}, {}
        self.buckets, self.bucketed = {}, None

    def candidates(self, m):
        """The formats m may fit: bucketed by the first character of the
        head and the last of the tail ("" for none), so a message is tried
        against four buckets, not all the thousands of formats."""
        if self.bucketed != len(self.fs):
            self.buckets, self.bucketed = {}, len(self.fs)
            for f in self.fs:
                self.buckets.setdefault((f[0][:1], f[-1][-1:]),
                                        []).append(f)
        return [f for a in {"", m[:1]} for b in {"", m[-1:]}
                for f in self.buckets.get((a, b), ())]

    def value(self, v):
        plain = self.vmemo.get(v)
        if plain is None:
            plain = self.vmemo[v] = (not BLANK.search(v) or "..." in v or
                                     v in self.words)
        return plain or self.message(v)

    def message(self, m):
        if m not in self.memo:
            self.memo[m] = False
            self.memo[m] = any(self.fits(f, m) for f in self.candidates(m))
        return self.memo[m]

    def fits(self, f, m):
        if len(f) == 1:
            return m == f[0]
        if not (m.startswith(f[0]) and m.endswith(f[-1]) and
                len(m) >= len(f[0]) + len(f[-1])):
            return False
        # The literals must all be there, in order, before any split of
        # m between the conversions is tried.
        at = len(f[0])
        for lit in f[1:-1]:
            if lit:
                at = m.find(lit, at)
                if at == -1:
                    return False
                at += len(lit)

        # Each (i, pos) is decided once: conversions side by side
        # ("%s%s%s", an empty literal between) would otherwise try every
        # split again at every position, exponential in their number.
        seen = {}

        def rest(i, pos):
            if (i, pos) not in seen:
                seen[i, pos] = False
                seen[i, pos] = rest_(i, pos)
            return seen[i, pos]

        def rest_(i, pos):
            # conversion i-1 starts at pos; literal f[i] follows it
            if i == len(f) - 1:
                end = len(m) - len(f[-1])
                return end >= pos and self.value(m[pos:end])
            lit, j = f[i], pos
            while True:
                j = m.find(lit, j)
                if j == -1:
                    return False
                if self.value(m[pos:j]) and rest(i + 1, j + len(lit)):
                    return True
                j += 1
        return rest(1, len(f[0]))

TROUBLESHOOTING = os.path.join(TOP, "docs", "troubleshooting.md")
LOG_LEVELS = ("error", "warning", "info", "debug")
ROW = re.compile(r"^(?:control|qms-mcp|http|git|docker|agent:\S+)\s+"
                 r"[a-z]+\s+(?:\.\.\.|\d+\.\d+s|\d+[dhm]\d+[hms])\s+(.*)$")
# What troubleshooting.md quotes of other programs' words, alone or within
# qmsd's, and whose they are.
FOREIGN = {
    "No such image: qms-agent:latest": "dockerd",
    "claude mcp list": "a command, whose output follows",
    '... (HTTP 403) ... "Host header not allowed (see [http] '
    'allowed-hosts)"': "claude mcp list, quoting qmsd's answer",
    "⏸ Pending approval": "claude mcp list",
    "There was a problem with the editor 'false'": "git",
    "Unable to connect to Anthropic services": "Claude Code",
    "invalid mount config for type \"bind\": bind source path does not "
    "exist: PATH": "dockerd",
    "tmux new-session -d -s agent env claude, claude":
        "Docker's list of the container's processes",
    "apt-get install debootstrap": "a command to run",
    "npm ERR! code SELF_SIGNED_CERT_IN_CHAIN": "npm, in the image build",
    "debian-base.sh: making the Debian base qms-debian:bookworm with "
    "debootstrap needs root": "docker/debian-base.sh",
    "debian-base.sh: debootstrap is not installed": "docker/debian-base.sh",
    "build-image.sh: no debian:bookworm-slim from Docker Hub (...)":
        "docker/build-image.sh",
    "build-image.sh: Docker does not answer: ...": "docker/build-image.sh",
    "I have no name!": "bash, in the container",
    "whoami: cannot find name for user ID 1001": "whoami",
    "No user exists for uid 1001": "ssh",
    "Author identity unknown": "git",
    "Permission denied (publickey)": "ssh",
    "Host key verification failed": "ssh",
    "UNPROTECTED PRIVATE KEY FILE": "ssh",
    "Claude exited with status N.": "the session loop, common/launch.c",
    "Press Enter to start it again, or Ctrl-D to close this session.":
        "the session loop, common/launch.c",
}


def test_foreign_script_words_are_theirs():
    """The words troubleshooting.md gives qmsd's own scripts are in them."""
    for words, owner in FOREIGN.items():
        path = re.match(r"(docker/[\w-]+\.sh|common/launch\.c)", owner.split(
            ", ")[-1])
        if path:
            # C's adjacent literals are one string.
            src = re.sub(r'"\s*\n\s*"', "", read(os.path.join(
                TOP, path.group(1))))
            core = re.sub(r"^[\w-]+\.sh: ", "", words).split(" (")[0]
            core = core.replace(" N.", "").rstrip(".: ")
            for part in re.split(r"\.\.\.|qms-debian:bookworm|"
                                 r"debian:bookworm-slim", core):
                part = part.strip()
                if part and part not in src:
                    raise AssertionError("%r is not in %s" % (part,
                                                            path.group(1)))


def quoted_messages(text):
    """What troubleshooting.md quotes as qmsd's or qmsctl's output: the
    output lines of its console blocks that are status rows, qmsctl's and
    qmsd's errors and qmsd's journal lines; and, in the prose, quotes of
    such lines and the bold quotes that head its lists.  Each with the
    part that is qmsd's own: a row's reason, a journal line's message."""
    out = []

    def own(q):
        q = re.sub(r"\s+", " ", q.strip())
        m = ROW.match(q) or re.match(r"^\w{3} \d+ [\d:]+ \S+ qmsd\[\d+\]: "
                                     r"(.*)$", q)
        if m:
            return m.group(1)
        if re.match(r"^(?:qmsd|qmsctl|UNKNOWN): ", q):
            return q
        return None

    def add(q):
        q = own(q)
        if q is not None:
            out.append(q)
    for block in re.findall(r"^ *```console\n(.*?)^ *```", text,
                            re.M | re.S):
        for line in block.splitlines():
            if not re.match(r"^\s*[$#] ", line):
                add(line)
    prose = re.sub(r"^ *```.*?^ *```", "", text, flags=re.M | re.S)
    for q in re.findall(r"`([^`]+)`", prose):
        add(q)
    # "- **What**: `message`" and "- **`message`**" head the lists.
    for q in (re.findall(r"^ *- \*\*[^*]+\*\*: `([^`]+)`", prose, re.M) +
              re.findall(r"\*\*`([^`]+)`\*\*", prose)):
        q = own(q) or re.sub(r"\s+", " ", q)
        if q not in FOREIGN and q not in out:
            out.append(q)
    return out


def test_troubleshooting_quotes_real_messages():
    text = read(TROUBLESHOOTING)
    msgs = Messages()
    # qmsd's log lines on standard error (common/log.c).
    msgs.fs |= {("qmsd: %s: " % l, "") for l in LOG_LEVELS}
    quotes = quoted_messages(text)
    if len(quotes) < 20:
        raise AssertionError("only %d quoted messages found in %s" % (
            len(quotes), TROUBLESHOOTING))
    bad = [q for q in quotes if not msgs.message(q)]
    if bad:
        raise AssertionError("%s quotes what neither qmsd nor qmsctl "
                             "prints (no format string in %s makes it):\n"
                             "  %s" % (TROUBLESHOOTING, ", ".join(SOURCES),
                                       "\n  ".join(bad)))


if __name__ == "__main__":
    main(globals())
