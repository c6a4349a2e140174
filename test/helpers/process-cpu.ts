import { readFileSync } from 'node:fs';
import { until } from './wait.ts';

/** CPU time (user + system, in ms) process `pid` has used so far, from /proc/<pid>/stat (Linux, 100 ticks a second). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * Resolves once process `pid` has used `ms` of CPU time more than `since` (a cpuMs reading): a call that spins is
 * then running in it. A wait on that, rather than a guessed delay, which a loaded machine can overrun. Bounded: 10 s.
 */
export async function spinning(pid: number, since: number, ms = 100): Promise<void> {
  await until(() => cpuMs(pid) - since >= ms, { what: `process ${pid} to spin for ${ms} ms of CPU` });
}
