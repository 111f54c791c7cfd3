/**
 * What goes into an installed version directory besides the model files themselves: the
 * `spleeter.json` manifest (the format read by src/engine/families/spleeter/spleeter-onnx-model.ts) for
 * Spleeter ONNX directories and `mdx.json` for MDX-Net files, plus the lookup of which ONNX file
 * serves which stem.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import type { CatalogEntry, ModelPrecision } from '../../core/models/model-catalog';
import {
  SPLEETER_MANIFEST_FILE,
  defaultModelFileName,
  spleeterManifestSchema,
} from '../../core/onnx/spleeter-manifest';
import { writeJsonAtomic } from './model-store';

export const MDX_MANIFEST_FILE = 'mdx.json';
export const MDX_MODEL_FILE = 'model.onnx';

export interface MdxManifest {
  format: 'mdx-onnx';
  version: 1;
  name: string;
  file: string;
  sample_rate: number;
  stems: string[];
  params: {
    dim_f: number;
    dim_t: number;
    n_fft: number;
    hop: number;
    compensate: number;
    primary_stem: string;
    secondary_stem: string;
    is_karaoke: boolean;
  };
}

/** Writes spleeter.json for ONNX files named per stem (`files`: stem → file name in `dir`). */
export async function writeSpleeterManifest(
  dir: string,
  entry: CatalogEntry,
  precision: ModelPrecision,
  files: Record<string, string>,
  source: Record<string, string>,
): Promise<void> {
  const sp = entry.spleeter!;
  const manifest = spleeterManifestSchema.parse({
    format: 'spleeter-onnx',
    version: 1,
    name: entry.name,
    ...(sp.config ? { config: sp.F === 1536 ? `${sp.config}-16kHz` : sp.config } : {}),
    architecture: sp.architecture,
    instruments: entry.stems,
    F: sp.F,
    T: sp.T,
    sample_rate: entry.sample_rate,
    activations: { conv: sp.conv_activation, deconv: sp.deconv_activation },
    files: { [precision]: files },
    source,
  });
  await writeJsonAtomic(path.join(dir, SPLEETER_MANIFEST_FILE), manifest);
}

export async function writeMdxManifest(dir: string, entry: CatalogEntry): Promise<void> {
  const m = entry.mdx!;
  const manifest: MdxManifest = {
    format: 'mdx-onnx',
    version: 1,
    name: entry.name,
    file: MDX_MODEL_FILE,
    sample_rate: entry.sample_rate,
    stems: entry.stems,
    params: {
      dim_f: m.dim_f,
      dim_t: m.dim_t,
      n_fft: m.n_fft,
      hop: m.hop,
      compensate: m.compensate,
      primary_stem: m.primary_stem,
      secondary_stem: m.secondary_stem,
      is_karaoke: m.is_karaoke,
    },
  };
  await writeJsonAtomic(path.join(dir, MDX_MANIFEST_FILE), manifest);
}

/**
 * The ONNX file of each stem in a Spleeter model directory: from spleeter.json when present (either
 * `files[precision][stem]` or a converter's `instruments: [{name, file}]`), else the sherpa naming
 * convention `<stem>[.fp16|.int8|.fp16c].onnx`.
 */
export async function spleeterStemFiles(
  dir: string,
  stems: readonly string[],
  precision: ModelPrecision,
): Promise<Record<string, string>> {
  let raw: unknown = null;
  try {
    raw = JSON.parse(await fs.readFile(path.join(dir, SPLEETER_MANIFEST_FILE), 'utf8'));
  } catch {
    raw = null;
  }
  const out: Record<string, string> = {};
  const parsed = raw ? spleeterManifestSchema.safeParse(raw) : null;
  const listed =
    raw && typeof raw === 'object' && Array.isArray((raw as { instruments?: unknown }).instruments)
      ? ((raw as { instruments: unknown[] }).instruments.filter(
          (i) => i && typeof i === 'object' && typeof (i as { file?: unknown }).file === 'string',
        ) as { name: string; file: string }[])
      : [];
  for (const stem of stems) {
    const fromManifest = parsed?.success ? parsed.data.files?.[precision]?.[stem] : undefined;
    const fromList = listed.find((i) => i.name === stem)?.file;
    out[stem] = fromManifest ?? fromList ?? defaultModelFileName(stem, precision);
  }
  return out;
}

/** Finds `fileName` anywhere under `root` (archives often wrap files in a top-level folder). */
export async function findFile(root: string, fileName: string): Promise<string | null> {
  const entries = await fs.readdir(root, { withFileTypes: true });
  for (const e of entries) if (e.isFile() && e.name === fileName) return path.join(root, e.name);
  for (const e of entries) {
    if (e.isDirectory()) {
      const hit = await findFile(path.join(root, e.name), fileName);
      if (hit) return hit;
    }
  }
  return null;
}

/** Directories under `root` (itself included) holding a TensorFlow checkpoint index. */
export async function findCheckpointDirs(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string) => {
    const entries = await fs.readdir(dir, { withFileTypes: true });
    if (entries.some((e) => e.isFile() && e.name.endsWith('.index'))) out.push(dir);
    for (const e of entries) if (e.isDirectory()) await walk(path.join(dir, e.name));
  };
  await walk(root);
  return out;
}
