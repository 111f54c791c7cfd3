#!/usr/bin/env node
'use strict';
// Runs the compiled CLI (dist/) when it is current, else, in a source checkout, the TypeScript
// sources through swc (slower to start and heavier: ~1 s and 140 MB against ~0.4 s and 75 MB), so a
// checkout never runs a stale build. "Current": `nest build` (deleteOutDir) writes
// dist/.tsbuildinfo last, so it is newer than every source file the build read, unless one changed
// since. Checking that stats the non-test sources once (a few ms).
// SPLEETER_USE_DIST=1 forces dist/, SPLEETER_USE_DIST=0 the sources.
const path = require('path');
const fs = require('fs');

const root = path.join(__dirname, '..');
const sources = path.join(root, 'src', 'cli', 'main.ts');
const compiled = path.join(root, 'dist', 'cli', 'main.js');

function mtimeMs(file) {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return null;
  }
}

/** True when some non-test source under `dir` changed after `stamp`. */
function changedSince(dir, stamp) {
  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return false;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (changedSince(p, stamp)) return true;
    } else if (e.name.endsWith('.ts') && !e.name.endsWith('.spec.ts')) {
      const m = mtimeMs(p);
      if (m !== null && m > stamp) return true;
    }
  }
  return false;
}

function distIsCurrent() {
  const stamp = mtimeMs(path.join(root, 'dist', '.tsbuildinfo'));
  if (stamp === null || mtimeMs(compiled) === null) return false;
  return !changedSince(path.join(root, 'src'), stamp);
}

function swcRegister() {
  try {
    return require.resolve('@swc-node/register', { paths: [root] });
  } catch {
    return null;
  }
}

const forced = process.env.SPLEETER_USE_DIST;
const haveSources = fs.existsSync(sources);
const useDist =
  forced === '0' || forced === 'false' ? false : forced ? true : !haveSources || distIsCurrent();
const register = useDist ? null : swcRegister();

if (!useDist && register && haveSources) {
  // swc-node reads tsconfig.json from the working directory by default; the CLI runs from anywhere
  // (without it, decorators do not compile and `serve` fails).
  process.env.SWC_NODE_PROJECT ??= path.join(root, 'tsconfig.json');
  require(register);
  require(sources);
} else {
  require(compiled);
}
