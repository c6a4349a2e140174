// The MCP protocol versions the gateway speaks (the JSON-RPC codec itself is shared: core/protocol/jsonrpc.ts).
/** The protocol versions the gateway negotiates, newest first. */
export const PROTOCOL_VERSIONS = ['2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05'] as const;
export const LATEST_PROTOCOL_VERSION = PROTOCOL_VERSIONS[0];
