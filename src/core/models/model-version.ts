/**
 * What an installed model version records about itself (`version.json` beside its files) and the
 * active-version pointer of a model. Both are plain JSON on disk so several processes (API, worker,
 * CLI) share them without a database.
 */
import type { CatalogEntry, ModelFormat, ModelKind, ModelPrecision } from './model-catalog';

export const VERSION_FILE = 'version.json';
export const VERSION_SCHEMA = 1;

export interface ModelFileRecord {
  /** Relative POSIX path inside the version directory. */
  path: string;
  size: number;
  sha256: string;
}

export type ValidationStatus = 'valid' | 'invalid' | 'unchecked';

export interface VersionValidation {
  status: ValidationStatus;
  checkedAt: string | null;
  problems: string[];
}

export interface VersionRecord {
  schema: typeof VERSION_SCHEMA;
  name: string;
  id: string;
  kind: ModelKind;
  format: ModelFormat;
  /** Where it came from: a catalog download, or an admin upload. */
  origin: 'catalog' | 'upload';
  source: {
    url: string | null;
    /** sha256 of what was downloaded/uploaded (archive or file), computed here. */
    sha256: string | null;
    /** sha256 the catalog promised (null when unpublished). */
    expectedSha256: string | null;
    size: number | null;
    catalogVersion: number | null;
  };
  installedAt: string;
  /** Bytes of the installed files. */
  size: number;
  stems: string[];
  sampleRate: number;
  precision: ModelPrecision | null;
  /** Snapshot of the catalog entry (or upload manifest) the version was installed from. */
  entry: CatalogEntry;
  files: ModelFileRecord[];
  validation: VersionValidation;
}

export interface ActivePointer {
  version: string;
  /** Previously active versions, most recent last (rollback pops from here). */
  history: string[];
  activatedAt: string;
}

/** Version ids are `v1`, `v2`, … (allocated under the model's install lock). `@2` means `v2`. */
export function nextVersionId(existing: readonly string[]): string {
  let max = 0;
  for (const id of existing) {
    const m = /^v(\d+)$/.exec(id);
    if (m) max = Math.max(max, Number(m[1]));
  }
  return `v${max + 1}`;
}

export function normaliseVersionId(v: string): string {
  return /^\d+$/.test(v) ? `v${v}` : v;
}
