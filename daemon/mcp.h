/*
 * An MCP server over Streamable HTTP, stateless: every POST carries one
 * JSON-RPC message and gets one JSON answer (or 202 for notifications).
 * The transport rules (methods, media types, protocol versions) and the
 * lifecycle methods are here; tools register themselves and answer their
 * calls when they are done, now or later.
 */
#ifndef QMSD_MCP_H
#define QMSD_MCP_H

#include <stddef.h>

#include <cjson/cJSON.h>

struct http_request;
struct mcp_call;

struct mcp_tool {
	const char	*name;
	const char	*description;
	const char	*input_schema;	/* JSON text */
	void		(*call)(struct mcp_call *, const cJSON *arguments,
			    void *arg);
	void		*arg;
};

struct mcp_server {
	const char		*name;
	const char		*instructions;
	const struct mcp_tool	*tools;
	size_t			 ntools;
};

#define MCP_LATEST_VERSION	"2025-11-25"

/* Serve one HTTP request to this server's endpoint. */
void		 mcp_serve(const struct mcp_server *, struct http_request *);

/*
 * For a tool: who is calling, and the answer (text, isError).  A tool that
 * answers later may be told that the client left (mcp_call_on_gone); its
 * mcp_call_done then only frees the call, so the tool need not care when.
 */
const char	*mcp_call_identity(const struct mcp_call *);
void		 mcp_call_on_gone(struct mcp_call *, void (*)(void *), void *);
int		 mcp_call_gone(const struct mcp_call *);
void		 mcp_call_done(struct mcp_call *, const char *text,
		    int is_error);

/*
 * The transport-independent part, pure for fuzzing: decide what a POSTed
 * body asks.  Returns MCP_REPLY with *reply (an HTTP status and a JSON
 * text to free), MCP_ACCEPTED (202, nothing to say), or MCP_CALL with the
 * tool, its arguments and the request id (owned by *msg; free with
 * cJSON_Delete(*msg)).
 */
enum mcp_action { MCP_REPLY, MCP_ACCEPTED, MCP_CALL };
enum mcp_action	 mcp_handle(const struct mcp_server *, const char *body,
		    size_t len, int *status, char **reply, cJSON **msg,
		    const struct mcp_tool **tool, const cJSON **arguments);
/* Whether a protocol version is one we serve. */
int		 mcp_version_supported(const char *);

#endif
