import { ErrorCodes, ValidationError } from '../../core/errors';

// Each segment starts with a letter, digit, `_` or `-`: no `.`/`..` segments, no hidden files,
// no separators other than `/`, nothing a client could steer out of the storage root.
const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;

/** Throws unless `key` is a safe relative storage key (`a/b/c.wav`). */
export function assertStorageKey(key: string): void {
  const segments = key.split('/');
  if (key.length === 0 || key.length > 512 || !segments.every((s) => SEGMENT.test(s))) {
    throw new ValidationError(ErrorCodes.VALIDATION_FAILED, `Invalid storage key '${key.slice(0, 80)}'`);
  }
}

export const StorageKeys = {
  upload: (jobId: string) => `uploads/${jobId}`,
  resultDir: (jobId: string) => `results/${jobId}`,
  result: (jobId: string, fileName: string) => `results/${jobId}/${fileName}`,
} as const;
