/*
 * The container's identity files: the passwd and group entries as the
 * image's libnss-extrausers reads them, and the gitconfig read back by a
 * real git, hostile values included, so that no value can become more
 * than the one value it is.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent-identity.h"
#include "agent-spec.h"
#include "check.h"
#include "config.h"

static char	dir[] = "/tmp/qmsd-test-identity.XXXXXX";
static char	path[512];

/* What git makes of the gitconfig text: `git config -f FILE args`. */
static char *
git_reads(const char *text, const char *args)
{
	char	 cmd[1024], *out;
	size_t	 n;
	FILE	*f;

	if ((f = fopen(path, "w")) == NULL)
		return (NULL);
	fputs(text, f);
	fclose(f);
	/* Fixed words and our own temporary path only. */
	snprintf(cmd, sizeof(cmd), "git config -f %s %s", path, args);
	if ((f = popen(cmd, "r")) == NULL)
		return (NULL);
	out = calloc(1, 8192);
	n = fread(out, 1, 8191, f);
	out[n] = '\0';
	pclose(f);
	return (out);
}

/*
 * What a real git's credential helpers answer for https://host with the
 * gitconfig text as its system level and nothing else: the password,
 * or "" when none answers (git may not ask a terminal).
 */
static char *
git_fill(const char *text, const char *host)
{
	char	 cmd[1024], line[512], *out;
	FILE	*f;

	if ((f = fopen(path, "w")) == NULL)
		return (NULL);
	fputs(text, f);
	fclose(f);
	/* Fixed words, the test's own hosts and temporary path only. */
	snprintf(cmd, sizeof(cmd), "printf 'protocol=https\\nhost=%s\\n\\n' | "
	    "HOME=%s GIT_CONFIG_SYSTEM=%s GIT_CONFIG_GLOBAL=/dev/null "
	    "GIT_TERMINAL_PROMPT=0 GIT_ASKPASS= SSH_ASKPASS= "
	    "git credential fill 2>/dev/null", host, dir, path);
	if ((f = popen(cmd, "r")) == NULL)
		return (NULL);
	out = calloc(1, sizeof(line));
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "password=", 9) == 0)
			snprintf(out, sizeof(line), "%s", line + 9);
	pclose(f);
	return (out);
}

static void
check_ok(const char *v, int line)
{
	char	why[256] = "";

	check_count++;
	if (agent_ident_check(v, why, sizeof(why)) != 0) {
		check_failures++;
		fprintf(stderr, "%s:%d: \"%s\" refused: %s\n", __FILE__, line,
		    v, why);
	}
}

static void
check_refused(const char *v, const char *want, int line)
{
	char	why[512] = "";

	check_count++;
	if (agent_ident_check(v, why, sizeof(why)) != -1 ||
	    strstr(why, want) == NULL) {
		check_failures++;
		fprintf(stderr, "%s:%d: \"%s\": got \"%s\", want \"%s\"\n",
		    __FILE__, line, v, why, want);
	}
}
#define OK(v)		check_ok(v, __LINE__)
#define REFUSED(v, w)	check_refused(v, w, __LINE__)

int
main(void)
{
	char			*env[] = { "FOO=bar", "GH_TOKEN=ghp_secret", NULL };
	struct agent_conf	 c = {
		.name = "claude", .git_user_name = "claude (qmsd agent)",
		.git_user_email = "claude@qmsd.invalid",
	};
	struct agent_facts	 f = {
		.root = "/home/owner/pipe-dream", .uid = 1000, .gid = 1001,
		.dir = "/var/lib/qmsd/agents/claude", .env = NULL,
	};
	char			 longv[AGENT_IDENT_MAX + 2], *s, *out;
	char			 hostile[] = "x\" \\\n[core]\n\tsshCommand = "
				    "touch /tmp/pwned ;# \\";
	char			 punct[] = "a;b #c [core] \"d\" e\\f";

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return (2);
	}
	snprintf(path, sizeof(path), "%s/gitconfig", dir);

	/* The owner's uid:gid named after the agent, HOME as the spec's. */
	s = agent_passwd(&c, &f);
	CHECK_STR(s, "claude:x:1000:1001:qmsd agent claude:/claude-config:"
	    "/bin/bash\n");
	free(s);
	s = agent_group(&c, &f);
	CHECK_STR(s, "claude:x:1001:\n");
	free(s);

	/* No token: the identity alone. */
	s = agent_gitconfig(&c, &f);
	CHECK_STR(s, "# Made by qmsd for the agent claude: the system level, "
	    "which ~/.gitconfig\n# (git config --global) overrides.\n"
	    "[user]\n\tname = \"claude (qmsd agent)\"\n"
	    "\temail = \"claude@qmsd.invalid\"\n");
	out = git_reads(s, "--list");
	CHECK_STR(out, "user.name=claude (qmsd agent)\n"
	    "user.email=claude@qmsd.invalid\n");
	free(out);
	free(s);

	/* GH_TOKEN: gh for github.com and gist, as gh auth setup-git does. */
	f.env = env;
	s = agent_gitconfig(&c, &f);
	CHECK(strstr(s, "ghp_secret") == NULL);		/* gh reads the env */
	out = git_reads(s, "--get-all credential.https://github.com.helper");
	CHECK_STR(out, "\n!gh auth git-credential\n");
	free(out);
	out = git_reads(s, "--get-all "
	    "credential.https://gist.github.com.helper");
	CHECK_STR(out, "\n!gh auth git-credential\n");
	free(out);
	free(s);
	/* Set empty, or emptied by a later line: no token, no helper. */
	env[1] = "GH_TOKEN=";
	s = agent_gitconfig(&c, &f);
	CHECK(strstr(s, "credential") == NULL);
	free(s);
	{
		char	*later[] = { "GH_TOKEN=x", "GH_TOKEN=", NULL };

		f.env = later;
		s = agent_gitconfig(&c, &f);
		CHECK(strstr(s, "credential") == NULL);
		free(s);
	}
	/* gh's other variable. */
	env[1] = "GITHUB_TOKEN=ghp_other";
	f.env = env;
	s = agent_gitconfig(&c, &f);
	CHECK(strstr(s, "[credential \"https://github.com\"]") != NULL);
	free(s);
	f.env = NULL;

	/*
	 * Secrets: for each of their hosts, git's helper gives the
	 * placeholder as the password of x-access-token, as a real git
	 * asks it (443 left out of the URL as git leaves it out, another
	 * port kept); gh stays the helper where no secret is; the
	 * env-file's value is written nowhere.
	 */
	{
		char	*secrets[] = { "GH_TOKEN github.com api.github.com",
			    "GIT_TOKEN git.example.test:8443", NULL };
		char	*ph[] = {
			    "qmsd-placeholder-GH_TOKEN-"
			    "00112233445566778899aabbccddeeff",
			    "qmsd-placeholder-GIT_TOKEN-"
			    "ffeeddccbbaa99887766554433221100", NULL };

		env[1] = "GH_TOKEN=ghp_secret";
		f.env = env;
		c.secrets = secrets;
		f.placeholders = ph;
		s = agent_gitconfig(&c, &f);
		CHECK(strstr(s, "ghp_secret") == NULL);
		out = git_fill(s, "github.com");
		CHECK_STR(out, "qmsd-placeholder-GH_TOKEN-"
		    "00112233445566778899aabbccddeeff\n");
		free(out);
		out = git_fill(s, "api.github.com");
		CHECK_STR(out, "qmsd-placeholder-GH_TOKEN-"
		    "00112233445566778899aabbccddeeff\n");
		free(out);
		out = git_fill(s, "git.example.test:8443");
		CHECK_STR(out, "qmsd-placeholder-GIT_TOKEN-"
		    "ffeeddccbbaa99887766554433221100\n");
		free(out);
		/* Another port, another host: no secret is given there. */
		out = git_fill(s, "git.example.test");
		CHECK_STR(out, "");
		free(out);
		out = git_fill(s, "example.org");
		CHECK_STR(out, "");
		free(out);
		out = git_reads(s, "--get-all "
		    "credential.https://gist.github.com.helper");
		CHECK_STR(out, "\n!gh auth git-credential\n");
		free(out);
		CHECK(strstr(s, "[credential \"https://github.com\"]\n"
		    "\thelper =\n\thelper = \"!gh") == NULL);
		free(s);
		c.secrets = NULL;
		f.placeholders = NULL;
		f.env = NULL;
	}

	/*
	 * The attack: a value that would close its quotes, end its line and
	 * open a section of its own.  Quoted, every byte stays in user.name
	 * and git sees no other key.  (agent_ident_check refuses the
	 * newline first; the quoting holds without it.)
	 */
	c.git_user_name = hostile;
	s = agent_gitconfig(&c, &f);
	out = git_reads(s, "--get user.name");
	CHECK(out != NULL && strlen(out) > 0 &&
	    strncmp(out, hostile, strlen(hostile)) == 0 &&
	    strcmp(out + strlen(hostile), "\n") == 0);
	free(out);
	out = git_reads(s, "--list --name-only");
	CHECK_STR(out, "user.name\nuser.email\n");
	free(out);
	free(s);
	c.git_user_name = punct;
	s = agent_gitconfig(&c, &f);
	out = git_reads(s, "--get user.name");
	CHECK_STR(out, "a;b #c [core] \"d\" e\\f\n");
	free(out);
	free(s);

	/* What the configuration may say. */
	OK("Jane Doe");
	OK("O'Brien");
	OK("jane@example.org");
	OK("Zoë Ünal");
	OK("a;b #c [core] \"d\" e\\f");
	REFUSED("", "1 to 256 characters");
	memset(longv, 'a', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = '\0';
	REFUSED(longv, "1 to 256 characters");
	longv[AGENT_IDENT_MAX] = '\0';
	OK(longv);
	REFUSED("x\n[core]", "a control character (0x0a) at byte 2");
	REFUSED("x\r[core]", "a control character (0x0d)");
	REFUSED("a\tb", "a control character (0x09)");
	REFUSED("a\033[2Jb", "a control character (0x1b)");
	REFUSED("a\177b", "a control character (0x7f)");
	REFUSED("Jane <jane@example.org>", "git drops < and >");
	REFUSED("Bob Jr.", "git would drop");
	REFUSED("\"quoted\"", "git would drop");
	REFUSED(".,", "git would drop");

	unlink(path);
	rmdir(dir);
	return (check_done("agent-identity"));
}
