import { LangfuseSpanProcessor } from '@langfuse/otel';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ResolvedLangfuse } from './config.ts';
import type { ExportQueue } from './export-queue.ts';

/**
 * Langfuse export through Langfuse's own span processor (`@langfuse/otel`): it adds environment and release,
 * marks the app root, masks and batches; the exporter under it is OTLP/HTTP protobuf to Langfuse's endpoint
 * (`POST <baseUrl>/api/public/otel/v1/traces`, Basic auth with the key pair), wrapped by the bounded export queue
 * so that drops are counted. Every gateway span is exported: the request span is the Langfuse trace, its message
 * spans the observations (`langfuse.*` attributes set by the tracing subscriber).
 *
 * Langfuse's processor batches up to 2048 spans itself, so the queue is bounded there at most.
 */
export const LANGFUSE_MAX_QUEUE = 2048;

export interface LangfuseKeys {
  publicKey: string;
  secretKey: string;
}

export function createLangfuseProcessor(config: ResolvedLangfuse, keys: LangfuseKeys, queue: ExportQueue): SpanProcessor {
  const auth = Buffer.from(`${keys.publicKey}:${keys.secretKey}`).toString('base64');
  const exporter = new OTLPTraceExporter({
    url: `${config.baseUrl}/api/public/otel/v1/traces`,
    headers: { authorization: `Basic ${auth}`, 'x-langfuse-public-key': keys.publicKey, 'x-langfuse-sdk-name': 'portcullis' },
    timeoutMillis: config.exportTimeoutMs,
  });
  const processor = new LangfuseSpanProcessor({
    exporter: queue.exporter(exporter),
    publicKey: keys.publicKey,
    baseUrl: config.baseUrl,
    environment: config.environment,
    release: config.release,
    flushInterval: config.flushIntervalMs / 1000,
    mediaUploadEnabled: false,
    shouldExportSpan: () => true,
  });
  return queue.processor(processor);
}
