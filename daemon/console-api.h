/*
 * The console's data API (issue 17): GET /console/api/state, a snapshot
 * of what `qmsctl ps --json` and `qmsctl status --json` show, and POST
 * /console/api/agents/NAME/ACTION, the actions of qmsctl up, down,
 * notify and policy (and restart: a down, then an up), with their checks
 * and errors.  console.c has checked the session, Sec-Fetch-Site and the
 * Origin before; a session stands for an admin.
 */
#ifndef QMSD_CONSOLE_API_H
#define QMSD_CONSOLE_API_H

#include <stdarg.h>

#include <cjson/cJSON.h>

struct http_request;

/* Lines of the QMS MCP server's log, git audit and egress records kept. */
#define CONSOLE_TAIL	50

void	 console_api_state(struct http_request *);
/*
 * An action on an agent, recorded in the audit log (with session, a part
 * of the session's stored hash, to tell the sessions apart) and done
 * once that is on disk.
 */
void	 console_api_action(struct http_request *, const char *agent,
	    const char *action, const char *session);
/*
 * The snapshot: {"agents": [...ps...], "servers": {status, and with
 * tails, "log", "audit" and "egress": the last lines and records}}.
 */
cJSON	*console_api_snapshot(int tails);
/* A JSON answer: o (taken), or {"error": ...}. */
void	 console_api_json(struct http_request *, int status, cJSON *o);
void	 console_api_error(struct http_request *, int status, const char *,
	    ...) __attribute__((format(printf, 3, 4)));
/* The same, with one more header ("Retry-After: 10"), or NULL. */
void	 console_api_refuse(struct http_request *, int status,
	    const char *extra, const char *, ...)
	    __attribute__((format(printf, 4, 5)));
/* Every action waiting is let go (qmsd stops; its client sees a close). */
void	 console_api_shutdown(void);

#endif
