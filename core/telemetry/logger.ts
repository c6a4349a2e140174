import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger } from 'pino';
import type { PrettyOptions } from 'pino-pretty';

export type { Logger };

/** Credentials that must never reach a log line, wherever a header object is logged. */
const REDACT = [
  'authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'proxy-authorization',
].flatMap((h) => [`headers["${h}"]`, `*.headers["${h}"]`, `req.headers["${h}"]`]);

export interface LoggerOptions {
  level?: string;
  format?: 'json' | 'pretty';
  /** Where lines go; stdout when absent. Tests pass a stream to read them. */
  destination?: DestinationStream;
}

/**
 * pino-pretty and what it pulls in (colorette, dateformat, its own stream stack) are loaded only when the pretty
 * format is used: a gateway logging JSON, as in production, never holds them in memory.
 */
function prettyDestination(options: PrettyOptions): DestinationStream {
  const pretty = createRequire(import.meta.url)('pino-pretty') as (options: PrettyOptions) => DestinationStream;
  return pretty(options);
}

/**
 * Readable logs print a multi-line error (a config with several mistakes) as lines, indented under its key, rather
 * than as one JSON string with literal `\n`.
 */
const asLines = (value: unknown) => (typeof value === 'string' && value.includes('\n') ? `\n${value.split('\n').map((l) => `        ${l}`).join('\n')}` : typeof value === 'string' ? value : JSON.stringify(value));
export const MULTILINE_PRETTIFIERS = { err: asLines, error: asLines, reason: asLines };

export function createLogger(options: LoggerOptions = {}): Logger {
  const destination =
    options.destination ??
    (options.format === 'pretty'
      ? prettyDestination({ colorize: process.stdout.isTTY, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname', customPrettifiers: MULTILINE_PRETTIFIERS })
      : pino.destination({ sync: false }));
  return pino(
    {
      level: options.level ?? 'info',
      base: { pid: process.pid },
      redact: { paths: REDACT, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
