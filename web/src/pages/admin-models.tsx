import { useEffect, useRef, useState } from 'preact/hooks';
import type { InstallOperation, Model, ModelList } from '../api/types';
import { ProblemView } from '../components/problem-view';
import { formatBytes, formatDate } from '../format';
import type { Session } from '../session';
import { AdminGate } from './admin-gate';

interface ValidationReport {
  valid: boolean;
  checks: Array<{ name: string; ok: boolean; detail: string }>;
}

export function AdminModelsPage({ s }: { s: Session }) {
  return (
    <AdminGate s={s} title="Models">
      <Models s={s} />
    </AdminGate>
  );
}

function Models({ s }: { s: Session }) {
  const [models, setModels] = useState<Model[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [installs, setInstalls] = useState<Record<string, InstallOperation>>({});
  const [reports, setReports] = useState<Record<string, ValidationReport | 'running'>>({});
  const aborts = useRef(new Map<string, AbortController>());

  const load = () =>
    s.api
      .get<ModelList>('/v1/models')
      // Installed first, then the catalog in its own order.
      .then((l) => setModels([...l.items.filter((m) => m.installed), ...l.items.filter((m) => !m.installed)]))
      .catch(setError);

  useEffect(() => {
    void load();
    const all = aborts.current;
    return () => all.forEach((a) => a.abort());
  }, [s]);

  const follow = async (op: InstallOperation) => {
    const abort = new AbortController();
    aborts.current.set(op.model, abort);
    setInstalls((m) => ({ ...m, [op.model]: op }));
    try {
      await s.api.events(
        `/v1/admin/models/installs/${encodeURIComponent(op.id)}/events`,
        (e) => {
          const next = JSON.parse(e.data) as InstallOperation;
          setInstalls((m) => ({ ...m, [op.model]: next }));
          return e.type !== 'progress';
        },
        abort.signal,
      );
      void load();
    } catch (err) {
      setError(err);
    }
  };

  const install = async (name: string) => {
    setError(null);
    try {
      await follow(
        await s.api.send<InstallOperation>(
          'POST',
          `/v1/admin/models/${encodeURIComponent(name)}/install`,
          {},
        ),
      );
    } catch (err) {
      setError(err);
    }
  };

  const cancelInstall = async (op: InstallOperation) => {
    try {
      await s.api.send('DELETE', `/v1/admin/models/installs/${encodeURIComponent(op.id)}`);
    } catch (err) {
      setError(err);
    }
  };

  const validate = async (name: string) => {
    setReports((r) => ({ ...r, [name]: 'running' }));
    try {
      const report = await s.api.send<ValidationReport>(
        'POST',
        `/v1/admin/models/${encodeURIComponent(name)}/validate`,
      );
      setReports((r) => ({ ...r, [name]: report }));
    } catch (err) {
      setReports((r) => {
        const { [name]: _, ...rest } = r;
        return rest;
      });
      setError(err);
    }
  };

  return (
    <section>
      <h1 tabIndex={-1}>Models</h1>
      <p class="muted small">
        Installed models can be chosen on the Separate page. Installing downloads, verifies, converts and
        validates a catalog model on the server.
      </p>
      <ProblemView error={error} onDismiss={() => setError(null)} />
      {models === null && !error ? <p class="loading">Loading…</p> : null}
      <ul class="models">
        {(models ?? []).map((m) => {
          const op = installs[m.name];
          const report = reports[m.name];
          const active = m.versions.find((v) => v.active);
          const running = op && (op.status === 'queued' || op.status === 'running');
          return (
            <li key={m.name} class="card model" data-model={m.name}>
              <div class="row spread">
                <h2>{m.name}</h2>
                <span class={`badge ${m.installed ? 'badge-succeeded' : 'badge-queued'}`}>
                  {m.installed ? 'Installed' : 'Not installed'}
                </span>
              </div>
              <p>{m.description}</p>
              <p class="small">
                Stems: <strong>{m.stems.join(', ')}</strong> · {m.kind} · {m.sampleRate} Hz · {m.license}
                {m.downloadSize ? ` · download ${formatBytes(m.downloadSize)}` : ''}
              </p>
              {active ? (
                <p class="small muted">
                  Active version {active.id} ({active.origin}, {formatBytes(active.size)}, installed{' '}
                  {formatDate(active.installedAt)}, {active.validation}
                  {active.inUse ? `, in use by ${active.inUse}` : ''})
                </p>
              ) : null}
              {op ? (
                <div class="install" aria-live="polite">
                  <p class="small">
                    Install: {op.status} {op.progress.stage} {Math.round(op.progress.fraction * 100)}%
                    {op.progress.totalBytes
                      ? ` (${formatBytes(op.progress.bytes ?? 0)} of ${formatBytes(op.progress.totalBytes)})`
                      : ''}
                  </p>
                  <progress
                    max={100}
                    value={Math.round(op.progress.fraction * 100)}
                    aria-label={`Install ${m.name}`}
                  />
                  {op.error ? (
                    <p class="warn small">
                      <strong>{op.error.code}</strong> {op.error.detail}
                    </p>
                  ) : null}
                </div>
              ) : null}
              {report && report !== 'running' ? (
                <div class="small">
                  <p>
                    Validation: <strong>{report.valid ? 'valid' : 'INVALID'}</strong>
                  </p>
                  <ul>
                    {report.checks.map((c) => (
                      <li key={c.name}>
                        {c.ok ? '✓' : '✗'} {c.name}: {c.detail}
                      </li>
                    ))}
                  </ul>
                </div>
              ) : null}
              <div class="row">
                {m.source !== 'builtin' && !m.installed && !running ? (
                  <button type="button" class="small" onClick={() => void install(m.name)}>
                    Install
                  </button>
                ) : null}
                {running ? (
                  <button type="button" class="secondary small" onClick={() => void cancelInstall(op)}>
                    Cancel install
                  </button>
                ) : null}
                {m.installed ? (
                  <button
                    type="button"
                    class="secondary small"
                    disabled={report === 'running'}
                    onClick={() => void validate(m.name)}
                  >
                    {report === 'running' ? 'Validating…' : 'Validate'}
                  </button>
                ) : null}
              </div>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
