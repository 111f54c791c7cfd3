/**
 * The CLI as a user runs it: a real process, real files, exit codes and messages.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { encodeWithFfmpeg, makeTempDir, noise, tone, writeTextFile, writeWav } from '../factories/audio';
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

function run(
  args: string[],
  cwd: string,
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd,
      env: {
        ...process.env,
        SPLEETER_MODELS_DIR: path.join(cwd, 'models'),
        SPLEETER_LOG_LEVEL: 'warn',
        ...extraEnv,
      },
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

  it('without any ffmpeg, still separates WAV, and refuses MP3 with DECODER_UNAVAILABLE naming the install step', async () => {
    // No ffmpeg ships with the npm install: an empty PATH is a bare machine.
    const bare = { PATH: path.join(dir, 'empty-path'), SPLEETER_FFMPEG_PATH: '' };
    const wav = await writeWav(path.join(dir, 'bare.wav'), noise({ seconds: 1, seed: 9 }), {
      encoding: 's16',
    });
    const ok = await run(['separate', wav, '-m', 'builtin:center', '-o', 'bare-out', '--json'], dir, bare);
    expect(ok.code).toBe(0);
    const outputs = Object.values(JSON.parse(ok.stdout.trim()).outputs) as string[];
    expect(outputs.length).toBe(2);
    for (const file of outputs) expect(fs.readFileSync(file).subarray(0, 4).toString('latin1')).toBe('RIFF');

    const mp3 = await encodeWithFfmpeg(tone({ seconds: 1 }), path.join(dir, 'bare.mp3'), 'mp3');
    const refused = await run(['separate', mp3, '-m', 'builtin:center', '-o', 'bare-mp3'], dir, bare);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('DECODER_UNAVAILABLE');
    expect(refused.stderr).toContain('apt-get install ffmpeg');
    expect(fs.existsSync(path.join(dir, 'bare-mp3'))).toBe(false);
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
