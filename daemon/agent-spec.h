/*
 * An agent container's create body, as a pure function of its
 * configuration and of what the host holds (agent-host.c finds that
 * first): no I/O, no globals, so that what decides the container's
 * confinement is tested alone.  The body's hash is the label that says
 * which configuration made a container; a changed byte recreates every
 * container on upgrade, so the text is kept byte for byte.
 */
#ifndef QMSD_AGENT_SPEC_H
#define QMSD_AGENT_SPEC_H

#include <sys/types.h>

#include <stddef.h>

struct cJSON;

struct agent_conf;

/*
 * A path below the project root hidden from the container, or shown by
 * a snapshot of what git holds (templates.h).
 */
struct agent_mask {
	const char	*path;		/* relative to the project root */
	int		 dir;		/* masked by an empty directory */
	const char	*source;	/* mounted in its place; NULL: masked */
};

/* What the host holds for one agent, found before its spec is made. */
struct agent_facts {
	const char		*root;	/* the project root */
	uid_t			 uid;	/* the owner's, the container's user */
	gid_t			 gid;
	const char		*dir;	/* the agent's private directory */
	/* network = none: the directory of its socket (agent-socket.h). */
	const char		*link;
	char *const		*env;	/* the env-file's KEY=VALUE lines */
	/* The secrets found and the configured masks, those that exist. */
	const struct agent_mask	*masks;
	size_t			 nmasks;
	/*
	 * Its definition's text (config.h: definition), copied into its
	 * directory as AGENT_FILE_DEFINITION; NULL: none.
	 */
	const char		*definition;
	/*
	 * With secrets (config.h: secrets): the placeholder of each, in
	 * the order of the configuration (NULL-terminated), which the
	 * container has in place of the env-file's value; and the egress
	 * CA's certificate and bundle (egress-ca.h) it is made to trust.
	 * NULL without secrets; the secret variables are then left out.
	 */
	char *const		*placeholders;
	const char		*ca_cert;
	const char		*ca_bundle;
};

/* Where a container with secrets has the egress CA (egress-ca.h). */
#define AGENT_CA_CERT_TARGET	"/usr/local/share/ca-certificates/qmsd-egress.crt"
#define AGENT_CA_BUNDLE_TARGET	"/etc/ssl/certs/ca-certificates.crt"

/*
 * In the agent's private directory: what the container sees as
 * .claude/users, holding only an empty NAME directory to mount the
 * agent's own over; the other agents, and those made later, are not
 * there to be masked one by one.
 */
#define AGENT_USERS_DIR	"users"

#define AGENT_HASH_LEN	20

/*
 * The files of the agent's private directory the body mounts, made with
 * it (agent-identity.h), for agent-host.c to write under these names.
 */
struct agent_files {
	char	*passwd;
	char	*group;
	char	*gitconfig;
};
#define AGENT_FILE_PASSWD	"passwd"
#define AGENT_FILE_GROUP	"group"
#define AGENT_FILE_GITCONFIG	"gitconfig"
/* Claude's user memory in the container, read with the project's. */
#define AGENT_FILE_DEFINITION	"CLAUDE.md"
#define AGENT_DEFINITION_TARGET	"/claude-config/CLAUDE.md"
#define AGENT_DEFINITION_MAX	(1024 * 1024)

/*
 * The create body (free it), the files it mounts (agent_files_free), and
 * the hash of both in hash.
 */
char	*agent_spec(const struct agent_conf *, const struct agent_facts *,
	    struct agent_files *, char hash[AGENT_HASH_LEN]);
void	 agent_files_free(struct agent_files *);

/*
 * How many of masks (an agent's configured `mask` paths) the create body
 * spec masks and the container, as Docker's inspect of it has it, does
 * not: masked since it was made, and read by what runs in it until it is
 * made anew.  Those in the trees agents write are not counted: what an
 * agent writes there it has seen.  The first in what.
 */
int	 agent_spec_newly_masked(const char *spec, const struct cJSON *container,
	    char *const *masks, char *what, size_t whatlen);

/*
 * The container's .claude/settings.local.json (free it): the project's
 * MCP servers enabled, their tools allowed without a dialog, and, with base (qmsd's URL as the container sees
 * it) and token (the agent's), Claude Code's hooks reporting there
 * (hooks.h).  Each hook runs one fixed command, ours alone: curl posts
 * what Claude Code gives it on stdin, and says nothing back.
 */
char	*agent_settings(const char *base, const char *token);

#endif
