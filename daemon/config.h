/*
 * qmsd.conf(5): INI read with inih.  A configuration is parsed whole into a
 * fresh struct config and used only if every line is valid, which is what
 * lets SIGHUP keep the running configuration when the new file is bad.
 */
#ifndef QMSD_CONFIG_H
#define QMSD_CONFIG_H

#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>

#include "log.h"
#include "policy.h"

enum restart_policy {
	RESTART_ALWAYS,
	RESTART_ON_FAILURE,
	RESTART_NEVER,
};

enum tristate {
	TRI_AUTO,
	TRI_YES,
	TRI_NO,
};

/* How a supervised thing restarts; shared by [qms-mcp] and agents. */
struct restart_conf {
	enum restart_policy	 policy;
	uint64_t		 backoff_min;	/* ms */
	uint64_t		 backoff_max;
	uint64_t		 stable_after;
	long long		 give_up;	/* 0: never */
	uint64_t		 give_up_window;
};

/* [qms-mcp]: the supervised QMS MCP server. */
struct qms_mcp_conf {
	enum tristate		 enabled;
	char			*command;	/* {root} not yet expanded */
	char			*workdir;
	char			**environment;	/* KEY=VALUE, NULL-terminated */
	char			*url;
	struct restart_conf	 restart;
	uint64_t		 start_timeout;
	uint64_t		 stop_timeout;
	uint64_t		 probe_interval;
	uint64_t		 probe_timeout;
	long long		 probe_failures;
};

/* [http]: qmsd's HTTP listener for MCP clients (agents, the host). */
struct http_conf {
	char			**listen;	/* HOST:PORT */
	char			**allowed_hosts;	/* without port */
	char			**allowed_origins;
	uint64_t		 max_body;
	long long		 max_connections;
	uint64_t		 connection_timeout;	/* idle, in a request */
	uint64_t		 request_line_timeout;	/* waiting, no line */
	uint64_t		 head_timeout;		/* waiting, whole head */
	long long		 max_connections_per_peer;	/* 0: none */
	char			*docker_network;	/* docker-bridge's */
};

/* [git]: the git_exec tool. */
struct git_conf {
	char			**remotes;
	char			**protected_paths;	/* NULL: .gitmodules */
	int			 protected_set;	/* even to nothing */
	uint64_t		 timeout;
	uint64_t		 max_output;
	long long		 max_concurrent;
	int			 allow_no_verify;	/* hooks skippable */
};

/* [docker]: the Docker Engine qmsd talks to. */
#define DOCKER_SOCKET_MAX	108	/* sun_path, its NUL included */
struct docker_conf {
	char			*socket;	/* NULL: DOCKER_HOST, or the default */
};

#define CONFIG_MAX_AGENTS	16

/* [agent "NAME"]: one agent container. */
/* Who authors an agent's git_exec commits: git's own user, or the agent. */
enum agent_author {
	AGENT_AUTHOR_OWNER,
	AGENT_AUTHOR_AGENT,
};

struct agent_conf {
	char			*name;
	int			 line;		/* of its section, for errors */
	int			 enabled;
	char			*image;
	char			*container;
	char			*command;	/* what a session runs */
	struct restart_conf	 restart;
	uint64_t		 memory;
	long long		 pids;
	double			 cpus;		/* 0: no limit */
	char			*network;	/* "none", "bridge" or "host" */
	char			*egress;	/* the allow-list, as written */
	long long		 egress_max_tunnels;
	uint64_t		 egress_connect_timeout;	/* ms */
	uint64_t		 egress_idle_timeout;		/* ms */
	char			*env_file;
	/* secret-rule.h: "NAME HOST[:PORT] ...", as written, validated */
	char			**secrets;
	char			**secret_repos;		/* OWNER/REPO, or OWNER and a star */
	char			**secret_push_refs;
	char			**mounts;	/* SRC:DST[:ro] */
	char			**masks;	/* paths in the repository */
	char			*git_user_name;	/* the container's user.name */
	char			*git_user_email;
	/* Its git_exec commits (git-policy.h, issue 19). */
	char			*git_committer_name;
	char			*git_committer_email;
	enum agent_author	 git_author;
	char			**push_refs;	/* NULL: as the owner's */
	struct policy		 policy;	/* start and stop */
	/* .claude/agents/NAME.md by default; "" for none. */
	char			*definition;
	char			*inbox;		/* relative to the root */
	char			*notice;	/* with {item} (activity.h) */
};

struct config {
	char		*file;		/* NULL: built-in defaults */
	char		*project_root;
	char		*run_as;	/* user name */
	uid_t		 run_as_uid;
	gid_t		 run_as_gid;
	char		*socket;
	char		*admin_group;
	gid_t		 admin_gid;	/* resolved at load time */
	int		 admin_gid_found;	/* the group exists */
	char		*state_dir;
	char		*upstream_ca;	/* PEM, for intercepted hosts */
	enum log_level	 log_level;
	struct qms_mcp_conf qms_mcp;
	struct http_conf http;
	struct git_conf	 git;
	struct docker_conf docker;
	struct agent_conf agents[CONFIG_MAX_AGENTS];
	size_t		 nagents;
};

/*
 * Load file, or the built-in defaults when file is NULL.  On error returns
 * NULL with "FILE:LINE: message" (or a message about the defaults) in err.
 */
struct config	*config_load(const char *file, char *err, size_t errlen);
/* The same from an open stream (NULL: the defaults), named file in errors. */
struct config	*config_load_stream(FILE *, const char *file, char *err,
		    size_t errlen);
void		 config_free(struct config *);

/* s with every {root} replaced by the project root; free the result. */
char		*config_expand(const struct config *, const char *s);

/* An [http] listen word: HOST (no brackets) and PORT; 0, or -1. */
int		 listen_parse(const char *, char *host, size_t, int *port);

/* The default control socket for this user (root or not). */
char		*config_default_socket(void);

#endif
