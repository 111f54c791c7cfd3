/**
 * The CLI as a user runs it: a real process, real files, exit codes and messages.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { readWav } from '../support/fake-engine';
import { makeTempDir, noise, writeTextFile, writeWav } from '../factories/audio';
import { maxAbsDiff, separateWithMdx, writeMdxModelDir } from '../factories/mdx-models';
import { testModelDir } from '../factories/models';

jest.setTimeout(180_000);

const BIN = path.resolve(__dirname, '..', '..', 'bin', 'spleeter-server.js');
const SHARED_CLIP = path.resolve(
  __dirname,
  '..',
  '..',
  '..',
  'shared',
  'fixtures',
  'audio',
  'audio_example.mp3',
);

function run(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd,
      env: { ...process.env, SPLEETER_MODELS_DIR: path.join(cwd, 'models'), SPLEETER_LOG_LEVEL: 'warn' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe('spleeter-server CLI', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await makeTempDir('cli-');
  });
  afterAll(async () => {
    await fs.promises.rm(dir, { recursive: true, force: true });
  });

  it('separates a file with a model directory and reports JSON', async () => {
    const model = await testModelDir('identity', { config: '2stems' });
    const input = await writeWav(path.join(dir, 'song.wav'), noise({ seconds: 2, seed: 5 }), {
      encoding: 's16',
    });
    const res = await run(['separate', input, '-m', model, '-o', 'out', '--json', '-c', 'flac'], dir);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const result = JSON.parse(res.stdout.trim());
    expect(Object.keys(result.outputs)).toEqual(['vocals', 'accompaniment']);
    expect(result.outputs.vocals).toBe(path.join(dir, 'out', 'song', 'vocals.flac'));
    expect(fs.statSync(result.outputs.vocals).size).toBeGreaterThan(1000);
    expect(result.executionProvider).toBe('cpu');
  });

  it('exits non-zero with a clear message on bad input and leaves nothing behind', async () => {
    const text = await writeTextFile(path.join(dir, 'notes.wav'));
    const res = await run(['separate', text, '-m', 'builtin:center', '-o', 'bad-out'], dir);
    expect(res.code).toBe(3);
    expect(res.stderr).toContain('UNSUPPORTED_AUDIO');
    expect(fs.existsSync(path.join(dir, 'bad-out'))).toBe(false);

    const missingModel = await run(['separate', text, '-m', 'spleeter:2stems', '-o', 'bad-out'], dir);
    expect(missingModel.code).toBeGreaterThan(0);

    const usage = await run(['separate', text, '--codec', 'aiff'], dir);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/codec/);
  });

  describe('MDX-Net options', () => {
    let model: string;
    let input: string;
    let mix: Float32Array;
    beforeAll(async () => {
      // The ramp network: 0.5·input plus an input-independent ramp per chunk (see mdx-models.ts).
      model = await writeMdxModelDir(path.join(dir, 'mdx-model'), undefined, { gain: 0.5 });
      input = await writeWav(path.join(dir, 'mdx.wav'), noise({ seconds: 3, seed: 9 }), { encoding: 'f32' });
      mix = readWav(await fs.promises.readFile(input)).data;
    });

    /** Runs `separate` into its own folder; returns the JSON result and the decoded stems. */
    async function separate(out: string, extra: string[]) {
      const res = await run(
        ['separate', input, '-m', model, '-o', out, '--json', '--bit-depth', '32', ...extra],
        dir,
      );
      expect(res.stderr).toBe('');
      expect(res.code).toBe(0);
      const result = JSON.parse(res.stdout.trim());
      const stems = new Map<string, Float32Array>();
      for (const [stem, file] of Object.entries(result.outputs as Record<string, string>)) {
        const wav = readWav(await fs.promises.readFile(file));
        expect(wav.sampleRate).toBe(44100);
        stems.set(stem, wav.data);
      }
      return { result, stems };
    }

    it('--overlap 0.5 and --denoise give what MdxSeparator gives with the same options, and differ from the defaults', async () => {
      const plain = await separate('mdx-default', []);
      expect(plain.result.mdx).toEqual({ overlap: 'default', denoise: false });
      const half = await separate('mdx-overlap', ['--overlap', '0.5']);
      expect(half.result.mdx).toEqual({ overlap: 0.5, denoise: false });
      const denoised = await separate('mdx-denoise', ['--denoise']);
      expect(denoised.result.mdx).toEqual({ overlap: 'default', denoise: true });

      const ramp = { gain: 0.5 };
      const expected = {
        plain: await separateWithMdx(mix, { ramp }),
        half: await separateWithMdx(mix, { ramp, overlap: 0.5 }),
        denoised: await separateWithMdx(mix, { ramp, denoise: true }),
      };
      for (const stem of ['vocals', 'instrumental']) {
        expect(maxAbsDiff(plain.stems.get(stem)!, expected.plain.get(stem)!)).toBeLessThan(1e-5);
        expect(maxAbsDiff(half.stems.get(stem)!, expected.half.get(stem)!)).toBeLessThan(1e-5);
        expect(maxAbsDiff(denoised.stems.get(stem)!, expected.denoised.get(stem)!)).toBeLessThan(1e-5);
        // Each option moves the result well beyond float noise.
        expect(maxAbsDiff(half.stems.get(stem)!, plain.stems.get(stem)!)).toBeGreaterThan(0.01);
        expect(maxAbsDiff(denoised.stems.get(stem)!, plain.stems.get(stem)!)).toBeGreaterThan(0.01);
      }
    });

    it('refuses a bad --overlap (exit 2) and MDX options for other models (exit 2, OPTION_NOT_SUPPORTED), writing nothing', async () => {
      for (const bad of ['1', '-0.1', 'half', '0.995']) {
        const res = await run(['separate', input, '-m', model, '-o', 'mdx-bad', '--overlap', bad], dir);
        expect(res.code).toBe(2);
        expect(res.stderr).toContain("overlap must be 'default' or a number from 0 to 0.99");
      }
      const spleeter = await run(
        ['separate', input, '-m', 'builtin:center', '-o', 'mdx-bad', '--denoise'],
        dir,
      );
      expect(spleeter.code).toBe(2);
      expect(spleeter.stderr).toContain('OPTION_NOT_SUPPORTED');
      expect(spleeter.stderr).toContain('denoise applies to MDX-Net models only');
      const identity = await testModelDir('identity', { config: '2stems' });
      const overlap = await run(
        ['separate', input, '-m', identity, '-o', 'mdx-bad', '--overlap', 'default'],
        dir,
      );
      expect(overlap.code).toBe(2);
      expect(overlap.stderr).toContain('OPTION_NOT_SUPPORTED');
      expect(fs.existsSync(path.join(dir, 'mdx-bad'))).toBe(false);
    });
  });

  it('lists models, with the built-ins installed', async () => {
    const res = await run(['models', 'list', '--json'], dir);
    expect(res.code).toBe(0);
    const models = JSON.parse(res.stdout) as Array<{ name: string; installed: boolean }>;
    expect(models.find((m) => m.name === 'builtin:center')?.installed).toBe(true);
    expect(models.find((m) => m.name === 'spleeter:4stems')?.installed).toBe(false);
  });

  const clip = fs.existsSync(SHARED_CLIP) ? it : it.skip;
  if (!fs.existsSync(SHARED_CLIP)) {
    console.warn(`skipping the real-music CLI test: ${SHARED_CLIP} not found (../shared is absent)`);
  }
  clip('separates the real 11 s clip with the full-size generated 2-stem model', async () => {
    const model = await testModelDir('full', { config: '2stems' });
    const res = await run(['separate', SHARED_CLIP, '-m', model, '-o', 'real', '--json', '-t', '2'], dir);
    expect(res.code).toBe(0);
    const result = JSON.parse(res.stdout.trim());
    expect(result.input.format).toBe('mp3');
    expect(result.input.durationSec).toBeGreaterThan(10.5);
    for (const file of Object.values(result.outputs) as string[]) {
      // 16-bit stereo WAV of the clip's length (+ header).
      expect(fs.statSync(file).size).toBeGreaterThan(result.input.durationSec * 44100 * 4 * 0.99);
    }
  });
});
