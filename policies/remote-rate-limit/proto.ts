import type * as Protobuf from 'protobufjs';
import { lazy } from '../../core/lazy.ts';

/** protobufjs is loaded with the first remote rate-limit message, not by every gateway. */
const loadProtobuf = lazy<typeof Protobuf>('protobufjs');

/**
 * The messages of Envoy's rate-limit service (`envoy.service.ratelimit.v3`, rls.proto), as far as the gateway uses
 * them: parsed once by protobufjs from the proto source below (field numbers and types copied from Envoy's
 * api/envoy/service/ratelimit/v3/rls.proto, `HeaderValue` from envoy/config/core/v3/base.proto), no codegen step.
 * Fields the gateway does not read (quota, dynamic metadata) are left out: protobuf decoders skip unknown fields.
 */
const RLS_PROTO = `
syntax = "proto3";
package envoy.service.ratelimit.v3;

message Duration { int64 seconds = 1; int32 nanos = 2; }
message UInt64Value { uint64 value = 1; }
message HeaderValue { string key = 1; string value = 2; bytes raw_value = 3; }

enum RateLimitUnit { UNKNOWN = 0; SECOND = 1; MINUTE = 2; HOUR = 3; DAY = 4; MONTH = 5; YEAR = 6; }

message RateLimitDescriptor {
  message Entry { string key = 1; string value = 2; }
  message RateLimitOverride { uint32 requests_per_unit = 1; RateLimitUnit unit = 2; }
  repeated Entry entries = 1;
  RateLimitOverride limit = 2;
  UInt64Value hits_addend = 3;
}

message RateLimitRequest {
  string domain = 1;
  repeated RateLimitDescriptor descriptors = 2;
  uint32 hits_addend = 3;
}

message RateLimitResponse {
  enum Code { UNKNOWN = 0; OK = 1; OVER_LIMIT = 2; }
  message RateLimit {
    enum Unit { UNKNOWN = 0; SECOND = 1; MINUTE = 2; HOUR = 3; DAY = 4; WEEK = 7; MONTH = 5; YEAR = 6; }
    string name = 3;
    uint32 requests_per_unit = 1;
    Unit unit = 2;
  }
  message DescriptorStatus {
    Code code = 1;
    RateLimit current_limit = 2;
    uint32 limit_remaining = 3;
    Duration duration_until_reset = 4;
  }
  Code overall_code = 1;
  repeated DescriptorStatus statuses = 2;
  repeated HeaderValue response_headers_to_add = 3;
  repeated HeaderValue request_headers_to_add = 4;
  bytes raw_body = 5;
}
`;

/** The gRPC method the gateway calls. */
export const SHOULD_RATE_LIMIT = '/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit';

export interface RlsEntry {
  key: string;
  value: string;
}

export interface RlsRequest {
  domain: string;
  descriptors: Array<{ entries: RlsEntry[] }>;
}

export interface RlsHeader {
  key: string;
  value: string;
  rawValue: Uint8Array;
}

export interface RlsStatus {
  code: number;
  currentLimit?: { name: string; requestsPerUnit: number; unit: number };
  limitRemaining: number;
  durationUntilReset?: { seconds: number; nanos: number };
}

export interface RlsResponse {
  overallCode: number;
  statuses: RlsStatus[];
  responseHeadersToAdd: RlsHeader[];
  requestHeadersToAdd: RlsHeader[];
  rawBody: Uint8Array;
}

/** `RateLimitResponse.Code`. */
export const RlsCode = { UNKNOWN: 0, OK: 1, OVER_LIMIT: 2 } as const;

let types: { request: Protobuf.Type; response: Protobuf.Type } | undefined;
function load() {
  if (types) return types;
  const root = loadProtobuf().parse(RLS_PROTO, { keepCase: false }).root;
  types = { request: root.lookupType('envoy.service.ratelimit.v3.RateLimitRequest'), response: root.lookupType('envoy.service.ratelimit.v3.RateLimitResponse') };
  return types;
}

export function encodeRequest(request: RlsRequest): Buffer {
  const { request: type } = load();
  return Buffer.from(type.encode(type.fromObject(request)).finish());
}

export function decodeRequest(bytes: Uint8Array): RlsRequest {
  const { request: type } = load();
  return type.toObject(type.decode(bytes), { defaults: true, arrays: true }) as RlsRequest;
}

export function encodeResponse(response: Partial<RlsResponse>): Buffer {
  const { response: type } = load();
  return Buffer.from(type.encode(type.fromObject(response)).finish());
}

export function decodeResponse(bytes: Uint8Array): RlsResponse {
  const { response: type } = load();
  return type.toObject(type.decode(bytes), { defaults: true, arrays: true, longs: Number, enums: Number, bytes: Buffer }) as RlsResponse;
}
