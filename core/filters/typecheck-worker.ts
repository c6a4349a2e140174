// Type-checks filter files off the main thread: a first check parses the TypeScript libs (about a second), so
// doing it inline would stall traffic during a reload. Later checks reuse the parsed libs and the old program.
import { parentPort } from 'node:worker_threads';

interface Job {
  id: number;
  file: string;
  sdkEntry: string;
}

type Ts = typeof import('typescript');
let ts: Ts | undefined;
let unavailable: string | undefined;
try {
  ts = ((await import('typescript')) as { default: Ts }).default;
} catch (err) {
  unavailable = (err as Error).message;
}

const libCache = new Map<string, import('typescript').SourceFile>();
let oldProgram: import('typescript').Program | undefined;
// Untyped JavaScript packages are allowed in filters: their missing declarations are not the author's error.
const IGNORED = new Set([7016]);

function check(job: Job): string[] {
  const t = ts!;
  const options: import('typescript').CompilerOptions = {
    strict: true,
    noEmit: true,
    target: t.ScriptTarget.ES2023,
    module: t.ModuleKind.ESNext,
    moduleResolution: t.ModuleResolutionKind.Bundler,
    allowImportingTsExtensions: true,
    allowJs: true,
    skipLibCheck: true,
    types: [],
    lib: ['lib.es2023.d.ts'],
    paths: { portcullis: [job.sdkEntry] },
  };
  const host = t.createCompilerHost(options);
  const read = host.getSourceFile.bind(host);
  host.getSourceFile = (f, lang, onError, create) => {
    const lib = f.includes('/typescript/lib/');
    const cached = lib ? libCache.get(f) : undefined;
    if (cached) return cached;
    const sf = read(f, lang, onError, create);
    if (sf && lib) libCache.set(f, sf);
    return sf;
  };
  const program = t.createProgram({ rootNames: [job.file], options, host, oldProgram });
  oldProgram = program;
  return t
    .getPreEmitDiagnostics(program)
    .filter((d) => !IGNORED.has(d.code) && !d.file?.fileName.includes('/node_modules/'))
    .slice(0, 20)
    .map((d) => {
      const text = t.flattenDiagnosticMessageText(d.messageText, '\n');
      if (!d.file || d.start === undefined) return `TS${d.code}: ${text}`;
      const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
      return `${d.file.fileName}:${line + 1}:${character + 1}: TS${d.code}: ${text}`;
    });
}

parentPort!.on('message', (job: Job) => {
  if (!ts) return parentPort!.postMessage({ id: job.id, unavailable });
  try {
    parentPort!.postMessage({ id: job.id, errors: check(job) });
  } catch (err) {
    parentPort!.postMessage({ id: job.id, unavailable: (err as Error).message });
  }
});
