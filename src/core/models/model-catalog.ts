/**
 * The model catalog: every model the service knows how to obtain (download + convert) or run
 * without a download (built-ins), with the facts needed to verify and load it. The catalog file
 * (config/models.catalog.yaml) is parsed and validated here; keys are snake_case in the file and
 * in these types alike, so nothing is renamed on the way.
 *
 * Pure TypeScript (zod only): the CLI, the library API and the Nest module share it.
 */
import { z } from 'zod';
import { ErrorCodes, ModelError, ValidationError } from '../errors';

/** How a model runs once installed. */
export type ModelKind = 'spleeter' | 'mdx' | 'builtin';

/**
 * What the source URL delivers:
 * - `tf-checkpoint`: an archive holding an official Spleeter TensorFlow checkpoint (converted on install);
 * - `onnx-archive`: an archive of ready ONNX files (sherpa-onnx releases);
 * - `onnx`: one ONNX file (UVR MDX-Net);
 * - `builtin`: nothing to download.
 */
export type ModelFormat = 'tf-checkpoint' | 'onnx-archive' | 'onnx' | 'builtin';
export type ArchiveType = 'tar.gz' | 'tar.bz2' | 'zip';
/**
 * Precision of a model's ONNX files (`vocals.onnx`, `vocals.fp16.onnx`, `vocals.int8.onnx`,
 * `vocals.fp16c.onnx`): fp16 stores the weights as binary16 and computes in float32; fp16c
 * computes in float16 (for GPU providers); both keep float32 I/O.
 */
export const MODEL_PRECISIONS = ['fp32', 'fp16', 'int8', 'fp16c'] as const;
export type ModelPrecision = (typeof MODEL_PRECISIONS)[number];

/**
 * A catalog entry's (or installed model's) name: `prefix:rest` or a bare name, at most one ':'; no
 * '@' (version separator), no path separators. parseModelRef holds each part of a reference to it.
 */
export const MODEL_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*(?::[A-Za-z0-9][A-Za-z0-9._-]*)?$/;
export const VERSION_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/**
 * What a client may send as a model reference (REST `model`): `name[@version]`, length-bounded
 * (128 + 1 + 64), never a path. Looser on ':' than MODEL_NAME_PATTERN: the request is only
 * screened here, and the name is then resolved (parseModelRef, the catalog) or refused by the
 * engine with the model error it deserves.
 */
export const MODEL_REFERENCE_PATTERN =
  /^[A-Za-z0-9][A-Za-z0-9:._-]{0,127}(@[A-Za-z0-9][A-Za-z0-9._-]{0,63})?$/;
/** MODEL_REFERENCE_PATTERN's longest match. */
export const MODEL_REFERENCE_MAX_LENGTH = 193;
const SHA256_PATTERN = /^[0-9a-f]{64}$/;
const MD5_PATTERN = /^[0-9a-f]{32}$/;

const sourceSchema = z
  .object({
    url: z.string().url(),
    /** Exact byte size of the download, null where not published. */
    size: z.number().int().positive().nullable().default(null),
    /** Hex sha256 of the download, null where not published (then size/md5_tail/validation guard it). */
    sha256: z.string().regex(SHA256_PATTERN, 'must be 64 lowercase hex digits').nullable().default(null),
    /**
     * UVR's parameter key: hex MD5 of the last 10,240,000 bytes of the file (whole file if smaller).
     * Published for every UVR model, so it doubles as an integrity check.
     */
    md5_tail: z.string().regex(MD5_PATTERN, 'must be 32 lowercase hex digits').nullable().default(null),
  })
  .strict();

const activationSchema = z.enum(['leaky_relu', 'relu', 'elu']);

export const spleeterSchema = z
  .object({
    /** Official config the weights come from; required for tf-checkpoint, informative otherwise. */
    config: z.enum(['2stems', '4stems', '5stems']).nullable().default(null),
    /** Frequency bins fed to the network: 1024 (11 kHz), 1536 for the `-16kHz` variants. */
    F: z.number().int().positive().multipleOf(64),
    /** Frames per segment: 512 for every published model (smaller only in test catalogs). */
    T: z.number().int().positive().multipleOf(64).default(512),
    architecture: z.enum(['unet', 'softmax_unet']),
    conv_activation: activationSchema,
    deconv_activation: activationSchema,
    /** Precision of ready ONNX files (onnx-archive); converted checkpoints use models.precision. */
    precision: z.enum(MODEL_PRECISIONS).nullable().default(null),
    /** onnx-archive: stem → file name inside the archive (searched recursively). */
    files: z.record(z.string(), z.string()).nullable().default(null),
  })
  .strict();

export const mdxSchema = z
  .object({
    compensate: z.number().positive(),
    dim_f: z.number().int().positive(),
    dim_t: z.number().int().positive(),
    n_fft: z.number().int().positive(),
    hop: z.number().int().positive().default(1024),
    primary_stem: z.string().min(1),
    secondary_stem: z.string().min(1),
    is_karaoke: z.boolean().default(false),
  })
  .strict();

const builtinSchema = z.object({ method: z.enum(['hpss', 'center']) }).strict();

export const catalogEntrySchema = z
  .object({
    name: z.string().regex(MODEL_NAME_PATTERN, 'invalid model name'),
    description: z.string().default(''),
    kind: z.enum(['spleeter', 'mdx', 'builtin']),
    format: z.enum(['tf-checkpoint', 'onnx-archive', 'onnx', 'builtin']),
    /** Archive type; derived from the first URL's extension when absent. */
    archive: z.enum(['tar.gz', 'tar.bz2', 'zip']).nullable().default(null),
    stems: z.array(z.string().regex(/^[a-z][a-z0-9_]*$/, 'stem names are lowercase identifiers')).min(1),
    sample_rate: z.number().int().positive(),
    license: z.string().min(1),
    license_url: z.string().url().nullable().default(null),
    homepage: z.string().url().nullable().default(null),
    /** Mirrors, tried in order. Empty only for built-ins. */
    sources: z.array(sourceSchema).default([]),
    spleeter: spleeterSchema.nullable().default(null),
    mdx: mdxSchema.nullable().default(null),
    builtin: builtinSchema.nullable().default(null),
    aliases: z.array(z.string().regex(MODEL_NAME_PATTERN)).default([]),
    /** Free text: provenance of size/sha256, caveats. */
    notes: z.string().nullable().default(null),
  })
  .strict()
  .superRefine((e, ctx) => {
    const need = (cond: boolean, message: string) => {
      if (!cond) ctx.addIssue({ code: 'custom', message });
    };
    need(e.kind !== 'spleeter' || e.spleeter !== null, `${e.name}: kind spleeter needs a 'spleeter' section`);
    need(e.kind !== 'mdx' || e.mdx !== null, `${e.name}: kind mdx needs an 'mdx' section`);
    need(e.kind !== 'builtin' || e.builtin !== null, `${e.name}: kind builtin needs a 'builtin' section`);
    need(
      (e.kind === 'builtin') === (e.format === 'builtin'),
      `${e.name}: format builtin goes with kind builtin`,
    );
    need(e.format === 'builtin' || e.sources.length > 0, `${e.name}: needs at least one source`);
    need(
      e.format !== 'tf-checkpoint' || e.kind === 'spleeter',
      `${e.name}: tf-checkpoint is a spleeter format`,
    );
    need(
      e.format !== 'tf-checkpoint' || e.spleeter?.config != null,
      `${e.name}: tf-checkpoint needs spleeter.config`,
    );
    need(
      e.format !== 'onnx-archive' || e.spleeter?.files != null,
      `${e.name}: onnx-archive needs spleeter.files`,
    );
    if (e.spleeter?.files) {
      const keys = Object.keys(e.spleeter.files).sort().join(',');
      need(keys === [...e.stems].sort().join(','), `${e.name}: spleeter.files must map exactly the stems`);
    }
    if (e.mdx) {
      need(
        e.stems.length === 2 &&
          e.stems.includes(e.mdx.primary_stem) &&
          e.stems.includes(e.mdx.secondary_stem),
        `${e.name}: mdx stems must be [primary_stem, secondary_stem]`,
      );
      need(e.mdx.dim_f <= e.mdx.n_fft / 2 + 1, `${e.name}: mdx dim_f exceeds n_fft/2+1`);
    }
    if (e.format === 'tf-checkpoint' || e.format === 'onnx-archive') {
      need(
        e.archive !== null || e.sources.every((s) => archiveTypeOf(s.url) !== null),
        `${e.name}: unknown archive type`,
      );
    }
  });

export const catalogFileSchema = z
  .object({
    catalog_version: z.number().int().positive(),
    updated: z.string().nullable().default(null),
    models: z.array(catalogEntrySchema),
  })
  .strict()
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    for (const m of c.models) {
      for (const n of [m.name, ...m.aliases]) {
        if (seen.has(n)) ctx.addIssue({ code: 'custom', message: `duplicate model name or alias '${n}'` });
        seen.add(n);
      }
    }
  });

export type CatalogSource = z.infer<typeof sourceSchema>;
export type CatalogEntry = z.infer<typeof catalogEntrySchema>;

/** A parsed catalog with name/alias lookup. */
export class ModelCatalog {
  private readonly byName = new Map<string, CatalogEntry>();

  constructor(
    readonly version: number,
    readonly entries: readonly CatalogEntry[],
    readonly origin: string = '(inline)',
  ) {
    for (const e of entries) {
      this.byName.set(e.name, e);
      for (const a of e.aliases) this.byName.set(a, e);
    }
  }

  /** Validates a decoded catalog document (YAML or JSON). Errors name the entry and the field. */
  static parse(doc: unknown, origin = '(inline)'): ModelCatalog {
    const result = catalogFileSchema.safeParse(doc);
    if (!result.success) {
      const lines = result.error.issues.map((i) => `  - ${i.path.join('.') || '(root)'}: ${i.message}`);
      throw new ValidationError(
        ErrorCodes.VALIDATION_FAILED,
        `Invalid model catalog ${origin}:\n${lines.join('\n')}`,
        {
          origin,
        },
      );
    }
    return new ModelCatalog(result.data.catalog_version, result.data.models, origin);
  }

  get(name: string): CatalogEntry | undefined {
    return this.byName.get(name);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** Same catalog with `extra` entries added where their names are not already present. */
  withDefaults(extra: readonly CatalogEntry[]): ModelCatalog {
    const missing = extra.filter((e) => !this.byName.has(e.name));
    if (missing.length === 0) return this;
    return new ModelCatalog(this.version, [...this.entries, ...missing], this.origin);
  }
}

export function archiveTypeOf(urlOrName: string): ArchiveType | null {
  const p = urlOrName.split(/[?#]/)[0].toLowerCase();
  if (p.endsWith('.tar.gz') || p.endsWith('.tgz')) return 'tar.gz';
  if (p.endsWith('.tar.bz2') || p.endsWith('.tbz2')) return 'tar.bz2';
  if (p.endsWith('.zip')) return 'zip';
  return null;
}

/** Archive type of an entry's source (explicit `archive` wins over the URL's extension). */
export function entryArchiveType(entry: CatalogEntry, source: CatalogSource): ArchiveType | null {
  return entry.archive ?? archiveTypeOf(source.url);
}

export interface ModelRef {
  name: string;
  /** Exact version id, or undefined for the active version. */
  version?: string;
}

/**
 * Parses `name` or `name@version`. Throws ValidationError for anything that could escape a
 * directory or is not a model name, so callers can use the parts in paths safely.
 */
export function parseModelRef(ref: string): ModelRef {
  const trimmed = ref.trim();
  const at = trimmed.lastIndexOf('@');
  const name = at >= 0 ? trimmed.slice(0, at) : trimmed;
  const version = at >= 0 ? trimmed.slice(at + 1) : undefined;
  if (!MODEL_NAME_PATTERN.test(name)) {
    throw new ValidationError(ErrorCodes.VALIDATION_FAILED, `invalid model name '${ref}'`, {
      field: 'model',
    });
  }
  if (version !== undefined && !VERSION_ID_PATTERN.test(version)) {
    throw new ValidationError(ErrorCodes.VALIDATION_FAILED, `invalid model version in '${ref}'`, {
      field: 'model',
    });
  }
  return version === undefined ? { name } : { name, version };
}

export function formatModelRef(ref: ModelRef): string {
  return ref.version ? `${ref.name}@${ref.version}` : ref.name;
}

/**
 * Directory name for a model: ':' becomes '~' (a character names cannot contain), so the mapping is
 * reversible and cannot collide.
 */
export function modelDirName(name: string): string {
  if (!MODEL_NAME_PATTERN.test(name))
    throw new ModelError(ErrorCodes.MODEL_INVALID, `invalid model name '${name}'`);
  return name.replace(':', '~');
}

export function modelNameFromDir(dir: string): string | null {
  const name = dir.replace('~', ':');
  return MODEL_NAME_PATTERN.test(name) && !dir.includes(':') ? name : null;
}

/**
 * Manifest of an admin-uploaded ONNX model (POST /v1/admin/models). Spleeter uploads are one file
 * per stem (`spleeter.files`: stem → uploaded file name); MDX-Net uploads are one file.
 */
export const customModelManifestSchema = z
  .object({
    name: z.string().regex(MODEL_NAME_PATTERN, 'invalid model name'),
    description: z.string().default(''),
    kind: z.enum(['spleeter', 'mdx']),
    stems: z.array(z.string().regex(/^[a-z][a-z0-9_]*$/, 'stem names are lowercase identifiers')).min(1),
    sample_rate: z.number().int().positive().default(44100),
    license: z.string().min(1).default('unspecified'),
    spleeter: spleeterSchema.nullable().default(null),
    mdx: mdxSchema.nullable().default(null),
  })
  .strict()
  .superRefine((m, ctx) => {
    if (new Set(m.stems).size !== m.stems.length)
      ctx.addIssue({ code: 'custom', message: 'stems must be unique' });
    if (m.kind === 'spleeter') {
      if (!m.spleeter)
        ctx.addIssue({ code: 'custom', path: ['spleeter'], message: 'required for kind spleeter' });
      else if (!m.spleeter.files)
        ctx.addIssue({ code: 'custom', path: ['spleeter', 'files'], message: 'map each stem to a file' });
      else if (Object.keys(m.spleeter.files).sort().join(',') !== [...m.stems].sort().join(',')) {
        ctx.addIssue({ code: 'custom', path: ['spleeter', 'files'], message: 'must map exactly the stems' });
      }
    }
    if (m.kind === 'mdx') {
      if (!m.mdx) ctx.addIssue({ code: 'custom', path: ['mdx'], message: 'required for kind mdx' });
      else if (
        m.stems.length !== 2 ||
        !m.stems.includes(m.mdx.primary_stem) ||
        !m.stems.includes(m.mdx.secondary_stem) ||
        m.mdx.primary_stem === m.mdx.secondary_stem
      ) {
        ctx.addIssue({
          code: 'custom',
          path: ['stems'],
          message: 'mdx stems must be [primary_stem, secondary_stem]',
        });
      }
    }
  });

export type CustomModelManifest = z.infer<typeof customModelManifestSchema>;

/** Parses an upload manifest; errors are ValidationError VALIDATION_FAILED naming the field. */
export function parseCustomModelManifest(doc: unknown): CustomModelManifest {
  const r = customModelManifestSchema.safeParse(doc);
  if (!r.success) {
    const detail = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ValidationError(ErrorCodes.VALIDATION_FAILED, `Invalid model manifest: ${detail}`, {
      field: 'manifest',
    });
  }
  return r.data;
}

/** The catalog-shaped entry an uploaded model is stored and validated with. */
export function customManifestToEntry(m: CustomModelManifest): CatalogEntry {
  return {
    name: m.name,
    description: m.description,
    kind: m.kind,
    format: 'onnx',
    archive: null,
    stems: m.stems,
    sample_rate: m.sample_rate,
    license: m.license,
    license_url: null,
    homepage: null,
    sources: [],
    spleeter: m.spleeter,
    mdx: m.mdx,
    builtin: null,
    aliases: [],
    notes: 'uploaded by an administrator',
  };
}
