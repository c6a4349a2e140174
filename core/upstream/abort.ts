/** Who can abort a call: an AbortSignal, or a request context's plain abort callback (cheaper on the hot path). */
export type AbortSource = AbortSignal | { readonly aborted?: boolean; onAbort(listener: (reason: Error) => void): void };

/**
 * Calls `abort` with the reason when `source` aborts: at once when it already has (an AbortSignal), later
 * otherwise. Returns what stops listening (an AbortSignal's listener is removed; a context's callback ends with its
 * request). One place for the three upstream calls (forward, callWhole, callPushed), so they abort alike.
 */
export function watchAbort(source: AbortSource | undefined, abort: (reason: Error) => void): (() => void) | undefined {
  if (!source) return undefined;
  if (source instanceof AbortSignal) {
    if (source.aborted) {
      abort(source.reason as Error);
      return undefined;
    }
    const listener = () => abort(source.reason as Error);
    source.addEventListener('abort', listener, { once: true });
    return () => source.removeEventListener('abort', listener);
  }
  source.onAbort(abort);
  return undefined;
}
