/**
 * Transpiles src/ (without specs) into dist/ with swc, the way `npm start`, the CLI from a checkout
 * and jest already run the code (.swcrc: decorators and their metadata, CommonJS, ES2022). No type
 * checking and no .d.ts files: the images use it (seconds instead of the minutes `nest build`'s tsc
 * takes on 2 cores); `npm run build` keeps tsc for the library's type declarations, and `npm test`
 * type-checks.
 *
 *   node -r @swc-node/register scripts/build-dist-swc.ts [outDir]
 */
import { transformFile, type Options } from '@swc/core';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..');
const SRC = path.join(ROOT, 'src');

function sources(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) sources(p, out);
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.spec.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

async function main(): Promise<void> {
  const outDir = path.resolve(ROOT, process.argv[2] ?? 'dist');
  const swcrc = JSON.parse(readFileSync(path.join(ROOT, '.swcrc'), 'utf8')) as Options;
  rmSync(outDir, { recursive: true, force: true });
  const files = sources(SRC);
  const t0 = Date.now();
  // A few at a time: swc's transforms run on its own thread pool.
  for (let i = 0; i < files.length; i += 16) {
    await Promise.all(
      files.slice(i, i + 16).map(async (file) => {
        const rel = path.relative(SRC, file).replace(/\.ts$/, '.js');
        const target = path.join(outDir, rel);
        const { code, map } = await transformFile(file, {
          ...swcrc,
          swcrc: false,
          filename: file,
          sourceMaps: true,
          sourceFileName: path.relative(path.dirname(target), file),
        });
        mkdirSync(path.dirname(target), { recursive: true });
        writeFileSync(target, `${code}\n//# sourceMappingURL=${path.basename(target)}.map\n`);
        if (map) writeFileSync(`${target}.map`, map);
      }),
    );
  }
  process.stdout.write(
    `swc: ${files.length} files → ${path.relative(ROOT, outDir)}/ in ${Date.now() - t0} ms\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
