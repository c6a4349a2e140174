#!/usr/bin/env node
// The `portcullis` command. Plain JavaScript so that it can check the Node version before loading TypeScript.
import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';

const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  // Said in full, with a command that works from here: a stack trace from a newer syntax would say nothing.
  const { existsSync } = await import('node:fs');
  const { relative } = await import('node:path');
  const self = relative(process.cwd(), fileURLToPath(import.meta.url)) || fileURLToPath(import.meta.url);
  const args = process.argv.slice(2).join(' ');
  const pinned = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url));
  const lines = [
    `portcullis needs Node.js 24 or newer; this is ${process.version}.`,
    existsSync(pinned)
      ? `In this checkout, npm runs the pinned Node 24: "npm start", "npm run dev", or "${relative(process.cwd(), pinned)} ${self}${args ? ` ${args}` : ''}".`
      : `Run it on Node 24 without installing it: "npx -y node@24 ${self}${args ? ` ${args}` : ''}", or install Node 24 (https://nodejs.org, nvm install 24).`,
  ];
  process.stderr.write(`${lines.join('\n')}\n`);
  process.exit(1);
}

// isolated-vm asks for --no-node-snapshot; users never type it: the CLI re-runs itself with it.
const NEEDED = ['--no-node-snapshot'];
if (!NEEDED.every((f) => process.execArgv.includes(f))) {
  // The IPC channel tells the child when this wrapper is gone, even by SIGKILL, so it never runs orphaned.
  const child = spawn(process.execPath, [...NEEDED, ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
  });
  const forward = (sig) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => forward(sig));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
  followNpmParent(() => forward('SIGTERM'));
} else {
  if (process.channel) {
    // Our wrapper died without forwarding a signal: shut down as if told to (drain, then exit).
    process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
    process.channel.unref();
  } else {
    // Started with the flags already (`npm start` passes them, so that no wrapper process sits beside the gateway).
    followNpmParent(() => process.kill(process.pid, 'SIGTERM'));
  }
  // V8's compile cache (in the OS temp dir; NODE_DISABLE_COMPILE_CACHE=1 turns it off): a second start compiles
  // none of the gateway's code again, which roughly halves the CPU it spends before listening.
  (await import('node:module')).enableCompileCache?.();
  const { main } = await import(await mainModule());
  process.exitCode = await main(process.argv.slice(2));
}

/**
 * The gateway runs from its JavaScript build (scripts/build.mjs: Node's TypeScript stripping would keep ~30 MiB for
 * the life of the process), rebuilt here first when a source file changed since it was made. PORTCULLIS_SOURCE=1
 * runs the TypeScript sources instead; so does a checkout where the build cannot be written, with a note on stderr.
 */
async function mainModule() {
  const source = new URL('./main.ts', import.meta.url).href;
  // The installed package (npm pack, scripts/pack.mjs) ships the build and not the sources: it runs as built.
  const { existsSync } = await import('node:fs');
  if (!existsSync(fileURLToPath(source))) return new URL('../../dist/gateway/main.mjs', import.meta.url).href;
  if (process.env.PORTCULLIS_SOURCE === '1') return source;
  const { buildGateway, freshGatewayBuild } = await import('../../scripts/build.mjs');
  let built = freshGatewayBuild();
  if (!built) {
    try {
      built = await buildGateway();
    } catch (err) {
      process.stderr.write(`[portcullis] could not build the gateway to JavaScript (${err.message}): running the TypeScript sources\n`);
      return source;
    }
  }
  return pathToFileURL(built).href;
}

/**
 * Under npm (`npm start`, `npx portcullis`) our parent may be the `sh -c` that npm signals, and sh dies on SIGTERM
 * without passing it on: the gateway would stay, re-parented, serving the port. So under npm the gateway follows its
 * parent: once the parent is gone, it stops as on SIGTERM. (Not outside npm, where `nohup portcullis &` is meant to
 * outlive its shell.)
 */
function followNpmParent(stop) {
  if (process.env.npm_lifecycle_event === undefined) return;
  const parent = process.ppid;
  const watch = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(watch);
    stop();
  }, 200);
  watch.unref();
}
