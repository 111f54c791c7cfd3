/**
 * MDX-Net test networks whose output makes the chunk cross-fade visible, and the stems they must
 * give, computed by hand from UVR's procedure (no separator code involved).
 *
 * The "ramp" network returns gain·input + C, where C holds, for every frame t, the spectrum of a
 * periodic-Hann-windowed constant: bin 0 = a_t·n_fft/2, bin 1 = −a_t·n_fft/4 (real), the rest 0.
 * Its iSTFT frame is a_t·w(k), so the chunk's waveform is g(j) = Σ_t a_t·w² / Σ_t w² over the
 * frames covering j: a smooth ramp from 0 to `amplitude` (left; right falls from `amplitude` to 0)
 * along each chunk, measured from the chunk's own start. Neighbouring chunks disagree where they
 * overlap, so the stem is exactly the cross-fade of shifted ramps: Σ_i h_i·g(p − s_i) / Σ_i h_i
 * with s_i = i·step and h_i the chunk's symmetric Hann.
 *
 * Denoise (½·f(x) − ½·f(−x)) removes C and leaves gain·input.
 */
import { mkdir, writeFile } from 'fs/promises';
import { join } from 'path';
import { OnnxGraphBuilder } from '../../src/core/onnx/onnx-graph-builder';
import type { MdxModelParams } from '../../src/core/mdx/mdx-params';
import { MdxSeparator, type MdxModelFn, type MdxSeparatorOptions } from '../../src/core/mdx/mdx-separator';

export interface RampOptions {
  /** Multiplies the input spectrum (0: the output ignores the input). */
  gain?: number;
  /** Height of the ramps. */
  amplitude?: number;
}

/** a_t (left) and b_t (right) for frames t < dim_t. */
function frameLevels(p: MdxModelParams, amplitude: number): { left: Float64Array; right: Float64Array } {
  const left = new Float64Array(p.dimT);
  const right = new Float64Array(p.dimT);
  for (let t = 0; t < p.dimT; t++) {
    left[t] = (amplitude * t) / (p.dimT - 1);
    right[t] = amplitude - left[t];
  }
  return { left, right };
}

/** C as float32 [4, dim_f, dim_t] (planes L-re, L-im, R-re, R-im). */
export function rampSpectrum(p: MdxModelParams, amplitude = 0.2): Float32Array {
  const { left, right } = frameLevels(p, amplitude);
  const plane = p.dimF * p.dimT;
  const c = new Float32Array(4 * plane);
  for (let t = 0; t < p.dimT; t++) {
    for (const [q, level] of [
      [0, left[t]],
      [2, right[t]],
    ] as const) {
      c[q * plane + t] = (level * p.nFft) / 2; // bin 0
      c[q * plane + p.dimT + t] = (-level * p.nFft) / 4; // bin 1
    }
  }
  return c;
}

/** The ramp network as an MdxModelFn, in float32 like onnxruntime. */
export function rampModelFn(p: MdxModelParams, opts: RampOptions = {}): MdxModelFn {
  const gain = Math.fround(opts.gain ?? 0);
  const c = rampSpectrum(p, opts.amplitude);
  return async (x, batch) => {
    const y = new Float32Array(x.length);
    for (let b = 0; b < batch; b++) {
      const base = b * c.length;
      for (let i = 0; i < c.length; i++) y[base + i] = Math.fround(x[base + i] * gain) + c[i];
    }
    return y;
  };
}

/** The ramp network as ONNX: output = input·gain + C (C built by broadcasting two small constants). */
export function buildMdxRampOnnx(p: MdxModelParams, opts: RampOptions = {}): Uint8Array {
  const amplitude = opts.amplitude ?? 0.2;
  const { left, right } = frameLevels(p, amplitude);
  const b = new OnnxGraphBuilder({ graphName: 'mdx_ramp' });
  const shape = ['batch', 4, p.dimF, p.dimT];
  b.addInput('input', 'float32', shape);
  const bins = new Float32Array(4 * p.dimF); // [1, 4, dim_f, 1]: re planes only, bins 0 and 1
  for (const q of [0, 2]) {
    bins[q * p.dimF] = p.nFft / 2;
    bins[q * p.dimF + 1] = -p.nFft / 4;
  }
  const levels = new Float32Array(4 * p.dimT); // [1, 4, 1, dim_t]
  for (let t = 0; t < p.dimT; t++) {
    levels[t] = left[t];
    levels[p.dimT + t] = left[t];
    levels[2 * p.dimT + t] = right[t];
    levels[3 * p.dimT + t] = right[t];
  }
  b.addNode(
    'Mul',
    [
      b.constant('bins', 'float32', [1, 4, p.dimF, 1], bins),
      b.constant('levels', 'float32', [1, 4, 1, p.dimT], levels),
    ],
    ['c'],
  );
  b.addNode('Mul', ['input', b.constant('gain', 'float32', [], Float32Array.of(opts.gain ?? 0))], ['scaled']);
  b.addNode('Add', ['scaled', 'c'], ['output']);
  b.addOutput('output', 'float32', shape);
  return b.serialize();
}

/**
 * g(j), j < chunk, for both channels: what torch.istft(center=True) makes of C — Σ_t a_t·w(k)² /
 * Σ_t w(k)² with k = j − t·hop + n_fft/2 over the frames covering j, w periodic Hann.
 */
export function rampWaveform(p: MdxModelParams, amplitude = 0.2): [Float64Array, Float64Array] {
  const chunk = p.hop * (p.dimT - 1);
  const { left, right } = frameLevels(p, amplitude);
  const half = Math.floor(p.nFft / 2);
  const w2 = new Float64Array(p.nFft);
  for (let k = 0; k < p.nFft; k++) w2[k] = (0.5 - 0.5 * Math.cos((2 * Math.PI * k) / p.nFft)) ** 2;
  const out: [Float64Array, Float64Array] = [new Float64Array(chunk), new Float64Array(chunk)];
  for (let j = 0; j < chunk; j++) {
    let l = 0;
    let r = 0;
    let d = 0;
    // Frames t with 0 ≤ j − t·hop + n_fft/2 < n_fft.
    const first = Math.max(0, Math.floor((j + half - p.nFft) / p.hop) + 1);
    const last = Math.min(p.dimT - 1, Math.floor((j + half) / p.hop));
    for (let t = first; t <= last; t++) {
      const w = w2[j - t * p.hop + half];
      l += left[t] * w;
      r += right[t] * w;
      d += w;
    }
    out[0][j] = l / d;
    out[1][j] = r / d;
  }
  return out;
}

/**
 * UVR's demix of N samples for an input-independent network whose chunk waveform is `g`: chunks
 * at i·step over the padded length (trim = n_fft/2 zeros, then pad = gen + trim − N mod gen),
 * each weighted by np.hanning(its real length) (by 1 when `rectangular`, UVR's overlap 0),
 * summed, divided by the summed weights, cut to [trim, trim + N) and scaled by compensate.
 * Returns interleaved stereo (the primary stem).
 */
export function uvrDemixOfWaveform(
  N: number,
  p: MdxModelParams,
  g: [Float64Array, Float64Array],
  step: number,
  rectangular = false,
): Float32Array {
  const chunk = p.hop * (p.dimT - 1);
  const trim = Math.floor(p.nFft / 2);
  const gen = chunk - 2 * trim;
  const L = trim + N + (gen + trim - (N % gen));
  const acc = [new Float64Array(L), new Float64Array(L)];
  const div = new Float64Array(L);
  for (let s = 0; s < L; s += step) {
    const actual = Math.min(chunk, L - s);
    const hann = (j: number) => (actual === 1 ? 1 : 0.5 - 0.5 * Math.cos((2 * Math.PI * j) / (actual - 1)));
    for (let j = 0; j < actual; j++) {
      const h = rectangular ? 1 : hann(j);
      acc[0][s + j] += h * g[0][j];
      acc[1][s + j] += h * g[1][j];
      div[s + j] += h;
    }
  }
  const out = new Float32Array(2 * N);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < 2; c++) out[2 * n + c] = (acc[c][trim + n] / div[trim + n]) * p.compensate;
  }
  return out;
}

export const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

/**
 * Small MDX-Net parameters for end-to-end runs (UVR's hop; chunk 31,744, n_fft 2,048: UVR's step
 * is 29,696 and overlap 0.5 gives 15,872, so a few seconds cross several seams).
 */
export const SMALL_MDX_PARAMS: MdxModelParams = {
  dimF: 256,
  dimT: 32,
  nFft: 2048,
  hop: 1024,
  compensate: 1.02,
  primaryStem: 'vocals',
  secondaryStem: 'instrumental',
};

/** The manifest an admin uploads with the ONNX file (POST /v1/admin/models). */
export function mdxUploadManifest(name: string, p: MdxModelParams = SMALL_MDX_PARAMS) {
  return {
    name,
    kind: 'mdx',
    stems: [p.primaryStem, p.secondaryStem],
    mdx: {
      compensate: p.compensate,
      dim_f: p.dimF,
      dim_t: p.dimT,
      n_fft: p.nFft,
      hop: p.hop,
      primary_stem: p.primaryStem,
      secondary_stem: p.secondaryStem,
    },
  };
}

/** A model directory as the CLI takes it (`-m <dir>`): model.onnx + mdx.json. */
export async function writeMdxModelDir(
  dir: string,
  p: MdxModelParams = SMALL_MDX_PARAMS,
  opts: RampOptions = {},
): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'model.onnx'), buildMdxRampOnnx(p, opts));
  const manifest = {
    format: 'mdx-onnx',
    version: 1,
    name: 'test-mdx-ramp',
    file: 'model.onnx',
    sample_rate: 44100,
    stems: [p.primaryStem, p.secondaryStem],
    params: {
      dim_f: p.dimF,
      dim_t: p.dimT,
      n_fft: p.nFft,
      hop: p.hop,
      compensate: p.compensate,
      primary_stem: p.primaryStem,
      secondary_stem: p.secondaryStem,
      is_karaoke: false,
    },
  };
  await writeFile(join(dir, 'mdx.json'), JSON.stringify(manifest, null, 2));
  return dir;
}

/**
 * What the library's MdxSeparator makes of interleaved 44.1 kHz stereo with the ramp network
 * (same options as a request): stem name → interleaved samples.
 */
export async function separateWithMdx(
  mix: Float32Array,
  options: Omit<MdxSeparatorOptions, 'params' | 'model'> & { params?: MdxModelParams; ramp?: RampOptions },
): Promise<Map<string, Float32Array>> {
  const { params = SMALL_MDX_PARAMS, ramp, ...rest } = options;
  const sut = new MdxSeparator({ params, model: rampModelFn(params, ramp), ...rest });
  const parts = new Map<string, Float32Array[]>(sut.stems.map((s) => [s, []]));
  await sut.separate(
    async function* () {
      yield mix;
    },
    { write: (stems) => stems.forEach((v, k) => parts.get(k)!.push(v)) },
  );
  const out = new Map<string, Float32Array>();
  for (const [k, list] of parts) {
    const all = new Float32Array(list.reduce((a, l) => a + l.length, 0));
    list.reduce((o, l) => (all.set(l, o), o + l.length), 0);
    out.set(k, all);
  }
  return out;
}
