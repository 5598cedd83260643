"""The scripted Messages API (tests/fixtures/messages-api.py) for tests
that drive a real Claude Code, and what such a Claude needs.

    m = Model([{"when": {"text": "hi"}, "reply": {"text": "hello"}}])
    ... egress = m.target, env-file = m.env_file(dir) ...
    r = m.wait_turn(lambda r: "hi" in user_text(r["body"]))
    m.close()

The fixture serves on 127.0.0.2, a loopback address that a sealed
container's NO_PROXY (127.0.0.1,localhost) does not name: the agent's
Claude reaches it through qmsd's egress proxy, which the agent's egress
list must allow (m.target)."""
import importlib.util
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location(
    "messages_api", os.path.join(HERE, "..", "fixtures", "messages-api.py"))
api = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(api)

user_text = api.user_text
user_turn = api.user_turn
UNSCRIPTED = api.UNSCRIPTED
GIT_TOOL = "mcp__git__git_exec"

# What Claude Code needs to talk to the fixture and nothing else.
CLAUDE_ENV = {
    "ANTHROPIC_AUTH_TOKEN": "scripted",
    "DISABLE_AUTOUPDATER": "1",
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
}


class Model(api.Server):
    def __init__(self, script=(), address="127.0.0.2", port=0, log=None):
        super().__init__(address, port, script, log)

    @property
    def target(self):
        """ADDR:PORT, as an egress entry names it."""
        return "%s:%d" % (self.address, self.port)

    def env(self):
        return dict(CLAUDE_ENV, ANTHROPIC_BASE_URL=self.url)

    def env_file(self, directory):
        """An env-file for the agent (qmsd.conf(5), env-file)."""
        path = os.path.join(directory, "claude.env")
        with open(path, "w") as f:
            f.write("".join("%s=%s\n" % kv for kv in self.env().items()))
        os.chmod(path, 0o644)
        return path

    def turns(self):
        return self.requests("turn")

    def wait_turn(self, pred=lambda r: True, timeout=120):
        """The first turn (a conversation request) for which pred holds;
        an AssertionError with every request seen when none comes."""
        r = self.wait(lambda r: r["kind"] == "turn" and pred(r), timeout)
        if r is None:
            raise AssertionError("no such request reached the model in "
                                 "%ds; it saw: %s" % (timeout, self.summary()))
        return r

    def wait_text(self, text, timeout=120):
        """The first turn whose last user message has TEXT."""
        return self.wait_turn(lambda r: text in user_text(r["body"]),
                              timeout)

    def summary(self):
        out = []
        for r in self.requests():
            b = r["body"] or {}
            out.append("%d %s %s %s step=%s %r" % (
                r["n"], r["kind"], r["method"], r["path"], r["step"],
                user_text(b)[-200:] if b else ""))
        return "\n".join(out) or "(nothing)"


def tool_use(command, id):
    """A reply: Claude calls git_exec with COMMAND (qmsd's git tool takes
    {"command": "status"}, the leading git optional)."""
    return {"tool_use": {"name": GIT_TOOL, "input": {"command": command},
                         "id": id}}


def tool_result(body, id):
    """The text of the tool_result for ID in a request's last user
    message, or None."""
    for b in user_turn(body):
        if b.get("type") == "tool_result" and b.get("tool_use_id") == id:
            return api.block_text(b.get("content"))
    return None


def dumps(r):
    return json.dumps(r, indent=1)[:4000]
