import { readFile } from 'node:fs/promises';
import { ErrorCodes, GatewayError } from '../errors.ts';

/**
 * Reads the data documents of a policy (JSON or YAML) and merges them at the top level, later files winning, as
 * `opa test` and `opa eval` do with the same files.
 */
export async function loadRegoData(files: readonly string[], label = ''): Promise<Record<string, unknown>> {
  const data: Record<string, unknown> = {};
  if (files.length === 0) return data;
  // Loaded on first use: only a policy with data files needs the YAML parser.
  const { parseDocument } = await import('yaml');
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new GatewayError(ErrorCodes.POLICY_COMPILE, `${label}cannot read data file ${file}: ${(err as Error).message}`, { cause: err });
    }
    const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
    if (doc.errors.length > 0) {
      throw new GatewayError(ErrorCodes.POLICY_COMPILE, `${label}cannot parse data file ${file}:\n${doc.errors.map((e) => e.message).join('\n')}`);
    }
    const value = doc.toJS();
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new GatewayError(ErrorCodes.POLICY_COMPILE, `${label}data file ${file} must hold an object at the top level`);
    }
    Object.assign(data, value);
  }
  return data;
}
