import { useEffect, useState } from 'preact/hooks';
import type { Job, JobPage, JobStatus } from '../api/types';
import { ProblemView } from '../components/problem-view';
import { StatusBadge } from '../components/status-badge';
import { formatClock, formatDate, formatFactor, formatUntil, realtimeFactor } from '../format';
import { isTerminal, jobPath } from '../jobs';
import { href } from '../router';
import type { Session } from '../session';

const STATUSES: Array<JobStatus | ''> = ['', 'queued', 'running', 'succeeded', 'failed', 'canceled'];
const PAGE = 25;

export function HistoryPage({ s }: { s: Session }) {
  const [jobs, setJobs] = useState<Job[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [status, setStatus] = useState<JobStatus | ''>('');
  const [error, setError] = useState<unknown>(null);
  const [confirm, setConfirm] = useState<string | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);

  const query = (after: string | null) =>
    `/v1/separations?limit=${PAGE}${status ? `&status=${status}` : ''}${after ? `&cursor=${encodeURIComponent(after)}` : ''}`;

  useEffect(() => {
    setJobs(null);
    setError(null);
    s.api
      .get<JobPage>(query(null))
      .then((page) => {
        setJobs(page.data);
        setCursor(page.nextCursor);
      })
      .catch(setError);
  }, [s, status]);

  const more = async () => {
    if (!cursor) return;
    setLoadingMore(true);
    try {
      const page = await s.api.get<JobPage>(query(cursor));
      setJobs((j) => [...(j ?? []), ...page.data]);
      setCursor(page.nextCursor);
    } catch (err) {
      setError(err);
    } finally {
      setLoadingMore(false);
    }
  };

  const remove = async (id: string) => {
    setConfirm(null);
    try {
      const updated = await s.api.send<Job>('DELETE', jobPath(id));
      setJobs((all) => (all ?? []).map((j) => (j.id === id ? updated : j)));
    } catch (err) {
      setError(err);
    }
  };

  return (
    <section>
      <div class="row spread">
        <h1 tabIndex={-1}>History</h1>
        <label class="inline">
          Status{' '}
          <select
            value={status}
            onChange={(e) => setStatus((e.target as HTMLSelectElement).value as JobStatus)}
          >
            {STATUSES.map((st) => (
              <option key={st} value={st}>
                {st || 'all'}
              </option>
            ))}
          </select>
        </label>
      </div>
      {s.me.role === 'admin' ? <p class="muted small">As an admin you see every user’s jobs.</p> : null}
      <ProblemView error={error} onDismiss={() => setError(null)} />
      {jobs === null && !error ? <p class="loading">Loading…</p> : null}
      {jobs && jobs.length === 0 ? (
        <p>
          No jobs yet. <a href="#/">Separate a song</a>.
        </p>
      ) : null}
      {jobs && jobs.length > 0 ? (
        <table class="history responsive">
          <caption class="visually-hidden">Your separation jobs, newest first</caption>
          <thead>
            <tr>
              <th scope="col">File</th>
              <th scope="col">Status</th>
              <th scope="col">Model</th>
              <th scope="col">Duration</th>
              <th scope="col">Speed</th>
              <th scope="col">Provider</th>
              <th scope="col">Created</th>
              <th scope="col">Expires</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {jobs.map((j) => {
              const deleted = Boolean(j.filesDeletedAt);
              const name = j.input.filename ?? j.id.slice(0, 8);
              return (
                <tr key={j.id} data-job-id={j.id}>
                  <td data-label="File">
                    <a href={href({ name: 'job', id: j.id })}>{name}</a>
                  </td>
                  <td data-label="Status">
                    <StatusBadge status={j.status} deleted={deleted} />
                    {j.status === 'running' ? ` ${j.progress}%` : ''}
                  </td>
                  <td data-label="Model">{j.model.name}</td>
                  <td data-label="Duration">
                    {j.input.durationSec !== null ? formatClock(j.input.durationSec) : '–'}
                  </td>
                  <td data-label="Speed">
                    {formatFactor(realtimeFactor(j.input.durationSec, j.timings.totalMs))}
                  </td>
                  <td data-label="Provider">{j.executionProvider ?? '–'}</td>
                  <td data-label="Created">{formatDate(j.createdAt)}</td>
                  <td data-label="Expires">{deleted ? 'deleted' : formatUntil(j.expiresAt)}</td>
                  <td class="actions">
                    {confirm === j.id ? (
                      <>
                        <button type="button" class="danger small" onClick={() => void remove(j.id)}>
                          {isTerminal(j.status) ? `Delete ${name}` : `Cancel ${name}`}
                        </button>
                        <button type="button" class="secondary small" onClick={() => setConfirm(null)}>
                          Keep
                        </button>
                      </>
                    ) : deleted ? null : (
                      <button
                        type="button"
                        class="secondary small"
                        aria-label={`${isTerminal(j.status) ? 'Delete' : 'Cancel'} ${name}`}
                        onClick={() => setConfirm(j.id)}
                      >
                        {isTerminal(j.status) ? 'Delete' : 'Cancel'}
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
      {cursor ? (
        <button type="button" class="secondary" onClick={() => void more()} disabled={loadingMore}>
          {loadingMore ? 'Loading…' : 'Load more'}
        </button>
      ) : null}
    </section>
  );
}
