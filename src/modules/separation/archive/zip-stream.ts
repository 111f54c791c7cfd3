/**
 * Streaming ZIP of already-sized files, written by yazl: entries are stored (no compression: stems
 * are audio, mostly incompressible, and the point is to start sending at once), CRC-32 goes in a data
 * descriptor, ZIP64 records appear only when a size or offset needs them. Because every size is known
 * up front, yazl knows the archive's exact length before the first byte (HTTP sends Content-Length).
 */
import type { Readable } from 'stream';
import { ZipFile } from 'yazl';

export interface ZipSourceEntry {
  /** Path inside the archive (UTF-8, forward slashes). */
  name: string;
  size: number;
  modifiedAt: Date;
  open(): Promise<Readable>;
}

export interface ZipStreamResult {
  /** Exact byte length of the archive. */
  size: number;
  /** Starts writing the archive (nothing is opened before this is called). */
  start(): Readable;
}

export function createZipStream(entries: readonly ZipSourceEntry[]): ZipStreamResult {
  const zip = new ZipFile();
  const out = zip.outputStream as Readable;
  let begin!: () => void;
  const started = new Promise<void>((resolve) => (begin = resolve));
  let current: Readable | undefined;
  for (const entry of entries) {
    const options = { size: entry.size, mtime: entry.modifiedAt, compress: false };
    zip.addReadStreamLazy(entry.name, options, (callback) => {
      started
        .then(() => entry.open())
        .then(
          (input) => callback(null, (current = input)),
          (err: unknown) => zip.emit('error', err),
        );
    });
  }
  zip.on('error', (err: Error) => out.destroy(err));
  // The consumer went away: yazl unpipes but leaves the open file behind.
  out.on('close', () => current?.destroy());
  let size = -1;
  zip.end(undefined, ((total: number) => (size = total)) as unknown as () => void);
  if (size < 0) throw new Error('ZIP size is not known up front');
  return {
    size,
    start: () => {
      begin();
      return out;
    },
  };
}
