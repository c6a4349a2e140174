import type { BackendAuthPolicy } from '../../sdk-types/security.ts';
import { s } from '../../core/config/index.ts';
import { headerNameSchema } from '../../core/config/index.ts';
import type { PolicyDefinition } from '../../core/pipeline/index.ts';
import { createCredentialInterceptor } from '../../core/upstream/index.ts';
import { readSecret, secretFiles, secretSchema } from './secret.ts';

/**
 * Sends the backend a credential on every attempt: the gateway's own (static, from the environment or a file),
 * or with `passthrough` the one the client sent in `header`. An interceptor of the route's upstream, built once:
 * it applies to HTTP hosts and remote MCP targets, after authentication removed the client's credential from
 * what is forwarded, so a client's token reaches a backend only when the config says so.
 */
export const backendAuth: PolicyDefinition<BackendAuthPolicy> = {
  name: 'backendAuth',
  phase: 'upstream',
  requires: ['http-upstream'],
  schema: s.object(
    { header: headerNameSchema, credential: secretSchema, prefix: s.string(), passthrough: s.boolean() },
    {
      exactlyOne: ['credential', 'passthrough'],
      refine(v, path, issues) {
        if (v.passthrough === false) issues.push({ path: `${path}.passthrough`, message: 'must be true when set (give a credential instead to send the gateway\'s own)' });
        if (v.passthrough === true && v.prefix !== undefined) issues.push({ path: `${path}.prefix`, message: 'applies to a credential, not to passthrough (the client\'s value is sent as it came)' });
      },
    },
  ),
  files: (config, baseDir) => secretFiles(config.credential, baseDir),
  create(config, build) {
    const header = (config.header ?? 'authorization').toLowerCase();
    if (config.passthrough) {
      return {
        step: (_ctx, next) => next(),
        upstream: { attempt: createCredentialInterceptor({ header, passthrough: { from: header } }), readsClientHeaders: true },
      };
    }
    const value = `${config.prefix ?? ''}${readSecret(config.credential!, build.baseDir, `${build.path}.credential`)}`;
    return { step: (_ctx, next) => next(), upstream: { attempt: createCredentialInterceptor({ header, value }) } };
  },
};
