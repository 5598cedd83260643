/*
 * What an agent must not read of the project: one rule, used by the git
 * policy (git runs on the host, outside the container's masks) and by the
 * container's masks (masks.c finds the secrets by mask_secret_name; the
 * container hides .claude/users whole and mounts its own files over
 * .mcp.json and settings.local.json), so that the two never disagree.
 * Pure: no I/O, no global state.
 *
 * Hidden from agent NAME, at any depth unless said otherwise:
 *
 *	.env, .env.*, *.env	a file (or a directory) so named: secrets
 *	.mcp.json		at the top: the host's, holding its token
 *	.claude/settings.local.json
 *				generated, holding tokens
 *	.claude/users/OTHER	every other agent's own directory (any
 *				name but NAME, configured or not)
 *	each configured mask	mask = PATH of the agent's section
 *
 * The owner (NAME NULL: the host token) sees everything.
 *
 * The container shows a tracked template whose working copy git finds
 * unmodified (templates.h); this rule still hides it from git_exec, which is
 * stricter, never looser, than the container.
 */
#ifndef QMSD_MASK_H
#define QMSD_MASK_H

#include <stddef.h>

/* Whether a file name says it holds secrets: .env, .env.* or *.env. */
int	mask_secret_name(const char *);

/*
 * Whether path (normalised, as mask_path's) is in a tree agents write,
 * .claude/users or .claude/sessions, or is one: what is there an agent
 * may have written, and has read all along.
 */
int	mask_agents_tree(const char *path);

/*
 * Whether path (relative to the project root, normalised: no "", "." or
 * ".." component, no leading or trailing "/"; "" is the root) is hidden
 * from agent.  Returns 1 and writes the hidden path that covers it to why
 * (".env", ".claude/users/bob", ...), or 0.  masks: normalised relative
 * paths, NULL-terminated, or NULL.
 */
int	mask_path(const char *agent, const char *const *masks,
	    const char *path, char *why, size_t whylen);

/*
 * The same rule as git exclude pathspecs, for a command that would sweep
 * files into the object store (add ., stash -u): a NULL-terminated vector
 * to free with argv_free, empty for the owner, or NULL when out of
 * memory.  users: the entries of .claude/users as they are now (the
 * caller lists them), each excluded but the agent's own.
 */
char	**mask_pathspecs(const char *agent, const char *const *masks,
	    const char *const *users);

/*
 * The same, for a command that reads the content of tracked files in the
 * work tree (diff against it): also the names of secrets, as wildcard
 * excludes, since nothing probes a read.  git matches a read's pathspecs
 * against each tracked path in full, so a wildcard there drops exactly
 * the files so named; in add's walk of untracked directories it would
 * drop a whole directory named to add, which is why mask_pathspecs has
 * none.  Needs git's default pathspec rules (no GIT_*_PATHSPECS).
 */
char	**mask_read_pathspecs(const char *agent, const char *const *masks,
	    const char *const *users);

#endif
