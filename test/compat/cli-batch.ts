/**
 * Runs several one-shot CLI commands (`validate`, `policy`: ones that return an exit code, not `start`) in this one
 * process, through the CLI's own `main`, and prints each one's exit code, stdout and stderr as JSON. A test that
 * checks many configs pays for loading the gateway once instead of once per command; it still runs the real
 * `bin.mjs` once itself to prove the wiring.
 *
 * Usage: node --no-node-snapshot test/compat/cli-batch.ts '<json: Array<{ args, cwd?, env? }>>'
 */
import { main } from '../../core/cli/main.ts';

interface Job {
  args: string[];
  cwd?: string;
  env?: Record<string, string>;
}

const jobs = JSON.parse(process.argv[2] ?? '[]') as Job[];
const results: Array<{ status: number; stdout: string; stderr: string }> = [];
const out = process.stdout.write.bind(process.stdout);
const err = process.stderr.write.bind(process.stderr);
const home = process.cwd();
for (const job of jobs) {
  let stdout = '';
  let stderr = '';
  process.stdout.write = ((chunk: string | Uint8Array) => ((stdout += String(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += String(chunk)), true)) as typeof process.stderr.write;
  const saved = Object.fromEntries(Object.keys(job.env ?? {}).map((k) => [k, process.env[k]]));
  Object.assign(process.env, job.env);
  process.chdir(job.cwd ?? home);
  let status: number;
  try {
    status = await main(job.args);
  } catch (e) {
    status = 70;
    stderr += String((e as Error)?.stack ?? e);
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    process.chdir(home);
  }
  results.push({ status, stdout, stderr });
}
out(`${JSON.stringify(results)}\n`);
