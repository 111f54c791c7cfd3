/**
 * SpleeterEngine end to end with real files, the real ffmpeg, real onnxruntime sessions on generated
 * models: decode → separate → encode, exact lengths, analytic results, bad input.
 */
import * as fs from 'fs';
import * as path from 'path';
import { openAudioInput } from '../../src/core/audio/audio-input';
import { computeIstft, computeStft } from '../../src/core/dsp/stft';
import { AudioProcessingError, ModelError, ValidationError } from '../../src/core/errors';
import { Ffmpeg } from '../../src/infra/ffmpeg/ffmpeg';
import { SpleeterEngine } from '../../src/engine/spleeter-engine';
import {
  channel,
  encodeWithFfmpeg,
  makeTempDir,
  noise,
  tone,
  writeEmptyFile,
  writeRandomBytes,
  writeTextFile,
  writeTruncated,
  writeWav,
  type TestSignal,
} from '../factories/audio';
import { separateWithMdx, writeMdxModelDir } from '../factories/mdx-models';
import { testModelDir } from '../factories/models';

jest.setTimeout(120_000);

let ffmpeg: Ffmpeg | null = null;

/** A stereo output file at its own sample rate. */
async function readAll(file: string): Promise<{ data: Float32Array; sampleRate: number }> {
  const { info } = await openAudioInput(file, { ffmpeg });
  return { data: await readAt(file, info.sampleRate), sampleRate: info.sampleRate };
}

async function readAt(file: string, rate: number): Promise<Float32Array> {
  const input = await openAudioInput(file, { targetSampleRate: rate, targetChannels: 2, ffmpeg });
  return collectStream(input.stream());
}

async function collectStream(stream: AsyncIterable<Float32Array>): Promise<Float32Array> {
  const parts: Float32Array[] = [];
  let n = 0;
  for await (const c of stream) {
    parts.push(c);
    n += c.length;
  }
  const out = new Float32Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function stereo(sig: TestSignal): Float32Array {
  if (sig.channels === 2) return sig.data;
  const left = channel(sig.data, sig.channels, 0);
  const out = new Float32Array(left.length * 2);
  for (let i = 0; i < left.length; i++) {
    out[2 * i] = left[i];
    out[2 * i + 1] = sig.channels > 1 ? sig.data[i * sig.channels + 1] : left[i];
  }
  return out;
}

/** The mixture with STFT bins >= F removed, through the same Spleeter STFT/iSTFT. */
function bandLimited(mix: Float32Array, F: number): Float32Array {
  const spec = computeStft(mix, 2);
  for (let c = 0; c < 2; c++) {
    for (let t = 0; t < spec.frames; t++) {
      for (let k = F; k < spec.bins; k++) {
        spec.re[c][t * spec.bins + k] = 0;
        spec.im[c][t * spec.bins + k] = 0;
      }
    }
  }
  return computeIstft(spec, mix.length / 2);
}

describe(SpleeterEngine.name, () => {
  let dir: string;
  let sut: SpleeterEngine;

  beforeAll(async () => {
    dir = await makeTempDir('engine-');
    ffmpeg = await Ffmpeg.locate();
    sut = new SpleeterEngine({ modelsDir: path.join(dir, 'models'), intraOpThreads: 1 });
    await sut.initialize();
  });
  afterAll(async () => {
    await sut.dispose();
    await fs.promises.rm(dir, { recursive: true, force: true });
  });

  it.each(['CSTF', 'SCTF'] as const)(
    'identity model (%s layout): every stem is the band-limited mixture / n',
    async (layout) => {
      const model = await testModelDir('identity', { config: '4stems', layout, F: 1024 });
      const sig = noise({ seconds: 3.3, amplitude: 0.3, seed: 7 });
      const input = await writeWav(path.join(dir, `noise-${layout}.wav`), sig, { encoding: 'f32' });
      const out = path.join(dir, `out-identity-${layout}`);
      const result = await sut.separate({ audioPath: input, modelName: model, outputDir: out, bitDepth: 32 });
      expect(result.model.stems).toEqual(['vocals', 'drums', 'bass', 'other']);
      expect(result.executionProvider).toBe('cpu');
      const expected = bandLimited(sig.data, 1024);
      let peak = 0;
      for (const v of expected) peak = Math.max(peak, Math.abs(v));
      for (const stem of result.model.stems) {
        const { data } = await readAll(result.outputs[stem]);
        expect(data.length).toBe(sig.data.length);
        for (let i = 0; i < data.length; i++) data[i] *= 4;
        expect(maxAbsDiff(data, expected) / peak).toBeLessThan(1e-5);
      }
    },
  );

  it('keeps the exact length for short and odd inputs (a WAV with no samples is EMPTY_AUDIO)', async () => {
    const model = await testModelDir('identity', { config: '2stems' });
    const empty = await writeWav(path.join(dir, 'len-0.wav'), noise({ frames: 0 }), { encoding: 's16' });
    await expect(
      sut.separate({ audioPath: empty, modelName: model, outputDir: path.join(dir, 'len') }),
    ).rejects.toMatchObject({
      code: 'EMPTY_AUDIO',
    });
    for (const frames of [1, 4095, 4096, 4097, 12345]) {
      const input = await writeWav(path.join(dir, `len-${frames}.wav`), noise({ frames, seed: frames }), {
        encoding: 's16',
      });
      const result = await sut.separate({
        audioPath: input,
        modelName: model,
        outputDir: path.join(dir, 'len'),
      });
      for (const file of Object.values(result.outputs)) {
        const { data, sampleRate } = await readAll(file);
        expect(sampleRate).toBe(44100);
        expect(data.length / 2).toBe(frames);
      }
    }
  });

  it.each([
    ['mono 44.1 kHz', { channels: 1, sampleRate: 44100 }, 's16'],
    ['8 kHz', { channels: 2, sampleRate: 8000 }, 's16'],
    ['96 kHz 24-bit', { channels: 2, sampleRate: 96000 }, 's24'],
    ['6 channels 48 kHz float', { channels: 6, sampleRate: 48000 }, 'f32'],
  ] as const)('separates %s WAV and writes stems at the input rate', async (_label, shape, encoding) => {
    const sig = tone({ ...shape, seconds: 1.7, frequency: 330, amplitude: 0.4 });
    const input = await writeWav(path.join(dir, `in-${shape.sampleRate}-${shape.channels}.wav`), sig, {
      encoding,
    });
    const result = await sut.separate({
      audioPath: input,
      modelName: 'builtin:center',
      outputDir: path.join(dir, 'rates'),
    });
    expect(result.input.sampleRate).toBe(shape.sampleRate);
    expect(result.input.channels).toBe(shape.channels);
    const frames = sig.data.length / shape.channels;
    // Stems of the built-in model sum back to the (stereo-mapped) mixture.
    const center = await readAt(result.outputs.center, shape.sampleRate);
    const sides = await readAt(result.outputs.sides, shape.sampleRate);
    expect(center.length / 2).toBe(frames);
    expect(sides.length / 2).toBe(frames);
    const mix = stereo(sig);
    let err = 0;
    let ref = 0;
    for (let i = 0; i < mix.length; i++) {
      err += (center[i] + sides[i] - mix[i]) ** 2;
      ref += mix[i] ** 2;
    }
    // 16-bit output quantisation bounds the sum's accuracy.
    expect(10 * Math.log10(ref / err)).toBeGreaterThan(shape.sampleRate === 44100 ? 60 : 50);
  });

  it.each(['mp3', 'flac', 'ogg'] as const)('decodes %s input and encodes every codec', async (kind) => {
    const sig = tone({ seconds: 2, frequency: 220, amplitude: 0.3, channels: 2 });
    const input = await encodeWithFfmpeg(sig, path.join(dir, `in.${kind}`), kind);
    const result = await sut.separate({
      audioPath: input,
      modelName: 'builtin:hpss',
      outputDir: path.join(dir, `codec-${kind}`),
      codec: kind,
      bitrateKbps: 128,
    });
    for (const file of Object.values(result.outputs)) {
      expect(file.endsWith(`.${kind}`)).toBe(true);
      const decoded = await readAt(file, 44100);
      // Lossy codecs may pad the end by up to ~2112 frames.
      expect(Math.abs(decoded.length / 2 - 88200)).toBeLessThanOrEqual(kind === 'flac' ? 0 : 2112);
    }
  });

  it.each([
    ['mp3', 'builtin:center'],
    ['flac', 'builtin:hpss'],
  ] as const)('reports progress in several rising steps for %s input (%s model)', async (kind, modelName) => {
    const sig = noise({ seconds: 6, amplitude: 0.3, seed: 11 });
    const input = await encodeWithFfmpeg(sig, path.join(dir, `progress.${kind}`), kind);
    const seen: number[] = [];
    const result = await sut.separate({
      audioPath: input,
      modelName,
      outputDir: path.join(dir, `progress-${kind}`),
      onProgress: (fraction) => seen.push(fraction),
    });
    const between = [...new Set(seen.filter((f) => f > 0 && f < 1))];
    expect(between.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1]);
    // The probed duration is an estimate (MP3 padding): the last step is near 1, not exactly 1.
    expect(seen[seen.length - 1]).toBeGreaterThan(0.95);
    // Stage times overlap but none exceeds the total.
    for (const ms of Object.values(result.timings)) expect(ms).toBeLessThanOrEqual(result.timings.totalMs);
  });

  it('honours offset, duration, stems subset, output rate and filename format', async () => {
    const model = await testModelDir('identity', { config: '4stems' });
    const input = await writeWav(path.join(dir, 'opts.wav'), noise({ seconds: 3, seed: 3 }), {
      encoding: 's16',
    });
    const result = await sut.separate({
      audioPath: input,
      modelName: model,
      outputDir: path.join(dir, 'opts'),
      offsetSec: 0.5,
      durationSec: 1.25,
      stems: ['drums', 'vocals'],
      sampleRate: 22050,
      filenameFormat: '{foldername}/{filename}_{instrument}.{codec}',
    });
    expect(Object.keys(result.outputs).sort()).toEqual(['drums', 'vocals']);
    expect(result.outputs.vocals).toBe(path.join(dir, 'opts', path.basename(dir), 'opts_vocals.wav'));
    const { data, sampleRate } = await readAll(result.outputs.drums);
    expect(sampleRate).toBe(22050);
    expect(data.length / 2).toBe(Math.round(1.25 * 22050));
  });

  it('refuses unknown stems, bad options and unknown models before writing anything', async () => {
    const input = await writeWav(path.join(dir, 'v.wav'), noise({ seconds: 0.5 }), { encoding: 's16' });
    const out = path.join(dir, 'refused');
    await expect(
      sut.separate({ audioPath: input, modelName: 'builtin:center', outputDir: out, stems: ['vocals'] }),
    ).rejects.toMatchObject({ code: 'UNKNOWN_STEM' });
    await expect(
      sut.separate({ audioPath: input, modelName: 'builtin:center', outputDir: out, durationSec: -1 }),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(
      sut.separate({ audioPath: input, modelName: 'nope:model', outputDir: out }),
    ).rejects.toBeInstanceOf(ModelError);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('MDX-Net: overlap and denoise reach the separator as given, and are echoed in the result', async () => {
    const ramp = { gain: 0.5 };
    const model = await writeMdxModelDir(path.join(dir, 'mdx-ramp'), undefined, ramp);
    expect(await sut.resolveModel(model)).toMatchObject({ kind: 'mdx', stems: ['vocals', 'instrumental'] });
    const sig = noise({ seconds: 2.5, amplitude: 0.3, seed: 11 });
    const input = await writeWav(path.join(dir, 'mdx.wav'), sig, { encoding: 'f32' });
    const cases = [
      { name: 'default', options: {}, used: { overlap: 'default', denoise: false } },
      { name: 'half', options: { overlap: 0.5 }, used: { overlap: 0.5, denoise: false } },
      { name: 'denoise', options: { denoise: true }, used: { overlap: 'default', denoise: true } },
    ] as const;
    const outputs: Record<string, Float32Array> = {};
    for (const c of cases) {
      const result = await sut.separate({
        audioPath: input,
        modelName: model,
        outputDir: path.join(dir, `mdx-${c.name}`),
        bitDepth: 32,
        ...c.options,
      });
      expect(result.mdx).toEqual(c.used);
      const expected = await separateWithMdx(sig.data, { ramp, ...c.options });
      outputs[c.name] = (await readAll(result.outputs.vocals)).data;
      expect(maxAbsDiff(outputs[c.name], expected.get('vocals')!)).toBeLessThan(1e-5);
    }
    expect(maxAbsDiff(outputs.half, outputs.default)).toBeGreaterThan(0.01);
    expect(maxAbsDiff(outputs.denoise, outputs.default)).toBeGreaterThan(0.01);
  });

  it("MDX-Net: sampleRate 44100 is UVR's output (the network's rate, not resampled back)", async () => {
    const model = await writeMdxModelDir(path.join(dir, 'mdx-ramp'), undefined, { gain: 0.5 });
    const sig = noise({ seconds: 1.5, amplitude: 0.3, seed: 12, sampleRate: 48000 });
    const input = await writeWav(path.join(dir, 'mdx48.wav'), sig, { encoding: 'f32' });
    const native = await sut.separate({
      audioPath: input,
      modelName: model,
      outputDir: path.join(dir, 'mdx48'),
      bitDepth: 32,
    });
    const a = await readAll(native.outputs.vocals);
    expect(a.sampleRate).toBe(48000);
    expect(a.data.length).toBe(sig.data.length);
    const uvr = await sut.separate({
      audioPath: input,
      modelName: model,
      outputDir: path.join(dir, 'mdx44'),
      bitDepth: 32,
      sampleRate: 44100,
    });
    const b = await readAll(uvr.outputs.vocals);
    expect(b.sampleRate).toBe(44100);
    const at44 = await readAt(input, 44100); // the engine's own decode + resampling to the network rate
    const expected = await separateWithMdx(at44, { ramp: { gain: 0.5 } });
    expect(maxAbsDiff(b.data, expected.get('vocals')!)).toBeLessThan(1e-5);
  });

  it('overlap and denoise: bad values are VALIDATION_FAILED; other models refuse them with OPTION_NOT_SUPPORTED', async () => {
    const input = await writeWav(path.join(dir, 'w.wav'), noise({ seconds: 0.5 }), { encoding: 's16' });
    const out = path.join(dir, 'refused-mdx');
    const mdx = await writeMdxModelDir(path.join(dir, 'mdx-ramp'));
    for (const overlap of [1, -0.5, 0.999, Number.NaN, 'auto'] as never[]) {
      await expect(
        sut.separate({ audioPath: input, modelName: mdx, outputDir: out, overlap }),
      ).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
        message: expect.stringContaining("overlap must be 'default' or a number from 0 to 0.99"),
      });
    }
    const spleeter = await testModelDir('identity', { config: '2stems' });
    for (const [modelName, opts] of [
      ['builtin:center', { overlap: 0.5 }],
      ['builtin:hpss', { denoise: false }],
      [spleeter, { overlap: 'default' }],
    ] as const) {
      await expect(
        sut.separate({ audioPath: input, modelName, outputDir: out, ...opts }),
      ).rejects.toMatchObject({
        code: 'OPTION_NOT_SUPPORTED',
      });
    }
    expect(fs.existsSync(out)).toBe(false);
  });

  it('bad files give AudioProcessingError and leave no output behind', async () => {
    const good = await encodeWithFfmpeg(tone({ seconds: 2 }), path.join(dir, 'good.mp3'), 'mp3');
    const cases: Array<[string, string]> = [
      ['empty', await writeEmptyFile(path.join(dir, 'empty.wav'))],
      ['text named .wav', await writeTextFile(path.join(dir, 'text.wav'))],
      ['random bytes', await writeRandomBytes(path.join(dir, 'random.mp3'))],
      [
        'truncated wav',
        await writeTruncated(
          await writeWav(path.join(dir, 't.wav'), noise({ seconds: 1 })),
          path.join(dir, 'tt.wav'),
        ),
      ],
      ['missing', path.join(dir, 'missing.flac')],
    ];
    for (const [label, file] of cases) {
      const out = path.join(dir, `bad-${label.replace(/\W/g, '_')}`);
      await expect(
        sut.separate({ audioPath: file, modelName: 'builtin:center', outputDir: out }),
      ).rejects.toBeInstanceOf(AudioProcessingError);
      expect(fs.existsSync(out) ? fs.readdirSync(out, { recursive: true }) : []).toEqual([]);
    }
    // An MP3 named .wav is decoded by content.
    const renamed = path.join(dir, 'actually-mp3.wav');
    await fs.promises.copyFile(good, renamed);
    const ok = await sut.separate({
      audioPath: renamed,
      modelName: 'builtin:center',
      outputDir: path.join(dir, 'renamed'),
    });
    expect(ok.input.format).toBe('mp3');
  });

  it('refuses to overwrite unless asked, and cancels cleanly', async () => {
    const input = await writeWav(path.join(dir, 'ow.wav'), noise({ seconds: 1 }), { encoding: 's16' });
    const out = path.join(dir, 'ow');
    await sut.separate({ audioPath: input, modelName: 'builtin:center', outputDir: out });
    await expect(
      sut.separate({ audioPath: input, modelName: 'builtin:center', outputDir: out }),
    ).rejects.toMatchObject({
      code: 'OUTPUT_EXISTS',
    });
    await sut.separate({ audioPath: input, modelName: 'builtin:center', outputDir: out, overwrite: true });

    const controller = new AbortController();
    controller.abort();
    const canceledOut = path.join(dir, 'canceled');
    await expect(
      sut.separate({
        audioPath: input,
        modelName: 'builtin:center',
        outputDir: canceledOut,
        signal: controller.signal,
      }),
    ).rejects.toMatchObject({ code: 'JOB_CANCELED' });
    expect(fs.existsSync(canceledOut) ? fs.readdirSync(canceledOut, { recursive: true }) : []).toEqual([]);
  });

  it('batchSeparate runs files in parallel and reports each outcome; stats add up', async () => {
    const before = sut.getProcessingStats();
    const a = await writeWav(path.join(dir, 'a.wav'), noise({ seconds: 1, seed: 1 }), { encoding: 's16' });
    const b = await writeWav(path.join(dir, 'b.wav'), noise({ seconds: 2, seed: 2 }), { encoding: 's16' });
    const bad = await writeTextFile(path.join(dir, 'c.wav'));
    const started: string[] = [];
    const done: { audioPath: string; ok: boolean }[] = [];
    const progress = new Map<string, number>();
    const results = await sut.batchSeparate([a, b, bad], {
      outputDir: path.join(dir, 'batch'),
      modelName: 'builtin:hpss',
      concurrency: 2,
      onFileStart: (file, index) => {
        started.push(`${index}:${path.basename(file)}`);
        return {
          onProgress: (fraction) => progress.set(file, fraction),
          onDone: (item) => done.push({ audioPath: item.audioPath, ok: Boolean(item.result) }),
        };
      },
    });
    expect(results.map((r) => Boolean(r.result))).toEqual([true, true, false]);
    expect(results[2].error).toBeInstanceOf(AudioProcessingError);
    // Files start in list order; each outcome is reported once, as it finishes.
    expect(started).toEqual(['0:a.wav', '1:b.wav', '2:c.wav']);
    expect([...done].sort((x, y) => x.audioPath.localeCompare(y.audioPath))).toEqual([
      { audioPath: a, ok: true },
      { audioPath: b, ok: true },
      { audioPath: bad, ok: false },
    ]);
    expect(progress.get(a)).toBe(1);
    expect(progress.get(b)).toBe(1);
    const after = sut.getProcessingStats();
    expect(after.separations - before.separations).toBe(2);
    expect(after.failures - before.failures).toBe(1);
    expect(after.audioSeconds - before.audioSeconds).toBeCloseTo(3, 3);
    expect(after.executionProviders.dsp).toBeGreaterThanOrEqual(2);
    const models = await sut.getAvailableModels();
    expect(models.map((m) => m.name)).toEqual(
      expect.arrayContaining(['builtin:center', 'builtin:hpss', 'spleeter:2stems']),
    );
  });
});
