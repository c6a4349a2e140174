/**
 * The URL of an entry module that runs on its own (a worker thread's script, a child process's main) and sits
 * beside the module asking for it. From the TypeScript sources that is `./<name>.ts` in the caller's folder; from
 * the JavaScript build (scripts/build.mjs) every entry is `<name>.mjs` in the build's one folder, beside the
 * bundle that contains the caller. The caller's own extension says which.
 *
 * @example
 * new Worker(siblingEntry('watchdog-worker', import.meta.url));
 */
export function siblingEntry(name: string, callerUrl: string): URL {
  return new URL(`./${name}${callerUrl.endsWith('.ts') ? '.ts' : '.mjs'}`, callerUrl);
}
