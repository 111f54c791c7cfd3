/**
 * The benchmarks' generated inputs: stereo 44.1 kHz 16-bit WAVs, written streaming, one second at a
 * time, and kept (an existing file is reused, so inputs stay the same from run to run).
 */
import * as fs from 'fs';
import { WavFileWriter } from '../../src/core/audio/wav-file';

export const BENCH_SAMPLE_RATE = 44100;
const SR = BENCH_SAMPLE_RATE;
const TWO_PI = 2 * Math.PI;
const { sin } = Math;

/** Writes `sample(t, noise)` → [left, right] for `seconds` (noise: a seeded LCG in ±0.025). */
async function writeStereoWav(
  file: string,
  seconds: number,
  seed: number,
  sample: (t: number, noise: number) => readonly [number, number],
): Promise<string> {
  if (fs.existsSync(file)) return file;
  const writer = await WavFileWriter.create(file, {
    sampleFormat: 'int',
    bitsPerSample: 16,
    channels: 2,
    sampleRate: SR,
  });
  const buf = new Float32Array(SR * 2);
  for (let start = 0; start < seconds * SR; start += SR) {
    const n = Math.min(SR, seconds * SR - start);
    for (let i = 0; i < n; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const [l, r] = sample((start + i) / SR, (seed / 0x7fffffff - 0.5) * 0.05);
      buf[2 * i] = l;
      buf[2 * i + 1] = r;
    }
    await writer.write(n === SR ? buf : buf.subarray(0, 2 * n));
  }
  await writer.close();
  return file;
}

/** `npm run bench` / `bench:api`: chords, a drum-like pulse, a vibrato voice and noise. */
export function musicWav(file: string, seconds: number): Promise<string> {
  return writeStereoWav(file, seconds, 12345, (t, noise) => {
    const beat = t % 0.5 < 0.03 ? sin(TWO_PI * 60 * t) * 0.5 : 0;
    const chord = 0.1 * (sin(TWO_PI * 220 * t) + sin(TWO_PI * 277.2 * t) + sin(TWO_PI * 329.6 * t));
    const voice = 0.15 * sin(TWO_PI * (440 + 20 * sin(TWO_PI * 5 * t)) * t);
    return [chord + beat + noise + voice * 0.8, chord * 0.9 + beat + noise + voice];
  });
}

/** `bench:cross-job`: chords, a pulse and noise, different per job (`variant`). */
export function variantWav(file: string, seconds: number, variant: number): Promise<string> {
  const root = 220 * (1 + variant / 7);
  return writeStereoWav(file, seconds, 12345 + variant, (t, noise) => {
    const beat = t % (0.4 + variant / 20) < 0.03 ? sin(TWO_PI * 60 * t) * 0.5 : 0;
    const chord = 0.1 * (sin(TWO_PI * root * t) + sin(TWO_PI * root * 1.26 * t));
    return [chord + beat + noise, chord * 0.9 + beat + noise];
  });
}
