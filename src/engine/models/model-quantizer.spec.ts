import { mkdir, mkdtemp, readdir, rm, writeFile } from 'fs/promises';
import { tmpdir } from 'os';
import { join } from 'path';
import { ErrorCodes, ModelError } from '../../core/errors';
import { buildTinySpleeterOnnx } from '../../core/onnx/spleeter-tiny-models';
import { loadSpleeterModel } from '../families/spleeter/spleeter-onnx-model';
import { quantizeSpleeterModelDir } from './model-quantizer';
import { tinyUnetModelFiles } from '../../../test/factories/tiny-unet';

const T = 64;
const F = 64;

describe(quantizeSpleeterModelDir.name, () => {
  let scratch: string;
  let model: string;
  beforeEach(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'quantize-'));
    model = join(scratch, 'model');
    await writeDir(model, tinyUnetModelFiles({ T, F }));
  });
  afterEach(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('writes int8 files and spleeter.json to --output, which then loads at precision int8', async () => {
    const out = join(scratch, 'int8');
    const sut = await quantizeSpleeterModelDir(model, { outputDir: out, perChannel: true });
    expect(sut.files.map((f) => [f.instrument, f.target, f.convs, f.deconvs])).toEqual([
      ['vocals', join(out, 'vocals.int8.onnx'), 1, 0],
      ['accompaniment', join(out, 'accompaniment.int8.onnx'), 1, 0],
    ]);
    expect((await readdir(out)).sort()).toEqual([
      'accompaniment.int8.onnx',
      'spleeter.json',
      'vocals.int8.onnx',
    ]);
    expect((await readdir(model)).sort()).toEqual(['accompaniment.onnx', 'spleeter.json', 'vocals.onnx']);
    const loaded = await loadSpleeterModel(out, { precision: 'int8', T });
    try {
      expect(loaded.info.files).toEqual([
        join(out, 'vocals.int8.onnx'),
        join(out, 'accompaniment.int8.onnx'),
      ]);
      const [vocals] = await loaded.run(new Float32Array(2 * T * F).fill(0.5), 1);
      expect(vocals.every(Number.isFinite)).toBe(true);
    } finally {
      await loaded.dispose();
    }
  });

  it('writes nothing when one instrument file is not a U-Net (no temp files, no new directory)', async () => {
    const bad = buildTinySpleeterOnnx('identity', '2stems', 1, { layout: 'CSTF', F, T });
    await writeFile(join(model, 'accompaniment.onnx'), bad);
    const out = join(scratch, 'nested', 'int8');
    const attempt = quantizeSpleeterModelDir(model, { outputDir: out });
    await expect(attempt).rejects.toThrow(ModelError);
    await expect(attempt).rejects.toMatchObject({ code: ErrorCodes.MODEL_INVALID });
    expect((await readdir(scratch)).sort()).toEqual(['model']);
    expect((await readdir(model)).sort()).toEqual(['accompaniment.onnx', 'spleeter.json', 'vocals.onnx']);
  });

  it('refuses a missing directory with MODEL_NOT_INSTALLED', async () => {
    await expect(quantizeSpleeterModelDir(join(scratch, 'nope'))).rejects.toMatchObject({
      code: ErrorCodes.MODEL_NOT_INSTALLED,
    });
  });
});

async function writeDir(dir: string, files: Map<string, Uint8Array>): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [name, bytes] of files) await writeFile(join(dir, name), bytes);
}
