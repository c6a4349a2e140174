#!/usr/bin/env node
// Builds what `npm run test:deploy` needs beside Node, into .tools/bin (not part of `npm install`: only the deploy
// tests use them):
//   helm       from its Go module (helm.sh/helm/v4), for `helm lint` and `helm template` of deploy/helm/portcullis;
//   kubecheck  test/fixtures/deploy/kubecheck: decodes every rendered object into the Kubernetes API types with
//              unknown fields disallowed.
// A tool already built is kept. Exits 1 when one cannot be built (the deploy tests cannot run without them).
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// DEPLOY_TOOLS_BIN moves them elsewhere (the deploy tests read the same variable).
const bin = process.env.DEPLOY_TOOLS_BIN || join(root, '.tools', 'bin');
const say = (text) => process.stdout.write(`[deploy-test-setup] ${text}\n`);

export const HELM = { name: 'helm', pkg: 'helm.sh/helm/v4/cmd/helm', version: 'v4.3.2' };

const executable = (file) => {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

function go(args, cwd) {
  const r = spawnSync('go', args, { cwd, stdio: 'inherit', env: { ...process.env, GOFLAGS: '-mod=mod', CGO_ENABLED: '0', PATH: `${process.env.PATH}:/usr/local/go/bin` } });
  return r.status === 0;
}

function main() {
  mkdirSync(bin, { recursive: true });
  const goVersion = spawnSync('go', ['version'], { encoding: 'utf8', env: { ...process.env, PATH: `${process.env.PATH}:/usr/local/go/bin` } });
  if (goVersion.error || goVersion.status !== 0) {
    say('Go is not available: install it (https://go.dev/dl) to build helm and kubecheck');
    return 1;
  }
  const helm = join(bin, 'helm');
  if (executable(helm)) say(`helm found at ${helm}`);
  else {
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-helm-'));
    say(`building helm ${HELM.version} with ${goVersion.stdout.trim()} (several minutes the first time)`);
    const ok = go(['mod', 'init', 'portcullis-helm-tool'], dir) && go(['get', '-tool', `${HELM.pkg}@${HELM.version}`], dir) && go(['build', '-o', helm, HELM.pkg], dir);
    rmSync(dir, { recursive: true, force: true });
    if (!ok) {
      say('could not build helm');
      return 1;
    }
  }
  const kubecheck = join(bin, 'kubecheck');
  // Always rebuilt (seconds once the module cache is warm): its source is in this repository.
  say('building kubecheck');
  if (!go(['build', '-o', kubecheck, '.'], join(root, 'test', 'fixtures', 'deploy', 'kubecheck'))) {
    say('could not build kubecheck');
    return 1;
  }
  say('ready');
  return 0;
}

process.exitCode = main();
