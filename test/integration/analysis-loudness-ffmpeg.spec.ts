/**
 * Our BS.1770-4 / EBU R128 meter against ffmpeg's ebur128 filter (`-af ebur128=peak=true`):
 * integrated loudness within 0.1 LU, loudness range within 0.5 LU, true peak within 0.2 dB, on
 * generated music-like material (mono, stereo and 5.1 at 44.1/48 kHz; stereo at 96/192 kHz), on
 * EBU Tech 3341/3342-style tone sequences, and on the real clip from ../shared (skipped without it).
 *
 * ffmpeg is found the way the project finds it (src/infra/ffmpeg's locator: the configured path,
 * then PATH); without one every test says so and passes vacuously.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { LoudnessMeter, measureLoudness, type LoudnessResult } from '../../src/core/analysis/loudness';
import { planLoudnessNormalization, TruePeakLimiter } from '../../src/core/analysis/loudness-normalization';
import { musicLike, toneSequence, type Signal } from '../support/analysis-signals';
import { Ffmpeg, type FfmpegBinaries } from '../../src/infra/ffmpeg';
import { encodeWav, makeTempDir, sharedClipPath } from '../factories/audio';
import { ffmpegEbur128, locateFfmpeg, type Ebur128Reading } from '../factories/ffmpeg-ebur128';

jest.setTimeout(300_000);

const TOLERANCE = { integrated: 0.1, lra: 0.5, truePeak: 0.2 };

function measure(sig: Signal): LoudnessResult {
  const sut = new LoudnessMeter({ sampleRate: sig.sampleRate, channels: sig.channels });
  // Feed in 4096-frame chunks, as a decoder would.
  const step = 4096 * sig.channels;
  for (let o = 0; o < sig.data.length; o += step) sut.push(sig.data.subarray(o, o + step));
  return sut.result();
}

/** One line per comparison, printed at the end (the figures docs/ANALYSIS.md quotes). */
const rows: string[] = [];

function expectAgreement(ours: LoudnessResult, ref: Ebur128Reading, label: string): void {
  const diff = {
    integrated: Math.abs(ours.integratedLufs! - ref.integratedLufs),
    lra: Math.abs(ours.loudnessRangeLu! - ref.loudnessRangeLu),
    truePeak: Math.abs(ours.truePeakDbtp! - ref.truePeakDbtp),
  };
  const line = `${label}: I ${ours.integratedLufs?.toFixed(3)} vs ${ref.integratedLufs} · LRA ${ours.loudnessRangeLu?.toFixed(3)} vs ${ref.loudnessRangeLu} · TP ${ours.truePeakDbtp?.toFixed(3)} vs ${ref.truePeakDbtp}`;
  rows.push(
    `${label.padEnd(36)} ΔI ${diff.integrated.toFixed(3)} LU  ΔLRA ${diff.lra.toFixed(3)} LU  ΔTP ${diff.truePeak.toFixed(3)} dB`,
  );
  expect({ line, ok: diff.integrated <= TOLERANCE.integrated }).toEqual({ line, ok: true });
  expect({ line, ok: diff.lra <= TOLERANCE.lra }).toEqual({ line, ok: true });
  expect({ line, ok: diff.truePeak <= TOLERANCE.truePeak }).toEqual({ line, ok: true });
}

describe('loudness vs ffmpeg ebur128 (integration)', () => {
  let binaries: FfmpegBinaries | null;
  let dir: string;

  beforeAll(async () => {
    binaries = await locateFfmpeg();
    if (!binaries) console.warn('Skipping loudness-vs-ffmpeg checks: no working ffmpeg was found');
    dir = await makeTempDir('loudness-ffmpeg-');
  });
  afterAll(async () => {
    if (rows.length) console.log(`ours − ffmpeg ebur128 (|difference|):\n${rows.join('\n')}`);
    await fs.rm(dir, { recursive: true, force: true });
  });

  async function compare(sig: Signal, label: string): Promise<void> {
    if (!binaries) return;
    const file = path.join(dir, `${label.replace(/\W+/g, '_')}.wav`);
    await fs.writeFile(file, encodeWav(sig, { encoding: 'f32', extensible: sig.channels > 2 }));
    const ref = await ffmpegEbur128(binaries.ffmpegPath, file);
    expectAgreement(measure(sig), ref, label);
    await fs.rm(file);
  }

  const layouts = [
    ['mono', 1],
    ['stereo', 2],
    ['5.1', 6],
  ] as const;
  describe.each([44100, 48000, 96000, 192000])('%i Hz', (rate) => {
    // Every layout at the base rates; at 96/192 kHz (where only the filter design changes) stereo,
    // which keeps the suite's cost of this file down (5.1 at 192 kHz alone is 28 M samples).
    it.each(layouts.filter(([, channels]) => rate <= 48000 || channels === 2))(
      'music-like material, %s',
      async (name, channels) => {
        // Plateaus long enough that the 10th and 95th LRA percentiles fall inside one (the −20 and
        // 0 dB segments): on a level ramp, ffmpeg's percentile rank (round(p·n) − 1) and EBU Tech
        // 3342's (round(p·(n − 1)), which we use) pick short-term values 100 ms apart, up to 0.5 LU
        // different on synthetic steps. −20 dB is also clearly below the integrated relative gate
        // (−13.8 dB here): a segment right at the gate makes blocks flip sides on 0.01 dB.
        const sig = musicLike(rate, channels, [
          [6, -8],
          [6, 0],
          [6, -20],
          [6, -4],
        ]);
        await compare(sig, `${rate} ${name}`);
      },
    );
  });

  it.each([
    [
      'Tech 3341 case 3 (relative gate)',
      [
        [10, -36],
        [30, -23],
        [10, -36],
      ],
    ],
    [
      'Tech 3341 case 4 (absolute gate)',
      [
        [5, -72],
        [5, -36],
        [30, -23],
        [5, -36],
        [5, -72],
      ],
    ],
    [
      'Tech 3342 case 1 (LRA 10)',
      [
        [20, -20],
        [20, -30],
      ],
    ],
    [
      'Tech 3342 case 4 (LRA 15)',
      [
        [10, -50],
        [10, -35],
        [10, -20],
        [10, -35],
        [10, -50],
      ],
    ],
  ] as const)('%s at 48 kHz stereo', async (label, segments) => {
    await compare(toneSequence(48000, 2, segments as never), label);
  });

  it.each([44100, 96000])(
    'normalised output (−14 LUFS, ceiling −1 dBTP) reads as such in ffmpeg too: %i Hz',
    async (rate) => {
      if (!binaries) return;
      const sig = musicLike(rate, 2, [
        [5, -20],
        [5, -12],
      ]);
      const opts = { sampleRate: rate, channels: 2 };
      const plan = planLoudnessNormalization(measureLoudness(sig.data, opts), { mode: 'normalized' });
      const limiter = new TruePeakLimiter({
        ...opts,
        gain: plan.inputGain,
        ceilingDbtp: plan.stemCeilingDbtp!,
      });
      const head = limiter.process(sig.data);
      const tail = limiter.flush();
      const out = new Float32Array(head.length + tail.length);
      out.set(head);
      out.set(tail, head.length);
      const file = path.join(dir, `normalised-${rate}.wav`);
      await fs.writeFile(file, encodeWav({ sampleRate: rate, channels: 2, data: out }, { encoding: 'f32' }));
      const ref = await ffmpegEbur128(binaries.ffmpegPath, file);
      rows.push(
        `normalised ${rate} Hz: ffmpeg reads I ${ref.integratedLufs} LUFS, TP ${ref.truePeakDbtp} dBTP`,
      );
      expect(Math.abs(ref.integratedLufs - -14)).toBeLessThanOrEqual(0.2);
      expect(ref.truePeakDbtp).toBeLessThanOrEqual(-1 + 0.1);
    },
  );

  const clip = sharedClipPath();
  (clip ? it : it.skip)('the real clip audio_example.mp3 (decoded by the same ffmpeg)', async () => {
    if (!binaries || !clip) return;
    const ffmpeg = new Ffmpeg(binaries);
    const probe = await ffmpeg.probe(clip);
    const sut = new LoudnessMeter({ sampleRate: probe.sampleRate, channels: probe.channels });
    for await (const chunk of ffmpeg.decode(clip)) sut.push(chunk);
    expectAgreement(sut.result(), await ffmpegEbur128(binaries.ffmpegPath, clip), 'audio_example.mp3');
  });
  if (!clip)
    console.warn(
      'Skipping the real-clip loudness check: ../shared/fixtures/audio/audio_example.mp3 not found',
    );
});
