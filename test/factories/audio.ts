/**
 * Generated test audio: signals (tones, chirps, seeded noise, silence, clipping, odd lengths, any
 * channel count and rate), an independent WAV encoder (deliberately not the code under test) with
 * knobs for every header variant and defect, ffmpeg-made MP3/FLAC/OGG/M4A/… files, broken files,
 * and a few measurements (SNR, tone amplitude) for assertions.
 */
import { spawn } from 'child_process';
import { existsSync, promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';

export interface TestSignal {
  sampleRate: number;
  channels: number;
  /** Interleaved. */
  data: Float32Array;
}

export function frameCount(signal: TestSignal): number {
  return signal.data.length / signal.channels;
}

interface Shape {
  sampleRate?: number;
  channels?: number;
  /** Length in seconds (ignored when `frames` is given). */
  seconds?: number;
  /** Exact length in frames (for odd lengths). */
  frames?: number;
  amplitude?: number;
}

function shape(s: Shape) {
  const sampleRate = s.sampleRate ?? 44100;
  const channels = s.channels ?? 2;
  const frames = s.frames ?? Math.round((s.seconds ?? 1) * sampleRate);
  return { sampleRate, channels, frames, amplitude: s.amplitude ?? 0.5 };
}

/**
 * Sine tone. Channel c gets `frequency · (1 + c · channelSpread)` so tests can tell channels apart
 * (default spread 0: the same tone everywhere).
 */
export function tone(
  options: Shape & { frequency?: number; channelSpread?: number; phase?: number } = {},
): TestSignal {
  const { sampleRate, channels, frames, amplitude } = shape(options);
  const f = options.frequency ?? 440;
  const spread = options.channelSpread ?? 0;
  const data = new Float32Array(frames * channels);
  for (let c = 0; c < channels; c++) {
    const w = (2 * Math.PI * f * (1 + c * spread)) / sampleRate;
    for (let i = 0; i < frames; i++)
      data[i * channels + c] = amplitude * Math.sin(w * i + (options.phase ?? 0));
  }
  return { sampleRate, channels, data };
}

/** Linear or exponential sweep from `from` to `to` Hz. */
export function chirp(
  options: Shape & { from?: number; to?: number; exponential?: boolean } = {},
): TestSignal {
  const { sampleRate, channels, frames, amplitude } = shape(options);
  const f0 = options.from ?? 20;
  const f1 = options.to ?? sampleRate / 2 - 1;
  const T = frames / sampleRate;
  const data = new Float32Array(frames * channels);
  for (let i = 0; i < frames; i++) {
    const t = i / sampleRate;
    const phase = options.exponential
      ? ((2 * Math.PI * f0 * T) / Math.log(f1 / f0)) * (Math.pow(f1 / f0, t / T) - 1)
      : 2 * Math.PI * (f0 * t + ((f1 - f0) * t * t) / (2 * T));
    const v = amplitude * Math.sin(phase);
    for (let c = 0; c < channels; c++) data[i * channels + c] = v;
  }
  return { sampleRate, channels, data };
}

/** Deterministic PRNG (mulberry32) so "random" test data is the same on every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Seeded bytes (xorshift32). Avoids Math.* on purpose: under jest every Math call crosses into the
 * outer realm and costs ~250 ns, which makes megabytes of test data take seconds.
 */
export function seededBytes(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** Uniform white noise in [-amplitude, amplitude), independent per channel. */
export function noise(options: Shape & { seed?: number } = {}): TestSignal {
  const { sampleRate, channels, frames, amplitude } = shape(options);
  const rand = seededRandom(options.seed ?? 1);
  const data = new Float32Array(frames * channels);
  for (let i = 0; i < data.length; i++) data[i] = amplitude * (2 * rand() - 1);
  return { sampleRate, channels, data };
}

export function silence(options: Shape = {}): TestSignal {
  const { sampleRate, channels, frames } = shape(options);
  return { sampleRate, channels, data: new Float32Array(frames * channels) };
}

/** A tone driven past full scale (peaks at ±`overdrive`, default 1.5) to exercise clipping. */
export function clipping(options: Shape & { frequency?: number; overdrive?: number } = {}): TestSignal {
  return tone({ ...options, amplitude: options.overdrive ?? 1.5 });
}

/** Concatenates signals of the same rate and channel count. */
export function concat(...signals: TestSignal[]): TestSignal {
  const total = signals.reduce((n, s) => n + s.data.length, 0);
  const data = new Float32Array(total);
  let o = 0;
  for (const s of signals) {
    data.set(s.data, o);
    o += s.data.length;
  }
  return { sampleRate: signals[0].sampleRate, channels: signals[0].channels, data };
}

/** One channel of an interleaved signal. */
export function channel(data: Float32Array, channels: number, c: number): Float32Array {
  const out = new Float32Array(data.length / channels);
  for (let i = 0; i < out.length; i++) out[i] = data[i * channels + c];
  return out;
}

// ---------------------------------------------------------------- WAV (independent encoder)

export type WavEncoding = 'u8' | 's16' | 's24' | 's32' | 'f32' | 'f64';

export const WAV_ENCODINGS: readonly WavEncoding[] = ['u8', 's16', 's24', 's32', 'f32', 'f64'];

export function bytesPerSample(encoding: WavEncoding): number {
  return { u8: 1, s16: 2, s24: 3, s32: 4, f32: 4, f64: 8 }[encoding];
}

function intBits(encoding: WavEncoding): number | null {
  return { u8: 8, s16: 16, s24: 24, s32: 32, f32: null, f64: null }[encoding];
}

/** The integer code a sample gets in `encoding` (Math.round + clip; the reader must invert it). */
function toInt(x: number, bits: number): number {
  const scale = 2 ** (bits - 1);
  return Math.max(-scale, Math.min(scale - 1, Math.round(x * scale))) + 0; // + 0: no negative zero
}

/** What a correct reader must return for `signal` stored as `encoding`: exactly, sample for sample. */
export function quantize(data: Float32Array, encoding: WavEncoding): Float32Array {
  const bits = intBits(encoding);
  if (bits === null) return Float32Array.from(data);
  const scale = 2 ** (bits - 1);
  return data.map((x) => toInt(x, bits) / scale);
}

export interface WavBuildOptions {
  encoding?: WavEncoding;
  /** WAVE_FORMAT_EXTENSIBLE fmt chunk. */
  extensible?: boolean;
  /** Valid bits for extensible (e.g. 20 in a 24-bit container). */
  validBits?: number;
  /** Write an RF64 file (ds64 chunk, 0xFFFFFFFF sizes). */
  rf64?: boolean;
  /** Chunks placed between fmt and data (LIST, odd-sized junk...). */
  chunksBeforeData?: Array<{ id: string; body: Uint8Array; omitPad?: boolean }>;
  /** Chunks placed before fmt. */
  chunksBeforeFmt?: Array<{ id: string; body: Uint8Array }>;
  /** Chunks after the data (and its pad byte). */
  chunksAfterData?: Array<{ id: string; body: Uint8Array }>;
  /** Override the data chunk's size field (0, 0xFFFFFFFF for "streaming" headers, or a lie). */
  dataSizeField?: number;
  /** Override the RIFF size field. */
  riffSizeField?: number;
  /** Override the fmt format tag (e.g. 2 = MS ADPCM) to simulate codecs the native reader lacks. */
  formatTag?: number;
}

/** Builds a complete WAV file in memory. */
export function encodeWav(signal: TestSignal, options: WavBuildOptions = {}): Buffer {
  const encoding = options.encoding ?? 's16';
  const bps = bytesPerSample(encoding);
  const isFloat = encoding === 'f32' || encoding === 'f64';
  const blockAlign = bps * signal.channels;
  const data = Buffer.alloc(signal.data.length * bps);
  const bits = intBits(encoding);
  for (let i = 0; i < signal.data.length; i++) {
    const x = signal.data[i];
    if (encoding === 'f32') data.writeFloatLE(x, i * 4);
    else if (encoding === 'f64') data.writeDoubleLE(x, i * 8);
    else if (encoding === 'u8') data[i] = toInt(x, 8) + 128;
    else data.writeIntLE(toInt(x, bits!), i * bps, bps);
  }

  const chunk = (id: string, body: Uint8Array, omitPad = false) => {
    const head = Buffer.alloc(8);
    head.write(id, 0, 'latin1');
    head.writeUInt32LE(body.length, 4);
    const pad = body.length & 1 && !omitPad ? Buffer.alloc(1) : Buffer.alloc(0);
    return Buffer.concat([head, body, pad]);
  };

  const tag = options.formatTag ?? (isFloat ? 3 : 1);
  const fmt = Buffer.alloc(options.extensible ? 40 : 16);
  fmt.writeUInt16LE(options.extensible ? 0xfffe : tag, 0);
  fmt.writeUInt16LE(signal.channels, 2);
  fmt.writeUInt32LE(signal.sampleRate, 4);
  fmt.writeUInt32LE(signal.sampleRate * blockAlign, 8);
  fmt.writeUInt16LE(blockAlign, 12);
  fmt.writeUInt16LE(bps * 8, 14);
  if (options.extensible) {
    fmt.writeUInt16LE(22, 16);
    fmt.writeUInt16LE(options.validBits ?? bps * 8, 18);
    fmt.writeUInt32LE(signal.channels === 2 ? 3 : signal.channels === 6 ? 0x3f : 0, 20);
    fmt.writeUInt16LE(tag, 24);
    Buffer.from([0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71]).copy(
      fmt,
      26,
    );
  }

  const dataHead = Buffer.alloc(8);
  dataHead.write('data', 0, 'latin1');
  dataHead.writeUInt32LE(options.dataSizeField ?? (options.rf64 ? 0xffffffff : data.length), 4);
  const dataPad = data.length & 1 ? Buffer.alloc(1) : Buffer.alloc(0);

  const parts: Buffer[] = [];
  for (const c of options.chunksBeforeFmt ?? []) parts.push(chunk(c.id, c.body));
  parts.push(chunk('fmt ', fmt));
  for (const c of options.chunksBeforeData ?? []) parts.push(chunk(c.id, c.body, c.omitPad));
  parts.push(dataHead, data, dataPad);
  for (const c of options.chunksAfterData ?? []) parts.push(chunk(c.id, c.body));
  let body = Buffer.concat(parts);

  if (options.rf64) {
    const ds64 = Buffer.alloc(28);
    ds64.writeBigUInt64LE(BigInt(4 + 36 + body.length), 0);
    ds64.writeBigUInt64LE(BigInt(data.length), 8);
    ds64.writeBigUInt64LE(BigInt(signal.data.length / signal.channels), 16);
    body = Buffer.concat([chunk('ds64', ds64), body]);
  }
  const head = Buffer.alloc(12);
  head.write(options.rf64 ? 'RF64' : 'RIFF', 0, 'latin1');
  head.writeUInt32LE(options.riffSizeField ?? (options.rf64 ? 0xffffffff : 4 + body.length), 4);
  head.write('WAVE', 8, 'latin1');
  return Buffer.concat([head, body]);
}

export async function writeWav(
  filePath: string,
  signal: TestSignal,
  options: WavBuildOptions = {},
): Promise<string> {
  await fs.writeFile(filePath, encodeWav(signal, options));
  return filePath;
}

/** A LIST/INFO chunk body like taggers write (odd length on purpose when `odd`). */
export function listInfoChunk(title = 'Test title', odd = true): Uint8Array {
  const text = Buffer.from(odd && title.length % 2 === 0 ? title + '!' : title, 'latin1');
  const inam = Buffer.alloc(8);
  inam.write('INAM', 0, 'latin1');
  inam.writeUInt32LE(text.length + 1, 4);
  return Buffer.concat([Buffer.from('INFO', 'latin1'), inam, text, Buffer.alloc(1)]);
}

// ---------------------------------------------------------------- ffmpeg-made files

/**
 * The ffmpeg on PATH that tests use to make encoded fixtures (the OS package: `.ci/run` installs
 * Debian's when it is missing). Throws with the install step when there is none.
 */
export function testFfmpegBinary(): string {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = dir && path.join(dir, 'ffmpeg');
    if (candidate && existsSync(candidate)) return candidate;
  }
  throw new Error(FFMPEG_MISSING_FOR_TESTS);
}

export const FFMPEG_MISSING_FOR_TESTS =
  'No ffmpeg on PATH: these specs need one (`apt-get install ffmpeg`; .ci/run installs it when missing)';

export type EncodedKind =
  'mp3' | 'flac' | 'ogg' | 'opus' | 'm4a' | 'aac' | 'aiff' | 'wma' | 'wav-adpcm' | 'mka' | 'mp4-video';

const KIND_ARGS: Record<EncodedKind, string[]> = {
  mp3: ['-c:a', 'libmp3lame', '-b:a', '192k', '-f', 'mp3'],
  flac: ['-c:a', 'flac', '-f', 'flac'],
  ogg: ['-c:a', 'libvorbis', '-b:a', '160k', '-f', 'ogg'],
  opus: ['-c:a', 'libopus', '-b:a', '128k', '-f', 'ogg'],
  m4a: ['-c:a', 'aac', '-b:a', '160k', '-f', 'ipod'],
  aac: ['-c:a', 'aac', '-b:a', '160k', '-f', 'adts'],
  aiff: ['-c:a', 'pcm_s16be', '-f', 'aiff'],
  wma: ['-c:a', 'wmav2', '-b:a', '128k', '-f', 'asf'],
  'wav-adpcm': ['-c:a', 'adpcm_ms', '-f', 'wav'],
  mka: ['-c:a', 'flac', '-f', 'matroska'],
  // A video file with a sound track (a music video upload): black frames + the audio.
  'mp4-video': ['-c:a', 'aac', '-b:a', '128k', '-c:v', 'mpeg4', '-shortest', '-f', 'mp4'],
};

/** Runs the test ffmpeg with an argv; rejects with its stderr on failure. */
export function runFfmpeg(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(testFfmpegBinary(), ['-nostdin', '-hide_banner', '-loglevel', 'error', ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`ffmpeg exited ${code}: ${stderr}`)),
    );
  });
}

/**
 * Encodes `signal` to `filePath` as `kind` with the test ffmpeg (through a float WAV, so the
 * encoder sees exactly the generated samples).
 */
export async function encodeWithFfmpeg(
  signal: TestSignal,
  filePath: string,
  kind: EncodedKind,
): Promise<string> {
  const wav = `${filePath}.src.wav`;
  await writeWav(wav, signal, { encoding: 'f32' });
  try {
    const video =
      kind === 'mp4-video'
        ? ['-f', 'lavfi', '-i', `color=c=black:s=64x64:r=10:d=${frameCount(signal) / signal.sampleRate}`]
        : [];
    await runFfmpeg(['-i', wav, ...video, ...KIND_ARGS[kind], '-y', filePath]);
  } finally {
    await fs.rm(wav, { force: true });
  }
  return filePath;
}

// ---------------------------------------------------------------- broken files

/** Copies a file under another name (an MP3 named .wav, a FLAC named .mp3...). */
export async function copyAs(src: string, dst: string): Promise<string> {
  await fs.copyFile(src, dst);
  return dst;
}

/** Copies the first `fraction` of `src` to `dst` (an interrupted download/upload). */
export async function writeTruncated(src: string, dst: string, fraction = 0.5): Promise<string> {
  const bytes = await fs.readFile(src);
  await fs.writeFile(dst, bytes.subarray(0, Math.floor(bytes.length * fraction)));
  return dst;
}

/** Copies `src` with a seeded-random stretch of bytes overwritten starting at `at` (fraction). */
export async function writeCorrupted(
  src: string,
  dst: string,
  options: { at?: number; length?: number; seed?: number } = {},
) {
  const bytes = Buffer.from(await fs.readFile(src));
  const rand = seededRandom(options.seed ?? 7);
  const start = Math.floor(bytes.length * (options.at ?? 0.3));
  const end = Math.min(bytes.length, start + (options.length ?? Math.floor(bytes.length * 0.4)));
  for (let i = start; i < end; i++) bytes[i] = Math.floor(rand() * 256);
  await fs.writeFile(dst, bytes);
  return dst;
}

/** Header-less garbage: what a wrong upload or a disk error leaves. */
export async function writeRandomBytes(filePath: string, length = 65536, seed = 3): Promise<string> {
  await fs.writeFile(filePath, seededBytes(length, seed));
  return filePath;
}

export async function writeTextFile(
  filePath: string,
  text = 'This is not audio.\nJust some lines of text.\n',
): Promise<string> {
  await fs.writeFile(filePath, text.repeat(50));
  return filePath;
}

export async function writeEmptyFile(filePath: string): Promise<string> {
  await fs.writeFile(filePath, Buffer.alloc(0));
  return filePath;
}

/** An HLS playlist: text that ffmpeg would happily follow to other files if allowed to guess. */
export async function writeHlsPlaylist(filePath: string, target = '/etc/passwd'): Promise<string> {
  await fs.writeFile(
    filePath,
    `#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:10.0,\nfile://${target}\n#EXT-X-ENDLIST\n`,
  );
  return filePath;
}

// ---------------------------------------------------------------- temp dirs and measurements

export async function makeTempDir(prefix = 'audio-test-'): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix));
}

/** Names in `dir` other than `except` (used to prove no temp files were left behind). */
export async function leftoverFiles(dir: string, except: readonly string[] = []): Promise<string[]> {
  return (await fs.readdir(dir)).filter((name) => !except.includes(name));
}

export async function collect(stream: AsyncIterable<Float32Array>): Promise<Float32Array> {
  const parts: Float32Array[] = [];
  let total = 0;
  for await (const chunk of stream) {
    parts.push(chunk);
    total += chunk.length;
  }
  const out = new Float32Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Index of the first sample where `a` and `b` differ (or of the shorter length when only the
 * lengths differ), -1 when identical. jest's toEqual on large typed arrays is very slow.
 */
export function firstMismatch(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i] && !(a[i] !== a[i] && b[i] !== b[i])) return i;
  return a.length === b.length ? -1 : n;
}

/** 10·log10(Σref² / Σ(ref-test)²) over the common range [skip, n-skip). */
export function snrDb(reference: ArrayLike<number>, test: ArrayLike<number>, skip = 0): number {
  const n = Math.min(reference.length, test.length);
  let s = 0;
  let e = 0;
  for (let i = skip; i < n - skip; i++) {
    s += reference[i] * reference[i];
    e += (reference[i] - test[i]) ** 2;
  }
  return e === 0 ? Infinity : 10 * Math.log10(s / e);
}

export function rms(x: ArrayLike<number>, from = 0, to = x.length): number {
  let s = 0;
  for (let i = from; i < to; i++) s += x[i] * x[i];
  return Math.sqrt(s / Math.max(1, to - from));
}

/** Amplitude of the `frequency` component of mono `x` (least-squares fit of a sine and cosine). */
export function toneAmplitude(
  x: ArrayLike<number>,
  frequency: number,
  sampleRate: number,
  from = 0,
  to = x.length,
): number {
  let ss = 0,
    sc = 0,
    cc = 0,
    xs = 0,
    xc = 0;
  const w = (2 * Math.PI * frequency) / sampleRate;
  for (let i = from; i < to; i++) {
    const s = Math.sin(w * i);
    const c = Math.cos(w * i);
    ss += s * s;
    sc += s * c;
    cc += c * c;
    xs += x[i] * s;
    xc += x[i] * c;
  }
  const det = ss * cc - sc * sc;
  const a = (xs * cc - xc * sc) / det;
  const b = (xc * ss - xs * sc) / det;
  return Math.hypot(a, b);
}

/** Best alignment lag of `test` against `reference` in [-maxLag, maxLag] (cross-correlation). */
export function bestLag(reference: ArrayLike<number>, test: ArrayLike<number>, maxLag: number): number {
  let best = 0;
  let bestScore = -Infinity;
  const n = Math.min(reference.length, test.length);
  for (let lag = -maxLag; lag <= maxLag; lag++) {
    let score = 0;
    for (let i = Math.max(0, -lag); i < n && i + lag < n; i++) score += reference[i] * test[i + lag];
    if (score > bestScore) {
      bestScore = score;
      best = lag;
    }
  }
  return best;
}

/** The real music clip in ../shared (MIT), or null when ../shared is absent (callers skip with a message). */
export function sharedClipPath(name = 'audio_example.mp3'): string | null {
  const file = path.resolve(__dirname, '..', '..', '..', 'shared', 'fixtures', 'audio', name);
  return existsSync(file) ? file : null;
}

/** Decodes any file with the test ffmpeg (not the code under test) to interleaved stereo float32 at 44.1 kHz. */
export function decodeStereo44k(file: string): Promise<Float32Array> {
  return new Promise((resolve, reject) => {
    const args = [
      '-nostdin',
      '-hide_banner',
      '-loglevel',
      'error',
      '-i',
      file,
      '-f',
      'f32le',
      '-ac',
      '2',
      '-ar',
      '44100',
      '-',
    ];
    const child = spawn(testFfmpegBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`ffmpeg exited ${code}: ${err}`));
      const buf = Buffer.concat(out);
      resolve(new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length)));
    });
  });
}
