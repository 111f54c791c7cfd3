/**
 * Deterministic random U-Net weights for tests and benchmarks: the real architecture and filter
 * counts (MODEL-FORMATS A5), He-scaled kernels so activations stay O(1) through 12 layers (uniform,
 * which is also 5× cheaper than Box–Muller for the 10M weights per instrument), and non-trivial
 * BatchNorm statistics so a test notices a wrong BN formula (the official 2stems checkpoint has
 * mean 0 / variance 1, which would hide it).
 */
import type {
  BatchNormWeights,
  ConvWeights,
  UnetInstrumentWeights,
  UnetModelSpec,
} from '../spleeter/unet-weights';
import { SPLEETER_CONFIGS, type SpleeterConfigName } from './spleeter-configs';
import { expectedUnetShapes } from './spleeter-unet';

// Module-level aliases: inside jest's vm sandbox every global lookup (Math…) costs ~0.2 µs, which
// turns generating 10M weights into tens of seconds.
const { imul, sqrt, log, cos, sin, exp, PI } = Math;

/** mulberry32: tiny, fast, good enough for test data; seeded so files are reproducible. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = imul(t ^ (t >>> 15), t | 1);
    t ^= t + imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal generator (Box–Muller, both outputs used). */
export function gaussianSource(seed: number): () => number {
  const uniform = mulberry32(seed);
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = uniform();
    const v = uniform();
    const r = sqrt(-2 * log(u));
    spare = r * sin(2 * PI * v);
    return r * cos(2 * PI * v);
  };
}

function fill(n: number, f: () => number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = f();
  return out;
}

export interface TestUnetOptions {
  /** 1024 (default) or 1536; any value works for the graph, weights do not depend on F. */
  F?: number;
  seed?: number;
}

/** Mixes seed and instrument index so each instrument's weights are independent of the others. */
function instrumentSeed(seed: number, index: number): number {
  return (imul(seed ^ 0x9e3779b9, 0x85ebca6b) + imul(index + 1, 0xc2b2ae35)) >>> 0;
}

export function createTestUnetWeights(instrument: string, seed: number): UnetInstrumentWeights {
  const gauss = gaussianSource(seed);
  const uniform = mulberry32(seed ^ 0x5bd1e995);
  const shapes = expectedUnetShapes();
  const conv = (shape: [number, number, number, number], fanIn: number, outChannels: number): ConvWeights => {
    // he_uniform, Spleeter's own kernel initializer: U(±sqrt(6 / fan_in)), variance 2 / fan_in.
    const limit = sqrt(6 / fanIn);
    return {
      kernel: fill(shape[0] * shape[1] * shape[2] * shape[3], () => limit * (2 * uniform() - 1)),
      kernelShape: shape,
      bias: fill(outChannels, () => 0.05 * gauss()),
    };
  };
  const bn = (n: number): BatchNormWeights => ({
    gamma: fill(n, () => 1 + 0.1 * gauss()),
    beta: fill(n, () => 0.1 * gauss()),
    movingMean: fill(n, () => 0.1 * gauss()),
    movingVariance: fill(n, () => exp(0.3 * gauss())),
  });
  return {
    instrument,
    encoder: shapes.encoder.map((s) => conv(s, s[0] * s[1] * s[2], s[3])),
    encoderBn: shapes.encoder.slice(0, 5).map((s) => bn(s[3])),
    // A stride-2 transposed conv sums about kh·kw/4 taps per output: that is its fan-in.
    decoder: shapes.decoder.map((s) => conv(s, (s[0] * s[1] * s[3]) / 4, s[2])),
    decoderBn: shapes.decoder.map((s) => bn(s[2])),
    head: conv(shapes.head, shapes.head[0] * shapes.head[1] * shapes.head[2], shapes.head[3]),
  };
}

/** Full-size random model for a Spleeter config (real instruments, architecture and activations). */
export function createTestUnetSpec(config: SpleeterConfigName, opts: TestUnetOptions = {}): UnetModelSpec {
  const info = SPLEETER_CONFIGS[config];
  const seed = opts.seed ?? 1;
  return {
    architecture: info.architecture,
    convActivation: info.convActivation,
    deconvActivation: info.deconvActivation,
    F: opts.F ?? 1024,
    instruments: info.instruments.map((name, i) => createTestUnetWeights(name, instrumentSeed(seed, i))),
  };
}
