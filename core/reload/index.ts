export { watchFiles, type FileWatcher } from './watcher.ts';
