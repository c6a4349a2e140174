/**
 * Who sent a request, as authentication established it. Rego policies see it as `input.identity`; filters as
 * `ctx.identity`.
 *
 * @example
 * { kind: 'jwt', subject: 'agent-42', roles: ['readonly'], claims: { iss: 'https://idp.example.com', sub: 'agent-42' } }
 */
export interface Identity {
  /** How the caller authenticated. `anonymous` when no credential was required and none was sent. */
  kind: 'jwt' | 'apiKey' | 'anonymous';
  /** Stable caller id: the JWT `sub`, or the API key's name. */
  subject: string;
  /** Roles used by authorization rules. @default [] */
  roles: string[];
  /** Verified JWT claims, or the API key's metadata. @default {} */
  claims: Record<string, unknown>;
}
