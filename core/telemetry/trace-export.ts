import { OTLPTraceExporter as OTLPJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { AlwaysOffSampler, BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { createRequire } from 'node:module';
import type { ResolvedTelemetry } from './config.ts';
import { ExportQueue } from './export-queue.ts';
import { createLangfuseProcessor, LANGFUSE_MAX_QUEUE, type LangfuseKeys } from './langfuse.ts';
import { createOtlpProtoExporter } from './otlp-trace-serializer.ts';
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
    const exporter = queue.exporter(createOtlpExporter(tracing));
    // The inner batch never fills before the queue in front of it refuses.
    processors.push(queue.processor(new BatchSpanProcessor(exporter, { maxQueueSize: tracing.maxQueueSize + 1, maxExportBatchSize: Math.min(512, tracing.maxQueueSize), scheduledDelayMillis: tracing.scheduledDelayMs, exportTimeoutMillis: tracing.exportTimeoutMs })));
  }
  if (langfuse && keys) processors.push(createLangfuseProcessor(langfuse, keys, new ExportQueue(Math.min(langfuse.maxQueueSize, LANGFUSE_MAX_QUEUE), count('langfuse'))));
  const detected = detectResources({ detectors: [envDetector] });
  const resource = detected
    .merge(resourceFromAttributes({ 'service.name': tracing?.serviceName ?? process.env.OTEL_SERVICE_NAME ?? 'portcullis', 'service.version': version }))
    .merge(resourceFromAttributes({ ...tracing?.resourceAttributes }));
  const ratio = tracing?.samplerRatio ?? 1;
  const clientRatio = tracing?.clientSamplerRatio ?? 1;
  // A caller's sampled traceparent is followed in the share `clientSamplerRatio` (agentgateway's clientSampling).
  const sampler = new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio), ...(clientRatio < 1 ? { remoteParentSampled: clientRatio === 0 ? new AlwaysOffSampler() : new TraceIdRatioBasedSampler(clientRatio) } : {}) });
  const provider = new BasicTracerProvider({ resource, sampler, spanProcessors: processors });
  const tracer = provider.getTracer('portcullis', version);
  const unsubscribe = subscribeTracing({ tracer, gateway, langfuse: langfuse && { captureContent: langfuse.captureContent } });
  return { provider, unsubscribe, ratio };
}

const require = createRequire(import.meta.url);

/**
 * The OTLP exporter of the configured protocol. The gRPC one (with @grpc/grpc-js) is loaded only when a config
 * asks for it; `http:` endpoints are plaintext, `https:` TLS, and headers travel as gRPC metadata.
 */
function createOtlpExporter(tracing: NonNullable<ResolvedTelemetry['tracing']>): SpanExporter {
  if (tracing.protocol === 'grpc') {
    const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-grpc') as typeof import('@opentelemetry/exporter-trace-otlp-grpc');
    const { Metadata, credentials } = require('@grpc/grpc-js') as typeof import('@grpc/grpc-js');
    const metadata = new Metadata();
    for (const [name, value] of Object.entries(tracing.headers)) metadata.set(name, value);
    const secure = tracing.endpoint.startsWith('https:');
    return new OTLPTraceExporter({ url: tracing.endpoint, metadata, credentials: secure ? credentials.createSsl() : credentials.createInsecure(), timeoutMillis: tracing.exportTimeoutMs });
  }
  const config = { url: tracing.endpoint, headers: { ...tracing.headers }, timeoutMillis: tracing.exportTimeoutMs };
  return tracing.protocol === 'http/json' ? new OTLPJsonExporter(config) : createOtlpProtoExporter(config);
}
