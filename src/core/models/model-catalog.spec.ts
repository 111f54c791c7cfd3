import * as fs from 'fs';
import * as path from 'path';
import { parse as parseYaml } from 'yaml';
import { BUILTIN_MODELS } from './builtin-models';
import {
  MODEL_NAME_PATTERN,
  MODEL_REFERENCE_MAX_LENGTH,
  MODEL_REFERENCE_PATTERN,
  ModelCatalog,
  archiveTypeOf,
  modelDirName,
  modelNameFromDir,
  parseCustomModelManifest,
  parseModelRef,
} from './model-catalog';
import { nextVersionId, normaliseVersionId } from './model-version';

const SHIPPED = path.resolve(__dirname, '..', '..', '..', 'config', 'models.catalog.yaml');

function minimalDoc(models: unknown[]) {
  return { catalog_version: 1, models };
}

const onnxEntry = {
  name: 'mdx:test',
  kind: 'mdx',
  format: 'onnx',
  stems: ['vocals', 'instrumental'],
  sample_rate: 44100,
  license: 'MIT',
  sources: [{ url: 'http://example.test/m.onnx' }],
  mdx: {
    compensate: 1,
    dim_f: 64,
    dim_t: 16,
    n_fft: 256,
    primary_stem: 'vocals',
    secondary_stem: 'instrumental',
  },
};

describe(ModelCatalog.name, () => {
  const sut = ModelCatalog.parse(parseYaml(fs.readFileSync(SHIPPED, 'utf8')), SHIPPED);

  it('lists every model the issue requires, with the facts a user needs', () => {
    const names = sut.entries.map((e) => e.name);
    for (const n of [
      'spleeter:2stems',
      'spleeter:4stems',
      'spleeter:5stems',
      'spleeter:2stems-16kHz',
      'spleeter:4stems-16kHz',
      'spleeter:5stems-16kHz',
      'sherpa:spleeter-2stems',
      'sherpa:spleeter-2stems-fp16',
      'sherpa:spleeter-2stems-int8',
      'mdx:UVR-MDX-NET-Voc_FT',
      'mdx:UVR-MDX-NET-Inst_HQ_1',
      'mdx:UVR_MDXNET_Main',
      'mdx:UVR_MDXNET_9482',
      'mdx:UVR_MDXNET_KARA_2',
      'builtin:hpss',
      'builtin:center',
    ]) {
      expect(names).toContain(n);
    }
    expect(sut.version).toBeGreaterThanOrEqual(1);
  });

  it('matches MODEL-FORMATS A1: stems in config order, F, architecture and activations', () => {
    expect(sut.get('spleeter:2stems')).toMatchObject({
      stems: ['vocals', 'accompaniment'],
      spleeter: {
        config: '2stems',
        F: 1024,
        T: 512,
        architecture: 'unet',
        conv_activation: 'leaky_relu',
        deconv_activation: 'relu',
      },
    });
    expect(sut.get('spleeter:4stems')).toMatchObject({
      stems: ['vocals', 'drums', 'bass', 'other'],
      spleeter: { architecture: 'unet', conv_activation: 'elu', deconv_activation: 'elu' },
    });
    expect(sut.get('spleeter:5stems')).toMatchObject({
      stems: ['vocals', 'piano', 'drums', 'bass', 'other'],
      spleeter: { architecture: 'softmax_unet', conv_activation: 'elu', deconv_activation: 'elu' },
    });
  });

  it('makes each -16kHz variant the same archive with F = 1536', () => {
    for (const base of ['2stems', '4stems', '5stems']) {
      const std = sut.get(`spleeter:${base}`)!;
      const wide = sut.get(`spleeter:${base}-16kHz`)!;
      expect(wide.sources).toEqual(std.sources);
      expect(wide.stems).toEqual(std.stems);
      expect(wide.spleeter!.F).toBe(1536);
      expect(std.spleeter!.F).toBe(1024);
      expect(std.sources[0].url).toBe(
        `https://github.com/deezer/spleeter/releases/download/v1.4.0/${base}.tar.gz`,
      );
      expect(std.sources[0].sha256).toMatch(/^[0-9a-f]{64}$/);
    }
  });

  it('carries the UVR parameters of MODEL-FORMATS C, keyed by md5_tail', () => {
    const table: [string, string, number, number, number, number, string][] = [
      ['mdx:UVR-MDX-NET-Voc_FT', '77d07b2667ddf05b9e3175941b4454a0', 1.021, 3072, 256, 7680, 'vocals'],
      [
        'mdx:UVR-MDX-NET-Inst_HQ_1',
        '291c2049608edb52648b96e27eb80e95',
        1.035,
        3072,
        256,
        6144,
        'instrumental',
      ],
      ['mdx:UVR_MDXNET_Main', '53c4baf4d12c3e6c3831bb8f5b532b93', 1.043, 3072, 256, 7680, 'vocals'],
      ['mdx:UVR_MDXNET_9482', '0ddfc0eb5792638ad5dc27850236c246', 1.035, 2048, 256, 6144, 'vocals'],
      ['mdx:UVR_MDXNET_KARA_2', '1d64a6d2c30f709b8c9b4ce1366d96ee', 1.065, 2048, 256, 5120, 'instrumental'],
    ];
    for (const [name, md5, compensate, dimF, dimT, nFft, primary] of table) {
      const e = sut.get(name)!;
      expect(e.sources[0].md5_tail).toBe(md5);
      expect(e.mdx).toMatchObject({
        compensate,
        dim_f: dimF,
        dim_t: dimT,
        n_fft: nFft,
        primary_stem: primary,
      });
    }
    expect(sut.get('mdx:UVR_MDXNET_KARA_2')!.mdx!.is_karaoke).toBe(true);
  });

  it('lists the built-ins with the same stems as the code defaults', () => {
    for (const b of BUILTIN_MODELS) expect(sut.get(b.name)!.stems).toEqual(b.stems);
  });

  it('rejects an entry whose kind section is missing, naming the entry', () => {
    const { mdx: _mdx, ...noMdx } = onnxEntry;
    expect(() => ModelCatalog.parse(minimalDoc([noMdx]))).toThrow(
      /mdx:test: kind mdx needs an 'mdx' section/,
    );
  });

  it('rejects an onnx-archive without a stem → file map and duplicate names', () => {
    const archive = {
      ...onnxEntry,
      name: 'sherpa:x',
      kind: 'spleeter',
      format: 'onnx-archive',
      stems: ['vocals', 'accompaniment'],
      sources: [{ url: 'http://example.test/x.tar.bz2' }],
      mdx: null,
      spleeter: { F: 1024, architecture: 'unet', conv_activation: 'relu', deconv_activation: 'relu' },
    };
    expect(() => ModelCatalog.parse(minimalDoc([archive]))).toThrow(/onnx-archive needs spleeter.files/);
    expect(() => ModelCatalog.parse(minimalDoc([onnxEntry, onnxEntry]))).toThrow(/duplicate model name/);
  });

  it('rejects a malformed sha256 instead of silently skipping verification', () => {
    const bad = { ...onnxEntry, sources: [{ url: 'http://example.test/m.onnx', sha256: 'ABC' }] };
    expect(() => ModelCatalog.parse(minimalDoc([bad]))).toThrow(/sha256/);
  });

  it('adds built-ins missing from a test catalog', () => {
    const c = ModelCatalog.parse(minimalDoc([onnxEntry])).withDefaults(BUILTIN_MODELS);
    expect(c.get('builtin:center')?.kind).toBe('builtin');
    expect(c.get('mdx:test')?.kind).toBe('mdx');
  });
});

describe('model names and versions', () => {
  it('a catalog name has at most one colon and no version; a request reference may carry @version', () => {
    expect(MODEL_NAME_PATTERN.test('spleeter:4stems')).toBe(true);
    expect(MODEL_NAME_PATTERN.test('spleeter:4stems@v2')).toBe(false);
    expect(MODEL_NAME_PATTERN.test('a:b:c')).toBe(false);
    expect(MODEL_REFERENCE_PATTERN.test('spleeter:4stems@v2')).toBe(true);
    // Screened only: parseModelRef refuses it with VALIDATION_FAILED later.
    expect(MODEL_REFERENCE_PATTERN.test('a:b:c')).toBe(true);
    for (const bad of ['../x', 'a/b', '@v1', 'x@', ' x'])
      expect(MODEL_REFERENCE_PATTERN.test(bad)).toBe(false);
    const longest = `${'a'.repeat(128)}@${'v'.repeat(64)}`;
    expect(longest).toHaveLength(MODEL_REFERENCE_MAX_LENGTH);
    expect(MODEL_REFERENCE_PATTERN.test(longest)).toBe(true);
    expect(MODEL_REFERENCE_PATTERN.test(`a${longest}`)).toBe(false);
  });

  it('parses name@version and refuses anything path-like', () => {
    expect(parseModelRef('spleeter:4stems')).toEqual({ name: 'spleeter:4stems' });
    expect(parseModelRef('spleeter:4stems@v3')).toEqual({ name: 'spleeter:4stems', version: 'v3' });
    for (const bad of ['../x', 'a/b', 'a:b:c', '', 'x@../v1', 'x@', ':x']) {
      expect(() => parseModelRef(bad)).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
    }
  });

  it('maps names to directory names reversibly', () => {
    for (const n of ['spleeter:2stems-16kHz', 'mdx:UVR_MDXNET_KARA_2', 'custom-model']) {
      const d = modelDirName(n);
      expect(d).not.toContain(':');
      expect(modelNameFromDir(d)).toBe(n);
    }
    expect(modelNameFromDir('.tmp')).toBeNull();
  });

  it('allocates the next version id and accepts @2 for v2', () => {
    expect(nextVersionId([])).toBe('v1');
    expect(nextVersionId(['v1', 'v3', 'junk'])).toBe('v4');
    expect(normaliseVersionId('2')).toBe('v2');
    expect(normaliseVersionId('v2')).toBe('v2');
  });

  it('derives archive types from URLs', () => {
    expect(archiveTypeOf('https://x/y/2stems.tar.gz')).toBe('tar.gz');
    expect(archiveTypeOf('https://x/a.tar.bz2?download=1')).toBe('tar.bz2');
    expect(archiveTypeOf('https://x/a.zip')).toBe('zip');
    expect(archiveTypeOf('https://x/a.onnx')).toBeNull();
  });
});

describe('custom model manifests', () => {
  it('accepts a spleeter upload whose files map exactly the stems', () => {
    const m = parseCustomModelManifest({
      name: 'custom:vox',
      kind: 'spleeter',
      stems: ['vocals', 'accompaniment'],
      spleeter: {
        F: 1024,
        architecture: 'unet',
        conv_activation: 'leaky_relu',
        deconv_activation: 'relu',
        files: { vocals: 'v.onnx', accompaniment: 'a.onnx' },
      },
    });
    expect(m.sample_rate).toBe(44100);
    expect(() =>
      parseCustomModelManifest({ ...m, spleeter: { ...m.spleeter, files: { vocals: 'v.onnx' } } }),
    ).toThrow(/must map exactly the stems/);
  });

  it('refuses mdx stems that are not [primary, secondary]', () => {
    expect(() =>
      parseCustomModelManifest({
        ...onnxEntry,
        name: 'custom:m',
        sources: undefined,
        format: undefined,
        stems: ['a', 'b'],
      }),
    ).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
  });
});
