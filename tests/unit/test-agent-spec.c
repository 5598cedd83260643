/*
 * An agent's create body from a fixed configuration and host facts: the
 * whole of it against tests/unit/golden/agent-spec.json (network = bridge)
 * and agent-spec-none.json, and apart from that each part the container's
 * confinement rests on, so that refreshing the golden files cannot drop
 * one unseen.  AGENT_SPEC_GOLDEN=write rewrites the files (then read
 * their diff).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "agent-spec.h"
#include "check.h"
#include "config.h"
#include "docker.h"
#include "util.h"

#define GOLDEN		"golden/agent-spec.json"
#define GOLDEN_NONE	"golden/agent-spec-none.json"

static const cJSON *
get(const cJSON *o, const char *key)
{
	return (cJSON_GetObjectItemCaseSensitive(o, key));
}

/* The mount at target, or NULL; exactly one may be there. */
static const cJSON *
mount_at(const cJSON *mounts, const char *target)
{
	const cJSON	*m, *found = NULL;
	int		 n = 0;

	cJSON_ArrayForEach(m, mounts) {
		if (cJSON_IsString(get(m, "Target")) &&
		    strcmp(get(m, "Target")->valuestring, target) == 0) {
			found = m;
			n++;
		}
	}
	return (n == 1 ? found : NULL);
}

static int
is_mount(const cJSON *m, const char *type, const char *src, int ro)
{
	return (m != NULL && cJSON_IsString(get(m, "Type")) &&
	    strcmp(get(m, "Type")->valuestring, type) == 0 &&
	    cJSON_IsString(get(m, "Source")) &&
	    strcmp(get(m, "Source")->valuestring, src) == 0 &&
	    cJSON_IsBool(get(m, "ReadOnly")) &&
	    cJSON_IsTrue(get(m, "ReadOnly")) == ro);
}

/* A one-element array of that string. */
static int
is_only(const cJSON *a, const char *s)
{
	return (cJSON_GetArraySize(a) == 1 &&
	    cJSON_IsString(cJSON_GetArrayItem(a, 0)) &&
	    strcmp(cJSON_GetArrayItem(a, 0)->valuestring, s) == 0);
}

/* Whether the Env array holds a string that begins with prefix. */
static int
has_env(const cJSON *env, const char *prefix)
{
	const cJSON	*e;

	cJSON_ArrayForEach(e, env)
		if (cJSON_IsString(e) && strncmp(e->valuestring, prefix,
		    strlen(prefix)) == 0)
			return (1);
	return (0);
}

static char *
slurp(const char *path)
{
	FILE	*f;
	char	*s;
	long	 n;

	if ((f = fopen(path, "r")) == NULL)
		return (NULL);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	s = calloc(1, (size_t)n + 1);
	if (s != NULL && fread(s, 1, (size_t)n, f) != (size_t)n) {
		free(s);
		s = NULL;
	}
	fclose(f);
	return (s);
}

static void
golden(const char *path, const char *text)
{
	cJSON	*doc = cJSON_Parse(text);
	char	*pretty = cJSON_Print(doc), *want, *again;
	FILE	*f;
	cJSON	*g;

	if (getenv("AGENT_SPEC_GOLDEN") != NULL &&
	    strcmp(getenv("AGENT_SPEC_GOLDEN"), "write") == 0 &&
	    (f = fopen(path, "w")) != NULL) {
		fprintf(f, "%s\n", pretty);
		fclose(f);
	}
	want = slurp(path);
	CHECK(want != NULL);
	/* Kept indented to be read; compared as Docker gets it. */
	g = cJSON_Parse(want != NULL ? want : "");
	again = cJSON_PrintUnformatted(g);
	CHECK_STR(text, again != NULL ? again : "(no golden file)");
	cJSON_free(again);
	cJSON_Delete(g);
	free(want);
	cJSON_free(pretty);
	cJSON_Delete(doc);
}

int
main(void)
{
	char			*mounts[] = { "/srv/data:/data:ro",
				    "/srv/scratch:/scratch", NULL };
	char			*masks[] = { "secrets", "config/key.pem", NULL };
	char			*env[] = { "FOO=bar", "BAZ=q u x", NULL };
	struct agent_mask	 found[] = {
		{ ".env", 0, NULL }, { "web/.env.local", 0, NULL },
		{ "secrets", 1, NULL }, { "config/key.pem", 0, NULL },
	};
	struct agent_conf	 c = {
		.name = "claude", .enabled = 1,
		.image = "qms-agent:latest", .container = "qms-claude",
		.command = "claude", .memory = 4ULL << 30, .pids = 512,
		.cpus = 1.5, .network = "bridge", .mounts = mounts,
		.masks = masks, .git_user_name = "claude (qmsd agent)",
		.git_user_email = "claude@qmsd.invalid",
	};
	struct agent_facts	 f = {
		.root = "/home/owner/pipe-dream", .uid = 1000, .gid = 1001,
		.dir = "/var/lib/qmsd/agents/claude", .env = env,
		.link = "/var/lib/qmsd/agents/claude/link",
		.masks = found, .nmasks = 4,
	};
	char			 hash[AGENT_HASH_LEN], hash2[AGENT_HASH_LEN];
	char			*text, *text2, *p, buf[64];
	struct agent_files	 files, files2;
	cJSON			*o, *hc, *m, *v;
	const char		*empty = "/var/lib/qmsd/agents/claude/empty";
	const char		*proxied[] = { "HTTPS_PROXY=", "HTTP_PROXY=",
				    "https_proxy=", "http_proxy=" };
	size_t			 i;

	text = agent_spec(&c, &f, &files, hash);
	golden(GOLDEN, text);
	/* The bytes decide whether a container is recreated on upgrade. */
	CHECK_STR(hash, "14f24b995f039ee3");
	text2 = agent_spec(&c, &f, &files2, hash2);
	CHECK_STR(text2, text);
	CHECK_STR(hash2, hash);
	free(text2);
	agent_files_free(&files2);
	/*
	 * The files it mounts count in the hash, though not in the body: a
	 * new commit identity makes a new container.
	 */
	CHECK(files.passwd != NULL && files.group != NULL &&
	    files.gitconfig != NULL);
	c.git_user_email = "claude@example.org";
	text2 = agent_spec(&c, &f, &files2, hash2);
	CHECK(strcmp(hash, hash2) != 0);
	/* The body is the same but for the label that carries the hash. */
	if ((p = strstr(text2, hash2)) != NULL)
		memcpy(p, hash, strlen(hash));
	CHECK_STR(text2, text);
	CHECK(strstr(files2.gitconfig, "claude@example.org") != NULL);
	free(text2);
	agent_files_free(&files2);
	c.git_user_email = "claude@qmsd.invalid";
	agent_files_free(&files);

	o = cJSON_Parse(text);
	CHECK(o != NULL);
	hc = (cJSON *)get(o, "HostConfig");
	m = (cJSON *)get(hc, "Mounts");
	CHECK_STR(cJSON_GetStringValue(get(o, "User")), "1000:1001");
	CHECK_STR(cJSON_GetStringValue(get(get(o, "Labels"),
	    DOCKER_LABEL_AGENT)), "claude");
	CHECK_STR(cJSON_GetStringValue(get(get(o, "Labels"),
	    DOCKER_LABEL_CONFIG)), hash);
	/* The mask keys it is made under, outside the hash. */
	CHECK_STR(cJSON_GetStringValue(get(get(o, "Labels"),
	    DOCKER_LABEL_MASKS)), "secrets\nconfig/key.pem");
	/* The repository read-only; the agent's own rooms writable. */
	CHECK(is_mount(mount_at(m, "/pipe-dream"), "bind",
	    "/home/owner/pipe-dream", 1));
	/*
	 * .claude/users hidden whole, so that no other agent, not even one
	 * made after this container, is there; its own directory mounted
	 * back read-only, its workspace writable.
	 */
	CHECK(is_mount(mount_at(m, "/pipe-dream/.claude/users"), "bind",
	    "/var/lib/qmsd/agents/claude/users", 1));
	CHECK(is_mount(mount_at(m, "/pipe-dream/.claude/users/claude"),
	    "bind", "/home/owner/pipe-dream/.claude/users/claude", 1));
	CHECK(is_mount(mount_at(m, "/pipe-dream/.claude/users/claude/workspace"),
	    "bind", "/home/owner/pipe-dream/.claude/users/claude/workspace",
	    0));
	CHECK(is_mount(mount_at(m, "/pipe-dream/.claude/sessions"), "bind",
	    "/home/owner/pipe-dream/.claude/sessions", 0));
	CHECK(is_mount(mount_at(m, "/pipe-dream/.mcp.json"), "bind",
	    "/var/lib/qmsd/agents/claude/mcp.json", 1));
	CHECK(is_mount(mount_at(m, "/pipe-dream/.claude/settings.local.json"),
	    "bind", "/var/lib/qmsd/agents/claude/settings.local.json", 1));
	/* Every mask, read-only: files by /dev/null, directories by empty. */
	CHECK(is_mount(mount_at(m, "/pipe-dream/.env"), "bind", "/dev/null",
	    1));
	CHECK(is_mount(mount_at(m, "/pipe-dream/web/.env.local"), "bind",
	    "/dev/null", 1));
	CHECK(is_mount(mount_at(m, "/pipe-dream/secrets"), "bind", empty, 1));
	CHECK(is_mount(mount_at(m, "/pipe-dream/config/key.pem"), "bind",
	    "/dev/null", 1));
	/* The user's name and git's system level, read-only. */
	CHECK(is_mount(mount_at(m, "/var/lib/extrausers/passwd"), "bind",
	    "/var/lib/qmsd/agents/claude/passwd", 1));
	CHECK(is_mount(mount_at(m, "/var/lib/extrausers/group"), "bind",
	    "/var/lib/qmsd/agents/claude/group", 1));
	CHECK(is_mount(mount_at(m, "/etc/gitconfig"), "bind",
	    "/var/lib/qmsd/agents/claude/gitconfig", 1));
	CHECK(is_mount(mount_at(m, "/data"), "bind", "/srv/data", 1));
	CHECK(is_mount(mount_at(m, "/scratch"), "bind", "/srv/scratch", 0));
	CHECK(cJSON_GetArraySize(m) == 12 + 4 + 2);
	/* No privilege to gain, none kept. */
	CHECK(is_only(get(hc, "CapDrop"), "ALL"));
	CHECK(is_only(get(hc, "SecurityOpt"), "no-new-privileges"));
	CHECK(cJSON_IsTrue(get(hc, "Init")));
	CHECK_STR(cJSON_GetStringValue(get(get(hc, "RestartPolicy"), "Name")),
	    "no");
	CHECK(get(hc, "Privileged") == NULL && get(hc, "CapAdd") == NULL);
	/* Limits. */
	CHECK(cJSON_GetNumberValue(get(hc, "Memory")) == 4294967296.0);
	CHECK(cJSON_GetNumberValue(get(hc, "PidsLimit")) == 512);
	CHECK(cJSON_GetNumberValue(get(hc, "NanoCpus")) == 1.5e9);
	CHECK(is_only(get(hc, "ExtraHosts"),
	    "host.docker.internal:host-gateway"));
	v = (cJSON *)get(o, "Env");
	CHECK(cJSON_GetArraySize(v) == 6);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(v, 3)),
	    "QMS_AGENT=claude");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(v, 5)),
	    "BAZ=q u x");
	/* On a bridge: the image's command, no relay, no proxy. */
	CHECK(get(o, "Cmd") == NULL);
	CHECK(mount_at(m, "/run/qmsd") == NULL);
	CHECK(!has_env(v, "HTTPS_PROXY=") && !has_env(v, "NO_PROXY="));
	cJSON_Delete(o);
	free(text);

	/*
	 * network = none, the default: loopback only, and one way out, the
	 * directory of its own socket, mounted alone; the relay to it is the
	 * container's command (an argv, no shell) and every ordinary client
	 * is sent through it, but for the relay itself.
	 */
	c.network = "none";
	text = agent_spec(&c, &f, &files, hash2);
	golden(GOLDEN_NONE, text);
	agent_files_free(&files);
	CHECK(strcmp(hash, hash2) != 0);
	o = cJSON_Parse(text);
	CHECK(o != NULL);
	hc = (cJSON *)get(o, "HostConfig");
	m = (cJSON *)get(hc, "Mounts");
	CHECK_STR(cJSON_GetStringValue(get(hc, "NetworkMode")), "none");
	CHECK(get(hc, "ExtraHosts") == NULL);
	CHECK(is_mount(mount_at(m, "/run/qmsd"), "bind",
	    "/var/lib/qmsd/agents/claude/link", 1));
	CHECK(cJSON_GetArraySize(m) == 12 + 4 + 2 + 1);
	v = (cJSON *)get(o, "Cmd");
	CHECK(cJSON_GetArraySize(v) == 3);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(v, 0)), "socat");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(v, 1)),
	    "TCP-LISTEN:3128,bind=127.0.0.1,reuseaddr,fork");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(v, 2)),
	    "UNIX-CONNECT:/run/qmsd/qmsd.sock");
	/* Still under Docker's init, which reaps and passes signals on. */
	CHECK(cJSON_IsTrue(get(hc, "Init")));
	v = (cJSON *)get(o, "Env");
	for (i = 0; i < nitems(proxied); i++) {
		snprintf(buf, sizeof(buf), "%shttp://127.0.0.1:3128",
		    proxied[i]);
		CHECK(has_env(v, buf));
	}
	CHECK(has_env(v, "NO_PROXY=127.0.0.1,localhost"));
	CHECK(has_env(v, "no_proxy=127.0.0.1,localhost"));
	/* The env-file's lines come last, as on a bridge. */
	CHECK(cJSON_GetArraySize(v) == 6 + 6);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(v, 11)),
	    "BAZ=q u x");
	cJSON_Delete(o);
	free(text);
	c.network = "bridge";

	/*
	 * Secrets: the container has each one's placeholder, never the
	 * env-file's value (a name given twice, twice dropped), and trusts
	 * the egress CA: its certificate and the bundle mounted read-only,
	 * every client's CA variable naming the bundle, after the env-file's
	 * own so that it cannot undo them.
	 */
	{
		char	*senv[] = { "FOO=bar", "GH_TOKEN=ghp_realsecret",
			    "SSL_CERT_FILE=/elsewhere.pem",
			    "GH_TOKEN=ghp_again", NULL };
		char	*secrets[] = { "GH_TOKEN github.com api.github.com",
			    "NPM_TOKEN registry.npmjs.org", NULL };
		char	*ph[] = {
			    "qmsd-placeholder-GH_TOKEN-"
			    "00112233445566778899aabbccddeeff",
			    "qmsd-placeholder-NPM_TOKEN-"
			    "ffeeddccbbaa99887766554433221100", NULL };
		const char *ca_vars[] = { "SSL_CERT_FILE", "GIT_SSL_CAINFO",
			    "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
			    "NODE_EXTRA_CA_CERTS" };
		const cJSON *e;
		char	 want[128];
		int	 n;

		c.network = "none";
		c.secrets = secrets;
		f.env = senv;
		f.placeholders = ph;
		f.ca_cert = "/var/lib/qmsd/egress-ca/ca.crt";
		f.ca_bundle = "/var/lib/qmsd/egress-ca/bundle.crt";
		text = agent_spec(&c, &f, &files, hash);
		CHECK(strstr(text, "ghp_") == NULL);
		CHECK(strstr(files.gitconfig, "ghp_") == NULL);
		agent_files_free(&files);
		o = cJSON_Parse(text);
		hc = (cJSON *)get(o, "HostConfig");
		m = (cJSON *)get(hc, "Mounts");
		CHECK(is_mount(mount_at(m,
		    "/usr/local/share/ca-certificates/qmsd-egress.crt"),
		    "bind", "/var/lib/qmsd/egress-ca/ca.crt", 1));
		CHECK(is_mount(mount_at(m, "/etc/ssl/certs/ca-certificates.crt"),
		    "bind", "/var/lib/qmsd/egress-ca/bundle.crt", 1));
		CHECK(cJSON_GetArraySize(m) == 12 + 4 + 2 + 1 + 2);
		v = (cJSON *)get(o, "Env");
		n = 0;
		cJSON_ArrayForEach(e, v)
			if (strncmp(e->valuestring, "GH_TOKEN=", 9) == 0)
				n++;
		CHECK(n == 1);
		CHECK(has_env(v, "GH_TOKEN=qmsd-placeholder-GH_TOKEN-"
		    "00112233445566778899aabbccddeeff"));
		CHECK(has_env(v, "NPM_TOKEN=qmsd-placeholder-NPM_TOKEN-"
		    "ffeeddccbbaa99887766554433221100"));
		CHECK(has_env(v, "FOO=bar"));
		/* Docker keeps a name's last value: the bundle, each. */
		for (i = 0; i < nitems(ca_vars); i++) {
			const char	*last = NULL;

			snprintf(want, sizeof(want), "%s=", ca_vars[i]);
			cJSON_ArrayForEach(e, v)
				if (strncmp(e->valuestring, want,
				    strlen(want)) == 0)
					last = e->valuestring;
			snprintf(want, sizeof(want), "%s=/etc/ssl/certs/"
			    "ca-certificates.crt", ca_vars[i]);
			CHECK_STR(last != NULL ? last : "(none)", want);
		}
		cJSON_Delete(o);
		free(text);
		/* Another placeholder (a new host token): a new container. */
		ph[1] = "qmsd-placeholder-NPM_TOKEN-"
		    "0123456789abcdef0123456789abcdef";
		text = agent_spec(&c, &f, &files, hash2);
		agent_files_free(&files);
		free(text);
		CHECK(strcmp(hash, hash2) != 0);

		/* No placeholder to give: the variables left out, no CA. */
		f.placeholders = NULL;
		text = agent_spec(&c, &f, &files, hash2);
		agent_files_free(&files);
		CHECK(strstr(text, "ghp_") == NULL);
		CHECK(strstr(text, "GH_TOKEN") == NULL);
		CHECK(strstr(text, "ca-certificates") == NULL);
		free(text);

		/* Without secrets, the env-file as it is and no CA. */
		c.secrets = NULL;
		f.placeholders = ph;
		text = agent_spec(&c, &f, &files, hash2);
		agent_files_free(&files);
		o = cJSON_Parse(text);
		v = (cJSON *)get(o, "Env");
		CHECK(has_env(v, "GH_TOKEN=ghp_realsecret"));
		CHECK(!has_env(v, "GIT_SSL_CAINFO="));
		CHECK(mount_at(get(get(o, "HostConfig"), "Mounts"),
		    "/etc/ssl/certs/ca-certificates.crt") == NULL);
		cJSON_Delete(o);
		free(text);
		f.placeholders = NULL;
		f.ca_cert = f.ca_bundle = NULL;
		f.env = env;
		c.network = "bridge";
	}

	/* The host network: no extra hosts, no CPU limit when 0. */
	c.network = "host";
	c.cpus = 0;
	f.nmasks = 0;
	f.env = NULL;
	text = agent_spec(&c, &f, &files, hash2);
	agent_files_free(&files);
	o = cJSON_Parse(text);
	hc = (cJSON *)get(o, "HostConfig");
	CHECK(get(hc, "ExtraHosts") == NULL && get(hc, "NanoCpus") == NULL);
	CHECK(strcmp(hash, hash2) != 0);
	CHECK(cJSON_GetArraySize(get(hc, "Mounts")) == 12 + 2);
	/* No relay: on the host's network it would take the host's port. */
	CHECK(get(o, "Cmd") == NULL);
	CHECK(!has_env(get(o, "Env"), "HTTPS_PROXY="));
	cJSON_Delete(o);
	free(text);

	/*
	 * A template git vouched for: its snapshot over it, read-only, never
	 * the working copy; committed anew (another blob), another hash.
	 */
	found[0].path = "docker/.env.example";
	found[0].source = "/var/lib/qmsd/templates/"
	    "0123456789abcdef0123456789abcdef01234567";
	f.nmasks = 1;
	text = agent_spec(&c, &f, &files, hash);
	agent_files_free(&files);
	o = cJSON_Parse(text);
	CHECK(is_mount(mount_at(get(get(o, "HostConfig"), "Mounts"),
	    "/pipe-dream/docker/.env.example"), "bind", found[0].source, 1));
	cJSON_Delete(o);
	free(text);
	found[0].source = "/var/lib/qmsd/templates/"
	    "89abcdef0123456789abcdef0123456789abcdef";
	text = agent_spec(&c, &f, &files, hash2);
	agent_files_free(&files);
	CHECK(strcmp(hash, hash2) != 0);

	/*
	 * Which configured masks a running container lacks: one made from
	 * the same body, none; a mask added since, that path; one of them in
	 * a tree agents write, or one that masks nothing (no such file: no
	 * mount), never; a template's snapshot is not a configured mask.
	 */
	{
		char	*conf[] = { "secrets", "config/key.pem", NULL, NULL,
			    NULL };
		cJSON	*ctr = cJSON_CreateObject(), *cm;
		char	 what[64];

		o = cJSON_Parse(text);
		cm = cJSON_Duplicate(get(get(o, "HostConfig"), "Mounts"), 1);
		cJSON_AddItemToObject(cJSON_AddObjectToObject(ctr,
		    "HostConfig"), "Mounts", cm);
		CHECK(agent_spec_newly_masked(text, ctr, conf, what,
		    sizeof(what)) == 0);
		CHECK_STR(what, "");
		found[1].path = "private/notes.txt";
		found[1].source = NULL;
		found[2].path = ".claude/sessions/x";
		found[2].source = NULL;
		found[2].dir = 0;
		f.nmasks = 3;
		conf[0] = "private/notes.txt";
		conf[1] = ".claude/sessions/x";
		conf[2] = "nowhere/key.pem";
		conf[3] = "docker/.env.example";
		free(text);
		text = agent_spec(&c, &f, &files, hash2);
		agent_files_free(&files);
		CHECK(agent_spec_newly_masked(text, ctr, conf, what,
		    sizeof(what)) == 1);
		CHECK_STR(what, "private/notes.txt");
		/* a short buffer cuts; no masks configured: none */
		CHECK(agent_spec_newly_masked(text, ctr, conf, what, 8) == 1);
		CHECK_STR(what, "private");
		CHECK(agent_spec_newly_masked(text, ctr, NULL, what,
		    sizeof(what)) == 0);
		/* a container that lacks the snapshot too: two */
		for (i = (size_t)cJSON_GetArraySize(cm); i-- > 0; ) {
			v = cJSON_GetArrayItem(cm, (int)i);
			if (strcmp(cJSON_GetStringValue(get(v, "Target")),
			    "/pipe-dream/docker/.env.example") == 0)
				cJSON_DeleteItemFromArray(cm, (int)i);
		}
		CHECK(agent_spec_newly_masked(text, ctr, conf, what,
		    sizeof(what)) == 2);
		/* no body to read: nothing newly masked */
		CHECK(agent_spec_newly_masked("{", ctr, conf, what,
		    sizeof(what)) == 0);
		/*
		 * A container made with the label: the keys it was made
		 * under decide, not its mounts; a key it had whose file came
		 * since waits, and a key's name is matched whole.
		 */
		v = cJSON_AddObjectToObject(cJSON_AddObjectToObject(ctr,
		    "Config"), "Labels");
		cJSON_AddStringToObject(v, DOCKER_LABEL_MASKS,
		    "private/notes.txt");
		CHECK(agent_spec_newly_masked(text, ctr, conf, what,
		    sizeof(what)) == 1);
		CHECK_STR(what, "docker/.env.example");
		cJSON_ReplaceItemInObject(v, DOCKER_LABEL_MASKS,
		    cJSON_CreateString("docker/.env.example\n"
		    "private/notes.txt"));
		CHECK(agent_spec_newly_masked(text, ctr, conf, what,
		    sizeof(what)) == 0);
		cJSON_ReplaceItemInObject(v, DOCKER_LABEL_MASKS,
		    cJSON_CreateString("private/notes.txtx\nprivate/notes\n"
		    "xdocker/.env.example"));
		CHECK(agent_spec_newly_masked(text, ctr, conf, what,
		    sizeof(what)) == 2);
		cJSON_Delete(ctr);
		cJSON_Delete(o);
		f.nmasks = 1;
		found[1].path = "web/.env.local";
		found[2].path = "secrets";
		found[2].dir = 1;
	}
	free(text);

	/*
	 * A definition: its copy in the agent's directory (never the
	 * repository's path) as Claude's user memory, read-only; its text
	 * counts in the hash, a changed one makes a new container.
	 */
	f.definition = "You review.\n";
	text = agent_spec(&c, &f, &files, hash);
	agent_files_free(&files);
	o = cJSON_Parse(text);
	CHECK(is_mount(mount_at(get(get(o, "HostConfig"), "Mounts"),
	    "/claude-config/CLAUDE.md"), "bind",
	    "/var/lib/qmsd/agents/claude/CLAUDE.md", 1));
	cJSON_Delete(o);
	free(text);
	CHECK(strcmp(hash, hash2) != 0);
	f.definition = "You review, carefully.\n";
	text = agent_spec(&c, &f, &files2, hash2);
	agent_files_free(&files2);
	free(text);
	CHECK(strcmp(hash, hash2) != 0);

	/*
	 * settings.local.json: both servers, their tools allowed, and every
	 * hook followed, each one quiet command that posts to the agent's URL
	 * with its token.
	 */
	text = agent_settings("http://127.0.0.1:3128", "qms_abc");
	o = cJSON_Parse(text);
	CHECK(cJSON_IsTrue(get(o, "enableAllProjectMcpServers")));
	CHECK(cJSON_GetArraySize(get(o, "enabledMcpjsonServers")) == 2);
	CHECK(cJSON_GetArraySize(get(o, "hooks")) == 7);
	/* qmsd's two servers' tools, whole, and nothing else, allowed. */
	CHECK(cJSON_GetArraySize(get(o, "permissions")) == 1);
	CHECK(cJSON_GetArraySize(get(get(o, "permissions"), "allow")) == 2);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(get(get(o,
	    "permissions"), "allow"), 0)), "mcp__qms");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(get(get(o,
	    "permissions"), "allow"), 1)), "mcp__git");
	{
		const char	*ev[] = { "SessionStart", "UserPromptSubmit",
				    "PreToolUse", "PostToolUse", "Notification",
				    "Stop", "SessionEnd" };
		const cJSON	*g, *h;
		char		 want[128];

		for (i = 0; i < nitems(ev); i++) {
			g = cJSON_GetArrayItem(get(get(o, "hooks"), ev[i]), 0);
			CHECK(g != NULL);
			h = cJSON_GetArrayItem(get(g, "hooks"), 0);
			CHECK_STR(cJSON_GetStringValue(get(h, "type")),
			    "command");
			snprintf(want, sizeof(want), " "
			    "'http://127.0.0.1:3128/hooks/%s' || true", ev[i]);
			CHECK(h != NULL && strstr(cJSON_GetStringValue(get(h,
			    "command")), want) != NULL);
			CHECK(strstr(cJSON_GetStringValue(get(h, "command")),
			    "-H 'Authorization: Bearer qms_abc' ") != NULL);
			CHECK(strncmp(cJSON_GetStringValue(get(h, "command")),
			    "curl -s -o /dev/null ", 21) == 0);
			CHECK(cJSON_IsNumber(get(h, "timeout")));
			/* a matcher for the tool events alone */
			CHECK((get(g, "matcher") != NULL) ==
			    (strstr(ev[i], "ToolUse") != NULL));
		}
	}
	cJSON_Delete(o);
	free(text);
	/* No token yet, or a quote that would end ours: no hooks. */
	text = agent_settings("http://127.0.0.1:3128", NULL);
	o = cJSON_Parse(text);
	CHECK(get(o, "hooks") == NULL);
	CHECK(cJSON_IsTrue(get(o, "enableAllProjectMcpServers")));
	CHECK(cJSON_GetArraySize(get(get(o, "permissions"), "allow")) == 2);
	cJSON_Delete(o);
	free(text);
	text = agent_settings("http://x';reboot;'", "qms_abc");
	o = cJSON_Parse(text);
	CHECK(get(o, "hooks") == NULL);
	cJSON_Delete(o);
	free(text);
	return (check_done("agent-spec"));
}
