#!/usr/bin/env python3
"""Issue 13: files that hold secrets, and paths an agent or the owner can
write, attacked as a hostile local user or agent would."""

import json
import os
import stat
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmsdtest import QMSCTL, Daemon, eq, main  # noqa: E402
import subprocess  # noqa: E402


def ctl_umask(d, mask, *args):
    """qmsctl under a umask that would leave a file readable by all."""
    p = subprocess.run([QMSCTL, "-S", d.socket] + list(args),
                       capture_output=True, text=True, timeout=30,
                       preexec_fn=lambda: os.umask(mask))
    return p.returncode, p.stdout, p.stderr


def test_10_mcp_config_output_is_private():
    """Item 10: `qmsctl mcp-config -o FILE` writes the host token 0600,
    whatever the umask, over a world-readable file already there, and
    replaces a symbolic link at FILE instead of writing through it."""
    d = Daemon()
    try:
        with open(os.path.join(d.dir, "state", "host.token")) as f:
            token = f.read().strip()
        out = os.path.join(d.project, ".mcp.json")
        with open(out, "w") as f:
            f.write("{}\n")
        os.chmod(out, 0o644)
        rc, _, err = ctl_umask(d, 0o022, "mcp-config", "-o", out)
        eq(rc, 0, "mcp-config -o: " + err)
        eq(stat.S_IMODE(os.lstat(out).st_mode), 0o600, "mode")
        doc = json.load(open(out))
        eq(doc["mcpServers"]["git"]["headers"]["Authorization"],
           "Bearer " + token, "the host token, in the file")

        # A link planted at the path: replaced, its target untouched.
        victim = os.path.join(d.dir, "victim")
        with open(victim, "w") as f:
            f.write("keep\n")
        os.chmod(victim, 0o644)
        os.unlink(out)
        os.symlink(victim, out)
        rc, _, err = ctl_umask(d, 0o000, "mcp-config", "-o", out)
        eq(rc, 0, "mcp-config -o over a link: " + err)
        eq(open(victim).read(), "keep\n", "the link's target")
        assert not os.path.islink(out), "the link was replaced"
        eq(stat.S_IMODE(os.lstat(out).st_mode), 0o600, "mode")
        eq([n for n in os.listdir(d.project) if n.startswith(".mcp-config")],
           [], "no temporary file left")

        rc, out_text, _ = d.ctl("mcp-config", "-o", "-")
        eq(rc, 0, "-o - is standard output")
        eq(json.loads(out_text), doc, "the same document")
        rc, _, err = d.ctl("mcp-config", "-o", "/nonexistent/dir/x")
        eq(rc, 1, "an unwritable place fails")
        assert "/nonexistent/dir" in err, err
    finally:
        d.close()


if __name__ == "__main__":
    main(globals())
