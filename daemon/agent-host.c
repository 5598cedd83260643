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
#include "agent-socket.h"
#include "argv.h"
#include "config.h"
#include "egress-ca.h"
#include "env-file.h"
#include "log.h"
#include "masks.h"
#include "safe-path.h"
#include "secret-rule.h"
#include "secret-store.h"
#include "util.h"

char *
agent_host_dir(const struct agent_host *h, const char *name)
{
	char	*d;

	xasprintf(&d, "%s/agents/%s", h->state_dir, name);
	return (d);
}

/*
 * A mount point in the repository for a file qmsd mounts over: an empty
 * file, the owner's, 0600 (the owner's own .mcp.json there would hold the
 * host token).  One already there is the owner's to keep, but for an empty
 * one that is wider or not the owner's (an older qmsd's placeholder),
 * which is tightened; a .mcp.json with something in it that others can
 * read is told of in the log.  Made and looked at through safe-path.h.
 */
static int
owner_placeholder(const struct agent_host *h, int rootfd, const char *rel)
{
	struct stat	st;
	int		fd;

	if ((fd = safe_create(rootfd, rel, 0600, h->uid, h->gid)) != -1) {
		close(fd);
		return (0);
	}
	if (errno != EEXIST || (fd = safe_open(rootfd, rel, O_RDONLY)) == -1)
		return (-1);
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = ENXIO;
		return (-1);
	}
	/*
	 * An old placeholder of qmsd's own is tightened; a name with another
	 * link could be someone else's file, which root never gives away.
	 */
	if (st.st_size == 0 && st.st_nlink == 1 && ((st.st_mode & 077) != 0 ||
	    st.st_uid != h->uid)) {
		if (fchown(fd, h->uid, h->gid) == -1 ||
		    fchmod(fd, 0600) == -1)
			log_warn("cannot tighten %s/%s", h->root, rel);
	} else if (st.st_size > 0 && (st.st_mode & 077) != 0 &&
	    strcmp(rel, ".mcp.json") == 0)
		log_warnx("%s/%s can be read by others (mode %03o): if it holds "
		    "qmsd's host token (qmsctl mcp-config), anyone on this host "
		    "can use it; chmod 600 it", h->root, rel,
		    (unsigned)(st.st_mode & 0777));
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

/*
 * A configured mask, for what exists at rel; 0, or -1 when nothing is
 * there.  A link is masked where it leads, as a secret found is
 * (masks.c): Docker resolves the target in the container, so a link to a
 * directory takes the empty one (/dev/null there would fail the start).
 * One that leads nowhere, out of the repository, or to a directory on
 * its own way (which no mount on it can be made over) is not masked:
 * what it shows is not the repository's, or is there to read anyway.
 */
static int
host_mask(int rootfd, const char *rel, struct agent_mask *m)
{
	struct stat	st;

	if (safe_lstat(rootfd, rel, &st) == -1 || (S_ISLNK(st.st_mode) &&
	    safe_link_beneath(rootfd, rel, &st) == -1))
		return (-1);
	m->path = rel;
	m->dir = S_ISDIR(st.st_mode);
	return (0);
}

/*
 * Whether a configured mask falls in .claude/users outside the agent's
 * own directory: hidden already, and a mount point cannot be made in the
 * read-only directory that hides it.
 */
static int
hidden_already(const char *rel, const char *name)
{
	const char	*users = ".claude/users/";
	size_t		 n = strlen(users), len = strlen(name);

	return (strncmp(rel, users, n) == 0 &&
	    !(strncmp(rel + n, name, len) == 0 &&
	    (rel[n + len] == '/' || rel[n + len] == '\0')));
}

/*
 * network = none: the directory of the agent's socket, the owner's, as
 * agent-socket.c makes it; made here too, since a bind mount needs its
 * source before the socket is there.
 */
static int
link_dir(const struct agent_host *h, const char *path)
{
	if (mkdir(path, 0700) == -1)
		return (errno == EEXIST ? 0 : -1);
	if (geteuid() == 0 && chown(path, h->uid, h->gid) == -1)
		return (-1);
	return (0);
}

/*
 * An agent with secrets: their placeholders, in the order of its secret
 * keys (phv NULL-terminated, pointing into ph), and the egress CA it is
 * to trust, which must be there.
 */
static int
secret_facts(const struct agent_conf *c,
    char ph[][SECRET_PLACEHOLDER_MAX + 1], char **phv, char *err,
    size_t errlen)
{
	struct secret_rule	rule;
	char			why[256];
	size_t			i;

	if (!egress_ca_ready()) {
		snprintf(err, errlen, "agent %s has secrets, and qmsd's egress "
		    "CA is not ready (see the log at start or reload)",
		    c->name);
		return (-1);
	}
	for (i = 0; c->secrets[i] != NULL && i < SECRET_MAX_PER_AGENT; i++) {
		if (secret_rule_parse(c->secrets[i], &rule, why,
		    sizeof(why)) == -1) {
			snprintf(err, errlen, "secret: %s", why);
			return (-1);
		}
		secret_store_placeholder(c->name, rule.name, ph[i],
		    SECRET_PLACEHOLDER_MAX + 1);
		phv[i] = ph[i];
	}
	phv[i] = NULL;
	return (0);
}

char *
agent_host_spec(const struct agent_host *h, const struct agent_conf *c,
    struct masks *mk, char hash[AGENT_HASH_LEN], char *err, size_t errlen)
{
	struct agent_facts	 f;
	struct agent_files	 files = { NULL, NULL, NULL };
	struct agent_mask	*masks = NULL;
	const struct masks_file	*found;
	char			*dir, *p = NULL, *q = NULL, *text = NULL;
	char			*link, *def = NULL;
	char			**extra = NULL;
	char			 ph[SECRET_MAX_PER_AGENT]
				    [SECRET_PLACEHOLDER_MAX + 1];
	char			*phv[SECRET_MAX_PER_AGENT + 1];
	size_t			 nfound, nmasks = 0, i;
	size_t			 nsecrets = argv_count(c->secrets);
	int			 rootfd, fd;

	dir = agent_host_dir(h, c->name);
	link = agent_socket_dir(h->state_dir, c->name);
	xasprintf(&p, "%s/empty", dir);
	xasprintf(&q, "%s/" AGENT_USERS_DIR "/%s", dir, c->name);
	if (mkdir_p(dir, 0700) == -1 || mkdir_p(p, 0555) == -1 ||
	    mkdir_p(q, 0555) == -1 || (strcmp(c->network, "none") == 0 &&
	    link_dir(h, link) == -1)) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		free(p);
		free(q);
		free(link);
		free(dir);
		return (NULL);
	}
	free(p);
	free(q);
	p = q = NULL;
	if ((rootfd = safe_dir(h->root)) == -1) {
		snprintf(err, errlen, "%s: %s", h->root,
		    safe_strerror(errno));
		goto out;
	}
	xasprintf(&p, ".claude/users/%s/workspace", c->name);
	if ((fd = safe_mkdir(rootfd, p, 0755, h->uid, h->gid)) == -1 ||
	    close(fd) == -1 || (fd = safe_mkdir(rootfd, ".claude/sessions",
	    0755, h->uid, h->gid)) == -1 || close(fd) == -1) {
		snprintf(err, errlen, "cannot make %s/%s: %s%s", h->root, p,
		    safe_strerror(errno), errno == ELOOP || errno == ENOTDIR ?
		    " on the way (qmsd mounts only real directories)" : "");
		goto out;
	}
	if (owner_placeholder(h, rootfd, ".mcp.json") == -1 ||
	    owner_placeholder(h, rootfd, ".claude/settings.local.json") ==
	    -1) {
		snprintf(err, errlen, "cannot make mount points in %s: %s",
		    h->root, safe_strerror(errno));
		goto out;
	}
	if (c->env_file != NULL &&
	    (extra = env_file_read(c->env_file, NULL, err, errlen)) == NULL)
		goto out;
	if (nsecrets > 0 && secret_facts(c, ph, phv, err, errlen) == -1)
		goto out;

	/* Masks: the secrets found and those the configuration names. */
	if (masks_env_files(mk, h->root, &found, &nfound, err, errlen) == -1)
		goto out;
	masks = xcalloc(nfound + (c->masks != NULL ? argv_count(c->masks) : 0) +
	    1, sizeof(*masks));
	for (i = 0; i < nfound; i++) {
		masks[nmasks].path = found[i].path;
		masks[nmasks].source = found[i].snapshot;
		masks[nmasks++].dir = found[i].dir;
	}
	for (i = 0; c->masks != NULL && c->masks[i] != NULL; i++)
		if (!hidden_already(c->masks[i], c->name) &&
		    host_mask(rootfd, c->masks[i], &masks[nmasks]) == 0)
			nmasks++;

	f.root = h->root;
	f.uid = h->uid;
	f.gid = h->gid;
	f.dir = dir;
	f.link = link;
	f.env = extra;
	f.masks = masks;
	f.nmasks = nmasks;
	f.definition = NULL;
	f.placeholders = nsecrets > 0 ? phv : NULL;
	f.ca_cert = nsecrets > 0 ? egress_ca_cert_path() : NULL;
	f.ca_bundle = nsecrets > 0 ? egress_ca_bundle_path() : NULL;
	if (c->definition != NULL && c->definition[0] != '\0') {
		/*
		 * From the repository, which the agent writes: no link on the
		 * way, nothing but a regular file, never waited on.
		 */
		def = safe_read(rootfd, c->definition, AGENT_DEFINITION_MAX,
		    NULL);
		if (def == NULL && errno != ENOENT) {
			snprintf(err, errlen, "definition %s/%s: %s%s", h->root,
			    c->definition, errno == EFBIG ? "larger than 1M" :
			    safe_strerror(errno), errno == ELOOP ||
			    errno == ENOTDIR ? " (qmsd reads a definition only "
			    "through real directories, never a link)" : "");
			goto out;
		}
		f.definition = def;
	}
	text = agent_spec(c, &f, &files, hash);
	if ((def != NULL && agent_host_write(h, c->name, AGENT_FILE_DEFINITION,
	    def, err, errlen) == -1) ||
	    agent_host_write(h, c->name, AGENT_FILE_PASSWD, files.passwd, err,
	    errlen) == -1 || agent_host_write(h, c->name, AGENT_FILE_GROUP,
	    files.group, err, errlen) == -1 || agent_host_write(h, c->name,
	    AGENT_FILE_GITCONFIG, files.gitconfig, err, errlen) == -1) {
		free(text);
		text = NULL;
		goto out;
	}

	/* settings.local.json holds its token: agent.c writes it. */
out:
	if (rootfd != -1)
		close(rootfd);
	agent_files_free(&files);
	free(def);
	free(masks);
	env_file_free(extra);
	free(p);
	free(q);
	free(link);
	free(dir);
	return (text);
}

/*
 * Set a boolean member of obj true; 1 when that changed it.  Whatever
 * else obj holds stays.
 */
static int
set_true(cJSON *obj, const char *key)
{
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(obj, key)))
		return (0);
	cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
	cJSON_AddTrueToObject(obj, key);
	return (1);
}

/*
 * Claude Code in the container starts without a person: its config, which
 * lives in this volume, says its first-run screens are done (without
 * that, an interactive Claude stops at them, or exits) and the project
 * trusted (it uses the project's .mcp.json servers only then).  Set once,
 * keeping whatever else is there (the login among it).  The agent writes
 * this volume: the file is read and replaced through safe-path.h, never
 * followed or waited on, and a file that is not a JSON object is not
 * ours to rewrite.
 */
static void
seed_claude_config(const struct agent_host *h, int vfd, const char *dir)
{
	char	*text;
	cJSON	*doc, *projects, *proj;
	int	 changed;

	if ((text = safe_read(vfd, ".claude.json", SAFE_READ_MAX,
	    NULL)) == NULL && errno != ENOENT) {
		log_warnx("agent: %s/.claude.json: %s; Claude there may stop "
		    "at its first-run screens", dir, safe_strerror(errno));
		return;
	}
	doc = text != NULL ? cJSON_Parse(text) : cJSON_CreateObject();
	free(text);
	if (!cJSON_IsObject(doc)) {
		log_warnx("agent: %s/.claude.json is not a JSON object; left "
		    "as it is", dir);
		cJSON_Delete(doc);
		return;
	}
	changed = set_true(doc, "hasCompletedOnboarding");
	if ((projects = cJSON_GetObjectItemCaseSensitive(doc, "projects")) ==
	    NULL)
		projects = cJSON_AddObjectToObject(doc, "projects");
	if ((proj = cJSON_GetObjectItemCaseSensitive(projects,
	    "/pipe-dream")) == NULL && cJSON_IsObject(projects))
		proj = cJSON_AddObjectToObject(projects, "/pipe-dream");
	if (cJSON_IsObject(proj))
		changed |= set_true(proj, "hasTrustDialogAccepted");
	if (changed) {
		/* Whole or not at all: the login lives in this file. */
		text = cJSON_Print(doc);
		if (safe_replace(vfd, ".claude.json", text, strlen(text), 0600,
		    h->uid, h->gid) == -1)
			log_warnx("agent: cannot write %s/.claude.json: %s",
			    dir, safe_strerror(errno));
		free(text);
	}
	cJSON_Delete(doc);
}

void
agent_host_own_volume(const struct agent_host *h, const char *path,
    int config)
{
	int	fd;

	if (geteuid() != 0)
		return;
	/* Docker's path: only its last part (the agent's) is not followed. */
	if ((fd = safe_dir(path)) == -1) {
		log_warnx("agent: volume %s: %s", path, safe_strerror(errno));
		return;
	}
	if (fchown(fd, h->uid, h->gid) == -1)
		log_warn("chown %s", path);
	if (config)
		seed_claude_config(h, fd, path);
	close(fd);
}
