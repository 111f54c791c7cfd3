// Builds the web app into web/dist (served by src/modules/web at /). Every text asset is also
// written pre-compressed (.br, .gz) so the server sends compressed bytes without compressing per
// request; the size budget (300 KB compressed first load) is checked by test/e2e/web-ui.e2e-spec.ts.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { defineConfig } from 'vite';

const root = dirname(fileURLToPath(import.meta.url));
const COMPRESSIBLE = /\.(?:html|js|css|svg|json|txt)$/;

function precompress() {
  return {
    name: 'spleeter-precompress',
    apply: 'build',
    writeBundle(options) {
      const walk = (dir) => {
        for (const e of readdirSync(dir, { withFileTypes: true })) {
          const p = join(dir, e.name);
          if (e.isDirectory()) walk(p);
          else if (COMPRESSIBLE.test(e.name)) {
            const raw = readFileSync(p);
            writeFileSync(`${p}.gz`, gzipSync(raw, { level: 9 }));
            writeFileSync(
              `${p}.br`,
              brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }),
            );
          }
        }
      };
      walk(options.dir);
    },
  };
}

export default defineConfig({
  root,
  base: '/',
  publicDir: join(root, 'public'),
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: join(root, 'dist'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    // One small bundle: the polyfill would only matter for lazily loaded chunks.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
  plugins: [precompress()],
});
