#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "agent-host.h"
#include "argv.h"
#include "config.h"
#include "log.h"
#include "masks.h"
#include "util.h"

#define AGENT_ENV_MAX	64

char *
agent_host_dir(const struct agent_host *h, const char *name)
{
	char	*d;

	xasprintf(&d, "%s/agents/%s", h->state_dir, name);
	return (d);
}

/*
 * Each directory on the way from below the project root to path, the path
 * last: fn sees each as a prefix, and stops the walk with anything but 0.
 */
static int
host_walk(const struct agent_host *h, const char *path,
    int (*fn)(const struct agent_host *, const char *, void *), void *arg)
{
	char	buf[4096], *p;
	int	last, rv;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf) ||
	    strncmp(buf, h->root, strlen(h->root)) != 0 ||
	    buf[strlen(h->root)] != '/')
		return (-1);
	for (p = buf + strlen(h->root) + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		last = *p == '\0';
		*p = '\0';
		if ((rv = fn(h, buf, arg)) != 0)
			return (rv);
		if (last)
			break;
		*p = '/';
	}
	return (0);
}

static int
is_symlink(const struct agent_host *h, const char *path, void *arg)
{
	struct stat	st;

	return (lstat(path, &st) == 0 && S_ISLNK(st.st_mode));
}

/*
 * Whether a path below the project root has a symbolic link anywhere on
 * the way: root follows nothing the owner or an agent could have planted
 * (qmsd creates, chowns and mounts these paths as root).
 */
static int
through_symlink(const struct agent_host *h, const char *path)
{
	return (host_walk(h, path, is_symlink, NULL) != 0);
}

static int
make_owned(const struct agent_host *h, const char *path, void *arg)
{
	if (mkdir(path, 0755) == 0) {
		if (chown(path, h->uid, h->gid) == -1)
			return (-1);
	} else if (errno != EEXIST)
		return (-1);
	return (0);
}

/* mkdir -p below the project root, each new directory the owner's. */
static int
owner_mkdir(const struct agent_host *h, const char *path)
{
	if (through_symlink(h, path)) {
		errno = ELOOP;
		return (-1);
	}
	return (host_walk(h, path, make_owned, NULL));
}

/* An empty file the owner owns, where a mount needs a mount point. */
static int
owner_touch(const struct agent_host *h, const char *path)
{
	int	fd;

	if (through_symlink(h, path)) {
		errno = ELOOP;
		return (-1);
	}
	if (access(path, F_OK) == 0)
		return (0);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0644)) == -1)
		return (-1);
	if (fchown(fd, h->uid, h->gid) == -1) {
		close(fd);
		return (-1);
	}
	close(fd);
	return (0);
}

/* Write a file only the owner reads: it holds the agent's token. */
static int
write_private(const struct agent_host *h, const char *path, const char *text)
{
	char	*tmp;
	int	 fd, ok;

	xasprintf(&tmp, "%s.new", path);
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0400);
	ok = fd != -1 && write(fd, text, strlen(text)) ==
	    (ssize_t)strlen(text) && fchown(fd, h->uid, h->gid) == 0 &&
	    close(fd) == 0 && rename(tmp, path) == 0;
	if (!ok && fd != -1)
		close(fd);
	free(tmp);
	return (ok ? 0 : -1);
}

int
agent_host_write(const struct agent_host *h, const char *name,
    const char *file, const char *text, char *err, size_t errlen)
{
	char	*dir = agent_host_dir(h, name), *path;
	int	 rv;

	xasprintf(&path, "%s/%s", dir, file);
	unlink(path);
	if ((rv = write_private(h, path, text)) == -1)
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	free(path);
	free(dir);
	return (rv);
}

int
agent_host_read_token(const struct agent_host *h, const char *name,
    char *tok, size_t len)
{
	char	*dir = agent_host_dir(h, name), *f;
	FILE	*fp;
	int	 rv = -1;

	xasprintf(&f, "%s/token", dir);
	if ((fp = fopen(f, "r")) != NULL) {
		if (fgets(tok, (int)len, fp) != NULL) {
			tok[strcspn(tok, "\n")] = '\0';
			rv = 0;
		}
		fclose(fp);
	}
	free(f);
	free(dir);
	return (rv);
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
	env = xcalloc(AGENT_ENV_MAX + 1, sizeof(*env));
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if ((eq = strchr(line, '=')) == NULL || eq == line ||
		    n == AGENT_ENV_MAX) {
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

/* A mask for what exists at rel (lstat: no link followed); 0 or -1. */
static int
host_mask(const struct agent_host *h, const char *rel, struct agent_mask *m)
{
	struct stat	 st;
	char		*host;
	int		 rv;

	xasprintf(&host, "%s/%s", h->root, rel);
	rv = lstat(host, &st);
	free(host);
	if (rv == -1)
		return (-1);
	m->path = rel;
	m->dir = S_ISDIR(st.st_mode);
	return (0);
}

char *
agent_host_spec(const struct agent_host *h, const struct agent_conf *c,
    struct masks *mk, char hash[AGENT_HASH_LEN], char *err, size_t errlen)
{
	struct agent_facts	 f;
	struct agent_mask	*masks = NULL, *others = NULL;
	char			*dir, *p = NULL, *q = NULL, *empty, *text = NULL;
	char			**extra = NULL, **users = NULL;
	char *const		*envs;
	size_t			 nenvs, nmasks = 0, nothers = 0, nusers = 0, i;
	DIR			*d;
	struct dirent		*e;
	cJSON			*doc, *list;

	dir = agent_host_dir(h, c->name);
	xasprintf(&empty, "%s/empty", dir);
	if (mkdir_p(dir, 0700) == -1 || mkdir_p(empty, 0555) == -1) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		goto out;
	}
	xasprintf(&p, "%s/.claude/users/%s/workspace", h->root, c->name);
	xasprintf(&q, "%s/.claude/sessions", h->root);
	if (owner_mkdir(h, p) == -1 || owner_mkdir(h, q) == -1) {
		snprintf(err, errlen, "cannot make %s: %s%s", p, strerror(errno),
		    errno == ELOOP ? " (a symbolic link on the way: qmsd "
		    "mounts only real directories)" : "");
		goto out;
	}
	free(p);
	free(q);
	xasprintf(&p, "%s/.mcp.json", h->root);
	xasprintf(&q, "%s/.claude/settings.local.json", h->root);
	if (owner_touch(h, p) == -1 || owner_touch(h, q) == -1) {
		snprintf(err, errlen, "cannot make mount points in %s: %s",
		    h->root, strerror(errno));
		goto out;
	}
	if (c->env_file != NULL &&
	    (extra = read_env_file(c->env_file, err, errlen)) == NULL)
		goto out;

	/* Masks: secrets and the other agents' own directories. */
	if (masks_env_files(mk, h->root, &envs, &nenvs, err, errlen) == -1)
		goto out;
	masks = xcalloc(nenvs + (c->masks != NULL ? argv_count(c->masks) : 0) +
	    1, sizeof(*masks));
	for (i = 0; i < nenvs; i++)
		if (host_mask(h, envs[i], &masks[nmasks]) == 0)
			nmasks++;
	for (i = 0; c->masks != NULL && c->masks[i] != NULL; i++)
		if (host_mask(h, c->masks[i], &masks[nmasks]) == 0)
			nmasks++;
	free(p);
	xasprintf(&p, "%s/.claude/users", h->root);
	if ((d = opendir(p)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.' ||
			    strcmp(e->d_name, c->name) == 0)
				continue;
			users = reallocarray(users, nusers + 1,
			    sizeof(*users));
			if (users == NULL)
				fatal("reallocarray");
			xasprintf(&users[nusers++], ".claude/users/%s",
			    e->d_name);
		}
		closedir(d);
	}
	others = xcalloc(nusers + 1, sizeof(*others));
	for (i = 0; i < nusers; i++)
		if (host_mask(h, users[i], &others[nothers]) == 0) {
			/* The spec names them below .claude/users. */
			others[nothers++].path += strlen(".claude/users/");
		}

	f.root = h->root;
	f.uid = h->uid;
	f.gid = h->gid;
	f.dir = dir;
	f.env = extra;
	f.masks = masks;
	f.nmasks = nmasks;
	f.others = others;
	f.nothers = nothers;
	text = agent_spec(c, &f, hash);

	/* settings.local.json: the container's Claude uses both servers. */
	doc = cJSON_CreateObject();
	cJSON_AddTrueToObject(doc, "enableAllProjectMcpServers");
	list = cJSON_AddArrayToObject(doc, "enabledMcpjsonServers");
	cJSON_AddItemToArray(list, cJSON_CreateString("qms"));
	cJSON_AddItemToArray(list, cJSON_CreateString("git"));
	free(q);
	q = cJSON_Print(doc);
	cJSON_Delete(doc);
	if (agent_host_write(h, c->name, "settings.local.json", q, err,
	    errlen) == -1) {
		free(text);
		text = NULL;
	}
out:
	for (i = 0; i < nusers; i++)
		free(users[i]);
	free(users);
	free(others);
	free(masks);
	argv_free(extra);
	free(p);
	free(q);
	free(empty);
	free(dir);
	return (text);
}

/*
 * Claude Code in the container uses the project's .mcp.json servers only
 * in a project it trusts; the trust is recorded in its config, which lives
 * in this volume.  Set it once, keeping whatever else is there (the
 * login among it).
 */
static void
trust_project(const struct agent_host *h, const char *dir)
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
		    (ssize_t)strlen(text) || fchown(fd, h->uid, h->gid) == -1 ||
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

void
agent_host_own_volume(const struct agent_host *h, const char *path,
    int config)
{
	if (geteuid() != 0)
		return;
	if (chown(path, h->uid, h->gid) == -1)
		log_warn("chown %s", path);
	if (config)
		trust_project(h, path);
}
