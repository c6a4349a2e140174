// PII detection, one leaf for both the pii-redaction policy and telemetry's redacted content export: one set of
// patterns, one linear-time engine, so what the policy masks and what an exported trace masks never drift apart.
export { BUILTIN, KIND_ORDER, luhn, MAX_JSON_DEPTH, redactJson, redactText, textBytes, Uninspectable, type PiiPattern } from './patterns.ts';
