/**
 * Packs what the one-call GPU check needs on a machine with no Node.js into one ignored folder
 * (default `.gpu-bundle/`), which the device tool carries next to the working tree (64 MiB in all).
 * Run through `scripts/gpu/pack`; `scripts/gpu/README.md` says how the bundle is used.
 *
 *   node.xz               this machine's `node`, stripped of debug symbols, xz-compressed
 *   ort-linux-x64.tar.xz  onnxruntime-node's linux-x64 native files (binding + libonnxruntime with
 *                         the WebGPU EP); no darwin/win32/arm64 binary is packed
 *   app.tar.xz            app/: the built dist/ (no .d.ts/.map), package.json, config/, the check
 *                         scripts (gpu/*.js transpiled from scripts/gpu/*.ts, torch_peer.py) and the
 *                         production packages the CLI actually loads (see below)
 *   debs/vulkan/*.deb     the Vulkan/EGL loaders (unpacked into / on the device, as the device README says)
 *   debs/tools/*.deb      vulkaninfo and its libraries (unpacked under /tmp there, diagnostics only)
 *   audio/clip.wav        the shared fixture clip decoded to WAV, when ../shared has it (never committed)
 *   manifest.json         what is in the bundle: sizes, sha256, versions, the size limit
 *
 * Which packages: the CLI is run here on a small input (model generation, a CPU separation with
 * worker threads, a `--gpu` separation that falls back) with a preload that records every module
 * resolution and native library load, in the main thread and in workers. Every package that
 * resolved is packed whole (minus type declarations, maps, docs, tests and other platforms'
 * binaries), with the `dependencies` of those packages, never a nested node_modules that nothing
 * resolved. That keeps out what a separation never loads (Nest, TypeORM, …)
 * without a hand-kept list that would go stale.
 *
 * Compression is the slow part (xz of ~130 MB of binaries): results are cached under
 * `.cache/gpu-pack/` keyed by the input's sha256 and the xz level.
 */
import { execFileSync, spawnSync } from 'child_process';
import { createHash } from 'crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'fs';
import * as os from 'os';
import { basename, dirname, join, relative, resolve, sep } from 'path';

const ROOT = resolve(__dirname, '..', '..');
const MiB = 1024 * 1024;
/** What the device tool carries at most: the working tree plus the carried paths. */
export const DEVICE_LIMIT_BYTES = 64 * MiB;
/** Kept free under the limit for files the tree gains between packing and the call. */
const SAFETY_BYTES = 2 * MiB;
const ORT_NATIVE_DIR = join('onnxruntime-node', 'bin', 'napi-v6', 'linux', 'x64');
const VULKAN_DEBS = ['libvulkan1', 'libegl1', 'libglvnd0', 'libopengl0', 'libgl1', 'libglx0', 'libgles2'];
const TOOL_DEBS = [
  'vulkan-tools',
  'libwayland-client0',
  'libx11-6',
  'libxcb1',
  'libxau6',
  'libxdmcp6',
  'libbsd0',
  'libmd0',
  'libffi8',
];
/** Never packed even if resolved: the check decodes and encodes WAV only; build tools. */
const NEVER = [
  /^@ffmpeg-installer\//,
  // onnxruntime-node's install script (it downloads the CUDA EP), never its run time
  /^adm-zip$/,
  /^global-agent$/,
  /^typescript$/,
  /^@swc\//,
  /^@swc-node\//,
  /^@types\//,
  /^jest/,
];
/** Folders left out at a package's top level only: deeper, such names can be code (yaml/dist/doc). */
const SKIP_TOP_DIRS = new Set([
  'test',
  'tests',
  '__tests__',
  'docs',
  'example',
  'examples',
  '.github',
  'bench',
  'coverage',
]);
const SKIP_FILE = /(\.d\.[cm]?ts|\.map|\.md|\.markdown|\.tsbuildinfo|\.ts|\.mts|\.cts)$/i;

interface PackOptions {
  out: string;
  build: 'npm' | 'swc' | 'none';
  level: number;
  debs: 'download' | 'none' | string;
  clip: string | null;
  cacheDir: string;
  extraTreeBytes?: number;
}

function usage(): never {
  process.stderr.write(
    [
      'usage: scripts/gpu/pack [--out DIR] [--build npm|swc|none] [--level 0-9] [--fast]',
      '                        [--debs download|none|DIR] [--clip WAV_OR_MP3|none] [--cache DIR]',
      '  --out    bundle folder (default .gpu-bundle; must be ignored by git to travel as `carry`)',
      '  --build  npm: `npm run build` (default); swc: transpile src/ into the bundle only; none: use dist/ as is',
      '  --level  xz preset (default 9); --fast = --level 0 (tests)',
      '  --debs   download (default: apt-get download, amd64), none, or a folder of .deb files',
      '  --clip   audio mixed under the generated input (default ../shared/fixtures/audio/audio_example.mp3 if present)',
      '',
    ].join('\n'),
  );
  process.exit(2);
}

function parseArgs(argv: string[]): PackOptions {
  const o: PackOptions = {
    out: join(ROOT, '.gpu-bundle'),
    build: 'npm',
    level: 9,
    debs: 'download',
    clip: join(ROOT, '..', 'shared', 'fixtures', 'audio', 'audio_example.mp3'),
    cacheDir: join(ROOT, '.cache', 'gpu-pack'),
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => argv[++i] ?? usage();
    if (a === '--out') o.out = resolve(v());
    else if (a === '--build') {
      const b = v();
      if (b !== 'npm' && b !== 'swc' && b !== 'none') usage();
      o.build = b;
    } else if (a === '--level') {
      o.level = Number(v());
      if (!Number.isInteger(o.level) || o.level < 0 || o.level > 9) usage();
    } else if (a === '--fast') o.level = 0;
    else if (a === '--debs') o.debs = v();
    else if (a === '--clip') {
      const c = v();
      o.clip = c === 'none' ? null : resolve(c);
    } else if (a === '--cache') o.cacheDir = resolve(v());
    else usage();
  }
  return o;
}

const say = (m: string) => process.stderr.write(`[pack] ${m}\n`);

function sh(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: Buffer } = {},
): Buffer {
  return execFileSync(cmd, args, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    input: opts.input,
    maxBuffer: 1 << 30,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
}

function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function sha256File(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** xz with a content-addressed cache: the same input and level are compressed once per machine. */
function xzCached(
  key: string,
  produce: (tmp: string) => void,
  cacheDir: string,
  level: number,
  target: string,
): void {
  mkdirSync(cacheDir, { recursive: true });
  const cached = join(cacheDir, `${key}.l${level}.xz`);
  if (!existsSync(cached)) {
    const raw = join(cacheDir, `${key}.raw.${process.pid}`);
    try {
      produce(raw);
      const threads = Math.max(1, Math.min(os.cpus().length, 4));
      sh('xz', [`-${level}`, `-T${threads}`, '-f', raw]);
      renameSync(`${raw}.xz`, cached);
    } finally {
      rmSync(raw, { force: true });
      rmSync(`${raw}.xz`, { force: true });
    }
    pruneCache(cacheDir, basename(cached));
  }
  copyFileSync(cached, target);
}

/** Keeps the cache from growing without bound: the 6 newest entries stay. */
function pruneCache(dir: string, keep: string): void {
  const entries = readdirSync(dir)
    .filter((n) => n.endsWith('.xz') && n !== keep)
    .map((n) => ({ n, t: statSync(join(dir, n)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  for (const e of entries.slice(5)) rmSync(join(dir, e.n), { force: true });
}

// ------------------------------------------------------------------------------------------------
// Build and transpile
// ------------------------------------------------------------------------------------------------

function swcOptions(): Record<string, unknown> {
  const rc = JSON.parse(readFileSync(join(ROOT, '.swcrc'), 'utf8')) as Record<string, unknown>;
  return { ...rc, sourceMaps: false, swcrc: false };
}

function transpileTree(srcDir: string, outDir: string, filter: (rel: string) => boolean): number {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const swc = require('@swc/core') as {
    transformFileSync(file: string, opts: Record<string, unknown>): { code: string };
  };
  const opts = swcOptions();
  let n = 0;
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      const rel = relative(srcDir, p);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.ts') && !name.endsWith('.d.ts') && filter(rel)) {
        const target = join(outDir, rel.replace(/\.ts$/, '.js'));
        mkdirSync(dirname(target), { recursive: true });
        writeFileSync(target, swc.transformFileSync(p, { ...opts, filename: p }).code);
        n++;
      }
    }
  };
  walk(srcDir);
  return n;
}

function copyTree(
  src: string,
  dst: string,
  keep: (rel: string, isDir: boolean) => boolean,
  base = src,
): void {
  mkdirSync(dst, { recursive: true });
  for (const name of readdirSync(src)) {
    const p = join(src, name);
    const st = statSync(p);
    const rel = relative(base, p);
    if (!keep(rel, st.isDirectory())) continue;
    if (st.isDirectory()) copyTree(p, join(dst, name), keep, base);
    else copyFileSync(p, join(dst, name));
  }
}

// ------------------------------------------------------------------------------------------------
// Which packages the CLI loads
// ------------------------------------------------------------------------------------------------

const TRACER = `'use strict';
const fs = require('fs');
const Module = require('module');
const out = process.env.GPU_PACK_TRACE;
const seen = new Set();
const note = (p) => { if (typeof p === 'string' && !seen.has(p)) { seen.add(p); try { fs.appendFileSync(out, p + '\\n'); } catch {} } };
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (...args) { const r = resolveFilename.apply(this, args); note(r); return r; };
const dlopen = process.dlopen;
process.dlopen = function (m, f, ...rest) { note(f); return dlopen.call(this, m, f, ...rest); };
`;

function writeTraceWav(file: string, seconds: number): void {
  const sr = 44100;
  const n = Math.round(seconds * sr);
  const b = Buffer.alloc(44 + n * 8);
  b.write('RIFF', 0, 'latin1');
  b.writeUInt32LE(36 + n * 8, 4);
  b.write('WAVEfmt ', 8, 'latin1');
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(3, 20);
  b.writeUInt16LE(2, 22);
  b.writeUInt32LE(sr, 24);
  b.writeUInt32LE(sr * 8, 28);
  b.writeUInt16LE(8, 32);
  b.writeUInt16LE(32, 34);
  b.write('data', 36, 'latin1');
  b.writeUInt32LE(n * 8, 40);
  for (let i = 0; i < 2 * n; i++)
    b.writeFloatLE(0.3 * Math.sin(i * 0.013) + 0.1 * Math.sin(i * 0.31), 44 + 4 * i);
  writeFileSync(file, b);
}

/** Runs the staged CLI with the tracer; returns every resolved path under the repo's node_modules. */
function traceCli(appDir: string, nodeModules: string): string[] {
  const dir = mkdtempSync(join(os.tmpdir(), 'gpu-pack-trace-'));
  try {
    const tracer = join(dir, 'tracer.js');
    const trace = join(dir, 'trace.txt');
    writeFileSync(tracer, TRACER);
    writeFileSync(trace, '');
    const wav = join(dir, 'in.wav');
    writeTraceWav(wav, 3);
    const cli = join(appDir, 'dist', 'cli', 'main.js');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NODE_PATH: nodeModules,
      NODE_OPTIONS: `--require ${tracer}`,
      GPU_PACK_TRACE: trace,
      SPLEETER_MODELS_DIR: join(dir, 'store'),
      SPLEETER_LOG_LEVEL: 'error',
    };
    const runs = [
      ['models', 'generate-test', join(dir, 'm'), '--config', '2stems', '--kind', 'identity'],
      ['separate', wav, '-m', join(dir, 'm'), '-o', join(dir, 'o1'), '--json', '-q', '--bit-depth', '32'],
      [
        'separate',
        wav,
        '-m',
        join(dir, 'm'),
        '-o',
        join(dir, 'o2'),
        '--json',
        '-q',
        '--bit-depth',
        '32',
        '--gpu',
        '-d',
        '1',
      ],
    ];
    for (const args of runs) {
      const r = spawnSync(process.execPath, [cli, ...args], {
        cwd: dir,
        env,
        encoding: 'utf8',
        timeout: 180_000,
      });
      if (r.status !== 0)
        throw new Error(
          `traced CLI run failed (${args.slice(0, 2).join(' ')}): exit ${r.status}: ${r.stderr}`,
        );
    }
    const gpuCheck = join(appDir, 'gpu', 'ort-model-check.js');
    const r = spawnSync(process.execPath, [gpuCheck, 'probe', '--model', join(dir, 'm', 'vocals.onnx')], {
      cwd: dir,
      env,
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (r.status !== 0) throw new Error(`traced ort-model-check failed: ${r.stdout}${r.stderr}`);
    return readFileSync(trace, 'utf8')
      .split('\n')
      .filter((p) => p.startsWith(nodeModules + sep));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** node_modules/<pkg> or node_modules/@scope/<pkg> (outermost) of a resolved path. */
export function packageRootOf(file: string, nodeModules: string): string | null {
  const rel = relative(nodeModules, file);
  if (rel.startsWith('..')) return null;
  const parts = rel.split(sep);
  const n = parts[0].startsWith('@') ? 2 : 1;
  if (parts.length <= n) return null;
  return join(nodeModules, ...parts.slice(0, n));
}

function packageName(root: string): string {
  const parts = root.split(sep);
  const i = parts.lastIndexOf('node_modules');
  return parts.slice(i + 1).join('/');
}

/** Finds `dep` as Node would from inside `fromDir`. */
function findPackage(dep: string, fromDir: string, stopAt: string): string | null {
  let d = fromDir;
  for (;;) {
    const candidate = join(d, 'node_modules', ...dep.split('/'));
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (d === stopAt || dirname(d) === d) return null;
    d = dirname(d);
  }
}

/** Traced package roots (outermost and nested) plus the closure of their dependencies. */
function packageClosure(traced: string[], nodeModules: string): string[] {
  const roots = new Set<string>();
  for (const file of traced) {
    // Every node_modules level on the path is a package that was used (nested ones included).
    const rel = relative(nodeModules, file).split(sep);
    let base = nodeModules;
    for (let i = 0; i < rel.length;) {
      const n = rel[i].startsWith('@') ? 2 : 1;
      if (i + n >= rel.length) break;
      const root = join(base, ...rel.slice(i, i + n));
      roots.add(root);
      const nm = rel.indexOf('node_modules', i + n);
      if (nm < 0) break;
      base = join(root, ...rel.slice(i + n, nm + 1));
      i = nm + 1;
    }
  }
  const queue = [...roots];
  while (queue.length) {
    const root = queue.pop()!;
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
    };
    for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) {
      if (NEVER.some((re) => re.test(dep))) continue; // nor what only they would bring in
      const found = findPackage(dep, root, dirname(nodeModules));
      if (found && !roots.has(found)) {
        roots.add(found);
        queue.push(found);
      }
    }
  }
  return [...roots].filter((r) => !NEVER.some((re) => re.test(packageName(r)))).sort();
}

/** Copies one package without docs, tests, maps, declarations or nested packages. */
function copyPackage(root: string, nodeModules: string, stageNodeModules: string): void {
  const target = join(stageNodeModules, relative(nodeModules, root));
  const isOrt = packageName(root) === 'onnxruntime-node';
  copyTree(root, target, (rel, isDir) => {
    const name = basename(rel);
    if (isDir) {
      // Nested packages are copied on their own, only when something resolved them.
      if (name === 'node_modules') return false;
      if (!rel.includes(sep) && SKIP_TOP_DIRS.has(name)) return false;
      // The native files travel in their own archive; every other platform stays here.
      if (isOrt && rel.split(sep)[0] === 'bin') return false;
      // protobufjs' code generators (`pbjs`/`pbts`), never loaded at run time.
      if (packageName(root).endsWith('protobufjs') && rel === 'cli') return false;
      return true;
    }
    if (/^(license|licence|notice|copying)/i.test(name)) return true;
    if (SKIP_FILE.test(name)) return false;
    return true;
  });
}

// ------------------------------------------------------------------------------------------------
// Debian packages, audio
// ------------------------------------------------------------------------------------------------

function collectDebs(o: PackOptions, outDir: string): string[] {
  if (o.debs === 'none') return [];
  const groups: [string, string[]][] = [
    ['vulkan', VULKAN_DEBS],
    ['tools', TOOL_DEBS],
  ];
  const written: string[] = [];
  let source = o.debs;
  if (o.debs === 'download') {
    source = join(o.cacheDir, 'debs');
    mkdirSync(source, { recursive: true });
    const missing = [...VULKAN_DEBS, ...TOOL_DEBS].filter(
      (p) => !readdirSync(source).some((f) => f.startsWith(`${p}_`)),
    );
    if (missing.length) {
      if (!has('apt-get'))
        throw new Error('apt-get not found: pass --debs DIR with the .deb files, or --debs none');
      const lists = join(o.cacheDir, 'apt-lists');
      mkdirSync(join(lists, 'partial'), { recursive: true });
      const aptOpts = [
        '-oAPT::Architecture=amd64',
        '-oAPT::Architectures=amd64',
        `-oDir::State::Lists=${lists}`,
      ];
      say(`apt-get download ${missing.join(' ')}`);
      sh('apt-get', [...aptOpts, 'update', '-qq']);
      sh('apt-get', [...aptOpts, 'download', ...missing], { cwd: source });
    }
  }
  for (const [group, names] of groups) {
    const dir = join(outDir, 'debs', group);
    mkdirSync(dir, { recursive: true });
    for (const p of names) {
      const file = readdirSync(source)
        .filter((f) => f.startsWith(`${p}_`) && f.endsWith('_amd64.deb'))
        .sort()
        .pop();
      if (!file) {
        if (group === 'vulkan') throw new Error(`${p}_*_amd64.deb not found in ${source}`);
        say(`warning: ${p} not found in ${source}; vulkaninfo may not run on the device`);
        continue;
      }
      // apt writes an epoch's ':' as '%3a'; keep names to letters, digits, '.', '_' and '-'.
      const safe = file.replace(/[^A-Za-z0-9._-]/g, '_');
      copyFileSync(join(source, file), join(dir, safe));
      written.push(join('debs', group, safe));
    }
  }
  return written;
}

function packClip(o: PackOptions, outDir: string): string | null {
  if (!o.clip || !existsSync(o.clip)) return null;
  const target = join(outDir, 'audio', 'clip.wav');
  mkdirSync(dirname(target), { recursive: true });
  if (o.clip.toLowerCase().endsWith('.wav')) copyFileSync(o.clip, target);
  else {
    const ffmpeg = has('ffmpeg') ? 'ffmpeg' : null;
    if (!ffmpeg) {
      say(`warning: no ffmpeg to decode ${o.clip}; the check will use generated audio only`);
      return null;
    }
    sh(ffmpeg, ['-v', 'error', '-y', '-i', o.clip, '-ac', '2', '-ar', '44100', '-c:a', 'pcm_s16le', target]);
  }
  return join('audio', 'clip.wav');
}

/** Bytes of the files git would send: tracked plus untracked-not-ignored (what travels besides carry). */
export function treeBytes(root: string): number {
  const out = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: root,
    maxBuffer: 1 << 28,
  });
  let n = 0;
  for (const f of out.toString('utf8').split('\0')) {
    if (!f) continue;
    try {
      n += statSync(join(root, f)).size;
    } catch {
      // deleted in the work tree
    }
  }
  return n;
}

function elfMachine(file: string): number | null {
  const b = readFileSync(file).subarray(0, 20);
  if (b.length < 20 || b.readUInt32BE(0) !== 0x7f454c46) return null;
  return b.readUInt16LE(18);
}

// ------------------------------------------------------------------------------------------------

function main(): void {
  const o = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  if (!has('xz')) throw new Error('xz not found (Debian: apt-get install xz-utils)');
  const nodeModules = join(ROOT, 'node_modules');
  if (o.build === 'npm') {
    say('npm run build');
    sh('npm', ['run', 'build'], { cwd: ROOT });
  }
  if (o.build !== 'swc' && !existsSync(join(ROOT, 'dist', 'cli', 'main.js')))
    throw new Error('dist/cli/main.js is missing: run with --build npm (default) or --build swc');

  rmSync(o.out, { recursive: true, force: true });
  mkdirSync(o.out, { recursive: true });
  const stage = mkdtempSync(join(os.tmpdir(), 'gpu-pack-stage-'));
  try {
    const app = join(stage, 'app');
    mkdirSync(app, { recursive: true });
    // 1. the application
    if (o.build === 'swc') {
      const n = transpileTree(join(ROOT, 'src'), join(app, 'dist'), (rel) => !rel.endsWith('.spec.ts'));
      say(`transpiled ${n} source files with swc`);
    } else {
      copyTree(
        join(ROOT, 'dist'),
        join(app, 'dist'),
        (rel, isDir) => isDir || !/(\.d\.ts|\.map|\.tsbuildinfo)$/.test(rel),
      );
    }
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({ name: pkg.name, version: pkg.version, private: true, main: 'dist/index.js' }, null, 2),
    );
    copyTree(join(ROOT, 'config'), join(app, 'config'), () => true);
    const gpuSrc = join(ROOT, 'scripts', 'gpu');
    transpileTree(gpuSrc, join(app, 'gpu'), (rel) =>
      ['gpu-check.ts', 'ort-model-check.ts', 'check-lib.ts'].includes(rel),
    );
    copyFileSync(join(gpuSrc, 'torch_peer.py'), join(app, 'gpu', 'torch_peer.py'));

    // 2. the packages it loads
    say('tracing which packages the CLI loads…');
    const traced = traceCli(app, nodeModules);
    const roots = packageClosure(traced, nodeModules);
    for (const r of roots) copyPackage(r, nodeModules, join(app, 'node_modules'));
    say(`packages (${roots.length}): ${roots.map(packageName).join(', ')}`);

    // 3. archives
    const nodeSrc = process.execPath;
    const nodeKey = `node-${sha256File(nodeSrc).slice(0, 16)}-stripped`;
    say(`compressing node (${(statSync(nodeSrc).size / MiB).toFixed(1)} MiB, xz -${o.level})…`);
    xzCached(
      nodeKey,
      (tmp) => {
        copyFileSync(nodeSrc, tmp);
        // Debug symbols only; the dynamic symbol table that native addons link against stays.
        if (has('strip')) sh('strip', ['--strip-debug', '--strip-unneeded', tmp]);
      },
      o.cacheDir,
      o.level,
      join(o.out, 'node.xz'),
    );
    const ortDir = join(nodeModules, ORT_NATIVE_DIR);
    const ortFiles = readdirSync(ortDir).filter((f) => f.endsWith('.node') || f.includes('.so'));
    for (const f of ortFiles) {
      const m = elfMachine(join(ortDir, f));
      if (m !== 0x3e) throw new Error(`${f} is not an x86-64 ELF file (machine ${m})`);
    }
    const ortKey = `ort-${createHash('sha256')
      .update(ortFiles.map((f) => sha256File(join(ortDir, f))).join())
      .digest('hex')
      .slice(0, 16)}`;
    say(`compressing onnxruntime-node linux-x64 (${ortFiles.join(', ')})…`);
    xzCached(
      ortKey,
      (tmp) => {
        const t = mkdtempSync(join(os.tmpdir(), 'gpu-pack-ort-'));
        try {
          const d = join(t, 'app', 'node_modules', ORT_NATIVE_DIR);
          mkdirSync(d, { recursive: true });
          for (const f of ortFiles) copyFileSync(join(ortDir, f), join(d, f));
          sh('tar', ['-C', t, '--owner=0', '--group=0', '-cf', tmp, 'app']);
        } finally {
          rmSync(t, { recursive: true, force: true });
        }
      },
      o.cacheDir,
      o.level,
      join(o.out, 'ort-linux-x64.tar.xz'),
    );
    say('compressing app…');
    const appTar = join(stage, 'app.tar');
    sh('tar', ['-C', stage, '--owner=0', '--group=0', '-cf', appTar, 'app']);
    sh('xz', [`-${o.level}`, '-T2', '-f', appTar]);
    copyFileSync(`${appTar}.xz`, join(o.out, 'app.tar.xz'));

    // 4. loaders, audio
    const debs = collectDebs(o, o.out);
    const clip = packClip(o, o.out);

    // 5. manifest and the size check
    const files = listFiles(o.out).map((f) => ({
      path: f,
      bytes: statSync(join(o.out, f)).size,
      sha256: sha256File(join(o.out, f)),
    }));
    const bundleBytes = files.reduce((a, f) => a + f.bytes, 0) + 4096;
    const tree = treeBytes(ROOT);
    const limit = DEVICE_LIMIT_BYTES - tree - SAFETY_BYTES;
    const ortPkg = JSON.parse(
      readFileSync(join(nodeModules, 'onnxruntime-node', 'package.json'), 'utf8'),
    ) as { version: string };
    const manifest = {
      schema: 'spleeter-gpu-bundle/1',
      createdAt: new Date().toISOString(),
      node: process.version,
      onnxruntimeNode: ortPkg.version,
      xzLevel: o.level,
      build: o.build,
      packages: roots.map(packageName),
      debs,
      clip,
      files,
      bundleBytes,
      treeBytes: tree,
      limitBytes: DEVICE_LIMIT_BYTES,
      bundleLimitBytes: limit,
    };
    writeFileSync(join(o.out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    const width = Math.max(...files.map((f) => f.path.length));
    const lines = files.map(
      (f) => `  ${f.path.padEnd(width)}  ${(f.bytes / MiB).toFixed(2).padStart(7)} MiB`,
    );
    process.stdout.write(
      [
        `GPU bundle ${o.out} (xz -${o.level}, ${((Date.now() - t0) / 1000).toFixed(0)} s):`,
        ...lines,
        `  total ${(bundleBytes / MiB).toFixed(2)} MiB; working tree ${(tree / MiB).toFixed(2)} MiB; both ${((bundleBytes + tree) / MiB).toFixed(2)} MiB of the device's 64 MiB`,
        '',
      ].join('\n'),
    );
    if (bundleBytes > limit)
      throw new Error(
        `bundle ${(bundleBytes / MiB).toFixed(2)} MiB is over its ${(limit / MiB).toFixed(2)} MiB budget`,
      );
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

function listFiles(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listFiles(p, base));
    else out.push(relative(base, p));
  }
  return out;
}

if (require.main === module) {
  try {
    main();
  } catch (err) {
    process.stderr.write(`pack: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
