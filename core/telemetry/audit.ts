import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { pino } from 'pino';
import type { ResolvedAudit } from './config.ts';
import { credentialChannel, policyChannel, requestChannel, type CredentialLinkEvent, type PolicyDecisionEvent, type RequestEvent } from './events.ts';
import type { PhaseName } from './view.ts';

/**
 * The audit log: one JSON line per decision of a deciding policy (authentication, rate limit, request filters,
 * authorization), for requests and for protocol messages. Who (`enduser.id`, client address), what (route,
 * method, path, MCP method, tool/prompt/resource, target), the decision, the policy and its phase, the reason and
 * rule when known, and the ids (`request_id`, `trace_id`, `span_id`) that join it with the access log and the
 * trace. It has its own destination, so it is written whatever the log level.
 */

export interface AuditSink {
  write(line: string): void;
  close(): Promise<void>;
}

/** Where audit lines go: stdout, or a file rotated at `maxBytes` into `file.1` … `file.<maxFiles>`. */
export function createAuditSink(config: ResolvedAudit): AuditSink {
  if (!config.file) {
    return {
      write: (line) => void process.stdout.write(line),
      close: async () => {},
    };
  }
  return new RotatingFile(config.file, config.maxBytes, config.maxFiles);
}

class RotatingFile implements AuditSink {
  private readonly file: string;
  private readonly maxBytes: number;
  private readonly maxFiles: number;
  private readonly stream: ReturnType<typeof pino.destination>;
  private size: number;

  constructor(file: string, maxBytes: number, maxFiles: number) {
    this.file = file;
    this.maxBytes = maxBytes;
    this.maxFiles = maxFiles;
    mkdirSync(dirname(file), { recursive: true });
    this.size = existsSync(file) ? statSync(file).size : 0;
    // Written synchronously: an audit line is on disk before the decision's response leaves (a crash loses none),
    // and a rotation cuts exactly between lines (buffered lines could land in the new file past its limit).
    this.stream = pino.destination({ dest: file, append: true, sync: true, mkdir: true });
  }

  write(line: string): void {
    const bytes = Buffer.byteLength(line);
    if (this.size > 0 && this.size + bytes > this.maxBytes) this.rotate();
    this.size += bytes;
    this.stream.write(line);
  }

  /** Shifts `file.N` up by one (dropping the oldest) and reopens `file`: lines already handed over finish in `file.1`. */
  private rotate(): void {
    try {
      if (this.maxFiles === 0) rmSync(this.file, { force: true });
      else {
        rmSync(`${this.file}.${this.maxFiles}`, { force: true });
        for (let i = this.maxFiles - 1; i >= 1; i--) if (existsSync(`${this.file}.${i}`)) renameSync(`${this.file}.${i}`, `${this.file}.${i + 1}`);
        renameSync(this.file, `${this.file}.1`);
      }
      this.stream.reopen();
    } catch {
      // A rotation that fails keeps writing to the current file rather than losing lines.
    }
    this.size = 0;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.stream.once('close', () => resolve());
      this.stream.once('error', () => resolve());
      this.stream.end();
    });
  }
}

export interface AuditOptions {
  sink: AuditSink;
  gateway?: string;
  phases: () => ReadonlyMap<string, PhaseName>;
}

const MAX_TRACKED = 100_000;

/** Subscribes the audit log; returns the unsubscribe function. */
export function subscribeAudit(options: AuditOptions): () => void {
  const requests = new Map<string, RequestEvent>();
  const onStart = (m: unknown) => {
    const e = m as RequestEvent;
    if (e.gateway === options.gateway && requests.size < MAX_TRACKED) requests.set(e.id, e);
  };
  const onEnd = (m: unknown) => {
    const e = m as RequestEvent;
    if (requests.get(e.id) === e) requests.delete(e.id);
  };
  const onPolicy = (m: unknown) => {
    const e = m as PolicyDecisionEvent;
    const r = requests.get(e.requestId);
    if (!r) return;
    const line: Record<string, unknown> = {
      type: 'audit',
      time: new Date().toISOString(),
      request_id: e.requestId,
      trace_id: r.traceId,
      span_id: r.spanId,
      'enduser.id': e.subject,
      client: r.clientAddress,
      listener: r.listener,
      route: e.route,
      method: r.method,
      path: r.path,
      level: e.level,
      'mcp.method.name': e.level === 'message' ? e.method : undefined,
      'gen_ai.tool.name': e.tool,
      'gen_ai.prompt.name': e.prompt,
      'mcp.resource.uri': e.resourceUri,
      target: e.target,
      decision: e.outcome,
      policy: e.policy,
      phase: options.phases().get(e.policy),
      reason: e.reason,
      rule: e.rule,
      errorCode: e.errorCode,
    };
    options.sink.write(`${JSON.stringify(line)}\n`);
  };
  // Per-user upstream credentials: link, refresh, revoke (and refused logins), never a token.
  const onCredential = (m: unknown) => {
    const e = m as CredentialLinkEvent;
    const line = { type: 'audit', time: new Date().toISOString(), event: `credential.${e.event}`, 'enduser.id': e.subject, link: e.link, by: e.by, route: e.route, reason: e.reason, errorCode: e.errorCode };
    options.sink.write(`${JSON.stringify(line)}\n`);
  };
  requestChannel.start.subscribe(onStart);
  requestChannel.end.subscribe(onEnd);
  policyChannel.subscribe(onPolicy);
  credentialChannel.subscribe(onCredential);
  return () => {
    requestChannel.start.unsubscribe(onStart);
    requestChannel.end.unsubscribe(onEnd);
    policyChannel.unsubscribe(onPolicy);
    credentialChannel.unsubscribe(onCredential);
  };
}
