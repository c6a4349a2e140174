# Per-skill A2A rules. input is AuthorizationInput (sdk-types/authorization.ts); data is skills.yaml.
package authz

import rego.v1

default allow := false

# The HTTP request (card, listing, a JSON-RPC POST): any authenticated caller. What it may do is decided per message.
allow if {
	not input.a2a
	input.identity.kind != "anonymous"
}

# A message that names no skill (tasks/get, cancel, a plain send) or a skill the caller's role grants. Card skills
# are asked the same way (listing: true), so a caller sees exactly the skills it may name.
allow if {
	input.a2a
	input.identity.kind != "anonymous"
	not input.a2a.skill
}

allow if {
	some role in input.identity.roles
	input.a2a.skill in data.roles[role].skills
}
