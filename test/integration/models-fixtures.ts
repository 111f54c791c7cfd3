/**
 * Test fixtures for model management: a real local HTTP file server with the behaviours a model
 * download meets in the wild (Range/If-Range resume, redirects, 404, connections cut mid-body,
 * stalls), archive builders (raw tar so hostile entries can be written, gzip/bzip2/zip), tiny
 * ONNX models, and catalog entries pointing at the server.
 */
import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import { existsSync, promises as fs } from 'fs';
import * as http from 'http';
import type { AddressInfo, Socket } from 'net';
import * as path from 'path';
import { crc32, gzipSync } from 'zlib';
import { OnnxGraphBuilder } from '../../src/core/onnx/onnx-graph-builder';
import { ModelCatalog } from '../../src/core/models/model-catalog';
import { generateTestModelFiles } from '../factories/models';

// ----------------------------------------------------------------------------- HTTP server

export interface Served {
  body: Buffer;
  /** ETag sent with the file (default: a hash of the body); null sends none. */
  etag?: string | null;
  status?: number;
  /** Answer with a 302 to this path instead. */
  redirect?: string;
  /** Destroy the connection after this many body bytes, for the first `cutTimes` requests. */
  cutAt?: number;
  cutTimes?: number;
  /** Send this many body bytes, then go silent (the connection stays open). */
  stallAfter?: number;
  /** Pause between 64 KiB chunks. */
  chunkDelayMs?: number;
  /** Wait this long before answering at all (a slow origin). */
  responseDelayMs?: number;
}

export interface LoggedRequest {
  path: string;
  range?: string;
  ifRange?: string;
  status: number;
}

export class TestFileServer {
  readonly requests: LoggedRequest[] = [];
  private readonly files = new Map<string, Served & { served: number }>();
  private readonly sockets = new Set<Socket>();
  private server!: http.Server;
  private port = 0;

  static async start(): Promise<TestFileServer> {
    const s = new TestFileServer();
    s.server = http.createServer((req, res) => s.handle(req, res));
    s.server.on('connection', (sock) => {
      s.sockets.add(sock);
      sock.on('close', () => s.sockets.delete(sock));
    });
    await new Promise<void>((r) => s.server.listen(0, '127.0.0.1', r));
    s.port = (s.server.address() as AddressInfo).port;
    return s;
  }

  serve(urlPath: string, file: Served): string {
    this.files.set(urlPath, { ...file, served: 0 });
    return this.url(urlPath);
  }

  url(urlPath: string): string {
    return `http://127.0.0.1:${this.port}${urlPath}`;
  }

  requestsFor(urlPath: string): LoggedRequest[] {
    return this.requests.filter((r) => r.path === urlPath);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const delay = this.files.get((req.url ?? '/').split('?')[0])?.responseDelayMs;
    if (delay) setTimeout(() => this.respond(req, res), delay);
    else this.respond(req, res);
  }

  private respond(req: http.IncomingMessage, res: http.ServerResponse): void {
    const urlPath = (req.url ?? '/').split('?')[0];
    const file = this.files.get(urlPath);
    const log = (status: number) =>
      this.requests.push({
        path: urlPath,
        status,
        ...(req.headers.range ? { range: String(req.headers.range) } : {}),
        ...(req.headers['if-range'] ? { ifRange: String(req.headers['if-range']) } : {}),
      });
    if (!file) {
      log(404);
      res.writeHead(404).end('not found');
      return;
    }
    if (file.redirect) {
      log(302);
      res.writeHead(302, { location: file.redirect }).end();
      return;
    }
    if (file.status && file.status !== 200) {
      log(file.status);
      res.writeHead(file.status).end('error');
      return;
    }
    const etag =
      file.etag === undefined ? `"${createHash('md5').update(file.body).digest('hex')}"` : file.etag;
    const total = file.body.length;
    let start = 0;
    const m = /^bytes=(\d+)-$/.exec(String(req.headers.range ?? ''));
    const ifRange = req.headers['if-range'];
    const rangeValid = m && (!ifRange || (etag !== null && ifRange === etag));
    const headers: Record<string, string | number> = {
      'content-type': 'application/octet-stream',
      'accept-ranges': 'bytes',
    };
    if (etag) headers.etag = etag;
    let status = 200;
    if (rangeValid) {
      start = Number(m[1]);
      if (start >= total) {
        log(416);
        res.writeHead(416, { 'content-range': `bytes */${total}` }).end();
        return;
      }
      status = 206;
      headers['content-range'] = `bytes ${start}-${total - 1}/${total}`;
    }
    headers['content-length'] = total - start;
    log(status);
    file.served++;
    res.writeHead(status, headers);
    const body = file.body.subarray(start);
    const cut =
      file.cutAt !== undefined && file.served <= (file.cutTimes ?? 1)
        ? Math.max(0, file.cutAt - start)
        : null;
    this.stream(res, body, cut, file.stallAfter ?? null, file.chunkDelayMs ?? 0);
  }

  private stream(
    res: http.ServerResponse,
    body: Buffer,
    cut: number | null,
    stall: number | null,
    delayMs: number,
  ): void {
    const CHUNK = 64 * 1024;
    let pos = 0;
    const step = () => {
      if (res.destroyed) return;
      const limit = Math.min(body.length, cut ?? Infinity, stall ?? Infinity);
      if (pos >= limit) {
        if (cut !== null && pos >= cut) res.socket?.destroy();
        else if (stall !== null && pos >= stall)
          return; // stay silent; the client must time out
        else res.end();
        return;
      }
      const start = pos;
      const end = Math.min(limit, pos + CHUNK);
      pos = end;
      // Continue once the chunk is flushed, so a cut happens after the client can have the bytes.
      res.write(body.subarray(start, end), () => {
        if (delayMs > 0) setTimeout(step, delayMs);
        else setImmediate(step);
      });
    };
    step();
  }
}

// ----------------------------------------------------------------------------- archives

export interface RawTarEntry {
  name: string;
  type?: 'file' | 'dir' | 'symlink' | 'hardlink';
  data?: Buffer;
  linkname?: string;
}

/** A ustar archive written byte by byte, so tests can include entries `tar` would sanitise. */
export function rawTar(entries: RawTarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const data = e.data ?? Buffer.alloc(0);
    const h = Buffer.alloc(512);
    const type = e.type ?? 'file';
    h.write(e.name, 0, 100, 'utf8');
    h.write(type === 'dir' ? '0000755\0' : '0000644\0', 100, 'ascii');
    h.write('0000000\0', 108, 'ascii');
    h.write('0000000\0', 116, 'ascii');
    h.write(`${(type === 'file' ? data.length : 0).toString(8).padStart(11, '0')}\0`, 124, 'ascii');
    h.write(
      `${Math.floor(Date.now() / 1000)
        .toString(8)
        .padStart(11, '0')}\0`,
      136,
      'ascii',
    );
    h.write({ file: '0', hardlink: '1', symlink: '2', dir: '5' }[type], 156, 'ascii');
    if (e.linkname) h.write(e.linkname, 157, 100, 'utf8');
    h.write('ustar\0', 257, 'ascii');
    h.write('00', 263, 'ascii');
    h.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
    blocks.push(h);
    if (type === 'file' && data.length > 0) {
      blocks.push(data, Buffer.alloc((512 - (data.length % 512)) % 512));
    }
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

export function filesToEntries(
  files: ReadonlyMap<string, Uint8Array> | Record<string, Uint8Array>,
  prefix = '',
): RawTarEntry[] {
  const list = files instanceof Map ? [...files.entries()] : Object.entries(files);
  const entries: RawTarEntry[] = prefix ? [{ name: `${prefix}/`, type: 'dir' }] : [];
  for (const [name, data] of list)
    entries.push({ name: prefix ? `${prefix}/${name}` : name, data: Buffer.from(data) });
  return entries;
}

export const tarGz = (entries: RawTarEntry[]): Buffer => gzipSync(rawTar(entries), { level: 1 });

export const HAVE_BZIP2 = spawnSync('bzip2', ['--help']).error === undefined;

export function tarBz2(entries: RawTarEntry[]): Buffer {
  const r = spawnSync('bzip2', ['-c', '-1'], { input: rawTar(entries), maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`bzip2 failed: ${r.stderr?.toString()}`);
  return r.stdout;
}

/** A zip of stored (uncompressed) entries, names written verbatim (so `../x` is possible). */
export function zipOf(files: Record<string, Buffer>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of Object.entries(files)) {
    const nameBuf = Buffer.from(name, 'utf8');
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(0, 8); // stored
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBuf.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(0x0314, 4); // made by unix
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBuf.length, 28);
    central.writeUInt32LE((0o100644 << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBuf, data);
    centrals.push(central, nameBuf);
    offset += 30 + nameBuf.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(files).length, 8);
  end.writeUInt16LE(Object.keys(files).length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

// ----------------------------------------------------------------------------- models

/** sherpa-style 2stems files (no spleeter.json): `scale` stand-ins, y_i = k_i·x. */
export function sherpaStyleFiles(
  precision: 'fp32' | 'fp16' | 'int8' = 'fp32',
  scales?: number[],
): Map<string, Uint8Array> {
  return generateTestModelFiles('scale', { config: '2stems', manifest: false, precision, scales });
}

/** An MDX-Net-shaped model: output = factor · input, [batch, 4, dimF, dimT]. NaN factor → NaN outputs. */
export function tinyMdxOnnx(dimF: number, dimT: number, factor = 0.5): Buffer {
  const b = new OnnxGraphBuilder({ graphName: 'tiny_mdx' });
  b.addInput('input', 'float32', ['batch', 4, dimF, dimT]);
  b.addNode('Mul', ['input', b.constant('k', 'float32', [], new Float32Array([factor]))], ['output']);
  b.addOutput('output', 'float32', ['batch', 4, dimF, dimT]);
  return Buffer.from(b.serialize());
}

export function md5Tail(buf: Buffer, tail = 10_240_000): string {
  return createHash('md5')
    .update(buf.subarray(Math.max(0, buf.length - tail)))
    .digest('hex');
}

export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

export const SPLEETER_2STEMS = {
  F: 1024,
  architecture: 'unet',
  conv_activation: 'leaky_relu',
  deconv_activation: 'relu',
} as const;

/** A sherpa-style catalog entry served at `url`. */
export function sherpaEntry(
  name: string,
  url: string,
  opts: { sha256?: string | null; size?: number | null; precision?: 'fp32' | 'fp16' | 'int8' } = {},
) {
  const precision = opts.precision ?? 'fp32';
  const suffix = precision === 'fp32' ? '' : `.${precision}`;
  return {
    name,
    kind: 'spleeter',
    format: 'onnx-archive',
    stems: ['vocals', 'accompaniment'],
    sample_rate: 44100,
    license: 'MIT',
    sources: [{ url, sha256: opts.sha256 ?? null, size: opts.size ?? null }],
    spleeter: {
      ...SPLEETER_2STEMS,
      config: '2stems',
      precision,
      files: { vocals: `vocals${suffix}.onnx`, accompaniment: `accompaniment${suffix}.onnx` },
    },
  };
}

export function mdxEntry(
  name: string,
  url: string,
  dimF: number,
  dimT: number,
  opts: { md5_tail?: string | null; sha256?: string | null } = {},
) {
  return {
    name,
    kind: 'mdx',
    format: 'onnx',
    stems: ['vocals', 'instrumental'],
    sample_rate: 44100,
    license: 'test',
    sources: [{ url, md5_tail: opts.md5_tail ?? null, sha256: opts.sha256 ?? null }],
    mdx: {
      compensate: 1.02,
      dim_f: dimF,
      dim_t: dimT,
      n_fft: 256,
      primary_stem: 'vocals',
      secondary_stem: 'instrumental',
    },
  };
}

export function catalogOf(models: unknown[], version = 7): ModelCatalog {
  return ModelCatalog.parse({ catalog_version: version, models }, '(test)');
}

/** Every file under `dir`, relative, sorted (for "nothing left behind" assertions). */
export async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    const entries = await fs.readdir(path.join(dir, rel), { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      out.push(r);
      if (e.isDirectory()) await walk(r);
    }
  };
  if (existsSync(dir)) await walk('');
  return out.sort();
}
