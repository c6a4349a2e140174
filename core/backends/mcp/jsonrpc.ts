// The JSON-RPC codec is shared by every protocol backend (MCP now, A2A next): it lives in core/protocol.
export * from '../../protocol/jsonrpc.ts';
