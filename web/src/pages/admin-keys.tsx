import { useEffect, useState } from 'preact/hooks';
import type { ApiKey, ApiKeyCreated, Role } from '../api/types';
import { ProblemView } from '../components/problem-view';
import { formatDate } from '../format';
import type { Session } from '../session';

/** API keys: list, create (the secret is shown once), revoke. A user key gets the API's 403. */
export function AdminKeysPage({ s }: { s: Session }) {
  const [keys, setKeys] = useState<ApiKey[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('user');
  const [expires, setExpires] = useState('');
  const [created, setCreated] = useState<ApiKeyCreated | null>(null);
  const [copied, setCopied] = useState(false);
  const [confirm, setConfirm] = useState<string | null>(null);

  const load = () =>
    s.api
      .get<{ items: ApiKey[] }>('/v1/admin/api-keys')
      .then((r) => setKeys(r.items))
      .catch(setError);
  useEffect(() => void load(), [s]);

  const create = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setCopied(false);
    try {
      const body: Record<string, string> = { name: name.trim(), role };
      if (expires) body.expiresAt = new Date(`${expires}T23:59:59`).toISOString().replace(/\.\d{3}Z$/, 'Z');
      setCreated(await s.api.send<ApiKeyCreated>('POST', '/v1/admin/api-keys', body));
      setName('');
      setExpires('');
      void load();
    } catch (err) {
      setError(err);
    }
  };

  const revoke = async (id: string) => {
    setConfirm(null);
    try {
      await s.api.send('DELETE', `/v1/admin/api-keys/${encodeURIComponent(id)}`);
      void load();
    } catch (err) {
      setError(err);
    }
  };

  const copy = async () => {
    if (!created) return;
    try {
      await navigator.clipboard.writeText(created.key);
      setCopied(true);
    } catch {
      setCopied(false);
    }
  };

  return (
    <section>
      <h1 tabIndex={-1}>API keys</h1>
      <ProblemView error={error} onDismiss={() => setError(null)} />
      {keys !== null ? (
        <form class="card row wrap" onSubmit={create}>
          <div class="field">
            <label for="key-name">Name</label>
            <input
              id="key-name"
              required
              maxLength={128}
              value={name}
              onInput={(e) => setName((e.target as HTMLInputElement).value)}
            />
          </div>
          <div class="field">
            <label for="key-role">Role</label>
            <select
              id="key-role"
              value={role}
              onChange={(e) => setRole((e.target as HTMLSelectElement).value as Role)}
            >
              <option value="user">user</option>
              <option value="admin">admin</option>
            </select>
          </div>
          <div class="field">
            <label for="key-expires">Expires (optional)</label>
            <input
              id="key-expires"
              type="date"
              value={expires}
              onInput={(e) => setExpires((e.target as HTMLInputElement).value)}
            />
          </div>
          <button type="submit">Create key</button>
        </form>
      ) : null}
      {created ? (
        <div class="card secret" role="status">
          <p>
            <strong>
              New key “{created.name}” ({created.role}).
            </strong>{' '}
            Copy it now: it is shown only once.
          </p>
          <p>
            <code class="secret-value">{created.key}</code>
          </p>
          <div class="row">
            <button type="button" class="small" onClick={() => void copy()}>
              {copied ? 'Copied' : 'Copy'}
            </button>
            <button type="button" class="secondary small" onClick={() => setCreated(null)}>
              Done, hide it
            </button>
          </div>
        </div>
      ) : null}
      {keys && keys.length > 0 ? (
        <table class="responsive">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Id</th>
              <th scope="col">Role</th>
              <th scope="col">Status</th>
              <th scope="col">Created</th>
              <th scope="col">Last used</th>
              <th scope="col">Expires</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {keys.map((k) => (
              <tr key={k.id} data-key-id={k.id}>
                <td data-label="Name">{k.name}</td>
                <td data-label="Id">
                  <code>{k.id}</code>
                </td>
                <td data-label="Role">{k.role}</td>
                <td data-label="Status">
                  <span class={`badge badge-key-${k.status}`}>{k.status}</span>
                </td>
                <td data-label="Created">{formatDate(k.createdAt)}</td>
                <td data-label="Last used">{formatDate(k.lastUsedAt)}</td>
                <td data-label="Expires">{formatDate(k.expiresAt)}</td>
                <td class="actions">
                  {k.status !== 'active' ? null : confirm === k.id ? (
                    <>
                      <button type="button" class="danger small" onClick={() => void revoke(k.id)}>
                        Revoke {k.name}
                      </button>
                      <button type="button" class="secondary small" onClick={() => setConfirm(null)}>
                        Keep
                      </button>
                    </>
                  ) : (
                    <button
                      type="button"
                      class="secondary small"
                      aria-label={`Revoke ${k.name}`}
                      onClick={() => setConfirm(k.id)}
                    >
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
