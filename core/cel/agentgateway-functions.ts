import { createHash, randomUUID } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import type { Environment } from '@marcbachmann/cel-js';
import { lazy } from '../lazy.ts';

/**
 * The functions agentgateway adds to CEL (its `crates/celx`: general helpers, the cel-go "strings" and "math"
 * extensions it carries, and the Kubernetes CIDR/IP library), registered on a cel-js environment so that
 * agentgateway's expressions (`cidr("127.0.0.1/8").containsIP(source.address)`, `random() < 0.1 ? 2000 : 0`,
 * `json(request.body).model`, `jwt.with(j, j.sub + "@" + j.iss)`) compile and evaluate unchanged. A bad argument
 * (an address that is not one, invalid base64, a regex that does not compile) is a CEL evaluation error with a
 * message naming the function and the value, never a crash; callers treat it as every CEL error.
 */

const cel = lazy<typeof import('@marcbachmann/cel-js')>('@marcbachmann/cel-js');

/** A CEL evaluation error raised by one of these functions. */
function fail(message: string): Error {
  return new (cel().EvaluationError)(message);
}

// ---------------------------------------------------------------------------------------------------------------
// IP addresses and CIDR ranges (agentgateway's cidr.rs, after the Kubernetes CEL library)

/** An IP address as CEL's `ip(...)` returns it. IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`) are read as IPv4. */
export class CelIp {
  readonly family: 4 | 6;
  readonly value: bigint;
  constructor(family: 4 | 6, value: bigint) {
    this.family = family;
    this.value = value;
  }
  toString(): string {
    return formatIp(this.family, this.value);
  }
}

/** A CIDR range as CEL's `cidr(...)` returns it: the address as written and the prefix length. */
export class CelCidr {
  readonly address: CelIp;
  readonly prefixLength: number;
  constructor(address: CelIp, prefixLength: number) {
    this.address = address;
    this.prefixLength = prefixLength;
  }
  get bits(): number {
    return this.address.family === 4 ? 32 : 128;
  }
  network(): bigint {
    const host = this.bits - this.prefixLength;
    return (this.address.value >> BigInt(host)) << BigInt(host);
  }
  contains(ip: CelIp): boolean {
    if (ip.family !== this.address.family) return false;
    const host = BigInt(this.bits - this.prefixLength);
    return ip.value >> host === this.address.value >> host;
  }
  toString(): string {
    return `${this.address}/${this.prefixLength}`;
  }
}

function parseIpv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(part) || Number(part) > 255) return undefined;
    value = (value << 8n) | BigInt(part);
  }
  return value;
}

function parseIpv6(text: string): bigint | undefined {
  if (!isIPv6(text) || text.includes('%')) return undefined;
  let groups: string[];
  let tail: bigint | undefined;
  let body = text;
  const lastColon = body.lastIndexOf(':');
  if (body.slice(lastColon + 1).includes('.')) {
    tail = parseIpv4(body.slice(lastColon + 1));
    if (tail === undefined) return undefined;
    body = `${body.slice(0, lastColon + 1)}0:0`;
  }
  const halves = body.split('::');
  if (halves.length === 2) {
    const head = halves[0] === '' ? [] : halves[0].split(':');
    const rest = halves[1] === '' ? [] : halves[1].split(':');
    groups = [...head, ...Array<string>(8 - head.length - rest.length).fill('0'), ...rest];
  } else groups = body.split(':');
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(parseInt(g, 16));
  if (tail !== undefined) value = (value & ~0xffffffffn) | tail;
  return value;
}

/** Parses an address; undefined when `text` is not one. */
export function parseIp(text: string): CelIp | undefined {
  if (isIPv4(text)) {
    const v4 = parseIpv4(text);
    return v4 === undefined ? undefined : new CelIp(4, v4);
  }
  const v6 = parseIpv6(text);
  if (v6 === undefined) return undefined;
  // `::ffff:a.b.c.d`: a dual-stack socket's spelling of an IPv4 peer.
  if (v6 >> 32n === 0xffffn) return new CelIp(4, v6 & 0xffffffffn);
  return new CelIp(6, v6);
}

function formatIp(family: 4 | 6, value: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 255n)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt((7 - i) * 16)) & 0xffffn));
  // RFC 5952: the longest run (of two or more) of zero groups becomes `::`.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

function ipOf(text: string, fn: string): CelIp {
  const ip = parseIp(text);
  if (!ip) throw fail(`${fn}: ${JSON.stringify(text)} is not an IP address`);
  return ip;
}

function cidrOf(text: string): CelCidr {
  const slash = text.lastIndexOf('/');
  const ip = slash > 0 ? parseIp(text.slice(0, slash)) : undefined;
  const prefixText = text.slice(slash + 1);
  const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  // parseIp reads `::ffff:a.b.c.d` as IPv4; a CIDR keeps the family it was written in.
  const family = text.slice(0, slash).includes(':') ? 6 : 4;
  if (!ip || !(prefix <= (family === 4 ? 32 : 128))) {
    throw fail(`cidr: ${JSON.stringify(text)} is not a CIDR range (address/prefix-length, e.g. "10.0.0.0/8")`);
  }
  const address = family === 6 && ip.family === 4 ? new CelIp(6, ip.value | (0xffffn << 32n)) : ip;
  return new CelCidr(address, prefix);
}

function isLinkLocalMulticast(ip: CelIp): boolean {
  return ip.family === 4 ? ip.value >> 8n === 0xe00000n : ((ip.value >> 112n) & 0xff0fn) === 0xff02n;
}

function isLinkLocalUnicast(ip: CelIp): boolean {
  return ip.family === 4 ? ip.value >> 16n === 0xa9fen : (ip.value >> 118n) === 0x3fan;
}

function isLoopback(ip: CelIp): boolean {
  return ip.family === 4 ? ip.value >> 24n === 127n : ip.value === 1n;
}

/** Go's net.IP.IsGlobalUnicast: not unspecified, loopback, multicast, link-local or (IPv4) broadcast. */
function isGlobalUnicast(ip: CelIp): boolean {
  if (ip.value === 0n || isLoopback(ip) || isLinkLocalUnicast(ip)) return false;
  if (ip.family === 4) return ip.value !== 0xffffffffn && ip.value >> 28n !== 0xen;
  return ip.value >> 120n !== 0xffn;
}

// ---------------------------------------------------------------------------------------------------------------
// Values: JSON, maps, bytes

/** A CEL map as cel-js hands it over: a Map (from literals) or a plain object (from the activation). */
function entriesOf(value: unknown, fn: string): [unknown, unknown][] {
  if (value instanceof Map) return [...value.entries()];
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Uint8Array)) return Object.entries(value);
  throw fail(`${fn}: expected a map, got ${celTypeName(value)}`);
}

function celTypeName(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'bigint') return 'int';
  if (typeof value === 'number') return 'double';
  if (typeof value === 'string' || typeof value === 'boolean') return typeof value === 'string' ? 'string' : 'bool';
  if (value instanceof Uint8Array) return 'bytes';
  if (Array.isArray(value)) return 'list';
  if (value instanceof CelIp) return 'ip';
  if (value instanceof CelCidr) return 'cidr';
  return 'map';
}

/** JSON as CEL values: whole numbers are ints, as agentgateway's `json()` gives them. */
function fromJson(value: unknown): unknown {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? BigInt(value) : value;
  if (Array.isArray(value)) return value.map(fromJson);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = fromJson(v);
    return out;
  }
  return value;
}

/** A CEL value as JSON data (agentgateway's `toJson`): ints as numbers, bytes as base64, IPs and CIDRs as text. */
function toJsonValue(value: unknown, depth = 0): unknown {
  if (depth > 64) throw fail('toJson: the value is nested more than 64 levels deep');
  if (typeof value === 'bigint') {
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) return value.toString();
    return Number(value);
  }
  if (typeof value === 'number' && !Number.isFinite(value)) throw fail(`toJson: ${value} has no JSON form`);
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (value instanceof CelIp || value instanceof CelCidr) return value.toString();
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((v) => toJsonValue(v, depth + 1));
  if (value instanceof Map || (value !== null && typeof value === 'object')) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of entriesOf(value, 'toJson')) out[String(k)] = toJsonValue(v, depth + 1);
    return out;
  }
  if (value === undefined) return null;
  return value;
}

function parseJson(text: string, fn: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw fail(`${fn}: not valid JSON (${(err as Error).message})`);
  }
}

function textOf(value: string | Uint8Array): string {
  return typeof value === 'string' ? value : Buffer.from(value).toString('utf8');
}

function bytesOf(value: string | Uint8Array): Buffer {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function base64Decode(value: string | Uint8Array): Uint8Array {
  const text = textOf(value);
  // agentgateway's decoder: the standard alphabet, padding optional, no stray characters.
  if (!BASE64.test(text) || text.replace(/=+$/, '').length % 4 === 1) throw fail(`base64.decode: ${JSON.stringify(text.slice(0, 64))} is not base64`);
  return new Uint8Array(Buffer.from(text, 'base64'));
}

/** encodeURIComponent, plus the characters agentgateway's encoder also escapes (`!'()*`). */
function urlEncode(value: string | Uint8Array): string {
  return encodeURIComponent(textOf(value)).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function urlDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw fail(`url.decode: ${JSON.stringify(value.slice(0, 64))} is not valid percent-encoded UTF-8`);
  }
}

function formDecode(value: string | Uint8Array): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(textOf(value))) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

function formEncode(value: unknown): string {
  const params = new URLSearchParams();
  const entries = entriesOf(value, 'form.encode').map(([k, v]) => [String(k), v] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [key, v] of entries) {
    for (const item of Array.isArray(v) ? v : [v]) {
      if (item === null) continue;
      if (typeof item !== 'string') throw fail(`form.encode: the value of ${JSON.stringify(key)} must be a string or a list of strings, got ${celTypeName(item)}`);
      params.append(key, item);
    }
  }
  return params.toString();
}

// Compiled regexes for regexReplace, bounded so that expressions building patterns per request cannot grow it.
const regexes = new Map<string, RegExp>();
function regexOf(pattern: string): RegExp {
  let re = regexes.get(pattern);
  if (re) return re;
  try {
    re = new RegExp(pattern, 'u');
  } catch (err) {
    throw fail(`regexReplace: ${JSON.stringify(pattern)} is not a valid regex (${(err as Error).message})`);
  }
  if (regexes.size >= 256) regexes.delete(regexes.keys().next().value as string);
  regexes.set(pattern, re);
  return re;
}

function unvalidatedJwtPayload(token: string): unknown {
  const parts = token.split('.');
  if (parts.length !== 3) throw fail(`unvalidatedJwtPayload: invalid JWT: expected 3 segments, got ${parts.length}`);
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(parts[1])) throw fail('unvalidatedJwtPayload: invalid JWT: the payload is not base64url');
  return fromJson(parseJson(Buffer.from(parts[1], 'base64url').toString('utf8'), 'unvalidatedJwtPayload'));
}

function jsonField(value: string | Uint8Array, field: string): unknown {
  const parsed = parseJson(textOf(value), 'jsonField');
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw fail('jsonField: the JSON is not an object');
  if (!Object.hasOwn(parsed, field)) throw new (cel().EvaluationError)(`No such key: ${field}`);
  return fromJson((parsed as Record<string, unknown>)[field]);
}

function charAt(s: string, index: bigint): string {
  const chars = [...s];
  if (index < 0n || index > BigInt(chars.length)) throw fail(`charAt: index ${index} out of range (length ${chars.length})`);
  return chars[Number(index)] ?? '';
}

function replaceN(s: string, from: string, to: string, n: bigint): string {
  if (n < 0n) return s.replaceAll(from, to);
  let out = s;
  let start = 0;
  for (let i = 0n; i < n; i++) {
    const at = out.indexOf(from, start);
    if (at < 0) break;
    out = out.slice(0, at) + to + out.slice(at + from.length);
    start = at + to.length + (from === '' ? 1 : 0);
  }
  return out;
}

function numeric(value: unknown, fn: string): number | bigint {
  if (typeof value === 'bigint' || typeof value === 'number') return value;
  throw fail(`${fn}: expected a number, got ${celTypeName(value)}`);
}

function extreme(fn: 'math.least' | 'math.greatest', values: readonly unknown[]): number | bigint {
  const list = values.length === 1 && Array.isArray(values[0]) ? (values[0] as unknown[]) : values;
  if (list.length === 0) throw fail(`${fn}: needs at least one value`);
  let best = numeric(list[0], fn);
  for (const v of list.slice(1)) {
    const n = numeric(v, fn);
    if (fn === 'math.least' ? n < best : n > best) best = n;
  }
  return best;
}

function flatten(list: readonly unknown[], depth: number): unknown[] {
  const out: unknown[] = [];
  for (const item of list) {
    if (Array.isArray(item) && depth > 0) out.push(...flatten(item, depth - 1));
    else out.push(item);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Macros: functions whose arguments are expressions (`x.with(v, expr)`, `default(a.b, fallback)`)

interface MacroAst {
  op: string;
  args: unknown;
}
interface MacroInput {
  args: MacroAst[];
  receiver?: MacroAst;
  ast: MacroAst;
}
interface Checker {
  check(ast: unknown, ctx: unknown): unknown;
  getType(name: string): unknown;
}
interface CheckCtx {
  forkWithVariable(name: string, type: unknown): CheckCtx;
}
interface EvalCtx {
  reuse(ctx: unknown): EvalCtx;
  setIterValue(value: unknown, ev: unknown): EvalCtx;
}
interface Evaluator {
  run(ast: unknown, ctx: unknown): unknown;
}

function identifier(node: MacroAst, fn: string): string {
  if (node.op === 'id' && typeof node.args === 'string') return node.args;
  throw new (cel().ParseError)(`${fn}: the first argument must be a variable name`);
}

function noPromise(value: unknown, fn: string): unknown {
  if (value instanceof Promise) throw fail(`${fn}: asynchronous functions are not supported inside it`);
  return value;
}

/** `x.with(v, expr)`: expr with v bound to x (agentgateway's `with`). */
function withMacro({ args, receiver }: MacroInput) {
  const name = identifier(args[0], 'with(var, expression)');
  return {
    receiver,
    name,
    exp: args[1],
    bindCtx: undefined as CheckCtx | undefined,
    typeCheck(checker: Checker, m: { receiver: unknown; name: string; exp: unknown; bindCtx?: CheckCtx }, ctx: CheckCtx) {
      m.bindCtx = ctx.forkWithVariable(m.name, checker.check(m.receiver, ctx));
      return checker.check(m.exp, m.bindCtx);
    },
    evaluate(ev: Evaluator, m: { receiver: unknown; exp: unknown; bindCtx: EvalCtx }, ctx: unknown) {
      const value = noPromise(ev.run(m.receiver, ctx), 'with');
      return noPromise(ev.run(m.exp, m.bindCtx.reuse(ctx).setIterValue(value, ev)), 'with');
    },
  };
}

/** `m.mapValues(v, expr)` and `m.filterKeys(k, predicate)`: a new map. */
function mapMacro(kind: 'mapValues' | 'filterKeys') {
  return ({ args, receiver }: MacroInput) => ({
    receiver,
    name: identifier(args[0], `${kind}(var, expression)`),
    exp: args[1],
    bindCtx: undefined as CheckCtx | undefined,
    typeCheck(checker: Checker, m: { receiver: unknown; name: string; exp: unknown; bindCtx?: CheckCtx }, ctx: CheckCtx) {
      checker.check(m.receiver, ctx);
      m.bindCtx = ctx.forkWithVariable(m.name, checker.getType('dyn'));
      checker.check(m.exp, m.bindCtx);
      return checker.getType('map');
    },
    evaluate(ev: Evaluator, m: { receiver: unknown; exp: unknown; bindCtx: EvalCtx }, ctx: unknown) {
      const entries = entriesOf(noPromise(ev.run(m.receiver, ctx), kind), kind);
      const out = new Map<unknown, unknown>();
      for (const [k, v] of entries) {
        const result = noPromise(ev.run(m.exp, m.bindCtx.reuse(ctx).setIterValue(kind === 'mapValues' ? v : k, ev)), kind);
        if (kind === 'mapValues') out.set(k, result);
        else if (typeof result !== 'boolean') throw fail(`filterKeys: the predicate must return bool, got ${celTypeName(result)}`);
        else if (result) out.set(k, v);
      }
      return out;
    },
  });
}

/** Errors that mean "the value is not there" (a missing key or variable), which `default` and `coalesce` absorb. */
function isAbsent(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === 'no_such_key' || code === 'unknown_variable' || code === 'undeclared_reference' || /^(No such key|Unknown variable)/.test((err as Error).message ?? '');
}

/** `default(expr, fallback)`: expr, or fallback when expr is null or names a missing key or variable. */
function defaultMacro({ args }: MacroInput) {
  return {
    exp: args[0],
    fallback: args[1],
    typeCheck(checker: Checker, m: { exp: unknown; fallback: unknown }, ctx: unknown) {
      checker.check(m.exp, ctx);
      checker.check(m.fallback, ctx);
      return checker.getType('dyn');
    },
    evaluate(ev: Evaluator, m: { exp: unknown; fallback: unknown }, ctx: unknown) {
      let value: unknown;
      try {
        value = noPromise(ev.run(m.exp, ctx), 'default');
      } catch (err) {
        if (!isAbsent(err)) throw err;
        value = null;
      }
      return value === null || value === undefined ? noPromise(ev.run(m.fallback, ctx), 'default') : value;
    },
  };
}

/** `coalesce(a, b, ...)`: the first argument that evaluates to a value other than null. */
function coalesceMacro({ args }: MacroInput) {
  return {
    exps: args,
    typeCheck(checker: Checker, m: { exps: unknown[] }, ctx: unknown) {
      for (const e of m.exps) checker.check(e, ctx);
      return checker.getType('dyn');
    },
    evaluate(ev: Evaluator, m: { exps: unknown[] }, ctx: unknown) {
      let lastError: unknown;
      let sawNull = false;
      for (const e of m.exps) {
        try {
          const v = noPromise(ev.run(e, ctx), 'coalesce');
          if (v === null || v === undefined) sawNull = true;
          else return v;
        } catch (err) {
          lastError = err;
        }
      }
      if (sawNull) return null;
      throw lastError;
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------

/** Namespaces for agentgateway's qualified functions (`base64.encode(...)`, `math.ceil(...)`). */
class Base64Namespace {}
class UrlNamespace {}
class FormNamespace {}
class HashNamespace {
  readonly algorithm: 'sha1' | 'sha256' | 'md5';
  constructor(algorithm: 'sha1' | 'sha256' | 'md5') {
    this.algorithm = algorithm;
  }
}
class MathNamespace {}

/** The names registered, for docs and tests: every function agentgateway's examples and docs use. */
export const AGENTGATEWAY_CEL_FUNCTIONS = [
  'cidr', 'ip', 'isIP', 'cidr.containsIP', 'cidr.containsCIDR', 'cidr.ip', 'cidr.masked', 'cidr.prefixLength',
  'ip.family', 'ip.isUnspecified', 'ip.isLoopback', 'ip.isLinkLocalMulticast', 'ip.isLinkLocalUnicast', 'ip.isGlobalUnicast',
  'json', 'jsonField', 'unvalidatedJwtPayload', 'toJson', 'to_json', 'with', 'mapValues', 'filterKeys', 'merge',
  'random', 'uuid', 'default', 'coalesce', 'regexReplace', 'fail', 'base64Encode', 'base64Decode', 'base64.encode',
  'base64.decode', 'url.encode', 'url.decode', 'form.encode', 'form.decode', 'sha1.encode', 'sha256.encode', 'md5.encode',
  'charAt', 'replace', 'stripPrefix', 'stripSuffix', 'flatten', 'flattenRecursive', 'math.least', 'math.greatest',
  'math.ceil', 'math.floor', 'math.round', 'math.trunc', 'math.abs', 'math.sign', 'math.sqrt', 'math.isInf',
  'math.isNaN', 'math.isFinite', 'math.bitAnd', 'math.bitOr', 'math.bitXor', 'math.bitNot', 'math.bitShiftLeft',
  'math.bitShiftRight',
] as const;

/** Registers agentgateway's CEL functions on `env` (before its first parse). */
export function registerAgentgatewayFunctions(env: Environment): Environment {
  const f = (signature: string, handler: (...args: never[]) => unknown) => env.registerFunction(signature, handler as (...args: unknown[]) => unknown);

  env.registerType('net.IP', CelIp);
  env.registerType('net.CIDR', CelCidr);
  env.registerType('Base64Namespace', Base64Namespace);
  env.registerType('UrlNamespace', UrlNamespace);
  env.registerType('FormNamespace', FormNamespace);
  env.registerType('HashNamespace', HashNamespace);
  env.registerType('MathNamespace', MathNamespace);
  f('cidr(string): net.CIDR', (s: string) => cidrOf(s));
  f('ip(string): net.IP', (s: string) => ipOf(s, 'ip'));
  f('isIP(string): bool', (s: string) => parseIp(s) !== undefined);
  f('string(net.IP): string', (ip: CelIp) => ip.toString());
  f('string(net.CIDR): string', (c: CelCidr) => c.toString());
  f('net.CIDR.containsIP(string): bool', (c: CelCidr, s: string) => c.contains(ipOf(s, 'containsIP')));
  f('net.CIDR.containsIP(net.IP): bool', (c: CelCidr, ip: CelIp) => c.contains(ip));
  f('net.CIDR.containsCIDR(net.CIDR): bool', (c: CelCidr, o: CelCidr) => o.address.family === c.address.family && o.prefixLength >= c.prefixLength && c.contains(o.address));
  f('net.CIDR.containsCIDR(string): bool', (c: CelCidr, s: string) => {
    const o = cidrOf(s);
    return o.address.family === c.address.family && o.prefixLength >= c.prefixLength && c.contains(o.address);
  });
  f('net.CIDR.ip(): net.IP', (c: CelCidr) => c.address);
  f('net.CIDR.masked(): net.CIDR', (c: CelCidr) => new CelCidr(new CelIp(c.address.family, c.network()), c.prefixLength));
  f('net.CIDR.prefixLength(): int', (c: CelCidr) => BigInt(c.prefixLength));
  f('net.IP.family(): int', (ip: CelIp) => BigInt(ip.family));
  f('net.IP.isUnspecified(): bool', (ip: CelIp) => ip.value === 0n);
  f('net.IP.isLoopback(): bool', (ip: CelIp) => isLoopback(ip));
  f('net.IP.isLinkLocalMulticast(): bool', (ip: CelIp) => isLinkLocalMulticast(ip));
  f('net.IP.isLinkLocalUnicast(): bool', (ip: CelIp) => isLinkLocalUnicast(ip));
  f('net.IP.isGlobalUnicast(): bool', (ip: CelIp) => isGlobalUnicast(ip));

  f('json(string): dyn', (s: string) => fromJson(parseJson(s, 'json')));
  f('json(bytes): dyn', (b: Uint8Array) => fromJson(parseJson(textOf(b), 'json')));
  f('jsonField(string, string): dyn', (s: string, k: string) => jsonField(s, k));
  f('jsonField(bytes, string): dyn', (b: Uint8Array, k: string) => jsonField(b, k));
  f('unvalidatedJwtPayload(string): map', (t: string) => unvalidatedJwtPayload(t));
  f('toJson(dyn): string', (v: unknown) => JSON.stringify(toJsonValue(v)));
  f('to_json(dyn): string', (v: unknown) => JSON.stringify(toJsonValue(v)));
  f('map.merge(map): map', (a: unknown, b: unknown) => new Map([...entriesOf(a, 'merge'), ...entriesOf(b, 'merge')]));
  f('random(): double', () => Math.random());
  f('uuid(): string', () => randomUUID());
  f('fail(string): dyn', (message: string) => {
    throw fail(`fail() called: ${message}`);
  });
  f('string.regexReplace(string, string): string', (s: string, pattern: string, replacement: string) => s.replace(regexOf(pattern), replacement));

  for (const t of ['string', 'bytes']) {
    f(`base64Encode(${t}): string`, (v: string | Uint8Array) => bytesOf(v).toString('base64'));
    f(`base64Decode(${t}): bytes`, (v: string | Uint8Array) => base64Decode(v));
    f(`Base64Namespace.encode(${t}): string`, (_: unknown, v: string | Uint8Array) => bytesOf(v).toString('base64'));
    f(`Base64Namespace.decode(${t}): bytes`, (_: unknown, v: string | Uint8Array) => base64Decode(v));
    f(`UrlNamespace.encode(${t}): string`, (_: unknown, v: string | Uint8Array) => urlEncode(v));
    f(`FormNamespace.decode(${t}): map`, (_: unknown, v: string | Uint8Array) => formDecode(v));
    f(`HashNamespace.encode(${t}): string`, (h: HashNamespace, v: string | Uint8Array) => createHash(h.algorithm).update(bytesOf(v)).digest('hex'));
  }
  f('UrlNamespace.decode(string): string', (_: unknown, v: string) => urlDecode(v));
  f('FormNamespace.encode(map): string', (_: unknown, v: unknown) => formEncode(v));
  env.registerConstant('base64', 'Base64Namespace', new Base64Namespace());
  env.registerConstant('url', 'UrlNamespace', new UrlNamespace());
  env.registerConstant('form', 'FormNamespace', new FormNamespace());
  env.registerConstant('sha1', 'HashNamespace', new HashNamespace('sha1'));
  env.registerConstant('sha256', 'HashNamespace', new HashNamespace('sha256'));
  env.registerConstant('md5', 'HashNamespace', new HashNamespace('md5'));

  // cel-go's strings extension, the parts cel-js does not have.
  f('string.charAt(int): string', (s: string, i: bigint) => charAt(s, i));
  f('string.replace(string, string): string', (s: string, a: string, b: string) => s.replaceAll(a, b));
  f('string.replace(string, string, int): string', (s: string, a: string, b: string, n: bigint) => replaceN(s, a, b, n));
  f('string.stripPrefix(string): string', (s: string, p: string) => (s.startsWith(p) ? s.slice(p.length) : s));
  f('string.stripSuffix(string): string', (s: string, p: string) => (p !== '' && s.endsWith(p) ? s.slice(0, -p.length) : s));
  f('list.flatten(): list', (l: unknown[]) => flatten(l, 1));
  f('list.flatten(int): list', (l: unknown[], d: bigint) => {
    if (d < 0n) throw fail(`flatten: depth must not be negative, got ${d}`);
    return flatten(l, Number(d > 64n ? 64n : d));
  });
  f('list.flattenRecursive(): list', (l: unknown[]) => flatten(l, 64));

  // cel-go's math extension.
  env.registerConstant('math', 'MathNamespace', new MathNamespace());
  for (const n of [1, 2, 3, 4]) {
    const params = Array<string>(n).fill('dyn').join(', ');
    f(`MathNamespace.least(${params}): dyn`, (_: unknown, ...v: unknown[]) => extreme('math.least', v));
    f(`MathNamespace.greatest(${params}): dyn`, (_: unknown, ...v: unknown[]) => extreme('math.greatest', v));
  }
  const dbl = (name: string, fn: (x: number) => unknown) => f(`MathNamespace.${name}(double): ${name.startsWith('is') ? 'bool' : 'double'}`, (_: unknown, x: number) => fn(x));
  dbl('ceil', Math.ceil);
  dbl('floor', Math.floor);
  dbl('round', (x) => Math.sign(x) * Math.round(Math.abs(x)));
  dbl('trunc', Math.trunc);
  dbl('sqrt', Math.sqrt);
  dbl('isInf', (x) => x === Infinity || x === -Infinity);
  dbl('isNaN', Number.isNaN);
  dbl('isFinite', Number.isFinite);
  f('MathNamespace.abs(double): double', (_: unknown, x: number) => Math.abs(x));
  f('MathNamespace.abs(int): int', (_: unknown, x: bigint) => {
    if (x === -(2n ** 63n)) throw fail('math.abs: overflow');
    return x < 0n ? -x : x;
  });
  f('MathNamespace.sign(double): double', (_: unknown, x: number) => Math.sign(x));
  f('MathNamespace.sign(int): int', (_: unknown, x: bigint) => (x > 0n ? 1n : x < 0n ? -1n : 0n));
  f('MathNamespace.sqrt(int): double', (_: unknown, x: bigint) => Math.sqrt(Number(x)));
  const int64 = (x: bigint) => BigInt.asIntN(64, x);
  f('MathNamespace.bitAnd(int, int): int', (_: unknown, a: bigint, b: bigint) => a & b);
  f('MathNamespace.bitOr(int, int): int', (_: unknown, a: bigint, b: bigint) => a | b);
  f('MathNamespace.bitXor(int, int): int', (_: unknown, a: bigint, b: bigint) => a ^ b);
  f('MathNamespace.bitNot(int): int', (_: unknown, a: bigint) => ~a);
  f('MathNamespace.bitShiftLeft(int, int): int', (_: unknown, a: bigint, n: bigint) => {
    if (n < 0n) throw fail(`math.bitShiftLeft: negative shift ${n}`);
    return n > 63n ? 0n : int64(a << n);
  });
  f('MathNamespace.bitShiftRight(int, int): int', (_: unknown, a: bigint, n: bigint) => {
    if (n < 0n) throw fail(`math.bitShiftRight: negative shift ${n}`);
    // cel-go shifts right logically (as an unsigned 64-bit value).
    return n > 63n ? 0n : int64(BigInt.asUintN(64, a) >> n);
  });

  // Macros: their arguments are expressions, evaluated by the macro.
  f('dyn.with(ast, ast): dyn', withMacro as never);
  f('map.mapValues(ast, ast): map', mapMacro('mapValues') as never);
  f('map.filterKeys(ast, ast): map', mapMacro('filterKeys') as never);
  f('default(ast, ast): dyn', defaultMacro as never);
  for (const n of [1, 2, 3, 4, 5, 6]) f(`coalesce(${Array<string>(n).fill('ast').join(', ')}): dyn`, coalesceMacro as never);
  return env;
}
