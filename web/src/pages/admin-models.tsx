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

/** What the last version change did (announced in the card's live region). */
interface ChangeResult {
  text: string;
}

/** A catalog or custom model with versions on disk: versions can be activated and rolled back. */
const versioned = (m: Model) => m.source !== 'builtin' && m.versions.length > 0;

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
  const [changes, setChanges] = useState<Record<string, ChangeResult>>({});
  const [problems, setProblems] = useState<Record<string, unknown>>({});
  const [busy, setBusy] = useState<string | null>(null);
  const [confirmRollback, setConfirmRollback] = useState<string | null>(null);
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

  const without = <T,>(r: Record<string, T>, name: string): Record<string, T> => {
    const { [name]: _, ...rest } = r;
    return rest;
  };

  /** Activate (a version) or roll back; the card shows the new active version or the API's problem. */
  const change = async (m: Model, action: { activate: string } | 'rollback') => {
    const before = m.activeVersion;
    setBusy(m.name);
    setConfirmRollback(null);
    setProblems((p) => without(p, m.name));
    setChanges((c) => without(c, m.name));
    try {
      const path =
        action === 'rollback'
          ? `/v1/admin/models/${encodeURIComponent(m.name)}/rollback`
          : `/v1/admin/models/${encodeURIComponent(m.name)}/versions/${encodeURIComponent(action.activate)}/activate`;
      const updated = await s.api.send<Model>('POST', path);
      setModels((all) => (all ?? []).map((x) => (x.name === m.name ? updated : x)));
      // The last report was about the version that is no longer active.
      setReports((r) => without(r, m.name));
      setChanges((c) => ({
        ...c,
        [m.name]: {
          text: `${action === 'rollback' ? 'Rolled back' : 'Activated'}: ${updated.activeVersion ?? 'none'} is now active${before && before !== updated.activeVersion ? ` (was ${before})` : ''}.`,
        },
      }));
    } catch (err) {
      setProblems((p) => ({ ...p, [m.name]: err }));
    } finally {
      setBusy(null);
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
              {versioned(m) ? (
                <ul class="versions small" aria-label={`Versions of ${m.name}`}>
                  {m.versions.map((v) => (
                    <li key={v.id} class="row spread" data-version={v.id} data-active={String(v.active)}>
                      <span>
                        <strong>{v.id}</strong>{' '}
                        {v.active ? <span class="badge badge-succeeded">active</span> : null}{' '}
                        <span class="muted">
                          {v.origin}, {formatBytes(v.size)}, {formatDate(v.installedAt)}, {v.validation}
                        </span>
                      </span>
                      {v.active ? null : (
                        <button
                          type="button"
                          class="secondary small"
                          aria-label={`Activate ${m.name} ${v.id}`}
                          disabled={busy === m.name}
                          onClick={() => void change(m, { activate: v.id })}
                        >
                          Activate
                        </button>
                      )}
                    </li>
                  ))}
                </ul>
              ) : null}
              <div aria-live="polite" class="change-result">
                {changes[m.name] ? <p class="small">{changes[m.name].text}</p> : null}
              </div>
              {problems[m.name] ? (
                <ProblemView
                  error={problems[m.name]}
                  onDismiss={() => setProblems((p) => without(p, m.name))}
                />
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
                  <p class="validation-result" data-valid={String(report.valid)}>
                    Validation{m.activeVersion ? ` of ${m.activeVersion}` : ''}:{' '}
                    <strong>{report.valid ? 'valid' : 'INVALID'}</strong>
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
                {versioned(m) && m.versions.length > 1 && confirmRollback !== m.name ? (
                  <button
                    type="button"
                    class="secondary small"
                    aria-label={`Roll back ${m.name}`}
                    disabled={busy === m.name}
                    onClick={() => setConfirmRollback(m.name)}
                  >
                    Roll back
                  </button>
                ) : null}
                {confirmRollback === m.name ? (
                  <span role="group" aria-label={`Confirm rollback of ${m.name}`} class="row">
                    <span class="small">Re-activate the previously active version?</span>
                    <button
                      type="button"
                      class="danger small"
                      disabled={busy === m.name}
                      onClick={() => void change(m, 'rollback')}
                    >
                      Roll back {m.name}
                    </button>
                    <button type="button" class="secondary small" onClick={() => setConfirmRollback(null)}>
                      Keep {m.activeVersion}
                    </button>
                  </span>
                ) : null}
              </div>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
