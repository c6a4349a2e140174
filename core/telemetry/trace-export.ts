import { OTLPTraceExporter as OTLPJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ResolvedTelemetry } from './config.ts';
import { ExportQueue } from './export-queue.ts';
import { createLangfuseProcessor, LANGFUSE_MAX_QUEUE, type LangfuseKeys } from './langfuse.ts';
import { subscribeTracing } from './tracing.ts';

/**
 * Trace export: the OpenTelemetry SDK with its OTLP exporters and/or Langfuse's processor, fed by the tracing
 * subscriber. Loaded by `Telemetry` only when a config turns tracing or Langfuse on (this module and what it
 * imports weigh about 30 MiB; a gateway without trace export never loads them).
 */
export interface TraceExport {
  provider: BasicTracerProvider;
  unsubscribe: () => void;
  /** The root sampling ratio in effect. */
  ratio: number;
}

export interface TraceExportOptions {
  tracing: ResolvedTelemetry['tracing'];
  langfuse: ResolvedTelemetry['langfuse'];
  keys: LangfuseKeys | undefined;
  gateway: string | undefined;
  version: string;
  /** Counts spans per exporter and outcome (the metrics). */
  count: (exporter: string) => (outcome: 'exported' | 'queue_full' | 'export_failed', n: number) => void;
}

export function startTraceExport({ tracing, langfuse, keys, gateway, version, count }: TraceExportOptions): TraceExport {
  const processors: SpanProcessor[] = [];
  if (tracing) {
    const queue = new ExportQueue(tracing.maxQueueSize, count('otlp'));
    const Exporter = tracing.protocol === 'http/json' ? OTLPJsonExporter : OTLPProtoExporter;
    const exporter = queue.exporter(new Exporter({ url: tracing.endpoint, headers: { ...tracing.headers }, timeoutMillis: tracing.exportTimeoutMs }));
    // The inner batch never fills before the queue in front of it refuses.
    processors.push(queue.processor(new BatchSpanProcessor(exporter, { maxQueueSize: tracing.maxQueueSize + 1, maxExportBatchSize: Math.min(512, tracing.maxQueueSize), scheduledDelayMillis: tracing.scheduledDelayMs, exportTimeoutMillis: tracing.exportTimeoutMs })));
  }
  if (langfuse && keys) processors.push(createLangfuseProcessor(langfuse, keys, new ExportQueue(Math.min(langfuse.maxQueueSize, LANGFUSE_MAX_QUEUE), count('langfuse'))));
  const detected = detectResources({ detectors: [envDetector] });
  const resource = detected
    .merge(resourceFromAttributes({ 'service.name': tracing?.serviceName ?? process.env.OTEL_SERVICE_NAME ?? 'portcullis', 'service.version': version }))
    .merge(resourceFromAttributes({ ...tracing?.resourceAttributes }));
  const ratio = tracing?.samplerRatio ?? 1;
  const provider = new BasicTracerProvider({ resource, sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) }), spanProcessors: processors });
  const tracer = provider.getTracer('portcullis', version);
  const unsubscribe = subscribeTracing({ tracer, gateway, langfuse: langfuse && { captureContent: langfuse.captureContent } });
  return { provider, unsubscribe, ratio };
}
