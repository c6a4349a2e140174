// A custom filter that denies a request: callers must name an allowed tenant in `x-tenant`.
// It runs in a sandbox (isolated-vm): synchronous, JSON in, a decision out, no Node APIs.
import { defineFilter } from 'portcullis';

export default defineFilter<{ tenants: string[] }>({
  name: 'require-tenant',
  onRequest(ctx) {
    const tenant = ctx.request.headers['x-tenant'];
    if (tenant === undefined || !ctx.config.tenants.includes(tenant)) {
      ctx.log('request without an allowed tenant', { tenant: tenant ?? null, path: ctx.request.path });
      return { action: 'respond', status: 403, body: { error: 'unknown tenant', allowed: ctx.config.tenants } };
    }
    // Tell the backend which tenant was checked; drop anything the client claimed about itself.
    return { action: 'continue', headers: { set: { 'x-tenant-verified': tenant }, remove: ['x-internal-user'] } };
  },
});
