import type { StemSink } from '../separation/types';
import { BUILTIN_MODELS, createBuiltinSeparator } from './builtin-models';

const SR = 44100;

async function run(id: string, mix: Float32Array, chunk = 10_000, blockSamples?: number) {
  const sut = createBuiltinSeparator(id, { blockSamples });
  const parts = new Map<string, Float32Array[]>(sut.stems.map((s) => [s, []]));
  const sink: StemSink = {
    write(stems) {
      const lens = new Set([...stems.values()].map((a) => a.length));
      expect(lens.size).toBe(1);
      for (const [k, v] of stems) parts.get(k)!.push(v.slice());
    },
  };
  async function* source() {
    for (let i = 0; i < mix.length; i += chunk * 2)
      yield mix.subarray(i, Math.min(mix.length, i + chunk * 2));
  }
  const stats = await sut.separate(source, sink, { totalSamples: mix.length / 2 });
  const out = new Map<string, Float32Array>();
  for (const [k, list] of parts) {
    const all = new Float32Array(list.reduce((a, b) => a + b.length, 0));
    let o = 0;
    for (const l of list) {
      all.set(l, o);
      o += l.length;
    }
    out.set(k, all);
  }
  return { sut, out, stats };
}

function energy(x: Float32Array, ch?: number): number {
  let e = 0;
  for (let i = ch ?? 0; i < x.length; i += ch === undefined ? 1 : 2) e += x[i] * x[i];
  return e;
}

function sumSnrDb(mix: Float32Array, a: Float32Array, b: Float32Array): number {
  let err = 0;
  for (let i = 0; i < mix.length; i++) err += (mix[i] - a[i] - b[i]) ** 2;
  return 10 * Math.log10(energy(mix) / Math.max(err, 1e-30));
}

describe('built-in separators', () => {
  it('lists both models with their stems', () => {
    expect(BUILTIN_MODELS.map((m) => [m.id, m.stems])).toEqual([
      ['builtin:hpss', ['harmonic', 'percussive']],
      ['builtin:center', ['center', 'sides']],
    ]);
    expect(() => createBuiltinSeparator('builtin:nope')).toThrow(/Unknown built-in model/);
  });

  it.each(['builtin:hpss', 'builtin:center'])(
    '%s: exact length and stems summing to the mixture, any chunking',
    async (id) => {
      for (const [N, chunk, block] of [
        [0, 100, undefined],
        [1, 1, undefined],
        [1000, 333, undefined],
        [50_000, 4097, 5000],
      ] as const) {
        const mix = new Float32Array(N * 2);
        for (let i = 0; i < mix.length; i++)
          mix[i] = Math.sin(i * 0.37) * 0.5 + ((i * 7919) % 101) / 400 - 0.125;
        const { out, stats, sut } = await run(id, mix, chunk, block);
        expect(sut.executionProvider).toBe('dsp');
        const [a, b] = sut.stems.map((s) => out.get(s)!);
        expect(a.length).toBe(N * 2);
        expect(b.length).toBe(N * 2);
        expect(stats.samples).toBe(N);
        if (N > 0) expect(sumSnrDb(mix, a, b)).toBeGreaterThan(100);
      }
    },
  );

  it('builtin:hpss puts a steady tone in harmonic and clicks in percussive', async () => {
    const N = SR * 2;
    const tone = new Float32Array(N * 2);
    const clicks = new Float32Array(N * 2);
    for (let n = 0; n < N; n++) {
      const v = 0.3 * Math.sin((2 * Math.PI * 440 * n) / SR);
      tone[2 * n] = v;
      tone[2 * n + 1] = v;
    }
    for (let n = 5000; n < N; n += 11025) {
      for (let j = 0; j < 32; j++) {
        const v = 0.9 * Math.exp(-j / 6) * (j % 2 ? -1 : 1);
        clicks[2 * (n + j)] = v;
        clicks[2 * (n + j) + 1] = v;
      }
    }
    const mix = tone.map((v, i) => v + clicks[i]);
    const { out } = await run('builtin:hpss', mix);
    const h = out.get('harmonic')!;
    const p = out.get('percussive')!;
    // Project each stem on the known components: energy of (stem − component) vs component.
    const resid = (x: Float32Array, ref: Float32Array) =>
      10 * Math.log10(energy(ref) / energy(x.map((v, i) => v - ref[i])));
    const toneInHarmonicSdr = resid(h, tone);
    const clicksInPercussiveSdr = resid(p, clicks);
    console.log(
      `hpss synthetic: tone→harmonic SDR ${toneInHarmonicSdr.toFixed(1)} dB, clicks→percussive SDR ${clicksInPercussiveSdr.toFixed(1)} dB`,
    );
    expect(toneInHarmonicSdr).toBeGreaterThan(10);
    expect(clicksInPercussiveSdr).toBeGreaterThan(3);
    // Energy ratios: the percussive stem holds far less tone than the harmonic stem does.
    const toneOnly = (await run('builtin:hpss', tone)).out;
    expect(energy(toneOnly.get('harmonic')!) / energy(toneOnly.get('percussive')!)).toBeGreaterThan(100);
    const clicksOnly = (await run('builtin:hpss', clicks)).out;
    expect(energy(clicksOnly.get('percussive')!) / energy(clicksOnly.get('harmonic')!)).toBeGreaterThan(10);
  });

  it('builtin:center separates a centre-panned tone from a hard-left tone', async () => {
    const N = SR;
    const centre = new Float32Array(N * 2);
    const left = new Float32Array(N * 2);
    for (let n = 0; n < N; n++) {
      const c = 0.3 * Math.sin((2 * Math.PI * 330 * n) / SR);
      centre[2 * n] = c;
      centre[2 * n + 1] = c;
      left[2 * n] = 0.3 * Math.sin((2 * Math.PI * 1250 * n) / SR);
    }
    const mix = centre.map((v, i) => v + left[i]);
    const { out } = await run('builtin:center', mix);
    const c = out.get('center')!;
    const s = out.get('sides')!;
    const sdr = (x: Float32Array, ref: Float32Array) =>
      10 * Math.log10(energy(ref) / energy(x.map((v, i) => v - ref[i])));
    const centreSdr = sdr(c, centre);
    const sidesSdr = sdr(s, left);
    console.log(
      `center synthetic: centre SDR ${centreSdr.toFixed(1)} dB, sides SDR ${sidesSdr.toFixed(1)} dB`,
    );
    expect(centreSdr).toBeGreaterThan(30);
    expect(sidesSdr).toBeGreaterThan(30);
    // Right channel of the sides stem is (almost) silent: the left tone never leaks there.
    expect(energy(s, 1) / energy(s, 0)).toBeLessThan(1e-3);
  });

  it('stops with JOB_CANCELED when the signal is aborted', async () => {
    const sut = createBuiltinSeparator('builtin:center');
    const ac = new AbortController();
    async function* source() {
      yield new Float32Array(2048);
      ac.abort();
      yield new Float32Array(2048);
    }
    await expect(
      sut.separate(source, { write: () => undefined }, { signal: ac.signal }),
    ).rejects.toMatchObject({
      code: 'JOB_CANCELED',
    });
  });
});
