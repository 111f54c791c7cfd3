import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { Job } from '../api/types';
import { effectiveGains, mixLabel, mixStems, type StemControl } from '../audio/mix';
import { channelsOf, decodeStem, StemPlayer, type LoopRegion } from '../audio/player';
import { encodeWav16 } from '../audio/wav';
import { saveBlob } from '../download';
import { baseName, formatBytes, formatClock } from '../format';
import { jobPath } from '../jobs';
import type { Session } from '../session';
import { ProblemView } from './problem-view';
import { Waveform } from './waveform';

const COLORS = ['#38bdf8', '#a78bfa', '#34d399', '#fbbf24', '#f472b6', '#fb923c', '#60a5fa', '#4ade80'];
const VOCAL = /^(vocals|voice|center)$/i;
const SEEK_STEP = 5;

interface Loaded {
  sampleRate: number;
  blobs: Blob[];
  buffers: AudioBuffer[];
  channels: Float32Array[][];
}

/** The stems of a finished job: synced playback, volume/mute/solo, waveforms, loop, downloads. */
export function Mixer({ s, job }: { s: Session; job: Job }) {
  const stems = job.stems;
  const sampleRate = job.options.sampleRate ?? job.input.sampleRate ?? 44100;
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [fetched, setFetched] = useState<number[]>(() => stems.map(() => 0));
  const [error, setError] = useState<unknown>(null);
  const [controls, setControls] = useState<StemControl[]>(() =>
    stems.map(() => ({ volume: 1, muted: false, solo: false })),
  );
  const [, setTick] = useState(0);
  const [busy, setBusy] = useState<string | null>(null);
  const player = useRef<StemPlayer | null>(null);

  useEffect(() => {
    const abort = new AbortController();
    (async () => {
      const blobs = await Promise.all(
        stems.map((st, i) =>
          s.api.bytes(
            st.url.startsWith('/') ? st.url : new URL(st.url).pathname,
            (n) => setFetched((f) => f.map((v, j) => (j === i ? n : v))),
            abort.signal,
          ),
        ),
      );
      const buffers = await Promise.all(
        blobs.map(async (b) => decodeStem(await b.arrayBuffer(), sampleRate)),
      );
      if (abort.signal.aborted) return;
      const rate = buffers[0]?.sampleRate ?? sampleRate;
      player.current = new StemPlayer(buffers, rate, controls);
      player.current.onChange(() => setTick((t) => t + 1));
      setLoaded({ sampleRate: rate, blobs, buffers, channels: buffers.map(channelsOf) });
    })().catch((err) => {
      if ((err as Error)?.name !== 'AbortError') setError(err);
    });
    return () => {
      abort.abort();
      void player.current?.close();
      player.current = null;
    };
  }, [s, job.id]);

  useEffect(() => player.current?.setControls(controls), [controls]);

  // Redraw the playhead while playing.
  const p = player.current;
  const playing = p?.isPlaying ?? false;
  useEffect(() => {
    if (!playing) return;
    let raf = 0;
    const frame = () => {
      setTick((t) => t + 1);
      raf = requestAnimationFrame(frame);
    };
    raf = requestAnimationFrame(frame);
    return () => cancelAnimationFrame(raf);
  }, [playing]);

  const setControl = (i: number, patch: Partial<StemControl>) =>
    setControls((cs) => cs.map((c, j) => (j === i ? { ...c, ...patch } : c)));

  const gains = useMemo(() => effectiveGains(controls), [controls]);
  const names = stems.map((st) => st.name);
  const vocalIndex = names.findIndex((n) => VOCAL.test(n));
  const label = mixLabel(names, gains);
  const base = baseName(job.input.filename, job.id.slice(0, 8));

  const downloadMix = () => {
    if (!loaded) return;
    setBusy('mix');
    // Let the "Rendering…" state paint before the (synchronous) sum runs.
    setTimeout(() => {
      try {
        const mixed = mixStems(loaded.channels, gains);
        const wav = encodeWav16(mixed, loaded.sampleRate);
        saveBlob(new Blob([wav], { type: 'audio/wav' }), `${base} - ${label}.wav`);
      } catch (err) {
        setError(err);
      } finally {
        setBusy(null);
      }
    }, 0);
  };

  const downloadZip = async () => {
    setBusy('zip');
    try {
      saveBlob(await s.api.bytes(`${jobPath(job.id)}/archive`), `${base}-stems.zip`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  };

  // Keyboard shortcuts (ignored while typing in a field).
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const pl = player.current;
      if (!pl || e.ctrlKey || e.metaKey || e.altKey) return;
      const t = e.target as HTMLElement;
      const tag = t?.tagName;
      const typing =
        tag === 'TEXTAREA' ||
        tag === 'SELECT' ||
        (tag === 'INPUT' && (t as HTMLInputElement).type !== 'range') ||
        t?.isContentEditable;
      if (typing) return;
      const onRange = tag === 'INPUT';
      const digit = /^Digit([1-9])$/.exec(e.code);
      if (e.key === ' ' && !(tag === 'BUTTON' || tag === 'A')) {
        e.preventDefault();
        void pl.toggle();
      } else if ((e.key === 'ArrowLeft' || e.key === 'ArrowRight') && !onRange) {
        e.preventDefault();
        pl.seek(pl.position() + (e.key === 'ArrowLeft' ? -SEEK_STEP : SEEK_STEP));
      } else if (e.key === 'Home' && !onRange) {
        e.preventDefault();
        pl.seek(0);
      } else if (e.key === 'l' || e.key === 'L') {
        if (pl.loop) pl.setLoop(pl.loop, !pl.loopEnabled);
      } else if (e.key === '[') {
        const end = pl.loop?.end ?? pl.duration;
        pl.setLoop({ start: pl.position(), end: Math.max(end, pl.position() + 1) });
      } else if (e.key === ']') {
        pl.setLoop({ start: Math.min(pl.loop?.start ?? 0, pl.position() - 0.05), end: pl.position() });
      } else if (e.key === '?') {
        const d = document.querySelector<HTMLDetailsElement>('details.shortcuts');
        if (d) d.open = !d.open;
      } else if (e.key === 'Escape') {
        pl.setLoop(null);
      } else if (digit) {
        const i = Number(digit[1]) - 1;
        if (i >= stems.length) return;
        e.preventDefault();
        setControls((cs) =>
          cs.map((c, j) =>
            j === i ? (e.shiftKey ? { ...c, solo: !c.solo } : { ...c, muted: !c.muted }) : c,
          ),
        );
      }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [stems.length]);

  if (error) return <ProblemView error={error} />;
  if (!loaded || !p) {
    const total = stems.reduce((a, st) => a + st.sizeBytes, 0);
    const got = fetched.reduce((a, b) => a + b, 0);
    return (
      <div class="card" aria-live="polite">
        <p>
          Loading stems… {formatBytes(got)} of {formatBytes(total)}
        </p>
        <progress max={100} value={total ? Math.round((got / total) * 100) : 0} aria-label="Loading stems" />
      </div>
    );
  }

  const pos = p.position();
  const loop: LoopRegion | null = p.loop;
  return (
    <section class="mixer card" aria-labelledby="mixer-title">
      <h2 id="mixer-title">Listen &amp; mix</h2>
      <div class="transport row">
        <button
          type="button"
          class="play"
          onClick={() => void p.toggle()}
          aria-label={playing ? 'Pause' : 'Play'}
          data-playing={playing ? 'true' : 'false'}
        >
          {playing ? '❚❚ Pause' : '▶ Play'}
        </button>
        <span class="clock" aria-live="off" data-position={pos.toFixed(2)}>
          {formatClock(pos)} / {formatClock(p.duration)}
        </span>
        <input
          class="seek"
          type="range"
          min={0}
          max={p.duration}
          step={0.01}
          value={pos}
          aria-label="Position"
          aria-valuetext={`${formatClock(pos)} of ${formatClock(p.duration)}`}
          onInput={(e) => p.seek(Number((e.target as HTMLInputElement).value))}
        />
      </div>
      <div class="row loop-controls">
        <button
          type="button"
          class="secondary small"
          aria-pressed={p.loopEnabled}
          disabled={!loop}
          onClick={() => loop && p.setLoop(loop, !p.loopEnabled)}
        >
          Loop {loop ? `${formatClock(loop.start)}–${formatClock(loop.end)}` : '(drag on a waveform)'}
        </button>
        <button
          type="button"
          class="secondary small"
          onClick={() => p.setLoop({ start: pos, end: Math.max(loop?.end ?? p.duration, pos + 1) })}
        >
          Loop from here
        </button>
        <button
          type="button"
          class="secondary small"
          onClick={() => p.setLoop({ start: Math.min(loop?.start ?? 0, pos - 0.05), end: pos })}
        >
          Loop to here
        </button>
        {loop ? (
          <button type="button" class="link small" onClick={() => p.setLoop(null)}>
            Clear loop
          </button>
        ) : null}
      </div>

      <ul class="stems">
        {stems.map((st, i) => (
          <li key={st.name} class="stem" data-stem={st.name}>
            <div class="stem-head">
              <span class="stem-name">
                <kbd>{i + 1}</kbd> {st.name}
              </span>
              <button
                type="button"
                class="toggle small"
                aria-pressed={controls[i].muted}
                aria-label={`Mute ${st.name}`}
                onClick={() => setControl(i, { muted: !controls[i].muted })}
              >
                M
              </button>
              <button
                type="button"
                class="toggle small solo"
                aria-pressed={controls[i].solo}
                aria-label={`Solo ${st.name}`}
                onClick={() => setControl(i, { solo: !controls[i].solo })}
              >
                S
              </button>
              <input
                type="range"
                class="volume"
                min={0}
                max={1}
                step={0.01}
                value={controls[i].volume}
                aria-label={`${st.name} volume`}
                aria-valuetext={`${Math.round(controls[i].volume * 100)}%`}
                onInput={(e) => setControl(i, { volume: Number((e.target as HTMLInputElement).value) })}
              />
              <button
                type="button"
                class="secondary small"
                aria-label={`Download ${st.name} (${st.codec.toUpperCase()}, ${formatBytes(st.sizeBytes)})`}
                onClick={() => saveBlob(loaded.blobs[i], `${base}-${st.name}.${st.codec}`)}
              >
                ⤓ {st.codec.toUpperCase()}
              </button>
            </div>
            <Waveform
              channels={loaded.channels[i]}
              duration={p.duration}
              position={pos}
              loop={loop}
              loopEnabled={p.loopEnabled}
              dimmed={gains[i] === 0}
              color={COLORS[i % COLORS.length]}
              label={st.name}
              onSeek={(t) => p.seek(t)}
              onLoop={(r) => p.setLoop(r)}
            />
          </li>
        ))}
      </ul>

      <div class="row presets">
        {vocalIndex >= 0 ? (
          <button
            type="button"
            class="secondary small"
            onClick={() =>
              setControls((cs) => cs.map((c, j) => ({ ...c, solo: false, muted: j === vocalIndex })))
            }
          >
            Karaoke (mute {names[vocalIndex]})
          </button>
        ) : null}
        {vocalIndex >= 0 ? (
          <button
            type="button"
            class="secondary small"
            onClick={() =>
              setControls((cs) => cs.map((c, j) => ({ ...c, muted: false, solo: j === vocalIndex })))
            }
          >
            {names[vocalIndex]} only
          </button>
        ) : null}
        <button
          type="button"
          class="secondary small"
          onClick={() => setControls((cs) => cs.map(() => ({ volume: 1, muted: false, solo: false })))}
        >
          Reset mix
        </button>
      </div>

      <div class="row downloads">
        <button type="button" class="download-mix" onClick={downloadMix} disabled={busy !== null}>
          {busy === 'mix' ? 'Rendering…' : `⤓ Download this mix (${label}, WAV)`}
        </button>
        <button type="button" class="secondary" onClick={() => void downloadZip()} disabled={busy !== null}>
          {busy === 'zip' ? 'Preparing zip…' : '⤓ All stems (zip)'}
        </button>
      </div>

      <details class="shortcuts">
        <summary>Keyboard shortcuts</summary>
        <dl>
          <dt>
            <kbd>Space</kbd>
          </dt>
          <dd>play / pause</dd>
          <dt>
            <kbd>←</kbd> <kbd>→</kbd>
          </dt>
          <dd>back / forward {SEEK_STEP} s</dd>
          <dt>
            <kbd>Home</kbd>
          </dt>
          <dd>back to the start</dd>
          <dt>
            <kbd>1</kbd>…<kbd>9</kbd>
          </dt>
          <dd>mute stem n</dd>
          <dt>
            <kbd>Shift</kbd>+<kbd>1</kbd>…<kbd>9</kbd>
          </dt>
          <dd>solo stem n</dd>
          <dt>
            <kbd>[</kbd> <kbd>]</kbd>
          </dt>
          <dd>loop from / to the playhead</dd>
          <dt>
            <kbd>L</kbd>
          </dt>
          <dd>loop on / off</dd>
          <dt>
            <kbd>Esc</kbd>
          </dt>
          <dd>clear the loop</dd>
        </dl>
      </details>
    </section>
  );
}
