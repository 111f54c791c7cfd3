import { mergeSegmentInputs, splitSegmentOutput, totalSegments } from './segment-batch';
import { SPLEETER_T } from './types';

const F = 4;
const BLOCK = SPLEETER_T * F;

/** A CSTF tensor of S segments whose value at (c, s, t, f) encodes tag, c and s. */
function tensor(tag: number, S: number): Float32Array {
  const x = new Float32Array(2 * S * BLOCK);
  for (let c = 0; c < 2; c++)
    for (let s = 0; s < S; s++)
      for (let i = 0; i < BLOCK; i++) x[(c * S + s) * BLOCK + i] = tag * 1000 + c * 100 + s + i / BLOCK;
  return x;
}

describe('segment-batch', () => {
  it('concatenates the parts along S per channel, each part in order', () => {
    const a = tensor(1, 2);
    const b = tensor(2, 1);
    const c = tensor(3, 3);
    const merged = mergeSegmentInputs(
      [
        { input: a, S: 2 },
        { input: b, S: 1 },
        { input: c, S: 3 },
      ],
      F,
    );
    expect(merged.length).toBe(2 * 6 * BLOCK);
    // Segment index in the merged tensor → (part, its own segment), for both channels.
    const origin = [
      [1, 0],
      [1, 1],
      [2, 0],
      [3, 0],
      [3, 1],
      [3, 2],
    ];
    for (let ch = 0; ch < 2; ch++) {
      origin.forEach(([tag, s], m) => {
        const at = (ch * 6 + m) * BLOCK;
        expect(merged[at]).toBe(tag * 1000 + ch * 100 + s);
        expect(merged[at + BLOCK - 1]).toBeCloseTo(tag * 1000 + ch * 100 + s + (BLOCK - 1) / BLOCK, 3);
      });
    }
  });

  it('splits a merged tensor back into exactly the parts (round trip)', () => {
    const parts = [tensor(4, 3), tensor(5, 1), tensor(6, 2)].map((input, i) => ({ input, S: [3, 1, 2][i] }));
    const back = splitSegmentOutput(mergeSegmentInputs(parts, F), [3, 1, 2], F);
    expect(back).toHaveLength(3);
    back.forEach((p, i) =>
      expect(Buffer.from(p.buffer).equals(Buffer.from(parts[i].input.buffer))).toBe(true),
    );
    expect(totalSegments(parts)).toBe(6);
  });

  it('refuses a part whose length does not match its S, and an output of the wrong size', () => {
    expect(() => mergeSegmentInputs([{ input: tensor(1, 2), S: 1 }], F)).toThrow(RangeError);
    expect(() => splitSegmentOutput(new Float32Array(2 * 3 * BLOCK), [1, 1], F)).toThrow(RangeError);
  });
});
