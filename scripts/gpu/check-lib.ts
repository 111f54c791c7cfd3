/**
 * Helpers of the one-call GPU check (scripts/gpu/gpu-check.ts, ort-model-check.ts): WAV reading and
 * writing, SNR, the one-ulp perturbation of the noise-floor measurement, seeded test music, and the
 * Spleeter framing of one segment (MODEL-FORMATS A3/A4).
 *
 * Why not the product's own modules: the check runs from the GPU bundle (scripts/gpu/pack), on a
 * machine with no Node.js of its own, next to a `dist/` that may come from another commit. It must
 * judge the product from outside, so it depends on nothing but Node's standard library (and
 * onnxruntime-node in ort-model-check.ts). Plain typed arrays throughout: a 10-minute stereo input
 * is 53 M samples.
 */
import { closeSync, openSync, readSync, writeSync } from 'fs';

// Aliased: global lookups are slow inside jest's vm sandbox, and the song calls these per sample.
const { sin, cos, exp, floor, pow, sqrt, PI, imul } = Math;

export const SAMPLE_RATE = 44100;
export const FRAME_LENGTH = 4096;
export const FRAME_STEP = 1024;
/** Seconds of audio in one 512-frame Spleeter segment. */
export const segmentSeconds = (T = 512): number => (T * FRAME_STEP) / SAMPLE_RATE;

// ------------------------------------------------------------------------------------------------
// WAV
// ------------------------------------------------------------------------------------------------

export interface WavInfo {
  /** 1 = PCM integer, 3 = IEEE float (WAVE_FORMAT_EXTENSIBLE resolved to its sub-format). */
  format: 1 | 3;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  dataOffset: number;
  dataBytes: number;
  frames: number;
}

/** Parses the RIFF header of a PCM or float WAV file (reads at most the first 64 KiB). */
export function readWavInfo(file: string): WavInfo {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(65536);
    const n = readSync(fd, head, 0, head.length, 0);
    if (n < 12 || head.toString('latin1', 0, 4) !== 'RIFF' || head.toString('latin1', 8, 12) !== 'WAVE')
      throw new Error(`${file}: not a RIFF/WAVE file`);
    let pos = 12;
    let fmt: Omit<WavInfo, 'dataOffset' | 'dataBytes' | 'frames'> | undefined;
    while (pos + 8 <= n) {
      const id = head.toString('latin1', pos, pos + 4);
      const size = head.readUInt32LE(pos + 4);
      if (id === 'fmt ') {
        let tag = head.readUInt16LE(pos + 8);
        if (tag === 0xfffe) tag = head.readUInt16LE(pos + 8 + 24); // sub-format GUID's first two bytes
        if (tag !== 1 && tag !== 3) throw new Error(`${file}: WAV format tag ${tag} is not PCM or float`);
        fmt = {
          format: tag,
          channels: head.readUInt16LE(pos + 10),
          sampleRate: head.readUInt32LE(pos + 12),
          bitsPerSample: head.readUInt16LE(pos + 22),
        };
      } else if (id === 'data') {
        if (!fmt) throw new Error(`${file}: data chunk before fmt chunk`);
        const bytesPerFrame = (fmt.bitsPerSample >> 3) * fmt.channels;
        return { ...fmt, dataOffset: pos + 8, dataBytes: size, frames: Math.floor(size / bytesPerFrame) };
      }
      pos += 8 + size + (size & 1);
    }
    throw new Error(`${file}: no data chunk in the first 64 KiB`);
  } finally {
    closeSync(fd);
  }
}

/** Reads interleaved frames [start, start + count) as float32 (ints scaled to ±1). */
export class WavReader {
  readonly info: WavInfo;
  private readonly fd: number;
  private buf = Buffer.alloc(0);

  constructor(readonly file: string) {
    this.info = readWavInfo(file);
    const { format, bitsPerSample } = this.info;
    if (!(format === 3 && bitsPerSample === 32) && !(format === 1 && bitsPerSample === 16))
      throw new Error(`${file}: only 16-bit PCM and 32-bit float WAV are read here`);
    this.fd = openSync(file, 'r');
  }

  read(start: number, count: number, out?: Float32Array): Float32Array {
    const { channels, bitsPerSample, dataOffset, frames } = this.info;
    const n = Math.max(0, Math.min(count, frames - start));
    const samples = n * channels;
    const bytes = samples * (bitsPerSample >> 3);
    if (this.buf.length < bytes) this.buf = Buffer.alloc(bytes);
    let got = 0;
    while (got < bytes) {
      const r = readSync(
        this.fd,
        this.buf,
        got,
        bytes - got,
        dataOffset + start * channels * (bitsPerSample >> 3) + got,
      );
      if (r <= 0) break;
      got += r;
    }
    const result = out && out.length >= samples ? out.subarray(0, samples) : new Float32Array(samples);
    // Buffer.alloc memory is 8-byte aligned and x86/ARM are little-endian, as WAV is.
    if (bitsPerSample === 32) result.set(new Float32Array(this.buf.buffer, this.buf.byteOffset, samples));
    else {
      const pcm = new Int16Array(this.buf.buffer, this.buf.byteOffset, samples);
      for (let i = 0; i < samples; i++) result[i] = pcm[i] / 32768;
    }
    return result;
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** Writes a 32-bit float WAV incrementally (header first, sizes known up front). */
export class WavFloatWriter {
  private readonly fd: number;
  private written = 0;

  constructor(
    readonly file: string,
    private readonly frames: number,
    private readonly channels = 2,
    sampleRate = SAMPLE_RATE,
  ) {
    const dataBytes = frames * channels * 4;
    const h = Buffer.alloc(44);
    h.write('RIFF', 0, 'latin1');
    h.writeUInt32LE(36 + dataBytes, 4);
    h.write('WAVEfmt ', 8, 'latin1');
    h.writeUInt32LE(16, 16);
    h.writeUInt16LE(3, 20);
    h.writeUInt16LE(channels, 22);
    h.writeUInt32LE(sampleRate, 24);
    h.writeUInt32LE(sampleRate * channels * 4, 28);
    h.writeUInt16LE(channels * 4, 32);
    h.writeUInt16LE(32, 34);
    h.write('data', 36, 'latin1');
    h.writeUInt32LE(dataBytes, 40);
    this.fd = openSync(file, 'w');
    writeSync(this.fd, h);
  }

  /** Interleaved samples. */
  write(samples: Float32Array): void {
    const b = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
    let off = 0;
    while (off < b.length) off += writeSync(this.fd, b, off, b.length - off);
    this.written += samples.length / this.channels;
  }

  close(): void {
    closeSync(this.fd);
    if (this.written !== this.frames)
      throw new Error(`${this.file}: wrote ${this.written} frames, header says ${this.frames}`);
  }
}

// ------------------------------------------------------------------------------------------------
// SNR
// ------------------------------------------------------------------------------------------------

/** Accumulates Σref² and Σ(ref − x)² in float64 over any number of chunks. */
export class SnrAccumulator {
  signal = 0;
  noise = 0;
  count = 0;
  nonFinite = 0;
  maxAbsDiff = 0;

  add(ref: ArrayLike<number>, x: ArrayLike<number>, n = Math.min(ref.length, x.length)): void {
    let s = 0;
    let e = 0;
    let m = this.maxAbsDiff;
    for (let i = 0; i < n; i++) {
      const r = ref[i];
      const d = r - x[i];
      if (!Number.isFinite(d)) {
        this.nonFinite++;
        continue;
      }
      s += r * r;
      e += d * d;
      const a = d < 0 ? -d : d;
      if (a > m) m = a;
    }
    this.signal += s;
    this.noise += e;
    this.count += n;
    this.maxAbsDiff = m;
  }

  /** dB; Infinity when identical; null when a NaN/Inf was seen (never hidden as a number). */
  get db(): number | null {
    if (this.nonFinite > 0) return null;
    if (this.noise === 0) return Infinity;
    if (this.signal === 0) return -Infinity;
    return 10 * Math.log10(this.signal / this.noise);
  }
}

export function snrDb(ref: ArrayLike<number>, x: ArrayLike<number>): number | null {
  const acc = new SnrAccumulator();
  acc.add(ref, x);
  return acc.db;
}

/** Compares two WAV files over their common length minus `skipTailFrames`, chunk by chunk. */
export function compareWavFiles(
  refFile: string,
  file: string,
  opts: { skipTailFrames?: number; maxFrames?: number } = {},
): { snrDb: number | null; frames: number; maxAbsDiff: number; lengthMismatch: number } {
  const a = new WavReader(refFile);
  const b = new WavReader(file);
  try {
    if (a.info.channels !== b.info.channels)
      throw new Error(`${refFile} has ${a.info.channels} channels, ${file} ${b.info.channels}`);
    let frames = Math.min(a.info.frames, b.info.frames) - (opts.skipTailFrames ?? 0);
    if (opts.maxFrames !== undefined) frames = Math.min(frames, opts.maxFrames);
    frames = Math.max(0, frames);
    const acc = new SnrAccumulator();
    const chunk = 1 << 18;
    const bufA = new Float32Array(chunk * a.info.channels);
    const bufB = new Float32Array(chunk * b.info.channels);
    for (let f = 0; f < frames; f += chunk) {
      const n = Math.min(chunk, frames - f);
      acc.add(a.read(f, n, bufA), b.read(f, n, bufB), n * a.info.channels);
    }
    return {
      snrDb: acc.db,
      frames,
      maxAbsDiff: acc.maxAbsDiff,
      lengthMismatch: a.info.frames - b.info.frames,
    };
  } finally {
    a.close();
    b.close();
  }
}

// ------------------------------------------------------------------------------------------------
// One float32 ulp
// ------------------------------------------------------------------------------------------------

/**
 * Moves every finite non-zero value one float32 ulp away from zero (magnitude + 1 ulp), in place.
 * Zeros stay zero (a one-ulp step from 0 is a denormal that would change the signal's support).
 */
export function addOneUlp(values: Float32Array): Float32Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < bits.length; i++) {
    const b = bits[i];
    const mag = b & 0x7fffffff;
    if (mag !== 0 && mag < 0x7f7fffff) bits[i] = b + 1;
  }
  return values;
}

// ------------------------------------------------------------------------------------------------
// Seeded test music
// ------------------------------------------------------------------------------------------------

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = imul(t ^ (t >>> 15), t | 1);
    t ^= t + imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Note {
  f: number;
  pan: number;
  amp: number;
  phase: number;
  kind: 'chord' | 'bass' | 'lead';
}

/**
 * Deterministic stereo "song" of any length, generated block by block: chords, a bass line, a
 * vibrato lead and drums (kick, snare, hi-hat) at 120 bpm, each panned differently, so that every
 * segment differs and every band has energy. Not music anyone would listen to; a spectrum a
 * separation network reacts to. Peak below 1.
 */
export class TestSong {
  private readonly rand: () => number;
  private readonly beat = Math.round(SAMPLE_RATE / 2);
  private frame = 0;
  private notes: Note[] = [];
  private snareNoise = 0;
  private hat = 0;
  private kickPhase = 0;

  constructor(seed = 7) {
    this.rand = mulberry32(seed);
  }

  /** Fills `out` (interleaved stereo) with the next frames. */
  next(out: Float32Array): Float32Array {
    const frames = out.length >> 1;
    const r = this.rand;
    const twoPi = 2 * PI;
    const beat = this.beat;
    for (let i = 0; i < frames; i++, this.frame++) {
      const inBeat = this.frame % beat;
      if (inBeat === 0) this.newBeat();
      const t = inBeat / SAMPLE_RATE;
      let l = 0;
      let rr = 0;
      const env = exp(-3 * t);
      const vibrato = 1 + 0.006 * sin(twoPi * 5.5 * t);
      for (const n of this.notes) {
        n.phase += (twoPi * n.f * (n.kind === 'lead' ? vibrato : 1)) / SAMPLE_RATE;
        if (n.phase > twoPi) n.phase -= twoPi;
        const s1 = sin(n.phase);
        let v = s1;
        if (n.kind !== 'bass') {
          // 2nd and 3rd harmonics from the fundamental: sin 2x = 2 sin x cos x, sin 3x = 3 sin x − 4 sin³ x
          v += 0.35 * 2 * s1 * cos(n.phase) + 0.15 * (3 * s1 - 4 * s1 * s1 * s1);
        }
        v *= n.amp * (n.kind === 'lead' ? 1 : env);
        l += v * (1 - n.pan);
        rr += v * n.pan;
      }
      // kick on beats 1 and 3, snare on 2 and 4, hi-hat every eighth note
      if (floor(this.frame / beat) % 2 === 0) {
        this.kickPhase += (twoPi * (50 + 90 * exp(-25 * t))) / SAMPLE_RATE;
        const k = 0.5 * sin(this.kickPhase) * exp(-9 * t);
        l += k;
        rr += k;
      } else {
        const sn = 0.25 * (2 * r() - 1) * exp(-14 * t);
        this.snareNoise = 0.6 * this.snareNoise + 0.4 * sn;
        l += this.snareNoise * 0.8;
        rr += this.snareNoise;
      }
      const eighth = inBeat % (beat >> 1);
      const h = (2 * r() - 1) * 0.08 * exp(-60 * (eighth / SAMPLE_RATE));
      const hp = h - this.hat;
      this.hat = h;
      l += hp * 1.2;
      rr += hp * 0.6;
      out[2 * i] = 0.45 * l;
      out[2 * i + 1] = 0.45 * rr;
    }
    return out;
  }

  private newBeat(): void {
    const r = this.rand;
    const scale = [0, 2, 3, 5, 7, 8, 10];
    const root = 220 * pow(2, floor(r() * 12) / 12);
    const deg = () => scale[floor(r() * scale.length)];
    const lead = this.notes.find((n) => n.kind === 'lead');
    this.notes = [0, 2, 4].map((k) => ({
      f: root * pow(2, (deg() + 12 * (k === 4 ? 1 : 0)) / 12),
      pan: 0.2 + 0.6 * r(),
      amp: 0.12,
      phase: 0,
      kind: 'chord' as const,
    }));
    this.notes.push({ f: root / 4, pan: 0.5, amp: 0.3, phase: 0, kind: 'bass' });
    this.notes.push({
      f: root * 2 * pow(2, deg() / 12),
      pan: 0.45,
      amp: 0.15,
      phase: lead?.phase ?? 0,
      kind: 'lead',
    });
  }
}

/**
 * Writes `seconds` of test input as 32-bit float stereo: the seeded song, plus (when given) a real
 * clip tiled underneath (interleaved stereo at 44.1 kHz). With `ulpFile`, the same input with every
 * sample one ulp larger in magnitude goes there too (the input of the noise-floor run), in the same
 * pass.
 */
export function writeTestInput(
  file: string,
  seconds: number,
  opts: { seed?: number; clip?: Float32Array; ulpFile?: string } = {},
): { frames: number } {
  const frames = Math.round(seconds * SAMPLE_RATE);
  const song = new TestSong(opts.seed ?? 7);
  const w = new WavFloatWriter(file, frames);
  const wUlp = opts.ulpFile ? new WavFloatWriter(opts.ulpFile, frames) : undefined;
  const block = new Float32Array(2 * 65536);
  const twin = new Float32Array(block.length);
  const clip = opts.clip && opts.clip.length >= 2 ? opts.clip : undefined;
  let clipPos = 0;
  for (let f = 0; f < frames; f += 65536) {
    const n = Math.min(65536, frames - f);
    const out = song.next(block.subarray(0, 2 * n));
    if (clip) {
      for (let i = 0; i < 2 * n; i++) {
        out[i] = 0.35 * out[i] + 0.6 * clip[clipPos];
        if (++clipPos >= clip.length) clipPos = 0;
      }
    }
    w.write(out);
    if (wUlp) {
      const t = twin.subarray(0, 2 * n);
      t.set(out);
      wUlp.write(addOneUlp(t));
    }
  }
  w.close();
  wUlp?.close();
  return { frames };
}

/** Reads a whole WAV (16-bit or float) as interleaved stereo float32 (mono duplicated). */
export function readWavStereo(file: string): Float32Array {
  const r = new WavReader(file);
  try {
    const x = r.read(0, r.info.frames);
    if (r.info.channels === 2) return x;
    const out = new Float32Array(2 * r.info.frames);
    for (let i = 0; i < r.info.frames; i++) {
      out[2 * i] = x[i * r.info.channels];
      out[2 * i + 1] = x[i * r.info.channels + (r.info.channels > 1 ? 1 : 0)];
    }
    return out;
  } finally {
    r.close();
  }
}

// ------------------------------------------------------------------------------------------------
// One Spleeter segment's magnitudes
// ------------------------------------------------------------------------------------------------

/** In-place iterative radix-2 complex FFT (n a power of two). */
export function fftInPlace(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j], re[i]];
      [im[i], im[j]] = [im[j], im[i]];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = (-2 * Math.PI) / len;
    const wr = Math.cos(ang);
    const wi = Math.sin(ang);
    for (let i = 0; i < n; i += len) {
      let cr = 1;
      let ci = 0;
      for (let k = 0; k < len >> 1; k++) {
        const a = i + k;
        const b = a + (len >> 1);
        const tr = re[b] * cr - im[b] * ci;
        const ti = re[b] * ci + im[b] * cr;
        re[b] = re[a] - tr;
        im[b] = im[a] - ti;
        re[a] += tr;
        im[a] += ti;
        const ncr = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = ncr;
      }
    }
  }
}

/**
 * Magnitudes of segment `index` of a stereo signal as Spleeter frames it (4096 zeros in front,
 * periodic Hann 4096, hop 1024, bins [0, F)), in the CSTF layout [2, 1, T, F].
 */
export function segmentMagnitudes(stereo: Float32Array, T: number, F: number, index = 0): Float32Array {
  const frames = stereo.length >> 1;
  const out = new Float32Array(2 * T * F);
  const win = new Float64Array(FRAME_LENGTH);
  for (let n = 0; n < FRAME_LENGTH; n++) win[n] = 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / FRAME_LENGTH);
  const re = new Float64Array(FRAME_LENGTH);
  const im = new Float64Array(FRAME_LENGTH);
  for (let c = 0; c < 2; c++) {
    for (let t = 0; t < T; t++) {
      const start = (index * T + t) * FRAME_STEP - FRAME_LENGTH; // the 4096 zeros in front
      for (let n = 0; n < FRAME_LENGTH; n++) {
        const s = start + n;
        re[n] = s >= 0 && s < frames ? stereo[2 * s + c] * win[n] : 0;
        im[n] = 0;
      }
      fftInPlace(re, im);
      const base = (c * T + t) * F;
      for (let k = 0; k < F; k++) out[base + k] = sqrt(re[k] * re[k] + im[k] * im[k]);
    }
  }
  return out;
}

/** Median of a list (sorted copy); NaN for an empty list. */
export function median(values: readonly number[]): number {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[s.length >> 1];
}
