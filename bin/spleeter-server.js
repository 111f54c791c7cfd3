#!/usr/bin/env node
'use strict';
// Runs the compiled CLI when present (npm run build), else the TypeScript sources through swc.
const path = require('path');
const fs = require('fs');
const compiled = path.join(__dirname, '..', 'dist', 'cli', 'main.js');
if (fs.existsSync(compiled)) {
  require(compiled);
} else {
  require('@swc-node/register');
  require(path.join(__dirname, '..', 'src', 'cli', 'main.ts'));
}
