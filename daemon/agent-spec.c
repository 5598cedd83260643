#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "agent-identity.h"
#include "agent-socket.h"
#include "agent-spec.h"
#include "argv.h"
#include "config.h"
#include "docker.h"
#include "mask.h"
#include "secret-rule.h"
#include "util.h"

static void
spec_mount(cJSON *mounts, const char *type, const char *src, const char *dst,
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
 * A file masked by /dev/null, a directory by the empty one, a template by
 * its snapshot (whose name holds its blob id, so a template committed
 * anew changes the hash), all read-only.
 */
static void
spec_mask(cJSON *mounts, const struct agent_mask *m, const char *empty)
{
	char	*dst;

	xasprintf(&dst, "/pipe-dream/%s", m->path);
	spec_mount(mounts, "bind", m->source != NULL ? m->source : m->dir ?
	    empty : "/dev/null", dst, 1);
	free(dst);
}

/* The strings of v, a line each (free it). */
static char *
lines_of(char *const *v)
{
	size_t	 i, n = 1, at = 0, len;
	char	*s;

	for (i = 0; v[i] != NULL; i++)
		n += strlen(v[i]) + 1;
	s = xcalloc(1, n);
	for (i = 0; v[i] != NULL; i++) {
		if (i > 0)
			s[at++] = '\n';
		len = strlen(v[i]);
		memcpy(s + at, v[i], len);
		at += len;
	}
	return (s);
}

/*
 * network = none: every ordinary client goes through the relay, which is
 * qmsd's egress proxy; the relay itself, where .mcp.json points, is not
 * proxied.
 */
static void
spec_sealed_env(cJSON *env)
{
	static const char	*vars[] = {
		"HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy",
	};
	char			 buf[64];
	size_t			 i;

	for (i = 0; i < nitems(vars); i++) {
		snprintf(buf, sizeof(buf), "%s=http://127.0.0.1:%d", vars[i],
		    AGENT_RELAY_PORT);
		cJSON_AddItemToArray(env, cJSON_CreateString(buf));
	}
	cJSON_AddItemToArray(env,
	    cJSON_CreateString("NO_PROXY=127.0.0.1,localhost"));
	cJSON_AddItemToArray(env,
	    cJSON_CreateString("no_proxy=127.0.0.1,localhost"));
}

/*
 * Whether env (NAME=VALUE) names one of the agent's secrets: its value
 * never goes into the container, whose NAME is the placeholder.
 */
static int
spec_is_secret(const struct agent_conf *c, const char *env)
{
	struct secret_rule	rule;
	char			why[128];
	size_t			i, n;

	for (i = 0; c->secrets != NULL && c->secrets[i] != NULL; i++) {
		if (secret_rule_parse(c->secrets[i], &rule, why,
		    sizeof(why)) == -1)
			continue;
		n = strlen(rule.name);
		if (strncmp(env, rule.name, n) == 0 && env[n] == '=')
			return (1);
	}
	return (0);
}

/*
 * The secrets' placeholders, after the env-file's variables, and the
 * trust of the egress CA, after those too, so that neither is undone by
 * the env-file.  OpenSSL (curl, git, Python's ssl), git's own setting
 * and requests read the bundle, the system's with qmsd's CA in it.  So
 * does Node: NODE_EXTRA_CA_CERTS adds to Node's own roots, and the image
 * names the system's bundle there for the CAs the owner added to it at
 * build time (docker/README.md); naming qmsd's certificate alone would
 * drop those, the bundle keeps them (it is made from the host's own
 * bundle, which has the same) and adds qmsd's.
 */
static void
spec_secret_env(cJSON *env, const struct agent_conf *c,
    const struct agent_facts *f)
{
	static const char	*vars[] = {
		"SSL_CERT_FILE", "GIT_SSL_CAINFO", "REQUESTS_CA_BUNDLE",
		"CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS",
	};
	struct secret_rule	 rule;
	char			 why[128], *s;
	size_t			 i;

	if (f->placeholders == NULL || argv_count(c->secrets) == 0)
		return;
	for (i = 0; c->secrets[i] != NULL && f->placeholders[i] != NULL;
	    i++) {
		if (secret_rule_parse(c->secrets[i], &rule, why,
		    sizeof(why)) == -1)
			continue;
		xasprintf(&s, "%s=%s", rule.name, f->placeholders[i]);
		cJSON_AddItemToArray(env, cJSON_CreateString(s));
		free(s);
	}
	for (i = 0; f->ca_bundle != NULL && i < nitems(vars); i++) {
		xasprintf(&s, "%s=" AGENT_CA_BUNDLE_TARGET, vars[i]);
		cJSON_AddItemToArray(env, cJSON_CreateString(s));
		free(s);
	}
}

/*
 * network = none: the container's command is the relay, loopback TCP to
 * the agent's socket, a process each connection (socat, in the image).
 * Docker's init stays PID 1 with the relay its child; a relay that dies
 * ends the container, which qmsd restarts by the agent's policy.  Never
 * on the host's network, where it would listen on the host's loopback.
 */
static void
spec_relay(cJSON *o)
{
	cJSON	*cmd = cJSON_AddArrayToObject(o, "Cmd");
	char	 buf[128];

	cJSON_AddItemToArray(cmd, cJSON_CreateString("socat"));
	snprintf(buf, sizeof(buf), "TCP-LISTEN:%d,bind=127.0.0.1,reuseaddr,"
	    "fork", AGENT_RELAY_PORT);
	cJSON_AddItemToArray(cmd, cJSON_CreateString(buf));
	cJSON_AddItemToArray(cmd, cJSON_CreateString("UNIX-CONNECT:"
	    AGENT_LINK_DIR "/" AGENT_LINK_SOCKET));
}

/*
 * FNV-1a: the label that says which configuration made a container.  The
 * files it mounts from the agent's directory count too: their text is
 * not in the body, and a container keeps the copy it started with.
 */
static void
spec_hash(const char *body, const struct agent_files *files,
    const char *definition, char out[AGENT_HASH_LEN])
{
	/* A definition counts only when there is one: no hash changes else. */
	const char	*parts[] = { body, files->passwd, files->group,
			    files->gitconfig, definition };
	const char	*s;
	uint64_t	 h = 1469598103934665603ULL;
	size_t		 i;

	for (i = 0; i < nitems(parts) && parts[i] != NULL; i++) {
		/* Each part ends with its NUL, so none runs into the next. */
		for (s = parts[i]; ; s++) {
			h ^= (unsigned char)*s;
			h *= 1099511628211ULL;
			if (*s == '\0')
				break;
		}
	}
	snprintf(out, AGENT_HASH_LEN, "%016llx", (unsigned long long)h);
}

void
agent_files_free(struct agent_files *files)
{
	free(files->passwd);
	free(files->group);
	free(files->gitconfig);
	memset(files, 0, sizeof(*files));
}

/*
 * Hooks: each posts Claude Code's input to qmsd.  Quiet (its output would
 * reach the model after SessionStart and UserPromptSubmit), and always
 * exit 0 (2 would block the prompt).  A refused input is not retried;
 * a qmsd that does not answer is, for about AGENT_HOOK_RETRY seconds, so
 * that a hook during qmsd's restart still arrives.  Claude Code waits for
 * a UserPromptSubmit hook before the prompt goes: the timeout bounds it.
 */
#define AGENT_HOOK_RETRY	10
#define AGENT_HOOK_TIMEOUT	15

char *
agent_settings(const char *base, const char *token)
{
	static const char *const events[] = {
		"SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse",
		"Notification", "Stop", "SessionEnd",
	};
	cJSON	*doc, *list, *hooks, *group, *cmds, *cmd;
	char	*cmdline, *text;
	size_t	 i;

	doc = cJSON_CreateObject();
	cJSON_AddTrueToObject(doc, "enableAllProjectMcpServers");
	list = cJSON_AddArrayToObject(doc, "enabledMcpjsonServers");
	cJSON_AddItemToArray(list, cJSON_CreateString("qms"));
	cJSON_AddItemToArray(list, cJSON_CreateString("git"));
	/*
	 * qmsd's own servers' tools run without asking: qmsd decides and
	 * audits each call itself, and an agent nobody watches must not stop
	 * at a dialog for them.  Every other tool keeps Claude's own rules:
	 * a dialog, which shows as needs-input.
	 */
	list = cJSON_AddArrayToObject(cJSON_AddObjectToObject(doc,
	    "permissions"), "allow");
	cJSON_AddItemToArray(list, cJSON_CreateString("mcp__qms"));
	cJSON_AddItemToArray(list, cJSON_CreateString("mcp__git"));
	/* Never a quote of theirs in our shell line: no hooks then. */
	if (base != NULL && token != NULL && base[0] != '\0' &&
	    strpbrk(base, "'\\") == NULL && strpbrk(token, "'\\") == NULL) {
		hooks = cJSON_AddObjectToObject(doc, "hooks");
		for (i = 0; i < nitems(events); i++) {
			xasprintf(&cmdline, "curl -s -o /dev/null --noproxy '*' "
			    "--connect-timeout 2 --max-time 3 --retry %d "
			    "--retry-delay 1 --retry-max-time %d "
			    "--retry-all-errors -H 'Authorization: Bearer %s' "
			    "-H 'Content-Type: application/json' "
			    "--data-binary @- '%s/hooks/%s' || true",
			    AGENT_HOOK_RETRY, AGENT_HOOK_RETRY, token, base,
			    events[i]);
			group = cJSON_CreateObject();
			/* The tool events are matched; "*" is every tool. */
			if (strstr(events[i], "ToolUse") != NULL)
				cJSON_AddStringToObject(group, "matcher", "*");
			cmds = cJSON_AddArrayToObject(group, "hooks");
			cmd = cJSON_CreateObject();
			cJSON_AddStringToObject(cmd, "type", "command");
			cJSON_AddStringToObject(cmd, "command", cmdline);
			cJSON_AddNumberToObject(cmd, "timeout",
			    AGENT_HOOK_TIMEOUT);
			cJSON_AddItemToArray(cmds, cmd);
			cJSON_AddItemToArray(cJSON_AddArrayToObject(hooks,
			    events[i]), group);
			free(cmdline);
		}
	}
	text = cJSON_Print(doc);
	cJSON_Delete(doc);
	return (text);
}

char *
agent_spec(const struct agent_conf *c, const struct agent_facts *f,
    struct agent_files *files, char hash[AGENT_HASH_LEN])
{
	static const struct {
		const char	*file;
		const char	*target;
	} identity[] = {
		{ AGENT_FILE_PASSWD, "/var/lib/extrausers/passwd" },
		{ AGENT_FILE_GROUP, "/var/lib/extrausers/group" },
		{ AGENT_FILE_GITCONFIG, "/etc/gitconfig" },
	};
	cJSON	*o, *env, *hc, *mounts, *labels, *hosts;
	char	*p, *empty, *text, user[64], buf[512];
	size_t	 i;
	int	 sealed = strcmp(c->network, "none") == 0;

	files->passwd = agent_passwd(c, f);
	files->group = agent_group(c, f);
	files->gitconfig = agent_gitconfig(c, f);
	xasprintf(&empty, "%s/empty", f->dir);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "Image", c->image);
	snprintf(user, sizeof(user), "%u:%u", (unsigned)f->uid,
	    (unsigned)f->gid);
	cJSON_AddStringToObject(o, "User", user);
	cJSON_AddStringToObject(o, "WorkingDir", "/pipe-dream");
	env = cJSON_AddArrayToObject(o, "Env");
	cJSON_AddItemToArray(env, cJSON_CreateString("HOME=/claude-config"));
	cJSON_AddItemToArray(env,
	    cJSON_CreateString("CLAUDE_CONFIG_DIR=/claude-config"));
	cJSON_AddItemToArray(env, cJSON_CreateString("MCP_TIMEOUT=60000"));
	snprintf(buf, sizeof(buf), "QMS_AGENT=%s", c->name);
	cJSON_AddItemToArray(env, cJSON_CreateString(buf));
	if (sealed)
		spec_sealed_env(env);
	for (i = 0; f->env != NULL && f->env[i] != NULL; i++)
		if (!spec_is_secret(c, f->env[i]))
			cJSON_AddItemToArray(env,
			    cJSON_CreateString(f->env[i]));
	spec_secret_env(env, c, f);
	if (sealed)
		spec_relay(o);
	labels = cJSON_AddObjectToObject(o, "Labels");
	cJSON_AddStringToObject(labels, DOCKER_LABEL_AGENT, c->name);

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
	spec_mount(mounts, "bind", f->root, "/pipe-dream", 1);
	/*
	 * .claude/users hidden whole; the agent's own directory mounted back
	 * over it (read-only, as the repository), its workspace writable.
	 */
	xasprintf(&p, "%s/" AGENT_USERS_DIR, f->dir);
	spec_mount(mounts, "bind", p, "/pipe-dream/.claude/users", 1);
	free(p);
	snprintf(buf, sizeof(buf), "%s/.claude/users/%s", f->root, c->name);
	xasprintf(&p, "/pipe-dream/.claude/users/%s", c->name);
	spec_mount(mounts, "bind", buf, p, 1);
	free(p);
	snprintf(buf, sizeof(buf), "%s/.claude/users/%s/workspace", f->root,
	    c->name);
	xasprintf(&p, "/pipe-dream/.claude/users/%s/workspace", c->name);
	spec_mount(mounts, "bind", buf, p, 0);
	free(p);
	snprintf(buf, sizeof(buf), "%s/.claude/sessions", f->root);
	spec_mount(mounts, "bind", buf, "/pipe-dream/.claude/sessions", 0);
	xasprintf(&p, "%s/mcp.json", f->dir);
	spec_mount(mounts, "bind", p, "/pipe-dream/.mcp.json", 1);
	free(p);
	xasprintf(&p, "%s/settings.local.json", f->dir);
	spec_mount(mounts, "bind", p, "/pipe-dream/.claude/settings.local.json",
	    1);
	free(p);
	/*
	 * Its name, through the image's libnss-extrausers, and git's system
	 * level, under the agent's own ~/.gitconfig (agent-identity.h).
	 */
	for (i = 0; i < nitems(identity); i++) {
		xasprintf(&p, "%s/%s", f->dir, identity[i].file);
		spec_mount(mounts, "bind", p, identity[i].target, 1);
		free(p);
	}
	/*
	 * With secrets: the egress CA, for the hosts whose TLS qmsd ends,
	 * and the bundle with it in the system's place.  Never its key.
	 */
	if (f->placeholders != NULL && argv_count(c->secrets) > 0 &&
	    f->ca_cert != NULL &&
	    f->ca_bundle != NULL) {
		spec_mount(mounts, "bind", f->ca_cert, AGENT_CA_CERT_TARGET, 1);
		spec_mount(mounts, "bind", f->ca_bundle, AGENT_CA_BUNDLE_TARGET,
		    1);
	}
	snprintf(buf, sizeof(buf), "qms-claude-config-%s", c->name);
	spec_mount(mounts, "volume", buf, "/claude-config", 0);
	snprintf(buf, sizeof(buf), "qms-projects-%s", c->name);
	spec_mount(mounts, "volume", buf, "/projects", 0);
	/*
	 * Its definition, a copy in its directory: never a path of the
	 * repository, which the agent could swap for a link Docker follows.
	 */
	if (f->definition != NULL) {
		xasprintf(&p, "%s/" AGENT_FILE_DEFINITION, f->dir);
		spec_mount(mounts, "bind", p, AGENT_DEFINITION_TARGET, 1);
		free(p);
	}
	/* Its one link: the directory of its socket, alone. */
	if (sealed)
		spec_mount(mounts, "bind", f->link, AGENT_LINK_DIR, 1);
	/* Masks: the secrets and what the configuration names. */
	for (i = 0; i < f->nmasks; i++)
		spec_mask(mounts, &f->masks[i], empty);
	for (i = 0; c->mounts != NULL && c->mounts[i] != NULL; i++) {
		char	*src = xstrdup(c->mounts[i]), *dst, *mode;

		dst = strchr(src, ':');
		*dst++ = '\0';
		if ((mode = strchr(dst, ':')) != NULL)
			*mode++ = '\0';
		spec_mount(mounts, "bind", src, dst, mode != NULL &&
		    strcmp(mode, "ro") == 0);
		free(src);
	}

	text = cJSON_PrintUnformatted(o);
	spec_hash(text, files, f->definition, hash);
	cJSON_AddStringToObject(labels, DOCKER_LABEL_CONFIG, hash);
	/*
	 * Which mask keys it was made under, outside the hash (a key whose
	 * path is not there masks nothing, and changes nothing): a key
	 * added since is what recreates it at once (agent_spec_newly_masked).
	 */
	if (argv_count(c->masks) > 0) {
		p = lines_of(c->masks);
		cJSON_AddStringToObject(labels, DOCKER_LABEL_MASKS, p);
		free(p);
	}
	cJSON_free(text);
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	free(empty);
	return (text);
}

/* Whether mounts (a HostConfig's) has one at target, read-only if ro. */
static int
mounted_at(const cJSON *mounts, const char *target, int ro)
{
	const cJSON	*m, *t;

	cJSON_ArrayForEach(m, mounts) {
		t = cJSON_GetObjectItemCaseSensitive(m, "Target");
		if (cJSON_IsString(t) && strcmp(t->valuestring, target) == 0 &&
		    (!ro || cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m,
		    "ReadOnly"))))
			return (1);
	}
	return (0);
}

/* Whether key is one of the lines of label. */
static int
listed(const char *label, const char *key)
{
	size_t		 n = strlen(key);
	const char	*p = label;

	while ((p = strstr(p, key)) != NULL) {
		if ((p == label || p[-1] == '\n') &&
		    (p[n] == '\n' || p[n] == '\0'))
			return (1);
		p++;
	}
	return (0);
}

int
agent_spec_newly_masked(const char *spec, const cJSON *container,
    char *const *masks, char *what, size_t whatlen)
{
	const cJSON	*have, *want, *label;
	cJSON		*o;
	char		*target;
	size_t		 i;
	int		 n = 0, fresh;

	if (whatlen > 0)
		what[0] = '\0';
	if (spec == NULL || masks == NULL || (o = cJSON_Parse(spec)) == NULL)
		return (0);
	have = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(container, "HostConfig"),
	    "Mounts");
	label = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
	    container, "Config"), "Labels"), DOCKER_LABEL_MASKS);
	want = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(o, "HostConfig"), "Mounts");
	for (i = 0; masks[i] != NULL; i++) {
		/* What agents write there they have seen already. */
		if (mask_agents_tree(masks[i]))
			continue;
		xasprintf(&target, "/pipe-dream/%s", masks[i]);
		/*
		 * A key added since it was made; one it had, whose file
		 * came since, waits like a secret found (an agent can make
		 * files come and go through git_exec).  Made before the
		 * label: what it mounts.
		 */
		fresh = cJSON_IsString(label) ? !listed(label->valuestring,
		    masks[i]) : !mounted_at(have, target, 0);
		if (fresh && mounted_at(want, target, 1) && n++ == 0 &&
		    whatlen > 0)
			snprintf(what, whatlen, "%s", masks[i]);
		free(target);
	}
	cJSON_Delete(o);
	return (n);
}
