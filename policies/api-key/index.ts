import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ApiKeyEntry, ApiKeyPolicy } from '../../sdk-types/security.ts';
import type { Identity } from '../../sdk-types/identity.ts';
import { headerNameSchema, s } from '../../core/config/index.ts';
import { formatIssues, type Issue } from '../../core/schema/index.ts';
import type { PolicyDefinition } from '../../core/pipeline/index.ts';
import { configError, readSecret } from '../backend-auth/secret.ts';
import { extractCredential, rejectUnauthenticated, removeCredential } from '../jwt-auth/index.ts';
import { lazy } from '../../core/lazy.ts';

// Loaded the first time a key file is read.
const yaml = lazy<typeof import('yaml')>('yaml');

const entrySchema = s.object(
  {
    name: s.string({ nonEmpty: true }),
    sha256: s.string({ pattern: /^[0-9a-fA-F]{64}$/, patternHint: 'a hex SHA-256 (64 hex digits)' }),
    env: s.string({ nonEmpty: true }),
    file: s.string({ nonEmpty: true }),
    roles: s.array(s.string({ nonEmpty: true })),
    metadata: s.record({ describe: 'any', check() {}, jsonSchema: () => ({}) }),
  },
  { required: ['name'], exactlyOne: ['sha256', 'env', 'file'] },
);

export const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex');

function readKeysFile(file: string, path: string): ApiKeyEntry[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw configError(`${path}: cannot read ${file}: ${(err as Error).message}`);
  }
  const doc = yaml().parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) throw configError(`${path}: cannot parse ${file}:\n${doc.errors.map((e) => e.message).join('\n')}`);
  const value = doc.toJS() as unknown;
  const entries = Array.isArray(value) ? value : (value as { keys?: unknown })?.keys;
  const issues: Issue[] = [];
  s.array(entrySchema).check(entries, `${file}`, issues);
  if (issues.length > 0) throw configError(`${path}: invalid keys file:\n${formatIssues(issues)}`);
  return entries as ApiKeyEntry[];
}

/**
 * API keys, each standing for a named identity with roles. Keys are compared by SHA-256, so the config (and the
 * admin dump of it) holds only hashes; raw keys may come from the environment or a file.
 */
export const apiKey: PolicyDefinition<ApiKeyPolicy> = {
  name: 'apiKey',
  phase: 'authentication',
  schema: s.object(
    {
      keys: s.array(entrySchema),
      keysFile: s.string({ nonEmpty: true }),
      header: headerNameSchema,
      mode: s.literal('strict', 'optional', 'permissive'),
      passthrough: s.boolean(),
    },
    {
      refine(v, p, issues) {
        if (v.keys === undefined && v.keysFile === undefined) issues.push({ path: p, message: 'expected keys or keysFile' });
      },
    },
  ),
  files(config, baseDir) {
    const out = config.keysFile ? [resolve(baseDir, config.keysFile)] : [];
    for (const k of config.keys ?? []) if (k.file) out.push(resolve(baseDir, k.file));
    return out;
  },
  create(config, build) {
    const byHash = new Map<string, Identity>();
    const entries = [...(config.keys ?? []).map((k, i) => ({ k, path: `${build.path}.keys[${i}]` }))];
    if (config.keysFile) {
      const file = resolve(build.baseDir, config.keysFile);
      readKeysFile(file, `${build.path}.keysFile`).forEach((k, i) => entries.push({ k, path: `${file}[${i}]` }));
    }
    for (const { k, path } of entries) {
      const hash = k.sha256?.toLowerCase() ?? sha256Hex(readSecret({ env: k.env, file: k.file }, build.baseDir, path));
      if (byHash.has(hash)) throw configError(`${path}: the same key is already given to "${byHash.get(hash)!.subject}"`);
      byHash.set(hash, Object.freeze({ kind: 'apiKey', subject: k.name, roles: k.roles ?? [], claims: k.metadata ?? {} }) as Identity);
    }
    const header = (config.header ?? 'authorization').toLowerCase();
    const mode = config.mode ?? 'strict';
    const challenge = header === 'authorization' ? 'Bearer' : undefined;
    return {
      step(ctx, next) {
        const found = extractCredential(ctx, { header }, true);
        if (found === undefined) {
          // Another authentication policy of the route may already have identified the caller.
          if (mode !== 'strict' || (ctx.identity && ctx.identity.kind !== 'anonymous')) return next();
          return rejectUnauthenticated(ctx, `missing API key (expected in the ${header} header)`, challenge);
        }
        const identity = 'token' in found ? byHash.get(sha256Hex(found.token)) : undefined;
        if (!identity) {
          if (mode === 'permissive') return next();
          return rejectUnauthenticated(ctx, 'malformed' in found ? found.malformed : 'unknown API key', challenge);
        }
        ctx.identity = identity;
        if (!config.passthrough && 'source' in found) removeCredential(ctx, found.source);
        return next();
      },
    };
  },
};
