import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-plugin-prettier/recommended';
import importX from 'eslint-plugin-import-x';

// Layers, lowest first. A layer imports only the layers before it:
//   core <- infra <- engine <- modules <- app (main.ts, worker.ts, cli/);
//   common/ (decorators, filters, logging, shared ports) imports core and infra only.
// (no-restricted-paths wants `from` all globs or no globs, hence the `/**`.)
const APP = ['./src/cli/**', './src/*.ts'];
const layerZones = [
  {
    target: './src/core',
    from: ['./src/infra/**', './src/engine/**', './src/common/**', './src/modules/**', ...APP],
  },
  { target: './src/infra', from: ['./src/engine/**', './src/common/**', './src/modules/**', ...APP] },
  { target: './src/engine', from: ['./src/common/**', './src/modules/**', ...APP] },
  { target: './src/common', from: ['./src/engine/**', './src/modules/**', ...APP] },
  { target: './src/modules', from: APP },
].map((z) => ({
  ...z,
  message: `${z.target.slice(2)} must not import a higher layer (core <- infra <- engine <- modules <- app; common imports core and infra only).`,
}));

// Feature modules, lowest first: a module imports only modules before it, so module folders cannot
// form a cycle. A piece two modules need moves down to common/ or core/. Add new modules here.
const MODULES = ['audit', 'security', 'cache', 'models', 'engine', 'separation', 'monitoring', 'web'];
const moduleZones = MODULES.map((m, i) => ({
  target: `./src/modules/${m}`,
  from: MODULES.slice(i + 1).map((above) => `./src/modules/${above}/**`),
  message: `modules/${m} must not import a module ranked above it (MODULES in eslint.config.mjs); move the shared piece to common/.`,
})).filter((z) => z.from.length > 0);

export default tseslint.config(
  { ignores: ['dist/**', 'coverage/**', 'node_modules/**', 'bin/**', '*.js', '*.mjs'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    languageOptions: { parserOptions: { projectService: false } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'warn',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    files: ['src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [importX.createNodeResolver({ extensions: ['.ts', '.js', '.json'] })],
    },
    rules: {
      'import-x/no-restricted-paths': ['error', { zones: [...layerZones, ...moduleZones] }],
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
    },
  },
);
