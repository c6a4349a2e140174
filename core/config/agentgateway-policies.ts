import { createHash } from 'node:crypto';
import { isPlainObject, join, type Issue } from '../schema/index.ts';
import { durationIssue, parseDuration, unsupported } from './agentgateway-common.ts';

/**
 * agentgateway's spellings of the policies Portcullis has, read into ours. A mapper leaves what it does not know
 * in place, so validation still reports it with its path; a feature Portcullis does not have is reported by name.
 */

/** Policies of agentgateway's local config that Portcullis does not have (the reason is part of the message). */
export const UNSUPPORTED_POLICIES: Record<string, string> = {
  extProc: 'use a filter (`filters`)',
  transformations: 'use `requestHeaderModifier`/`responseHeaderModifier` or a filter',
  csrf: '',
  ai: 'LLM traffic is not handled',
  basicAuth: 'use `apiKey` or `jwtAuth`',
  mcpGuardrails: 'use `toolArgumentRules`, `piiRedaction` or a filter',
  directResponseRules: '',
  promptGuard: '',
};

type Obj = Record<string, unknown>;
type Mapper = (value: Obj, path: string, issues: Issue[]) => unknown;

/** Maps one `policies` block in place (returns a new object). */
export function mapPolicyBlock(policies: Obj, path: string, issues: Issue[]): Obj {
  const out: Obj = { ...policies };
  for (const [name, value] of Object.entries(policies)) {
    const p = join(path, name);
    if (name in UNSUPPORTED_POLICIES) {
      issues.push(unsupported(name, p, UNSUPPORTED_POLICIES[name]));
      delete out[name];
      continue;
    }
    if (name === 'localRateLimit' && Array.isArray(value) && policies.rateLimit === undefined) {
      out.rateLimit = { limits: value.map(fromLocalRateLimit) };
      delete out.localRateLimit;
      continue;
    }
    // agentgateway injects aborts with a conditional direct response: the entries with a condition are our `abort`
    // rules; a last entry without one (the fallback) stays the route's direct response.
    if (name === 'directResponse' && isPlainObject(value) && value.conditional !== undefined && policies.abort === undefined) {
      const mapped = fromConditionalDirectResponse(value, p, issues);
      delete out.directResponse;
      if (mapped.abort) out.abort = mapped.abort;
      if (mapped.fallback) out.directResponse = mapped.fallback;
      continue;
    }
    // extAuthz over gRPC (its default protocol) is not served; the HTTP form is.
    if (name === 'extAuthz' && isPlainObject(value) && !(isPlainObject(value.protocol) && value.protocol.http !== undefined)) {
      issues.push(unsupported('extAuthz over gRPC', p, 'give protocol: { http: {} } for an HTTP authorizer, or use `authorization` with Rego or CEL `rules`'));
      delete out[name];
      continue;
    }
    const mapper = MAPPERS[name];
    if (mapper && isPlainObject(value)) out[name] = mapper(value, p, issues);
  }
  return out;
}

/**
 * agentgateway's `localRateLimit` entry (one bucket of `maxTokens`, `tokensPerFill` added every `fillInterval`,
 * shared by every caller) as a rate limit with no key. An entry that is not of that shape passes unchanged, so
 * validation names what is wrong with its path.
 */
const UNIT_MS: Record<string, number> = { seconds: 1_000, second: 1_000, minutes: 60_000, minute: 60_000, hours: 3_600_000, hour: 3_600_000 };

function fromLocalRateLimit(entry: unknown): unknown {
  if (!isPlainObject(entry)) return entry;
  // Newer agentgateway releases write a plain `limit` per `unit` (seconds, minutes, hours).
  if (entry.limit !== undefined && entry.unit !== undefined && entry.maxTokens === undefined) {
    const { limit, unit, type, ...rest } = entry;
    const windowMs = typeof unit === 'string' ? UNIT_MS[unit] : undefined;
    const mapped = { ...rest, rate: { limit, windowMs: windowMs ?? unit, burst: limit } } as Record<string, unknown>;
    if (type !== undefined) mapped.type = type;
    return mapped;
  }
  const { maxTokens, tokensPerFill, fillInterval, type, ...rest } = entry;
  const windowMs = parseDuration(fillInterval) ?? fillInterval;
  const limit = { ...rest, rate: { limit: tokensPerFill, windowMs, burst: maxTokens } } as Record<string, unknown>;
  if (type !== undefined) limit.type = type;
  return limit;
}

function fromConditionalDirectResponse(value: Obj, path: string, issues: Issue[]): { abort?: Obj[]; fallback?: Obj } {
  const { conditional, ...rest } = value;
  if (Object.keys(rest).length > 0) {
    issues.push({ path, message: `give either conditional or a plain direct response, got conditional beside ${Object.keys(rest).join(', ')}` });
  }
  if (!Array.isArray(conditional) || conditional.length === 0) {
    issues.push({ path: join(path, 'conditional'), message: 'expected a non-empty list of { condition, status, body }' });
    return {};
  }
  const abort: Obj[] = [];
  let fallback: Obj | undefined;
  conditional.forEach((entry, i) => {
    const p = join(join(path, 'conditional'), i);
    if (!isPlainObject(entry)) {
      issues.push({ path: p, message: 'expected { condition, status, body }' });
      return;
    }
    if (entry.condition === undefined) {
      if (i !== conditional.length - 1) issues.push({ path: p, message: 'an entry without condition must be the last (it is the fallback)' });
      const { condition: _c, ...response } = entry;
      fallback = response;
    } else abort.push(entry);
  });
  return { ...(abort.length > 0 ? { abort } : {}), ...(fallback ? { fallback } : {}) };
}

/** Settings of our `a2a` backend that the agentgateway spelling `policies.a2a` may carry (beside `{}`). */
const A2A_POLICY_SETTINGS = new Set(['pushNotifications', 'cardVisibility', 'cardTtlMs']);

/**
 * agentgateway marks an A2A route with `policies: { a2a: {} }` on a route whose backend is a `host`: that is our
 * `a2a` backend at `http(s)://host` (https when the route has backend TLS). The policy may carry the backend's
 * own settings (`pushNotifications: { allowedUrls }`, `cardVisibility`, `cardTtlMs`), validated with the backend.
 * Anything else is left for validation to report with its path.
 */
export function mapA2aRoute(route: Record<string, unknown>): Record<string, unknown> {
  if (!isPlainObject(route.policies)) return route;
  const { a2a, ...policies } = route.policies;
  if (!isPlainObject(a2a) || Object.keys(a2a).some((k) => !A2A_POLICY_SETTINGS.has(k))) return route;
  const backends = route.backends;
  if (!Array.isArray(backends) || backends.length !== 1 || !isPlainObject(backends[0]) || typeof backends[0].host !== 'string') return route;
  const scheme = policies.backendTLS !== undefined ? 'https' : 'http';
  return { ...route, policies, backends: [{ a2a: { url: `${scheme}://${backends[0].host}`, ...a2a } }] };
}

/** Renames `key` (a duration string or ms number) to `keyMs`; leaves an unparsable one for validation to report. */
function durationToMs(obj: Obj, key: string, path: string, issues: Issue[]): void {
  if (obj[key] === undefined) return;
  const ms = parseDuration(obj[key]);
  if (ms === undefined) {
    issues.push(durationIssue(join(path, key), obj[key]));
    delete obj[key];
    return;
  }
  delete obj[key];
  obj[`${key}Ms`] = ms;
}

const MAPPERS: Record<string, Mapper> = {
  remoteRateLimit(value, path, issues) {
    const out = { ...value };
    // agentgateway accepts its failure modes in PascalCase too.
    if (out.failureMode === 'FailOpen' || out.failureMode === 'FailClosed') out.failureMode = `f${out.failureMode.slice(1)}`;
    if (Array.isArray(out.descriptors)) {
      out.descriptors = out.descriptors.map((d, i) => {
        if (!isPlainObject(d)) return d;
        const entry = { ...d };
        const p = join(join(path, 'descriptors'), i);
        if (entry.type === 'tokens') issues.push(unsupported('remoteRateLimit descriptors of type tokens', join(p, 'type'), 'LLM traffic is not handled; use type: requests'));
        for (const key of ['cost', 'limitOverride']) {
          if (entry[key] !== undefined) {
            issues.push(unsupported(`remoteRateLimit ${key}`, join(p, key), 'each request counts 1 against the limits of the service\'s own config'));
            delete entry[key];
          }
        }
        if (entry.type === 'tokens') delete entry.type;
        return entry;
      });
    }
    return out;
  },
  timeout(value, path, issues) {
    const out = { ...value };
    durationToMs(out, 'requestTimeout', path, issues);
    durationToMs(out, 'backendRequestTimeout', path, issues);
    return out;
  },
  retry(value, path, issues) {
    const out = { ...value };
    durationToMs(out, 'backoff', path, issues);
    return out;
  },
  cors(value, path, issues) {
    const out = { ...value };
    // agentgateway's maxAge is a duration; ours is whole seconds.
    if (typeof out.maxAge === 'string') {
      const ms = parseDuration(out.maxAge);
      if (ms === undefined) {
        issues.push(durationIssue(join(path, 'maxAge'), out.maxAge));
        delete out.maxAge;
      } else out.maxAge = Math.round(ms / 1000);
    }
    return out;
  },
  urlRewrite(value, path) {
    const out = { ...value };
    // agentgateway writes `authority: { full: x }`, `{ host: x }` or `{ port: n }`, and also a plain `authority: x`.
    // `none` leaves the authority as the client sent it: our default.
    if (out.authority === 'none') delete out.authority;
    else if (typeof out.authority === 'string') out.authority = { full: out.authority };
    else if (isPlainObject(out.authority) && out.authority.full === undefined && typeof out.authority.host === 'string' && out.authority.port === undefined) {
      out.authority = { full: out.authority.host };
    }
    if (typeof out.path === 'string') out.path = { full: out.path };
    void path;
    return out;
  },
  requestRedirect(value) {
    const out = { ...value };
    if (typeof out.authority === 'string') out.authority = { full: out.authority };
    return out;
  },
  backendAuth(value, path, issues) {
    const out = { ...value };
    // `passthrough: {}` is agentgateway's way to say "on".
    if (isPlainObject(out.passthrough)) out.passthrough = true;
    // `key: <value>` or `key: { file }`: sent as `Authorization: Bearer <key>`.
    if (out.key !== undefined) {
      const key = out.key;
      delete out.key;
      if (typeof key === 'string') out.credential = { secret: key };
      else if (isPlainObject(key) && typeof key.file === 'string') out.credential = { file: key.file };
      else if (isPlainObject(key) && typeof key.env === 'string') out.credential = { env: key.env };
      else issues.push({ path: join(path, 'key'), message: 'expected a string or { file: <path> }' });
      out.prefix ??= 'Bearer ';
    }
    // jwtSign: an inline PEM stays a string; `ttl` is a duration; `location: { header: { name, prefix } }` is our
    // `header` and `prefix`.
    if (isPlainObject(out.jwtSign)) {
      const jwtSign: Obj = { ...out.jwtSign };
      const p = join(path, 'jwtSign');
      durationToMs(jwtSign, 'ttl', p, issues);
      if (isPlainObject(jwtSign.location)) {
        const location = jwtSign.location;
        delete jwtSign.location;
        if (isPlainObject(location.header) && typeof location.header.name === 'string') {
          out.header = location.header.name;
          if (typeof location.header.prefix === 'string') out.prefix = location.header.prefix;
        } else issues.push(unsupported('jwtSign.location (other than header)', join(p, 'location'), 'the token is sent in a header: give location.header.name'));
      }
      out.jwtSign = jwtSign;
    }
    // oauthTokenExchange (RFC 8693, or RFC 7523 with grantType: jwtBearer) is our tokenExchange.
    if (isPlainObject(out.oauthTokenExchange)) {
      out.tokenExchange = fromOAuthTokenExchange(out.oauthTokenExchange, join(path, 'oauthTokenExchange'), issues);
      delete out.oauthTokenExchange;
    }
    // crossAppAccess (ID-JAG) is our tokenExchange chained to a resourceAuthorizationServer.
    if (isPlainObject(out.crossAppAccess)) {
      out.tokenExchange = fromCrossAppAccess(out.crossAppAccess, join(path, 'crossAppAccess'), issues);
      delete out.crossAppAccess;
    }
    for (const cloud of ['gcp', 'aws', 'azure']) {
      if (out[cloud] !== undefined) {
        issues.push(unsupported(`backendAuth.${cloud}`, join(path, cloud), 'use `key` or `passthrough`'));
        delete out[cloud];
      }
    }
    return out;
  },
  jwtAuth(value, path, issues) {
    let out: Obj = { ...value };
    // One provider is the same as the flat form; several are not supported.
    if (Array.isArray(out.providers)) {
      const providers = out.providers;
      delete out.providers;
      if (providers.length === 1 && isPlainObject(providers[0])) out = { ...out, ...providers[0] };
      else issues.push(unsupported('jwtAuth.providers (more than one)', join(path, 'providers'), 'give one issuer and one jwks'));
    }
    out.jwks = mapJwks(out.jwks);
    return out;
  },
  apiKey(value, path, issues) {
    const out = { ...value };
    // agentgateway lists the keys themselves; Portcullis keeps only their SHA-256 and needs a name for each.
    if (Array.isArray(out.keys)) {
      out.keys = out.keys.map((entry, i) => {
        if (!isPlainObject(entry)) return entry;
        // Newer agentgateway releases also take the digest itself: `keyHash: "sha256:<hex>"`.
        if (typeof entry.keyHash === 'string' && entry.key === undefined) {
          const { keyHash, metadata, ...rest } = entry;
          const name = isPlainObject(metadata) && typeof metadata.name === 'string' ? metadata.name : `key${i}`;
          const m = /^sha256:([0-9a-fA-F]{64})$/.exec(keyHash);
          if (!m) {
            issues.push({ path: join(join(join(path, 'keys'), i), 'keyHash'), message: `expected "sha256:" and 64 hex digits, got ${JSON.stringify(keyHash)}` });
            return { name, ...rest };
          }
          return { name, sha256: m[1].toLowerCase(), ...(metadata === undefined ? {} : { metadata }), ...rest };
        }
        if (typeof entry.key !== 'string') return entry;
        const { key, metadata, ...rest } = entry;
        const name = isPlainObject(metadata) && typeof metadata.name === 'string' ? metadata.name : `key${i}`;
        if (typeof key !== 'string' || key.length === 0) {
          issues.push({ path: join(join(join(path, 'keys'), i), 'key'), message: 'must not be empty' });
        }
        return { name, sha256: createHash('sha256').update(key as string).digest('hex'), ...(metadata === undefined ? {} : { metadata }), ...rest };
      });
    }
    return out;
  },
  mcpAuthentication(value, path, issues) {
    const out: Obj = { ...value };
    const metadata = isPlainObject(out.resourceMetadata) ? out.resourceMetadata : {};
    delete out.resourceMetadata;
    if (out.resource === undefined) {
      if (typeof metadata.resource === 'string') out.resource = metadata.resource;
      else if (Array.isArray(out.audiences) && typeof out.audiences[0] === 'string') out.resource = out.audiences[0];
      else if (typeof out.audience === 'string') out.resource = out.audience;
    }
    if (typeof out.audience === 'string') {
      out.audiences = [out.audience];
      delete out.audience;
    }
    if (typeof out.jwksUrl === 'string') {
      out.jwks = { url: out.jwksUrl };
      delete out.jwksUrl;
    }
    if (out.jwks === undefined) delete out.jwks;
    else out.jwks = mapJwks(out.jwks);
    // agentgateway copies every `resourceMetadata` key into the metadata document; these are the ones RFC 9728
    // defines that Portcullis serves. Others are reported with their path by validation.
    for (const key of ['scopesSupported', 'resourceName', 'authorizationServers', 'bearerMethodsSupported', 'resourceDocumentation', 'resourcePolicyUri']) {
      if (metadata[key] !== undefined) out[key] = metadata[key];
    }
    for (const key of Object.keys(metadata)) {
      if (!['resource', 'scopesSupported', 'resourceName', 'authorizationServers', 'bearerMethodsSupported', 'resourceDocumentation', 'resourcePolicyUri'].includes(key)) {
        issues.push(unsupported(`mcpAuthentication.resourceMetadata.${key}`, join(join(path, 'resourceMetadata'), key), 'the metadata fields served are resource, scopesSupported, resourceName, authorizationServers, bearerMethodsSupported, resourceDocumentation, resourcePolicyUri'));
      }
    }
    // agentgateway writes the provider as a one-key object (`provider: { keycloak: {} }`).
    if (isPlainObject(out.provider)) {
      const names = Object.keys(out.provider);
      if (names.length === 1) out.provider = names[0];
    }
    if (typeof out.clientSecret === 'string') out.clientSecret = { secret: out.clientSecret };
    if (out.authorizationLocation !== undefined) {
      issues.push(unsupported('mcpAuthentication.authorizationLocation', join(path, 'authorizationLocation'), 'the token is read as `resourceMetadata.bearerMethodsSupported` announces (header, body, query)'));
      delete out.authorizationLocation;
    }
    return out;
  },
  requestMirror(value, path, issues) {
    const out: Obj = { ...value };
    if (isPlainObject(out.backend)) {
      if (typeof out.backend.host === 'string') out.backend = out.backend.host;
      else {
        issues.push(unsupported('requestMirror.backend (other than host)', join(path, 'backend'), 'give { host: "host:port" }'));
        delete out.backend;
      }
    }
    return out;
  },
};

/** agentgateway's `jwks` may be a URL or a file path given as a string. */
function mapJwks(jwks: unknown): unknown {
  if (typeof jwks === 'string') return /^https?:\/\//.test(jwks) ? { url: jwks } : { file: jwks };
  return jwks;
}

/** A CEL string literal (`'"on_behalf_of"'`), the only additionalParams value read without CEL; else undefined. */
function celStringLiteral(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const m = /^\s*(?:"([^"\\]*)"|'([^'\\]*)')\s*$/.exec(value);
  return m ? (m[1] ?? m[2]) : undefined;
}

/**
 * agentgateway's `backendAuth.oauthTokenExchange` as our `tokenExchange`: the endpoint is `host` (`host:port` is
 * plain HTTP, `https://host` is HTTPS) and `path`; `clientAuth` (clientSecretBasic or clientSecretPost), one
 * audience, one resource, scopes, grantType, and additionalParams whose values are string literals.
 */
function fromOAuthTokenExchange(value: Obj, path: string, issues: Issue[]): Obj {
  const out: Obj = tokenEndpointOf(value, path, issues, 'oauthTokenExchange');
  if (value.grantType !== undefined) out.grantType = value.grantType;
  for (const [from, to] of [['audiences', 'audience'], ['resources', 'resource']] as const) {
    const list = value[from];
    if (list === undefined) continue;
    if (Array.isArray(list) && list.length === 1) out[to] = list[0];
    else issues.push(unsupported(`oauthTokenExchange.${from} (other than one)`, join(path, from), `give one ${to}`));
  }
  if (Array.isArray(value.scopes)) out.scope = value.scopes.join(' ');
  if (value.requestedTokenType !== undefined) out.requestedTokenType = value.requestedTokenType;
  if (isPlainObject(value.additionalParams)) {
    const params: Record<string, string> = {};
    for (const [name, expr] of Object.entries(value.additionalParams)) {
      const literal = celStringLiteral(expr);
      if (literal === undefined) issues.push(unsupported('oauthTokenExchange.additionalParams (a CEL expression other than a string literal)', join(join(path, 'additionalParams'), name), 'give the value as a quoted string literal'));
      else params[name] = literal;
    }
    out.additionalParams = params;
  }
  if (isPlainObject(value.cache) && typeof value.cache.maxEntries === 'number' && value.cache.maxEntries > 0) out.cacheEntries = value.cache.maxEntries;
  for (const key of ['subjectToken', 'actorToken', 'authorizationLocation']) {
    if (value[key] !== undefined) issues.push(unsupported(`oauthTokenExchange.${key}`, join(path, key), 'the subject is the caller\'s bearer token and the result is sent as Authorization: Bearer'));
  }
  return out;
}

/** A token endpoint in agentgateway's spelling (`host`, `path`, `clientAuth`) as ours (`tokenEndpoint`, client settings). */
function tokenEndpointOf(value: Obj, path: string, issues: Issue[], feature: string): Obj {
  const out: Obj = {};
  const host = typeof value.host === 'string' ? value.host : undefined;
  if (host === undefined) issues.push({ path: join(path, 'host'), message: 'expected the token endpoint host (`host:port` or `https://host`)' });
  else out.tokenEndpoint = `${/^https?:\/\//.test(host) ? host : `http://${host}`}${typeof value.path === 'string' ? value.path : '/'}`;
  if (isPlainObject(value.clientAuth)) {
    const auth = value.clientAuth;
    if (auth.clientId !== undefined) out.clientId = auth.clientId;
    if (typeof auth.clientSecret === 'string') out.clientSecret = { secret: auth.clientSecret };
    else if (auth.clientSecret !== undefined) out.clientSecret = auth.clientSecret;
    if (auth.method === 'clientSecretPost') out.clientAuthMethod = 'post';
    else if (auth.method === 'clientSecretBasic' || auth.method === undefined) out.clientAuthMethod = 'basic';
    else issues.push(unsupported(`${feature}.clientAuth.method ${String(auth.method)}`, join(join(path, 'clientAuth'), 'method'), 'use clientSecretBasic or clientSecretPost'));
  }
  return out;
}

const ID_JAG = 'urn:ietf:params:oauth:token-type:id-jag';
const ID_TOKEN = 'urn:ietf:params:oauth:token-type:id_token';
/** The subject expression agentgateway's examples give: the caller's bearer token, which is what ours reads. */
const RAW_BEARER = /^\s*jwt\.rawToken\.unredacted\(\)\s*$/;

/**
 * agentgateway's `backendAuth.crossAppAccess` (ID-JAG) as our `tokenExchange`: an RFC 8693 exchange of the caller's
 * ID token at `identityProvider` for an ID-JAG bound to `audience`, chained to an RFC 7523 jwt-bearer grant at
 * `resourceAuthorizationServer`.
 */
function fromCrossAppAccess(value: Obj, path: string, issues: Issue[]): Obj {
  const idp = isPlainObject(value.identityProvider) ? value.identityProvider : {};
  const ras = isPlainObject(value.resourceAuthorizationServer) ? value.resourceAuthorizationServer : {};
  const out: Obj = { ...tokenEndpointOf(idp, join(path, 'identityProvider'), issues, 'crossAppAccess'), requestedTokenType: ID_JAG, subjectTokenType: ID_TOKEN };
  const chained = tokenEndpointOf(ras, join(path, 'resourceAuthorizationServer'), issues, 'crossAppAccess');
  if (value.audience !== undefined) out.audience = value.audience;
  if (Array.isArray(value.resources)) {
    if (value.resources.length === 1) out.resource = value.resources[0];
    else issues.push(unsupported('crossAppAccess.resources (other than one)', join(path, 'resources'), 'give one resource'));
  }
  if (Array.isArray(value.scopes)) out.scope = value.scopes.join(' ');
  if (Array.isArray(value.accessTokenScopes)) chained.scope = value.accessTokenScopes.join(' ');
  out.resourceAuthorizationServer = chained;
  if (isPlainObject(value.subjectToken)) {
    const st = value.subjectToken;
    const expression = isPlainObject(st.source) ? st.source.expression : undefined;
    if (st.source !== undefined && !(typeof expression === 'string' && RAW_BEARER.test(expression) && Object.keys(st.source as Obj).length === 1)) {
      issues.push(unsupported('crossAppAccess.subjectToken.source (other than jwt.rawToken.unredacted())', join(join(path, 'subjectToken'), 'source'), "the subject is the caller's bearer token"));
    }
    if (typeof st.tokenType === 'string') out.subjectTokenType = st.tokenType;
  }
  if (isPlainObject(value.cache)) {
    const cache = value.cache;
    if (typeof cache.maxEntries === 'number' && cache.maxEntries > 0) out.cacheEntries = cache.maxEntries;
    if (cache.defaultTtl !== undefined) {
      const ms = parseDuration(cache.defaultTtl);
      if (ms === undefined) issues.push(durationIssue(join(join(path, 'cache'), 'defaultTtl'), cache.defaultTtl));
      else out.cacheTtlMs = ms;
    }
  }
  return out;
}
