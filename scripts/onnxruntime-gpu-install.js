#!/usr/bin/env node
'use strict';
// postinstall of this project. onnxruntime-node's own install script is denied in package.json
// (`allowScripts`): by default it downloads the CUDA execution provider from NuGet, which fails
// where only the npm registry is reachable and is useless without a GPU. A GPU host asks for it:
//
//   ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci
//
// and this runs onnxruntime-node's script then. Plain JavaScript: it runs before anything is built.
const { spawnSync } = require('child_process');

// The variable onnxruntime-node documents, or its npm flag (`npm ci --onnxruntime-node-install=cuda12`,
// which npm passes on as npm_config_onnxruntime_node_install but warns about as an unknown option).
const flag = process.env.ONNXRUNTIME_NODE_INSTALL || process.env.npm_config_onnxruntime_node_install;
if (!flag || flag === 'skip') process.exit(0);

let script;
try {
  script = require.resolve('onnxruntime-node/script/install.js', { paths: [process.cwd(), __dirname] });
} catch {
  process.stderr.write('onnxruntime-node is not installed: nothing to add the CUDA provider to\n');
  process.exit(1);
}
// Run from the project, the script takes itself for onnxruntime-node's own development checkout
// (npm_package_json is ours) and does nothing: hide npm's notion of the current package.
const env = { ...process.env };
delete env.npm_package_json;
delete env.npm_config_local_prefix;
process.stdout.write(`onnxruntime-node: installing the execution providers for ${flag}\n`);
const result = spawnSync(process.execPath, [script], { stdio: 'inherit', env });
process.exit(result.status ?? 1);
