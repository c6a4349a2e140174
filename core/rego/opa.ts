import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, GatewayError } from '../errors.ts';

/** The OPA version the project installs and is tested with. */
export const OPA_VERSION = 'v1.22.2';

/** The repository root: `.tools/` and `.cache/` live there. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Where `scripts/install-tools.mjs` puts the binary. */
export const TOOLS_OPA = join(REPO_ROOT, '.tools', 'bin', process.platform === 'win32' ? 'opa.exe' : 'opa');

export const INSTALL_HINT =
  `install it with "node scripts/install-tools.mjs" (runs "go install github.com/open-policy-agent/opa@${OPA_VERSION}" into .tools/bin; needs Go), ` +
  `or download opa ${OPA_VERSION} from https://github.com/open-policy-agent/opa/releases and put it on PATH, ` +
  `or set "opaPath" in the authorization policy (or the PORTCULLIS_OPA environment variable)`;

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Finds the `opa` binary: an explicit path (config, then `PORTCULLIS_OPA`), else `opa` on PATH, else the project's
 * tools folder. Fails with OPA_MISSING saying how to install it: Rego cannot be served without it.
 */
export function findOpa(configured?: string, baseDir = process.cwd()): string {
  const explicit = configured ?? process.env.PORTCULLIS_OPA;
  if (explicit) {
    const file = isAbsolute(explicit) ? explicit : resolve(baseDir, explicit);
    if (executable(file)) return file;
    throw new GatewayError(ErrorCodes.OPA_MISSING, `the OPA compiler is not at ${file} (not found or not executable): ${INSTALL_HINT}`);
  }
  const name = process.platform === 'win32' ? 'opa.exe' : 'opa';
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && executable(join(dir, name))) return join(dir, name);
  }
  if (executable(TOOLS_OPA)) return TOOLS_OPA;
  throw new GatewayError(ErrorCodes.OPA_MISSING, `Rego policies need the OPA compiler, which is neither on PATH nor at ${TOOLS_OPA}: ${INSTALL_HINT}`);
}
