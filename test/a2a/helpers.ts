import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClientFactory, DefaultAgentCardResolver, JsonRpcTransportFactory, RestTransportFactory, type Client } from '@a2a-js/sdk/client';
import { Role, type SendMessageRequest } from '@a2a-js/sdk';
import type { Route } from '../../sdk-types/index.ts';
import { sha256Hex } from '../../policies/api-key/index.ts';

export const REGO = fileURLToPath(new URL('../fixtures/a2a/authz.rego', import.meta.url));
export const READER_KEY = 'reader-key-1234';
export const ADMIN_KEY = 'admin-key-5678';

/** apiKey (x-api-key) with a reader and an admin, plus the per-skill Rego policy. */
export function securedPolicies(): Route['policies'] {
  return {
    apiKey: {
      header: 'x-api-key',
      keys: [
        { name: 'reader', sha256: sha256Hex(READER_KEY), roles: ['reader'] },
        { name: 'admin', sha256: sha256Hex(ADMIN_KEY), roles: ['admin'] },
      ],
    },
    authorization: { rego: resolve(REGO) },
  };
}

/** The SDK's own client, from the card the gateway serves at `baseUrl`, sending `headers` on every call. */
export async function sdkClient(baseUrl: string, headers: Record<string, string> = {}, transport: 'JSONRPC' | 'HTTP+JSON' = 'JSONRPC'): Promise<Client> {
  const fetchImpl: typeof fetch = (input, init) => {
    const h = new Headers(init?.headers);
    for (const [k, v] of Object.entries(headers)) h.set(k, v);
    return fetch(input, { ...init, headers: h });
  };
  const factory = new ClientFactory({
    transports: [new JsonRpcTransportFactory({ fetchImpl }), new RestTransportFactory({ fetchImpl })],
    preferredTransports: [transport],
    cardResolver: new DefaultAgentCardResolver({ fetchImpl }),
  });
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  return factory.createFromUrl(base);
}

export function userMessage(text: string, skill?: string): SendMessageRequest {
  return {
    tenant: '',
    configuration: undefined,
    metadata: undefined,
    message: {
      messageId: crypto.randomUUID(),
      contextId: '',
      taskId: '',
      role: Role.ROLE_USER,
      parts: [{ content: { $case: 'text', value: text }, metadata: undefined, filename: '', mediaType: 'text/plain' }],
      metadata: skill ? { skill } : undefined,
      extensions: [],
      referenceTaskIds: [],
    },
  };
}
