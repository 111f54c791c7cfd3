import { deinterleave, downmixToMono, interleave, mapChannels } from './channels';

const f = (...v: number[]) => Float32Array.from(v);

describe('mapChannels', () => {
  it('duplicates mono to every output channel (Spleeter A2)', () => {
    expect(mapChannels(f(1, 2, 3), 1, 2)).toEqual(f(1, 1, 2, 2, 3, 3));
  });

  it('keeps the first two of more channels without mixing the rest in (Spleeter A2)', () => {
    // 5.1 frames: L R C LFE Ls Rs
    expect(mapChannels(f(1, 2, 9, 9, 9, 9, 3, 4, 9, 9, 9, 9), 6, 2)).toEqual(f(1, 2, 3, 4));
  });

  it('averages L/R for a mono target', () => {
    expect(mapChannels(f(1, 0, 0.5, -0.5, 1, 1), 2, 1)).toEqual(f(0.5, 0, 1));
  });

  it('returns the same array when nothing changes and pads extra channels with silence', () => {
    const x = f(1, 2);
    expect(mapChannels(x, 2, 2)).toBe(x);
    expect(mapChannels(f(1, 2, 3, 4), 2, 3)).toEqual(f(1, 2, 0, 3, 4, 0));
  });
});

describe('downmixToMono / deinterleave / interleave', () => {
  it('averages every channel', () => {
    expect(downmixToMono(f(1, 2, 3, 0, 0, 3), 3)).toEqual(f(2, 1));
  });

  it('deinterleave and interleave are inverses', () => {
    const x = f(1, 2, 3, 4, 5, 6);
    const planes = deinterleave(x, 3);
    expect(planes).toEqual([f(1, 4), f(2, 5), f(3, 6)]);
    expect(interleave(planes)).toEqual(x);
  });
});
