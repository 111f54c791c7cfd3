/**
 * The one-call GPU check as far as it runs without a GPU: scripts/gpu/pack builds a bundle that fits
 * the device machine's 64 MiB with the working tree, holds no other platform's binaries, and whose
 * node runs once unpacked; scripts/gpu/run.sh --cpu-only --short unpacks it and runs the whole
 * check (the WebGPU steps fail here and must be recorded as such, never abort the check).
 *
 * The bundle is packed with `--build swc --fast` (src/ transpiled straight into the bundle, xz -0)
 * into a temp folder: the real pack (`npm run build`, xz -9) only makes the same files smaller, so a
 * fast bundle under the limit means the real one is too. Compressed binaries are cached under
 * .cache/gpu-pack/, so only the first run on a machine pays for xz.
 *
 * Set GPU_PEER_PYTHON to a python with torch, onnx, onnxruntime and numpy to include the PyTorch
 * peer's CPU check in the run; without one the check must record the peer as skipped.
 */
import { execFileSync, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeTempDir } from '../factories/audio';

const ROOT = path.resolve(__dirname, '..', '..');
const MiB = 1024 * 1024;
const PACK = path.join(ROOT, 'scripts', 'gpu', 'pack');
const RUN = path.join(ROOT, 'scripts', 'gpu', 'run.sh');
const PEER_PYTHON = process.env.GPU_PEER_PYTHON;

jest.setTimeout(900_000);

function run(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

function tarList(file: string): string[] {
  return execFileSync('sh', ['-c', `xz -dc "${file}" | tar -t`], { maxBuffer: 1 << 28 })
    .toString()
    .split('\n')
    .filter(Boolean);
}

interface SeparationEntry {
  label: string;
  requested: string;
  executionProvider: string;
  exitCode: number;
  warnings?: string[];
  timings: Record<string, number>;
  realtimeFactor: Record<string, number>;
  audioSeconds: number;
}

interface Manifest {
  files: { path: string; bytes: number; sha256: string }[];
  bundleBytes: number;
  treeBytes: number;
  bundleLimitBytes: number;
  limitBytes: number;
  packages: string[];
  node: string;
}

const haveXz = spawnSync('sh', ['-c', 'command -v xz && command -v tar'], { stdio: 'ignore' }).status === 0;
const describeIfXz = haveXz ? describe : describe.skip;
if (!haveXz) process.stderr.write('gpu-bundle.spec: xz or tar missing, the GPU bundle specs are skipped\n');

describeIfXz('GPU check bundle (scripts/gpu/pack, run.sh --cpu-only --short)', () => {
  let dir: string;
  let bundle: string;
  let manifest: Manifest;
  let packOutput = '';

  beforeAll(async () => {
    dir = await makeTempDir('gpu-bundle-');
    bundle = path.join(dir, 'bundle');
    const res = await run(
      PACK,
      ['--out', bundle, '--build', 'swc', '--fast', '--debs', 'none', '--clip', 'none'],
      600_000,
    );
    packOutput = res.out;
    if (res.code !== 0) throw new Error(`pack failed (${res.code}):\n${res.out}`);
    manifest = JSON.parse(fs.readFileSync(path.join(bundle, 'manifest.json'), 'utf8')) as Manifest;
  });

  afterAll(async () => {
    if (dir) await fs.promises.rm(dir, { recursive: true, force: true });
  });

  it('fits the device limit with the working tree, and says so', () => {
    const onDisk = manifest.files.reduce((a, f) => a + fs.statSync(path.join(bundle, f.path)).size, 0);
    expect(manifest.files.map((f) => f.path).sort()).toEqual([
      'app.tar.xz',
      'node.xz',
      'ort-linux-x64.tar.xz',
    ]);
    expect(manifest.bundleBytes).toBeGreaterThanOrEqual(onDisk);
    expect(manifest.bundleBytes).toBeLessThan(onDisk + 64 * 1024);
    // The .debs (about 2 MiB) and the clip (about 2 MiB) are left out here: keep room for them.
    expect(manifest.bundleBytes + manifest.treeBytes + 6 * MiB).toBeLessThanOrEqual(manifest.limitBytes);
    expect(manifest.limitBytes).toBe(64 * MiB);
    expect(packOutput).toMatch(/total \d+\.\d\d MiB; working tree \d+\.\d\d MiB/);
  });

  it('packs only linux-x64 native code and only the packages a separation loads', () => {
    const ort = tarList(path.join(bundle, 'ort-linux-x64.tar.xz')).filter((f) => !f.endsWith('/'));
    expect(ort.sort()).toEqual([
      'app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1',
      'app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node',
    ]);
    const app = tarList(path.join(bundle, 'app.tar.xz'));
    expect(app.filter((f) => /darwin|win32|arm64|\.dll$|\.dylib$/.test(f))).toEqual([]);
    expect(app.filter((f) => /\.d\.ts$|\.map$/.test(f))).toEqual([]);
    for (const f of [
      'app/dist/cli/main.js',
      'app/gpu/gpu-check.js',
      'app/gpu/ort-model-check.js',
      'app/gpu/check-lib.js',
      'app/gpu/torch_peer.py',
      'app/config/default.yaml',
      'app/package.json',
    ])
      expect(app).toContain(f);
    expect(manifest.packages).toEqual(
      expect.arrayContaining([
        'onnxruntime-node',
        'onnxruntime-common',
        'protobufjs', // the ONNX graph builder's bindings (src/core/onnx/onnx-protos.ts)
        'commander',
        'yaml',
        'zod',
      ]),
    );
    const packaged = new Set(
      app.map((f) => /^app\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(f)?.[1]).filter(Boolean),
    );
    for (const never of [
      '@ffmpeg-installer/ffmpeg',
      'typescript',
      '@nestjs/core',
      'typeorm',
      'better-sqlite3',
      '@swc/core',
      'jest',
      'adm-zip',
      'onnx-proto', // replaced by protobufjs reflection; must not come back through some import
    ])
      expect(packaged.has(never)).toBe(false);
    // Every packed native file is x86-64 ELF (machine 0x3e).
    const x = path.join(dir, 'x');
    fs.mkdirSync(x);
    execFileSync('sh', ['-c', `xz -dc "${path.join(bundle, 'ort-linux-x64.tar.xz')}" | tar -x -C "${x}"`]);
    for (const f of ort) {
      const head = fs.readFileSync(path.join(x, f)).subarray(0, 20);
      expect(head.readUInt32BE(0)).toBe(0x7f454c46);
      expect(head.readUInt16LE(18)).toBe(0x3e);
    }
  });

  it('has a node that runs once unpacked', () => {
    const node = path.join(dir, 'node');
    execFileSync('sh', ['-c', `xz -dc "${path.join(bundle, 'node.xz')}" > "${node}" && chmod +x "${node}"`]);
    expect(spawnSync(node, ['-e', '1']).status).toBe(0);
    expect(spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim()).toBe(manifest.node);
    // The stripped binary still exports the N-API symbols native addons link against.
    const ortNode = spawnSync(
      node,
      ['-e', "console.log(require('onnxruntime-node').listSupportedBackends().map((b) => b.name).join())"],
      {
        encoding: 'utf8',
        env: { ...process.env, NODE_PATH: path.join(ROOT, 'node_modules') },
      },
    );
    expect(ortNode.stdout).toContain('cpu');
  });

  it('runs the whole check on the CPU and records every measurement and every failure in the JSON', async () => {
    const out = path.join(dir, 'out');
    const before = new Set(fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('spleeter-gpu-check.')));
    const extra = PEER_PYTHON ? ['--', '--python', PEER_PYTHON] : ['--', '--python', 'python3'];
    const res = await run('bash', [RUN, out, '--cpu-only', '--short', '--bundle', bundle, ...extra], 840_000);
    if (res.code !== 0) throw new Error(`run.sh exited ${res.code}:\n${res.out}`);
    const r = JSON.parse(fs.readFileSync(path.join(out, 'gpu-check.json'), 'utf8'));
    expect(r.schema).toBe('spleeter-gpu-check/1');
    expect(r.mode).toMatchObject({ cpuOnly: true, short: true, configs: ['2stems'], audioSeconds: 4 });

    const steps = Object.fromEntries(
      (r.steps as { name: string; ok: boolean; error?: string }[]).map((s) => [s.name, s]),
    );
    for (const name of [
      'environment',
      'models',
      'audio',
      'providers',
      'model-level',
      'separate gpu 2stems',
      'separate cpu 2stems',
      'separate cpu 2stems +1ulp',
      'compare',
      'identity exactness',
      'concurrent cpu 2stems cross-job batching',
    ])
      expect({ name, ok: steps[name]?.ok, error: steps[name]?.error }).toEqual({
        name,
        ok: true,
        error: undefined,
      });

    // Providers: WebGPU is listed but has no adapter here; that is reported, not hidden.
    expect(r.providers.backends.map((b: { name: string }) => b.name)).toEqual(
      expect.arrayContaining(['cpu', 'webgpu']),
    );
    expect(r.providers.providers.webgpu).toMatchObject({ listed: true, ok: false });
    expect(r.providers.providers.webgpu.error).toMatch(/adapter/i);
    expect(r.providers.engine.executionProvider).toBe('cpu');

    // Separations: the --gpu run fell back to the CPU with a warning; timings and factors are numbers.
    const seps = Object.fromEntries((r.separations as SeparationEntry[]).map((s) => [s.label, s]));
    expect(Object.keys(seps).sort()).toEqual([
      'cpu-2stems',
      'cpu-2stems-ulp',
      'cpu-identity',
      'gpu-2stems',
      'gpu-identity',
    ]);
    expect(seps['gpu-2stems']).toMatchObject({ requested: 'gpu', executionProvider: 'cpu', exitCode: 0 });
    expect((seps['gpu-2stems'].warnings ?? []).join('\n')).toMatch(/falling back to cpu/);
    for (const s of Object.values(seps)) {
      for (const k of ['totalMs', 'decodeMs', 'inferenceMs', 'dspMs', 'encodeMs'])
        expect(s.timings[k]).toBeGreaterThanOrEqual(0);
      for (const k of ['engine', 'wholeProcess', 'inferenceOnly'])
        expect(s.realtimeFactor[k]).toBeGreaterThan(0);
    }
    expect(seps['cpu-2stems'].audioSeconds).toBeCloseTo(4, 2);

    // Comparisons: the fallback ran the same CPU code, so it matches exactly; the 1-ulp floor is finite.
    expect(r.comparisons['2stems'].gpuVsCpu.minSnrDb).toBe('inf');
    const floor = r.comparisons['2stems'].floorCpuVsCpuUlp.minSnrDb;
    expect(floor).toBeGreaterThan(20);
    expect(floor).toBeLessThan(200);
    expect(Object.keys(r.comparisons['2stems'].floorCpuVsCpuUlp.perStem).sort()).toEqual([
      'accompaniment',
      'vocals',
    ]);
    expect(r.comparisons['2stems'].withinFloor).toBe(true);
    expect(r.identity).toMatchObject({ exact: true, minSnrDb: 'inf' });

    // Cross-job batching: 4 files at once through one engine, off then on (forced on the CPU here).
    expect(r.crossJob).toMatchObject({ config: '2stems', files: 4, secondsEach: 4 });
    for (const mode of ['off', 'on']) {
      expect(r.crossJob.runs[mode]).toMatchObject({ executionProvider: 'cpu' });
      expect(r.crossJob.runs[mode].modelCalls).toBeGreaterThanOrEqual(4);
      expect(r.crossJob.runs[mode].wallSeconds).toBeGreaterThan(0);
    }
    expect(r.crossJob.runs.off.sharedModelCalls).toBe(0);
    expect(r.crossJob.onOverOffWall).toBeGreaterThan(0);
    expect(r.summary.crossJob).toEqual(r.crossJob);

    // Model level: the network's float32 floor, CPU timing, and the WebGPU failure.
    const ml = r.modelLevel['2stems'];
    expect(ml).toMatchObject({ T: 512, F: 1024, instruments: ['vocals', 'accompaniment'] });
    expect(ml.cpu.floorSnrDb).toBeGreaterThan(40);
    expect(ml.providers['webgpu-NCHW'].error).toMatch(/adapter/i);
    expect(ml.timings[0]).toMatchObject({ provider: 'cpu', batch: 1, instruments: 2 });
    expect(ml.timings[0].realtimeFactor).toBeGreaterThan(0);

    // The peer: checked against onnxruntime when a python with torch is given, else skipped with a reason.
    if (PEER_PYTHON) {
      expect(steps['torch peer'].ok).toBe(true);
      expect(r.peer.configs['2stems'].check.ok).toBe(true);
      // conv + deconv + head kernels and biases of MODEL-FORMATS A5: 9,820,739 per instrument
      expect(r.peer.configs['2stems'].parameters).toBe(2 * 9_820_739);
    } else if (steps['torch peer'].ok === false) {
      expect(r.peer.skipped).toBe(true);
      expect(r.peer.reason).toMatch(/not importable/);
    }

    expect(r.summary).toMatchObject({ engineReports: 'cpu', target4stems: { goal: 1000 } });
    expect(r.summary.failedSteps.filter((s: string) => !s.startsWith('torch peer'))).toEqual([]);
    const log = fs.readFileSync(path.join(out, 'gpu-check.log'), 'utf8');
    expect(log).toContain('===== separate gpu 2stems =====');
    expect(log).toContain('[run.sh');
    // Nothing left in /tmp by the run.
    const after = fs
      .readdirSync(os.tmpdir())
      .filter((n) => n.startsWith('spleeter-gpu-check.') && !before.has(n));
    expect(after).toEqual([]);
  });
});
