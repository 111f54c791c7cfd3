import { ErrorCodes } from '../errors';
import { isMdxOverlap, parseMdxOverlap, refuseMdxOptions } from './mdx-options';

describe('MDX-Net options', () => {
  it("overlap is 'default' or a number from 0 to 0.99", () => {
    for (const ok of ['default', 0, 0.25, 0.5, 0.99]) expect(isMdxOverlap(ok)).toBe(true);
    for (const bad of ['Default', 'auto', -0.01, 0.991, 1, Number.NaN, Infinity, null, undefined, '0.5'])
      expect(isMdxOverlap(bad)).toBe(false);
  });

  it('parses CLI/form text strictly', () => {
    expect(parseMdxOverlap('default')).toBe('default');
    expect(parseMdxOverlap(' DEFAULT ')).toBe('default');
    expect(parseMdxOverlap('0.5')).toBe(0.5);
    expect(parseMdxOverlap('.75')).toBe(0.75);
    expect(parseMdxOverlap('0')).toBe(0);
    for (const bad of ['', '1', '0.995', '-0.1', '1e-1', '0x1', 'half', '0.5s', 'NaN'])
      expect(parseMdxOverlap(bad)).toBeUndefined();
  });

  it('refuses overlap/denoise, whatever their value, for models that are not MDX-Net', () => {
    expect(() =>
      refuseMdxOptions({ name: 'mdx:x', kind: 'mdx' }, { overlap: 0.5, denoise: true }),
    ).not.toThrow();
    expect(() => refuseMdxOptions({ name: 'spleeter:2stems', kind: 'spleeter' }, {})).not.toThrow();
    expect(() =>
      refuseMdxOptions({ name: 'spleeter:2stems', kind: 'spleeter' }, { overlap: null, denoise: undefined }),
    ).not.toThrow();
    expect(() => refuseMdxOptions({ name: 'spleeter:2stems', kind: 'spleeter' }, { denoise: false })).toThrow(
      expect.objectContaining({
        code: ErrorCodes.OPTION_NOT_SUPPORTED,
        message: 'denoise applies to MDX-Net models only; spleeter:2stems is a Spleeter model',
        context: { field: 'denoise', model: 'spleeter:2stems', kind: 'spleeter' },
      }),
    );
    expect(() =>
      refuseMdxOptions({ name: 'builtin:hpss', kind: 'builtin' }, { overlap: 'default', denoise: true }),
    ).toThrow('overlap and denoise apply to MDX-Net models only; builtin:hpss is a built-in DSP model');
  });
});
