/**
 * The CLI as a user runs it: a real process, real files, exit codes and messages.
 */
import { spawn, spawnSync } from 'child_process';
import * as net from 'net';
import * as fs from 'fs';
import * as path from 'path';
import { readWav } from '../support/fake-engine';
import { encodeWithFfmpeg, makeTempDir, noise, tone, writeTextFile, writeWav } from '../factories/audio';
import { maxAbsDiff, separateWithMdx, writeMdxModelDir } from '../factories/mdx-models';
import { testModelDir } from '../factories/models';
import { renderScreen } from '../support/terminal-screen';
import { CLI_BIN, runCli, type CliRun } from '../support/cli-process';
import { sherpaEntry } from '../integration/models-fixtures';

jest.setTimeout(180_000);

const BIN = CLI_BIN;
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

function run(args: string[], cwd: string, env: Record<string, string> = {}): Promise<CliRun> {
  return runCli(args, cwd, { SPLEETER_MODELS_DIR: path.join(cwd, 'models'), ...env });
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
    // The analysis comes with the result: the input (2 s of noise) and both stems.
    expect(result.analysis.input).toMatchObject({ durationSec: 2, empty: false });
    expect(Object.keys(result.analysis.stems).sort()).toEqual(['accompaniment', 'vocals']);
    expect(typeof result.analysis.input.loudness.integratedLufs).toBe('number');

    const bare = await run(
      ['separate', input, '-m', model, '-o', 'out-bare', '--json', '--no-analysis', '-q'],
      dir,
    );
    expect(bare.code).toBe(0);
    expect(JSON.parse(bare.stdout.trim()).analysis).toBeUndefined();
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

/** The CLI on a pseudo-terminal (util-linux `script`), as a user sees it: the final screen. */
function runOnTerminal(args: string[], cwd: string): Promise<{ code: number; screen: string[] }> {
  const command = ['stty cols 140;', process.execPath, BIN, ...args]
    .map((a) => (a.endsWith(';') ? a : `'${a.replace(/'/g, `'\\''`)}'`))
    .join(' ');
  const log = path.join(cwd, `typescript-${process.hrtime.bigint()}.log`);
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, log], {
      cwd,
      env: { ...process.env, SPLEETER_MODELS_DIR: path.join(cwd, 'models'), SPLEETER_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const raw = fs.readFileSync(log, 'utf8');
      const body = raw.replace(/^Script started[^\n]*\n/, '').replace(/\n?Script done[^\n]*\n?$/, '');
      resolve({ code: code ?? -1, screen: renderScreen(body, 140) });
    });
  });
}

const haveScript = spawnSync('script', ['--version']).status === 0;
if (!haveScript) console.warn('skipping the terminal CLI test: util-linux `script` is not installed');

describe('spleeter-server CLI on a terminal', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await makeTempDir('cli-tty-');
  });
  afterAll(async () => {
    await fs.promises.rm(dir, { recursive: true, force: true });
  });

  (haveScript ? it : it.skip)(
    'prints results through the progress bars: intact lines, every bar finished, ETA and audio seconds',
    async () => {
      const files: string[] = [];
      for (const name of ['one', 'two', 'three'])
        files.push(
          await writeWav(path.join(dir, `${name}.wav`), noise({ seconds: 12, seed: name.length }), {
            encoding: 's16',
          }),
        );
      const res = await runOnTerminal(
        ['separate', ...files, path.join(dir, 'missing.wav'), '-m', 'builtin:hpss', '-o', 'out', '-j', '2'],
        dir,
      );
      expect(res.code).toBe(5); // one of four failed
      const screen = res.screen;
      const results = screen.filter((l) => / stems with /.test(l));
      expect(results).toHaveLength(3);
      for (const file of files) {
        // Whole, unspliced lines: nothing drawn into or after them.
        const line = screen.filter((l) => l.startsWith(`${file}:`));
        expect(line).toHaveLength(1);
        expect(line[0]).toMatch(
          /^\S+\.wav: 2 stems with builtin:hpss on dsp \(.+\) in \d+\.\d\d s \(\d+\.\dx realtime\)$/,
        );
        const base = path.basename(file, '.wav');
        for (const stem of ['harmonic', 'percussive'])
          expect(screen).toContain(`  ${stem}: ${path.join(dir, 'out', base, `${stem}.wav`)}`);
      }
      expect(screen.filter((l) => /missing\.wav: error \[FILE_NOT_FOUND\]/.test(l))).toHaveLength(1);
      // One final bar per file, below the results, none left half-drawn at 0% "starting".
      const bars = screen.filter((l) => /\d+% \|/.test(l));
      expect(bars).toHaveLength(4);
      for (const base of ['one', 'two', 'three']) {
        const bar = bars.find((b) => b.includes(`| ${base}.wav |`));
        expect(bar).toMatch(/ 100% \| 12\.0 s\/12\.0 s \| ETA 0:00 \| \S+ \| done$/);
      }
      expect(bars.find((b) => b.includes('missing.wav'))).toMatch(/\| failed$/);
      expect(screen.some((l) => /starting/.test(l))).toBe(false);
      expect(screen.indexOf(bars[0])).toBeGreaterThan(screen.lastIndexOf(results[results.length - 1]));
    },
  );
});

describe('spleeter-server CLI: errors, hints and usage', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await makeTempDir('cli-hints-');
  });
  afterAll(async () => {
    await fs.promises.rm(dir, { recursive: true, force: true });
  });

  it('refuses existing outputs before loading the model, and says --overwrite', async () => {
    // A model whose files cannot load: had it been loaded first, this would be MODEL_INVALID.
    const model = path.join(dir, 'unloadable-model');
    await fs.promises.mkdir(model, { recursive: true });
    await fs.promises.writeFile(
      path.join(model, 'spleeter.json'),
      JSON.stringify({ name: 'x', architecture: 'unet', instruments: ['vocals', 'accompaniment'], F: 1024 }),
    );
    for (const stem of ['vocals', 'accompaniment'])
      await fs.promises.writeFile(path.join(model, `${stem}.onnx`), 'not an onnx file');
    const input = await writeWav(path.join(dir, 'song.wav'), noise({ seconds: 1, seed: 2 }), {
      encoding: 's16',
    });
    await fs.promises.mkdir(path.join(dir, 'out', 'song'), { recursive: true });
    await fs.promises.writeFile(path.join(dir, 'out', 'song', 'accompaniment.wav'), 'earlier result');

    const res = await run(['separate', input, '-m', model, '-o', 'out'], dir);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('OUTPUT_EXISTS');
    expect(res.stderr).not.toContain('MODEL_INVALID');
    expect(res.stderr).toMatch(/^hint: add --overwrite to replace the existing output files$/m);
    expect(res.stderr).not.toMatch(/use overwrite\)/);
    expect(fs.readFileSync(path.join(dir, 'out', 'song', 'accompaniment.wav'), 'utf8')).toBe(
      'earlier result',
    );
  });

  it('points an unknown model to `models list` and a missing one to the full install command', async () => {
    const input = await writeWav(path.join(dir, 'm.wav'), noise({ seconds: 0.5, seed: 3 }), {
      encoding: 's16',
    });
    const unknown = await run(['separate', input, '-m', 'no-such-model', '-o', 'o1'], dir);
    expect(unknown.code).toBe(4);
    expect(unknown.stderr).toMatch(/^hint: .*spleeter-server models list$/m);

    const missing = await run(['separate', input, '-m', 'spleeter:2stems', '-o', 'o2'], dir, {
      SPLEETER_AUTO_DOWNLOAD: 'false',
    });
    expect(missing.code).toBe(4);
    expect(missing.stderr).toMatch(
      /^hint: install it with: spleeter-server models install spleeter:2stems\b/m,
    );
  });

  it('suggests --from <archive> when `models install` cannot download', async () => {
    const catalog = path.join(dir, 'catalog.yaml');
    // Port 1 on 127.0.0.1: nothing listens, the download fails at once.
    fs.writeFileSync(
      catalog,
      JSON.stringify({
        catalog_version: 1,
        models: [sherpaEntry('offline:2stems', 'http://127.0.0.1:1/m.tar.gz')],
      }),
    );
    const config = path.join(dir, 'offline.yaml');
    fs.writeFileSync(
      config,
      JSON.stringify({ spleeter: { models: { catalog_file: catalog, download_timeout_s: 5 } } }),
    );
    const res = await run(['models', 'install', 'offline:2stems'], dir, { SPLEETER_CONFIG: config });
    expect(res.code).toBe(4);
    expect(res.stderr).toContain('MODEL_DOWNLOAD_FAILED');
    expect(res.stderr).toMatch(/^hint: .*spleeter-server models install offline:2stems --from <archive>$/m);
  });

  it('answers a usage error with one line and where to find help, not the whole help (exit 2)', async () => {
    const res = await run(['separate', 'x.wav', '--codec', 'aiff'], dir);
    expect(res.code).toBe(2);
    const lines = res.stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^error: .*codec/);
    expect(lines[1]).toBe("(try 'spleeter-server separate --help')");
    expect(res.stderr).not.toContain('Options:');

    const unknown = await run(['modles', 'list'], dir);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command 'modles'/);
    expect(unknown.stderr).toContain("(try 'spleeter-server --help')");
    expect(unknown.stderr).not.toContain('Commands:');
    // The message, commander's "did you mean", where to find help.
    expect(unknown.stderr.trim().split('\n').length).toBeLessThanOrEqual(3);
  });

  it('models generate-test --precision fp16c writes float16-compute files that models.precision selects', async () => {
    const model = path.join(dir, 'fp16c-model');
    const gen = await run(['models', 'generate-test', model, '--precision', 'fp16c'], dir);
    expect(gen.code).toBe(0);
    expect(fs.readdirSync(model).sort()).toEqual([
      'accompaniment.fp16c.onnx',
      'spleeter.json',
      'vocals.fp16c.onnx',
    ]);
    const input = await writeWav(path.join(dir, 'fp16c.wav'), noise({ seconds: 2, seed: 6 }), {
      encoding: 's16',
    });
    const args = ['separate', input, '-m', model, '--json', '-o'];
    const res = await run([...args, 'out-fp16c'], dir, { SPLEETER_MODELS__PRECISION: 'fp16c' });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(Object.keys(JSON.parse(res.stdout.trim()).outputs)).toEqual(['vocals', 'accompaniment']);
    // The default precision (fp32) looks for vocals.onnx, which this directory does not have.
    const fp32 = await run([...args, 'out-fp32'], dir);
    expect(fp32.code).not.toBe(0);
    expect(fp32.stdout + fp32.stderr).toContain("model file for instrument 'vocals' (fp32) not found");
  });

  it('describes every models subcommand and offers serve --port/--host', async () => {
    const models = await run(['models', '--help'], dir);
    for (const sub of ['list', 'install', 'remove', 'validate', 'convert'])
      expect(models.stdout).toMatch(new RegExp(`^  ${sub}\\b.*\\S.*\\s{2,}\\S`, 'm'));
    const serve = await run(['serve', '--help'], dir);
    expect(serve.stdout).toMatch(/--port <port>/);
    expect(serve.stdout).toMatch(/--host <address>/);
  });

  it('serve --port/--host start the HTTP server there, from any working directory', async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = net.createServer();
      srv.listen(0, '127.0.0.1', () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    const child = spawn(process.execPath, [BIN, 'serve', '--port', String(port), '--host', '127.0.0.1'], {
      cwd: dir,
      env: {
        ...process.env,
        SPLEETER_MODELS_DIR: path.join(dir, 'models'),
        SPLEETER_LOG_LEVEL: 'warn',
        SPLEETER_SQLITE_PATH: path.join(dir, 'serve.sqlite'),
        SPLEETER_STORAGE_DIR: path.join(dir, 'storage'),
        SPLEETER_CACHE_DIR: path.join(dir, 'cache'),
        SPLEETER_ENABLE_MONITORING: 'false',
      },
      stdio: 'ignore',
    });
    try {
      let live = false;
      for (let i = 0; i < 300 && !live && child.exitCode === null; i++) {
        live = await fetch(`http://127.0.0.1:${port}/health/live`)
          .then((r) => r.ok)
          .catch(() => false);
        if (!live) await new Promise((r) => setTimeout(r, 200));
      }
      expect(live).toBe(true);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });
});
