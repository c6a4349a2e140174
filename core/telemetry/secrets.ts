import { readFileSync } from 'node:fs';
import type { SecretSource } from '../../sdk-types/security.ts';
import { ErrorCodes, GatewayError } from '../errors.ts';

/** Reads a secret from where the config says; a missing one is a config error naming the field (never the value). */
export function readSecretSource(source: SecretSource, path: string): string {
  if (source.secret !== undefined) return source.secret;
  if (source.env !== undefined) {
    const value = process.env[source.env];
    if (!value) throw new GatewayError(ErrorCodes.CONFIG_INVALID, `${path}: environment variable ${source.env} is not set`);
    return value;
  }
  try {
    const value = readFileSync(source.file!, 'utf8').trim();
    if (!value) throw new Error('the file is empty');
    return value;
  } catch (err) {
    throw new GatewayError(ErrorCodes.CONFIG_INVALID, `${path}: cannot read ${source.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
}
