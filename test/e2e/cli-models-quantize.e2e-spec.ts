/**
 * `spleeter-server models quantize` as a user runs it, on a miniature U-Net (real layer shapes, few
 * channels): int8 files next to the fp32 ones that `models.precision: int8` then loads, and bad
 * input refused with an exit code and nothing left behind.
 */
import * as fs from 'fs';
import * as path from 'path';
import { makeTempDir, noise, writeWav } from '../factories/audio';
import { buildTinySpleeterOnnx } from '../../src/core/onnx/spleeter-tiny-models';
import { tinyUnetModelFiles } from '../factories/tiny-unet';
import { runCli } from '../support/cli-process';

jest.setTimeout(120_000);

describe('spleeter-server models quantize', () => {
  let dir: string;
  let model: string;
  beforeAll(async () => {
    dir = await makeTempDir('cli-quantize-');
    model = path.join(dir, 'tiny-unet');
    fs.mkdirSync(model);
    for (const [name, bytes] of tinyUnetModelFiles()) fs.writeFileSync(path.join(model, name), bytes);
  });
  afterAll(async () => {
    await fs.promises.rm(dir, { recursive: true, force: true });
  });
  const run = (args: string[], env: Record<string, string> = {}) =>
    runCli(args, dir, { SPLEETER_MODELS_DIR: path.join(dir, 'models'), ...env });

  it('writes <instrument>.int8.onnx next to the fp32 files, which precision int8 then separates with', async () => {
    const res = await run(['models', 'quantize', model, '--per-channel']);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(path.join(model, 'vocals.int8.onnx'));
    expect(fs.readdirSync(model).sort()).toEqual([
      'accompaniment.int8.onnx',
      'accompaniment.onnx',
      'spleeter.json',
      'vocals.int8.onnx',
      'vocals.onnx',
    ]);

    // Again without --force: refused (exit 2, OUTPUT_EXISTS), the files untouched.
    const before = fs.statSync(path.join(model, 'vocals.int8.onnx')).mtimeMs;
    const again = await run(['models', 'quantize', model]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('OUTPUT_EXISTS');
    expect(fs.statSync(path.join(model, 'vocals.int8.onnx')).mtimeMs).toBe(before);

    const input = await writeWav(path.join(dir, 'song.wav'), noise({ seconds: 1, seed: 3 }), {
      encoding: 's16',
    });
    const sep = await run(['separate', input, '-m', model, '-o', 'out', '--json', '--no-analysis'], {
      SPLEETER_MODELS__PRECISION: 'int8',
    });
    expect(sep.stderr).toBe('');
    expect(sep.code).toBe(0);
    const result = JSON.parse(sep.stdout.trim());
    expect(Object.keys(result.outputs)).toEqual(['vocals', 'accompaniment']);
    expect(fs.statSync(result.outputs.vocals).size).toBeGreaterThan(1000);
  });

  it('refuses a model whose files are not U-Nets (exit 4, MODEL_INVALID) and writes nothing', async () => {
    const identity = path.join(dir, 'identity');
    fs.mkdirSync(identity);
    for (const [i, name] of ['vocals', 'accompaniment'].entries()) {
      const bytes = buildTinySpleeterOnnx('identity', '2stems', i, { layout: 'CSTF', F: 1024, T: 512 });
      fs.writeFileSync(path.join(identity, `${name}.onnx`), bytes);
    }
    const res = await run(['models', 'quantize', identity, '-o', path.join(dir, 'identity-int8')]);
    expect(res.code).toBe(4);
    expect(res.stderr).toMatch(/MODEL_INVALID.*no Conv/);
    expect(fs.readdirSync(identity).sort()).toEqual(['accompaniment.onnx', 'vocals.onnx']);
    expect(fs.existsSync(path.join(dir, 'identity-int8'))).toBe(false);
  });
});
