# Scopes granted by the authorization server become roles (jwt `scope` claim): mcp:read and mcp:write.
package authz

import rego.v1

default allow := false

read_tools := {"echo", "get-sum", "get-tiny-image"}

write_tools := {"gzip-file-as-resource"}

allow if {
	not input.mcp
	input.identity.kind == "jwt"
}

allow if {
	input.mcp.method in {"tools/list", "prompts/list", "resources/list", "resources/templates/list"}
	input.identity.kind == "jwt"
}

allow if {
	input.mcp.method == "tools/call"
	"mcp:read" in input.identity.roles
	input.mcp.tool in read_tools
}

allow if {
	input.mcp.method == "tools/call"
	"mcp:write" in input.identity.roles
	input.mcp.tool in write_tools
}
