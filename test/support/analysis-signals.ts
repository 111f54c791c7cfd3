/**
 * Generated signals for the analysis specs and the integration tests that compare with ffmpeg:
 * EBU Tech 3341/3342-style tone sequences, click tracks, chord progressions, gaps of silence.
 * Interleaved float32; all deterministic.
 */

const { sin, PI, floor, round, exp } = Math;

export interface Signal {
  sampleRate: number;
  channels: number;
  /** Interleaved. */
  data: Float32Array;
}

/** A level in dBFS per channel (peak amplitude of the sine), or one for all; null = silent channel. */
export type Levels = number | (number | null)[];

/**
 * Consecutive segments of a sine at `frequency`, each `seconds` long at the given levels (dBFS
 * peak, per channel or for all). Phase runs on across segments (no clicks at the joins).
 */
export function toneSequence(
  sampleRate: number,
  channels: number,
  segments: ReadonlyArray<readonly [seconds: number, levels: Levels]>,
  frequency = 1000,
): Signal {
  const total = segments.reduce((s, [sec]) => s + round(sec * sampleRate), 0);
  const data = new Float32Array(total * channels);
  const w = (2 * PI * frequency) / sampleRate;
  let o = 0;
  for (const [sec, levels] of segments) {
    const n = round(sec * sampleRate);
    for (let c = 0; c < channels; c++) {
      const db = Array.isArray(levels) ? levels[c] : levels;
      if (db === null || db === undefined) continue;
      const a = 10 ** (db / 20);
      for (let i = 0; i < n; i++) data[(o + i) * channels + c] = a * sin(w * (o + i));
    }
    o += n;
  }
  return { sampleRate, channels, data };
}

/** xorshift32 in [0, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

/** Pinkish noise (Paul Kellet's economy filter over white noise) at roughly `rmsDb` dBFS RMS. */
export function pinkNoise(
  sampleRate: number,
  channels: number,
  seconds: number,
  rmsDb: number,
  seed = 1,
): Signal {
  const n = round(seconds * sampleRate);
  const data = new Float32Array(n * channels);
  const r = rng(seed);
  for (let c = 0; c < channels; c++) {
    let b0 = 0;
    let b1 = 0;
    let b2 = 0;
    for (let i = 0; i < n; i++) {
      const w = r() * 2 - 1;
      b0 = 0.99765 * b0 + w * 0.099046;
      b1 = 0.963 * b1 + w * 0.2965164;
      b2 = 0.57 * b2 + w * 1.0526913;
      data[i * channels + c] = b0 + b1 + b2 + w * 0.1848;
    }
  }
  let sum = 0;
  for (let i = 0; i < data.length; i++) sum += data[i] * data[i];
  const g = 10 ** (rmsDb / 20) / Math.sqrt(sum / data.length);
  for (let i = 0; i < data.length; i++) data[i] *= g;
  return { sampleRate, channels, data };
}

export type DrumStyle = 'four-on-the-floor' | 'rock' | 'clicks';

/**
 * A generated drum track at `bpm` (stereo): 'four-on-the-floor' = kick on every beat (accented on
 * the bar) and open hi-hat on the off-beats; 'rock' = kick on 1 and 3 (and the "and" of 3), snare
 * on 2 and 4, closed hi-hat on every eighth; 'clicks' = a metronome click per beat. Hits are decaying
 * tone + noise bursts; `swingJitterMs` moves every hit by a seeded random offset (a human drummer).
 */
export function drumTrack(
  bpm: number,
  seconds: number,
  style: DrumStyle = 'four-on-the-floor',
  sampleRate = 44100,
  options: { seed?: number; jitterMs?: number } = {},
): Signal {
  const n = round(seconds * sampleRate);
  const data = new Float32Array(n * 2);
  const r = rng(options.seed ?? 7);
  const jitter = ((options.jitterMs ?? 0) / 1000) * sampleRate;
  const beat = (60 / bpm) * sampleRate;
  const hit = (at: number, amp: number, decay: number, tone: number, noiseAmp: number) => {
    const start = round(at + (jitter ? (r() * 2 - 1) * jitter : 0));
    const len = round(Math.min(0.3, decay * 6) * sampleRate);
    const fall = exp(-1 / (decay * sampleRate));
    let env = 1;
    for (let i = 0; i < len; i++, env *= fall) {
      const j = start + i;
      if (j < 0 || j >= n) continue;
      const v = amp * env * (sin((2 * PI * tone * i) / sampleRate) + noiseAmp * (r() * 2 - 1));
      data[j * 2] += v;
      data[j * 2 + 1] += v;
    }
  };
  for (let k = 0; k * beat < n; k++) {
    const t = k * beat;
    switch (style) {
      case 'four-on-the-floor':
        hit(t, k % 4 === 0 ? 0.5 : 0.35, 0.06, 60, 0.6);
        hit(t + 0.5 * beat, 0.12, 0.03, 8000, 1.5);
        break;
      case 'rock':
        if (k % 2 === 0) hit(t, 0.5, 0.06, 60, 0.4);
        else hit(t, 0.35, 0.08, 200, 2);
        if (k % 4 === 2) hit(t + 0.5 * beat, 0.4, 0.06, 60, 0.4);
        hit(t, 0.06, 0.012, 9000, 1.5);
        hit(t + 0.5 * beat, 0.05, 0.012, 9000, 1.5);
        break;
      case 'clicks':
        hit(t, k % 4 === 0 ? 0.4 : 0.25, 0.004, 2000, 0.2);
        break;
    }
  }
  return { sampleRate, channels: 2, data };
}

/** The 'four-on-the-floor' drumTrack (kept for the limiter specs). */
export function clickTrack(bpm: number, seconds: number, sampleRate = 44100, seed = 7): Signal {
  return drumTrack(bpm, seconds, 'four-on-the-floor', sampleRate, { seed });
}

const NOTE_NAMES = ['C', 'C#', 'D', 'D#', 'E', 'F', 'F#', 'G', 'G#', 'A', 'A#', 'B'];

/** Frequency of MIDI note m (A4 = 69 = 440 Hz). */
export function midiToHz(m: number): number {
  return 440 * 2 ** ((m - 69) / 12);
}

export function pitchClassName(pc: number): string {
  return NOTE_NAMES[((pc % 12) + 12) % 12];
}

/**
 * A chord progression in the key with tonic pitch class `tonic` (0 = C), major or (harmonic)
 * minor: I–IV–V–I / i–iv–V–i by default, each chord `chordSeconds` long, voiced in the octave
 * around middle C with the root doubled an octave below; tones with 6 decaying harmonics.
 */
export function chordProgression(
  tonic: number,
  mode: 'major' | 'minor',
  options: {
    chordSeconds?: number;
    repeats?: number;
    sampleRate?: number;
    degrees?: number[];
    /** Harmonics per note (default 6), amplitude 1/h^harmonicDecay (default 1). */
    harmonics?: number;
    harmonicDecay?: number;
  } = {},
): Signal {
  const sampleRate = options.sampleRate ?? 22050;
  const chordSeconds = options.chordSeconds ?? 1;
  const repeats = options.repeats ?? 2;
  // Scale degrees (0-based) of chord roots.
  const degrees = options.degrees ?? [0, 3, 4, 0];
  const major = [0, 2, 4, 5, 7, 9, 11];
  const minor = [0, 2, 3, 5, 7, 8, 11]; // harmonic minor: a major V
  const scale = mode === 'major' ? major : minor;
  const chordLen = round(chordSeconds * sampleRate);
  const n = chordLen * degrees.length * repeats;
  const data = new Float32Array(n * 2);
  const base = 60 + tonic - (tonic > 6 ? 12 : 0);
  // 200-sample fade in and out of every chord (no clicks at the changes).
  const env = new Float32Array(chordLen);
  for (let i = 0; i < chordLen; i++) env[i] = Math.min(1, i / 200, (chordLen - i) / 200);
  let o = 0;
  for (let rep = 0; rep < repeats; rep++) {
    for (const d of degrees) {
      const notes = [0, 2, 4].map((k) => {
        const idx = d + k;
        return base + scale[idx % 7] + 12 * floor(idx / 7);
      });
      notes.push(notes[0] - 12);
      for (const m of notes) {
        const f0 = midiToHz(m);
        for (let h = 1; h <= (options.harmonics ?? 6); h++) {
          const f = f0 * h;
          if (f >= sampleRate / 2) break;
          const amp = 0.08 / h ** (options.harmonicDecay ?? 1);
          // Rotating phasor instead of a sine per sample (these signals are made by the hundred).
          const w = (2 * PI * f) / sampleRate;
          const cw = Math.cos(w);
          const sw = sin(w);
          let re = 1;
          let im = 0;
          for (let i = 0; i < chordLen; i++) {
            const v = amp * env[i] * im;
            data[(o + i) * 2] += v;
            data[(o + i) * 2 + 1] += v;
            const nr = re * cw - im * sw;
            im = re * sw + im * cw;
            re = nr;
          }
        }
      }
      o += chordLen;
    }
  }
  return { sampleRate, channels: 2, data };
}

/** Copies `signal` with the frames [fromSec, toSec) set to exact zeros. */
export function withGap(signal: Signal, fromSec: number, toSec: number): Signal {
  const data = Float32Array.from(signal.data);
  const a = round(fromSec * signal.sampleRate) * signal.channels;
  const b = Math.min(data.length, round(toSec * signal.sampleRate) * signal.channels);
  data.fill(0, a, b);
  return { ...signal, data };
}

/** Splits an interleaved signal into chunks of pseudo-random sizes (whole frames). */
export function* randomChunks(
  data: Float32Array,
  channels: number,
  seed = 3,
  maxFrames = 9000,
): Generator<Float32Array> {
  const r = rng(seed);
  for (let o = 0; o < data.length;) {
    const frames = 1 + floor(r() * maxFrames);
    const end = Math.min(data.length, o + frames * channels);
    yield data.subarray(o, end);
    o = end;
  }
}

/**
 * Music-like test material defined in continuous time (so it is the same signal at every rate):
 * per channel, `partials` sines at seeded frequencies between 60 Hz and 14 kHz with 1/√f
 * amplitudes and random phases, under a level envelope of consecutive segments (dB, with 50 ms
 * ramps between them and a 20 ms fade-in), normalised so that a 0 dB segment has an RMS of
 * −12 dBFS per channel. Band-limited well below every tested Nyquist frequency, so meters that
 * resample (ffmpeg's ebur128 works at 48 kHz) see the same content.
 */
export function musicLike(
  sampleRate: number,
  channels: number,
  segments: ReadonlyArray<readonly [seconds: number, db: number]>,
  seed = 11,
  partials = 16,
): Signal {
  const total = segments.reduce((s, [sec]) => s + round(sec * sampleRate), 0);
  const data = new Float32Array(total * channels);
  const r = rng(seed);
  // Level envelope, linear gain per frame.
  const env = new Float32Array(total);
  const ramp = round(0.05 * sampleRate);
  let o = 0;
  let prev = segments.length ? 10 ** (segments[0][1] / 20) : 0;
  for (const [sec, db] of segments) {
    const n = round(sec * sampleRate);
    const g = 10 ** (db / 20);
    for (let i = 0; i < n; i++) env[o + i] = i < ramp ? prev + ((g - prev) * i) / ramp : g;
    prev = g;
    o += n;
  }
  const fadeIn = round(0.02 * sampleRate);
  for (let i = 0; i < Math.min(fadeIn, total); i++) env[i] *= i / fadeIn;
  for (let c = 0; c < channels; c++) {
    const freqs: number[] = [];
    const amps: number[] = [];
    const phases: number[] = [];
    for (let k = 0; k < partials; k++) {
      const f = 60 * Math.pow(14000 / 60, r());
      freqs.push(f);
      amps.push(1 / Math.sqrt(f));
      phases.push(2 * PI * r());
    }
    // RMS of a sum of sines = sqrt(Σ a²/2); scale to −12 dBFS.
    const norm = 10 ** (-12 / 20) / Math.sqrt(amps.reduce((s, a) => s + (a * a) / 2, 0));
    for (let k = 0; k < partials; k++) {
      const a = amps[k] * norm;
      // Rotating phasor (cheap per sample), re-anchored every 4096 samples against drift.
      const w = (2 * PI * freqs[k]) / sampleRate;
      const cw = Math.cos(w);
      const sw = sin(w);
      for (let start = 0; start < total; start += 4096) {
        let re = Math.cos(w * start + phases[k]);
        let im = sin(w * start + phases[k]);
        const end = Math.min(total, start + 4096);
        for (let i = start; i < end; i++) {
          data[i * channels + c] += a * env[i] * im;
          const nr = re * cw - im * sw;
          im = re * sw + im * cw;
          re = nr;
        }
      }
    }
  }
  return { sampleRate, channels, data };
}
