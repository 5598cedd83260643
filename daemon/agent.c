#include <sys/queue.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "argv.h"
#include "component.h"
#include "config.h"
#include "docker.h"
#include "log.h"
#include "token.h"
#include "util.h"

#define AG_MAX_WAITERS	16
#define AG_ENV_MAX	64
#define AG_MASK_DEPTH	6	/* how deep .env files are looked for */
#define AG_MASK_MAX	256	/* more .env files than this: refuse */

enum ag_state {
	AG_UNKNOWN,		/* docker not reachable: we cannot tell */
	AG_MISSING,		/* no container */
	AG_CREATING,
	AG_STARTING,
	AG_RUNNING,
	AG_STOPPING,
	AG_STOPPED,		/* exited, as asked or by hand */
	AG_BACKOFF,		/* exited unexpectedly; will start again */
	AG_FAILED,		/* gave up, or cannot be made */
	AG_DISABLED,
};

static const char *const ag_state_names[] = {
	[AG_UNKNOWN] = "unknown",
	[AG_MISSING] = "missing",
	[AG_CREATING] = "creating",
	[AG_STARTING] = "starting",
	[AG_RUNNING] = "running",
	[AG_STOPPING] = "stopping",
	[AG_STOPPED] = "stopped",
	[AG_BACKOFF] = "backoff",
	[AG_FAILED] = "failed",
	[AG_DISABLED] = "disabled",
};

static const enum health ag_health[] = {
	[AG_UNKNOWN] = HEALTH_WARNING,
	[AG_MISSING] = HEALTH_OK,
	[AG_CREATING] = HEALTH_WARNING,
	[AG_STARTING] = HEALTH_WARNING,
	[AG_RUNNING] = HEALTH_OK,
	[AG_STOPPING] = HEALTH_WARNING,
	[AG_STOPPED] = HEALTH_OK,
	[AG_BACKOFF] = HEALTH_WARNING,
	[AG_FAILED] = HEALTH_CRITICAL,
	[AG_DISABLED] = HEALTH_NONE,
};

/* The steps of `up`, each one Docker request. */
enum ag_step {
	STEP_NONE,
	STEP_VOLUME_CONFIG,
	STEP_VOLUME_PROJECTS,
	STEP_INSPECT,
	STEP_REMOVE,
	STEP_CREATE,
	STEP_START,
	STEP_CONFIRM,
};

struct agent {
	char			 name[40];
	struct component	*comp;
	struct agent_conf	 conf;		/* a deep copy */
	enum ag_state		 state;
	enum ag_step		 step;
	char			 id[80];
	char			 hash[20];	/* of the spec we would create */
	char			*spec;		/* the create body */
	int			 force;
	int			 expect_stop;
	int			 kill_signal;	/* 15: a docker stop by hand */
	int			 oom;
	unsigned int		 restarts;
	uint64_t		 backoff;
	uint64_t		 failures[16];
	size_t			 nfailures;
	char			 last_exit[96];
	time_t			 started;
	struct event		*timer;
	struct event		*stable;	/* running long enough */
	struct {
		agent_up_done	 fn;
		void		*arg;
	}			 waiters[AG_MAX_WAITERS];
	size_t			 nwaiters;
	int			 stale;		/* no longer configured */
	int			 up_pending;	/* asked before docker answered */
	int			 seen;		/* in the last container list */
	int			 inflight;	/* Docker requests that name it */
	TAILQ_ENTRY(agent)	 entry;
};

static TAILQ_HEAD(, agent) agents = TAILQ_HEAD_INITIALIZER(agents);
static struct event_base *ag_base;
static const struct config *ag_conf;	/* the live one, never kept past */
static char		*ag_root, *ag_state_dir, *ag_user;
static uid_t		 ag_uid;
static gid_t		 ag_gid;
static char		 ag_port_host[80], ag_port_bridge[80];

static void	up_step(struct agent *, const struct docker_reply *);
static void	now_running(struct agent *, const char *);
static void	start_pending(void);
static void	agent_free(struct agent *);
static void	on_timer(evutil_socket_t, short, void *);

static void
publish(struct agent *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
publish(struct agent *a, const char *fmt, ...)
{
	char	detail[512];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	component_set(a->comp, ag_state_names[a->state], ag_health[a->state],
	    "%s", detail);
	component_set_restarts(a->comp, a->restarts);
	component_set_field(a->comp, "container", a->id[0] != '\0' ?
	    cJSON_CreateString(a->id) : cJSON_CreateNull());
	/* Cleared with the exit it reported: the container runs again. */
	component_set_field(a->comp, "last_exit", a->last_exit[0] != '\0' ?
	    cJSON_CreateString(a->last_exit) : cJSON_CreateNull());
}

static void
enter(struct agent *a, enum ag_state next, const char *why)
{
	if (a->state != next)
		log_info("agent %s: %s -> %s: %s", a->name,
		    ag_state_names[a->state], ag_state_names[next], why);
	a->state = next;
}

static struct agent *
find(const char *name)
{
	struct agent	*a;

	TAILQ_FOREACH(a, &agents, entry)
		if (!a->stale && strcmp(a->name, name) == 0)
			return (a);
	return (NULL);
}

/* Answer everyone waiting on `up` (or `down`). */
static void
settle(struct agent *a, const char *error)
{
	size_t	i, n = a->nwaiters;
	char	why[600];

	a->nwaiters = 0;
	a->step = STEP_NONE;
	if (error != NULL)
		snprintf(why, sizeof(why), "agent %s: %s", a->name, error);
	for (i = 0; i < n; i++)
		a->waiters[i].fn(a->waiters[i].arg, error != NULL ? why : NULL,
		    a->id);
}

static void
fail(struct agent *a, const char *why)
{
	enter(a, AG_FAILED, why);
	publish(a, "%s", why);
	settle(a, why);
}

/* ---- what the container gets ---- */

static char *
agent_dir(const struct agent *a)
{
	char	*d;

	xasprintf(&d, "%s/agents/%s", ag_state_dir, a->name);
	return (d);
}

/*
 * Whether a path below the project root has a symbolic link anywhere on
 * the way: root follows nothing the owner or an agent could have planted
 * (qmsd creates, chowns and mounts these paths as root).
 */
static int
through_symlink(const char *path)
{
	char		buf[4096], *p;
	struct stat	st;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return (1);
	for (p = buf + strlen(ag_root) + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		int last = *p == '\0';
		*p = '\0';
		if (lstat(buf, &st) == 0 && S_ISLNK(st.st_mode))
			return (1);
		if (last)
			break;
		*p = '/';
	}
	return (0);
}

/* mkdir -p below the project root, each new directory the owner's. */
static int
owner_mkdir(const char *path)
{
	char	buf[4096], *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf) ||
	    through_symlink(path)) {
		errno = ELOOP;
		return (-1);
	}
	for (p = buf + strlen(ag_root) + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		int last = *p == '\0';
		*p = '\0';
		if (mkdir(buf, 0755) == 0) {
			if (chown(buf, ag_uid, ag_gid) == -1)
				return (-1);
		} else if (errno != EEXIST)
			return (-1);
		if (last)
			break;
		*p = '/';
	}
	return (0);
}

/* An empty file the owner owns, where a mount needs a mount point. */
static int
owner_touch(const char *path)
{
	int	fd;

	if (through_symlink(path)) {
		errno = ELOOP;
		return (-1);
	}
	if (access(path, F_OK) == 0)
		return (0);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0644)) == -1)
		return (-1);
	if (fchown(fd, ag_uid, ag_gid) == -1) {
		close(fd);
		return (-1);
	}
	close(fd);
	return (0);
}

/* Write a file only the owner reads: it holds the agent's token. */
static int
write_private(const char *path, const char *text)
{
	char	*tmp;
	int	 fd, ok;

	xasprintf(&tmp, "%s.new", path);
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0400);
	ok = fd != -1 && write(fd, text, strlen(text)) ==
	    (ssize_t)strlen(text) && fchown(fd, ag_uid, ag_gid) == 0 &&
	    close(fd) == 0 && rename(tmp, path) == 0;
	if (!ok && fd != -1)
		close(fd);
	free(tmp);
	return (ok ? 0 : -1);
}

/* The base URL of qmsd's listener as this agent's container sees it. */
static const char *
base_url(const struct agent_conf *c)
{
	return (strcmp(c->network, "host") == 0 ? ag_port_host :
	    ag_port_bridge);
}

cJSON *
agent_mcp_config(const char *name, char *err, size_t errlen)
{
	struct agent	*a = NULL;
	const char	*tok, *base;
	char		 url[256], auth[128], path[512];
	cJSON		*o, *servers, *srv, *h;
	const char	*names[] = { "qms", "git" };
	int		 i;

	if (name != NULL) {
		if ((a = find(name)) == NULL) {
			snprintf(err, errlen, "no agent \"%s\"", name);
			return (NULL);
		}
		base = base_url(&a->conf);
		/* An agent's token exists once its container was made. */
		snprintf(path, sizeof(path), "agent:%s", a->name);
		tok = NULL;
		{
			char	*d = agent_dir(a), *f, buf[TOKEN_LEN + 2];
			FILE	*fp;

			xasprintf(&f, "%s/token", d);
			if ((fp = fopen(f, "r")) != NULL) {
				if (fgets(buf, sizeof(buf), fp) != NULL) {
					buf[strcspn(buf, "\n")] = '\0';
					tok = strdup(buf);
				}
				fclose(fp);
			}
			free(f);
			free(d);
		}
		if (tok == NULL) {
			snprintf(err, errlen, "agent %s has no token yet: "
			    "bring it up first", name);
			return (NULL);
		}
	} else {
		base = ag_port_host;
		tok = token_host();
	}
	if (base[0] == '\0') {
		snprintf(err, errlen, "no [http] listen address for this "
		    "network");
		if (a != NULL)
			free((char *)tok);
		return (NULL);
	}
	snprintf(auth, sizeof(auth), "Bearer %s", tok);
	o = cJSON_CreateObject();
	servers = cJSON_AddObjectToObject(o, "mcpServers");
	for (i = 0; i < 2; i++) {
		srv = cJSON_AddObjectToObject(servers, names[i]);
		snprintf(url, sizeof(url), "%s/%s/mcp", base, names[i]);
		cJSON_AddStringToObject(srv, "type", "http");
		cJSON_AddStringToObject(srv, "url", url);
		h = cJSON_AddObjectToObject(srv, "headers");
		cJSON_AddStringToObject(h, "Authorization", auth);
	}
	if (a != NULL)
		free((char *)tok);
	return (o);
}

/* KEY=VALUE lines of an env-file; NULL with why. */
static char **
read_env_file(const char *path, char *err, size_t errlen)
{
	char	**env, line[4096], *eq;
	size_t	  n = 0, lineno = 0;
	FILE	 *f;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "env-file %s: %s", path, strerror(errno));
		return (NULL);
	}
	env = xcalloc(AG_ENV_MAX + 1, sizeof(*env));
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if ((eq = strchr(line, '=')) == NULL || eq == line ||
		    n == AG_ENV_MAX) {
			snprintf(err, errlen, "%s:%zu: not KEY=VALUE", path,
			    lineno);
			argv_free(env);
			fclose(f);
			return (NULL);
		}
		env[n++] = xstrdup(line);
	}
	fclose(f);
	return (env);
}

static void
add_mount(cJSON *mounts, const char *type, const char *src, const char *dst,
    int ro)
{
	cJSON	*m = cJSON_CreateObject();

	cJSON_AddStringToObject(m, "Type", type);
	cJSON_AddStringToObject(m, "Source", src);
	cJSON_AddStringToObject(m, "Target", dst);
	cJSON_AddBoolToObject(m, "ReadOnly", ro);
	cJSON_AddItemToArray(mounts, m);
}

/*
 * Secrets the container must not read: every .env file (to a depth) and
 * what the configuration names.  Skips .git and node_modules.
 */
static void
find_env_files(const char *dir, const char *rel, int depth, char **out,
    size_t *n)
{
	struct dirent	*e;
	DIR		*d;
	char		*path, *r;

	if (depth > AG_MASK_DEPTH || (d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL && *n < AG_MASK_MAX) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") ==
		    0 || strcmp(e->d_name, ".git") == 0 ||
		    strcmp(e->d_name, "node_modules") == 0)
			continue;
		xasprintf(&r, "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
		if (e->d_type == DT_REG && (strcmp(e->d_name, ".env") == 0 ||
		    strncmp(e->d_name, ".env.", 5) == 0)) {
			out[(*n)++] = r;
			continue;
		}
		if (e->d_type == DT_DIR) {
			xasprintf(&path, "%s/%s", dir, e->d_name);
			find_env_files(path, r, depth + 1, out, n);
			free(path);
		}
		free(r);
	}
	closedir(d);
}

static void
add_mask(cJSON *mounts, const char *rel, const char *empty_dir)
{
	struct stat	 st;
	char		*host, *dst;

	xasprintf(&host, "%s/%s", ag_root, rel);
	xasprintf(&dst, "/pipe-dream/%s", rel);
	if (lstat(host, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			add_mount(mounts, "bind", empty_dir, dst, 1);
		else
			add_mount(mounts, "bind", "/dev/null", dst, 1);
	}
	free(host);
	free(dst);
}

/* FNV-1a: the label that says which configuration made a container. */
static void
spec_hash(const char *s, char out[20])
{
	uint64_t	h = 1469598103934665603ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	snprintf(out, 20, "%016llx", (unsigned long long)h);
}

/*
 * The whole create request, and the host side it needs: directories and
 * mount points made as the owner, generated files written.  NULL with why.
 */
static char *
build_spec(struct agent *a, char *err, size_t errlen)
{
	const struct agent_conf	*c = &a->conf;
	cJSON			*o, *env, *hc, *mounts, *labels, *hosts;
	char			*dir, *p, *q, *empty, *text, **extra = NULL;
	char			*masks[AG_MASK_MAX];
	char			 user[64], buf[512];
	size_t			 nmasks = 0, i;
	cJSON			*doc;

	dir = agent_dir(a);
	xasprintf(&empty, "%s/empty", dir);
	if (mkdir_p(dir, 0700) == -1 || mkdir_p(empty, 0555) == -1) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		free(dir);
		free(empty);
		return (NULL);
	}
	xasprintf(&p, "%s/.claude/users/%s/workspace", ag_root, a->name);
	xasprintf(&q, "%s/.claude/sessions", ag_root);
	if (owner_mkdir(p) == -1 || owner_mkdir(q) == -1) {
		snprintf(err, errlen, "cannot make %s: %s%s", p, strerror(errno),
		    errno == ELOOP ? " (a symbolic link on the way: qmsd "
		    "mounts only real directories)" : "");
		goto fail;
	}
	free(p);
	free(q);
	xasprintf(&p, "%s/.mcp.json", ag_root);
	xasprintf(&q, "%s/.claude/settings.local.json", ag_root);
	if (owner_touch(p) == -1 || owner_touch(q) == -1) {
		snprintf(err, errlen, "cannot make mount points in %s: %s",
		    ag_root, strerror(errno));
		goto fail;
	}
	free(p);
	free(q);
	if (c->env_file != NULL &&
	    (extra = read_env_file(c->env_file, err, errlen)) == NULL) {
		free(dir);
		free(empty);
		return (NULL);
	}

	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "Image", c->image);
	snprintf(user, sizeof(user), "%u:%u", (unsigned)ag_uid,
	    (unsigned)ag_gid);
	cJSON_AddStringToObject(o, "User", user);
	cJSON_AddStringToObject(o, "WorkingDir", "/pipe-dream");
	env = cJSON_AddArrayToObject(o, "Env");
	cJSON_AddItemToArray(env, cJSON_CreateString("HOME=/claude-config"));
	cJSON_AddItemToArray(env,
	    cJSON_CreateString("CLAUDE_CONFIG_DIR=/claude-config"));
	cJSON_AddItemToArray(env, cJSON_CreateString("MCP_TIMEOUT=60000"));
	snprintf(buf, sizeof(buf), "QMS_AGENT=%s", a->name);
	cJSON_AddItemToArray(env, cJSON_CreateString(buf));
	for (i = 0; extra != NULL && extra[i] != NULL; i++)
		cJSON_AddItemToArray(env, cJSON_CreateString(extra[i]));
	argv_free(extra);
	labels = cJSON_AddObjectToObject(o, "Labels");
	cJSON_AddStringToObject(labels, DOCKER_LABEL_AGENT, a->name);

	hc = cJSON_AddObjectToObject(o, "HostConfig");
	cJSON_AddNumberToObject(hc, "Memory", (double)c->memory);
	cJSON_AddNumberToObject(hc, "PidsLimit", (double)c->pids);
	if (c->cpus > 0)
		cJSON_AddNumberToObject(hc, "NanoCpus", c->cpus * 1e9);
	cJSON_AddStringToObject(hc, "NetworkMode", c->network);
	if (strcmp(c->network, "bridge") == 0) {
		hosts = cJSON_AddArrayToObject(hc, "ExtraHosts");
		cJSON_AddItemToArray(hosts,
		    cJSON_CreateString("host.docker.internal:host-gateway"));
	}
	cJSON_AddStringToObject(cJSON_AddObjectToObject(hc, "RestartPolicy"),
	    "Name", "no");	/* qmsd restarts, by the agent's policy */
	/*
	 * Docker's init as PID 1: it passes the stop signal on (a main
	 * process such as "sleep infinity" ignores SIGTERM as PID 1, and
	 * every down would wait out the 10s stop timeout) and reaps what
	 * sessions leave behind.
	 */
	cJSON_AddBoolToObject(hc, "Init", 1);
	cJSON_AddItemToArray(cJSON_AddArrayToObject(hc, "SecurityOpt"),
	    cJSON_CreateString("no-new-privileges"));
	cJSON_AddItemToArray(cJSON_AddArrayToObject(hc, "CapDrop"),
	    cJSON_CreateString("ALL"));

	mounts = cJSON_AddArrayToObject(hc, "Mounts");
	add_mount(mounts, "bind", ag_root, "/pipe-dream", 1);
	snprintf(buf, sizeof(buf), "%s/.claude/users/%s/workspace", ag_root,
	    a->name);
	xasprintf(&p, "/pipe-dream/.claude/users/%s/workspace", a->name);
	add_mount(mounts, "bind", buf, p, 0);
	free(p);
	snprintf(buf, sizeof(buf), "%s/.claude/sessions", ag_root);
	add_mount(mounts, "bind", buf, "/pipe-dream/.claude/sessions", 0);
	xasprintf(&p, "%s/mcp.json", dir);
	add_mount(mounts, "bind", p, "/pipe-dream/.mcp.json", 1);
	free(p);
	xasprintf(&p, "%s/settings.local.json", dir);
	add_mount(mounts, "bind", p, "/pipe-dream/.claude/settings.local.json",
	    1);
	free(p);
	snprintf(buf, sizeof(buf), "qms-claude-config-%s", a->name);
	add_mount(mounts, "volume", buf, "/claude-config", 0);
	snprintf(buf, sizeof(buf), "qms-projects-%s", a->name);
	add_mount(mounts, "volume", buf, "/projects", 0);
	/* Masks: secrets and the other agents' own directories. */
	find_env_files(ag_root, "", 0, masks, &nmasks);
	if (nmasks == AG_MASK_MAX) {
		/* Never a secret left visible because the list was full. */
		for (i = 0; i < nmasks; i++)
			free(masks[i]);
		cJSON_Delete(o);
		snprintf(err, errlen, "%d or more .env files in %s: mask "
		    "their directories with mask = DIR", AG_MASK_MAX, ag_root);
		free(dir);
		free(empty);
		return (NULL);
	}
	for (i = 0; i < nmasks; i++) {
		add_mask(mounts, masks[i], empty);
		free(masks[i]);
	}
	for (i = 0; c->masks != NULL && c->masks[i] != NULL; i++)
		add_mask(mounts, c->masks[i], empty);
	xasprintf(&p, "%s/.claude/users", ag_root);
	{
		DIR		*d = opendir(p);
		struct dirent	*e;

		while (d != NULL && (e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.' ||
			    strcmp(e->d_name, a->name) == 0)
				continue;
			snprintf(buf, sizeof(buf), ".claude/users/%s",
			    e->d_name);
			add_mask(mounts, buf, empty);
		}
		if (d != NULL)
			closedir(d);
	}
	free(p);
	for (i = 0; c->mounts != NULL && c->mounts[i] != NULL; i++) {
		char	*src = xstrdup(c->mounts[i]), *dst, *mode;

		dst = strchr(src, ':');
		*dst++ = '\0';
		if ((mode = strchr(dst, ':')) != NULL)
			*mode++ = '\0';
		add_mount(mounts, "bind", src, dst, mode != NULL &&
		    strcmp(mode, "ro") == 0);
		free(src);
	}

	text = cJSON_PrintUnformatted(o);
	spec_hash(text, a->hash);
	cJSON_AddStringToObject(labels, DOCKER_LABEL_CONFIG, a->hash);
	cJSON_free(text);
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);

	/* settings.local.json: the container's Claude uses both servers. */
	doc = cJSON_CreateObject();
	cJSON_AddTrueToObject(doc, "enableAllProjectMcpServers");
	env = cJSON_AddArrayToObject(doc, "enabledMcpjsonServers");
	cJSON_AddItemToArray(env, cJSON_CreateString("qms"));
	cJSON_AddItemToArray(env, cJSON_CreateString("git"));
	p = cJSON_Print(doc);
	cJSON_Delete(doc);
	xasprintf(&q, "%s/settings.local.json", dir);
	unlink(q);
	if (write_private(q, p) == -1) {
		snprintf(err, errlen, "%s: %s", q, strerror(errno));
		free(p);
		free(q);
		free(text);
		free(dir);
		free(empty);
		return (NULL);
	}
	free(p);
	free(q);
	free(dir);
	free(empty);
	return (text);

fail:
	free(p);
	free(q);
	free(dir);
	free(empty);
	return (NULL);
}

/* A new token, its file, and the .mcp.json that carries it. */
static int
rotate_token(struct agent *a, char *err, size_t errlen)
{
	char	 tok[TOKEN_LEN + 1], *dir, *f, *text, line[TOKEN_LEN + 2];
	cJSON	*doc;

	token_generate(tok);
	dir = agent_dir(a);
	xasprintf(&f, "%s/token", dir);
	snprintf(line, sizeof(line), "%s\n", tok);
	unlink(f);
	if (write_private(f, line) == -1) {
		snprintf(err, errlen, "%s: %s", f, strerror(errno));
		free(f);
		free(dir);
		return (-1);
	}
	free(f);
	token_set(a->name, tok);
	if ((doc = agent_mcp_config(a->name, err, errlen)) == NULL) {
		free(dir);
		return (-1);
	}
	text = cJSON_Print(doc);
	cJSON_Delete(doc);
	xasprintf(&f, "%s/mcp.json", dir);
	unlink(f);
	if (write_private(f, text) == -1) {
		snprintf(err, errlen, "%s: %s", f, strerror(errno));
		free(text);
		free(f);
		free(dir);
		return (-1);
	}
	free(text);
	free(f);
	free(dir);
	return (0);
}

/* After qmsd restarts: the token of an adopted container, from its file. */
static void
load_token(struct agent *a)
{
	char	*dir = agent_dir(a), *f, buf[TOKEN_LEN + 2];
	FILE	*fp;

	xasprintf(&f, "%s/token", dir);
	if ((fp = fopen(f, "r")) != NULL) {
		if (fgets(buf, sizeof(buf), fp) != NULL) {
			buf[strcspn(buf, "\n")] = '\0';
			token_set(a->name, buf);
		}
		fclose(fp);
	}
	free(f);
	free(dir);
}

/* ---- up: a chain of Docker requests ---- */

/*
 * A reply for an agent that a reload removed meanwhile: it is freed once
 * nothing of Docker's still names it.
 */
static int
reply_for_stale(struct agent *a)
{
	a->inflight--;
	if (!a->stale)
		return (0);
	settle(a, "the agent was removed from the configuration");
	if (a->inflight == 0) {
		TAILQ_REMOVE(&agents, a, entry);
		agent_free(a);
	}
	return (1);
}

static void
up_done(const struct docker_reply *r, void *arg)
{
	struct agent	*a = arg;

	if (!reply_for_stale(a))
		up_step(a, r);
}

static void
request(struct agent *a, enum ag_step step, const char *method,
    const char *path, const char *body)
{
	a->step = step;
	a->inflight++;
	docker_request(method, path, body, up_done, a);
}

/*
 * Claude Code in the container uses the project's .mcp.json servers only
 * in a project it trusts; the trust is recorded in its config, which lives
 * in this volume.  Set it once, keeping whatever else is there (the
 * login among it).
 */
static void
trust_project(const char *dir)
{
	char	*path, *text = NULL, *tmp;
	cJSON	*doc = NULL, *projects, *proj;
	FILE	*f;
	long	 n;
	int	 fd;

	xasprintf(&path, "%s/.claude.json", dir);
	if ((f = fopen(path, "r")) != NULL) {
		if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 &&
		    n < 16 * 1024 * 1024 && fseek(f, 0, SEEK_SET) == 0) {
			text = xcalloc(1, (size_t)n + 1);
			if (fread(text, 1, (size_t)n, f) == (size_t)n)
				doc = cJSON_Parse(text);
			free(text);
		}
		fclose(f);
		if (doc == NULL) {
			/* Not ours to rewrite: a file we cannot read. */
			free(path);
			return;
		}
	} else
		doc = cJSON_CreateObject();
	if ((projects = cJSON_GetObjectItemCaseSensitive(doc, "projects")) ==
	    NULL)
		projects = cJSON_AddObjectToObject(doc, "projects");
	if ((proj = cJSON_GetObjectItemCaseSensitive(projects,
	    "/pipe-dream")) == NULL)
		proj = cJSON_AddObjectToObject(projects, "/pipe-dream");
	if (cJSON_IsObject(proj) &&
	    !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(proj,
	    "hasTrustDialogAccepted"))) {
		cJSON_DeleteItemFromObjectCaseSensitive(proj,
		    "hasTrustDialogAccepted");
		cJSON_AddTrueToObject(proj, "hasTrustDialogAccepted");
		/* Whole or not at all: the login lives in this file. */
		text = cJSON_Print(doc);
		xasprintf(&tmp, "%s.qmsd-new", path);
		unlink(tmp);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
		    O_NOFOLLOW, 0600);
		if (fd == -1 || write(fd, text, strlen(text)) !=
		    (ssize_t)strlen(text) || fchown(fd, ag_uid, ag_gid) == -1 ||
		    fsync(fd) == -1 || rename(tmp, path) == -1) {
			log_warn("agent: cannot write %s", path);
			unlink(tmp);
		}
		if (fd != -1)
			close(fd);
		free(tmp);
		free(text);
	}
	cJSON_Delete(doc);
	free(path);
}

/* Docker's named volume, owned by the agent's uid so it can write. */
static void
own_volume(const struct docker_reply *r, int config)
{
	const cJSON	*mp;

	mp = cJSON_GetObjectItemCaseSensitive(r->json, "Mountpoint");
	if (!cJSON_IsString(mp) || geteuid() != 0)
		return;
	if (chown(mp->valuestring, ag_uid, ag_gid) == -1)
		log_warn("chown %s", mp->valuestring);
	if (config)
		trust_project(mp->valuestring);
}

static void
volume_request(struct agent *a, enum ag_step step, const char *prefix)
{
	char	body[256];

	snprintf(body, sizeof(body), "{\"Name\":\"%s-%s\",\"Labels\":"
	    "{\"%s\":\"%s\"}}", prefix, a->name, DOCKER_LABEL_AGENT, a->name);
	request(a, step, "POST", "/volumes/create", body);
}

static void
up_step(struct agent *a, const struct docker_reply *r)
{
	const cJSON	*labels, *v, *st;
	char		 path[256], err[512];

	switch (a->step) {
	case STEP_NONE:
		return;
	case STEP_VOLUME_CONFIG:
	case STEP_VOLUME_PROJECTS:
		if (r->status != 201 && r->status != 200) {
			snprintf(err, sizeof(err), "cannot make its volume: "
			    "%s", r->error ? r->error : "no answer");
			fail(a, err);
			return;
		}
		own_volume(r, a->step == STEP_VOLUME_CONFIG);
		if (a->step == STEP_VOLUME_CONFIG) {
			volume_request(a, STEP_VOLUME_PROJECTS,
			    "qms-projects");
			return;
		}
		snprintf(path, sizeof(path), "/containers/%s/json",
		    a->conf.container);
		request(a, STEP_INSPECT, "GET", path, NULL);
		return;
	case STEP_INSPECT:
		if (r->status == 404) {
			a->id[0] = '\0';
			goto create;
		}
		if (r->status != 200) {
			fail(a, r->error ? r->error : "no answer from docker");
			return;
		}
		labels = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(r->json, "Config"),
		    "Labels");
		v = cJSON_GetObjectItemCaseSensitive(labels,
		    DOCKER_LABEL_AGENT);
		if (!cJSON_IsString(v) || strcmp(v->valuestring, a->name) != 0) {
			snprintf(err, sizeof(err), "the name %s is taken by a "
			    "container qmsd does not own; remove or rename it "
			    "(docker rm %s)", a->conf.container,
			    a->conf.container);
			fail(a, err);
			return;
		}
		v = cJSON_GetObjectItemCaseSensitive(r->json, "Id");
		snprintf(a->id, sizeof(a->id), "%s", cJSON_IsString(v) ?
		    v->valuestring : "");
		v = cJSON_GetObjectItemCaseSensitive(labels,
		    DOCKER_LABEL_CONFIG);
		st = cJSON_GetObjectItemCaseSensitive(r->json, "ExecIDs");
		if ((!cJSON_IsString(v) || strcmp(v->valuestring, a->hash) !=
		    0) && cJSON_GetArraySize(st) > 0 && !a->force &&
		    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(r->json, "State"),
		    "Running"))) {
			/*
			 * A session is attached: the new configuration waits
			 * for the next up without one (or up --force).
			 */
			load_token(a);
			now_running(a, "kept for an attached session");
			publish(a, "running %s (%.12s); configuration changed: "
			    "recreated at the next up with no session attached "
			    "(or up --force)", a->conf.image, a->id);
			settle(a, NULL);
			return;
		}
		if (!cJSON_IsString(v) || strcmp(v->valuestring, a->hash) != 0) {
			/* Made from another configuration: make it anew. */
			log_info("agent %s: configuration changed; recreating "
			    "%s", a->name, a->conf.container);
			a->expect_stop = 1;
			snprintf(path, sizeof(path), "/containers/%s?force=1",
			    a->id);
			request(a, STEP_REMOVE, "DELETE", path, NULL);
			return;
		}
		st = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(r->json, "State"),
		    "Running");
		if (cJSON_IsTrue(st)) {
			load_token(a);
			if (a->state != AG_RUNNING)
				now_running(a, "already running");
			settle(a, NULL);
			return;
		}
		goto start;
	case STEP_REMOVE:
		if (r->status != 204 && r->status != 404) {
			fail(a, r->error ? r->error : "cannot remove");
			return;
		}
		a->id[0] = '\0';
		goto create;
	case STEP_CREATE:
		if (r->status == 404) {
			snprintf(err, sizeof(err), "image %s is missing; build "
			    "it: docker build -t %s docker/ (%s)",
			    a->conf.image, a->conf.image, r->error ? r->error :
			    "");
			fail(a, err);
			return;
		}
		if (r->status == 409) {
			snprintf(err, sizeof(err), "the name %s is taken: %s",
			    a->conf.container, r->error ? r->error : "");
			fail(a, err);
			return;
		}
		if (r->status != 201) {
			fail(a, r->error ? r->error : "cannot create");
			return;
		}
		v = cJSON_GetObjectItemCaseSensitive(r->json, "Id");
		snprintf(a->id, sizeof(a->id), "%s", cJSON_IsString(v) ?
		    v->valuestring : "");
		goto start;
	case STEP_START:
		if (r->status != 204 && r->status != 304) {
			a->expect_stop = 0;
			fail(a, r->error ? r->error : "cannot start");
			return;
		}
		snprintf(path, sizeof(path), "/containers/%s/json", a->id);
		request(a, STEP_CONFIRM, "GET", path, NULL);
		return;
	case STEP_CONFIRM:
		st = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(r->json, "State"),
		    "Running");
		if (!cJSON_IsTrue(st)) {
			fail(a, "the container exited as it started; see "
			    "docker logs");
			return;
		}
		now_running(a, "started");
		settle(a, NULL);
		return;
	}
	return;

create:
	free(a->spec);
	if ((a->spec = build_spec(a, err, sizeof(err))) == NULL ||
	    rotate_token(a, err, sizeof(err)) == -1) {
		fail(a, err);
		return;
	}
	a->last_exit[0] = '\0';
	enter(a, AG_CREATING, "creating");
	publish(a, "creating %s from %s", a->conf.container, a->conf.image);
	snprintf(path, sizeof(path), "/containers/create?name=%s",
	    a->conf.container);
	request(a, STEP_CREATE, "POST", path, a->spec);
	return;
start:
	a->expect_stop = 0;
	a->kill_signal = 0;
	a->oom = 0;
	enter(a, AG_STARTING, "starting");
	publish(a, "starting %.12s", a->id);
	snprintf(path, sizeof(path), "/containers/%s/start", a->id);
	request(a, STEP_START, "POST", path, NULL);
}

static void
on_stable(evutil_socket_t fd, short ev, void *arg)
{
	struct agent	*a = arg;

	/* Up long enough: past failures no longer lengthen the backoff. */
	if (a->state == AG_RUNNING)
		a->backoff = 0;
}

static void
now_running(struct agent *a, const char *why)
{
	struct timeval	tv;

	a->started = time(NULL);
	enter(a, AG_RUNNING, why);
	publish(a, "running %s (%.12s)", a->conf.image, a->id);
	tv.tv_sec = (time_t)(a->conf.restart.stable_after / 1000);
	tv.tv_usec = (suseconds_t)(a->conf.restart.stable_after % 1000) * 1000;
	evtimer_add(a->stable, &tv);
}

/* Begin (or join) bringing an agent up. */
static void
up_begin(struct agent *a)
{
	char	*spec, err[512];

	if (a->step != STEP_NONE)
		return;		/* already on its way */
	evtimer_del(a->timer);
	/* The spec decides whether an existing container still fits. */
	if ((spec = build_spec(a, err, sizeof(err))) == NULL) {
		fail(a, err);
		return;
	}
	free(a->spec);
	a->spec = spec;
	volume_request(a, STEP_VOLUME_CONFIG, "qms-claude-config");
}

int
agent_bring_up(const char *name, int force, agent_up_done fn, void *arg,
    char *err, size_t errlen)
{
	struct agent	*a;

	if ((a = find(name)) == NULL) {
		snprintf(err, errlen, "no agent \"%s\"", name);
		return (-1);
	}
	if (!a->conf.enabled) {
		snprintf(err, errlen, "agent %s is disabled (enabled = no)",
		    name);
		return (-1);
	}
	if (!docker_ready() && !docker_connecting()) {
		snprintf(err, errlen, "docker is unreachable: %s",
		    docker_why());
		return (-1);
	}
	if (a->nwaiters == AG_MAX_WAITERS) {
		snprintf(err, errlen, "too many waiting on agent %s", name);
		return (-1);
	}
	if (a->state == AG_STOPPING) {
		snprintf(err, errlen, "agent %s is stopping; up again once it "
		    "has stopped", name);
		return (-1);
	}
	a->force = force;
	a->nfailures = 0;
	a->waiters[a->nwaiters].fn = fn;
	a->waiters[a->nwaiters++].arg = arg;
	/* While qmsd is still reaching Docker, the up waits for it. */
	if (docker_ready())
		up_begin(a);
	else
		a->up_pending = 1;
	return (0);
}

int
agent_info(const char *name, char *id, size_t idlen, char ***command,
    char *user, size_t userlen)
{
	struct agent	*a;
	char		 err[128];

	if ((a = find(name)) == NULL || a->id[0] == '\0')
		return (-1);
	snprintf(id, idlen, "%s", a->id);
	snprintf(user, userlen, "%u:%u", (unsigned)ag_uid, (unsigned)ag_gid);
	if (argv_split(a->conf.command, command, err, sizeof(err)) <= 0) {
		argv_free(*command);
		*command = NULL;
		return (-1);
	}
	return (0);
}

static void
down_done(const struct docker_reply *r, void *arg)
{
	struct agent	*a = arg;

	if (reply_for_stale(a))
		return;
	if (r->status != 204 && r->status != 304 && r->status != 404) {
		settle(a, r->error ? r->error : "cannot stop");
		return;
	}
	if (a->state != AG_MISSING) {
		enter(a, AG_STOPPED, "qmsctl down");
		publish(a, "stopped (qmsctl down); volumes kept");
	}
	settle(a, NULL);
}

int
agent_known(const char *name)
{
	return (find(name) != NULL);
}

int
agent_take_down(const char *name, agent_up_done fn, void *arg, char *err,
    size_t errlen)
{
	struct agent	*a;
	char		 path[256];

	if ((a = find(name)) == NULL) {
		snprintf(err, errlen, "no agent \"%s\"", name);
		return (-1);
	}
	if (!docker_ready()) {
		snprintf(err, errlen, "docker is unreachable: %s",
		    docker_why());
		return (-1);
	}
	evtimer_del(a->timer);
	if (a->step != STEP_NONE || a->nwaiters > 0) {
		/* An up under way ends here, and says so. */
		settle(a, "interrupted by qmsctl down");
	}
	a->waiters[a->nwaiters].fn = fn;
	a->waiters[a->nwaiters++].arg = arg;
	if (a->id[0] == '\0') {
		settle(a, NULL);
		return (0);
	}
	a->expect_stop = 1;
	a->step = STEP_NONE;
	enter(a, AG_STOPPING, "qmsctl down");
	publish(a, "stopping %.12s", a->id);
	snprintf(path, sizeof(path), "/containers/%s/stop?t=10", a->id);
	a->inflight++;
	docker_request("POST", path, NULL, down_done, a);
	return (0);
}

/* ---- events: what happened to a container ---- */

static void
restart_later(struct agent *a, const char *why)
{
	struct timeval	tv;
	uint64_t	now = now_ms(), delay;
	size_t		i, recent = 0;

	if (a->nfailures == nitems(a->failures)) {
		memmove(a->failures, a->failures + 1,
		    sizeof(a->failures[0]) * (nitems(a->failures) - 1));
		a->nfailures--;
	}
	a->failures[a->nfailures++] = now;
	for (i = 0; i < a->nfailures; i++)
		if (now - a->failures[i] <= a->conf.restart.give_up_window)
			recent++;
	if (a->conf.restart.give_up > 0 &&
	    (long long)recent >= a->conf.restart.give_up) {
		enter(a, AG_FAILED, "gave up");
		publish(a, "gave up after %zu failures: %s", recent, why);
		return;
	}
	if (a->backoff == 0)
		a->backoff = a->conf.restart.backoff_min;
	delay = a->backoff;
	a->backoff = a->backoff * 2 > a->conf.restart.backoff_max ?
	    a->conf.restart.backoff_max : a->backoff * 2;
	enter(a, AG_BACKOFF, why);
	publish(a, "%s; next start in %.1fs", why, (double)delay / 1000);
	tv.tv_sec = (time_t)(delay / 1000);
	tv.tv_usec = (suseconds_t)(delay % 1000) * 1000;
	evtimer_add(a->timer, &tv);
}

static void
on_timer(evutil_socket_t fd, short ev, void *arg)
{
	struct agent	*a = arg;

	if (a->state != AG_BACKOFF || !docker_ready())
		return;
	a->restarts++;
	up_begin(a);
}

static void
container_died(struct agent *a, int code)
{
	char	why[128];
	int	clean = code == 0 && !a->oom;

	if (a->oom)
		snprintf(a->last_exit, sizeof(a->last_exit), "killed: out of "
		    "memory (exit %d)", code);
	else
		snprintf(a->last_exit, sizeof(a->last_exit), "exit %d", code);
	if (a->expect_stop || a->step != STEP_NONE)
		return;		/* ours: down, or a recreate */
	if (a->kill_signal == 15) {
		/* docker stop by hand: reported, not undone. */
		enter(a, AG_STOPPED, "stopped outside qmsd");
		publish(a, "stopped outside qmsd (docker stop): %s; qmsctl up "
		    "starts it again", a->last_exit);
		a->kill_signal = 0;
		return;
	}
	snprintf(why, sizeof(why), "container exited unexpectedly (%s)",
	    a->last_exit);
	log_warnx("agent %s: %s", a->name, why);
	a->kill_signal = 0;
	if (a->conf.restart.policy == RESTART_NEVER ||
	    (a->conf.restart.policy == RESTART_ON_FAILURE && clean)) {
		enter(a, clean ? AG_STOPPED : AG_FAILED, why);
		publish(a, "%s; restart = %s", why,
		    a->conf.restart.policy == RESTART_NEVER ? "never" :
		    "on-failure");
		return;
	}
	restart_later(a, why);
}

static void
on_event(const cJSON *ev, void *arg)
{
	const cJSON	*type, *action, *actor, *attrs, *name, *id, *v;
	struct agent	*a;
	const char	*act;

	type = cJSON_GetObjectItemCaseSensitive(ev, "Type");
	action = cJSON_GetObjectItemCaseSensitive(ev, "Action");
	actor = cJSON_GetObjectItemCaseSensitive(ev, "Actor");
	attrs = cJSON_GetObjectItemCaseSensitive(actor, "Attributes");
	name = cJSON_GetObjectItemCaseSensitive(attrs, DOCKER_LABEL_AGENT);
	id = cJSON_GetObjectItemCaseSensitive(actor, "ID");
	if (!cJSON_IsString(type) || strcmp(type->valuestring, "container") !=
	    0 || !cJSON_IsString(action) || !cJSON_IsString(name) ||
	    !cJSON_IsString(id) || (a = find(name->valuestring)) == NULL)
		return;
	if (a->id[0] != '\0' && strcmp(a->id, id->valuestring) != 0)
		return;		/* an old container of the agent's */
	act = action->valuestring;
	log_debug("agent %s: docker event %s", a->name, act);
	if (strcmp(act, "start") == 0) {
		if (a->id[0] == '\0')
			snprintf(a->id, sizeof(a->id), "%s", id->valuestring);
		if (a->step == STEP_NONE)
			now_running(a, "started");
	} else if (strcmp(act, "oom") == 0)
		a->oom = 1;
	else if (strncmp(act, "kill", 4) == 0) {
		v = cJSON_GetObjectItemCaseSensitive(attrs, "signal");
		/*
		 * docker stop sends SIGTERM first (then SIGKILL when it must);
		 * docker kill sends SIGKILL alone.  A SIGTERM nobody here
		 * asked for is someone stopping the agent by hand.
		 */
		if (cJSON_IsString(v) && !a->expect_stop &&
		    atoi(v->valuestring) == 15)
			a->kill_signal = 15;
	} else if (strcmp(act, "die") == 0) {
		v = cJSON_GetObjectItemCaseSensitive(attrs, "exitCode");
		container_died(a, cJSON_IsString(v) ? atoi(v->valuestring) :
		    -1);
	} else if (strcmp(act, "destroy") == 0 && a->step == STEP_NONE) {
		a->id[0] = '\0';
		enter(a, AG_MISSING, "container removed");
		publish(a, "no container (removed); qmsctl up makes one");
	}
}

/* ---- resynchronising after (re)connecting to Docker ---- */

static void
list_done(const struct docker_reply *r, void *arg)
{
	const cJSON	*c, *labels, *v, *id, *state;
	struct agent	*a;

	if (r->status != 200) {
		start_pending();
		return;
	}
	TAILQ_FOREACH(a, &agents, entry)
		a->seen = 0;
	cJSON_ArrayForEach(c, r->json) {
		labels = cJSON_GetObjectItemCaseSensitive(c, "Labels");
		v = cJSON_GetObjectItemCaseSensitive(labels,
		    DOCKER_LABEL_AGENT);
		id = cJSON_GetObjectItemCaseSensitive(c, "Id");
		state = cJSON_GetObjectItemCaseSensitive(c, "State");
		if (!cJSON_IsString(v) || !cJSON_IsString(id) ||
		    (a = find(v->valuestring)) == NULL || a->step != STEP_NONE
		    || !a->conf.enabled)
			continue;
		/* Its own container, if it knows one; else the first. */
		if (a->seen || (a->id[0] != '\0' && strcmp(a->id,
		    id->valuestring) != 0 && a->state != AG_UNKNOWN))
			continue;
		a->seen = 1;
		snprintf(a->id, sizeof(a->id), "%s", id->valuestring);
		load_token(a);
		if (cJSON_IsString(state) &&
		    strcmp(state->valuestring, "running") == 0) {
			if (a->state != AG_RUNNING)
				now_running(a, "adopted");
		} else if (a->state != AG_BACKOFF && a->state != AG_FAILED &&
		    a->state != AG_STOPPED) {
			/* A restart or a verdict in hand is kept. */
			enter(a, AG_STOPPED, "found stopped");
			publish(a, "stopped (%s); qmsctl up starts it",
			    cJSON_IsString(state) ? state->valuestring : "?");
		}
	}
	TAILQ_FOREACH(a, &agents, entry) {
		if (a->seen || a->stale || a->step != STEP_NONE ||
		    !a->conf.enabled || a->state == AG_FAILED)
			continue;
		a->id[0] = '\0';
		enter(a, AG_MISSING, "no container");
		publish(a, "no container; qmsctl up makes one");
	}
	start_pending();
}

/* Docker could not be reached: whoever waits is told why. */
static void
on_docker_unreachable(void *arg)
{
	struct agent	*a;
	char		 why[512];

	snprintf(why, sizeof(why), "docker is unreachable: %s",
	    docker_why());
	TAILQ_FOREACH(a, &agents, entry) {
		a->up_pending = 0;
		if (a->step != STEP_NONE || a->nwaiters > 0) {
			a->step = STEP_NONE;
			settle(a, why);
		}
		if (a->state != AG_DISABLED) {
			enter(a, AG_UNKNOWN, "docker unreachable");
			publish(a, "%s", why);
		}
	}
}

static void
on_docker_ready(void *arg)
{
	char	path[256];

	snprintf(path, sizeof(path), "/containers/json?all=1&filters=%%7B%%22"
	    "label%%22%%3A%%5B%%22%s%%22%%5D%%7D", DOCKER_LABEL_AGENT);
	docker_request("GET", path, NULL, list_done, NULL);
}

/* After the resync: the ups that waited for Docker go on. */
static void
start_pending(void)
{
	struct agent	*a;

	TAILQ_FOREACH(a, &agents, entry) {
		if (a->up_pending) {
			a->up_pending = 0;
			up_begin(a);
		}
	}
}

/* ---- configuration ---- */

static void
conf_copy(struct agent_conf *dst, const struct agent_conf *src)
{
	*dst = *src;
	dst->name = xstrdup(src->name);
	dst->image = xstrdup(src->image);
	dst->container = xstrdup(src->container);
	dst->command = xstrdup(src->command);
	dst->network = xstrdup(src->network);
	dst->env_file = src->env_file ? xstrdup(src->env_file) : NULL;
	dst->mounts = xargv_copy(src->mounts);
	dst->masks = xargv_copy(src->masks);
}

static void
conf_free(struct agent_conf *c)
{
	free(c->name);
	free(c->image);
	free(c->container);
	free(c->command);
	free(c->network);
	free(c->env_file);
	argv_free(c->mounts);
	argv_free(c->masks);
}

static void
agent_free(struct agent *a)
{
	settle(a, "qmsd is shutting down");
	event_free(a->timer);
	event_free(a->stable);
	component_remove(a->comp);
	token_remove(a->name);
	conf_free(&a->conf);
	free(a->spec);
	free(a);
}

/* Where qmsd listens, as a URL from the host and from a bridge. */
static void
listen_urls(const struct config *c)
{
	char	host[64];
	int	port, i;

	ag_port_host[0] = ag_port_bridge[0] = '\0';
	for (i = 0; c->http.listen[i] != NULL; i++) {
		if (listen_parse(c->http.listen[i], host, sizeof(host),
		    &port) == -1)
			continue;
		if (strcmp(host, "docker-bridge") == 0) {
			snprintf(ag_port_bridge, sizeof(ag_port_bridge),
			    "http://host.docker.internal:%d", port);
			continue;
		}
		if (ag_port_host[0] == '\0')
			snprintf(ag_port_host, sizeof(ag_port_host),
			    strchr(host, ':') ? "http://[%s]:%d" :
			    "http://%s:%d", host, port);
		if (ag_port_bridge[0] == '\0')
			snprintf(ag_port_bridge, sizeof(ag_port_bridge),
			    "http://host.docker.internal:%d", port);
	}
}

void
agent_configure(const struct config *c)
{
	struct agent	*a, *tmp;
	size_t		 i;
	char		 cname[64];
	int		 needed = 0;

	ag_conf = c;
	free(ag_root);
	free(ag_state_dir);
	free(ag_user);
	ag_root = xstrdup(c->project_root);
	ag_state_dir = xstrdup(c->state_dir);
	ag_user = xstrdup(c->run_as);
	ag_uid = c->run_as_uid;
	ag_gid = c->run_as_gid;
	listen_urls(c);

	TAILQ_FOREACH(a, &agents, entry)
		a->stale = 1;
	for (i = 0; i < c->nagents; i++) {
		TAILQ_FOREACH(a, &agents, entry)
			if (strcmp(a->name, c->agents[i].name) == 0)
				break;
		if (a == NULL) {
			a = xcalloc(1, sizeof(*a));
			snprintf(a->name, sizeof(a->name), "%s",
			    c->agents[i].name);
			snprintf(cname, sizeof(cname), "agent:%s", a->name);
			a->comp = component_add(cname);
			a->timer = evtimer_new(ag_base, on_timer, a);
			a->stable = evtimer_new(ag_base, on_stable, a);
			a->state = AG_UNKNOWN;
			TAILQ_INSERT_TAIL(&agents, a, entry);
		} else
			conf_free(&a->conf);
		a->stale = 0;
		conf_copy(&a->conf, &c->agents[i]);
		if (!a->conf.enabled) {
			a->state = AG_DISABLED;
			publish(a, "enabled = no");
			continue;
		}
		needed = 1;
		if (a->state == AG_DISABLED)
			a->state = AG_UNKNOWN;
		if (a->state == AG_UNKNOWN)
			publish(a, "waiting for docker");
	}
	/* Agents no longer configured: their tokens stop working. */
	for (a = TAILQ_FIRST(&agents); a != NULL; a = tmp) {
		tmp = TAILQ_NEXT(a, entry);
		if (a->stale && a->inflight == 0) {
			TAILQ_REMOVE(&agents, a, entry);
			agent_free(a);
		} else if (a->stale)
			settle(a, "the agent was removed from the configuration");
	}
	docker_configure(needed);
	if (docker_ready())
		on_docker_ready(NULL);
}

void
agent_init(struct event_base *base)
{
	ag_base = base;
	docker_on_event(on_event, NULL);
	docker_on_ready(on_docker_ready, NULL);
	docker_on_unreachable(on_docker_unreachable, NULL);
}

void
agent_shutdown(void)
{
	struct agent	*a;

	while ((a = TAILQ_FIRST(&agents)) != NULL) {
		TAILQ_REMOVE(&agents, a, entry);
		agent_free(a);
	}
	free(ag_root);
	free(ag_state_dir);
	free(ag_user);
}

cJSON *
agent_ps(void)
{
	struct agent	*a;
	cJSON		*list, *o;

	list = cJSON_CreateArray();
	TAILQ_FOREACH(a, &agents, entry) {
		if (a->stale)
			continue;
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "agent", a->name);
		cJSON_AddStringToObject(o, "state", ag_state_names[a->state]);
		cJSON_AddStringToObject(o, "container", a->id);
		cJSON_AddStringToObject(o, "name", a->conf.container);
		cJSON_AddStringToObject(o, "image", a->conf.image);
		cJSON_AddStringToObject(o, "command", a->conf.command);
		{
			char	user[32];

			snprintf(user, sizeof(user), "%u:%u",
			    (unsigned)ag_uid, (unsigned)ag_gid);
			cJSON_AddStringToObject(o, "user", user);
		}
		cJSON_AddNumberToObject(o, "uptime", a->state == AG_RUNNING &&
		    a->started > 0 ? (double)(time(NULL) - a->started) : 0);
		cJSON_AddNumberToObject(o, "restarts", a->restarts);
		cJSON_AddStringToObject(o, "last_exit", a->last_exit);
		cJSON_AddItemToArray(list, o);
	}
	return (list);
}

const char *
agent_container(const char *name)
{
	struct agent	*a = find(name);

	return (a != NULL && a->id[0] != '\0' ? a->id : NULL);
}

void
agent_unwait(void *arg)
{
	struct agent	*a;
	size_t		 i;

	TAILQ_FOREACH(a, &agents, entry) {
		for (i = 0; i < a->nwaiters; i++) {
			if (a->waiters[i].arg != arg)
				continue;
			memmove(&a->waiters[i], &a->waiters[i + 1],
			    (a->nwaiters - i - 1) * sizeof(a->waiters[0]));
			a->nwaiters--;
			i--;
		}
	}
}
