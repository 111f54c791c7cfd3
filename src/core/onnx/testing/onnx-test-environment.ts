/**
 * Jest environment for specs that run onnxruntime-node. Jest evaluates tests in a vm context with
 * its own typed-array constructors, while onnxruntime-node's native binding creates output tensors
 * with the host realm's Float32Array; onnxruntime-common's `instanceof` check then throws
 * "A float32 tensor's data must be type of function Float32Array()". Sharing the host constructors
 * with the sandbox removes the mismatch (and makes Buffer an instance of the sandbox's Uint8Array).
 *
 * Use with a docblock at the top of the spec:  @jest-environment ./src/core/onnx/testing/onnx-test-environment.ts
 */
import { TestEnvironment } from 'jest-environment-node';
import type { EnvironmentContext, JestEnvironmentConfig } from '@jest/environment';

const SHARED_GLOBALS = [
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
] as const;

export default class OnnxTestEnvironment extends TestEnvironment {
  constructor(config: JestEnvironmentConfig, context: EnvironmentContext) {
    super(config, context);
    const sandbox = this.global as unknown as Record<string, unknown>;
    const host = globalThis as unknown as Record<string, unknown>;
    for (const name of SHARED_GLOBALS) if (host[name] !== undefined) sandbox[name] = host[name];
  }
}
