/*
 * What qmsd does on the host for an agent's container, as root: the
 * owner's directories and mount points in the repository, the agent's
 * private files (token, .mcp.json, settings, passwd, group, gitconfig),
 * its env-file, its volumes' ownership and the Claude config that lets
 * it start without a person (first-run screens done, the project
 * trusted).  Everything it needs is passed in; it keeps nothing between
 * calls.
 */
#ifndef QMSD_AGENT_HOST_H
#define QMSD_AGENT_HOST_H

#include <sys/types.h>

#include <stddef.h>

#include "agent-spec.h"

struct agent_conf;
struct masks;

/* The host facts every call needs. */
struct agent_host {
	const char	*root;		/* the project root */
	const char	*state_dir;
	uid_t		 uid;		/* the project owner's */
	gid_t		 gid;
};

/* The agent's private directory (free it). */
char	*agent_host_dir(const struct agent_host *, const char *name);

/*
 * The create body and its hash, and the host side it needs: directories
 * and mount points made as the owner; settings.local.json and the
 * identity files (agent-identity.h) written.  NULL with why.
 */
char	*agent_host_spec(const struct agent_host *, const struct agent_conf *,
	    struct masks *, char hash[AGENT_HASH_LEN], char *err, size_t);

/* Its token from its file, into tok (TOKEN_LEN + 1); 0 or -1. */
int	 agent_host_read_token(const struct agent_host *, const char *name,
	    char *tok, size_t);
/* A file of the agent's private directory only the owner reads. */
int	 agent_host_write(const struct agent_host *, const char *name,
	    const char *file, const char *text, char *err, size_t);

/*
 * A Docker volume made the owner's; in the config one, Claude's first-run
 * screens done and the project trusted.
 */
void	 agent_host_own_volume(const struct agent_host *, const char *path,
	    int config);

#endif
