/**
 * performance.require_gpu on a machine without a usable GPU provider (this CI: the CUDA provider
 * libraries are not installed): the library, the CLI and the server fail fast with GPU_UNAVAILABLE;
 * without require_gpu a GPU request falls back to the CPU with exactly one one-line warning.
 * Only the CUDA provider is requested, so a dev box whose WebGPU adapter works does not change the
 * outcome; with the CUDA libraries present the tests are skipped (they would find the GPU).
 */
import { existsSync } from 'fs';
import * as fs from 'fs';
import { cpus } from 'os';
import * as path from 'path';
import { ErrorCodes, SpleeterError } from '../../src/core/errors';
import { SpleeterEngine } from '../../src/engine/spleeter-engine';
import { makeTempDir, tone, writeWav } from '../factories/audio';
import { startTestApp } from '../factories/app';
import { runCli, type CliRun } from '../support/cli-process';

jest.setTimeout(60_000);

/** The CUDA EP needs provider libraries next to the binding; this npm install skipped them. */
const cudaLibraryPresent = (() => {
  try {
    const bin = path.dirname(
      require.resolve(
        `onnxruntime-node/bin/napi-v6/${process.platform}/${process.arch}/onnxruntime_binding.node`,
      ),
    );
    return existsSync(path.join(bin, 'libonnxruntime_providers_cuda.so'));
  } catch {
    return true; // unknown layout: don't assume the EP must fail
  }
})();
const describeNoCuda = cudaLibraryPresent ? describe.skip : describe;

function run(args: string[], cwd: string, env: Record<string, string> = {}): Promise<CliRun> {
  return runCli(args, cwd, {
    SPLEETER_MODELS_DIR: path.join(cwd, 'models'),
    SPLEETER_PERFORMANCE__GPU_PROVIDERS: 'cuda',
    ...env,
  });
}

describeNoCuda('performance.require_gpu without a GPU', () => {
  let dir: string;
  let input: string;
  beforeAll(async () => {
    dir = await makeTempDir('gpu-require-');
    input = await writeWav(path.join(dir, 'in.wav'), tone({ seconds: 1, channels: 2 }));
  });
  afterAll(async () => {
    await fs.promises.rm(dir, { recursive: true, force: true });
  });

  it('library: separate() and checkExecutionProvider() fail with GPU_UNAVAILABLE in well under 10 s, writing nothing', async () => {
    const warnings: string[] = [];
    const sut = new SpleeterEngine({
      modelsDir: path.join(dir, 'models'),
      enableGpu: true,
      requireGpu: true,
      gpuProviders: ['cuda'],
      logger: { warn: (m) => warnings.push(m) },
    });
    const out = path.join(dir, 'lib-out');
    const started = Date.now();
    const err = await sut.separate({ audioPath: input, outputDir: out }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(err).toBeInstanceOf(SpleeterError);
    expect(err).toMatchObject({ code: ErrorCodes.GPU_UNAVAILABLE });
    expect((err as Error).message).toMatch(/require_gpu.*cuda: /);
    await expect(sut.checkExecutionProvider()).rejects.toMatchObject({ code: ErrorCodes.GPU_UNAVAILABLE });
    expect(existsSync(out)).toBe(false);
    expect(warnings).toEqual([]);
    expect(sut.getProcessingStats()).toMatchObject({ separations: 0, failures: 1 });
    await sut.dispose();
  });

  it('library: without requireGpu a GPU request runs on the CPU after exactly one one-line warning', async () => {
    const warnings: string[] = [];
    const sut = new SpleeterEngine({
      modelsDir: path.join(dir, 'models'),
      enableGpu: true,
      gpuProviders: ['cuda'],
      logger: { warn: (m) => warnings.push(m) },
    });
    const first = await sut.separate({ audioPath: input, outputDir: path.join(dir, 'fb-1') });
    await sut.separate({ audioPath: input, outputDir: path.join(dir, 'fb-2') });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^GPU requested but unavailable, falling back to cpu: cuda: \S/);
    expect(warnings[0]).not.toContain('\n');
    expect(first.executionProvider).toBe('dsp');
    expect(first.executionDevice).toBe(cpus()[0].model.trim());
    await expect(sut.checkExecutionProvider()).resolves.toEqual({
      executionProvider: 'cpu',
      executionDevice: cpus()[0].model.trim(),
      gpuFallback: true,
    });
    await sut.dispose();
  });

  it('CLI: --require-gpu exits 6 with GPU_UNAVAILABLE and a hint, quickly, writing nothing', async () => {
    const out = path.join(dir, 'cli-out');
    const r = await run(['separate', input, '-o', out, '--require-gpu', '-q'], dir);
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/error \[GPU_UNAVAILABLE\]: performance\.require_gpu is set.*cuda: /);
    expect(r.stderr).toMatch(/hint: run without --require-gpu/);
    expect(r.ms).toBeLessThan(10_000);
    expect(existsSync(out)).toBe(false);
  });

  it('CLI: SPLEETER_PERFORMANCE__REQUIRE_GPU=true from the environment does the same', async () => {
    const r = await run(['separate', input, '-o', path.join(dir, 'cli-env'), '--json'], dir, {
      SPLEETER_PERFORMANCE__REQUIRE_GPU: 'true',
    });
    expect(r.code).toBe(6);
    expect(JSON.parse(r.stdout.trim())).toMatchObject({ error: { code: 'GPU_UNAVAILABLE' } });
  });

  it('CLI: --gpu alone falls back to the CPU with one warning line and names the device', async () => {
    const r = await run(['separate', input, '-o', path.join(dir, 'cli-fb'), '--gpu', '-q'], dir);
    expect(r.code).toBe(0);
    const warnings = r.stderr.split('\n').filter((l) => l.startsWith('warning: '));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^warning: GPU requested but unavailable, falling back to cpu: cuda: \S/);
    expect(r.stdout).toContain(`on dsp (${cpus()[0].model.trim()})`);
  });

  it('server: start-up fails with GPU_UNAVAILABLE (the app module does not come up)', async () => {
    const started = Date.now();
    await expect(
      startTestApp({
        config: { performance: { enable_gpu: true, require_gpu: true, gpu_providers: ['cuda'] } },
      }),
    ).rejects.toMatchObject({ code: ErrorCodes.GPU_UNAVAILABLE });
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('server process: one fatal JSON line with the code, exit 1', async () => {
    const r = await run(['serve', '--port', '0', '--host', '127.0.0.1'], dir, {
      SPLEETER_REQUIRE_GPU: 'true',
      SPLEETER_STORAGE_DIR: path.join(dir, 'storage'),
      SPLEETER_CACHE_DIR: path.join(dir, 'cache'),
      SPLEETER_SQLITE_PATH: path.join(dir, 'db.sqlite'),
      SPLEETER_LOG_LEVEL: 'warn',
    });
    expect(r.code).toBe(1);
    const fatal = r.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.level === 60);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toMatchObject({ code: 'GPU_UNAVAILABLE', context: 'Bootstrap' });
    expect(fatal[0].msg).toMatch(/^Start-up failed: performance\.require_gpu is set/);
    expect(fatal[0].err).toBeUndefined();
  });
});
