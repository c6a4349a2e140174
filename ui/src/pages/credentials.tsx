import { useEffect, useState } from 'preact/hooks';
import { get, post } from '../api.ts';
import { Badge, ErrorBox } from '../components.tsx';

/** One link from GET /api/credential-links: who linked which upstream account, and when. Never a token. */
interface CredentialLink {
  link: string;
  subject: string;
  linkedAt: string;
  refreshedAt?: string;
  expiresAt?: string;
  refreshable: boolean;
}

const time = (iso?: string) => (iso ? iso.replace('T', ' ').slice(0, 19) : '');

/**
 * Per-user upstream credentials (backendAuth `oauth`): the users who linked an upstream account, with a revoke
 * button. A revoked user is asked to sign in again on the next call.
 */
export function Credentials() {
  const [links, setLinks] = useState<CredentialLink[]>();
  const [error, setError] = useState<string>();
  const [notice, setNotice] = useState<string>();
  const load = () =>
    get<{ links: CredentialLink[] }>('/api/credential-links').then(
      (r) => setLinks(r.links),
      (e: Error) => setError(e.message),
    );
  useEffect(() => void load(), []);
  const revoke = async (l: CredentialLink) => {
    setError(undefined);
    try {
      await post('/api/credential-links/revoke', { link: l.link, subject: l.subject });
      setNotice(`Revoked the ${l.link} link of ${l.subject}: they sign in again on their next call.`);
      await load();
    } catch (e) {
      setError((e as Error).message);
    }
  };
  return (
    <section>
      <h2>Upstream credentials</h2>
      <p class="muted">
        Users who linked an upstream account through the gateway (<code>backendAuth.oauth</code>). The gateway holds their tokens encrypted and never shows them; revoking a link drops them.
      </p>
      <ErrorBox error={error} />
      {notice && <p class="notice">{notice}</p>}
      {links?.length === 0 && <p class="muted">No linked accounts yet.</p>}
      {links && links.length > 0 && (
        <table class="grid credential-links">
          <thead>
            <tr><th>upstream</th><th>user</th><th>linked</th><th>refreshed</th><th>token expires</th><th>refresh</th><th></th></tr>
          </thead>
          <tbody>
            {links.map((l) => (
              <tr key={`${l.link}\n${l.subject}`} class="credential-link" data-link={l.link} data-subject={l.subject}>
                <td class="mono">{l.link}</td>
                <td>{l.subject}</td>
                <td>{time(l.linkedAt)}</td>
                <td>{time(l.refreshedAt)}</td>
                <td>{time(l.expiresAt)}</td>
                <td><Badge kind={l.refreshable ? 'allow' : 'deny'}>{l.refreshable ? 'yes' : 'no'}</Badge></td>
                <td><button type="button" class="revoke" onClick={() => void revoke(l)}>Revoke</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
