// The official TypeScript SDK as a client of qmsd's /git/mcp: connect with
// a bearer token, list the tools, call git_exec, print what came back.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from
    "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [url, token, command] = process.argv.slice(2);
const transport = new StreamableHTTPClientTransport(new URL(url), {
	requestInit: { headers: { Authorization: `Bearer ${token}` } },
});
const client = new Client({ name: "qmsd-test", version: "1.0.0" });
await client.connect(transport);
const tools = await client.listTools();
const result = await client.callTool({
	name: "git_exec", arguments: { command },
});
console.log(JSON.stringify({
	server: client.getServerVersion(),
	protocol: transport.protocolVersion ?? null,
	tools: tools.tools.map((t) => t.name),
	result,
}));
await client.close();
