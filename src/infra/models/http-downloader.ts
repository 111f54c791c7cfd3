/**
 * Downloads one URL to a file with resume, verification and progress, using node's http/https
 * directly (no global fetch: we need Range/If-Range, per-phase timeouts and redirect control).
 *
 * - Bytes go to `<dest>.part`; a sidecar `<dest>.part.json` keeps the URL and the server's validator
 *   (ETag / Last-Modified). A later attempt sends `Range` + `If-Range`, so a changed file restarts
 *   from zero instead of being spliced.
 * - A connection cut mid-body is retried (with resume) up to `retries` times within one call; if all
 *   fail the `.part` file stays for the next call.
 * - Size and sha256 (and optionally the UVR tail-MD5) are checked on the completed file; a mismatch
 *   deletes the partial data (a resume cannot fix it) and throws MODEL_CHECKSUM_MISMATCH.
 * - Only when everything checks out is `.part` renamed to `dest`.
 */
import { createHash, type Hash } from 'crypto';
import { createReadStream, createWriteStream, promises as fs, renameSync, writeFileSync } from 'fs';
import * as http from 'http';
import * as https from 'https';
import { ErrorCodes, ModelError } from '../../core/errors';

export interface DownloadProgress {
  url: string;
  /** Bytes present in the destination so far (including resumed bytes). */
  bytes: number;
  /** Total expected bytes, when known (Content-Length / Content-Range / catalog size). */
  totalBytes: number | null;
  /** Bytes that were already on disk when this call started. */
  resumedFrom: number;
  /** Average transfer rate of this call, bytes per second. */
  bytesPerSecond: number;
}

export interface DownloadRequest {
  url: string;
  /** Final file path; its directory must exist. */
  dest: string;
  expectedSize?: number | null;
  sha256?: string | null;
  /** Hex MD5 of the last `md5TailBytes` bytes (UVR model key). */
  md5Tail?: string | null;
  md5TailBytes?: number;
  onProgress?: (p: DownloadProgress) => void;
  signal?: AbortSignal;
  /** Overrides of the downloader defaults. */
  connectTimeoutMs?: number;
  idleTimeoutMs?: number;
  retries?: number;
}

export interface DownloadResult {
  path: string;
  size: number;
  sha256: string;
  /** URL after redirects. */
  finalUrl: string;
  /** Byte offset the (first) transfer of this call resumed from; 0 for a fresh download. */
  resumedFrom: number;
  /** Number of HTTP attempts this call needed. */
  attempts: number;
  /** Attempts that continued a partial file with a 206 range response. */
  resumedAttempts: number;
}

export interface HttpDownloaderOptions {
  /** Time to connect and receive response headers. */
  connectTimeoutMs?: number;
  /** Longest silence while receiving the body. */
  idleTimeoutMs?: number;
  /** Extra attempts after a transient failure (connection reset, 5xx, timeout). */
  retries?: number;
  retryDelayMs?: number;
  maxRedirects?: number;
  userAgent?: string;
  /** Minimum interval between progress callbacks. */
  progressIntervalMs?: number;
}

interface AttemptState {
  /** Offset the first HTTP attempt of a call started from. */
  firstOffset: number | null;
  resumedAttempts: number;
}

interface PartMeta {
  url: string;
  etag: string | null;
  lastModified: string | null;
  totalBytes: number | null;
}

/** Thrown internally for failures worth retrying with resume. */
class TransientError extends Error {
  constructor(
    message: string,
    readonly context: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

const DEFAULTS: Required<HttpDownloaderOptions> = {
  connectTimeoutMs: 30_000,
  idleTimeoutMs: 60_000,
  retries: 3,
  retryDelayMs: 500,
  maxRedirects: 10,
  userAgent: 'spleeter-server model downloader',
  progressIntervalMs: 200,
};

export class HttpDownloader {
  private readonly opts: Required<HttpDownloaderOptions>;

  constructor(options: HttpDownloaderOptions = {}) {
    this.opts = { ...DEFAULTS, ...stripUndefined(options) };
  }

  async download(req: DownloadRequest): Promise<DownloadResult> {
    const partPath = `${req.dest}.part`;
    const metaPath = `${req.dest}.part.json`;
    const retries = req.retries ?? this.opts.retries;
    let attempts = 0;
    const state: AttemptState = { firstOffset: null, resumedAttempts: 0 };
    let finalUrl = req.url;
    const started = Date.now();

    for (;;) {
      throwIfAborted(req.signal, req.url);
      attempts++;
      try {
        finalUrl = await this.attempt(req, partPath, metaPath, started, state);
        break;
      } catch (err) {
        if (!(err instanceof TransientError)) throw err;
        if (attempts > retries || req.signal?.aborted) {
          const bytes = await fileSize(partPath);
          throw new ModelError(
            ErrorCodes.MODEL_DOWNLOAD_FAILED,
            `Download of ${req.url} failed after ${attempts} attempt(s): ${err.message}`,
            { url: req.url, attempts, partialBytes: bytes, resumable: bytes > 0, ...err.context },
            { cause: err },
          );
        }
        await delay(this.opts.retryDelayMs * attempts, req.signal);
      }
    }

    const verified = await this.verify(req, partPath, metaPath);
    await fs.rename(partPath, req.dest);
    await fs.rm(metaPath, { force: true });
    return {
      path: req.dest,
      size: verified.size,
      sha256: verified.sha256,
      finalUrl,
      resumedFrom: state.firstOffset ?? 0,
      attempts,
      resumedAttempts: state.resumedAttempts,
    };
  }

  /** Deletes the partial download state of `dest` (after a checksum failure or on request). */
  async discardPartial(dest: string): Promise<void> {
    await fs.rm(`${dest}.part`, { force: true });
    await fs.rm(`${dest}.part.json`, { force: true });
  }

  private async verify(
    req: DownloadRequest,
    partPath: string,
    metaPath: string,
  ): Promise<{ size: number; sha256: string }> {
    const { size, sha256, md5Tail } = await hashFile(
      partPath,
      req.md5Tail ? (req.md5TailBytes ?? 10_240_000) : 0,
    );
    const fail = async (what: string, expected: string | number, actual: string | number) => {
      await fs.rm(partPath, { force: true });
      await fs.rm(metaPath, { force: true });
      throw new ModelError(
        ErrorCodes.MODEL_CHECKSUM_MISMATCH,
        `Downloaded ${req.url}: ${what} mismatch (expected ${expected}, got ${actual}); the file was discarded`,
        { url: req.url, check: what, expected, actual },
      );
    };
    if (req.expectedSize != null && size !== req.expectedSize) await fail('size', req.expectedSize, size);
    if (req.sha256 && sha256 !== req.sha256.toLowerCase()) await fail('sha256', req.sha256, sha256);
    if (req.md5Tail && md5Tail !== req.md5Tail.toLowerCase()) await fail('md5_tail', req.md5Tail, md5Tail!);
    return { size, sha256 };
  }

  /** One HTTP exchange (following redirects). Resolves when the body is completely on disk. */
  private async attempt(
    req: DownloadRequest,
    partPath: string,
    metaPath: string,
    started: number,
    state: AttemptState,
  ): Promise<string> {
    let offset = await fileSize(partPath);
    let meta = offset > 0 ? await readMeta(metaPath) : null;
    if (offset > 0 && (!meta || meta.url !== req.url || (!meta.etag && !meta.lastModified))) {
      // Without a validator we cannot prove the bytes on disk belong to the current file.
      await fs.rm(partPath, { force: true });
      offset = 0;
      meta = null;
    }
    state.firstOffset ??= offset;
    if (offset > 0 && meta?.totalBytes != null && offset === meta.totalBytes) return req.url;

    const headers: Record<string, string> = {
      'user-agent': this.opts.userAgent,
      'accept-encoding': 'identity',
    };
    if (offset > 0 && meta) {
      headers.range = `bytes=${offset}-`;
      headers['if-range'] = (meta.etag ?? meta.lastModified)!;
    }
    const { res, finalUrl } = await this.request(req.url, headers, req);

    let append = false;
    let total: number | null = null;
    if (res.statusCode === 206 && offset > 0) {
      const range = parseContentRange(res.headers['content-range']);
      if (!range || range.start !== offset) {
        res.resume();
        await fs.rm(partPath, { force: true });
        throw new TransientError(`server answered an unexpected range (${res.headers['content-range']})`);
      }
      append = true;
      total = range.total;
      state.resumedAttempts++;
    } else if (res.statusCode === 200) {
      total = parseLength(res.headers['content-length']);
      offset = 0;
    } else if (res.statusCode === 416 && offset > 0) {
      // Our partial file is not a prefix of what the server has now: start over.
      res.resume();
      await fs.rm(partPath, { force: true });
      await fs.rm(metaPath, { force: true });
      throw new TransientError('server refused the resume range (416); restarting');
    } else {
      res.resume();
      const status = res.statusCode ?? 0;
      const context = { url: req.url, finalUrl, status };
      if (status >= 500 || status === 429 || status === 408)
        throw new TransientError(`HTTP ${status}`, context);
      throw new ModelError(
        ErrorCodes.MODEL_DOWNLOAD_FAILED,
        `Download of ${req.url} failed: HTTP ${status}`,
        context,
      );
    }
    if (req.expectedSize != null && total != null && total !== req.expectedSize) {
      res.resume();
      await fs.rm(partPath, { force: true });
      await fs.rm(metaPath, { force: true });
      throw new ModelError(
        ErrorCodes.MODEL_CHECKSUM_MISMATCH,
        `${req.url} is ${total} bytes, the catalog says ${req.expectedSize}; not downloaded`,
        { url: req.url, check: 'size', expected: req.expectedSize, actual: total },
      );
    }
    const newMeta: PartMeta = {
      url: req.url,
      etag: headerString(res.headers.etag),
      lastModified: headerString(res.headers['last-modified']),
      totalBytes: total ?? req.expectedSize ?? null,
    };
    writeMeta(metaPath, newMeta);

    const resumedFrom = offset;
    await this.pipeBody(res, partPath, append, resumedFrom, newMeta.totalBytes, req, started);
    const written = await fileSize(partPath);
    if (newMeta.totalBytes != null && written < newMeta.totalBytes) {
      throw new TransientError(`connection closed after ${written} of ${newMeta.totalBytes} bytes`);
    }
    return finalUrl;
  }

  private pipeBody(
    res: http.IncomingMessage,
    partPath: string,
    append: boolean,
    resumedFrom: number,
    totalBytes: number | null,
    req: DownloadRequest,
    started: number,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const out = createWriteStream(partPath, { flags: append ? 'a' : 'w' });
      let bytes = resumedFrom;
      let lastReport = 0;
      let settled = false;
      const report = (force: boolean) => {
        if (!req.onProgress) return;
        const now = Date.now();
        if (!force && now - lastReport < this.opts.progressIntervalMs) return;
        lastReport = now;
        const secs = Math.max((now - started) / 1000, 1e-3);
        req.onProgress({
          url: req.url,
          bytes,
          totalBytes,
          resumedFrom,
          bytesPerSecond: (bytes - resumedFrom) / secs,
        });
      };
      const finish = (err?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(idle);
        req.signal?.removeEventListener('abort', onAbort);
        res.removeAllListeners('data');
        // Close the file before settling so a retry or a cleanup sees every written byte.
        out.end(() => {
          if (err) reject(err);
          else {
            report(true);
            resolve();
          }
        });
        if (err) res.destroy();
      };
      let idle = setTimeout(() => onIdle(), req.idleTimeoutMs ?? this.opts.idleTimeoutMs);
      const onIdle = () =>
        finish(
          new TransientError(`no data for ${req.idleTimeoutMs ?? this.opts.idleTimeoutMs} ms`, {
            timeout: 'idle',
          }),
        );
      const onAbort = () => finish(abortError(req.url));
      req.signal?.addEventListener('abort', onAbort, { once: true });

      res.on('data', (chunk: Buffer) => {
        clearTimeout(idle);
        idle = setTimeout(onIdle, req.idleTimeoutMs ?? this.opts.idleTimeoutMs);
        bytes += chunk.length;
        if (!out.write(chunk)) {
          res.pause();
          out.once('drain', () => res.resume());
        }
        report(false);
      });
      res.on('end', () => finish());
      res.on('aborted', () => finish(new TransientError('connection aborted by the server')));
      res.on('error', (e) => finish(new TransientError(`connection error: ${e.message}`)));
      res.on('close', () => {
        if (!res.complete) finish(new TransientError('connection closed before the body was complete'));
      });
      out.on('error', (e) => finish(e));
    });
  }

  /** GET with redirects; resolves with a response whose status is not a redirect. */
  private async request(
    url: string,
    headers: Record<string, string>,
    req: DownloadRequest,
  ): Promise<{ res: http.IncomingMessage; finalUrl: string }> {
    let current = url;
    for (let hop = 0; hop <= this.opts.maxRedirects; hop++) {
      const res = await this.get(current, headers, req);
      const status = res.statusCode ?? 0;
      if ([301, 302, 303, 307, 308].includes(status) && res.headers.location) {
        res.resume();
        current = new URL(res.headers.location, current).toString();
        continue;
      }
      return { res, finalUrl: current };
    }
    throw new ModelError(ErrorCodes.MODEL_DOWNLOAD_FAILED, `Too many redirects for ${url}`, { url });
  }

  private get(
    url: string,
    headers: Record<string, string>,
    req: DownloadRequest,
  ): Promise<http.IncomingMessage> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new ModelError(ErrorCodes.MODEL_DOWNLOAD_FAILED, `Invalid download URL ${url}`, { url });
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new ModelError(ErrorCodes.MODEL_DOWNLOAD_FAILED, `Unsupported URL scheme in ${url}`, { url });
    }
    const lib = parsed.protocol === 'https:' ? https : http;
    const timeoutMs = req.connectTimeoutMs ?? this.opts.connectTimeoutMs;
    return new Promise((resolve, reject) => {
      const r = lib.get(parsed, { headers });
      const timer = setTimeout(() => {
        r.destroy(new TransientError(`no response within ${timeoutMs} ms`, { timeout: 'connect' }));
      }, timeoutMs);
      const onAbort = () => r.destroy(abortError(url));
      req.signal?.addEventListener('abort', onAbort, { once: true });
      const cleanup = () => {
        clearTimeout(timer);
        req.signal?.removeEventListener('abort', onAbort);
      };
      r.on('response', (res) => {
        cleanup();
        resolve(res);
      });
      r.on('error', (err) => {
        cleanup();
        if (err instanceof TransientError || err instanceof ModelError) reject(err);
        else reject(new TransientError(`${(err as NodeJS.ErrnoException).code ?? 'error'}: ${err.message}`));
      });
    });
  }
}

function abortError(url: string): ModelError {
  return new ModelError(ErrorCodes.MODEL_DOWNLOAD_FAILED, `Download of ${url} was canceled`, {
    url,
    canceled: true,
  });
}

function throwIfAborted(signal: AbortSignal | undefined, url: string): void {
  if (signal?.aborted) throw abortError(url);
}

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}

async function fileSize(p: string): Promise<number> {
  try {
    return (await fs.stat(p)).size;
  } catch {
    return 0;
  }
}

async function readMeta(p: string): Promise<PartMeta | null> {
  try {
    const m = JSON.parse(await fs.readFile(p, 'utf8')) as PartMeta;
    return typeof m.url === 'string' ? m : null;
  } catch {
    return null;
  }
}

/**
 * Synchronous on purpose: it runs between receiving the response headers and attaching the body
 * listeners, and any await there lets a short body (or the connection's close) slip by unseen.
 */
function writeMeta(p: string, meta: PartMeta): void {
  const tmp = `${p}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(meta));
  renameSync(tmp, p);
}

function headerString(v: string | string[] | undefined): string | null {
  if (Array.isArray(v)) return v[0] ?? null;
  return v ?? null;
}

function parseLength(v: string | undefined): number | null {
  if (v === undefined) return null;
  const n = Number(v);
  return Number.isSafeInteger(n) && n >= 0 ? n : null;
}

function parseContentRange(
  v: string | undefined,
): { start: number; end: number; total: number | null } | null {
  const m = v ? /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(v.trim()) : null;
  if (!m) return null;
  return { start: Number(m[1]), end: Number(m[2]), total: m[3] === '*' ? null : Number(m[3]) };
}

/** sha256 of the whole file and, when tailBytes > 0, MD5 of its last tailBytes bytes, in one pass. */
export async function hashFile(
  p: string,
  tailBytes = 0,
): Promise<{ size: number; sha256: string; md5Tail: string | null }> {
  const size = await fileSize(p);
  const sha: Hash = createHash('sha256');
  const md5: Hash | null = tailBytes > 0 ? createHash('md5') : null;
  const tailStart = Math.max(0, size - tailBytes);
  let pos = 0;
  await new Promise<void>((resolve, reject) => {
    const s = createReadStream(p, { highWaterMark: 1 << 20 });
    s.on('data', (chunk) => {
      const buf = chunk as Buffer;
      sha.update(buf);
      if (md5) {
        const end = pos + buf.length;
        if (end > tailStart) md5.update(buf.subarray(Math.max(0, tailStart - pos)));
      }
      pos += buf.length;
    });
    s.on('end', () => resolve());
    s.on('error', reject);
  });
  return { size, sha256: sha.digest('hex'), md5Tail: md5 ? md5.digest('hex') : null };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
