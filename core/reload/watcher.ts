import { watch, type FSWatcher } from 'chokidar';

export interface FileWatcher {
  /** Replaces the watched set (the config's dependencies change with each reload). */
  setFiles(files: readonly string[]): void;
  close(): Promise<void>;
}

/**
 * Watches files and calls `onChange` once per burst of events: editors write a file in several steps (truncate,
 * write, rename), and one reload per save is what a user expects.
 */
export function watchFiles(files: readonly string[], onChange: (changed: string[]) => void, debounceMs = 100): FileWatcher {
  let current = new Set(files);
  let pending = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  const watcher: FSWatcher = watch([...current], { ignoreInitial: true, atomic: true });
  const fire = (path: string) => {
    pending.add(path);
    clearTimeout(timer);
    timer = setTimeout(() => {
      const changed = [...pending];
      pending = new Set();
      onChange(changed);
    }, debounceMs);
  };
  watcher.on('change', fire).on('add', fire).on('unlink', fire);
  return {
    setFiles(next) {
      const wanted = new Set(next);
      const removed = [...current].filter((f) => !wanted.has(f));
      const added = [...wanted].filter((f) => !current.has(f));
      if (removed.length) watcher.unwatch(removed);
      if (added.length) watcher.add(added);
      current = wanted;
    },
    async close() {
      clearTimeout(timer);
      await watcher.close();
    },
  };
}
