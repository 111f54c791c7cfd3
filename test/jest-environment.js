// jest runs specs in a vm context with its own typed-array constructors, but native addons
// (onnxruntime-node, better-sqlite3) create typed arrays of Node's main realm, so `instanceof
// Float32Array` checks inside libraries fail. jest-environment-node already shares Uint8Array and
// ArrayBuffer with the main realm; share the other typed arrays too so both sides agree.
const { TestEnvironment } = require('jest-environment-node');

const SHARED = [
  'ArrayBuffer',
  'SharedArrayBuffer',
  'DataView',
  'Int8Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
];

class SharedTypedArraysEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of SHARED) {
      if (typeof globalThis[name] === 'function') this.global[name] = globalThis[name];
    }
  }
}

module.exports = SharedTypedArraysEnvironment;
