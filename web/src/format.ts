/** Display helpers (pure). */

export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '–';
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** 0:07, 3:25, 1:02:03 */
export function formatClock(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '–';
  const s = Math.floor(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** "about 12 s left", "about 3 min left" */
export function formatEta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return '';
  if (seconds < 1) return 'almost done';
  if (seconds < 90) return `about ${Math.ceil(seconds)} s left`;
  return `about ${Math.round(seconds / 60)} min left`;
}

/** How many seconds of audio were processed per second of wall time (e.g. "31× realtime"). */
export function realtimeFactor(durationSec: number | null, totalMs: number | null): number | null {
  if (!durationSec || !totalMs || totalMs <= 0) return null;
  return durationSec / (totalMs / 1000);
}

export function formatFactor(f: number | null): string {
  if (f === null) return '–';
  return `${f >= 10 ? Math.round(f) : f.toFixed(1)}× realtime`;
}

export function formatDate(iso: string | null): string {
  if (!iso) return '–';
  const d = new Date(iso);
  return Number.isNaN(d.getTime())
    ? '–'
    : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** Relative time for expiries: "in 23 h", "in 5 min", "expired". */
export function formatUntil(iso: string | null, now = Date.now()): string {
  if (!iso) return '–';
  const ms = new Date(iso).getTime() - now;
  if (!Number.isFinite(ms)) return '–';
  if (ms <= 0) return 'expired';
  const min = ms / 60000;
  if (min < 90) return `in ${Math.max(1, Math.round(min))} min`;
  const h = min / 60;
  if (h < 48) return `in ${Math.round(h)} h`;
  return `in ${Math.round(h / 24)} days`;
}

/** The file name without its extension, safe as a download name. */
export function baseName(filename: string | null, fallback: string): string {
  const name = Array.from((filename ?? '').replace(/\.[A-Za-z0-9]{1,5}$/, ''))
    .map((ch) => (ch < ' ' || '\\/:*?"<>|'.includes(ch) ? '_' : ch))
    .join('')
    .replace(/_+/g, '_');
  return name.trim() || fallback;
}
