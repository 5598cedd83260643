#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <ini.h>

#include "activity.h"
#include "agent-identity.h"
#include "agent-socket.h"
#include "argv.h"
#include "config.h"
#include "egress-policy.h"
#include "restart.h"
#include "secret-rule.h"
#include "url.h"
#include "util.h"

/*
 * Every key is described once: its section, name, how its value is parsed
 * and where it lands.  Parsers validate at the line they see, so every error
 * carries that line; values that depend on other keys are settled after the
 * whole file is read, with the line that set them.
 */
enum key_type {
	KEY_PATH,		/* absolute path, kept as written */
	KEY_DIR,		/* existing directory, made canonical */
	KEY_USER,		/* user name or uid that exists */
	KEY_NAME,		/* non-empty word */
	KEY_LOGLEVEL,
	KEY_TRISTATE,		/* yes, no, auto */
	KEY_COMMAND,		/* split like sh(1) words, never run by one */
	KEY_TEMPLATE,		/* absolute path, or one starting {root} */
	KEY_ENV,		/* KEY=VALUE words, repeatable */
	KEY_URL,		/* http://host:port/path */
	KEY_RESTART,		/* always, on-failure, never */
	KEY_DURATION,		/* 100ms, 5s, 2m, 1h */
	KEY_COUNT,		/* whole number >= 0 */
	KEY_SIZE,		/* 512, 64K, 1M */
	KEY_LIST,		/* words, by commas or blanks; repeatable */
	KEY_LISTEN,		/* a KEY_LIST of HOST:PORT */
	KEY_BOOL,		/* yes, no */
	KEY_IMAGE,		/* a Docker image reference */
	KEY_CONTAINER,		/* a Docker container name */
	KEY_CPUS,		/* 0.5, 2 */
	KEY_NETWORK,		/* none, bridge, host */
	KEY_EGRESS,		/* an egress allow-list (egress-policy.h) */
	KEY_MOUNT,		/* SRC:DST[:ro], repeatable */
	KEY_MASK,		/* a path in the repository, repeatable */
	KEY_GIT_IDENT,		/* a git user.name or user.email, as kept */
	KEY_START,		/* a start policy (policy.h) */
	KEY_STOP,		/* a stop policy (policy.h) */
	KEY_DEFINITION,		/* a path in the repository, or "" */
	KEY_REPO_PATH,		/* a path in the repository, once */
	KEY_NOTICE,		/* a notification's text, with {item} */
	KEY_SECRET,		/* NAME HOST[:PORT] ... (secret-rule.h) */
	KEY_SECRET_REPOS,	/* OWNER/REPO words, repeatable */
	KEY_SECRET_REFS,	/* ref patterns, repeatable */
	KEY_PUSH_REFS,		/* ref patterns, repeatable */
	KEY_GIT_AUTHOR,		/* owner, agent */
};

struct key {
	const char	*section;
	const char	*name;
	enum key_type	 type;
	size_t		 offset;	/* in struct config, or agent_conf */
	int		 repeatable;
	int		 agent;		/* offset is in struct agent_conf */
};

#define OFF(f)	offsetof(struct config, f)
#define KEY(s, n, t, f)	{ .section = s, .name = n, .type = t, .offset = OFF(f) }
#define LIST(s, n, t, f) { .section = s, .name = n, .type = t, \
	.offset = OFF(f), .repeatable = 1 }
#define AGENT(n, t, f, r) { .section = "agent", .name = n, .type = t, \
	.offset = offsetof(struct agent_conf, f), .repeatable = r, .agent = 1 }
static const struct key keys[] = {
	KEY("qmsd", "project-root", KEY_DIR, project_root),
	KEY("qmsd", "run-as", KEY_USER, run_as),
	KEY("qmsd", "socket", KEY_PATH, socket),
	KEY("qmsd", "admin-group", KEY_NAME, admin_group),
	KEY("qmsd", "state-dir", KEY_PATH, state_dir),
	KEY("qmsd", "log-level", KEY_LOGLEVEL, log_level),
	KEY("qmsd", "upstream-ca", KEY_PATH, upstream_ca),

	KEY("qms-mcp", "enabled", KEY_TRISTATE, qms_mcp.enabled),
	KEY("qms-mcp", "command", KEY_COMMAND, qms_mcp.command),
	KEY("qms-mcp", "workdir", KEY_TEMPLATE, qms_mcp.workdir),
	LIST("qms-mcp", "environment", KEY_ENV, qms_mcp.environment),
	KEY("qms-mcp", "url", KEY_URL, qms_mcp.url),
	KEY("qms-mcp", "restart", KEY_RESTART, qms_mcp.restart.policy),
	KEY("qms-mcp", "backoff-min", KEY_DURATION, qms_mcp.restart.backoff_min),
	KEY("qms-mcp", "backoff-max", KEY_DURATION, qms_mcp.restart.backoff_max),
	KEY("qms-mcp", "stable-after", KEY_DURATION, qms_mcp.restart.stable_after),
	KEY("qms-mcp", "give-up", KEY_COUNT, qms_mcp.restart.give_up),
	KEY("qms-mcp", "give-up-window", KEY_DURATION, qms_mcp.restart.give_up_window),
	KEY("qms-mcp", "start-timeout", KEY_DURATION, qms_mcp.start_timeout),
	KEY("qms-mcp", "stop-timeout", KEY_DURATION, qms_mcp.stop_timeout),
	KEY("qms-mcp", "probe-interval", KEY_DURATION, qms_mcp.probe_interval),
	KEY("qms-mcp", "probe-timeout", KEY_DURATION, qms_mcp.probe_timeout),
	KEY("qms-mcp", "probe-failures", KEY_COUNT, qms_mcp.probe_failures),

	LIST("http", "listen", KEY_LISTEN, http.listen),
	LIST("http", "allowed-hosts", KEY_LIST, http.allowed_hosts),
	LIST("http", "allowed-origins", KEY_LIST, http.allowed_origins),
	KEY("http", "max-body", KEY_SIZE, http.max_body),
	KEY("http", "max-connections", KEY_COUNT, http.max_connections),
	KEY("http", "connection-timeout", KEY_DURATION,
	    http.connection_timeout),
	KEY("http", "request-line-timeout", KEY_DURATION,
	    http.request_line_timeout),
	KEY("http", "head-timeout", KEY_DURATION, http.head_timeout),
	KEY("http", "max-connections-per-peer", KEY_COUNT,
	    http.max_connections_per_peer),
	KEY("http", "docker-network", KEY_CONTAINER, http.docker_network),

	LIST("git", "remotes", KEY_LIST, git.remotes),
	LIST("git", "protected-paths", KEY_LIST, git.protected_paths),
	KEY("git", "timeout", KEY_DURATION, git.timeout),
	KEY("git", "max-output", KEY_SIZE, git.max_output),
	KEY("git", "max-concurrent", KEY_COUNT, git.max_concurrent),
	KEY("git", "allow-no-verify", KEY_BOOL, git.allow_no_verify),

	KEY("docker", "socket", KEY_PATH, docker.socket),

	AGENT("enabled", KEY_BOOL, enabled, 0),
	AGENT("image", KEY_IMAGE, image, 0),
	AGENT("container", KEY_CONTAINER, container, 0),
	AGENT("command", KEY_COMMAND, command, 0),
	AGENT("restart", KEY_RESTART, restart.policy, 0),
	AGENT("backoff-min", KEY_DURATION, restart.backoff_min, 0),
	AGENT("backoff-max", KEY_DURATION, restart.backoff_max, 0),
	AGENT("stable-after", KEY_DURATION, restart.stable_after, 0),
	AGENT("give-up", KEY_COUNT, restart.give_up, 0),
	AGENT("give-up-window", KEY_DURATION, restart.give_up_window, 0),
	AGENT("memory", KEY_SIZE, memory, 0),
	AGENT("pids", KEY_COUNT, pids, 0),
	AGENT("cpus", KEY_CPUS, cpus, 0),
	AGENT("network", KEY_NETWORK, network, 0),
	AGENT("egress", KEY_EGRESS, egress, 0),
	AGENT("egress-max-tunnels", KEY_COUNT, egress_max_tunnels, 0),
	AGENT("egress-connect-timeout", KEY_DURATION, egress_connect_timeout,
	    0),
	AGENT("egress-idle-timeout", KEY_DURATION, egress_idle_timeout, 0),
	AGENT("env-file", KEY_PATH, env_file, 0),
	AGENT("secret", KEY_SECRET, secrets, 1),
	AGENT("secret-repos", KEY_SECRET_REPOS, secret_repos, 1),
	AGENT("secret-push-refs", KEY_SECRET_REFS, secret_push_refs, 1),
	AGENT("mount", KEY_MOUNT, mounts, 1),
	AGENT("mask", KEY_MASK, masks, 1),
	AGENT("git-user-name", KEY_GIT_IDENT, git_user_name, 0),
	AGENT("git-user-email", KEY_GIT_IDENT, git_user_email, 0),
	AGENT("git-committer-name", KEY_GIT_IDENT, git_committer_name, 0),
	AGENT("git-committer-email", KEY_GIT_IDENT, git_committer_email, 0),
	AGENT("git-author", KEY_GIT_AUTHOR, git_author, 0),
	AGENT("push-refs", KEY_PUSH_REFS, push_refs, 1),
	AGENT("start", KEY_START, policy.start, 0),
	AGENT("stop", KEY_STOP, policy, 0),
	AGENT("definition", KEY_DEFINITION, definition, 0),
	AGENT("inbox", KEY_REPO_PATH, inbox, 0),
	AGENT("notice", KEY_NOTICE, notice, 0),
};
#undef AGENT
#undef LIST
#undef KEY
#undef OFF

/* Sections that exist, and whether they carry a name: [agent "claude"]. */
static const struct {
	const char	*name;
	int		 named;
} sections[] = {
	{ "qmsd", 0 },
	{ "qms-mcp", 0 },
	{ "http", 0 },
	{ "git", 0 },
	{ "docker", 0 },
	{ "agent", 1 },
};

struct parse {
	struct config	*conf;
	const char	*file;
	FILE		*fp;
	int		 line;		/* line inih is handling */
	int		 set[nitems(keys)];	/* line that set each key */
	/* For [agent "NAME"] sections: which lines set which agent's keys. */
	int		 agent_set[CONFIG_MAX_AGENTS][nitems(keys)];
	/* The line of each agent's each secret, for the checks after. */
	int		 secret_line[CONFIG_MAX_AGENTS][SECRET_MAX_PER_AGENT];
	int		 agent;		/* the agent a key is being set for */
	char		 err[512];
	int		 err_line;
};

static void	check_header(struct parse *, const char *);
static int	agent_lookup(struct parse *, const char *);
static void	parse_error(struct parse *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static void
parse_error(struct parse *p, const char *fmt, ...)
{
	va_list	ap;

	if (p->err_line != 0)
		return;		/* the first error is the one reported */
	p->err_line = p->line;
	va_start(ap, fmt);
	vsnprintf(p->err, sizeof(p->err), fmt, ap);
	va_end(ap);
}

/*
 * Counting lines here is how errors found in the handler get theirs.  A line
 * longer than inih's buffer would be split in two and misread, so it is
 * refused whole instead.
 */
static char *
reader(char *buf, int size, void *arg)
{
	struct parse	*p = arg;
	size_t		 len;
	int		 ch;

	if (fgets(buf, size, p->fp) == NULL)
		return (NULL);
	p->line++;
	len = strlen(buf);
	if (len > 0 && buf[len - 1] != '\n' && !feof(p->fp)) {
		while ((ch = fgetc(p->fp)) != EOF && ch != '\n')
			;
		parse_error(p, "line longer than %d bytes", size - 2);
		buf[0] = '#';		/* let inih skip what is left */
		buf[1] = '\0';
	}
	/*
	 * inih reads an indented line as the continuation of the previous
	 * value, which turns a stray indent into a confusing "already set";
	 * here indentation means nothing.
	 */
	len = strspn(buf, " \t");
	if (len > 0)
		memmove(buf, buf + len, strlen(buf + len) + 1);
	check_header(p, buf);
	return (buf);
}

/*
 * Split a section header "agent \"claude\"" into "agent" and "claude".
 * Returns the index in sections[] or -1 with an error set.
 */
static int
section_lookup(struct parse *p, const char *header, char *label,
    size_t labellen)
{
	const char	*sp, *q;
	char		 name[64];
	size_t		 i, n;

	label[0] = '\0';
	if (header[0] == '\0') {
		parse_error(p, "a key before any [section]");
		return (-1);
	}
	sp = strchr(header, ' ');
	n = sp != NULL ? (size_t)(sp - header) : strlen(header);
	if (n == 0 || n >= sizeof(name)) {
		parse_error(p, "bad section name [%s]", header);
		return (-1);
	}
	memcpy(name, header, n);
	name[n] = '\0';
	for (i = 0; i < nitems(sections); i++)
		if (strcmp(sections[i].name, name) == 0)
			break;
	if (i == nitems(sections)) {
		parse_error(p, "unknown section [%s]", name);
		return (-1);
	}
	if (sp == NULL) {
		if (sections[i].named) {
			parse_error(p, "section [%s] needs a name: "
			    "[%s \"NAME\"]", name, name);
			return (-1);
		}
		return ((int)i);
	}
	if (!sections[i].named) {
		parse_error(p, "section [%s] takes no name", name);
		return (-1);
	}
	q = sp + 1;
	n = strlen(q);
	if (n < 3 || q[0] != '"' || q[n - 1] != '"' ||
	    memchr(q + 1, '"', n - 2) != NULL || n - 2 >= labellen) {
		parse_error(p, "bad section name [%s]: the name must be "
		    "quoted, as in [%s \"NAME\"]", header, name);
		return (-1);
	}
	memcpy(label, q + 1, n - 2);
	label[n - 2] = '\0';
	return ((int)i);
}

#define AGENT_EGRESS_DEFAULT	"@anthropic"

static void
agent_defaults(struct agent_conf *a, const char *name)
{
	memset(a, 0, sizeof(*a));
	a->name = xstrdup(name);
	a->enabled = 1;
	a->restart.policy = RESTART_ALWAYS;
	a->restart.backoff_min = 1000;
	a->restart.backoff_max = 60000;
	a->restart.stable_after = 30000;
	a->restart.give_up_window = 300000;
	a->memory = 4ULL << 30;
	a->pids = 512;
	a->egress_max_tunnels = 64;
	a->egress_connect_timeout = 10000;
	a->egress_idle_timeout = 300000;
}

/* Fill in what depends on the name: image, container, command, network. */
static void
agent_fill(struct agent_conf *a)
{
	if (a->image == NULL)
		a->image = xstrdup("qms-agent:latest");
	if (a->container == NULL)
		xasprintf(&a->container, "qms-agent-%s", a->name);
	if (a->command == NULL)
		a->command = xstrdup("claude");
	if (a->network == NULL)
		a->network = xstrdup("none");
	/* Claude Code's API and login, and nothing else, until said. */
	if (a->egress == NULL)
		a->egress = xstrdup(AGENT_EGRESS_DEFAULT);
	/*
	 * Commits say which agent made them, at an address that is never
	 * delivered (RFC 2606's .invalid) until the owner gives a real one.
	 */
	if (a->git_user_name == NULL)
		xasprintf(&a->git_user_name, "%s (qmsd agent)", a->name);
	if (a->git_user_email == NULL)
		xasprintf(&a->git_user_email, "%s@qmsd.invalid", a->name);
	/* And those it makes through git_exec, on the host. */
	if (a->git_committer_name == NULL)
		xasprintf(&a->git_committer_name, "%s (qmsd agent)", a->name);
	if (a->git_committer_email == NULL)
		xasprintf(&a->git_committer_email, "%s@agents.qmsd.invalid",
		    a->name);
	/* Its definition, when the repository has one; "" for none. */
	if (a->definition == NULL)
		xasprintf(&a->definition, ".claude/agents/%s.md", a->name);
	if (a->inbox == NULL)
		xasprintf(&a->inbox, ".claude/users/%s/inbox", a->name);
	if (a->notice == NULL)
		a->notice = xstrdup(ACTIVITY_NOTICE);
}

/* The accounts of Debian's base-passwd, which every image has. */
static const char *const system_users[] = {
	"root", "daemon", "bin", "sys", "sync", "games", "man", "lp", "mail",
	"news", "uucp", "proxy", "www-data", "backup", "list", "irc", "gnats",
	"nobody", "nogroup", "staff", "users", "adm", "tty", "disk", "kmem",
	"dialout", "cdrom", "floppy", "audio", "video", "plugdev", "shadow",
	"utmp", "operator", "src", "sasl", "voice", "fax", "tape", "input",
	"sgx", "render", "netdev",
};

/* The index of agent NAME, added when new; -1 with an error. */
static int
agent_lookup(struct parse *p, const char *name)
{
	struct config	*c = p->conf;
	size_t		 i;

	for (i = 0; i < c->nagents; i++)
		if (strcmp(c->agents[i].name, name) == 0)
			return ((int)i);
	if (name[0] == '\0' || strlen(name) > 32 ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-_") !=
	    strlen(name) || name[0] == '-' || name[0] == '_') {
		parse_error(p, "bad agent name \"%s\": use lower-case "
		    "letters, digits, - and _ (at most 32)", name);
		return (-1);
	}
	/*
	 * The name is also the container user's (agent-identity.h): the
	 * rules above make a portable user name, but one of digits alone
	 * would read as a uid.
	 */
	if (strspn(name, "0123456789") == strlen(name)) {
		parse_error(p, "bad agent name \"%s\": it is the container's "
		    "user name, and digits alone would read as a uid", name);
		return (-1);
	}
	/*
	 * Nor a system account of Debian's (base-passwd): the container
	 * looks qmsd's entry up first, so "root" would name the agent's uid.
	 */
	for (i = 0; i < sizeof(system_users) / sizeof(system_users[0]); i++)
		if (strcmp(name, system_users[i]) == 0) {
			parse_error(p, "bad agent name \"%s\": it is the "
			    "container's user name, and a system account's",
			    name);
			return (-1);
		}
	/* The owner's identity (token.h): an agent so named would be it. */
	if (strcmp(name, "host") == 0) {
		parse_error(p, "bad agent name \"host\": it is the identity of "
		    "the host's token");
		return (-1);
	}
	if (c->nagents == CONFIG_MAX_AGENTS) {
		parse_error(p, "more than %d agents", CONFIG_MAX_AGENTS);
		return (-1);
	}
	agent_defaults(&c->agents[c->nagents], name);
	c->agents[c->nagents].line = p->line;
	return ((int)c->nagents++);
}

/*
 * inih calls the handler only for keys, so a section without any would go
 * unchecked; its header is checked here, as it is read.
 */
static void
check_header(struct parse *p, const char *line)
{
	const char	*s = line, *end;
	char		 header[256], label[128];
	size_t		 n;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s != '[' || (end = strchr(s, ']')) == NULL)
		return;
	n = (size_t)(end - s - 1);
	if (n >= sizeof(header))
		n = sizeof(header) - 1;
	memcpy(header, s + 1, n);
	header[n] = '\0';
	/* An agent exists from its header on, keys or not. */
	if (section_lookup(p, header, label, sizeof(label)) >= 0 &&
	    label[0] != '\0')
		agent_lookup(p, label);
}

static int
valid_env(const char *kv)
{
	const char	*eq = strchr(kv, '=');
	const char	*c;

	if (eq == NULL || eq == kv)
		return (0);
	for (c = kv; c < eq; c++)
		if (!(*c == '_' || (*c >= 'A' && *c <= 'Z') ||
		    (*c >= 'a' && *c <= 'z') || (c > kv && *c >= '0' &&
		    *c <= '9')))
			return (0);
	return (1);
}

/* "a, b c" into words; empty pieces are dropped. */
static char **
split_list(const char *v)
{
	char	**w, *copy, *tok, *save = NULL;
	size_t	  n = 0;

	copy = xstrdup(v);
	w = xcalloc(strlen(v) / 2 + 2, sizeof(*w));
	for (tok = strtok_r(copy, ", \t", &save); tok != NULL;
	    tok = strtok_r(NULL, ", \t", &save))
		w[n++] = xstrdup(tok);
	w[n] = NULL;
	free(copy);
	return (w);
}

/*
 * HOST:PORT, where HOST is an IPv4 address, [IPv6], or "docker-bridge"
 * (the gateway of Docker's bridge network, found at run time).  Names are
 * refused: what a name resolves to can change under a listener.
 */
int
listen_parse(const char *s, char *host, size_t hostlen, int *port)
{
	const char	*colon = strrchr(s, ':');
	char		 h[64];
	long long	 n;
	size_t		 len;
	struct in6_addr	 a6;
	struct in_addr	 a4;

	if (colon == NULL || colon == s)
		return (-1);
	len = (size_t)(colon - s);
	if (len >= sizeof(h))
		return (-1);
	memcpy(h, s, len);
	h[len] = '\0';
	if (parse_number(colon + 1, 1, 65535, &n) == -1)
		return (-1);
	if (h[0] == '[') {
		if (len < 3 || h[len - 1] != ']')
			return (-1);
		h[len - 1] = '\0';
		memmove(h, h + 1, len - 1);
		if (inet_pton(AF_INET6, h, &a6) != 1)
			return (-1);
	} else if (strcmp(h, "docker-bridge") != 0 &&
	    inet_pton(AF_INET, h, &a4) != 1)
		return (-1);
	if (host != NULL)
		snprintf(host, hostlen, "%s", h);
	if (port != NULL)
		*port = (int)n;
	return (0);
}

/* SRC:DST[:ro|:rw], both absolute. */
static int
mount_check(const char *v, char *why, size_t len)
{
	const char	*c1 = strchr(v, ':'), *c2;

	if (v[0] != '/' || c1 == NULL || c1[1] != '/') {
		snprintf(why, len, "\"%s\" is not /SOURCE:/TARGET[:ro]", v);
		return (-1);
	}
	if ((c2 = strchr(c1 + 1, ':')) != NULL && strcmp(c2, ":ro") != 0 &&
	    strcmp(c2, ":rw") != 0) {
		snprintf(why, len, "\"%s\": the mode must be ro or rw", v);
		return (-1);
	}
	return (0);
}

static int
listen_check(const char *s, char *why, size_t len)
{
	if (listen_parse(s, NULL, 0, NULL) == -1) {
		snprintf(why, len, "\"%s\" is not ADDRESS:PORT (an IPv4 "
		    "address, [IPv6] or docker-bridge, and a port)", s);
		return (-1);
	}
	return (0);
}

static void
list_append(char ***listp, char **words)
{
	size_t	n = argv_count(*listp), m = argv_count(words), i;
	char	**l;

	if ((l = reallocarray(*listp, n + m + 1, sizeof(*l))) == NULL)
		fatal("reallocarray");
	for (i = 0; i < m; i++)
		l[n + i] = xstrdup(words[i]);
	l[n + m] = NULL;
	*listp = l;
}

static int
lookup_user(const char *v, char **name, uid_t *uid, gid_t *gid)
{
	struct passwd	*pw;
	long long	 n;

	if (parse_number(v, 0, UINT32_MAX - 1, &n) == 0)
		pw = getpwuid((uid_t)n);
	else
		pw = getpwnam(v);
	if (pw == NULL)
		return (-1);
	*name = xstrdup(pw->pw_name);
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return (0);
}

/* A path inside the repository, relative to it, never out of it. */
static int
repo_path(const char *v)
{
	size_t	n = strlen(v);

	return (!(v[0] == '/' || strcmp(v, "..") == 0 ||
	    strncmp(v, "../", 3) == 0 || strstr(v, "/../") != NULL ||
	    (n >= 3 && strcmp(v + n - 3, "/..") == 0) || v[0] == '\0'));
}

/*
 * A repository path as written ("private/", "./conf/key.pem", "a//b")
 * in the one spelling the rest of qmsd compares and looks up: no empty or
 * "." component, no leading or trailing "/" (mask.h).  NULL when nothing
 * is left (the root itself) or a ".." remains.
 */
static char *
repo_path_clean(const char *v)
{
	char	*out = xcalloc(1, strlen(v) + 1);
	size_t	 n, len = 0;

	while (*v != '\0') {
		n = strcspn(v, "/");
		if (n == 2 && strncmp(v, "..", 2) == 0) {
			free(out);
			return (NULL);
		}
		if (n > 0 && !(n == 1 && v[0] == '.')) {
			if (len > 0)
				out[len++] = '/';
			memcpy(out + len, v, n);
			len += n;
		}
		v += n;
		if (*v == '/')
			v++;
	}
	out[len] = '\0';
	if (len == 0) {
		free(out);
		return (NULL);
	}
	return (out);
}

/* A string key, once its value passed the checks of its type. */
static int
set_string(char **sp, const char *v)
{
	free(*sp);
	*sp = xstrdup(v);
	return (0);
}

/* Keys whose value is one of a few words, each an enum value. */
struct word {
	const char	*word;
	int		 value;
};
static const struct word tristate_words[] = {
	{ "yes", TRI_YES }, { "no", TRI_NO }, { "auto", TRI_AUTO }, { NULL, 0 },
};
static const struct word restart_words[] = {
	{ "always", RESTART_ALWAYS }, { "on-failure", RESTART_ON_FAILURE },
	{ "never", RESTART_NEVER }, { NULL, 0 },
};
static const struct word bool_words[] = {
	{ "yes", 1 }, { "no", 0 }, { NULL, 0 },
};
static const struct word author_words[] = {
	{ "owner", AGENT_AUTHOR_OWNER }, { "agent", AGENT_AUTHOR_AGENT },
	{ NULL, 0 },
};

/* The error lists the words: "must be yes, no or auto, not "x"". */
static int
set_word(struct parse *p, const struct key *k, const char *v,
    const struct word *words, int *out)
{
	char	list[128] = "";
	size_t	i, len;

	for (i = 0; words[i].word != NULL; i++) {
		if (strcmp(v, words[i].word) == 0) {
			*out = words[i].value;
			return (0);
		}
	}
	for (i = 0; words[i].word != NULL; i++) {
		len = strlen(list);
		snprintf(list + len, sizeof(list) - len, "%s%s", i == 0 ? "" :
		    words[i + 1].word == NULL ? " or " : ", ", words[i].word);
	}
	parse_error(p, "%s must be %s, not \"%s\"", k->name, list, v);
	return (-1);
}

#define STR_(x)	#x
#define STR(x)	STR_(x)

/*
 * A secret: valid as secret-rule.h says, its NAME once in the agent, at
 * most SECRET_MAX_PER_AGENT; kept as written, with its line for the
 * checks that need the whole section (validate_secrets).
 */
static int
set_secret(struct parse *p, const struct key *k, char ***listp,
    const char *v)
{
	struct secret_rule	 rule, old;
	char			 why[256], **words;
	size_t			 n = argv_count(*listp), i;

	/* secret-rule.c's errors name the key and the secret already. */
	if (secret_rule_parse(v, &rule, why, sizeof(why)) == -1) {
		parse_error(p, "%s", why);
		return (-1);
	}
	for (i = 0; i < n; i++) {
		/* Each was parsed once already: it parses again. */
		if (secret_rule_parse((*listp)[i], &old, why,
		    sizeof(why)) == 0 && strcmp(old.name, rule.name) == 0) {
			parse_error(p, "%s %s: declared already at line %d",
			    k->name, rule.name, p->secret_line[p->agent][i]);
			return (-1);
		}
	}
	if (n == SECRET_MAX_PER_AGENT) {
		parse_error(p, "%s %s: more than %d secrets in one agent",
		    k->name, rule.name, SECRET_MAX_PER_AGENT);
		return (-1);
	}
	p->secret_line[p->agent][n] = p->line;
	words = xcalloc(2, sizeof(*words));
	words[0] = xstrdup(v);
	list_append(listp, words);
	argv_free(words);
	return (0);
}

static int
set_value(struct parse *p, void *base, const struct key *k, const char *v)
{
	void		 *field = (char *)base + k->offset;
	char		**sp = field;
	char		  real[PATH_MAX], why[256], **words, *end;
	struct stat	  st;
	enum log_level	  lvl;
	size_t		  i;
	int		  n;

	switch (k->type) {
	case KEY_PATH:
		if (v[0] != '/') {
			parse_error(p, "%s must be an absolute path", k->name);
			return (-1);
		}
		return (set_string(sp, v));
	case KEY_DIR:
		if (v[0] != '/') {
			parse_error(p, "%s must be an absolute path", k->name);
			return (-1);
		}
		if (stat(v, &st) == -1 || realpath(v, real) == NULL) {
			parse_error(p, "%s %s: %s", k->name, v,
			    strerror(errno));
			return (-1);
		}
		if (!S_ISDIR(st.st_mode)) {
			parse_error(p, "%s %s: not a directory", k->name, v);
			return (-1);
		}
		free(*sp);
		*sp = xstrdup(real);
		return (0);
	case KEY_USER: {
		char	*name;
		uid_t	 uid;
		gid_t	 gid;

		/* The name here; its uid and gid once the file is read. */
		if (lookup_user(v, &name, &uid, &gid) == -1) {
			parse_error(p, "%s: no such user: %s", k->name, v);
			return (-1);
		}
		free(*sp);
		*sp = name;
		return (0);
	}
	case KEY_NAME:
		if (v[0] == '\0' || strpbrk(v, " \t:/") != NULL) {
			parse_error(p, "%s: bad name \"%s\"", k->name, v);
			return (-1);
		}
		return (set_string(sp, v));
	case KEY_TRISTATE:
		return (set_word(p, k, v, tristate_words, (int *)field));
	case KEY_COMMAND:
		n = argv_split(v, &words, why, sizeof(why));
		if (n > 0 && words[0][0] == '\0') {
			n = 0;
			snprintf(why, sizeof(why), "empty program name");
		} else if (n == 0)
			snprintf(why, sizeof(why), "empty command");
		argv_free(words);
		if (n <= 0) {
			parse_error(p, "%s: %s", k->name, why);
			return (-1);
		}
		return (set_string(sp, v));
	case KEY_TEMPLATE:
		if (v[0] != '/' && strncmp(v, "{root}", 6) != 0) {
			parse_error(p, "%s must be an absolute path or start "
			    "with {root}", k->name);
			return (-1);
		}
		return (set_string(sp, v));
	case KEY_ENV:
		if ((n = argv_split(v, &words, why, sizeof(why))) < 0) {
			parse_error(p, "%s: %s", k->name, why);
			return (-1);
		}
		for (i = 0; i < (size_t)n; i++) {
			if (!valid_env(words[i])) {
				parse_error(p, "%s: \"%s\" is not KEY=VALUE",
				    k->name, words[i]);
				argv_free(words);
				return (-1);
			}
		}
		list_append((char ***)field, words);
		argv_free(words);
		return (0);
	case KEY_URL:
		if (url_host_port(v, NULL, 0, NULL) == -1) {
			parse_error(p, "%s must be http://HOST:PORT/PATH, not "
			    "\"%s\"", k->name, v);
			return (-1);
		}
		return (set_string(sp, v));
	case KEY_RESTART:
		return (set_word(p, k, v, restart_words, (int *)field));
	case KEY_DURATION:
		if (parse_duration(v, (uint64_t *)field) == -1) {
			parse_error(p, "%s: bad duration \"%s\" (write 100ms, "
			    "5s, 2m or 1h)", k->name, v);
			return (-1);
		}
		return (0);
	case KEY_COUNT:
		if (parse_number(v, 0, 1000000, (long long *)field) == -1) {
			parse_error(p, "%s: bad number \"%s\"", k->name, v);
			return (-1);
		}
		return (0);
	case KEY_SIZE:
		if (parse_size(v, (uint64_t *)field) == -1) {
			parse_error(p, "%s: bad size \"%s\" (write 512, 64K, "
			    "1M or 1G)", k->name, v);
			return (-1);
		}
		return (0);
	case KEY_LIST:
	case KEY_LISTEN:
		words = split_list(v);
		for (i = 0; words[i] != NULL; i++) {
			if (k->type == KEY_LISTEN &&
			    listen_check(words[i], why, sizeof(why)) == -1) {
				parse_error(p, "%s: %s", k->name, why);
				argv_free(words);
				return (-1);
			}
		}
		if (words[0] == NULL && k->type == KEY_LISTEN) {
			parse_error(p, "%s: no address", k->name);
			argv_free(words);
			return (-1);
		}
		list_append((char ***)field, words);
		argv_free(words);
		return (0);
	case KEY_BOOL:
		return (set_word(p, k, v, bool_words, (int *)field));
	case KEY_GIT_AUTHOR:
		return (set_word(p, k, v, author_words, (int *)field));
	case KEY_IMAGE:
	case KEY_CONTAINER:
		if (v[0] == '\0' || strpbrk(v, " \t\"'\\") != NULL ||
		    (k->type == KEY_CONTAINER && (strspn(v, "abcdefghijklmnop"
		    "qrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
		    strlen(v) || !isalnum((unsigned char)v[0])))) {
			parse_error(p, "%s: bad %s name \"%s\"", k->name,
			    k->type == KEY_IMAGE ? "image" : "container", v);
			return (-1);
		}
		return (set_string(sp, v));
	case KEY_CPUS:
		errno = 0;
		*(double *)field = strtod(v, &end);
		if (errno != 0 || *end != '\0' || end == v ||
		    *(double *)field <= 0 || *(double *)field > 1024) {
			parse_error(p, "%s: bad number of CPUs \"%s\"", k->name,
			    v);
			return (-1);
		}
		return (0);
	case KEY_NETWORK:
		if (strcmp(v, "none") != 0 && strcmp(v, "bridge") != 0 &&
		    strcmp(v, "host") != 0) {
			parse_error(p, "%s must be none, bridge or host, not "
			    "\"%s\"", k->name, v);
			return (-1);
		}
		return (set_string(sp, v));
	case KEY_EGRESS: {
		struct egress_list	*l = xcalloc(1, sizeof(*l));
		int			 r;

		r = egress_list_parse(l, v, why, sizeof(why));
		free(l);
		if (r == -1) {
			parse_error(p, "%s", why);
			return (-1);
		}
		return (set_string(sp, v));
	}
	case KEY_MOUNT:
		if (mount_check(v, why, sizeof(why)) == -1) {
			parse_error(p, "%s: %s", k->name, why);
			return (-1);
		}
		words = xcalloc(2, sizeof(*words));
		words[0] = xstrdup(v);
		list_append((char ***)field, words);
		argv_free(words);
		return (0);
	case KEY_MASK:
	case KEY_REPO_PATH:
		if (!repo_path(v)) {
			parse_error(p, "%s: \"%s\" must be a path inside the "
			    "repository, relative to it", k->name, v);
			return (-1);
		}
		if (k->type == KEY_REPO_PATH)
			return (set_string(sp, v));
		/*
		 * "private/" is the owner's private: what masks and git_exec
		 * compare, and what is looked up, is one spelling.
		 */
		words = xcalloc(2, sizeof(*words));
		if ((words[0] = repo_path_clean(v)) == NULL) {
			argv_free(words);
			parse_error(p, "%s: \"%s\" must be a path inside the "
			    "repository, not the repository itself", k->name, v);
			return (-1);
		}
		list_append((char ***)field, words);
		argv_free(words);
		return (0);
	case KEY_GIT_IDENT:
		if (agent_ident_check(v, why, sizeof(why)) == -1) {
			parse_error(p, "%s: %s", k->name, why);
			return (-1);
		}
		return (set_string(sp, v));
	case KEY_START:
		if (policy_start_parse(v, (enum policy_start *)field, why,
		    sizeof(why)) == -1) {
			parse_error(p, "%s", why);
			return (-1);
		}
		return (0);
	case KEY_STOP:
		if (policy_stop_parse(v, (struct policy *)field, why,
		    sizeof(why)) == -1) {
			parse_error(p, "%s", why);
			return (-1);
		}
		return (0);
	case KEY_DEFINITION:
		if (v[0] != '\0' && !repo_path(v)) {
			parse_error(p, "%s: \"%s\" must be a path inside the "
			    "repository, relative to it (or nothing, for "
			    "none)", k->name, v);
			return (-1);
		}
		return (set_string(sp, v));
	case KEY_NOTICE:
		if (activity_notice_template_check(v, why, sizeof(why)) == -1) {
			parse_error(p, "%s: %s", k->name, why);
			return (-1);
		}
		return (set_string(sp, v));
	case KEY_SECRET:
		return (set_secret(p, k, (char ***)field, v));
	case KEY_SECRET_REPOS:
	case KEY_SECRET_REFS:
	case KEY_PUSH_REFS:
		words = split_list(v);
		for (i = 0; words[i] != NULL; i++) {
			if ((k->type == KEY_SECRET_REPOS ?
			    secret_repo_check(words[i], why, sizeof(why)) :
			    secret_ref_check(words[i], why, sizeof(why))) ==
			    -1) {
				/* The same patterns; the message names its
				 * key (secret-push-refs). */
				parse_error(p, "%s", k->type == KEY_PUSH_REFS &&
				    strncmp(why, "secret-", 7) == 0 ? why + 7 :
				    why);
				argv_free(words);
				return (-1);
			}
		}
		n = (int)(argv_count(*(char ***)field) + argv_count(words));
		if (words[0] == NULL || n > (k->type == KEY_SECRET_REPOS ?
		    SECRET_MAX_REPOS : SECRET_MAX_REFS)) {
			parse_error(p, "%s: %s", k->name, words[0] == NULL ?
			    "nothing given" : k->type == KEY_SECRET_REPOS ?
			    "more than " STR(SECRET_MAX_REPOS) " repositories" :
			    "more than " STR(SECRET_MAX_REFS) " refs");
			argv_free(words);
			return (-1);
		}
		list_append((char ***)field, words);
		argv_free(words);
		return (0);
	case KEY_LOGLEVEL:
		if (log_level_parse(v, &lvl) == -1) {
			parse_error(p, "%s must be error, warning, info or "
			    "debug, not \"%s\"", k->name, v);
			return (-1);
		}
		*(enum log_level *)field = lvl;
		return (0);
	}
	return (-1);
}

static int
handler(void *arg, const char *section, const char *name, const char *value)
{
	struct parse	*p = arg;
	char		 label[128];
	int		 si, a;
	size_t		 i;

	if ((si = section_lookup(p, section, label, sizeof(label))) == -1)
		return (0);
	if (name == NULL)	/* a section header alone */
		return (1);
	for (i = 0; i < nitems(keys); i++) {
		if (strcmp(keys[i].section, sections[si].name) == 0 &&
		    strcmp(keys[i].name, name) == 0)
			break;
	}
	if (i == nitems(keys)) {
		parse_error(p, "unknown key \"%s\" in [%s]", name, section);
		return (0);
	}
	if (!keys[i].agent && p->set[i] != 0 && !keys[i].repeatable) {
		parse_error(p, "%s is already set at line %d", name,
		    p->set[i]);
		return (0);
	}
	if (keys[i].agent) {
		if ((a = agent_lookup(p, label)) < 0)
			return (0);
		if (p->agent_set[a][i] != 0 && !keys[i].repeatable) {
			parse_error(p, "%s is already set at line %d", name,
			    p->agent_set[a][i]);
			return (0);
		}
		p->agent_set[a][i] = p->line;
		p->agent = a;
		return (set_value(p, &p->conf->agents[a], &keys[i], value) ==
		    0);
	}
	p->set[i] = p->line;
	return (set_value(p, p->conf, &keys[i], value) == 0);
}

char *
config_default_socket(void)
{
	char	*s;

	if ((s = default_user_socket()) == NULL)
		s = xstrdup(QMSD_SYSTEM_SOCKET);
	return (s);
}

static char *
default_state_dir(void)
{
	const char	*e;
	char		*s;

	if (geteuid() == 0)
		return (xstrdup("/var/lib/qmsd"));
	if ((e = getenv("XDG_STATE_HOME")) != NULL && e[0] == '/')
		xasprintf(&s, "%s/qmsd", e);
	else if ((e = getenv("HOME")) != NULL && e[0] == '/')
		xasprintf(&s, "%s/.local/state/qmsd", e);
	else
		s = xstrdup("/var/lib/qmsd");
	return (s);
}

/* Defaults that depend on nothing; the file overrides them. */
static void
set_defaults(struct config *c)
{
	struct qms_mcp_conf	*q = &c->qms_mcp;

	q->enabled = TRI_AUTO;
	q->restart.policy = RESTART_ALWAYS;
	q->restart.backoff_min = 100;
	q->restart.backoff_max = 30000;
	q->restart.stable_after = 10000;
	q->restart.give_up = 0;
	q->restart.give_up_window = 300000;
	q->start_timeout = 60000;
	q->stop_timeout = 10000;
	q->probe_interval = 5000;
	q->probe_timeout = 2000;
	q->probe_failures = 3;

	c->http.max_body = 1024 * 1024;
	c->http.max_connections = 256;
	c->http.connection_timeout = 60000;
	c->http.request_line_timeout = 5000;
	c->http.head_timeout = 10000;
	c->http.max_connections_per_peer = 32;
	c->git.timeout = 50000;
	c->git.max_output = 1024 * 1024;
	c->git.max_concurrent = 4;
}

static char **
strlist(const char *first, ...)
{
	va_list		 ap;
	const char	*s;
	char		**l;
	size_t		 n = 0;

	l = xcalloc(16, sizeof(*l));
	va_start(ap, first);
	for (s = first; s != NULL && n < 15; s = va_arg(ap, const char *))
		l[n++] = xstrdup(s);
	va_end(ap);
	return (l);
}

/* [qms-mcp]'s defaults, which validate() compares too. */
#define QMS_MCP_COMMAND	"python3 -m qms_mcp --transport streamable-http " \
	"--host 127.0.0.1 --port 8001 --project-root {root}"
#define QMS_MCP_URL	"http://127.0.0.1:8001/mcp"

/* The port a command asks its server to listen on (--port N), or -1. */
static int
command_port(const char *command)
{
	char		**w, why[128];
	long long	  n = -1;
	int		  i, c;

	if ((c = argv_split(command, &w, why, sizeof(why))) <= 0) {
		argv_free(w);
		return (-1);
	}
	for (i = 0; i < c; i++) {
		if (strcmp(w[i], "--port") == 0 && i + 1 < c)
			parse_number(w[i + 1], 1, 65535, &n);
		else if (strncmp(w[i], "--port=", 7) == 0)
			parse_number(w[i] + 7, 1, 65535, &n);
	}
	argv_free(w);
	return ((int)n);
}

/* What no file said is taken from the environment and the project root. */
static int
fill_defaults(struct config *c, char *err, size_t errlen)
{
	char		 cwd[PATH_MAX];
	struct stat	 st;
	struct group	*gr;
	struct passwd	*pw;
	char		 uid[32];
	size_t		 i;

	if (c->project_root == NULL) {
		if (getcwd(cwd, sizeof(cwd)) == NULL) {
			snprintf(err, errlen, "project-root: cannot read the "
			    "current directory: %s", strerror(errno));
			return (-1);
		}
		/*
		 * Under systemd the directory is /, whose owner is root:
		 * managing the whole file system as root is never meant.
		 */
		if (strcmp(cwd, "/") == 0) {
			snprintf(err, errlen, "project-root defaults to the "
			    "current directory, which is /; set project-root "
			    "in the configuration");
			return (-1);
		}
		c->project_root = xstrdup(cwd);
	}
	if (c->run_as == NULL) {
		if (stat(c->project_root, &st) == -1) {
			snprintf(err, errlen, "project-root %s: %s",
			    c->project_root, strerror(errno));
			return (-1);
		}
		snprintf(uid, sizeof(uid), "%u", (unsigned)st.st_uid);
		if (lookup_user(uid, &c->run_as, &c->run_as_uid,
		    &c->run_as_gid) == -1) {
			snprintf(err, errlen, "run-as: the owner of %s (uid "
			    "%s) has no user entry; set run-as",
			    c->project_root, uid);
			return (-1);
		}
	} else if ((pw = getpwnam(c->run_as)) != NULL) {
		c->run_as_uid = pw->pw_uid;
		c->run_as_gid = pw->pw_gid;
	} else {
		snprintf(err, errlen, "run-as: no such user: %s", c->run_as);
		return (-1);
	}
	if (c->socket == NULL)
		c->socket = config_default_socket();
	if (c->admin_group == NULL)
		c->admin_group = xstrdup("qms");
	if ((gr = getgrnam(c->admin_group)) != NULL) {
		c->admin_gid = gr->gr_gid;
		c->admin_gid_found = 1;
	}
	if (c->state_dir == NULL)
		c->state_dir = default_state_dir();
	if (c->qms_mcp.command == NULL)
		c->qms_mcp.command = xstrdup(QMS_MCP_COMMAND);
	if (c->qms_mcp.workdir == NULL)
		c->qms_mcp.workdir = xstrdup("{root}/qms-cli");
	if (c->qms_mcp.url == NULL)
		c->qms_mcp.url = xstrdup(QMS_MCP_URL);
	/* No file at all: one agent, claude.  A file: the agents it names. */
	if (c->file == NULL && c->nagents == 0)
		agent_defaults(&c->agents[c->nagents++], "claude");
	for (i = 0; i < c->nagents; i++)
		agent_fill(&c->agents[i]);
	if (c->http.listen == NULL)
		c->http.listen = strlist("127.0.0.1:8000",
		    "docker-bridge:8000", NULL);
	if (c->http.docker_network == NULL)
		c->http.docker_network = xstrdup("bridge");
	if (c->http.allowed_hosts == NULL)
		c->http.allowed_hosts = strlist("localhost", "127.0.0.1",
		    "[::1]", "host.docker.internal", NULL);
	if (c->git.remotes == NULL)
		c->git.remotes = strlist("origin", NULL);
	if (c->qms_mcp.environment == NULL) {
		/* Python buffers a pipe; logs should arrive as written. */
		c->qms_mcp.environment = xcalloc(2, sizeof(char *));
		c->qms_mcp.environment[0] = xstrdup("PYTHONUNBUFFERED=1");
	}
	return (0);
}

char *
config_expand(const struct config *c, const char *s)
{
	const char	*at;
	char		*out, *tmp;

	out = xstrdup("");
	while ((at = strstr(s, "{root}")) != NULL) {
		xasprintf(&tmp, "%s%.*s%s", out, (int)(at - s), s,
		    c->project_root);
		free(out);
		out = tmp;
		s = at + 6;
	}
	xasprintf(&tmp, "%s%s", out, s);
	free(out);
	return (tmp);
}

/* The line that set a key, 0 if none did. */
static int
key_line(const struct parse *p, const char *section, const char *name)
{
	size_t	i;

	for (i = 0; i < nitems(keys); i++)
		if (strcmp(keys[i].section, section) == 0 &&
		    strcmp(keys[i].name, name) == 0)
			return (p->set[i]);
	return (0);
}

/* path, lexically: no "//", "." or ".." parts, no trailing "/". */
static void
path_clean(const char *path, char *out, size_t len)
{
	const char	*s = path, *e;
	size_t		 o = 0, n;

	out[0] = '\0';
	while (*s != '\0') {
		while (*s == '/')
			s++;
		e = s + strcspn(s, "/");
		n = (size_t)(e - s);
		if (n == 2 && s[0] == '.' && s[1] == '.') {
			while (o > 0 && out[--o] != '/')
				;
			out[o] = '\0';
		} else if (n > 0 && !(n == 1 && s[0] == '.') &&
		    o + 1 + n < len) {
			out[o++] = '/';
			memcpy(out + o, s, n);
			out[o += n] = '\0';
		}
		s = e;
	}
	if (o == 0)
		snprintf(out, len, "/");
}

/*
 * Whether a is b or above or below it, as written (cleaned, not
 * resolved: nothing on the file system is looked at while parsing).
 */
static int
path_overlaps(const char *a, const char *b)
{
	char	ca[PATH_MAX], cb[PATH_MAX];
	size_t	na, nb;

	path_clean(a, ca, sizeof(ca));
	path_clean(b, cb, sizeof(cb));
	na = strlen(ca);
	nb = strlen(cb);
	return (na == 1 || nb == 1 || (strncmp(ca, cb, na < nb ? na : nb) == 0 &&
	    (na == nb || (na < nb ? cb[na] : ca[nb]) == '/')));
}

/*
 * A mount that would undo what qmsd keeps from an agent: qmsd's state
 * (every agent's socket and token), Docker's socket (root on the host),
 * or, for a sealed agent, a mount over its link at /run/qmsd.
 */
static void
validate_mounts(struct parse *p, const struct agent_conf *a)
{
	const struct config	*c = p->conf;
	const char		*docker[] = { c->docker.socket,
				    "/run/docker.sock", "/var/run/docker.sock" };
	char			*state, src[PATH_MAX], *dst;
	size_t			 i, j;

	state = c->state_dir != NULL ? xstrdup(c->state_dir) :
	    default_state_dir();
	for (i = 0; a->mounts != NULL && a->mounts[i] != NULL; i++) {
		snprintf(src, sizeof(src), "%.*s",
		    (int)strcspn(a->mounts[i], ":"), a->mounts[i]);
		dst = xstrdup(a->mounts[i] + strlen(src) + 1);
		dst[strcspn(dst, ":")] = '\0';
		p->line = a->line;
		if (path_overlaps(src, state))
			parse_error(p, "agent %s: mount %s: it holds or is in "
			    "qmsd's state directory %s (every agent's socket "
			    "and token)", a->name, src, state);
		for (j = 0; j < nitems(docker); j++)
			if (docker[j] != NULL && path_overlaps(src, docker[j]))
				parse_error(p, "agent %s: mount %s: it holds "
				    "Docker's socket %s (root on the host)",
				    a->name, src, docker[j]);
		if ((a->network == NULL || strcmp(a->network, "none") == 0) &&
		    path_overlaps(dst, AGENT_LINK_DIR))
			parse_error(p, "agent %s: mount on %s: it would cover "
			    "the agent's link at " AGENT_LINK_DIR, a->name,
			    dst);
		free(dst);
	}
	free(state);
}

/* The line that set an agent's key, 0 if none did. */
static int
agent_key_line(const struct parse *p, size_t agent, const char *name)
{
	size_t	i;

	for (i = 0; i < nitems(keys); i++)
		if (keys[i].agent && strcmp(keys[i].name, name) == 0)
			return (p->agent_set[agent][i]);
	return (0);
}

/*
 * An agent's secrets and their scope, against the rest of its section:
 * the value comes from its env-file, the placeholder is swapped only by
 * its egress proxy (network = none) on hosts its egress list allows, and
 * a scope with no secret scopes nothing.
 */
static void
validate_secrets(struct parse *p, size_t ai)
{
	const struct agent_conf	*a = &p->conf->agents[ai];
	struct egress_list	*l;
	struct egress_target	 t;
	struct egress_decision	 d;
	struct secret_rule	 rule;
	char			 why[256];
	const char		*scopes[] = { "secret-repos", "secret-push-refs" };
	size_t			 i, j;

	if (a->secrets == NULL) {
		for (i = 0; i < nitems(scopes); i++) {
			if ((p->line = agent_key_line(p, ai, scopes[i])) != 0)
				parse_error(p, "%s: agent %s has no secret to "
				    "scope (declare one with secret = NAME "
				    "HOST ...)", scopes[i], a->name);
		}
		return;
	}
	p->line = p->secret_line[ai][0];
	if (a->env_file == NULL) {
		parse_error(p, "secret: agent %s has no env-file, where a "
		    "secret's value comes from: set env-file", a->name);
		return;
	}
	if (a->network != NULL && strcmp(a->network, "none") != 0) {
		parse_error(p, "secret: agent %s has network = %s; only an "
		    "agent with network = none goes through qmsd's egress "
		    "proxy, which puts the secret in place of its "
		    "placeholder", a->name, a->network);
		return;
	}
	l = xcalloc(1, sizeof(*l));
	if (egress_list_parse(l, a->egress != NULL ? a->egress :
	    AGENT_EGRESS_DEFAULT, why, sizeof(why)) == -1) {
		free(l);
		return;		/* said at the egress line already */
	}
	for (i = 0; a->secrets[i] != NULL; i++) {
		p->line = p->secret_line[ai][i];
		if (secret_rule_parse(a->secrets[i], &rule, why,
		    sizeof(why)) == -1)
			continue;	/* said at its line already */
		for (j = 0; j < rule.nhosts; j++) {
			if (egress_check_target(l, a->name, rule.hosts[j], &t,
			    &d) == -1)
				parse_error(p, "secret %s: %s is not in "
				    "[agent \"%s\"] egress", rule.name,
				    rule.hosts[j], a->name);
		}
	}
	free(l);
}

/* An agent's restart limits, as the supervisor's; names unique. */
static void
validate_agents(struct parse *p)
{
	const struct config	*c = p->conf;
	size_t			 i, j;

	for (i = 0; i < c->nagents; i++) {
		const struct agent_conf *a = &c->agents[i];

		validate_mounts(p, a);
		validate_secrets(p, i);

		if (a->restart.backoff_min < 1 || a->restart.backoff_max <
		    a->restart.backoff_min) {
			p->line = a->line;
			parse_error(p, "agent %s: backoff-min must be at least "
			    "1ms and at most backoff-max", a->name);
		}
		if (a->restart.give_up > RESTART_MAX_FAILURES) {
			p->line = a->line;
			parse_error(p, "agent %s: give-up must be at most %d, the "
			    "failures qmsd remembers (0: never give up)", a->name,
			    RESTART_MAX_FAILURES);
		}
		for (j = 0; j < i; j++) {
			if (c->agents[j].container != NULL &&
			    a->container != NULL &&
			    strcmp(c->agents[j].container, a->container) == 0) {
				p->line = a->line;
				parse_error(p, "agent %s: container %s is agent "
				    "%s's too", a->name, a->container,
				    c->agents[j].name);
			}
		}
	}
}

/* A socket path longer than sun_path could never be connected to. */
static void
validate_docker(struct parse *p)
{
	const char	*s = p->conf->docker.socket;

	if (s != NULL && strlen(s) >= DOCKER_SOCKET_MAX) {
		p->line = key_line(p, "docker", "socket");
		parse_error(p, "socket: %zu bytes is too long for a Unix "
		    "socket path (at most %d)", strlen(s),
		    DOCKER_SOCKET_MAX - 1);
	}
}

/* Limits of [http] and [git] that would make them useless. */
static void
validate_http_git(struct parse *p)
{
	const struct config	*c = p->conf;
	size_t			 i;

	if (key_line(p, "http", "max-connections") && c->http.max_connections
	    < 1) {
		p->line = key_line(p, "http", "max-connections");
		parse_error(p, "max-connections must be at least 1");
	}
	if (key_line(p, "http", "connection-timeout") &&
	    c->http.connection_timeout < 1000) {
		p->line = key_line(p, "http", "connection-timeout");
		parse_error(p, "connection-timeout must be at least 1s");
	}
	if (c->http.request_line_timeout < 1000 || c->http.head_timeout <
	    c->http.request_line_timeout) {
		p->line = key_line(p, "http", "head-timeout");
		if (p->line == 0 || c->http.request_line_timeout < 1000)
			p->line = key_line(p, "http", "request-line-timeout");
		parse_error(p, "request-line-timeout must be at least 1s, and "
		    "head-timeout no shorter");
	}
	if (key_line(p, "http", "max-body") && c->http.max_body < 1024) {
		p->line = key_line(p, "http", "max-body");
		parse_error(p, "max-body must be at least 1K");
	}
	if (argv_count(c->http.listen) > 8) {
		p->line = key_line(p, "http", "listen");
		parse_error(p, "listen: at most 8 addresses");
	}
	for (i = 0; c->http.allowed_hosts != NULL &&
	    c->http.allowed_hosts[i] != NULL; i++) {
		const char *h = c->http.allowed_hosts[i];

		if (strchr(h[0] == '[' ? strchr(h, ']') != NULL ?
		    strchr(h, ']') : h : h, ':') != NULL) {
			p->line = key_line(p, "http", "allowed-hosts");
			parse_error(p, "allowed-hosts: \"%s\": give the host "
			    "alone; any port is allowed", h);
		}
	}
	if (key_line(p, "git", "timeout") && c->git.timeout < 100) {
		p->line = key_line(p, "git", "timeout");
		parse_error(p, "timeout must be at least 100ms");
	}
	if (key_line(p, "git", "max-output") && (c->git.max_output < 1024 ||
	    c->git.max_output > 64 * 1024 * 1024)) {
		p->line = key_line(p, "git", "max-output");
		parse_error(p, "max-output must be from 1K to 64M");
	}
	if (key_line(p, "git", "max-concurrent") &&
	    c->git.max_concurrent < 1) {
		p->line = key_line(p, "git", "max-concurrent");
		parse_error(p, "max-concurrent must be at least 1");
	}
	if (key_line(p, "git", "remotes") && argv_count(c->git.remotes) ==
	    0) {
		p->line = key_line(p, "git", "remotes");
		parse_error(p, "remotes: name at least one remote");
	}
}

/*
 * What no single line can say is wrong: limits that would make a tight
 * loop, and pairs of keys at odds.  The error names the later of the lines.
 */
static void
validate(struct parse *p)
{
	const struct qms_mcp_conf	*q = &p->conf->qms_mcp;
	static const struct {
		const char	*name;
		size_t		 offset;
		uint64_t	 min;
	} floors[] = {
		{ "backoff-min", offsetof(struct qms_mcp_conf,
		    restart.backoff_min), 1 },
		{ "start-timeout", offsetof(struct qms_mcp_conf,
		    start_timeout), 100 },
		{ "probe-interval", offsetof(struct qms_mcp_conf,
		    probe_interval), 10 },
		{ "probe-timeout", offsetof(struct qms_mcp_conf,
		    probe_timeout), 10 },
	};
	size_t	i;
	int	a, b, port, uport;

	/* Even to nothing: then no path is protected. */
	p->conf->git.protected_set = key_line(p, "git", "protected-paths") != 0;
	for (i = 0; i < nitems(floors); i++) {
		if (*(const uint64_t *)((const char *)q + floors[i].offset) <
		    floors[i].min) {
			p->line = key_line(p, "qms-mcp", floors[i].name);
			parse_error(p, "%s must be at least %llums",
			    floors[i].name,
			    (unsigned long long)floors[i].min);
		}
	}
	if (q->restart.backoff_max < q->restart.backoff_min) {
		a = key_line(p, "qms-mcp", "backoff-min");
		b = key_line(p, "qms-mcp", "backoff-max");
		p->line = a > b ? a : b;
		parse_error(p, "backoff-max (%llums) is less than backoff-min "
		    "(%llums)", (unsigned long long)q->restart.backoff_max,
		    (unsigned long long)q->restart.backoff_min);
	}
	if (q->probe_failures < 1) {
		p->line = key_line(p, "qms-mcp", "probe-failures");
		parse_error(p, "probe-failures must be at least 1");
	}
	/* A server told one port and probed on another never comes up. */
	a = key_line(p, "qms-mcp", "command");
	b = key_line(p, "qms-mcp", "url");
	if ((a || b) && q->enabled != TRI_NO &&
	    (port = command_port(q->command ? q->command : QMS_MCP_COMMAND))
	    != -1 && url_host_port(q->url ? q->url : QMS_MCP_URL, NULL, 0,
	    &uport) == 0 && port != uport) {
		p->line = a > b ? a : b;
		parse_error(p, "[qms-mcp] command has --port %d but url has "
		    "port %d: set both to the same port", port, uport);
	}
	if (q->restart.give_up > RESTART_MAX_FAILURES) {
		p->line = key_line(p, "qms-mcp", "give-up");
		parse_error(p, "give-up must be at most %d, the failures qmsd "
		    "remembers (0: never give up)", RESTART_MAX_FAILURES);
	}
	validate_http_git(p);
	validate_docker(p);
	validate_agents(p);
}

struct config *
config_load_stream(FILE *fp, const char *file, char *err, size_t errlen)
{
	struct parse	 p;
	struct config	*c;
	int		 rc;

	c = xcalloc(1, sizeof(*c));
	c->log_level = LOG_LEVEL_INFO;
	set_defaults(c);
	if (fp != NULL) {
		memset(&p, 0, sizeof(p));
		p.conf = c;
		p.file = file;
		p.fp = fp;
		c->file = xstrdup(file);
		rc = ini_parse_stream(reader, &p, handler, &p);
		if (rc == 0 && p.err_line == 0)
			validate(&p);
		if (rc != 0 || p.err_line != 0) {
			if (p.err_line != 0 && (rc == 0 || p.err_line <= rc))
				snprintf(err, errlen, "%s:%d: %s", file,
				    p.err_line, p.err);
			else
				snprintf(err, errlen, "%s:%d: syntax error: "
				    "expected [section] or key = value",
				    file, rc);
			config_free(c);
			return (NULL);
		}
	}
	if (fill_defaults(c, err, errlen) == -1) {
		config_free(c);
		return (NULL);
	}
	return (c);
}

struct config *
config_load(const char *file, char *err, size_t errlen)
{
	struct config	*c;
	FILE		*fp;

	if (file == NULL)
		return (config_load_stream(NULL, NULL, err, errlen));
	if ((fp = fopen(file, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		return (NULL);
	}
	c = config_load_stream(fp, file, err, errlen);
	fclose(fp);
	return (c);
}

void
config_free(struct config *c)
{
	size_t	i;

	if (c == NULL)
		return;
	free(c->file);
	free(c->project_root);
	free(c->run_as);
	free(c->socket);
	free(c->admin_group);
	free(c->state_dir);
	free(c->upstream_ca);
	free(c->qms_mcp.command);
	free(c->qms_mcp.workdir);
	argv_free(c->qms_mcp.environment);
	free(c->qms_mcp.url);
	argv_free(c->http.listen);
	free(c->http.docker_network);
	argv_free(c->http.allowed_hosts);
	argv_free(c->http.allowed_origins);
	argv_free(c->git.remotes);
	argv_free(c->git.protected_paths);
	free(c->docker.socket);
	for (i = 0; i < c->nagents; i++) {
		struct agent_conf *a = &c->agents[i];

		free(a->name);
		free(a->image);
		free(a->container);
		free(a->command);
		free(a->network);
		free(a->egress);
		free(a->env_file);
		argv_free(a->secrets);
		argv_free(a->secret_repos);
		argv_free(a->secret_push_refs);
		argv_free(a->mounts);
		argv_free(a->masks);
		free(a->git_user_name);
		free(a->git_user_email);
		free(a->git_committer_name);
		free(a->git_committer_email);
		argv_free(a->push_refs);
		free(a->definition);
		free(a->inbox);
		free(a->notice);
	}
	free(c);
}
