# `npx portcullis policy test -c examples/authorization/gateway.config.ts` runs these with opa test.
package authz_test

import rego.v1

import data.authz

readonly := {"kind": "apiKey", "subject": "readonly-agent", "roles": ["readonly"], "claims": {}}

ingest := {"kind": "apiKey", "subject": "data-ingest-agent", "roles": ["ingest"], "claims": {}}

call(identity, tool) := {"identity": identity, "mcp": {"method": "tools/call", "tool": tool, "listing": false}}

test_readonly_may_read if authz.allow with input as call(readonly, "echo")

test_readonly_may_not_write if not authz.allow with input as call(readonly, "gzip-file-as-resource")

test_ingest_may_write if authz.allow with input as call(ingest, "gzip-file-as-resource")

test_ingest_may_not_read if not authz.allow with input as call(ingest, "echo")

test_anonymous_is_refused if not authz.allow with input as {"identity": {"kind": "anonymous", "subject": "", "roles": [], "claims": {}}}

test_static_resources_for_readonly if {
	authz.allow with input as {"identity": readonly, "mcp": {"method": "resources/read", "resourceUri": "demo://resource/static/document/features.md", "listing": true}}
}
