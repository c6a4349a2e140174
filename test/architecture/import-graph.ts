import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

/**
 * The import graph of the product's sources, read with the TypeScript compiler's own pre-processor (so every
 * `import`, `export … from` and `import()` counts, type-only ones too: a type import couples folders as much as
 * a value import does), and folded onto folders: `core/<folder>`, `core/backends/<kind>`, `policies/<policy>`,
 * `sdk-types`. Files directly in `core/` (errors.ts, lazy.ts, entry.ts) are nodes of their own.
 */

export const ROOT = resolve(import.meta.dirname, '..', '..');
const SOURCE_ROOTS = ['core', 'policies', 'sdk-types'];

export interface ImportEdge {
  readonly from: string;
  readonly to: string;
  readonly fromFile: string;
  readonly toFile: string;
}

function listSources(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listSources(path));
    else if (/\.(ts|mts|mjs)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** The folder node a repository-relative file belongs to. */
export function folderOf(file: string): string {
  const parts = file.split(sep).join('/').split('/');
  if (parts[0] === 'sdk-types') return 'sdk-types';
  if (parts[0] === 'policies') return parts.length > 2 ? `policies/${parts[1]}` : 'policies';
  if (parts[0] === 'core') {
    if (parts.length === 2) return `core/${parts[1]}`;
    if (parts[1] === 'backends' && parts.length > 3) return `core/backends/${parts[2]}`;
    return `core/${parts[1]}`;
  }
  return parts[0]!;
}

/** Every import between two different folders of the product. */
export function importEdges(): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const root of SOURCE_ROOTS) {
    for (const path of listSources(join(ROOT, root))) {
      const info = ts.preProcessFile(readFileSync(path, 'utf8'), true, true);
      const fromFile = relative(ROOT, path).split(sep).join('/');
      for (const ref of info.importedFiles) {
        if (!ref.fileName.startsWith('.')) continue;
        const toFile = relative(ROOT, resolve(dirname(path), ref.fileName)).split(sep).join('/');
        if (!SOURCE_ROOTS.includes(toFile.split('/')[0]!)) continue;
        const from = folderOf(fromFile);
        const to = folderOf(toFile);
        if (from !== to) edges.push({ from, to, fromFile, toFile });
      }
    }
  }
  return edges;
}

/** Strongly connected components with more than one folder (Tarjan), each sorted, largest first. */
export function folderCycles(edges: readonly { from: string; to: string }[]): string[][] {
  const next = new Map<string, Set<string>>();
  for (const { from, to } of edges) {
    if (!next.has(from)) next.set(from, new Set());
    if (!next.has(to)) next.set(to, new Set());
    next.get(from)!.add(to);
  }
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, counter);
    low.set(node, counter);
    counter++;
    stack.push(node);
    onStack.add(node);
    for (const to of next.get(node)!) {
      if (!index.has(to)) {
        visit(to);
        low.set(node, Math.min(low.get(node)!, low.get(to)!));
      } else if (onStack.has(to)) low.set(node, Math.min(low.get(node)!, index.get(to)!));
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      for (;;) {
        const top = stack.pop()!;
        onStack.delete(top);
        component.push(top);
        if (top === node) break;
      }
      if (component.length > 1) out.push(component.sort());
    }
  };
  for (const node of [...next.keys()].sort()) if (!index.has(node)) visit(node);
  return out.sort((a, b) => b.length - a.length);
}
