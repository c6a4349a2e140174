import type { BackendAuthPolicy } from '../../sdk-types/security.ts';
import { s } from '../../core/config/index.ts';
import { headerNameSchema } from '../../core/config/index.ts';
import type { PolicyDefinition } from '../../core/pipeline/index.ts';
import { readSecret, secretFiles, secretSchema } from './secret.ts';

/**
 * Sends the backend the gateway's own credential (static, from the environment or a file). It runs after
 * authentication removed the client's, so a client's token never reaches a backend that trusts the gateway.
 */
export const backendAuth: PolicyDefinition<BackendAuthPolicy> = {
  name: 'backendAuth',
  phase: 'requestRewrite',
  backends: ['host', 'mcp'],
  schema: s.object({ header: headerNameSchema, credential: secretSchema, prefix: s.string() }, { required: ['credential'] }),
  files: (config, baseDir) => secretFiles(config.credential, baseDir),
  create(config, build) {
    const header = (config.header ?? 'authorization').toLowerCase();
    const value = `${config.prefix ?? ''}${readSecret(config.credential, build.baseDir, `${build.path}.credential`)}`;
    return {
      step(ctx, next) {
        ctx.requestHeaders[header] = value;
        return next();
      },
    };
  },
};
