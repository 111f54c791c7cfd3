import type { ByteRange } from '../../../infra/storage/storage.service';

/**
 * Parses a Range header for a resource of `size` bytes (RFC 9110 §14.2). Only single ranges are
 * served: a multi-range request gets the whole file ('ignore'), which the RFC allows.
 * 'ignore': malformed or not bytes → serve 200. 'unsatisfiable' → 416.
 */
export function parseRange(header: string, size: number): ByteRange | 'ignore' | 'unsatisfiable' {
  const m = /^\s*bytes\s*=\s*(.+)$/i.exec(header);
  if (!m) return 'ignore';
  const specs = m[1].split(',').map((s) => s.trim());
  if (specs.length !== 1) return 'ignore';
  const r = /^(\d*)-(\d*)$/.exec(specs[0]);
  if (!r || (r[1] === '' && r[2] === '')) return 'ignore';
  if (r[1] === '') {
    // Suffix range: the last N bytes.
    const n = Number(r[2]);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(r[1]);
  const end = r[2] === '' ? size - 1 : Math.min(Number(r[2]), size - 1);
  if (r[2] !== '' && Number(r[2]) < start) return 'ignore';
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

/** If-None-Match: true when one of the listed validators (or `*`) matches (weak comparison). */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  const bare = (t: string) => t.trim().replace(/^W\//, '');
  return header.split(',').some((t) => bare(t) === bare(etag));
}

/** If-Range: the range applies only if the client's validator still matches (strong for ETags). */
export function ifRangeAllows(header: string | undefined, etag: string, lastModified: Date): boolean {
  if (!header) return true;
  const v = header.trim();
  if (v.startsWith('"') || v.startsWith('W/')) return v === etag;
  const date = Date.parse(v);
  return Number.isFinite(date) && Math.floor(lastModified.getTime() / 1000) <= Math.floor(date / 1000);
}
