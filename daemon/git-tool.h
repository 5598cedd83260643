/*
 * The Git MCP proxy: the MCP server named "git" at /git/mcp, whose one
 * tool, git_exec, runs what git-policy.c allows, without a shell, as the
 * run-as user in the project root, with a deadline, an output cap, a
 * bounded number at once, and an audit record for every call.
 */
#ifndef QMSD_GIT_TOOL_H
#define QMSD_GIT_TOOL_H

#include <event2/event.h>

#include <cjson/cJSON.h>

struct config;

void	 git_tool_init(struct event_base *);
void	 git_tool_configure(const struct config *);
/* Ends every call in flight (each gets an error), so nothing hangs. */
void	 git_tool_shutdown(void);
/*
 * The verdict for qmsctl git-check: {allowed, rule, reason, argv}, as for
 * the host, or for agent (NULL: the host), whose allowed verdict adds
 * env and config (what its git runs with besides the common).  NULL if
 * there is no such agent.
 */
cJSON	*git_tool_check(const char *command, const char *agent);

#endif
