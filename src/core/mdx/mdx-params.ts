/**
 * UVR MDX-Net model parameters (MODEL-FORMATS C). UVR identifies a model file by the MD5 of its
 * last 10,240,000 bytes (the whole file when smaller) and looks the parameters up in
 * TRvlvr/application_data `mdx_model_data/model_data_new.json`; the entries we know are below.
 */
import { createHash } from 'crypto';
import { promises as fs } from 'fs';
import { ErrorCodes, ValidationError } from '../errors';

export const MDX_HOP = 1024;
export const MDX_SAMPLE_RATE = 44100;
export const MDX_HASH_TAIL_BYTES = 10_240_000;

export interface MdxModelParams {
  /** Frequency bins the network sees (bins ≥ dim_f are dropped / zero-filled). */
  dimF: number;
  /** STFT frames per chunk (2^mdx_dim_t_set). */
  dimT: number;
  nFft: number;
  hop: number;
  /** Gain applied to the primary stem. */
  compensate: number;
  /** Name of the stem the network outputs, lower-case ('vocals' | 'instrumental'). */
  primaryStem: string;
  /** Name of mixture − primary. */
  secondaryStem: string;
  isKaraoke?: boolean;
}

export interface KnownMdxModel extends MdxModelParams {
  name: string;
  md5: string;
}

const known = (
  name: string,
  md5: string,
  compensate: number,
  dimF: number,
  dimT: number,
  nFft: number,
  primaryStem: 'vocals' | 'instrumental',
  isKaraoke = false,
): KnownMdxModel => ({
  name,
  md5,
  compensate,
  dimF,
  dimT,
  nFft,
  hop: MDX_HOP,
  primaryStem,
  secondaryStem: primaryStem === 'vocals' ? 'instrumental' : 'vocals',
  ...(isKaraoke ? { isKaraoke } : {}),
});

export const KNOWN_MDX_MODELS: readonly KnownMdxModel[] = [
  known('UVR-MDX-NET-Voc_FT', '77d07b2667ddf05b9e3175941b4454a0', 1.021, 3072, 256, 7680, 'vocals'),
  known('UVR-MDX-NET-Inst_HQ_1', '291c2049608edb52648b96e27eb80e95', 1.035, 3072, 256, 6144, 'instrumental'),
  known('UVR_MDXNET_Main', '53c4baf4d12c3e6c3831bb8f5b532b93', 1.043, 3072, 256, 7680, 'vocals'),
  known('UVR_MDXNET_9482', '0ddfc0eb5792638ad5dc27850236c246', 1.035, 2048, 256, 6144, 'vocals'),
  known(
    'UVR_MDXNET_KARA_2',
    '1d64a6d2c30f709b8c9b4ce1366d96ee',
    1.065,
    2048,
    256,
    5120,
    'instrumental',
    true,
  ),
];

/** MD5 (hex) of the last 10,240,000 bytes of a file, or of the whole file if smaller — UVR's key. */
export async function mdxModelHash(file: string): Promise<string> {
  const fh = await fs.open(file, 'r');
  try {
    const { size } = await fh.stat();
    const start = Math.max(0, size - MDX_HASH_TAIL_BYTES);
    const hash = createHash('md5');
    const buf = Buffer.alloc(1 << 20);
    for (let pos = start; pos < size;) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - pos), pos);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
      pos += bytesRead;
    }
    return hash.digest('hex');
  } finally {
    await fh.close();
  }
}

export function findMdxParamsByHash(md5: string): KnownMdxModel | undefined {
  const key = md5.toLowerCase();
  return KNOWN_MDX_MODELS.find((m) => m.md5 === key);
}

/** Parameters of a model file by its UVR hash; undefined if the model is not in the table. */
export async function lookupMdxParams(file: string): Promise<KnownMdxModel | undefined> {
  return findMdxParamsByHash(await mdxModelHash(file));
}

/** Checks the constraints the separator relies on; throws ValidationError naming the problem. */
export function validateMdxParams(p: MdxModelParams): void {
  const problems: string[] = [];
  if (!Number.isInteger(p.nFft) || p.nFft < 8 || p.nFft % 2 !== 0)
    problems.push(`n_fft ${p.nFft} must be an even integer`);
  if (!Number.isInteger(p.hop) || p.hop <= 0) problems.push(`hop ${p.hop} must be a positive integer`);
  if (!Number.isInteger(p.dimF) || p.dimF < 4 || p.dimF > p.nFft / 2 + 1) {
    problems.push(`dim_f ${p.dimF} must be in [4, n_fft/2+1]`);
  }
  if (!Number.isInteger(p.dimT) || p.dimT < 2) problems.push(`dim_t ${p.dimT} must be an integer ≥ 2`);
  const chunk = p.hop * (p.dimT - 1);
  if (chunk - p.nFft <= 0) problems.push(`chunk ${chunk} (hop·(dim_t−1)) must exceed n_fft ${p.nFft}`);
  if (!(p.compensate > 0) || !Number.isFinite(p.compensate))
    problems.push(`compensate ${p.compensate} must be > 0`);
  if (problems.length) {
    throw new ValidationError(
      ErrorCodes.VALIDATION_FAILED,
      `Invalid MDX-Net parameters: ${problems.join('; ')}`,
      {
        params: p,
      },
    );
  }
}
