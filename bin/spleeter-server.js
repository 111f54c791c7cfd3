#!/usr/bin/env node
'use strict';
// In a source checkout (src/ and the dev dependency @swc-node/register present) run the TypeScript
// sources, so the CLI never runs a stale build; otherwise (a published/production install) dist/.
const path = require('path');
const fs = require('fs');
const root = path.join(__dirname, '..');
const sources = path.join(root, 'src', 'cli', 'main.ts');
let register = null;
try {
  register = require.resolve('@swc-node/register', { paths: [root] });
} catch {
  register = null;
}
if (register && fs.existsSync(sources) && !process.env.SPLEETER_USE_DIST) {
  require(register);
  require(sources);
} else {
  require(path.join(root, 'dist', 'cli', 'main.js'));
}
