import type { Request, Response } from 'express';
import type { WebAsset } from './web-assets.service';

/**
 * The page's Content-Security-Policy: only its own scripts, styles and API; no inline code, no
 * eval, no framing, no plugins; blob: for the stem and mix downloads. Set on the document only,
 * so Swagger UI (/docs, which needs inline scripts) keeps working under helmet's defaults.
 */
export const WEB_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

function accepts(req: Request, encoding: string): boolean {
  const header = req.headers['accept-encoding'];
  if (typeof header !== 'string') return false;
  return header.split(',').some((part) => {
    const [name, ...params] = part.trim().split(';');
    if (name.trim().toLowerCase() !== encoding) return false;
    const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)).find(Boolean);
    return !q || Number(q[1]) > 0;
  });
}

/** Sends a built file: the pre-compressed variant the client accepts, ETag/304, cache headers. */
export function sendWebAsset(req: Request, res: Response, asset: WebAsset): void {
  res.setHeader('Content-Type', asset.contentType);
  res.setHeader('ETag', asset.etag);
  res.setHeader('Vary', 'Accept-Encoding');
  res.setHeader('Cache-Control', asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  if (asset.isDocument) {
    res.setHeader('Content-Security-Policy', WEB_CSP);
    res.setHeader('Referrer-Policy', 'no-referrer');
  }
  const inm = req.headers['if-none-match'];
  if (typeof inm === 'string' && inm.split(',').some((t) => t.trim().replace(/^W\//, '') === asset.etag)) {
    res.status(304).end();
    return;
  }
  let body = asset.body;
  if (asset.br && accepts(req, 'br')) {
    body = asset.br;
    res.setHeader('Content-Encoding', 'br');
  } else if (asset.gzip && accepts(req, 'gzip')) {
    body = asset.gzip;
    res.setHeader('Content-Encoding', 'gzip');
  }
  res.setHeader('Content-Length', String(body.length));
  res.status(200);
  if (req.method === 'HEAD') res.end();
  else res.end(body);
}
