"""Real git repositories for the git tests: a bare remote, a repository
for a submodule, and the project (a clone with that submodule at
flow-state), all under one temporary directory."""
import os
import subprocess


def git(cwd, *args, check=True, user=None):
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0",
               GIT_CONFIG_NOSYSTEM="1", HOME=cwd)
    p = subprocess.run(["git", "-c", "protocol.file.allow=always"] +
                       list(args), cwd=cwd, capture_output=True, text=True,
                       env=env)
    if check and p.returncode != 0:
        raise AssertionError("git %s: %s" % (" ".join(args), p.stderr))
    return p.stdout


def make(base):
    """Returns the project path and the bare remote's path."""
    remote = os.path.join(base, "remote.git")
    sub = os.path.join(base, "sub")
    project = os.path.join(base, "project")
    git(base, "init", "-q", "--bare", "-b", "main", remote)
    git(base, "init", "-q", "-b", "main", sub)
    for r in (sub,):
        git(r, "config", "user.name", "Sub")
        git(r, "config", "user.email", "sub@example.invalid")
    with open(os.path.join(sub, "engine.py"), "w") as f:
        f.write("print('engine')\n")
    git(sub, "add", "engine.py")
    git(sub, "commit", "-q", "-m", "engine")
    git(base, "clone", "-q", remote, project)
    git(project, "config", "user.name", "Agent")
    git(project, "config", "user.email", "agent@example.invalid")
    git(project, "checkout", "-q", "-b", "main")
    with open(os.path.join(project, "README.md"), "w") as f:
        f.write("# project\n")
    os.makedirs(os.path.join(project, ".claude", "sessions"))
    with open(os.path.join(project, ".claude", "sessions", "s1.md"), "w") as f:
        f.write("session one\n")
    git(project, "add", "README.md", ".claude")
    git(project, "commit", "-q", "-m", "start")
    git(project, "submodule", "add", "-q", sub, "flow-state")
    git(project, "commit", "-q", "-m", "add flow-state")
    git(project, "push", "-q", "origin", "main")
    return project, remote


def snapshot(project, remote):
    """Everything an attack could change, as one comparable value."""
    return {
        "head": git(project, "rev-parse", "HEAD"),
        "status": git(project, "status", "--porcelain",
                      "--ignore-submodules=none"),
        "refs": git(project, "for-each-ref"),
        "remote": git(remote, "for-each-ref"),
        "config": open(os.path.join(project, ".git", "config")).read(),
        "sub_head": git(os.path.join(project, "flow-state"), "rev-parse",
                        "HEAD"),
        "files": sorted(os.listdir(project)),
    }
