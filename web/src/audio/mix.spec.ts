import { effectiveGains, mixLabel, mixStems } from './mix';
import { decodeWavPcm, encodeWav16 } from './wav';

describe('effectiveGains', () => {
  it('applies volume, mute and solo the way a mixing desk does', () => {
    const c = (volume: number, muted = false, solo = false) => ({ volume, muted, solo });
    expect(effectiveGains([c(1), c(0.5), c(0.8, true)])).toEqual([1, 0.5, 0]);
    expect(effectiveGains([c(1), c(0.5, false, true), c(0.8)])).toEqual([0, 0.5, 0]);
    // A muted solo stays muted.
    expect(effectiveGains([c(1, true, true), c(0.5)])).toEqual([0, 0]);
  });
});

describe('mixStems', () => {
  const stereo = (l: number[], r: number[]) => [Float32Array.from(l), Float32Array.from(r)];

  it('is the weighted sum of the audible stems, sample by sample', () => {
    const a = stereo([0.1, 0.2, 0.3], [0, -0.1, 0.2]);
    const b = stereo([0.5, 0.5, 0.5], [0.25, 0.25, 0.25]);
    const c = stereo([0.9, 0.9, 0.9], [0.9, 0.9, 0.9]);
    const out = mixStems([a, b, c], [1, 0.5, 0]);
    const close = (got: Float32Array, want: number[]) =>
      want.forEach((w, i) => expect(got[i]).toBeCloseTo(w, 6));
    close(out[0], [0.1 + 0.25, 0.2 + 0.25, 0.3 + 0.25]);
    close(out[1], [0.125, -0.1 + 0.125, 0.2 + 0.125]);
  });

  it('pads a shorter stem with silence and spreads a mono stem over both channels', () => {
    const long = stereo([0.1, 0.1, 0.1, 0.1], [0.2, 0.2, 0.2, 0.2]);
    const shortMono = [Float32Array.from([0.5, 0.5])];
    const out = mixStems([long, shortMono], [1, 1]);
    expect(out).toHaveLength(2);
    [0.6, 0.6, 0.1, 0.1].forEach((w, i) => expect(out[0][i]).toBeCloseTo(w, 6));
    [0.7, 0.7, 0.2, 0.2].forEach((w, i) => expect(out[1][i]).toBeCloseTo(w, 6));
  });
});

describe('mixLabel', () => {
  it('names a karaoke mix and lists the audible stems otherwise', () => {
    const names = ['vocals', 'drums', 'bass', 'other'];
    expect(mixLabel(names, [0, 1, 1, 1])).toBe('no vocals (karaoke)');
    expect(mixLabel(names, [0, 1, 0, 1])).toBe('drums+other');
    expect(mixLabel(names, [1, 1, 1, 1])).toBe('all stems');
  });
});

describe('encodeWav16', () => {
  it('writes a canonical 16-bit PCM header and rounded, clipped, interleaved samples', () => {
    const wav = new DataView(
      encodeWav16([Float32Array.from([0, 0.5, 2]), Float32Array.from([-1, -0.25, -3])], 22050),
    );
    const text = (o: number) => String.fromCharCode(...[0, 1, 2, 3].map((i) => wav.getUint8(o + i)));
    expect([text(0), text(8), text(12), text(36)]).toEqual(['RIFF', 'WAVE', 'fmt ', 'data']);
    expect(wav.getUint16(20, true)).toBe(1);
    expect(wav.getUint16(22, true)).toBe(2);
    expect(wav.getUint32(24, true)).toBe(22050);
    expect(wav.getUint16(34, true)).toBe(16);
    expect(wav.getUint32(40, true)).toBe(12);
    const samples = [0, 1, 2, 3, 4, 5].map((i) => wav.getInt16(44 + i * 2, true));
    expect(samples).toEqual([0, -32768, 16384, -8192, 32767, -32768]);
  });
});

describe('decodeWavPcm', () => {
  const header = (format: number, channels: number, rate: number, bits: number, dataBytes: number) => {
    const v = new DataView(new ArrayBuffer(44 + dataBytes));
    const put = (o: number, t: string) => [...t].forEach((ch, i) => v.setUint8(o + i, ch.charCodeAt(0)));
    put(0, 'RIFF');
    v.setUint32(4, 36 + dataBytes, true);
    put(8, 'WAVE');
    put(12, 'fmt ');
    v.setUint32(16, 16, true);
    v.setUint16(20, format, true);
    v.setUint16(22, channels, true);
    v.setUint32(24, rate, true);
    v.setUint16(32, (channels * bits) / 8, true);
    v.setUint16(34, bits, true);
    put(36, 'data');
    v.setUint32(40, dataBytes, true);
    return v;
  };

  it('reads back exactly what encodeWav16 wrote (integers over 32768, no 32767 asymmetry)', () => {
    const left = Float32Array.from([0, 0.5, -0.5, 32767 / 32768, -1]);
    const right = Float32Array.from([0.25, -0.25, 1 / 32768, -1 / 32768, 0]);
    const pcm = decodeWavPcm(encodeWav16([left, right], 44100))!;
    expect(pcm.sampleRate).toBe(44100);
    expect(Array.from(pcm.channels[0])).toEqual(Array.from(left));
    expect(Array.from(pcm.channels[1])).toEqual(Array.from(right));
  });

  it('reads 24-bit integer and 32-bit float samples', () => {
    const v24 = header(1, 1, 48000, 24, 6);
    [0x00, 0x00, 0x40, 0x00, 0x00, 0x80].forEach((b, i) => v24.setUint8(44 + i, b)); // +0.5, -1
    expect(Array.from(decodeWavPcm(v24.buffer as ArrayBuffer)!.channels[0])).toEqual([0.5, -1]);
    const f32 = header(3, 1, 8000, 32, 4);
    f32.setFloat32(44, -0.125, true);
    expect(Array.from(decodeWavPcm(f32.buffer as ArrayBuffer)!.channels[0])).toEqual([-0.125]);
  });

  it('leaves other formats to the browser', () => {
    expect(decodeWavPcm(new TextEncoder().encode('fLaC....').buffer as ArrayBuffer)).toBeNull();
    expect(decodeWavPcm(header(2, 1, 8000, 4, 0).buffer as ArrayBuffer)).toBeNull(); // ADPCM
  });
});
