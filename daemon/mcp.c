#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config-build.h"
#include "http.h"
#include "log.h"
#include "mcp.h"
#include "util.h"

static const char *const versions[] = {
	MCP_LATEST_VERSION, "2025-06-18", "2025-03-26",
};

struct mcp_call {
	struct http_request	*req;	/* NULL once the client left */
	char			*identity;	/* outlives req */
	cJSON			*msg;	/* owns the id */
	const cJSON		*id;
	void			(*gone_fn)(void *);
	void			*gone_arg;
};

int
mcp_version_supported(const char *v)
{
	size_t	i;

	for (i = 0; i < nitems(versions); i++)
		if (strcmp(v, versions[i]) == 0)
			return (1);
	return (0);
}

static char *
reply_json(const cJSON *id, cJSON *result, int code, const char *message)
{
	cJSON	*o, *e;
	char	*s;

	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "jsonrpc", "2.0");
	if (id != NULL)
		cJSON_AddItemToObject(o, "id", cJSON_Duplicate(id, 1));
	else
		cJSON_AddNullToObject(o, "id");
	if (result != NULL)
		cJSON_AddItemToObject(o, "result", result);
	else {
		e = cJSON_AddObjectToObject(o, "error");
		cJSON_AddNumberToObject(e, "code", code);
		cJSON_AddStringToObject(e, "message", message);
	}
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return (s);
}

static cJSON *
initialize_result(const struct mcp_server *srv, const cJSON *params)
{
	const cJSON	*pv;
	cJSON		*r, *caps, *info;

	pv = cJSON_GetObjectItemCaseSensitive(params, "protocolVersion");
	r = cJSON_CreateObject();
	/* The client's version if we speak it, else ours to decide on. */
	cJSON_AddStringToObject(r, "protocolVersion", cJSON_IsString(pv) &&
	    mcp_version_supported(pv->valuestring) ? pv->valuestring :
	    MCP_LATEST_VERSION);
	caps = cJSON_AddObjectToObject(r, "capabilities");
	cJSON_AddFalseToObject(cJSON_AddObjectToObject(caps, "tools"),
	    "listChanged");
	info = cJSON_AddObjectToObject(r, "serverInfo");
	cJSON_AddStringToObject(info, "name", srv->name);
	cJSON_AddStringToObject(info, "version", QMSD_VERSION);
	if (srv->instructions != NULL)
		cJSON_AddStringToObject(r, "instructions", srv->instructions);
	return (r);
}

static cJSON *
tools_list_result(const struct mcp_server *srv)
{
	cJSON	*r, *list, *t, *schema;
	size_t	 i;

	r = cJSON_CreateObject();
	list = cJSON_AddArrayToObject(r, "tools");
	for (i = 0; i < srv->ntools; i++) {
		t = cJSON_CreateObject();
		cJSON_AddStringToObject(t, "name", srv->tools[i].name);
		cJSON_AddStringToObject(t, "description",
		    srv->tools[i].description);
		if ((schema = cJSON_Parse(srv->tools[i].input_schema)) == NULL)
			fatalx("tool %s: bad input schema", srv->tools[i].name);
		cJSON_AddItemToObject(t, "inputSchema", schema);
		cJSON_AddItemToArray(list, t);
	}
	return (r);
}

enum mcp_action
mcp_handle(const struct mcp_server *srv, const char *body, size_t len,
    int *status, char **reply, cJSON **msgp, const struct mcp_tool **toolp,
    const cJSON **argsp)
{
	const cJSON	*id, *method, *params, *name, *args;
	cJSON		*msg;
	char		 err[160];
	size_t		 i;

	*reply = NULL;
	*msgp = NULL;
	*status = 200;
	if ((msg = cJSON_ParseWithLength(body, len)) == NULL) {
		*status = 400;
		*reply = reply_json(NULL, NULL, -32700, "parse error: the "
		    "body is not JSON");
		return (MCP_REPLY);
	}
	if (!cJSON_IsObject(msg)) {
		cJSON_Delete(msg);
		*status = 400;
		*reply = reply_json(NULL, NULL, -32600, cJSON_IsArray(msg) ?
		    "batches are not supported" : "a message must be a JSON "
		    "object");
		return (MCP_REPLY);
	}
	id = cJSON_GetObjectItemCaseSensitive(msg, "id");
	method = cJSON_GetObjectItemCaseSensitive(msg, "method");
	params = cJSON_GetObjectItemCaseSensitive(msg, "params");
	if (id != NULL && !cJSON_IsString(id) && !cJSON_IsNumber(id)) {
		*status = 400;
		*reply = reply_json(NULL, NULL, -32600, "id must be a string "
		    "or a number");
		cJSON_Delete(msg);
		return (MCP_REPLY);
	}
	if (method == NULL) {
		/* A response to something we never ask: nothing to do. */
		if (cJSON_GetObjectItemCaseSensitive(msg, "result") != NULL ||
		    cJSON_GetObjectItemCaseSensitive(msg, "error") != NULL) {
			cJSON_Delete(msg);
			return (MCP_ACCEPTED);
		}
		*status = 400;
		*reply = reply_json(id, NULL, -32600, "no method");
		cJSON_Delete(msg);
		return (MCP_REPLY);
	}
	if (!cJSON_IsString(method)) {
		*status = 400;
		*reply = reply_json(id, NULL, -32600, "method must be a "
		    "string");
		cJSON_Delete(msg);
		return (MCP_REPLY);
	}
	if (id == NULL) {
		/* notifications/initialized and every other notification */
		cJSON_Delete(msg);
		return (MCP_ACCEPTED);
	}
	if (params != NULL && !cJSON_IsObject(params)) {
		*reply = reply_json(id, NULL, -32602, "params must be an "
		    "object");
		cJSON_Delete(msg);
		return (MCP_REPLY);
	}

	if (strcmp(method->valuestring, "initialize") == 0)
		*reply = reply_json(id, initialize_result(srv, params), 0,
		    NULL);
	else if (strcmp(method->valuestring, "ping") == 0)
		*reply = reply_json(id, cJSON_CreateObject(), 0, NULL);
	else if (strcmp(method->valuestring, "tools/list") == 0)
		*reply = reply_json(id, tools_list_result(srv), 0, NULL);
	else if (strcmp(method->valuestring, "tools/call") == 0) {
		name = cJSON_GetObjectItemCaseSensitive(params, "name");
		args = cJSON_GetObjectItemCaseSensitive(params, "arguments");
		if (!cJSON_IsString(name)) {
			*reply = reply_json(id, NULL, -32602, "tools/call "
			    "needs params.name");
		} else if (args != NULL && !cJSON_IsObject(args)) {
			*reply = reply_json(id, NULL, -32602, "arguments must "
			    "be an object");
		} else {
			for (i = 0; i < srv->ntools; i++) {
				if (strcmp(srv->tools[i].name,
				    name->valuestring) != 0)
					continue;
				*toolp = &srv->tools[i];
				*argsp = args;
				*msgp = msg;
				return (MCP_CALL);
			}
			snprintf(err, sizeof(err), "Unknown tool: %.100s",
			    name->valuestring);
			*reply = reply_json(id, NULL, -32602, err);
		}
	} else {
		/* server/discover among them: Claude Code then initializes. */
		snprintf(err, sizeof(err), "Method not found: %.100s",
		    method->valuestring);
		*reply = reply_json(id, NULL, -32601, err);
	}
	cJSON_Delete(msg);
	return (MCP_REPLY);
}

/* Whether an Accept list takes JSON: application/json, application/ANY, ANY/ANY. */
static int
accepts_json(const char *accept)
{
	const char	*p = accept;
	size_t		 n;

	if (accept == NULL)
		return (1);	/* no Accept: anything goes (RFC 9110) */
	while (*p != '\0') {
		while (*p == ' ' || *p == ',')
			p++;
		n = strcspn(p, ",;");
		while (n > 0 && p[n - 1] == ' ')
			n--;
		if ((n == 16 && strncasecmp(p, "application/json", 16) == 0) ||
		    (n == 13 && strncasecmp(p, "application/*", 13) == 0) ||
		    (n == 3 && strncmp(p, "*/*", 3) == 0))
			return (1);
		p += strcspn(p, ",");
	}
	return (0);
}

static void
respond_json(struct http_request *req, int status, const char *json)
{
	http_respond(req, status, NULL, "application/json", json,
	    strlen(json));
}

/*
 * The request ended unanswered: it must not be touched again; the tool
 * hears of it, and still calls mcp_call_done when it is done.
 */
static void
call_gone(void *arg)
{
	struct mcp_call	*call = arg;

	call->req = NULL;
	if (call->gone_fn != NULL)
		call->gone_fn(call->gone_arg);
}

void
mcp_serve(const struct mcp_server *srv, struct http_request *req)
{
	static const char *const allow[] = { "Allow: POST", NULL };
	const struct mcp_tool	*tool = NULL;
	const cJSON		*args = NULL;
	struct mcp_call		*call;
	const char		*v, *body;
	char			*reply, msg[160];
	cJSON			*m;
	size_t			 len;
	int			 status;

	if (strcmp(http_method(req), "POST") != 0) {
		/* Never 404: Claude Code gives up on a 404 to its GET. */
		snprintf(msg, sizeof(msg), "%s is not supported here: this "
		    "server is stateless and answers POST only",
		    http_method(req));
		reply = reply_json(NULL, NULL, -32600, msg);
		http_respond(req, 405, allow, "application/json", reply,
		    strlen(reply));
		cJSON_free(reply);
		return;
	}
	v = http_header(req, "Content-Type");
	if (v == NULL || strncasecmp(v, "application/json", 16) != 0 ||
	    (v[16] != '\0' && v[16] != ';' && v[16] != ' ')) {
		http_respond_rpc_error(req, 415, NULL, -32600, "Content-Type must be "
		    "application/json");
		return;
	}
	if (!accepts_json(http_header(req, "Accept"))) {
		http_respond_rpc_error(req, 406, NULL, -32600, "Accept must include "
		    "application/json");
		return;
	}
	v = http_header(req, "MCP-Protocol-Version");
	if (v != NULL && !mcp_version_supported(v)) {
		snprintf(msg, sizeof(msg), "unsupported MCP-Protocol-Version "
		    "%.40s; supported: %s, %s, %s", v, versions[0],
		    versions[1], versions[2]);
		http_respond_rpc_error(req, 400, NULL, -32600, msg);
		return;
	}
	body = http_body(req, &len);
	switch (mcp_handle(srv, body, len, &status, &reply, &m, &tool,
	    &args)) {
	case MCP_REPLY:
		respond_json(req, status, reply);
		cJSON_free(reply);
		return;
	case MCP_ACCEPTED:
		http_respond(req, 202, NULL, NULL, NULL, 0);
		return;
	case MCP_CALL:
		call = xcalloc(1, sizeof(*call));
		call->req = req;
		call->identity = xstrdup(http_identity(req));
		call->msg = m;
		call->id = cJSON_GetObjectItemCaseSensitive(m, "id");
		/* The tool may answer later: the request's end is watched. */
		http_on_gone(req, call_gone, call);
		tool->call(call, args, tool->arg);
		return;
	}
}

const char *
mcp_call_identity(const struct mcp_call *call)
{
	return (call->identity);
}

void
mcp_call_on_gone(struct mcp_call *call, void (*fn)(void *), void *arg)
{
	call->gone_fn = fn;
	call->gone_arg = arg;
}

int
mcp_call_gone(const struct mcp_call *call)
{
	return (call->req == NULL);
}

void
mcp_call_done(struct mcp_call *call, const char *text, int is_error)
{
	cJSON	*r, *content, *item;
	char	*s;

	r = cJSON_CreateObject();
	content = cJSON_AddArrayToObject(r, "content");
	item = cJSON_CreateObject();
	cJSON_AddStringToObject(item, "type", "text");
	cJSON_AddStringToObject(item, "text", text);
	cJSON_AddItemToArray(content, item);
	cJSON_AddBoolToObject(r, "isError", is_error);
	s = reply_json(call->id, r, 0, NULL);
	if (call->req != NULL)
		respond_json(call->req, 200, s);
	cJSON_free(s);
	cJSON_Delete(call->msg);
	free(call->identity);
	free(call);
}
