type Jose = typeof import('jose');

let loading: Promise<Jose> | undefined;

/**
 * jose, imported on first use: a gateway whose config has no JWT policy never loads it (it is not small, and the
 * built-in policies are all registered at startup whether a config uses them or not). The first verifier built
 * starts the import, so the first request seldom waits for it.
 */
export function loadJose(): Promise<Jose> {
  loading ??= import('jose');
  return loading;
}
