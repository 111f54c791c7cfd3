/**
 * Built-in models as catalog entries: the DSP separators of src/core/builtin, which need no
 * download. They are always available, even when the catalog file does not list them, and
 * `builtin:center` is the embedded default when nothing else is installed. Stems and descriptions
 * come from src/core/builtin so the two never disagree.
 */
import { BUILTIN_MODELS as BUILTIN_SEPARATORS } from '../builtin/builtin-models';
import type { CatalogEntry } from './model-catalog';

export const BUILTIN_VERSION = 'builtin';

export const BUILTIN_MODELS: readonly CatalogEntry[] = BUILTIN_SEPARATORS.map((b): CatalogEntry => ({
  name: b.id,
  description: `${b.name}: ${b.description} No download, works offline.`,
  kind: 'builtin',
  format: 'builtin',
  archive: null,
  stems: [...b.stems],
  sample_rate: b.sampleRate,
  license: 'MIT',
  license_url: null,
  homepage: null,
  sources: [],
  spleeter: null,
  mdx: null,
  builtin: { method: b.id === 'builtin:hpss' ? 'hpss' : 'center' },
  aliases: [],
  notes: null,
}));
