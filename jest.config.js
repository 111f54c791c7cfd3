// Three projects: unit specs beside the code, integration and e2e specs under test/.
// swc transpiles (type checking is `npm run typecheck`), which keeps the suite fast on 2 cores.
const fs = require('fs');
const os = require('os');
const swcrc = JSON.parse(fs.readFileSync(__dirname + '/.swcrc', 'utf8'));
const transform = { '^.+\\.ts$': ['@swc/jest', { ...swcrc, swcrc: false }] };
const common = {
  transform,
  testEnvironment: '<rootDir>/test/jest-environment.js',
  moduleFileExtensions: ['ts', 'js', 'json'],
};
module.exports = {
  // 30 s per test by default: a 2-core CI machine under a full suite (ffmpeg children, onnxruntime
  // threads, the web build) stretches sub-second specs far past jest's 5 s default.
  testTimeout: 30_000,
  // At least two workers (jest's default on 2 cores is one): most integration and e2e suites
  // spend their time waiting on Redis, PostgreSQL, ffmpeg, child processes and timers, so a
  // second suite fills that time. 2-core machine, whole suite with coverage: 1,704 s → 750 s.
  // Every suite keeps its own Redis prefix/db, PostgreSQL database, ports and temporary dirs.
  maxWorkers: Math.max(2, os.cpus().length - 1),
  coverageDirectory: 'coverage',
  // src/openapi-metadata.ts is generated (scripts/openapi-metadata.ts): its lazy type factories
  // run only for the schemas a document needs, so it measures the generator, not our tests.
  collectCoverageFrom: [
    'src/**/*.ts',
    '!src/**/*.spec.ts',
    '!src/main.ts',
    '!src/cli/main.ts',
    '!src/openapi-metadata.ts',
  ],
  coverageReporters: ['text-summary', 'lcov'],
  projects: [
    {
      ...common,
      displayName: 'unit',
      rootDir: __dirname,
      testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/web/src/**/*.spec.ts'],
    },
    {
      ...common,
      displayName: 'integration',
      rootDir: __dirname,
      testMatch: ['<rootDir>/test/integration/**/*.spec.ts'],
    },
    { ...common, displayName: 'e2e', rootDir: __dirname, testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'] },
  ],
};
