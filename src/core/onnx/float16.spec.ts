import { float16BitsToFloat32, float32ToFloat16Bits, fromFloat16Array, toFloat16Array } from './float16';

describe('float16', () => {
  it.each([
    [1, 0x3c00],
    [-2, 0xc000],
    [0.5, 0x3800],
    [65504, 0x7bff], // max finite
    [65520, 0x7c00], // rounds up to +inf
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -25, 0x0000], // exactly half of it: tie to even (0)
    [3 * 2 ** -25, 0x0002], // 1.5 × smallest: tie to even (2)
    [2 ** -14, 0x0400], // smallest normal
    [1 + 2 ** -11, 0x3c00], // tie between 1 and 1+2^-10: even mantissa (1)
    [1 + 3 * 2 ** -11, 0x3c02], // tie between 1+2^-10 and 1+2^-9: even mantissa
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
  ])('encodes %p as binary16 bits %i', (value, bits) => {
    expect(float32ToFloat16Bits(value)).toBe(bits);
  });

  it('keeps the sign of zero and encodes NaN as a NaN', () => {
    expect(float32ToFloat16Bits(-0)).toBe(0x8000);
    expect(Number.isNaN(float16BitsToFloat32(float32ToFloat16Bits(NaN)))).toBe(true);
  });

  it('round-trips every non-NaN half value exactly', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const asFloat = fromFloat16Array(all);
    const back = toFloat16Array(asFloat);
    for (let i = 0; i < 65536; i++) {
      if (Number.isNaN(asFloat[i])) continue;
      if (back[i] !== i) throw new Error(`0x${i.toString(16)} -> ${asFloat[i]} -> 0x${back[i].toString(16)}`);
    }
  });

  it('rounds to the nearest half (error at most half an ulp)', () => {
    for (const v of [0.1, 3.14159, -123.456, 1e-5, 5000.3]) {
      const h = float16BitsToFloat32(float32ToFloat16Bits(v));
      const ulp = 2 ** (Math.floor(Math.log2(Math.abs(v))) - 10);
      expect(Math.abs(h - v)).toBeLessThanOrEqual(Math.max(ulp, 2 ** -24) / 2);
    }
  });
});
