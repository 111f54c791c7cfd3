import * as ort from 'onnxruntime-node';
import { ErrorCodes, ModelError } from '../../src/core/errors';
import {
  PER_CHANNEL_WEIGHT_ZERO_POINT,
  polyphaseKernel,
  quantizeSpleeterUnetInt8,
} from '../../scripts/bench/int8/spleeter-int8-quantizer';
import { parseOnnxMetadata } from '../../src/core/onnx/onnx-metadata-reader';
import { DataType, decodeModel, type GraphProto } from '../../src/core/onnx/onnx-protos';
import { quantizeUInt8 } from '../../src/core/onnx/spleeter-unet';
import { buildTinySpleeterOnnx } from '../../src/core/onnx/spleeter-tiny-models';
import { mulberry32 } from '../../src/core/onnx/test-weights';
import { buildTinyUnetOnnx } from '../factories/tiny-unet';

const T = 16;
const F = 32;
const S = 2;

async function run(bytes: Uint8Array, x: Float32Array): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  try {
    const out = await session.run({ x: new ort.Tensor('float32', x, [2, S, T, F]) });
    return out.y.data as Float32Array;
  } finally {
    await session.release();
  }
}

function snrDb(ref: Float32Array, x: Float32Array): number {
  let s = 0;
  let e = 0;
  for (let i = 0; i < ref.length; i++) {
    s += ref[i] ** 2;
    e += (ref[i] - x[i]) ** 2;
  }
  return 10 * Math.log10(s / e);
}

// Decoded messages hold every declared field (repeated ones as arrays).
const graphOf = (bytes: Uint8Array) => decodeModel(bytes).graph as Required<GraphProto>;

function initializer(bytes: Uint8Array, name: string): { dims: number[]; type: number; raw: Uint8Array } {
  const t = graphOf(bytes).initializer.find((i) => i.name === name);
  if (!t) throw new Error(`no initializer ${name}`);
  return { dims: (t.dims ?? []).map(Number), type: t.dataType ?? 0, raw: new Uint8Array(t.rawData ?? []) };
}
const floats = (raw: Uint8Array) => new Float32Array(raw.slice().buffer);

describe('quantizeSpleeterUnetInt8', () => {
  const fp32 = buildTinyUnetOnnx({ T, F });
  const r = mulberry32(3);
  const x = Float32Array.from({ length: 2 * S * T * F }, () => 2 * r());
  let reference: Float32Array;
  beforeAll(async () => {
    reference = await run(fp32, x);
  });

  // Measured on this model: 50–54 dB for every mode; a wrong scale, zero point or kernel layout
  // gives well under 20 dB.
  it.each([
    [{}, 1, 0, 40],
    [{ perChannel: true }, 1, 0, 40],
    [{ perChannel: true, deconv: true }, 1, 2, 40],
    [{ deconv: true }, 1, 2, 40],
  ])('%j: integer layers, same signature, output close to fp32', async (opts, convs, deconvs, minSnr) => {
    const sut = quantizeSpleeterUnetInt8(fp32, opts);
    expect([sut.convs, sut.deconvs]).toEqual([convs, deconvs]);
    const graph = graphOf(sut.bytes);
    const ops = graph.node.map((n) => n.opType);
    expect(ops.filter((o) => o === 'ConvInteger')).toHaveLength(convs + deconvs);
    // The first conv (2 input channels) and the head (1) stay float (MIN_INPUT_CHANNELS).
    expect(ops.filter((o) => o === 'Conv')).toHaveLength(2);
    expect(ops.filter((o) => o === 'ConvTranspose')).toHaveLength(2 - deconvs);
    // Float weights of replaced layers are dropped.
    expect(
      graph.initializer.filter((i) => i.dataType === DataType.FLOAT && i.dims?.length === 4),
    ).toHaveLength(4 - deconvs);
    const meta = await parseOnnxMetadata(sut.bytes);
    expect(meta.metadata).toMatchObject({ precision: 'int8', model_type: 'spleeter', instrument: 'vocals' });
    const before = await parseOnnxMetadata(fp32);
    expect(meta.inputs).toEqual(before.inputs);
    expect(meta.outputs).toEqual(before.outputs);
    const y = await run(sut.bytes, x);
    const snr = snrDb(reference, y);
    expect(snr).toBeGreaterThan(minSnr);
  });

  it('per channel: one scale per output channel (max |w| / 127) and one zero point 128', () => {
    const sut = quantizeSpleeterUnetInt8(fp32, { perChannel: true });
    // The second Conv (W_1: [16, 8, 5, 5]); the builder named its weight W_1, the node Conv_1.
    const w = floats(initializer(fp32, 'W_1').raw);
    const scale = initializer(sut.bytes, 'Conv_1_W_scale');
    const zero = initializer(sut.bytes, 'Conv_1_W_zero_point');
    const codes = initializer(sut.bytes, 'Conv_1_W_quantized');
    expect(scale.dims).toEqual([16, 1, 1]);
    expect(zero).toMatchObject({ dims: [], type: DataType.UINT8 });
    expect(zero.raw[0]).toBe(PER_CHANNEL_WEIGHT_ZERO_POINT);
    expect(codes.dims).toEqual([16, 8, 5, 5]);
    const s = floats(scale.raw);
    const per = 8 * 25;
    for (let c = 0; c < 16; c++) {
      const ch = w.subarray(c * per, (c + 1) * per);
      const amax = Math.max(...Array.from(ch, Math.abs));
      expect(s[c]).toBeCloseTo(amax / 127, 7);
      const q = codes.raw.subarray(c * per, (c + 1) * per);
      for (let i = 0; i < per; i++) {
        expect(Math.abs((q[i] - 128) * s[c] - ch[i])).toBeLessThanOrEqual(s[c] / 2 + 1e-7);
      }
      // The largest weight of each channel uses the full range.
      expect(Math.max(...Array.from(q, (v) => Math.abs(v - 128)))).toBe(127);
    }
  });

  it("per tensor: quantize_dynamic's asymmetric uint8 scale and zero point", () => {
    const sut = quantizeSpleeterUnetInt8(fp32);
    const expected = quantizeUInt8(floats(initializer(fp32, 'W_1').raw));
    expect(floats(initializer(sut.bytes, 'Conv_1_W_scale').raw)).toEqual(new Float32Array([expected.scale]));
    expect(initializer(sut.bytes, 'Conv_1_W_zero_point').raw).toEqual(new Uint8Array([expected.zeroPoint]));
    expect(initializer(sut.bytes, 'Conv_1_W_quantized').raw).toEqual(expected.values);
  });

  it('polyphaseKernel: a 3×3 conv of the packed kernel + interleave equals ConvTranspose 5×5/2 cropped [1:-2]', () => {
    const cin = 2;
    const cout = 3;
    const n = 4;
    const rand = mulberry32(9);
    const w = Float32Array.from({ length: cin * cout * 25 }, () => rand() - 0.5);
    const xin = Float32Array.from({ length: cin * n * n }, () => rand() - 0.5);
    // Direct: full transposed conv (2n+3)², cropped to rows/cols 1..2n.
    const full = new Float64Array(cout * (2 * n + 3) ** 2);
    const N = 2 * n + 3;
    for (let i = 0; i < cin; i++)
      for (let o = 0; o < cout; o++)
        for (let a = 0; a < n; a++)
          for (let c = 0; c < n; c++)
            for (let ky = 0; ky < 5; ky++)
              for (let kx = 0; kx < 5; kx++)
                full[(o * N + 2 * a + ky) * N + 2 * c + kx] +=
                  xin[(i * n + a) * n + c] * w[((i * cout + o) * 5 + ky) * 5 + kx];
    const k = polyphaseKernel(w, cin, cout);
    let maxErr = 0;
    for (let o = 0; o < cout; o++)
      for (let Y = 0; Y < 2 * n; Y++)
        for (let X = 0; X < 2 * n; X++) {
          const [m, py, l, px] = [Y >> 1, Y & 1, X >> 1, X & 1];
          const ch = (py * 2 + px) * cout + o;
          let acc = 0;
          for (let i = 0; i < cin; i++)
            for (let u = 0; u < 3; u++)
              for (let v = 0; v < 3; v++) {
                const [yy, xx] = [m + u - 1, l + v - 1];
                if (yy >= 0 && yy < n && xx >= 0 && xx < n)
                  acc += xin[(i * n + yy) * n + xx] * k[((ch * cin + i) * 3 + u) * 3 + v];
              }
          maxErr = Math.max(maxErr, Math.abs(acc - full[(o * N + Y + 1) * N + X + 1]));
        }
    expect(maxErr).toBeLessThan(1e-6);
  });

  it.each([
    ['bytes that are not ONNX', new Uint8Array([1, 2, 3, 255, 255]), /not an ONNX model/],
    [
      'another model type',
      buildTinyUnetOnnx({ T, F, metadata: { model_type: 'mdx' } }),
      /not a Spleeter model/,
    ],
    ['an fp16 file', buildTinyUnetOnnx({ T, F, metadata: { precision: 'fp16' } }), /expected an fp32 model/],
    [
      'a graph without Conv (identity stand-in)',
      buildTinySpleeterOnnx('identity', '2stems', 0, { layout: 'CSTF', F, T }),
      /no Conv/,
    ],
  ])('refuses %s with MODEL_INVALID', (_what, bytes, message) => {
    const attempt = () => quantizeSpleeterUnetInt8(bytes);
    expect(attempt).toThrow(ModelError);
    expect(attempt).toThrow(message);
    try {
      attempt();
    } catch (err) {
      expect((err as ModelError).code).toBe(ErrorCodes.MODEL_INVALID);
    }
  });

  it('refuses its own output (already int8)', () => {
    const once = quantizeSpleeterUnetInt8(fp32).bytes;
    expect(() => quantizeSpleeterUnetInt8(once)).toThrow(/expected an fp32 model, this one is int8/);
  });
});
