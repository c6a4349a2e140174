import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger } from 'pino';
import type { PrettyOptions } from 'pino-pretty';
import { lineDestination } from './log-destination.ts';
import { redactSecrets, redactString } from './redact.ts';

export type { Logger };

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

function redactErr(err: unknown): unknown {
  // Lines often log `err: error.message`: a string (or anything else) is redacted as it is.
  if (!(err instanceof Error)) return redactSecrets(err);
  const s = pino.stdSerializers.err(err) as unknown as Record<string, unknown>;
  return redactSecrets({ ...s });
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const destination =
    options.destination ??
    (options.format === 'pretty'
      ? prettyDestination({ colorize: process.stdout.isTTY, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname', customPrettifiers: MULTILINE_PRETTIFIERS })
      : lineDestination(1));
  return pino(
    {
      level: options.level ?? 'info',
      base: { pid: process.pid },
      // Every line goes through the gateway's one redaction, once: fields by name (every value of a `headers` map,
      // keys that name a secret) and by value, the message, errors. (pino's own `redact` paths on top of it
      // redacted each line a second time for nothing it did not already cover.)
      hooks: {
        logMethod(args, method) {
          for (let i = 0; i < args.length; i++) if (typeof args[i] === 'string') args[i] = redactString(args[i] as string);
          method.apply(this, args as Parameters<typeof method>);
        },
      },
      serializers: { err: redactErr },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }), log: (object) => redactSecrets(object) },
    },
    destination,
  );
}
