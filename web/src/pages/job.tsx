import { useEffect, useState } from 'preact/hooks';
import type { Job } from '../api/types';
import { ProblemView } from '../components/problem-view';
import { StatusBadge } from '../components/status-badge';
import { Mixer } from '../components/mixer';
import {
  formatBytes,
  formatClock,
  formatDate,
  formatEta,
  formatFactor,
  formatUntil,
  realtimeFactor,
} from '../format';
import { followJob, isTerminal, jobPath } from '../jobs';
import { href, navigate } from '../router';
import type { Session } from '../session';

export function JobPage({ s, id }: { s: Session; id: string }) {
  const [job, setJob] = useState<Job | null>(null);
  const [eta, setEta] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [confirming, setConfirming] = useState(false);

  useEffect(() => {
    const abort = new AbortController();
    s.api
      .get<Job>(jobPath(id), abort.signal)
      .then((j) =>
        followJob(
          s.api,
          j,
          (next, e) => {
            setJob(next);
            setEta(e);
          },
          abort.signal,
        ),
      )
      .then(setJob)
      .catch((err) => {
        if ((err as Error)?.name !== 'AbortError') setError(err);
      });
    return () => abort.abort();
  }, [s, id]);

  const remove = async () => {
    setConfirming(false);
    try {
      const j = await s.api.send<Job>('DELETE', jobPath(id));
      setJob(j);
    } catch (err) {
      setError(err);
    }
  };

  if (!job) {
    return (
      <section>
        <h1 tabIndex={-1}>Job</h1>
        {error ? (
          <>
            <ProblemView error={error} />
            <p>
              <a href={href({ name: 'history' })}>Back to your history</a>
            </p>
          </>
        ) : (
          <p class="loading">Loading…</p>
        )}
      </section>
    );
  }

  const title = job.input.filename ?? job.id;
  const deleted = Boolean(job.filesDeletedAt);
  return (
    <section>
      <p class="small">
        <a href={href({ name: 'history' })}>← History</a>
      </p>
      <div class="row spread">
        <h1 tabIndex={-1} class="job-title">
          {title}
        </h1>
        <StatusBadge status={job.status} deleted={deleted} />
      </div>
      <dl class="facts">
        <dt>Model</dt>
        <dd>
          {job.model.name}
          {job.model.version ? ` (${job.model.version})` : ''}
        </dd>
        <dt>Duration</dt>
        <dd>{job.input.durationSec !== null ? formatClock(job.input.durationSec) : '–'}</dd>
        <dt>Speed</dt>
        <dd>{formatFactor(realtimeFactor(job.input.durationSec, job.timings.totalMs))}</dd>
        <dt>Provider</dt>
        <dd>{job.executionProvider ?? '–'}</dd>
        <dt>Input</dt>
        <dd>
          {job.input.format.toUpperCase()}, {formatBytes(job.input.sizeBytes)}
        </dd>
        <dt>Created</dt>
        <dd>{formatDate(job.createdAt)}</dd>
        <dt>Files expire</dt>
        <dd>{deleted ? 'deleted' : formatUntil(job.expiresAt)}</dd>
      </dl>
      <ProblemView error={error} onDismiss={() => setError(null)} />

      {!isTerminal(job.status) ? (
        <div class="card" aria-live="polite">
          <p>
            {job.status === 'queued'
              ? `Queued${job.queuePosition ? ` — position ${job.queuePosition}` : ''}`
              : `Separating${job.stage ? ` (${job.stage})` : ''}… ${job.progress}% ${formatEta(eta)}`}
          </p>
          <progress class="job-progress" max={100} value={job.progress} aria-label="Separation progress" />
        </div>
      ) : null}
      {job.status === 'failed' && job.error ? (
        <div class="problem" role="status" data-code={job.error.code}>
          <p>
            <strong class="problem-code">{job.error.code}</strong> {job.error.message}
          </p>
        </div>
      ) : null}
      {job.status === 'canceled' ? <p>This job was canceled.</p> : null}
      {job.status === 'succeeded' && deleted ? (
        <p>The files of this job were deleted. Its record stays in your history until it is cleaned up.</p>
      ) : null}
      {job.status === 'succeeded' && !deleted && job.stems.length > 0 ? <Mixer s={s} job={job} /> : null}

      <div class="row danger-zone">
        {confirming ? (
          <>
            <span>{isTerminal(job.status) ? 'Delete the files of this job?' : 'Cancel this job?'}</span>
            <button type="button" class="danger" onClick={() => void remove()}>
              {isTerminal(job.status) ? 'Yes, delete' : 'Yes, cancel'}
            </button>
            <button type="button" class="secondary" onClick={() => setConfirming(false)}>
              No
            </button>
          </>
        ) : !deleted ? (
          <button type="button" class="secondary" onClick={() => setConfirming(true)}>
            {isTerminal(job.status) ? 'Delete files…' : 'Cancel job…'}
          </button>
        ) : (
          <button type="button" class="secondary" onClick={() => navigate({ name: 'separate' })}>
            Separate another song
          </button>
        )}
      </div>
    </section>
  );
}
