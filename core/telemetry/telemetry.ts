import { readFileSync } from 'node:fs';
import { ErrorCodes, GatewayError } from '../errors.ts';
import { createAuditSink, subscribeAudit, type AuditSink } from './audit.ts';
import type { ResolvedTelemetry } from './config.ts';
import type { LangfuseKeys } from './langfuse.ts';
import type { Logger } from './logger.ts';
import { createMetrics, type GatewayMetrics } from './metrics.ts';
import { readSecretSource } from './secrets.ts';
import { telemetrySinks, type TelemetrySinkInstance } from './sinks.ts';
import { startStatsServer, type StatsServer } from './stats.ts';
import type { TraceExport } from './trace-export.ts';
import type { PhaseName, TelemetryConfigView } from './view.ts';

/**
 * The observability sinks of one gateway, built from its config and rebuilt on reload where their block changed:
 * metrics and the stats server, the tracer (OTLP and/or Langfuse), the audit log. Exports are flushed on reload and
 * on close. A sink never fails traffic: exports are queued (bounded) and their failures only counted.
 */

export const VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
})();

export interface TelemetryOptions {
  logger: Logger;
  /** The gateway whose requests are observed (`RequestEvent.gateway`). */
  gateway?: string;
  /** Policy names and their phases, for the `phase` of decisions. */
  policies: ReadonlyArray<{ name: string; phase: PhaseName }>;
  /** The ports of the gateway's binds (open-connections gauge). */
  ports?: () => readonly number[];
  /**
   * Whether this process serves the stats address. A worker of `workers: n` does not (n processes cannot all
   * listen on it); its metrics are still kept, and its supervisor serves them summed (core/cluster/metrics.ts).
   */
  serveStats?: boolean;
}

interface TraceSinks {
  key: string;
  provider: TraceExport['provider'];
  unsubscribe: () => void;
}

interface PluggedSink {
  key: string;
  instance: TelemetrySinkInstance;
}

interface AuditState {
  key: string;
  sink: AuditSink;
  unsubscribe: () => void;
}

export class Telemetry {
  private readonly options: TelemetryOptions;
  private readonly phases: ReadonlyMap<string, PhaseName>;
  private metrics: GatewayMetrics | undefined;
  private stats: StatsServer | undefined;
  private statsAddress: string | false = false;
  private traces: TraceSinks | undefined;
  /** The key of the trace settings last applied when they turned every trace sink off (logged once, not per reload). */
  private tracesOff: string | undefined;
  private audit: AuditState | undefined;
  private readonly plugged = new Map<string, PluggedSink>();
  /** Whether this process serves the stats address now (see `serveStats`). */
  private serving: boolean;
  private current: ResolvedTelemetry | undefined;

  private constructor(options: TelemetryOptions) {
    this.options = options;
    this.phases = new Map(options.policies.map((p) => [p.name, p.phase]));
    this.serving = options.serveStats !== false;
  }

  /** Starts serving the stats address, if the config has one (a gateway made in process serves it once it listens). */
  async serveStats(): Promise<void> {
    if (this.serving) return;
    this.serving = true;
    if (this.current && this.current.stats.address !== false && !this.stats) {
      this.statsAddress = false;
      await this.applyStats(this.current);
    }
  }

  /** Starts every sink the config turns on; throws a config error (with its path) when one cannot start. */
  static async start(config: TelemetryConfigView, options: TelemetryOptions): Promise<Telemetry> {
    const t = new Telemetry(options);
    try {
      await t.apply(config);
    } catch (err) {
      await t.close();
      throw err;
    }
    return t;
  }

  /** The stats server's port, when it runs (useful with port 0). */
  get statsPort(): number | undefined {
    return this.stats?.port;
  }

  /** The metrics registry (tests, the bench). */
  get registry() {
    return this.metrics?.registry;
  }

  /** Brings the sinks in line with a reloaded config, and flushes what the exporters hold. */
  async reload(config: TelemetryConfigView): Promise<void> {
    await this.apply(config);
    await this.flush();
  }

  async flush(): Promise<void> {
    await this.traces?.provider.forceFlush().catch(() => undefined);
    for (const sink of this.plugged.values()) await sink.instance.flush?.().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.traces?.unsubscribe();
    await this.traces?.provider.shutdown().catch(() => undefined);
    this.traces = undefined;
    this.audit?.unsubscribe();
    await this.audit?.sink.close();
    this.audit = undefined;
    for (const [name, sink] of this.plugged) {
      this.plugged.delete(name);
      await sink.instance.close();
    }
    await this.stats?.close();
    this.stats = undefined;
    this.metrics?.close();
    this.metrics = undefined;
  }

  private async apply(config: TelemetryConfigView): Promise<void> {
    const telemetry = config.telemetry;
    this.current = telemetry;
    await this.applyStats(telemetry);
    this.metrics?.configure(config, this.phases);
    await this.applyTraces(telemetry);
    await this.applyAudit(telemetry);
    await this.applySinks(telemetry);
  }

  /** Plugged-in sinks: started when their key is set, restarted when its value changed, stopped when it went. */
  private async applySinks(telemetry: ResolvedTelemetry): Promise<void> {
    const wanted = telemetry.sinks ?? {};
    for (const [name, sink] of this.plugged) {
      if (JSON.stringify(wanted[name] ?? null) === sink.key) continue;
      this.plugged.delete(name);
      await sink.instance.close();
    }
    for (const definition of telemetrySinks()) {
      const config = wanted[definition.name];
      if (config === undefined || this.plugged.has(definition.name)) continue;
      const instance = await definition.start(config, { logger: this.options.logger, gateway: this.options.gateway });
      this.plugged.set(definition.name, { key: JSON.stringify(config), instance });
    }
  }

  private async applyStats(telemetry: ResolvedTelemetry): Promise<void> {
    const address = telemetry.stats.address;
    if (address === this.statsAddress && (address === false || this.stats)) return;
    await this.stats?.close();
    this.stats = undefined;
    this.statsAddress = address;
    if (address === false) {
      this.metrics?.close();
      this.metrics = undefined;
      return;
    }
    this.metrics ??= createMetrics({ gateway: this.options.gateway, version: VERSION, ports: this.options.ports, logger: this.options.logger });
    const metrics = this.metrics;
    if (!this.serving) return;
    try {
      this.stats = await startStatsServer(address, () => metrics.registry, this.options.logger);
    } catch (err) {
      this.statsAddress = false;
      throw new GatewayError(ErrorCodes.BIND_FAILED, `stats.address: cannot listen on ${address}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
    }
  }

  private async applyTraces(telemetry: ResolvedTelemetry): Promise<void> {
    const { tracing, langfuse } = telemetry;
    let keys: LangfuseKeys | undefined;
    if (langfuse) keys = { publicKey: readSecretSource(langfuse.publicKey, 'langfuse.publicKey'), secretKey: readSecretSource(langfuse.secretKey, 'langfuse.secretKey') };
    // The key holds the secret only as a digest-free comparison string in memory; it is never logged.
    const key = JSON.stringify({ tracing, langfuse, keys });
    if (this.traces?.key === key || (!this.traces && this.tracesOff === key)) return;
    this.logDecisions(telemetry);
    this.tracesOff = tracing || langfuse ? undefined : key;
    const previous = this.traces;
    this.traces = undefined;
    if (tracing || langfuse) {
      const count = (exporter: string) => (outcome: 'exported' | 'queue_full' | 'export_failed', n: number) => this.metrics?.spans(exporter, outcome, n);
      // The OpenTelemetry SDK, its exporters and Langfuse's processor weigh about 30 MiB once loaded: only a
      // config that exports traces loads them.
      const { startTraceExport } = await import('./trace-export.ts');
      const { provider, unsubscribe, ratio } = startTraceExport({ tracing, langfuse, keys, gateway: this.options.gateway, version: VERSION, count });
      this.traces = { key, provider, unsubscribe };
      this.options.logger.info(
        { tracing: tracing && { endpoint: tracing.endpoint, protocol: tracing.protocol, samplerRatio: ratio }, langfuse: langfuse && { baseUrl: langfuse.baseUrl, captureContent: langfuse.captureContent } },
        'trace export on',
      );
    }
    if (previous) {
      previous.unsubscribe();
      // Flushes what the old exporters hold; spans still open under them end unexported.
      void previous.provider.shutdown().catch(() => undefined);
    }
  }

  /**
   * One line per trace sink at start (and when a reload changes them): on or off, and why — the config's block, the
   * environment variable that switched it, or neither. Endpoints go through the logger's redaction; keys never do.
   */
  private logDecisions(telemetry: ResolvedTelemetry): void {
    const { tracing, langfuse, decisions } = telemetry;
    const log = this.options.logger;
    log.info({ sink: 'tracing', on: decisions.tracing.on, from: decisions.tracing.from, ...(tracing ? { endpoint: tracing.endpoint, protocol: tracing.protocol } : {}) }, decisions.tracing.reason);
    // Half a key pair is a mistake worth a warning: Langfuse stays off.
    const half = !decisions.langfuse.on && decisions.langfuse.from !== 'none';
    log[half ? 'warn' : 'info']({ sink: 'langfuse', on: decisions.langfuse.on, from: decisions.langfuse.from, ...(langfuse ? { baseUrl: langfuse.baseUrl } : {}) }, decisions.langfuse.reason);
  }

  private async applyAudit(telemetry: ResolvedTelemetry): Promise<void> {
    const audit = telemetry.audit;
    const key = JSON.stringify(audit ?? null);
    if ((this.audit?.key ?? 'null') === key) return;
    const previous = this.audit;
    this.audit = undefined;
    if (audit) {
      const sink = createAuditSink(audit);
      this.audit = { key, sink, unsubscribe: subscribeAudit({ sink, gateway: this.options.gateway, phases: () => this.phases }) };
    }
    if (previous) {
      previous.unsubscribe();
      await previous.sink.close();
    }
  }
}
