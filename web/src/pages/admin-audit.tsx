import { useEffect, useState } from 'preact/hooks';
import type { AuditEvent, AuditVerify } from '../api/types';
import { ProblemView } from '../components/problem-view';
import { formatDate } from '../format';
import type { Session } from '../session';

interface Filters {
  principal: string;
  action: string;
  outcome: string;
}

/** The audit log, newest first, with filters, and the hash-chain verification. */
export function AdminAuditPage({ s }: { s: Session }) {
  const [events, setEvents] = useState<AuditEvent[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [filters, setFilters] = useState<Filters>({ principal: '', action: '', outcome: '' });
  const [applied, setApplied] = useState<Filters>(filters);
  const [verify, setVerify] = useState<AuditVerify | 'running' | null>(null);
  const [error, setError] = useState<unknown>(null);

  const query = (after: string | null) => {
    const q = new URLSearchParams({ limit: '50' });
    if (applied.principal) q.set('principal', applied.principal);
    if (applied.action) q.set('action', applied.action);
    if (applied.outcome) q.set('outcome', applied.outcome);
    if (after) q.set('cursor', after);
    return `/v1/admin/audit?${q}`;
  };

  useEffect(() => {
    setError(null);
    s.api
      .get<{ items: AuditEvent[]; nextCursor: string | null }>(query(null))
      .then((p) => {
        setEvents(p.items);
        setCursor(p.nextCursor);
      })
      .catch(setError);
  }, [s, applied]);

  const more = async () => {
    if (!cursor) return;
    try {
      const p = await s.api.get<{ items: AuditEvent[]; nextCursor: string | null }>(query(cursor));
      setEvents((e) => [...(e ?? []), ...p.items]);
      setCursor(p.nextCursor);
    } catch (err) {
      setError(err);
    }
  };

  const runVerify = async () => {
    setVerify('running');
    try {
      setVerify(await s.api.get<AuditVerify>('/v1/admin/audit/verify'));
    } catch (err) {
      setVerify(null);
      setError(err);
    }
  };

  const set = (k: keyof Filters) => (e: Event) =>
    setFilters((f) => ({ ...f, [k]: (e.target as HTMLInputElement).value }));

  return (
    <section>
      <h1 tabIndex={-1}>Audit log</h1>
      <ProblemView error={error} onDismiss={() => setError(null)} />
      {events !== null ? (
        <>
          <div class="card verify" aria-live="polite">
            <button
              type="button"
              class="secondary"
              onClick={() => void runVerify()}
              disabled={verify === 'running'}
            >
              {verify === 'running' ? 'Verifying…' : 'Verify the hash chain'}
            </button>
            {verify && verify !== 'running' ? (
              verify.valid ? (
                <p class="ok verify-result" data-valid="true">
                  ✓ Chain intact: {verify.checkedEvents} events checked in {verify.durationMs} ms. Head hash{' '}
                  <code class="hash">{verify.headHash}</code> (record it elsewhere to detect truncation).
                </p>
              ) : (
                <p class="warn verify-result" data-valid="false">
                  ✗ Chain broken at event {verify.brokenAt?.id} ({verify.brokenAt?.reason}):{' '}
                  {verify.brokenAt?.detail}
                </p>
              )
            ) : null}
          </div>
          <form
            class="row wrap filters"
            onSubmit={(e) => {
              e.preventDefault();
              setApplied(filters);
            }}
          >
            <div class="field">
              <label for="f-principal">Principal</label>
              <input
                id="f-principal"
                placeholder="apikey:…"
                value={filters.principal}
                onInput={set('principal')}
              />
            </div>
            <div class="field">
              <label for="f-action">Action</label>
              <input
                id="f-action"
                placeholder="separation.*"
                value={filters.action}
                onInput={set('action')}
              />
            </div>
            <div class="field">
              <label for="f-outcome">Outcome</label>
              <select id="f-outcome" value={filters.outcome} onChange={set('outcome')}>
                <option value="">any</option>
                <option value="success">success</option>
                <option value="failure">failure</option>
                <option value="denied">denied</option>
              </select>
            </div>
            <button type="submit" class="secondary">
              Filter
            </button>
          </form>
          <table class="responsive audit">
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">Time</th>
                <th scope="col">Principal</th>
                <th scope="col">Action</th>
                <th scope="col">Resource</th>
                <th scope="col">Outcome</th>
                <th scope="col">HTTP</th>
              </tr>
            </thead>
            <tbody>
              {events.map((e) => (
                <tr key={e.id}>
                  <td data-label="#">{e.id}</td>
                  <td data-label="Time">{formatDate(e.occurredAt)}</td>
                  <td data-label="Principal">{e.principalId ?? '–'}</td>
                  <td data-label="Action">
                    <code>{e.action}</code>
                  </td>
                  <td data-label="Resource">
                    {e.resourceType ? `${e.resourceType}${e.resourceId ? `:${e.resourceId}` : ''}` : '–'}
                  </td>
                  <td data-label="Outcome">
                    <span class={`badge badge-outcome-${e.outcome}`}>{e.outcome}</span>
                  </td>
                  <td data-label="HTTP">{e.httpStatus ?? '–'}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {cursor ? (
            <button type="button" class="secondary" onClick={() => void more()}>
              Load more
            </button>
          ) : null}
        </>
      ) : null}
    </section>
  );
}
