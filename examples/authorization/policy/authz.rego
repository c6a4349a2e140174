# Per-agent MCP rules. input is AuthorizationInput (sdk-types/authorization.ts); data is roles.yaml.
package authz

import rego.v1

default allow := false

# The HTTP request that carries MCP messages: any authenticated agent. What it may do is decided per message.
allow if {
	not input.mcp
	input.identity.kind != "anonymous"
}

# Listing is allowed; the gateway then asks, for each listed item, whether the agent could use it (rules below).
allow if {
	input.mcp.method in {"tools/list", "prompts/list", "resources/list", "resources/templates/list", "logging/setLevel"}
	input.identity.kind != "anonymous"
}

allow if {
	input.mcp.method == "tools/call"
	some role in input.identity.roles
	input.mcp.tool in data.roles[role].tools
}

allow if {
	input.mcp.method == "prompts/get"
	some role in input.identity.roles
	input.mcp.prompt in data.roles[role].prompts
}

allow if {
	input.mcp.method in {"resources/read", "resources/subscribe", "resources/unsubscribe"}
	some role in input.identity.roles
	some prefix in data.roles[role].resources
	startswith(input.mcp.resourceUri, prefix)
}
