/*
 * Who an agent is inside its container: a passwd and a group entry for
 * the uid:gid it runs as (the image looks them up first, through
 * libnss-extrausers: see docker/README.md), and a system gitconfig with
 * its commit identity and, when its environment gives gh a token, gh as
 * git's credential helper for GitHub.  Pure: texts made from the
 * configuration and the host facts; agent-host.c writes them, agent-spec.c
 * mounts them and counts them in the container's hash.
 */
#ifndef QMSD_AGENT_IDENTITY_H
#define QMSD_AGENT_IDENTITY_H

#include <stddef.h>

struct agent_conf;
struct agent_facts;

/* The longest git-user-name or git-user-email taken. */
#define AGENT_IDENT_MAX	256

/*
 * Whether v can be a git-user-name or git-user-email as it is: 0, or -1
 * with why.  Refused is what git would change or refuse (it trims
 * punctuation and blanks at either end, drops < and >, and refuses a
 * value of nothing else) and every control character, so that what is
 * configured is what commits record and no value can be more than one
 * value in a gitconfig.
 */
int	 agent_ident_check(const char *v, char *why, size_t);

/* "NAME:x:UID:GID:...:/claude-config:/bin/bash\n" (free it). */
char	*agent_passwd(const struct agent_conf *, const struct agent_facts *);
/* "NAME:x:GID:\n" (free it). */
char	*agent_group(const struct agent_conf *, const struct agent_facts *);
/* The system gitconfig (free it). */
char	*agent_gitconfig(const struct agent_conf *,
	    const struct agent_facts *);

#endif
