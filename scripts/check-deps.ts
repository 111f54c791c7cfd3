/**
 * Lists the dependencies and devDependencies of package.json that nothing uses.
 *
 *   node -r @swc-node/register scripts/check-deps.ts [--why]   (exit 1 and a list when any is unused;
 *                                                            --why: what makes each other one used)
 *
 * A package counts as used when
 *   - a code file (src, test, scripts, web, bin, docker, root config files) imports or requires it
 *     (`from 'x'`, `import 'x'`, `import('x')`, `require('x')`, `require.resolve('x')`, deep paths
 *     such as 'x/sub' included) or names it as a whole string literal (`'pino-pretty'` as a pino
 *     transport, `'@swc/jest'` as a jest transform);
 *   - a config file that is not code (.swcrc, nest-cli.json, tsconfig*.json, docker/Dockerfile*,
 *     shell scripts) or package.json's own scripts name it, or run one of its binaries (read from
 *     node_modules/<pkg>/package.json `bin`, e.g. `tsc` for typescript);
 *   - it is `@types/x` and x is used or in a tsconfig's `types` (`@types/node`, `@types/jest`);
 *   - it is on ALLOWLIST below, each entry with the reason nothing names it.
 * The check is deliberately textual (no TypeScript program): it runs in about a second and errs on
 * the side of "used" (a name in a comment of a code file does not count, a string literal does).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'fs';
import * as path from 'path';

/** Packages nothing names, with the reason they are kept. Keep short; say why for each. */
export const ALLOWLIST: Record<string, string> = {
  'eslint-config-prettier': 'required by eslint-plugin-prettier/recommended (eslint.config.mjs)',
};

const CODE_EXT = /\.(ts|tsx|js|mjs|cjs)$/;
const CODE_DIRS = ['src', 'test', 'scripts', 'web', 'bin', 'docker'];
const SKIP_DIRS = new Set(['node_modules', 'dist', 'coverage', '.data', '.cache', '.git']);
/** Non-code files whose text may name a package or run one of its binaries. */
const TEXT_FILES = ['.swcrc', 'nest-cli.json', 'tsconfig.json', 'tsconfig.build.json', 'web/tsconfig.json'];

export interface DependencyReport {
  /** Declared, not used, not allowlisted. */
  unused: string[];
  /** Declared, used only through ALLOWLIST. */
  allowlisted: string[];
  /** Used packages → the first reason found (`--why` prints them). */
  usedBy: Record<string, string>;
  declared: number;
}

export function checkDependencies(root = path.resolve(__dirname, '..')): DependencyReport {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
    scripts?: Record<string, string>;
  };
  const declared = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {})];

  const codeFiles: string[] = [];
  for (const dir of CODE_DIRS) walk(path.join(root, dir), codeFiles);
  for (const f of readdirSync(root)) if (CODE_EXT.test(f)) codeFiles.push(path.join(root, f));

  const imported = new Set<string>();
  const literals = new Set<string>();
  for (const file of codeFiles) {
    if (path.resolve(file) === path.resolve(__filename)) continue; // its ALLOWLIST names packages
    const text = stripComments(readFileSync(file, 'utf8'));
    for (const spec of moduleSpecifiers(text)) {
      const name = packageName(spec);
      if (name) imported.add(name);
    }
    for (const m of text.matchAll(/['"`]([@a-z0-9][\w./@-]*)['"`]/gi)) {
      literals.add(m[1]);
      // A deep path kept in a table and imported later ('kubernetes-models/apps/v1').
      const name = packageName(m[1]);
      if (name) literals.add(name);
    }
  }

  // Text of the non-code files, package.json scripts and shell scripts: names and binaries.
  const textFiles = TEXT_FILES.map((f) => path.join(root, f)).filter((f) => existsSync(f));
  for (const dir of CODE_DIRS) walk(path.join(root, dir), textFiles, /(\.sh|^Dockerfile.*)$/);
  const texts = [
    ...textFiles.map((f) => readFileSync(f, 'utf8')),
    Object.values(pkg.scripts ?? {}).join('\n'),
  ].join('\n');
  const words = new Set(texts.split(/[^\w./@-]+/).filter(Boolean));
  const tsTypes = new Set<string>();
  for (const f of ['tsconfig.json', 'web/tsconfig.json']) {
    const p = path.join(root, f);
    if (!existsSync(p)) continue;
    // tsconfig is JSON with comments: read the "types" array textually.
    const types = /"types"\s*:\s*\[([^\]]*)\]/.exec(readFileSync(p, 'utf8'))?.[1] ?? '';
    for (const m of types.matchAll(/"([^"]+)"/g)) tsTypes.add(m[1]);
  }

  /** Why `name` counts as used, or null. */
  const usedBecause = (name: string): string | null => {
    if (imported.has(name)) return 'imported';
    if (literals.has(name)) return 'named in a string literal';
    if (words.has(name)) return 'named in a config file or npm script';
    const bin = binaries(root, name).find((b) => words.has(b));
    if (bin) return `binary ${bin} run by a script`;
    if (name.startsWith('@types/')) {
      const bare = name.slice('@types/'.length);
      const target = bare.includes('__') ? `@${bare.replace('__', '/')}` : bare;
      if (tsTypes.has(bare)) return 'in tsconfig types';
      if (usedBecause(target)) return `types of ${target}`;
    }
    return null;
  };

  const unused: string[] = [];
  const allowlisted: string[] = [];
  const usedBy: Record<string, string> = {};
  for (const name of declared) {
    const why = usedBecause(name);
    if (why) usedBy[name] = why;
    else if (name in ALLOWLIST) allowlisted.push(name);
    else unused.push(name);
  }
  return { unused: unused.sort(), allowlisted: allowlisted.sort(), usedBy, declared: declared.length };
}

function walk(dir: string, out: string[], pattern: RegExp = CODE_EXT): void {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP_DIRS.has(e.name)) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out, pattern);
    else if (e.isFile() && pattern.test(e.name)) out.push(p);
  }
}

/** Removes block and line comments (roughly: a `//` inside a string such as a URL may cut a line). */
function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\w])\/\/.*$/gm, '$1');
}

function moduleSpecifiers(text: string): string[] {
  const out: string[] = [];
  const re =
    /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*|\brequire\.resolve\s*\(\s*|\bjest\.mock\s*\(\s*)['"]([^'"]+)['"]/g;
  for (const m of text.matchAll(re)) out.push(m[1]);
  return out;
}

/** 'x/sub' → 'x', '@s/x/sub' → '@s/x'; relative paths, node: and built-ins → null. */
function packageName(spec: string): string | null {
  if (spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('node:')) return null;
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** The command names a package installs (its package.json `bin`). */
function binaries(root: string, name: string): string[] {
  const file = path.join(root, 'node_modules', name, 'package.json');
  if (!existsSync(file)) return [];
  const bin = (JSON.parse(readFileSync(file, 'utf8')) as { bin?: string | Record<string, string> }).bin;
  if (!bin) return [];
  return typeof bin === 'string' ? [name.split('/').pop()!] : Object.keys(bin);
}

if (require.main === module) {
  const report = checkDependencies();
  if (process.argv.includes('--why')) {
    for (const [name, why] of Object.entries(report.usedBy)) console.log(`used         ${name}: ${why}`);
  }
  for (const name of report.allowlisted) console.log(`allowlisted  ${name}: ${ALLOWLIST[name]}`);
  for (const name of report.unused) console.log(`unused       ${name}`);
  console.log(
    `${report.declared} declared, ${report.allowlisted.length} allowlisted, ${report.unused.length} unused`,
  );
  process.exitCode = report.unused.length > 0 ? 1 : 0;
}
