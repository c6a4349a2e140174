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
  schema: s.object({ header: headerNameSchema, value: secretSchema, prefix: s.string() }, { required: ['value'] }),
  files: (config, baseDir) => secretFiles(config.value, baseDir),
  create(config, build) {
    const header = (config.header ?? 'authorization').toLowerCase();
    const value = `${config.prefix ?? ''}${readSecret(config.value, build.baseDir, `${build.path}.value`)}`;
    return {
      step(ctx, next) {
        ctx.requestHeaders[header] = value;
        return next();
      },
    };
  },
};
