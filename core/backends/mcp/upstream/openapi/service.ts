import type { McpTarget } from '../../../../../sdk-types/config.ts';
import { stateKey, type StateStore } from '../../../../state/index.ts';
import type { Logger } from '../../../../telemetry/index.ts';
import { OpenApiApi } from './api.ts';
import { loadSpec } from './load.ts';

/**
 * The loaded API of one OpenAPI target of one route, across reloads: MCP sessions outlive a runtime, so their
 * connections read the API through this object. Each runtime puts the API it loaded on top while it lives (like
 * `RemoteUpstream`); a new one on top tells open sessions their tool list changed.
 */
export class OpenApiService {
  private readonly layers: OpenApiApi[] = [];
  private readonly listeners = new Set<() => void>();

  get current(): OpenApiApi | undefined {
    return this.layers.at(-1);
  }

  /** Makes `api` current; the returned function removes it again and says whether none is left. */
  use(api: OpenApiApi): () => boolean {
    const before = this.current;
    this.layers.push(api);
    if (before && before.fingerprint !== api.fingerprint) this.changed();
    return () => {
      const top = this.current;
      const i = this.layers.indexOf(api);
      if (i !== -1) this.layers.splice(i, 1);
      const now = this.current;
      if (now && top !== now && top?.fingerprint !== now.fingerprint) this.changed();
      return this.layers.length === 0;
    };
  }

  /** Called whenever the current tool list changes; returns the unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const l of [...this.listeners]) l();
  }
}

const OPENAPI_SERVICE = stateKey<OpenApiService>('mcp.openapiService');

export interface OpenApiTargets {
  services: ReadonlyMap<string, OpenApiService>;
  /** Files the specs were read from: hot reload watches them. */
  files: string[];
  /** Takes this runtime's APIs off their services. */
  release(): void;
}

/**
 * Loads the spec of every OpenAPI target of a route (in parallel) and puts each on its service. An unusable spec
 * fails the whole load (PCL_ERR_OPENAPI_SPEC_INVALID, with the target's config path and the spec's own path); an
 * operation that uses an unsupported feature is left out with a warning.
 */
export async function attachOpenApiTargets(
  targets: readonly McpTarget[],
  options: { baseDir: string; where: string; state: StateStore; scope: string; logger: Logger; route: string },
): Promise<OpenApiTargets | undefined> {
  const indexed = targets.map((t, i) => [t, i] as const).filter(([t]) => t.openapi);
  if (indexed.length === 0) return undefined;
  const loaded = await Promise.all(
    indexed.map(async ([t, i]) => {
      const where = `${options.where}.targets[${i}].openapi`;
      const startedAt = performance.now();
      const spec = await loadSpec(t.openapi!.schema, { baseDir: options.baseDir, where });
      const api = new OpenApiApi(spec, t.openapi!, where);
      for (const s of api.skipped) {
        options.logger.warn({ route: options.route, target: t.name, operation: s.operation, reason: s.reason }, 'OpenAPI operation left out: it uses a feature the gateway does not support');
      }
      options.logger.info(
        { route: options.route, target: t.name, tools: api.tools.size, skipped: api.skipped.length, loadMs: Math.round(performance.now() - startedAt) },
        'OpenAPI target loaded',
      );
      return { target: t.name, api, files: spec.files };
    }),
  );
  const services = new Map<string, OpenApiService>();
  const removers: Array<{ key: string; remove: () => boolean }> = [];
  for (const { target, api } of loaded) {
    const key = `${options.scope}/${target}`;
    const service = options.state.getOrCreate(OPENAPI_SERVICE, key, () => new OpenApiService());
    removers.push({ key, remove: service.use(api) });
    services.set(target, service);
  }
  return {
    services,
    files: loaded.flatMap((l) => l.files),
    release() {
      for (const r of removers) if (r.remove()) options.state.delete(OPENAPI_SERVICE, r.key);
    },
  };
}
