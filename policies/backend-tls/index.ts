import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import type { BackendTlsPolicy } from '../../sdk-types/config.ts';
import { s } from '../../core/config/index.ts';
import { ErrorCodes, GatewayError } from '../../core/errors.ts';
import type { PolicyDefinition } from '../../core/pipeline/index.ts';

const FILE_KEYS = ['root', 'cert', 'key'] as const;

/**
 * TLS to the backend: a CA bundle, SNI and a client certificate. The connection pool carrying these settings is
 * built once at config load and shared by every request of the route, to HTTP hosts and remote MCP targets.
 */
export const backendTLS: PolicyDefinition<BackendTlsPolicy> = {
  name: 'backendTLS',
  phase: 'upstream',
  requires: ['http-upstream'],
  schema: s.object(
    { root: s.string({ nonEmpty: true }), cert: s.string({ nonEmpty: true }), key: s.string({ nonEmpty: true }), sni: s.string({ nonEmpty: true }), insecure: s.boolean(), insecureHost: s.boolean() },
    {
      refine(v, path, issues) {
        if ((v.cert === undefined) !== (v.key === undefined)) issues.push({ path, message: 'cert and key go together: set both or neither' });
      },
    },
  ),
  files(config, baseDir) {
    return FILE_KEYS.flatMap((k) => (config[k] ? [isAbsolute(config[k]) ? config[k] : resolve(baseDir, config[k])] : []));
  },
  create(config, build) {
    const read = (k: (typeof FILE_KEYS)[number]) => {
      const p = config[k];
      if (p === undefined) return undefined;
      const file = isAbsolute(p) ? p : resolve(build.baseDir, p);
      try {
        return readFileSync(file);
      } catch (err) {
        throw new GatewayError(ErrorCodes.CONFIG_INVALID, `${build.path}.${k}: cannot read ${file}: ${(err as Error).message}`, { cause: err });
      }
    };
    const tls = {
      ca: read('root'),
      cert: read('cert'),
      key: read('key'),
      servername: config.sni,
      rejectUnauthorized: !config.insecure,
      skipHostnameCheck: config.insecureHost === true,
    };
    try {
      createSecureContext({ ca: tls.ca, cert: tls.cert, key: tls.key });
    } catch (err) {
      throw new GatewayError(ErrorCodes.CONFIG_INVALID, `${build.path}: invalid CA, certificate or key: ${(err as Error).message}`, { cause: err });
    }
    // The route builds its own connection pool from these settings (see core/upstream): HTTP hosts and remote MCP
    // targets of the route both connect through it.
    return {
      step: (_ctx, next) => next(),
      upstream: { tls },
    };
  },
};
