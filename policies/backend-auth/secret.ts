import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { SecretSource } from '../../sdk-types/security.ts';
import { s } from '../../core/config/index.ts';
import { ErrorCodes, GatewayError } from '../../core/errors.ts';

/** A config problem found while building a policy; the message starts with the setting's path. */
export const configError = (message: string): GatewayError => new GatewayError(ErrorCodes.CONFIG_INVALID, message);

export const secretSchema = s.object(
  { secret: s.string({ nonEmpty: true }), env: s.string({ nonEmpty: true }), file: s.string({ nonEmpty: true }) },
  { exactlyOne: ['secret', 'env', 'file'] },
);

/** Reads a secret at build time; the message names where it was looked for, never the secret. */
export function readSecret(source: SecretSource, baseDir: string, path: string): string {
  if (source.secret !== undefined) return source.secret;
  if (source.env !== undefined) {
    const v = process.env[source.env];
    if (v === undefined || v === '') throw configError(`${path}.env: environment variable ${source.env} is not set`);
    return v;
  }
  const file = resolve(baseDir, source.file!);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw configError(`${path}.file: cannot read ${file}: ${(err as Error).message}`);
  }
  const v = text.trim();
  if (v === '') throw configError(`${path}.file: ${file} is empty`);
  return v;
}

export function secretFiles(source: SecretSource | undefined, baseDir: string): string[] {
  return source?.file !== undefined ? [resolve(baseDir, source.file)] : [];
}
