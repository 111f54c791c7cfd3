import { pipeline } from 'stream/promises';
import type { Request, Response } from 'express';
import { ErrorCodes, SeparationError } from '../../../core/errors';
import type { DownloadSource } from '../separation-download.service';
import { attachmentDisposition } from './content-disposition';
import { etagMatches, ifRangeAllows, parseRange } from './http-range';

/**
 * Writes a download: conditional requests (If-None-Match → 304), single byte ranges (206 / 416 with
 * `Content-Range: bytes * /size`), HEAD without a body. Errors before the first byte propagate to the
 * problem filter; a failure mid-stream aborts the connection (the client sees a short body).
 */
export async function sendDownload(req: Request, res: Response, source: DownloadSource): Promise<void> {
  res.setHeader('Content-Type', source.contentType);
  res.setHeader('Content-Disposition', attachmentDisposition(source.fileName));
  res.setHeader('Cache-Control', 'private, no-transform');
  res.setHeader('X-Content-Type-Options', 'nosniff');

  if (source.kind === 'stream') {
    res.setHeader('Accept-Ranges', 'none');
    if (source.size !== undefined) res.setHeader('Content-Length', String(source.size));
    res.status(200);
    if (req.method === 'HEAD') return void res.end();
    await pump(await source.open(), res);
    return;
  }

  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('ETag', source.etag);
  res.setHeader('Last-Modified', source.lastModified.toUTCString());
  if (etagMatches(req.headers['if-none-match'], source.etag)) {
    res.status(304).end();
    return;
  }
  const rangeHeader = req.headers.range;
  const ifRange = req.headers['if-range'] as string | undefined;
  const parsed =
    rangeHeader && ifRangeAllows(ifRange, source.etag, source.lastModified)
      ? parseRange(rangeHeader, source.size)
      : 'ignore';
  if (parsed === 'unsatisfiable') {
    res.setHeader('Content-Range', `bytes */${source.size}`);
    throw new SeparationError(
      ErrorCodes.RANGE_NOT_SATISFIABLE,
      `Range '${String(rangeHeader).slice(0, 64)}' is outside 0-${source.size - 1}`,
    );
  }
  const range = parsed === 'ignore' ? null : parsed;
  if (range) {
    res.status(206);
    res.setHeader('Content-Range', `bytes ${range.start}-${range.end}/${source.size}`);
    res.setHeader('Content-Length', String(range.end - range.start + 1));
  } else {
    res.status(200);
    res.setHeader('Content-Length', String(source.size));
  }
  if (req.method === 'HEAD') return void res.end();
  await pump(await source.open(range ?? undefined), res);
}

async function pump(body: NodeJS.ReadableStream, res: Response): Promise<void> {
  try {
    await pipeline(body, res);
  } catch {
    // The client went away or the source failed mid-body: nothing more can be said over HTTP.
    if (!res.destroyed) res.destroy();
  }
}
