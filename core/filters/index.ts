export { bundleFilter, MODULE_GLOBAL, type FilterBundle } from './bundle.ts';
export { checkHttpDecision, checkMcpRequestDecision, checkMcpResponseDecision, FRAMING_HEADERS, InvalidDecisionError, type HttpDecision, type McpRequestDecision, type McpResponseDecision } from './decision.ts';
export { checkA2aRequestDecision, checkA2aResponseDecision, type A2aRequestDecision } from './decision.ts';
export { applyHeaderChanges, bufferUpTo, encodeBody, flattenHeaders, isJsonType, parseQuery, tryParseJson, type BufferedBody } from './http.ts';
export { FILTER_DEFAULTS, loadFilter, type FilterHook, type FilterSpec, type LoadedFilter } from './load.ts';
