/**
 * Loaded into every test file's process (`node --test --import ./test/helpers/leak-check.ts`) instead of
 * `--test-force-exit`: a file whose tests are done but which still holds a socket, a server, a child process or a
 * timer would keep its process alive. This names what it holds and fails the file after a grace period, so a
 * leaked handle fails the run (with what leaked) rather than hanging it or being hidden by a forced exit.
 */
import { after } from 'node:test';

/** How long a file's own `after` hooks and closing sockets get once its last test is done. */
const GRACE_MS = Number(process.env.PCL_TEST_LEAK_GRACE_MS ?? 8_000);

after(() => {
  const timer = setTimeout(() => {
    const held = process.getActiveResourcesInfo().filter((r) => r !== 'Timeout' && r !== 'TTYWrap');
    process.stderr.write(
      `LEAKED HANDLES: ${process.argv[1]} still holds ${JSON.stringify(held)} ${GRACE_MS} ms after its last test ` +
        '(close servers, clients, child processes and intervals in after/afterEach; PipeWrap entries include stdio)\n',
    );
    process.exitCode = 1;
    process.exit(1);
  }, GRACE_MS);
  timer.unref();
});
