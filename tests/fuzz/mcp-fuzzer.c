/*
 * libFuzzer harness for the MCP message handler: whatever a client POSTs,
 * the answer is one JSON object (or nothing, for a notification), and a
 * tool is reached only through a well-formed tools/call.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mcp.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
never(struct mcp_call *c, const cJSON *a, void *arg)
{
	abort();	/* mcp_handle decides; it never calls */
}

static const struct mcp_tool tools[] = { {
	.name = "git_exec",
	.description = "d",
	.input_schema = "{\"type\":\"object\"}",
	.call = never,
} };

static const struct mcp_server srv = {
	.name = "git",
	.tools = tools,
	.ntools = 1,
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct mcp_tool	*tool = NULL;
	const cJSON		*args = NULL;
	cJSON			*msg = NULL, *r;
	char			*reply = NULL;
	int			 status;

	switch (mcp_handle(&srv, (const char *)data, size, &status, &reply,
	    &msg, &tool, &args)) {
	case MCP_REPLY:
		if (reply == NULL || (status != 200 && status != 400))
			abort();
		if ((r = cJSON_Parse(reply)) == NULL || !cJSON_IsObject(r))
			abort();
		cJSON_Delete(r);
		cJSON_free(reply);
		break;
	case MCP_ACCEPTED:
		if (reply != NULL || msg != NULL)
			abort();
		break;
	case MCP_CALL:
		if (tool != &tools[0] || msg == NULL ||
		    (args != NULL && !cJSON_IsObject(args)))
			abort();
		cJSON_Delete(msg);
		break;
	}
	return (0);
}
