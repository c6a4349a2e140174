export { compose } from './compose.ts';
export { composeMessagePipeline, stepFromA2aHooks, stepFromHooks, type MessageContext, type MessageNext, type MessagePipeline, type MessageStep } from './message.ts';
export { PHASES } from './types.ts';
export { messageProtocol, registerMessageProtocol, type MessageProtocol } from './protocols.ts';
export { addForwardedHeaders, stripHopByHop } from './headers.ts';
export { recordDecisionInput, takeDecisionInput } from './decision-input.ts';
export { readRequestBody } from './request-body.ts';
export type {
  A2aMessage,
  A2aPolicyHooks,
  BackendCapability,
  GatewayResponse,
  HeaderMap,
  WholeBody,
  McpDecision,
  McpListItem,
  McpMessage,
  McpPolicyHooks,
  McpResultDecision,
  Next,
  Phase,
  PolicyBuildContext,
  PolicyDefinition,
  PolicyInstance,
  RequestContext,
  Step,
} from './types.ts';
export {
  CREDENTIAL_LINK_SOURCE,
  UPSTREAM_CREDENTIAL_PROBE,
  UPSTREAM_CREDENTIALS,
  UPSTREAM_LINK_REQUIRED,
  type CredentialLinkInfo,
  type CredentialLinkSource,
  type UpstreamCredentialProbe,
  type UpstreamLinkRequired,
} from './credential-links.ts';
