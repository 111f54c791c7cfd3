import { SignalAnalyzer } from '../../src/core/analysis/signal-analysis';
import { Ffmpeg } from '../../src/infra/ffmpeg/ffmpeg';
/**
 * A stand-in EngineService for unit tests and for exercising the REST layer before the real engine
 * is wired: WAV in (16-bit PCM or 32-bit float), `fake:center` maths out (center = (L+R)/2 on both
 * channels, sides = x − center, so the stems sum exactly to the input), written as WAV. It honours
 * offset/duration, stems, abort signals between "segments" and reports progress; `segmentDelayMs`
 * makes jobs slow enough to cancel or interrupt.
 */
import { promises as fsp } from 'fs';
import * as path from 'path';
import { AudioProcessingError, ErrorCodes, ModelError, SeparationError } from '../../src/core/errors';
import type { InputAudioInfo, ModelSummary, SeparateParams, SeparationResult } from '../../src/engine/types';
import type { ModelDescription } from '../../src/engine/registry/model-registry';

export interface FakeEngineOptions {
  /** Pause per segment (default 0). */
  segmentDelayMs?: number;
  /** Frames per segment (default 44100). */
  segmentFrames?: number;
  executionProvider?: string;
  executionDevice?: string | null;
}

interface Pcm {
  sampleRate: number;
  channels: number;
  /** Interleaved. */
  data: Float32Array;
  bits: number;
}

export const FAKE_MODELS: Readonly<Record<string, readonly string[]>> = {
  'builtin:center': ['center', 'sides'],
  'fake:center': ['center', 'sides'],
};

export class FakeEngineService {
  readonly calls: SeparateParams[] = [];
  options: FakeEngineOptions;

  constructor(options: FakeEngineOptions = {}) {
    this.options = options;
  }

  /** Downloads with ?codec= still transcode for real. */
  getFfmpeg(): Promise<Ffmpeg | null> {
    return Ffmpeg.locate();
  }

  get executionDevice(): string | null {
    return this.options.executionDevice === undefined ? 'Fake CPU' : this.options.executionDevice;
  }

  get executionProvider(): string {
    return this.options.executionProvider ?? 'cpu';
  }

  async listModels(): Promise<ModelSummary[]> {
    return Object.entries(FAKE_MODELS).map(([name, stems]) => ({
      name,
      stems: [...stems],
      installed: true,
      source: 'builtin',
    }));
  }

  async resolveModel(name: string): Promise<ModelDescription> {
    const [base, version] = name.split('@');
    const stems = FAKE_MODELS[base];
    if (!stems || (version !== undefined && version !== '1')) {
      throw new ModelError(ErrorCodes.MODEL_NOT_INSTALLED, `Model ${name} is not installed`, { model: name });
    }
    return {
      name: base,
      version: '1',
      stems: [...stems],
      kind: base.startsWith('builtin:') ? 'builtin' : 'spleeter',
    };
  }

  async probe(audioPath: string): Promise<InputAudioInfo> {
    const pcm = readWav(await fsp.readFile(audioPath));
    return {
      format: 'wav',
      codec: pcm.bits === 32 ? 'pcm_f32le' : 'pcm_s16le',
      sampleRate: pcm.sampleRate,
      channels: pcm.channels,
      durationSec: pcm.data.length / pcm.channels / pcm.sampleRate,
      bitDepth: pcm.bits,
    };
  }

  async separate(params: SeparateParams): Promise<SeparationResult> {
    this.calls.push(params);
    const started = Date.now();
    const model = await this.resolveModel(params.modelName ?? 'builtin:center');
    const pcm = readWav(await fsp.readFile(params.audioPath));
    if ((params.codec ?? 'wav') !== 'wav') {
      throw new AudioProcessingError(
        ErrorCodes.ENCODE_FAILED,
        `The fake engine only writes wav, not ${params.codec}`,
      );
    }
    const ch = pcm.channels;
    const first = Math.round((params.offsetSec ?? 0) * pcm.sampleRate);
    const total = pcm.data.length / ch;
    const count = Math.max(
      0,
      Math.min(total - first, params.durationSec ? Math.round(params.durationSec * pcm.sampleRate) : total),
    );
    const center = new Float32Array(count * ch);
    const sides = new Float32Array(count * ch);
    const seg = this.options.segmentFrames ?? 44100;
    for (let start = 0; start < count; start += seg) {
      if (params.signal?.aborted) throw new SeparationError(ErrorCodes.JOB_CANCELED, 'Separation canceled');
      const end = Math.min(count, start + seg);
      for (let i = start; i < end; i++) {
        let mean = 0;
        for (let c = 0; c < ch; c++) mean += pcm.data[(first + i) * ch + c];
        mean /= ch;
        for (let c = 0; c < ch; c++) {
          center[i * ch + c] = mean;
          sides[i * ch + c] = pcm.data[(first + i) * ch + c] - mean;
        }
      }
      params.onProgress?.(end / Math.max(1, count), 'inference');
      if (this.options.segmentDelayMs) await sleep(this.options.segmentDelayMs, params.signal);
    }
    if (params.signal?.aborted) throw new SeparationError(ErrorCodes.JOB_CANCELED, 'Separation canceled');
    const wanted = params.stems?.length ? params.stems : model.stems;
    const outputs: Record<string, string> = {};
    await fsp.mkdir(params.outputDir, { recursive: true });
    for (const stem of wanted) {
      const file = path.join(params.outputDir, `${stem}.wav`);
      await fsp.writeFile(
        file,
        writeWav({
          sampleRate: pcm.sampleRate,
          channels: ch,
          data: stem === 'center' ? center : sides,
          bits: params.bitDepth === 32 ? 32 : 16,
        }),
      );
      outputs[stem] = file;
    }
    const totalMs = Date.now() - started;
    const analyze = (data: Float32Array) => {
      const a = new SignalAnalyzer({
        sampleRate: pcm.sampleRate,
        channels: ch,
        silenceThresholdDbfs: params.silenceThresholdDbfs,
        silenceMinDurationSec: params.silenceMinDurationSec,
      });
      a.push(data);
      return a.result();
    };
    const analysis =
      params.analysis === false
        ? undefined
        : {
            input: analyze(pcm.data.subarray(first * ch, (first + count) * ch)),
            stems: Object.fromEntries(wanted.map((s) => [s, analyze(s === 'center' ? center : sides)])),
          };
    return {
      audioPath: params.audioPath,
      model: { name: model.name, version: model.version, stems: model.stems },
      executionProvider: this.executionProvider,
      executionDevice: this.executionDevice,
      input: {
        format: 'wav',
        sampleRate: pcm.sampleRate,
        channels: ch,
        durationSec: total / pcm.sampleRate,
        bitDepth: pcm.bits,
      },
      outputs,
      ...(analysis ? { analysis } : {}),
      timings: { totalMs, decodeMs: 1, inferenceMs: totalMs, dspMs: 0, encodeMs: 1, analysisMs: 0 },
      stats: { modelCalls: 0, sharedModelCalls: 0 },
      realtimeFactor: count / pcm.sampleRate / Math.max(0.001, totalMs / 1000),
    };
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function readWav(buf: Buffer): Pcm {
  if (buf.length < 12 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') {
    throw new AudioProcessingError(ErrorCodes.CORRUPT_AUDIO, 'Not a WAV file');
  }
  let off = 12;
  let fmt: { format: number; channels: number; rate: number; bits: number } | null = null;
  while (off + 8 <= buf.length) {
    const id = buf.toString('ascii', off, off + 4);
    const size = buf.readUInt32LE(off + 4);
    const body = off + 8;
    if (id === 'fmt ') {
      fmt = {
        format: buf.readUInt16LE(body),
        channels: buf.readUInt16LE(body + 2),
        rate: buf.readUInt32LE(body + 4),
        bits: buf.readUInt16LE(body + 14),
      };
    } else if (id === 'data' && fmt) {
      const end = Math.min(buf.length, body + size);
      const bytes = fmt.bits / 8;
      const n = Math.floor((end - body) / bytes);
      if (n === 0) throw new AudioProcessingError(ErrorCodes.EMPTY_AUDIO, 'The WAV file has no samples');
      const data = new Float32Array(n);
      const raw = Buffer.from(buf.subarray(body, body + n * bytes)); // aligned copy for the typed views
      if (fmt.bits === 16) {
        const v = new Int16Array(raw.buffer, raw.byteOffset, n);
        for (let i = 0; i < n; i++) data[i] = v[i] / 32768;
      } else if (fmt.format === 3) {
        data.set(new Float32Array(raw.buffer, raw.byteOffset, n));
      } else {
        const v = new Int32Array(raw.buffer, raw.byteOffset, n);
        for (let i = 0; i < n; i++) data[i] = v[i] / 2147483648;
      }
      return { sampleRate: fmt.rate, channels: fmt.channels, data, bits: fmt.bits };
    }
    off = body + size + (size & 1);
  }
  throw new AudioProcessingError(ErrorCodes.CORRUPT_AUDIO, 'WAV file without fmt/data chunks');
}

export function writeWav(pcm: Pcm): Buffer {
  const bytes = pcm.bits / 8;
  const dataSize = pcm.data.length * bytes;
  const buf = Buffer.alloc(44 + dataSize);
  buf.write('RIFF', 0, 'ascii');
  buf.writeUInt32LE(36 + dataSize, 4);
  buf.write('WAVEfmt ', 8, 'ascii');
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(pcm.bits === 32 ? 3 : 1, 20);
  buf.writeUInt16LE(pcm.channels, 22);
  buf.writeUInt32LE(pcm.sampleRate, 24);
  buf.writeUInt32LE(pcm.sampleRate * pcm.channels * bytes, 28);
  buf.writeUInt16LE(pcm.channels * bytes, 32);
  buf.writeUInt16LE(pcm.bits, 34);
  buf.write('data', 36, 'ascii');
  buf.writeUInt32LE(dataSize, 40);
  if (pcm.bits === 32) {
    Buffer.from(pcm.data.buffer, pcm.data.byteOffset, pcm.data.byteLength).copy(buf, 44);
  } else {
    const out = new Int16Array(pcm.data.length);
    for (let i = 0; i < out.length; i++) {
      const v = pcm.data[i] * 32768;
      out[i] = v >= 32767 ? 32767 : v <= -32768 ? -32768 : v >= 0 ? v + 0.5 : v - 0.5;
    }
    Buffer.from(out.buffer).copy(buf, 44);
  }
  return buf;
}
