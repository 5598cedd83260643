/* qmsd.conf parsing: values land, and every error names its file:line. */
#include <sys/stat.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "argv.h"
#include "config.h"

static char	dir[] = "/tmp/qmsd-test-config.XXXXXX";
static char	path[512];

static struct config *
load(const char *text, char *err, size_t errlen)
{
	FILE	*f;

	if ((f = fopen(path, "w")) == NULL) {
		perror(path);
		exit(2);
	}
	fputs(text, f);
	fclose(f);
	err[0] = '\0';
	return (config_load(path, err, errlen));
}

/* The error must be exactly "PATH:LINE: message". */
static void
expect_error(const char *text, int line, const char *message, int srcline)
{
	struct config	*c;
	char		 err[1024], want[1024];

	snprintf(want, sizeof(want), "%s:%d: %s", path, line, message);
	c = load(text, err, sizeof(err));
	check_count++;
	if (c != NULL || strcmp(err, want) != 0) {
		check_failures++;
		fprintf(stderr, "%s:%d: got \"%s\", want \"%s\"\n", __FILE__,
		    srcline, c != NULL ? "(accepted)" : err, want);
	}
	config_free(c);
}
#define EXPECT_ERROR(text, line, msg) expect_error(text, line, msg, __LINE__)

/* The same, for an error whose message only starts as given. */
static void
expect_error_start(const char *text, int line, const char *start,
    int srcline)
{
	struct config	*c;
	char		 err[1024], want[1024];

	snprintf(want, sizeof(want), "%s:%d: %s", path, line, start);
	c = load(text, err, sizeof(err));
	check_count++;
	if (c != NULL || strncmp(err, want, strlen(want)) != 0) {
		check_failures++;
		fprintf(stderr, "%s:%d: got \"%s\", want \"%s...\"\n",
		    __FILE__, srcline, c != NULL ? "(accepted)" : err, want);
	}
	config_free(c);
}
#define EXPECT_ERROR_START(text, line, msg) \
	expect_error_start(text, line, msg, __LINE__)

int
main(void)
{
	struct config	*c;
	char		 err[1024], text[2048], longline[600];

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return (2);
	}
	snprintf(path, sizeof(path), "%s/qmsd.conf", dir);

	/* Built-in defaults: the current directory, owned by its owner. */
	c = config_load(NULL, err, sizeof(err));
	CHECK(c != NULL && c->file == NULL && c->project_root != NULL);
	CHECK(c != NULL && c->admin_group != NULL &&
	    strcmp(c->admin_group, "qms") == 0);
	CHECK(c != NULL && c->log_level == LOG_LEVEL_INFO);
	config_free(c);

	/* Every key, with comments of both kinds. */
	snprintf(text, sizeof(text),
	    "# a comment\n"
	    "; another\n"
	    "[qmsd]\n"
	    "project-root = %s\n"
	    "run-as = 0\n"
	    "socket = /run/x/q.sock\n"
	    "admin-group = wheel2\n"
	    "state-dir = /var/lib/q\n"
	    "log-level = debug\n", dir);
	c = load(text, err, sizeof(err));
	CHECK(c != NULL);
	if (c != NULL) {
		CHECK_STR(c->project_root, dir);
		CHECK_STR(c->run_as, "root");
		CHECK(c->run_as_uid == 0);
		CHECK_STR(c->socket, "/run/x/q.sock");
		CHECK_STR(c->admin_group, "wheel2");
		CHECK(!c->admin_gid_found);
		CHECK_STR(c->state_dir, "/var/lib/q");
		CHECK(c->log_level == LOG_LEVEL_DEBUG);
		CHECK_STR(c->file, path);
	}
	config_free(c);

	/* Indentation is not a continuation line. */
	c = load("[qmsd]\n  log-level = debug\n\tadmin-group = x\n", err,
	    sizeof(err));
	CHECK(c != NULL && c->log_level == LOG_LEVEL_DEBUG);
	CHECK(c != NULL && strcmp(c->admin_group, "x") == 0);
	config_free(c);

	/* An empty file is the defaults. */
	c = load("", err, sizeof(err));
	CHECK(c != NULL);
	config_free(c);

	/* project-root made canonical; the default run-as is its owner. */
	snprintf(text, sizeof(text), "[qmsd]\nproject-root = %s/./\n", dir);
	c = load(text, err, sizeof(err));
	CHECK(c != NULL && strcmp(c->project_root, dir) == 0);
	CHECK(c != NULL && c->run_as_uid == getuid());
	config_free(c);

	EXPECT_ERROR("[qmsd]\n\n[bogus]\n", 3, "unknown section [bogus]");
	EXPECT_ERROR("[qmsd]\nbogus = 1\n", 2,
	    "unknown key \"bogus\" in [qmsd]");
	EXPECT_ERROR("project-root = /\n", 1, "a key before any [section]");
	EXPECT_ERROR("[qmsd \"x\"]\n", 1, "section [qmsd] takes no name");
	EXPECT_ERROR("[qmsd]\nlog-level = loud\n", 2,
	    "log-level must be error, warning, info or debug, not \"loud\"");
	EXPECT_ERROR("[qmsd]\nproject-root = relative/dir\n", 2,
	    "project-root must be an absolute path");
	EXPECT_ERROR("[qmsd]\nproject-root = /nonexistent/qmsd\n", 2,
	    "project-root /nonexistent/qmsd: No such file or directory");
	snprintf(text, sizeof(text), "[qmsd]\n\nproject-root = %s\n", path);
	snprintf(longline, sizeof(longline), "project-root %s: not a "
	    "directory", path);
	EXPECT_ERROR(text, 3, longline);
	EXPECT_ERROR("[qmsd]\nrun-as = no-such-user-qmsd\n", 2,
	    "run-as: no such user: no-such-user-qmsd");
	EXPECT_ERROR("[qmsd]\nsocket = q.sock\n", 2,
	    "socket must be an absolute path");
	EXPECT_ERROR("[qmsd]\nstate-dir = var\n", 2,
	    "state-dir must be an absolute path");
	EXPECT_ERROR("[qmsd]\nadmin-group = a b\n", 2,
	    "admin-group: bad name \"a b\"");
	EXPECT_ERROR("[qmsd]\nlog-level = info\nlog-level = debug\n", 3,
	    "log-level is already set at line 2");
	EXPECT_ERROR("[qmsd]\nlog-level = info\njust words\n", 3,
	    "syntax error: expected [section] or key = value");
	EXPECT_ERROR("[qmsd\n", 1,
	    "syntax error: expected [section] or key = value");
	/* The first error is the one reported, wherever the others are. */
	EXPECT_ERROR("[qmsd]\nwhat\nbogus = 1\n", 2,
	    "syntax error: expected [section] or key = value");
	EXPECT_ERROR("[qmsd]\nbogus = 1\nwhat\n", 2,
	    "unknown key \"bogus\" in [qmsd]");
	memset(longline, 'x', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	snprintf(text, sizeof(text), "[qmsd]\n# %s\nlog-level = x\n",
	    longline);
	c = load(text, err, sizeof(err));
	CHECK(c == NULL && strstr(err, ":2: line longer than") != NULL);
	config_free(c);

	/* [qms-mcp]: every key, and each kind of bad value. */
	c = load("[qms-mcp]\nenabled = yes\ncommand = node 'a b' {root}/x\n"
	    "workdir = {root}/w\nenvironment = A=1 'B=two words'\n"
	    "environment = C=3\nurl = http://[::1]:9/mcp\n"
	    "restart = on-failure\nbackoff-min = 5ms\nbackoff-max = 2m\n"
	    "stable-after = 1h\ngive-up = 4\ngive-up-window = 30s\n"
	    "start-timeout = 9s\nstop-timeout = 3s\nprobe-interval = 200ms\n"
	    "probe-timeout = 1s\nprobe-failures = 7\n", err, sizeof(err));
	CHECK(c != NULL);
	if (c != NULL) {
		char *x = config_expand(c, c->qms_mcp.workdir);
		CHECK(c->qms_mcp.enabled == TRI_YES);
		CHECK_STR(c->qms_mcp.environment[0], "A=1");
		CHECK_STR(c->qms_mcp.environment[1], "B=two words");
		CHECK_STR(c->qms_mcp.environment[2], "C=3");
		CHECK(c->qms_mcp.environment[3] == NULL);
		CHECK(c->qms_mcp.restart.policy == RESTART_ON_FAILURE);
		CHECK(c->qms_mcp.restart.backoff_min == 5);
		CHECK(c->qms_mcp.restart.backoff_max == 120000);
		CHECK(c->qms_mcp.restart.give_up == 4);
		CHECK(c->qms_mcp.probe_failures == 7);
		CHECK(strncmp(x, c->project_root, strlen(c->project_root)) ==
		    0 && strcmp(x + strlen(c->project_root), "/w") == 0);
		free(x);
	}
	config_free(c);
	c = load("", err, sizeof(err));
	CHECK(c != NULL && c->qms_mcp.enabled == TRI_AUTO &&
	    c->qms_mcp.restart.backoff_min == 100 &&
	    c->qms_mcp.restart.backoff_max == 30000 &&
	    c->qms_mcp.stop_timeout == 10000 &&
	    c->qms_mcp.probe_failures == 3 &&
	    strcmp(c->qms_mcp.url, "http://127.0.0.1:8001/mcp") == 0 &&
	    strcmp(c->qms_mcp.environment[0], "PYTHONUNBUFFERED=1") == 0);
	config_free(c);
	EXPECT_ERROR("[qms-mcp]\nenabled = maybe\n", 2,
	    "enabled must be yes, no or auto, not \"maybe\"");
	EXPECT_ERROR("[qms-mcp]\ncommand = python3 -m x; rm -rf /\n", 2,
	    "command: ';' at column 13 would run another command; only one "
	    "command is allowed");
	EXPECT_ERROR("[qms-mcp]\ncommand = ''\n", 2,
	    "command: empty program name");
	EXPECT_ERROR("[qms-mcp]\ncommand =\n", 2, "command: empty command");
	EXPECT_ERROR("[qms-mcp]\nworkdir = qms-cli\n", 2,
	    "workdir must be an absolute path or start with {root}");
	EXPECT_ERROR("[qms-mcp]\nenvironment = NOEQUALS\n", 2,
	    "environment: \"NOEQUALS\" is not KEY=VALUE");
	EXPECT_ERROR("[qms-mcp]\nenvironment = 1A=x\n", 2,
	    "environment: \"1A=x\" is not KEY=VALUE");
	EXPECT_ERROR("[qms-mcp]\nurl = http://127.0.0.1/mcp\n", 2,
	    "url must be http://HOST:PORT/PATH, not "
	    "\"http://127.0.0.1/mcp\"");
	EXPECT_ERROR("[qms-mcp]\nrestart = sometimes\n", 2,
	    "restart must be always, on-failure or never, not \"sometimes\"");
	EXPECT_ERROR("[qms-mcp]\nbackoff-min = 100\n", 2,
	    "backoff-min: bad duration \"100\" (write 100ms, 5s, 2m or 1h)");
	EXPECT_ERROR("[qms-mcp]\ngive-up = -1\n", 2,
	    "give-up: bad number \"-1\"");
	EXPECT_ERROR("[qms-mcp]\nbackoff-max = 10ms\n\nbackoff-min = 1s\n", 4,
	    "backoff-max (10ms) is less than backoff-min (1000ms)");
	EXPECT_ERROR("[qms-mcp]\nbackoff-min = 0ms\nbackoff-max = 0ms\n", 2,
	    "backoff-min must be at least 1ms");
	EXPECT_ERROR("[qms-mcp]\n\nprobe-interval = 0s\n", 3,
	    "probe-interval must be at least 10ms");
	EXPECT_ERROR("[qms-mcp]\nprobe-failures = 0\n", 2,
	    "probe-failures must be at least 1");
	/* A server told one port and probed on another: refused. */
	EXPECT_ERROR("[qms-mcp]\nurl = http://127.0.0.1:9000/mcp\n", 2,
	    "[qms-mcp] command has --port 8001 but url has port 9000: set "
	    "both to the same port");
	EXPECT_ERROR("[qms-mcp]\ncommand = srv --port 9001\n\n"
	    "url = http://127.0.0.1:9000/mcp\n", 4,
	    "[qms-mcp] command has --port 9001 but url has port 9000: set "
	    "both to the same port");
	{
		struct config	*pc;
		char		 perr[1024];

		pc = load("[qms-mcp]\ncommand = srv --port=9000\n"
		    "url = http://127.0.0.1:9000/mcp\n", perr, sizeof(perr));
		CHECK(pc != NULL);
		config_free(pc);
		pc = load("[qms-mcp]\nenabled = no\n"
		    "url = http://127.0.0.1:9000/mcp\n", perr, sizeof(perr));
		CHECK(pc != NULL);
		config_free(pc);
	}
	/* A give-up that could never be reached is refused, not ignored. */
	EXPECT_ERROR("[qms-mcp]\ngive-up = 65\n", 2,
	    "give-up must be at most 64, the failures qmsd remembers (0: "
	    "never give up)");
	EXPECT_ERROR("[agent \"a\"]\ngive-up = 100\n", 1,
	    "agent a: give-up must be at most 64, the failures qmsd "
	    "remembers (0: never give up)");
	EXPECT_ERROR("[qms-mcp]\nstop-timeout = 1s\nstop-timeout = 2s\n", 3,
	    "stop-timeout is already set at line 2");

	/* [http] and [git] limits that would make them useless. */
	EXPECT_ERROR("[http]\nmax-connections = 0\n", 2,
	    "max-connections must be at least 1");
	EXPECT_ERROR("[http]\nallowed-hosts = localhost:8000\n", 2,
	    "allowed-hosts: \"localhost:8000\": give the host alone; any "
	    "port is allowed");
	EXPECT_ERROR("[http]\nlisten = 0.0.0.0:80 nohost:1\n", 2,
	    "listen: \"nohost:1\" is not ADDRESS:PORT (an IPv4 address, "
	    "[IPv6] or docker-bridge, and a port)");
	EXPECT_ERROR("[git]\ntimeout = 0s\n", 2,
	    "timeout must be at least 100ms");

	/* [docker] socket: a Unix socket path that can be connected to. */
	c = load("[docker]\nsocket = /run/docker-test.sock\n", err,
	    sizeof(err));
	CHECK(c != NULL && strcmp(c->docker.socket,
	    "/run/docker-test.sock") == 0);
	config_free(c);
	c = load("", err, sizeof(err));
	CHECK(c != NULL && c->docker.socket == NULL);	/* DOCKER_HOST */
	config_free(c);
	EXPECT_ERROR("[docker]\nsocket = unix:///run/docker.sock\n", 2,
	    "socket must be an absolute path");
	memset(longline, 'x', 120);
	longline[120] = '\0';
	snprintf(text, sizeof(text), "[docker]\n\nsocket = /%s\n", longline);
	EXPECT_ERROR(text, 3, "socket: 121 bytes is too long for a Unix "
	    "socket path (at most 107)");
	EXPECT_ERROR("[git]\nremotes =\n", 2,
	    "remotes: name at least one remote");
	c = load("[http]\nallowed-hosts = [::1], example.test\n", err,
	    sizeof(err));
	CHECK(c != NULL);
	config_free(c);

	/* [agent "NAME"]: named sections, defaults from the name. */
	c = load("[agent \"claude\"]\n[agent \"b-2\"]\nimage = x:1\n"
	    "network = host\nmount = /a:/b:ro\nmount = /c:/d\nmask = sub/x\n"
	    "cpus = 1.5\nmemory = 2G\nenabled = no\n", err, sizeof(err));
	CHECK(c != NULL && c->nagents == 2);
	if (c != NULL && c->nagents == 2) {
		CHECK_STR(c->agents[0].name, "claude");
		CHECK_STR(c->agents[0].image, "qms-agent:latest");
		CHECK_STR(c->agents[0].container, "qms-agent-claude");
		CHECK_STR(c->agents[0].network, "none");
		CHECK_STR(c->agents[0].egress, "@anthropic");
		CHECK(c->agents[0].egress_max_tunnels == 64);
		CHECK(c->agents[0].egress_connect_timeout == 10000);
		CHECK(c->agents[0].egress_idle_timeout == 300000);
		CHECK(c->agents[0].memory == 4ULL << 30);
		CHECK(c->agents[0].pids == 512);
		CHECK_STR(c->agents[1].image, "x:1");
		CHECK_STR(c->agents[1].mounts[1], "/c:/d");
		CHECK_STR(c->agents[1].masks[0], "sub/x");
		CHECK(c->agents[1].cpus == 1.5 && !c->agents[1].enabled);
		/* Commits name the agent by default, at no real address. */
		CHECK_STR(c->agents[0].git_user_name, "claude (qmsd agent)");
		CHECK_STR(c->agents[0].git_user_email, "claude@qmsd.invalid");
		/* The inbox is in the agent's own directory by default. */
		CHECK_STR(c->agents[0].inbox, ".claude/users/claude/inbox");
	}
	config_free(c);
	c = load("[agent \"a\"]\ninbox = QMS/inbox/a\n", err, sizeof(err));
	CHECK(c != NULL && c->nagents == 1);
	if (c != NULL && c->nagents == 1)
		CHECK_STR(c->agents[0].inbox, "QMS/inbox/a");
	config_free(c);
	c = load("[agent \"a\"]\ngit-user-name = Jane O'Brien\n"
	    "git-user-email = jane@example.org\n[agent \"b\"]\n"
	    "git-user-name = a;b #c [core] \"d\" e\\f\n", err, sizeof(err));
	CHECK(c != NULL && c->nagents == 2);
	if (c != NULL && c->nagents == 2) {
		CHECK_STR(c->agents[0].git_user_name, "Jane O'Brien");
		CHECK_STR(c->agents[0].git_user_email, "jane@example.org");
		/* Taken whole, to be quoted in the gitconfig. */
		CHECK_STR(c->agents[1].git_user_name,
		    "a;b #c [core] \"d\" e\\f");
		CHECK_STR(c->agents[1].git_user_email, "b@qmsd.invalid");
	}
	config_free(c);
	/*
	 * The gitconfig injection: what would end the value's line there, or
	 * rewrite the terminal that shows it, is refused where it is written.
	 */
	EXPECT_ERROR("[agent \"a\"]\ngit-user-name = x\r[core]\r"
	    "sshCommand = touch /tmp/pwned\n", 2, "git-user-name: a control "
	    "character (0x0d) at byte 2");
	EXPECT_ERROR("[agent \"a\"]\n\ngit-user-email = a\tb\n", 3,
	    "git-user-email: a control character (0x09) at byte 2");
	EXPECT_ERROR("[agent \"a\"]\ngit-user-name = \033[2Jx\n", 2,
	    "git-user-name: a control character (0x1b) at byte 1");
	EXPECT_ERROR("[agent \"a\"]\ngit-user-email = <a@b>\n", 2,
	    "git-user-email: \"<a@b>\": git drops < and >");
	EXPECT_ERROR("[agent \"a\"]\ngit-user-name = Bob Jr.\n", 2,
	    "git-user-name: \"Bob Jr.\": git would drop the blank or "
	    "punctuation it starts or ends with");
	EXPECT_ERROR("[agent \"a\"]\ngit-user-name = x\ngit-user-name = y\n",
	    3, "git-user-name is already set at line 2");
	/*
	 * Issue 19: who makes an agent's git_exec commits, and which refs
	 * its pushes may write.  Defaults: the agent as committer, at no
	 * real address; git's own user as author; pushes as the owner's.
	 */
	c = load("[agent \"a\"]\n[agent \"b\"]\n"
	    "git-committer-name = Bee Agent\n"
	    "git-committer-email = bee@example.org\ngit-author = agent\n"
	    "push-refs = refs/heads/agent/b/*, refs/tags/b-*\n"
	    "push-refs = refs/heads/b\n", err, sizeof(err));
	CHECK(c != NULL && c->nagents == 2);
	if (c != NULL && c->nagents == 2) {
		const struct agent_conf *a = &c->agents[0], *b = &c->agents[1];

		CHECK_STR(a->git_committer_name, "a (qmsd agent)");
		CHECK_STR(a->git_committer_email, "a@agents.qmsd.invalid");
		CHECK(a->git_author == AGENT_AUTHOR_OWNER);
		CHECK(a->push_refs == NULL);
		CHECK_STR(b->git_committer_name, "Bee Agent");
		CHECK_STR(b->git_committer_email, "bee@example.org");
		CHECK(b->git_author == AGENT_AUTHOR_AGENT);
		CHECK(argv_count(b->push_refs) == 3);
		if (argv_count(b->push_refs) == 3) {
			CHECK_STR(b->push_refs[0], "refs/heads/agent/b/*");
			CHECK_STR(b->push_refs[1], "refs/tags/b-*");
			CHECK_STR(b->push_refs[2], "refs/heads/b");
		}
	}
	config_free(c);
	c = load("[agent \"a\"]\ngit-author = owner\n", err, sizeof(err));
	CHECK(c != NULL && c->agents[0].git_author == AGENT_AUTHOR_OWNER);
	config_free(c);
	EXPECT_ERROR("[agent \"a\"]\ngit-author = alice\n", 2,
	    "git-author must be owner or agent, not \"alice\"");
	EXPECT_ERROR("[agent \"a\"]\ngit-committer-name = x\r[core]\r"
	    "sshCommand = touch /tmp/pwned\n", 2, "git-committer-name: a "
	    "control character (0x0d) at byte 2");
	EXPECT_ERROR("[agent \"a\"]\ngit-committer-email = <a@b>\n", 2,
	    "git-committer-email: \"<a@b>\": git drops < and >");
	EXPECT_ERROR_START("[agent \"a\"]\npush-refs = refs/heads/a/*/b\n", 2,
	    "push-refs entry \"refs/heads/a/*/b\": ");
	EXPECT_ERROR_START("[agent \"a\"]\npush-refs = main\n", 2,
	    "push-refs entry \"main\": it does not start with refs/");
	EXPECT_ERROR("[agent \"a\"]\npush-refs =\n", 2,
	    "push-refs: nothing given");
	/* The agent's name is its user's in the container. */
	EXPECT_ERROR("[agent \"123\"]\n", 1, "bad agent name \"123\": it is "
	    "the container's user name, and digits alone would read as a uid");
	EXPECT_ERROR("[agent \"root\"]\n", 1, "bad agent name \"root\": it is "
	    "the container's user name, and a system account's");
	EXPECT_ERROR("[agent \"www-data\"]\n", 1, "bad agent name "
	    "\"www-data\": it is the container's user name, and a system "
	    "account's");
	c = load("[agent \"2nd\"]\n", err, sizeof(err));
	CHECK(c != NULL);
	config_free(c);
	c = load("[qmsd]\n", err, sizeof(err));
	CHECK(c != NULL && c->nagents == 0);	/* a file names its agents */
	config_free(c);
	c = config_load(NULL, err, sizeof(err));
	CHECK(c != NULL && c->nagents == 1 &&
	    strcmp(c->agents[0].name, "claude") == 0);
	config_free(c);
	EXPECT_ERROR("[agent]\n", 1, "section [agent] needs a name: "
	    "[agent \"NAME\"]");
	EXPECT_ERROR("[agent \"Bad Name\"]\n", 1, "bad agent name \"Bad "
	    "Name\": use lower-case letters, digits, - and _ (at most 32)");
	EXPECT_ERROR("[agent \"host\"]\n", 1, "bad agent name \"host\": it "
	    "is the identity of the host's token");
	EXPECT_ERROR("[agent \"a\"]\nnetwork = overlay\n", 2,
	    "network must be none, bridge or host, not \"overlay\"");
	EXPECT_ERROR("[agent \"a\"]\negress = github.com\n", 2,
	    "egress entry \"github.com\": no port; write \"github.com:443\" for https");
	c = load("[agent \"a\"]\negress =\n[agent \"b\"]\n"
	    "egress = @github 127.0.0.1:8443\negress-max-tunnels = 3\n",
	    err, sizeof(err));
	CHECK(c != NULL && c->nagents == 2);
	if (c != NULL && c->nagents == 2) {
		CHECK_STR(c->agents[0].egress, "");
		CHECK_STR(c->agents[1].egress, "@github 127.0.0.1:8443");
		CHECK(c->agents[1].egress_max_tunnels == 3);
	}
	config_free(c);
	EXPECT_ERROR("[agent \"a\"]\nmount = relative:/x\n", 2,
	    "mount: \"relative:/x\" is not /SOURCE:/TARGET[:ro]");
	EXPECT_ERROR("[agent \"a\"]\nmask = ../up\n", 2,
	    "mask: \"../up\" must be a path inside the repository, relative "
	    "to it");
	/* A mask in one spelling: what the container and git_exec hide. */
	c = load("[agent \"a\"]\nmask = private/\nmask = ./conf/key.pem\n"
	    "mask = data//a/./token.txt\nmask = x\n", err, sizeof(err));
	CHECK(c != NULL && c->nagents == 1);
	if (c != NULL && c->nagents == 1) {
		CHECK_STR(c->agents[0].masks[0], "private");
		CHECK_STR(c->agents[0].masks[1], "conf/key.pem");
		CHECK_STR(c->agents[0].masks[2], "data/a/token.txt");
		CHECK_STR(c->agents[0].masks[3], "x");
	}
	config_free(c);
	EXPECT_ERROR("[agent \"a\"]\nmask = ./\n", 2,
	    "mask: \"./\" must be a path inside the repository, not the "
	    "repository itself");
	EXPECT_ERROR("[agent \"a\"]\nmask = .\n", 2,
	    "mask: \".\" must be a path inside the repository, not the "
	    "repository itself");
	EXPECT_ERROR("[agent \"a\"]\ninbox = /tmp/in\n", 2,
	    "inbox: \"/tmp/in\" must be a path inside the repository, relative "
	    "to it");
	EXPECT_ERROR("[agent \"a\"]\ninbox = a/../../b\n", 2,
	    "inbox: \"a/../../b\" must be a path inside the repository, "
	    "relative to it");
	EXPECT_ERROR("[agent \"a\"]\ninbox = x\ninbox = y\n", 3,
	    "inbox is already set at line 2");
	EXPECT_ERROR("[agent \"a\"]\ncpus = lots\n", 2,
	    "cpus: bad number of CPUs \"lots\"");
	EXPECT_ERROR("[agent \"a\"]\nimage = x\n[agent \"a\"]\nimage = y\n",
	    4, "image is already set at line 2");

	/*
	 * Secrets: kept as written, in order; their scope as lists; the
	 * CA trusted for upstreams.
	 */
	c = load("[qmsd]\nupstream-ca = /etc/qmsd/upstream.pem\n"
	    "[agent \"a\"]\nenv-file = /etc/qmsd/a.env\n"
	    "egress = @github git.example.test:8443\n"
	    "secret = GH_TOKEN github.com api.github.com\n"
	    "secret = GIT_TOKEN git.example.test:8443\n"
	    "secret-repos = acme/widgets, acme/gadgets\n"
	    "secret-repos = other/*\n"
	    "secret-push-refs = refs/heads/agent/a/*\n"
	    "[agent \"b\"]\n", err, sizeof(err));
	CHECK(c != NULL && c->nagents == 2);
	if (c != NULL && c->nagents == 2) {
		const struct agent_conf *a = &c->agents[0];

		CHECK_STR(c->upstream_ca, "/etc/qmsd/upstream.pem");
		CHECK(argv_count(a->secrets) == 2);
		CHECK_STR(a->secrets[0], "GH_TOKEN github.com api.github.com");
		CHECK_STR(a->secrets[1], "GIT_TOKEN git.example.test:8443");
		CHECK(argv_count(a->secret_repos) == 3);
		CHECK_STR(a->secret_repos[1], "acme/gadgets");
		CHECK_STR(a->secret_repos[2], "other/*");
		CHECK(argv_count(a->secret_push_refs) == 1);
		CHECK_STR(a->secret_push_refs[0], "refs/heads/agent/a/*");
		CHECK(c->agents[1].secrets == NULL &&
		    c->agents[1].secret_repos == NULL &&
		    c->agents[1].secret_push_refs == NULL);
	}
	config_free(c);
	/* Without the key, no upstream CA but the system's. */
	c = load("[qmsd]\n", err, sizeof(err));
	CHECK(c != NULL && c->upstream_ca == NULL);
	config_free(c);
	EXPECT_ERROR("[qmsd]\nupstream-ca = ca.pem\n", 2,
	    "upstream-ca must be an absolute path");
	/* What secret-rule.c refuses, at the line, in its words. */
	EXPECT_ERROR_START("[agent \"a\"]\nenv-file = /e\n"
	    "secret = gh_token github.com\n", 3, "secret name ");
	EXPECT_ERROR_START("[agent \"a\"]\nenv-file = /e\n"
	    "secret = GH_TOKEN\n", 3, "secret GH_TOKEN: no host");
	EXPECT_ERROR_START("[agent \"a\"]\nenv-file = /e\negress = @github\n"
	    "secret = GH_TOKEN github.com\nsecret-repos = acme\n", 5,
	    "secret-repos entry ");
	EXPECT_ERROR_START("[agent \"a\"]\nenv-file = /e\negress = @github\n"
	    "secret = GH_TOKEN github.com\n"
	    "secret-push-refs = refs/heads/a/*/b\n", 5,
	    "secret-push-refs entry ");
	/* A name once in an agent; in two agents, once in each. */
	EXPECT_ERROR("[agent \"a\"]\nenv-file = /e\negress = @github\n"
	    "secret = GH_TOKEN github.com\n"
	    "secret = GH_TOKEN api.github.com\n", 5,
	    "secret GH_TOKEN: declared already at line 4");
	c = load("[agent \"a\"]\nenv-file = /e\negress = @github\n"
	    "secret = GH_TOKEN github.com\n"
	    "[agent \"b\"]\nenv-file = /e\negress = @github\n"
	    "secret = GH_TOKEN github.com\n", err, sizeof(err));
	CHECK(c != NULL);
	config_free(c);
	/* At most SECRET_MAX_PER_AGENT (8). */
	{
		char	big[1024];
		int	i, n;

		n = snprintf(big, sizeof(big), "[agent \"a\"]\n"
		    "env-file = /e\negress = @github\n");
		for (i = 0; i < 9; i++)
			n += snprintf(big + n, sizeof(big) - (size_t)n,
			    "secret = S%d github.com\n", i);
		EXPECT_ERROR(big, 12,
		    "secret S8: more than 8 secrets in one agent");
	}
	/* Its value comes from the env-file: none, no secret. */
	EXPECT_ERROR("[agent \"a\"]\negress = @github\n"
	    "secret = GH_TOKEN github.com\n", 3,
	    "secret: agent a has no env-file, where a secret's value comes "
	    "from: set env-file");
	/* Every host in egress, the default's (@anthropic) too. */
	EXPECT_ERROR("[agent \"a\"]\nenv-file = /e\n"
	    "secret = GH_TOKEN github.com\n", 3,
	    "secret GH_TOKEN: github.com:443 is not in [agent \"a\"] egress");
	EXPECT_ERROR("[agent \"a\"]\nenv-file = /e\n"
	    "egress = github.com:443\n"
	    "secret = GH_TOKEN github.com\n"
	    "secret = API_TOKEN github.com api.github.com\n", 5,
	    "secret API_TOKEN: api.github.com:443 is not in [agent \"a\"] "
	    "egress");
	EXPECT_ERROR("[agent \"a\"]\nenv-file = /e\n"
	    "egress = git.example.test:443\n"
	    "secret = T git.example.test:8443\n", 4,
	    "secret T: git.example.test:8443 is not in [agent \"a\"] egress");
	/* Only the egress proxy swaps a placeholder: network = none. */
	EXPECT_ERROR("[agent \"a\"]\nenv-file = /e\nnetwork = bridge\n"
	    "egress = @github\nsecret = GH_TOKEN github.com\n", 5,
	    "secret: agent a has network = bridge; only an agent with "
	    "network = none goes through qmsd's egress proxy, which puts "
	    "the secret in place of its placeholder");
	/* A scope without a secret scopes nothing. */
	EXPECT_ERROR("[agent \"a\"]\nsecret-repos = acme/widgets\n", 2,
	    "secret-repos: agent a has no secret to scope (declare one with "
	    "secret = NAME HOST ...)");
	EXPECT_ERROR("[agent \"a\"]\nenv-file = /e\n"
	    "secret-push-refs = refs/heads/agent/a/*\n", 3,
	    "secret-push-refs: agent a has no secret to scope (declare one "
	    "with secret = NAME HOST ...)");

	/* A missing file names itself. */
	unlink(path);
	c = config_load(path, err, sizeof(err));
	CHECK(c == NULL);
	snprintf(text, sizeof(text), "%s: No such file or directory", path);
	CHECK_STR(err, text);

	/* The current directory / is never a default project root. */
	if (chdir("/") == 0) {
		c = config_load(NULL, err, sizeof(err));
		CHECK(c == NULL && strstr(err, "which is /") != NULL);
		config_free(c);
	}

	rmdir(dir);
	return (check_done("test-config"));
}
