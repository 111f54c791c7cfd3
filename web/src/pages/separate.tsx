import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { Model, ModelList } from '../api/types';
import { ProblemView } from '../components/problem-view';
import { StatusBadge } from '../components/status-badge';
import { formatBytes, formatEta } from '../format';
import { findLoudnessOption, type LoudnessOption } from '../loudness';
import { href } from '../router';
import type { Session } from '../session';
import { useStore } from '../store';
import { cancel, clearFinished, enqueue, tasks, type SeparationFields, type Task } from '../uploads';

const CODECS = [
  { value: 'wav', label: 'WAV (lossless)' },
  { value: 'flac', label: 'FLAC (lossless, smaller)' },
  { value: 'mp3', label: 'MP3' },
  { value: 'ogg', label: 'Ogg Vorbis' },
];
const BITRATES = [128, 192, 256, 320];
const ACCEPT = 'audio/*,.wav,.flac,.mp3,.ogg,.oga,.m4a,.aac,.wma,.aif,.aiff,.caf';

/** Matches the server's default (which may be an alias or pinned `name@version`) to a listed model. */
function defaultModelName(list: ModelList): string | null {
  const wanted = list.defaultModel?.split('@')[0];
  const hit = wanted ? list.items.find((m) => m.name === wanted || m.aliases.includes(wanted)) : undefined;
  return (hit ?? list.items[0])?.name ?? null;
}

const LOUDNESS_KEY = 'spleeter.loudness-option';
let loudnessProbe: Promise<LoudnessOption | null> | null = null;
/** Reads the API description once per tab (about 80 KB, not part of the first load). */
function probeLoudness(): Promise<LoudnessOption | null> {
  const cached = sessionStorage.getItem(LOUDNESS_KEY);
  if (cached !== null) return Promise.resolve(JSON.parse(cached) as LoudnessOption | null);
  loudnessProbe ??= fetch('/docs/openapi.json', { credentials: 'omit' })
    .then((r) => (r.ok ? r.json() : null))
    .then((doc) => {
      const option = findLoudnessOption(doc);
      sessionStorage.setItem(LOUDNESS_KEY, JSON.stringify(option));
      return option;
    })
    .catch(() => null);
  return loudnessProbe;
}

export function SeparatePage({ s }: { s: Session }) {
  const [models, setModels] = useState<Model[] | null>(null);
  const [modelName, setModelName] = useState<string>('');
  const [stems, setStems] = useState<Set<string>>(new Set());
  const [codec, setCodec] = useState('wav');
  const [bitrate, setBitrate] = useState(192);
  const [bitDepth, setBitDepth] = useState('16');
  const [mwf, setMwf] = useState(false);
  const [fullBand, setFullBand] = useState(false);
  const [loudness, setLoudness] = useState<LoudnessOption | null>(null);
  const [loudnessValue, setLoudnessValue] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [dragging, setDragging] = useState(false);
  const list = useStore(tasks);

  useEffect(() => {
    s.api
      .get<ModelList>('/v1/models?installed=true')
      .then((l) => {
        setModels(l.items);
        const name = defaultModelName(l);
        if (name) pickModel(l.items, name);
      })
      .catch(setError);
    void probeLoudness().then((o) => {
      setLoudness(o);
      if (o) setLoudnessValue(o.defaultValue ?? (o.kind === 'enum' ? '' : 'false'));
    });
  }, [s]);

  const model = useMemo(() => models?.find((m) => m.name === modelName) ?? null, [models, modelName]);

  function pickModel(all: Model[], name: string) {
    setModelName(name);
    const m = all.find((x) => x.name === name);
    setStems(new Set(m?.stems ?? []));
  }

  const toggleStem = (stem: string) => {
    const next = new Set(stems);
    if (next.has(stem)) next.delete(stem);
    else next.add(stem);
    setStems(next);
  };

  const fields = (): SeparationFields | null => {
    if (!model) return null;
    const f: SeparationFields = { model: model.name, codec };
    if (stems.size === 0) return null;
    if (stems.size < model.stems.length) f.stems = model.stems.filter((x) => stems.has(x)).join(',');
    if (codec === 'mp3' || codec === 'ogg') f.bitrate = String(bitrate);
    if (codec === 'wav' || codec === 'flac')
      f.bitDepth = codec === 'flac' && bitDepth === '32' ? '24' : bitDepth;
    if (model.kind === 'spleeter') {
      if (mwf) f.mwf = 'true';
      if (fullBand) f.bandwidth = 'full';
    }
    if (loudness && loudnessValue !== '') f[loudness.field] = loudnessValue;
    return f;
  };

  const start = (files: FileList | File[] | null) => {
    const chosen = files ? Array.from(files) : [];
    if (chosen.length === 0) return;
    const f = fields();
    if (!f) {
      setError(new Error('Choose a model and at least one stem first.'));
      return;
    }
    setError(null);
    enqueue(s.api, chosen, f);
  };

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    start(e.dataTransfer?.files ?? null);
  };

  const spleeterOnly = model?.kind !== 'spleeter';
  const ready = model !== null && stems.size > 0;
  return (
    <section>
      <h1 tabIndex={-1}>Separate</h1>
      <form class="options card" onSubmit={(e) => e.preventDefault()} aria-describedby="options-help">
        <p id="options-help" class="muted small">
          Choose the options, then drop songs below: each file starts as soon as it is dropped.
        </p>
        <div class="grid">
          <div class="field">
            <label for="model">Model</label>
            <select
              id="model"
              value={modelName}
              disabled={!models}
              onChange={(e) => pickModel(models ?? [], (e.target as HTMLSelectElement).value)}
            >
              {(models ?? []).map((m) => (
                <option key={m.name} value={m.name}>
                  {m.name} — {m.stems.length} stems
                </option>
              ))}
            </select>
          </div>
          <fieldset class="field">
            <legend>Stems</legend>
            <div class="chips">
              {(model?.stems ?? []).map((stem) => (
                <label key={stem} class="chip">
                  <input
                    type="checkbox"
                    name="stem"
                    value={stem}
                    checked={stems.has(stem)}
                    onChange={() => toggleStem(stem)}
                  />
                  {stem}
                </label>
              ))}
            </div>
            {model && stems.size === 0 ? <p class="warn small">Pick at least one stem.</p> : null}
          </fieldset>
          <div class="field">
            <label for="codec">Output format</label>
            <select
              id="codec"
              value={codec}
              onChange={(e) => setCodec((e.target as HTMLSelectElement).value)}
            >
              {CODECS.map((c) => (
                <option key={c.value} value={c.value}>
                  {c.label}
                </option>
              ))}
            </select>
          </div>
          {codec === 'mp3' || codec === 'ogg' ? (
            <div class="field">
              <label for="bitrate">Bitrate</label>
              <select
                id="bitrate"
                value={String(bitrate)}
                onChange={(e) => setBitrate(Number((e.target as HTMLSelectElement).value))}
              >
                {BITRATES.map((b) => (
                  <option key={b} value={String(b)}>
                    {b} kbit/s
                  </option>
                ))}
              </select>
            </div>
          ) : (
            <div class="field">
              <label for="bit-depth">Bit depth</label>
              <select
                id="bit-depth"
                value={bitDepth}
                onChange={(e) => setBitDepth((e.target as HTMLSelectElement).value)}
              >
                <option value="16">16-bit</option>
                <option value="24">24-bit</option>
                {codec === 'wav' ? <option value="32">32-bit float</option> : null}
              </select>
            </div>
          )}
          <fieldset class="field">
            <legend>Quality</legend>
            <label class="check">
              <input
                type="checkbox"
                checked={mwf && !spleeterOnly}
                disabled={spleeterOnly}
                onChange={(e) => setMwf((e.target as HTMLInputElement).checked)}
              />
              Wiener filtering (MWF)
            </label>
            <label class="check">
              <input
                type="checkbox"
                checked={fullBand && !spleeterOnly}
                disabled={spleeterOnly}
                onChange={(e) => setFullBand((e.target as HTMLInputElement).checked)}
              />
              Full bandwidth
            </label>
            {spleeterOnly ? <p class="muted small">These apply to Spleeter models.</p> : null}
            {loudness ? (
              loudness.kind === 'boolean' ? (
                <label class="check">
                  <input
                    type="checkbox"
                    checked={loudnessValue === 'true'}
                    onChange={(e) =>
                      setLoudnessValue((e.target as HTMLInputElement).checked ? 'true' : 'false')
                    }
                  />
                  Normalise loudness
                </label>
              ) : (
                <label class="check">
                  Normalise loudness{' '}
                  <select
                    value={loudnessValue}
                    title={loudness.description}
                    onChange={(e) => setLoudnessValue((e.target as HTMLSelectElement).value)}
                  >
                    <option value="">off</option>
                    {loudness.values.map((v) => (
                      <option key={v} value={v}>
                        {v}
                      </option>
                    ))}
                  </select>
                </label>
              )
            ) : null}
          </fieldset>
        </div>
        {model ? <p class="muted small model-description">{model.description}</p> : null}
      </form>

      <div
        class={`dropzone${dragging ? ' dragging' : ''}`}
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
      >
        <p>
          <strong>Drop songs here</strong> (one or many) or
        </p>
        <label class={`button${ready ? '' : ' disabled'}`}>
          {models === null && !error ? 'Loading models…' : 'Choose files…'}
          <input
            class="visually-hidden"
            type="file"
            disabled={!ready}
            multiple
            accept={ACCEPT}
            aria-label="Choose audio files to separate"
            onChange={(e) => {
              const input = e.target as HTMLInputElement;
              start(input.files);
              input.value = '';
            }}
          />
        </label>
        <p class="muted small">WAV, FLAC, MP3, OGG, M4A… The format is read from the file’s content.</p>
      </div>
      <ProblemView error={error} onDismiss={() => setError(null)} />

      {list.length > 0 ? (
        <section aria-labelledby="tasks-title">
          <div class="row spread">
            <h2 id="tasks-title">This session</h2>
            <button type="button" class="secondary small" onClick={clearFinished}>
              Clear finished
            </button>
          </div>
          <ul class="tasks">
            {list.map((t) => (
              <TaskCard key={t.key} t={t} />
            ))}
          </ul>
        </section>
      ) : null}
    </section>
  );
}

/** Seconds since `active` became true, ticking once a second while it stays true. */
function useElapsed(active: boolean): number {
  const since = useRef<number | null>(null);
  const [, tick] = useState(0);
  if (active && since.current === null) since.current = Date.now();
  if (!active) since.current = null;
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => tick((n) => n + 1), 1000);
    return () => clearInterval(timer);
  }, [active]);
  return since.current === null ? 0 : Math.floor((Date.now() - since.current) / 1000);
}

function TaskCard({ t }: { t: Task }) {
  const job = t.job;
  // Some inputs (decoded by ffmpeg) report no progress until the end: show that time passes.
  const elapsed = useElapsed(job?.status === 'running');
  const uploadPct = t.fileSize > 0 ? Math.min(100, Math.round((t.uploaded / t.fileSize) * 100)) : 0;
  const active =
    t.phase === 'waiting' || t.phase === 'uploading' || t.phase === 'queued' || t.phase === 'running';
  let line = '';
  if (t.phase === 'waiting') line = t.note ?? 'Waiting to upload';
  else if (t.phase === 'uploading') line = `Uploading… ${uploadPct}%`;
  else if (job?.status === 'queued')
    line = job.queuePosition ? `Queued — position ${job.queuePosition} in line` : 'Queued';
  else if (job?.status === 'running')
    line = `Separating${job.stage ? ` (${job.stage})` : ''}… ${job.progress}% · ${elapsed} s ${formatEta(t.etaSec)}`;
  else if (job?.status === 'succeeded') line = job.cached ? 'Done (from the cache)' : 'Done';
  else if (job?.status === 'failed') line = `Failed: ${job.error?.code ?? ''} ${job.error?.message ?? ''}`;
  else if (t.phase === 'canceled' || job?.status === 'canceled') line = t.note ?? 'Canceled';

  return (
    <li class="task card" data-job-id={job?.id ?? ''} data-phase={t.phase}>
      <div class="row spread">
        <strong class="task-name">{t.fileName}</strong>
        <span class="muted small">{formatBytes(t.fileSize)}</span>
        {job ? <StatusBadge status={job.status} /> : null}
      </div>
      <div class="bars">
        <label>
          <span class="small">Upload</span>
          <progress class="upload-progress" max={100} value={job ? 100 : uploadPct} />
        </label>
        <label>
          <span class="small">Separation</span>
          <progress
            class="job-progress"
            max={100}
            value={job?.progress ?? 0}
            data-progress={job?.progress ?? 0}
          />
        </label>
      </div>
      <p class="task-line small" aria-live="polite">
        {line}
      </p>
      <ProblemView error={t.error} />
      <div class="row">
        {active ? (
          <button type="button" class="secondary small" onClick={() => void cancel(t.key)}>
            Cancel
          </button>
        ) : null}
        {job?.status === 'succeeded' ? (
          <a class="button small" href={href({ name: 'job', id: job.id })}>
            Listen &amp; mix
          </a>
        ) : null}
      </div>
    </li>
  );
}
