/**
 * Straightforward whole-file, in-memory Spleeter separations written directly from
 * MODEL-FORMATS A3–A8 (no streaming, no batching, generic complex arithmetic), used by the specs
 * to check the streaming SpleeterSeparator. Small inputs only: everything is held in memory.
 */
import { computeStft, OverlapAddSynthesizer, Spectrogram } from '../../src/core/dsp/stft';
import { FULL_BANDWIDTH_REFERENCE_BINS } from '../../src/core/spleeter/ratio-mask';
import { SegmentModel, SPLEETER_BINS, SPLEETER_T } from '../../src/core/spleeter/types';

const BINS = SPLEETER_BINS;
// Module-level aliases: global lookups in hot loops are slow in jest's sandbox.
const { sqrt, hypot, max } = Math;

export interface WholeFileAnalysis {
  spec: Spectrogram;
  /** Segments (all of them in one model call). */
  S: number;
  /** Per instrument, CSTF [2, S, 512, F]. */
  outputs: Float32Array[];
}

/** STFT of the whole input, all segments' magnitudes in one tensor, one model call. */
export async function analyzeWholeFile(x: Float32Array, model: SegmentModel): Promise<WholeFileAnalysis> {
  const spec = computeStft(x, 2);
  const F = model.F;
  const S = Math.ceil(spec.frames / SPLEETER_T);
  const input = new Float32Array(2 * S * SPLEETER_T * F);
  for (let c = 0; c < 2; c++) {
    for (let t = 0; t < spec.frames; t++) {
      for (let f = 0; f < F; f++) {
        const r = spec.re[c][t * BINS + f];
        const i = spec.im[c][t * BINS + f];
        input[c * S * SPLEETER_T * F + t * F + f] = sqrt(r * r + i * i);
      }
    }
  }
  const outputs = await model.run(input, S);
  return { spec, S, outputs };
}

/** Runs the OLA synthesis over float64 spectra: spectra[t][c] = [re, im]. */
function synthesize(
  frames: number,
  length: number,
  spectrumOf: (t: number, c: number, re: Float64Array, im: Float64Array) => void,
): Float32Array {
  const synth = new OverlapAddSynthesizer({ channels: 2 });
  synth.setLength(length);
  const out = new Float32Array(2 * length);
  const re = new Float64Array(BINS);
  const im = new Float64Array(BINS);
  let w = 0;
  for (let t = 0; t < frames; t++) {
    for (let c = 0; c < 2; c++) {
      spectrumOf(t, c, re, im);
      synth.addSpectrum(c, re, im);
    }
    w += synth.advance(out, w);
  }
  w += synth.flush(out, w);
  if (w !== length) throw new Error(`reference synthesis wrote ${w} of ${length}`);
  return out;
}

/**
 * Ratio-mask separation (A6): mask_i = (y_i² + ε/n) / (Σ y_j² + ε), evaluated as
 * (y_i² + ε/n) · (1 / (Σ y_j² + ε)) like the separator so results can be compared bit for bit.
 */
export function referenceRatioSeparation(
  a: WholeFileAnalysis,
  F: number,
  length: number,
  instrument: number,
  fullBandwidth = false,
): Float32Array {
  const n = a.outputs.length;
  const eps = 1e-10;
  const K = Math.min(FULL_BANDWIDTH_REFERENCE_BINS, F);
  return synthesize(a.spec.frames, length, (t, c, re, im) => {
    const base = c * a.S * SPLEETER_T * F + t * F;
    let sum = 0;
    for (let f = 0; f < F; f++) {
      let den = 0;
      for (let j = 0; j < n; j++) den += a.outputs[j][base + f] * a.outputs[j][base + f];
      const y = a.outputs[instrument][base + f];
      const m = (y * y + eps / n) * (1 / (den + eps));
      if (f >= F - K) sum += m;
      re[f] = m * a.spec.re[c][t * BINS + f];
      im[f] = m * a.spec.im[c][t * BINS + f];
    }
    for (let f = F; f < BINS; f++) {
      const m = fullBandwidth ? sum / K : 0;
      re[f] = m * a.spec.re[c][t * BINS + f];
      im[f] = m * a.spec.im[c][t * BINS + f];
    }
  });
}

/** Mixture band-limited to bins < F (STFT → zero bins >= F → iSTFT), times `gain`. */
export function bandLimited(x: Float32Array, F: number, gain: number): Float32Array {
  const spec = computeStft(x, 2);
  return synthesize(spec.frames, x.length / 2, (t, c, re, im) => {
    for (let f = 0; f < BINS; f++) {
      re[f] = f < F ? spec.re[c][t * BINS + f] * gain : 0;
      im[f] = f < F ? spec.im[c][t * BINS + f] * gain : 0;
    }
  });
}

type C = [number, number];
const add = (a: C, b: C): C => [a[0] + b[0], a[1] + b[1]];
const mul = (a: C, b: C): C => [a[0] * b[0] - a[1] * b[1], a[0] * b[1] + a[1] * b[0]];
const scaleC = (a: C, s: number): C => [a[0] * s, a[1] * s];
const conj = (a: C): C => [a[0], -a[1]];
const div = (a: C, b: C): C => {
  const d = b[0] * b[0] + b[1] * b[1];
  return [(a[0] * b[0] + a[1] * b[1]) / d, (a[1] * b[0] - a[0] * b[1]) / d];
};
type M2 = [C, C, C, C]; // [m00, m01, m10, m11]
const matMul = (a: M2, b: M2): M2 => [
  add(mul(a[0], b[0]), mul(a[1], b[2])),
  add(mul(a[0], b[1]), mul(a[1], b[3])),
  add(mul(a[2], b[0]), mul(a[3], b[2])),
  add(mul(a[2], b[1]), mul(a[3], b[3])),
];

/**
 * norbert.wiener(v, x, iterations=1, use_softmask=True) as in A8, whole file, generic complex
 * 2×2 algebra (no Hermitian shortcuts). Returns the separated stereo signal of every instrument.
 * With fullBandwidth, bins >= F use the average soft mask of the top reference bins.
 */
export function referenceMwf(
  a: WholeFileAnalysis,
  F: number,
  length: number,
  fullBandwidth = false,
): Float32Array[] {
  const n = a.outputs.length;
  const eps = 1.1920929e-7;
  const frames = a.spec.frames;
  const K = Math.min(FULL_BANDWIDTH_REFERENCE_BINS, F);
  const active = fullBandwidth ? BINS : F;
  const x = (t: number, f: number, c: number): C => [a.spec.re[c][t * BINS + f], a.spec.im[c][t * BINS + f]];
  const v0 = (j: number, t: number, f: number, c: number): number =>
    a.outputs[j][c * a.S * SPLEETER_T * F + t * F + f];
  let maxAbs = 0;
  for (let t = 0; t < frames; t++)
    for (let f = 0; f < BINS; f++) for (let c = 0; c < 2; c++) maxAbs = max(maxAbs, hypot(...x(t, f, c)));
  const scale = max(1, maxAbs / 10);
  // Soft-mask estimates (scaled), y[((t*active + f)*n + j)*2 + c] as [re, im] pairs.
  const yStore = new Float64Array(frames * active * n * 4);
  const yIdx = (t: number, f: number, j: number, c: number): number =>
    (((t * active + f) * n + j) * 2 + c) * 2;
  const y = (t: number, f: number, j: number, c: number): C => [
    yStore[yIdx(t, f, j, c)],
    yStore[yIdx(t, f, j, c) + 1],
  ];
  for (let t = 0; t < frames; t++) {
    for (let c = 0; c < 2; c++) {
      const avg = Array.from({ length: n }, (_, j) => {
        let s = 0;
        for (let f = F - K; f < F; f++) {
          let tot = eps;
          for (let k = 0; k < n; k++) tot += v0(k, t, f, c);
          s += v0(j, t, f, c) / tot;
        }
        return s / K;
      });
      for (let f = 0; f < active; f++) {
        let tot = eps;
        if (f < F) for (let k = 0; k < n; k++) tot += v0(k, t, f, c);
        for (let j = 0; j < n; j++) {
          const r = f < F ? v0(j, t, f, c) / tot : avg[j];
          const e = scaleC(x(t, f, c), r / scale);
          yStore[yIdx(t, f, j, c)] = e[0];
          yStore[yIdx(t, f, j, c) + 1] = e[1];
        }
      }
    }
  }
  const v = (t: number, f: number, j: number): number => {
    const p = y(t, f, j, 0);
    const q = y(t, f, j, 1);
    return 0.5 * (p[0] * p[0] + p[1] * p[1] + q[0] * q[0] + q[1] * q[1]);
  };
  // R[j][f]: Σ_t y yᴴ / (eps + Σ_t v_j)
  const R: M2[][] = [];
  for (let j = 0; j < n; j++) {
    const Rj: M2[] = [];
    for (let f = 0; f < active; f++) {
      let acc: M2 = [
        [0, 0],
        [0, 0],
        [0, 0],
        [0, 0],
      ];
      let weight = eps;
      for (let t = 0; t < frames; t++) {
        const p = y(t, f, j, 0);
        const q = y(t, f, j, 1);
        acc = [
          add(acc[0], mul(p, conj(p))),
          add(acc[1], mul(p, conj(q))),
          add(acc[2], mul(q, conj(p))),
          add(acc[3], mul(q, conj(q))),
        ];
        weight += v(t, f, j);
      }
      Rj.push(acc.map((e) => scaleC(e, 1 / weight)) as M2);
    }
    R.push(Rj);
  }
  // y_j = v_j R_j Cxx⁻¹ x_scaled, then × scale
  const outRe = Array.from({ length: n }, () => [
    new Float64Array(frames * BINS),
    new Float64Array(frames * BINS),
  ]);
  const outIm = Array.from({ length: n }, () => [
    new Float64Array(frames * BINS),
    new Float64Array(frames * BINS),
  ]);
  for (let t = 0; t < frames; t++) {
    for (let f = 0; f < active; f++) {
      let Cxx: M2 = [
        [sqrt(eps), 0],
        [0, 0],
        [0, 0],
        [sqrt(eps), 0],
      ];
      for (let k = 0; k < n; k++) {
        const vk = v(t, f, k);
        Cxx = Cxx.map((e, idx) => add(e, scaleC(R[k][f][idx], vk))) as M2;
      }
      const det = add(mul(Cxx[0], Cxx[3]), scaleC(mul(Cxx[1], Cxx[2]), -1));
      const inv: M2 = [
        div(Cxx[3], det),
        div(scaleC(Cxx[1], -1), det),
        div(scaleC(Cxx[2], -1), det),
        div(Cxx[0], det),
      ];
      const xs0 = scaleC(x(t, f, 0), 1 / scale);
      const xs1 = scaleC(x(t, f, 1), 1 / scale);
      for (let j = 0; j < n; j++) {
        const G = matMul(R[j][f], inv).map((e) => scaleC(e, v(t, f, j))) as M2;
        const o0 = add(mul(G[0], xs0), mul(G[1], xs1));
        const o1 = add(mul(G[2], xs0), mul(G[3], xs1));
        outRe[j][0][t * BINS + f] = o0[0] * scale;
        outIm[j][0][t * BINS + f] = o0[1] * scale;
        outRe[j][1][t * BINS + f] = o1[0] * scale;
        outIm[j][1][t * BINS + f] = o1[1] * scale;
      }
    }
  }
  return outRe.map((_, j) =>
    synthesize(frames, length, (t, c, re, im) => {
      re.set(outRe[j][c].subarray(t * BINS, (t + 1) * BINS));
      im.set(outIm[j][c].subarray(t * BINS, (t + 1) * BINS));
    }),
  );
}
