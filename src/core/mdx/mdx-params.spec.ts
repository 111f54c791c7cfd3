import { createHash } from 'crypto';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  KNOWN_MDX_MODELS,
  MDX_HASH_TAIL_BYTES,
  findMdxParamsByHash,
  lookupMdxParams,
  mdxModelHash,
  validateMdxParams,
} from './mdx-params';

describe('MDX-Net parameters', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mdx-params-'));
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('holds the MODEL-FORMATS C table', () => {
    expect(findMdxParamsByHash('77D07B2667DDF05B9E3175941B4454A0')).toMatchObject({
      name: 'UVR-MDX-NET-Voc_FT',
      compensate: 1.021,
      dimF: 3072,
      dimT: 256,
      nFft: 7680,
      hop: 1024,
      primaryStem: 'vocals',
      secondaryStem: 'instrumental',
    });
    expect(findMdxParamsByHash('1d64a6d2c30f709b8c9b4ce1366d96ee')).toMatchObject({
      dimF: 2048,
      nFft: 5120,
      primaryStem: 'instrumental',
      isKaraoke: true,
    });
    expect(findMdxParamsByHash('00000000000000000000000000000000')).toBeUndefined();
    for (const m of KNOWN_MDX_MODELS) expect(() => validateMdxParams(m)).not.toThrow();
  });

  it('hashes only the last 10,240,000 bytes of a large file, the whole of a small one', async () => {
    const big = Buffer.alloc(MDX_HASH_TAIL_BYTES + 1234);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >> 8)) & 0xff;
    const bigPath = path.join(dir, 'big.onnx');
    await fs.writeFile(bigPath, big);
    const tail = createHash('md5').update(big.subarray(1234)).digest('hex');
    expect(await mdxModelHash(bigPath)).toBe(tail);
    expect(tail).not.toBe(createHash('md5').update(big).digest('hex'));
    const smallPath = path.join(dir, 'small.onnx');
    await fs.writeFile(smallPath, 'tiny model');
    expect(await mdxModelHash(smallPath)).toBe(createHash('md5').update('tiny model').digest('hex'));
    expect(await lookupMdxParams(smallPath)).toBeUndefined();
  });

  it('rejects parameters the chunking cannot work with', () => {
    const ok = KNOWN_MDX_MODELS[0];
    expect(() => validateMdxParams({ ...ok, dimF: 5000 })).toThrow(/dim_f/);
    expect(() => validateMdxParams({ ...ok, dimT: 4 })).toThrow(/chunk/);
    expect(() => validateMdxParams({ ...ok, nFft: 7681 })).toThrow(/n_fft/);
  });
});
