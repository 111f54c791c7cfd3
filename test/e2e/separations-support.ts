/**
 * Shared pieces of the separations e2e specs: which engine runs (the real EngineService by default;
 * `SPLEETER_E2E_ENGINE=fake` swaps in FakeEngineService to exercise the REST layer alone), the
 * test mixture, and WAV decoding for assertions.
 */
import type { Response as SupertestResponse } from 'supertest';
import { EngineService } from '../../src/modules/engine/engine.service';
import { FakeEngineService, readWav, type FakeEngineOptions } from '../support/fake-engine';
import { encodeWav, type TestSignal } from '../factories/audio';
import type { TestAppOptions } from '../factories/app';

export const ENGINE_KIND: 'real' | 'fake' = process.env.SPLEETER_E2E_ENGINE === 'fake' ? 'fake' : 'real';
/** The offline model every engine has. */
export const MODEL = 'builtin:center';

/** Provider overrides for the chosen engine (none for the real one). */
export function engineOverrides(
  options: FakeEngineOptions = { segmentDelayMs: 20 },
): NonNullable<TestAppOptions['overrides']> {
  // The fake works through 1 s segments with a 20 ms pause each (≈ 50× real time), slow enough to
  // catch a long job running.
  return ENGINE_KIND === 'fake' ? [{ provide: EngineService, useValue: new FakeEngineService(options) }] : [];
}

/**
 * Stereo mixture of tones well inside every model's bandwidth (< 11 kHz), panned differently per
 * channel so center/side separation has something to do.
 */
export function mixture(seconds = 3, sampleRate = 44100): TestSignal {
  // One second holds whole cycles of every tone, so longer signals tile it seamlessly (and cheaply).
  const period = new Float32Array(sampleRate * 2);
  for (let i = 0; i < sampleRate; i++) {
    const t = i / sampleRate;
    const a = 0.3 * Math.sin(2 * Math.PI * 220 * t);
    const b = 0.2 * Math.sin(2 * Math.PI * 1330 * t);
    const c = 0.1 * Math.sin(2 * Math.PI * 5100 * t);
    period[i * 2] = a + b + c;
    period[i * 2 + 1] = a - b + 0.5 * c;
  }
  const frames = Math.round(seconds * sampleRate);
  const data = new Float32Array(frames * 2);
  for (let off = 0; off < data.length; off += period.length)
    data.set(period.subarray(0, Math.min(period.length, data.length - off)), off);
  return { sampleRate, channels: 2, data };
}

export function mixtureWav(seconds = 3): Buffer {
  return writeWav16(mixture(seconds));
}

/** 16-bit PCM WAV through typed arrays (the generic factory encoder is too slow for minutes of audio). */
export function writeWav16(signal: TestSignal): Buffer {
  const pcm = new Int16Array(signal.data.length);
  // Plain comparisons: Math.* calls are very slow inside jest's sandbox for millions of samples.
  for (let i = 0; i < pcm.length; i++) {
    const v = signal.data[i] * 32768;
    pcm[i] = v >= 32767 ? 32767 : v <= -32768 ? -32768 : v >= 0 ? v + 0.5 : v - 0.5;
  }
  const header = encodeWav({ ...signal, data: new Float32Array(0) }, { encoding: 's16' });
  header.writeUInt32LE(36 + pcm.byteLength, 4);
  header.writeUInt32LE(pcm.byteLength, 40);
  return Buffer.concat([header, Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength)]);
}

export interface DecodedWav {
  sampleRate: number;
  channels: number;
  data: Float32Array;
}

export function decodeWav(bytes: Buffer): DecodedWav {
  return readWav(bytes);
}

/** SNR (dB) of `test` against `reference`, over the common length. */
export function snr(reference: Float32Array, test: Float32Array): number {
  const n = Math.min(reference.length, test.length);
  let s = 0;
  let e = 0;
  for (let i = 0; i < n; i++) {
    s += reference[i] * reference[i];
    const d = reference[i] - test[i];
    e += d * d;
  }
  return 10 * Math.log10(s / Math.max(e, 1e-20));
}

/** Collects a supertest response body as a Buffer (binary downloads). */
export function binaryParser(
  res: SupertestResponse & NodeJS.ReadableStream,
  cb: (err: Error | null, body: Buffer) => void,
): void {
  const chunks: Buffer[] = [];
  res.on('data', (c: Buffer) => chunks.push(c));
  res.on('end', () => cb(null, Buffer.concat(chunks)));
  res.on('error', (err: Error) => cb(err, Buffer.alloc(0)));
}
