/**
 * The PyTorch peer of the GPU check (scripts/gpu/torch_peer.py) rebuilds the U-Net from the ONNX
 * initializers. On the GPU machine it is the hardware reference; if it read the weights wrongly its
 * timings would still look plausible, so its network is checked here against onnxruntime on the
 * CPU, on the project's own generated models (full architecture and filter counts; small T and F
 * so that it runs in seconds), both layouts and both activation sets.
 *
 * Needs a python with torch, onnx, onnxruntime and numpy: GPU_PEER_PYTHON, else python3. Without
 * one the comparison is skipped with a message (pip cannot reach PyPI on the development machines);
 * the script is always at least compiled.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { makeTempDir } from '../factories/audio';
import { testModelDir } from '../factories/models';

const PEER = path.resolve(__dirname, '..', '..', 'scripts', 'gpu', 'torch_peer.py');
const PYTHON = process.env.GPU_PEER_PYTHON ?? 'python3';

function pythonHas(modules: string): boolean {
  return spawnSync(PYTHON, ['-c', `import ${modules}`], { stdio: 'ignore', timeout: 120_000 }).status === 0;
}

const havePython = spawnSync(PYTHON, ['--version'], { stdio: 'ignore' }).status === 0;
const haveTorch = havePython && pythonHas('torch, onnx, onnxruntime, numpy');
if (!haveTorch)
  process.stderr.write(
    `gpu-torch-peer.spec: ${PYTHON} cannot import torch, onnx, onnxruntime and numpy; the peer's weight check is skipped (set GPU_PEER_PYTHON)\n`,
  );

jest.setTimeout(600_000);

describe('torch_peer.py', () => {
  (havePython ? it : it.skip)('compiles', () => {
    const r = spawnSync(PYTHON, ['-c', 'import ast, sys; ast.parse(open(sys.argv[1]).read())', PEER], {
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  (haveTorch ? it : it.skip)(
    'rebuilds the 2-stem (CSTF, leaky ReLU/ReLU) and 4-stem (SCTF, ELU) U-Nets exactly as onnxruntime runs them',
    async () => {
      const two = await testModelDir('full', { config: '2stems', F: 128, T: 64, layout: 'CSTF' });
      const four = await testModelDir('full', { config: '4stems', F: 128, T: 64, layout: 'SCTF' });
      const dir = await makeTempDir('gpu-peer-');
      try {
        const out = path.join(dir, 'peer.json');
        const r = spawnSync(
          PYTHON,
          [
            PEER,
            '--model',
            `2stems=${two}`,
            '--model',
            `4stems=${four}`,
            '--device',
            'cpu',
            '--check-only',
            '--out',
            out,
          ],
          { encoding: 'utf8', timeout: 540_000 },
        );
        expect({ status: r.status, stderr: r.status === 0 ? '' : r.stderr }).toEqual({
          status: 0,
          stderr: '',
        });
        const peer = JSON.parse(fs.readFileSync(out, 'utf8'));
        for (const [cfg, layout, acts, n] of [
          ['2stems', 'CSTF', ['leaky_relu', 'relu'], 2],
          ['4stems', 'SCTF', ['elu', 'elu'], 4],
        ] as const) {
          const c = peer.configs[cfg];
          expect(c).toMatchObject({
            T: 64,
            F: 128,
            layout,
            activations: acts,
            architecture: 'unet',
            errors: [],
          });
          // 6 convs + 6 transposed convs + head, kernels and biases (MODEL-FORMATS A5)
          expect(c.parameters).toBe(n * 9_820_739);
          // A wrong padding, crop, BN epsilon, activation or skip order costs tens of dB; two
          // float32 implementations of the same network agree to about the input's 1-ulp floor.
          expect(c.check.ok).toBe(true);
          expect(c.check.torchCpuFp32VsOrtSnrDb).toBeGreaterThan(90);
          expect(c.check.torchCpuFp32VsOrtSnrDb).toBeGreaterThan(c.check.ortCpuFloorSnrDb - 6);
          expect(c.timings).toEqual([]);
        }
      } finally {
        await fs.promises.rm(dir, { recursive: true, force: true });
      }
    },
  );

  (haveTorch ? it : it.skip)('records a model it cannot read instead of stopping', async () => {
    const dir = await makeTempDir('gpu-peer-bad-');
    try {
      const model = path.join(dir, 'model');
      fs.mkdirSync(model);
      fs.writeFileSync(path.join(model, 'vocals.onnx'), 'not an onnx file');
      const good = await testModelDir('full', { config: '2stems', F: 128, T: 64 });
      const out = path.join(dir, 'peer.json');
      const r = spawnSync(
        PYTHON,
        [
          PEER,
          '--model',
          `bad=${model}`,
          '--model',
          `2stems=${good}`,
          '--device',
          'cpu',
          '--check-only',
          '--out',
          out,
        ],
        {
          encoding: 'utf8',
          timeout: 300_000,
        },
      );
      expect(r.status).toBe(1); // not every config checked out
      const peer = JSON.parse(fs.readFileSync(out, 'utf8'));
      expect(peer.configs.bad.error).toMatch(/\S/);
      expect(peer.configs['2stems'].check.ok).toBe(true);
    } finally {
      await fs.promises.rm(dir, { recursive: true, force: true });
    }
  });
});
