#!/usr/bin/env python3
"""meson install: what goes where, and the example configuration, which
must name every key qmsd knows and be valid with all of them set."""
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmsdtest import QMSD, eq, main

TOP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
EXAMPLE = os.path.join(TOP, "docs", "qmsd.conf.example")


def install():
    dest = tempfile.mkdtemp(prefix="qmsd-install.")
    r = subprocess.run(["meson", "install", "--no-rebuild", "--quiet",
                        "-C", os.environ["QMSD_BUILD_ROOT"],
                        "--destdir", dest], capture_output=True, text=True)
    eq(r.returncode, 0, "meson install: " + r.stdout + r.stderr)
    prefix = subprocess.run(
        ["meson", "introspect", "--buildoptions",
         os.environ["QMSD_BUILD_ROOT"]], capture_output=True, text=True)
    import json
    opts = {o["name"]: o["value"] for o in json.loads(prefix.stdout)}
    return dest, dest + opts["prefix"], opts


def test_meson_install_layout():
    dest, root, opts = install()
    try:
        want = [opts["sbindir"] + "/qmsd", opts["bindir"] + "/qmsctl",
                opts["mandir"] + "/man8/qmsd.8",
                opts["mandir"] + "/man1/qmsctl.1",
                opts["mandir"] + "/man5/qmsd.conf.5",
                "lib/sysusers.d/qmsd.conf", "lib/tmpfiles.d/qmsd.conf",
                opts["datadir"] + "/doc/qmsd/examples/qmsd.conf",
                opts["datadir"] + "/bash-completion/completions/qmsctl"]
        for w in want:
            if not os.path.isfile(os.path.join(root, w)):
                raise AssertionError("not installed: %s; have %s" % (
                    w, subprocess.run(["find", dest], capture_output=True,
                                      text=True).stdout))
        units = subprocess.run(["find", dest, "-name", "qmsd.service",
                                "-o", "-name", "qmsd.socket"],
                               capture_output=True, text=True).stdout.split()
        eq(sorted(os.path.basename(u) for u in units),
           ["qmsd.service", "qmsd.socket"], "units")
        service = [u for u in units if u.endswith(".service")][0]
        if not service.startswith(root + "/"):
            raise AssertionError("unit outside the prefix: " + service)
        with open(service) as f:
            text = f.read()
        sbin = os.path.join(opts["prefix"], opts["sbindir"], "qmsd")
        eq(re.findall(r"^ExecStart=(\S+)", text, re.M), [sbin],
           "ExecStart names the installed qmsd")
        # the installed daemon runs, and says which it is
        r = subprocess.run([os.path.join(root, opts["sbindir"], "qmsd"),
                            "-V"], capture_output=True, text=True)
        eq((r.returncode, r.stdout.split()[0]), (0, "qmsd"), "qmsd -V")
    finally:
        subprocess.run(["rm", "-rf", dest])


def config_keys():
    """The keys of daemon/config.c's table, by section."""
    with open(os.path.join(TOP, "daemon", "config.c")) as f:
        src = f.read()
    keys = set()
    for m in re.finditer(r'\b(KEY|LIST)\("([a-z-]+)", "([a-z-]+)"', src):
        keys.add((m.group(2), m.group(3)))
    for m in re.finditer(r'\bAGENT\("([a-z-]+)"', src):
        keys.add(("agent", m.group(1)))
    if len(keys) < 40:
        raise AssertionError("config.c's table not found: %s" % keys)
    return keys


def example_keys(text):
    keys, section = [], None
    for line in text.splitlines():
        m = re.match(r'\[([a-z-]+)( "[^"]*")?\]$', line)
        if m:
            section = m.group(1)
            continue
        m = re.match(r"#([a-z-]+) =", line)
        if m:
            keys.append((section, m.group(1)))
        elif line and not line.startswith("#"):
            raise AssertionError("not commented out: " + line)
    return keys


def test_example_names_every_key():
    with open(EXAMPLE) as f:
        text = f.read()
    keys = example_keys(text)
    eq(len(keys), len(set(keys)), "each key once")
    eq(sorted(set(keys)), sorted(config_keys()), "the keys of config.c")


def test_example_is_valid():
    """As shipped (all commented: OK), and with every key set to the value
    it shows; paths that must exist are pointed at ones that do."""
    tmp = tempfile.mkdtemp(prefix="qmsd-example.")
    try:
        r = subprocess.run([QMSD, "-n", "-c", EXAMPLE],
                           capture_output=True, text=True)
        eq((r.returncode, r.stdout.strip()), (0, "configuration OK"),
           "as shipped: " + r.stderr)
        os.makedirs(tmp + "/repo")
        os.makedirs(tmp + "/ref")
        # the example's secret, in a file only root reads, as qmsd -n
        # checks (a reload would refuse it otherwise)
        fd = os.open(tmp + "/claude.env", os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, b"GH_TOKEN=example\n")
        os.close(fd)
        with open(EXAMPLE) as f:
            text = f.read()
        text = re.sub(r"^#([a-z-]+ =)", r"\1", text, flags=re.M)
        text = text.replace("/srv/pipe-dream", tmp + "/repo")
        text = text.replace("/etc/qmsd/claude.env", tmp + "/claude.env")
        text = text.replace("/srv/reference", tmp + "/ref")
        text = text.replace("run-as = alice", "run-as = root")
        # the example's secret is for GitHub, which egress must name
        text = text.replace("egress = @anthropic\n",
                            "egress = @anthropic @github\n")
        conf = os.path.join(tmp, "qmsd.conf")
        with open(conf, "w") as f:
            f.write(text)
        r = subprocess.run([QMSD, "-n", "-c", conf],
                           capture_output=True, text=True)
        eq((r.returncode, r.stdout.strip()), (0, "configuration OK"),
           "every key set: " + r.stderr)
    finally:
        subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main(globals())
