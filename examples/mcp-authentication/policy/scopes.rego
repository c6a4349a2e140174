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

# Listing, and the session's housekeeping that every client sends (the Inspector sets the log level right after
# connecting): any authenticated agent. What a list shows is still filtered tool by tool by the rules below.
session_methods := {
	"tools/list", "prompts/list", "resources/list", "resources/templates/list",
	"ping", "logging/setLevel", "completion/complete",
}

allow if {
	input.mcp.method in session_methods
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
