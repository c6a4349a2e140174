import { ErrorCodes, type ErrorBody, type ErrorCode } from '../sdk-types/errors.ts';

export { ErrorCodes, type ErrorCode };

const STATUS: Record<ErrorCode, number> = {
  PCL_ERR_BAD_REQUEST: 400,
  PCL_ERR_NO_ROUTE: 404,
  PCL_ERR_BODY_TOO_LARGE: 413,
  PCL_ERR_INTERNAL: 500,
  PCL_ERR_BACKEND_UNSUPPORTED: 501,
  PCL_ERR_BACKEND_UNREACHABLE: 502,
  PCL_ERR_NO_HEALTHY_BACKEND: 503,
  PCL_ERR_SHUTTING_DOWN: 503,
  PCL_ERR_UPSTREAM_TIMEOUT: 504,
  PCL_ERR_STREAM_ABORTED: 502,
  PCL_ERR_CLIENT_CLOSED: 499,
  PCL_ERR_CONFIG_INVALID: 500,
  PCL_ERR_CONFIG_LOAD: 500,
  PCL_ERR_EXTENSION_CONFLICT: 500,
  PCL_ERR_BIND_FAILED: 500,
  PCL_ERR_FILTER_BUILD: 500,
  PCL_ERR_FILTER_FAILED: 500,
  PCL_ERR_FILTER_TIMEOUT: 500,
  PCL_ERR_FILTER_MEMORY_LIMIT: 500,
  PCL_ERR_FILTER_RESULT_TOO_LARGE: 500,
  PCL_ERR_FILTER_DENIED: 403,
  PCL_ERR_UNAUTHENTICATED: 401,
  PCL_ERR_FORBIDDEN: 403,
  PCL_ERR_POLICY_EVAL: 403,
  PCL_ERR_POLICY_COMPILE: 500,
  PCL_ERR_OPA_MISSING: 500,
  PCL_ERR_MCP_SESSION_NOT_FOUND: 404,
  PCL_ERR_MCP_SESSION_REQUIRED: 400,
  PCL_ERR_MCP_PROTOCOL_VERSION: 400,
  PCL_ERR_MCP_HEADER_MISMATCH: 400,
  PCL_ERR_MCP_ENVELOPE_INVALID: 400,
  PCL_ERR_MCP_REQUEST_STATE_INVALID: 400,
  PCL_ERR_MCP_REQUEST_STATE_EXPIRED: 400,
  PCL_ERR_MCP_CURSOR_INVALID: 400,
  PCL_ERR_MCP_TASK_UNKNOWN: 400,
  PCL_ERR_MCP_LISTEN_LIMIT: 429,
  PCL_ERR_MCP_METHOD_NOT_ALLOWED: 405,
  PCL_ERR_MCP_UPSTREAM_FAILED: 502,
  PCL_ERR_MCP_BATCH_TOO_LARGE: 413,
  PCL_ERR_MCP_SESSION_LIMIT: 429,
  PCL_ERR_MCP_PROCESS_LIMIT: 503,
  PCL_ERR_CONNECTION_LIMIT: 503,
  PCL_ERR_MCP_STREAM_LIMIT: 429,
  PCL_ERR_MCP_ORIGIN_FORBIDDEN: 403,
  PCL_ERR_MCP_HOST_FORBIDDEN: 403,
  PCL_ERR_MCP_UPSTREAM_INVALID: 502,
  PCL_ERR_MCP_UPSTREAM_STREAM_ENDED: 502,
  PCL_ERR_MCP_TOOLS_CONFIG_INVALID: 500,
  PCL_ERR_MCP_TOOL_SEARCH_INVALID: 400,
  PCL_ERR_FILTER_CONTENT_TOO_LARGE: 502,
  PCL_ERR_FILTER_CRASHED: 500,
  // OpenAPI targets
  PCL_ERR_OPENAPI_SPEC_INVALID: 500,
  // Rate limits
  PCL_ERR_RATE_LIMITED: 429,
  PCL_ERR_RATE_LIMIT_UNAVAILABLE: 503,
  // A2A backend
  PCL_ERR_A2A_CARD_INVALID: 502,
  PCL_ERR_A2A_PUSH_URL_DENIED: 403,
  PCL_ERR_A2A_GRPC_UNSUPPORTED: 415,
  PCL_ERR_A2A_UNKNOWN_ENDPOINT: 404,
  // Admin UI and API
  PCL_ERR_ADMIN_UNAUTHORIZED: 401,
  PCL_ERR_ADMIN_CSRF: 403,
  // MCP authorization
  PCL_ERR_INSUFFICIENT_SCOPE: 403,
  PCL_ERR_IDP_UNREACHABLE: 502,
  PCL_ERR_IDP_METADATA_INVALID: 502,
  PCL_ERR_IDP_REGISTRATION_UNSUPPORTED: 501,
  // Replicas
  PCL_ERR_SESSION_KEY_INVALID: 500,
  PCL_ERR_PEER_ADDRESS_INVALID: 500,
  PCL_ERR_PEER_FORWARD_FAILED: 502,
  // Browser login (oidc)
  PCL_ERR_OIDC_PROVIDER_FAILED: 502,
  PCL_ERR_OIDC_CALLBACK_INVALID: 400,
  PCL_ERR_EXT_AUTHZ_FAILED: 403,
  PCL_ERR_REMOTE_RATE_LIMIT_FAILED: 500,
  // Per-user upstream credentials
  PCL_ERR_UPSTREAM_CREDENTIAL_MISSING: 403,
  PCL_ERR_TOKEN_EXCHANGE_FAILED: 502,
  PCL_ERR_UPSTREAM_LINK_REQUIRED: 403,
  PCL_ERR_OAUTH_CALLBACK_INVALID: 400,
};

/** Every error the gateway raises on purpose: a stable code, the HTTP status it maps to, and the cause. */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; status?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatewayError';
    this.code = code;
    this.status = options?.status ?? STATUS[code];
  }

  toJSON(): ErrorBody {
    return { error: { code: this.code, message: this.message } };
  }
}

export function isGatewayError(err: unknown): err is GatewayError {
  return err instanceof GatewayError;
}

/** Any thrown value as a GatewayError; unknown failures become PCL_ERR_INTERNAL with the original as cause. */
export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  return new GatewayError(ErrorCodes.INTERNAL, 'internal gateway error', { cause: err });
}
