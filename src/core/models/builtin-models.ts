/**
 * Built-in models: DSP separators that need no download (src/core/builtin). They are always
 * available, even when the catalog file lists them not, and `builtin:center` is the embedded default
 * when nothing else is installed.
 */
import type { CatalogEntry } from './model-catalog';

export const BUILTIN_VERSION = 'builtin';

const base = {
  kind: 'builtin' as const,
  format: 'builtin' as const,
  archive: null,
  sample_rate: 44100,
  license: 'MIT',
  license_url: null,
  homepage: null,
  sources: [],
  spleeter: null,
  mdx: null,
  aliases: [],
  notes: null,
};

export const BUILTIN_MODELS: readonly CatalogEntry[] = [
  {
    ...base,
    name: 'builtin:hpss',
    description: 'Harmonic/percussive separation by median filtering of the spectrogram (no download, offline).',
    stems: ['harmonic', 'percussive'],
    builtin: { method: 'hpss' },
  },
  {
    ...base,
    name: 'builtin:center',
    description: 'Center-panned (usually vocals) vs. side content of a stereo mix (no download, offline).',
    stems: ['vocals', 'accompaniment'],
    builtin: { method: 'center' },
  },
];

export const DEFAULT_BUILTIN_MODEL = 'builtin:center';
