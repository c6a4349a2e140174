import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, GatewayError } from '../errors.ts';

/** The OPA version the project installs and is tested with. */
export const OPA_VERSION = 'v1.22.2';

/** The repository root: `.tools/` and `.cache/` live there. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Where `scripts/install-tools.mjs` builds the compiler: tools/opa-compile, OPA's own packages behind the `opa build`,
 * `opa parse` and `opa test` arguments the gateway passes (and nothing else of OPA's command line).
 */
export const TOOLS_OPA = join(REPO_ROOT, '.tools', 'bin', process.platform === 'win32' ? 'opa-compile.exe' : 'opa-compile');

/** A full `opa` in the tools folder (an install from before tools/opa-compile, or put there by hand). */
export const TOOLS_FULL_OPA = join(REPO_ROOT, '.tools', 'bin', process.platform === 'win32' ? 'opa.exe' : 'opa');

export const INSTALL_HINT =
  `install it with "node scripts/install-tools.mjs" (builds tools/opa-compile, OPA ${OPA_VERSION}'s compiler, into .tools/bin; needs Go), ` +
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
 * Finds the OPA compiler: an explicit path (config, then `PORTCULLIS_OPA`), else `opa` on PATH, else the project's
 * tools folder (`opa-compile`, then `opa`). Fails with OPA_MISSING saying how to install it: Rego cannot be served without it.
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
  for (const file of [TOOLS_OPA, TOOLS_FULL_OPA]) if (executable(file)) return file;
  throw new GatewayError(ErrorCodes.OPA_MISSING, `Rego policies need the OPA compiler, which is neither on PATH (opa) nor at ${TOOLS_OPA}: ${INSTALL_HINT}`);
}
