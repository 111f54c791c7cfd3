/**
 * HttpDownloader, ArchiveExtractor and FileLock against real HTTP, real archives and real processes.
 */
import { spawn } from 'child_process';
import { randomBytes } from 'crypto';
import { existsSync, promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ArchiveExtractor } from '../../src/infra/models/archive-extractor';
import { FileLock } from '../../src/infra/models/file-lock';
import { HttpDownloader } from '../../src/infra/models/http-downloader';
import {
  HAVE_BZIP2,
  TestFileServer,
  listTree,
  md5Tail,
  sha256,
  tarBz2,
  tarGz,
  zipOf,
} from './models-fixtures';

jest.setTimeout(30_000);

let server: TestFileServer;
let root: string;
const body = randomBytes(3 * 1024 * 1024 + 123);

beforeAll(async () => {
  server = await TestFileServer.start();
});
afterAll(async () => {
  await server.close();
});
beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'models-dl-'));
});
afterEach(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

describe(HttpDownloader.name, () => {
  const sut = new HttpDownloader({ retryDelayMs: 10, progressIntervalMs: 0 });

  it('downloads, verifies size + sha256 + UVR md5_tail and reports progress', async () => {
    const url = server.serve('/plain.bin', { body });
    const dest = path.join(root, 'plain.bin');
    const seen: number[] = [];
    const res = await sut.download({
      url,
      dest,
      expectedSize: body.length,
      sha256: sha256(body),
      md5Tail: md5Tail(body),
      onProgress: (p) => seen.push(p.bytes),
    });
    expect(res).toMatchObject({ size: body.length, sha256: sha256(body), resumedFrom: 0, attempts: 1 });
    expect(sha256(await fs.readFile(dest))).toBe(sha256(body));
    expect(seen[seen.length - 1]).toBe(body.length);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    expect(await listTree(root)).toEqual(['plain.bin']);
  });

  it('resumes with Range + If-Range after the connection is cut mid-file', async () => {
    const url = server.serve('/cut.bin', { body, cutAt: 1_000_000, cutTimes: 1 });
    const dest = path.join(root, 'cut.bin');
    const res = await sut.download({ url, dest, sha256: sha256(body) });
    const reqs = server.requestsFor('/cut.bin');
    expect(reqs).toHaveLength(2);
    expect(reqs[0].range).toBeUndefined();
    expect(reqs[1].range).toMatch(/^bytes=\d+-$/);
    expect(Number(reqs[1].range!.slice(6, -1))).toBeGreaterThan(0);
    expect(reqs[1].ifRange).toMatch(/^"[0-9a-f]{32}"$/);
    expect(reqs[1].status).toBe(206);
    expect(res.resumedAttempts).toBe(1);
    expect(sha256(await fs.readFile(dest))).toBe(sha256(body));
  });

  it('keeps the partial file when all retries fail and continues from it on the next call', async () => {
    const url = server.serve('/cut2.bin', { body, cutAt: 2_000_000, cutTimes: 1 });
    const dest = path.join(root, 'cut2.bin');
    const err = await sut.download({ url, dest, retries: 0 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MODEL_DOWNLOAD_FAILED', context: { resumable: true } });
    const partial = (await fs.stat(`${dest}.part`)).size;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThanOrEqual(2_000_000);
    const res = await sut.download({ url, dest, sha256: sha256(body) });
    expect(res.resumedFrom).toBe(partial);
    expect(server.requestsFor('/cut2.bin')[1]).toMatchObject({ range: `bytes=${partial}-`, status: 206 });
    expect(await listTree(root)).toEqual(['cut2.bin']);
  });

  it('restarts from zero when the server file changed (If-Range no longer matches)', async () => {
    const url = server.serve('/changing.bin', { body, cutAt: 500_000 });
    const dest = path.join(root, 'changing.bin');
    await sut.download({ url, dest, retries: 0 }).catch(() => undefined);
    const other = randomBytes(body.length);
    server.serve('/changing.bin', { body: other });
    const res = await sut.download({ url, dest, sha256: sha256(other) });
    expect(res.sha256).toBe(sha256(other));
    expect(server.requestsFor('/changing.bin').pop()).toMatchObject({ status: 200 });
  });

  it('refuses a checksum mismatch and leaves nothing behind', async () => {
    const url = server.serve('/bad.bin', { body });
    const dest = path.join(root, 'bad.bin');
    await expect(sut.download({ url, dest, sha256: '0'.repeat(64) })).rejects.toMatchObject({
      code: 'MODEL_CHECKSUM_MISMATCH',
      context: { check: 'sha256' },
    });
    expect(await listTree(root)).toEqual([]);
  });

  it('refuses a size that disagrees with Content-Length before downloading the body', async () => {
    const url = server.serve('/size.bin', { body });
    const dest = path.join(root, 'size.bin');
    await expect(sut.download({ url, dest, expectedSize: body.length + 1 })).rejects.toMatchObject({
      code: 'MODEL_CHECKSUM_MISMATCH',
      context: { check: 'size' },
    });
    expect(await listTree(root)).toEqual([]);
  });

  it('reports 404 as MODEL_DOWNLOAD_FAILED with the status, without retrying', async () => {
    const dest = path.join(root, 'missing.bin');
    await expect(sut.download({ url: server.url('/missing.bin'), dest })).rejects.toMatchObject({
      code: 'MODEL_DOWNLOAD_FAILED',
      context: { status: 404 },
    });
    expect(server.requestsFor('/missing.bin')).toHaveLength(1);
    expect(await listTree(root)).toEqual([]);
  });

  it('retries 5xx and gives up with MODEL_DOWNLOAD_FAILED', async () => {
    const url = server.serve('/err.bin', { body, status: 503 });
    await expect(sut.download({ url, dest: path.join(root, 'err.bin'), retries: 2 })).rejects.toMatchObject({
      code: 'MODEL_DOWNLOAD_FAILED',
      context: { status: 503, attempts: 3 },
    });
    expect(server.requestsFor('/err.bin')).toHaveLength(3);
  });

  it('follows redirects (GitHub release assets redirect to a CDN)', async () => {
    server.serve('/cdn/asset.bin', { body });
    const url = server.serve('/releases/asset.bin', { body, redirect: '/cdn/asset.bin' });
    const res = await sut.download({ url, dest: path.join(root, 'asset.bin'), sha256: sha256(body) });
    expect(res.finalUrl).toBe(server.url('/cdn/asset.bin'));
  });

  it('times out a stalled transfer (idle timeout) with MODEL_DOWNLOAD_FAILED', async () => {
    const url = server.serve('/stall.bin', { body, stallAfter: 100_000 });
    const started = Date.now();
    await expect(
      sut.download({ url, dest: path.join(root, 'stall.bin'), idleTimeoutMs: 300, retries: 1 }),
    ).rejects.toMatchObject({ code: 'MODEL_DOWNLOAD_FAILED', context: { timeout: 'idle' } });
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(600);
    expect(elapsed).toBeLessThan(5000);
  });

  it('can be canceled with an AbortSignal', async () => {
    const url = server.serve('/slow.bin', { body, chunkDelayMs: 50 });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 150);
    await expect(
      sut.download({ url, dest: path.join(root, 'slow.bin'), signal: ac.signal }),
    ).rejects.toMatchObject({
      code: 'MODEL_DOWNLOAD_FAILED',
      context: { canceled: true },
    });
  });
});

describe(ArchiveExtractor.name, () => {
  const sut = new ArchiveExtractor();
  const files = { 'pkg/a.onnx': randomBytes(70_000), 'pkg/sub/b.txt': Buffer.from('hello') };
  const entries = Object.entries(files).map(([name, data]) => ({ name, data }));

  const expectExtracted = async (dir: string) => {
    expect(await fs.readFile(path.join(dir, 'pkg/a.onnx'))).toEqual(files['pkg/a.onnx']);
    expect(await fs.readFile(path.join(dir, 'pkg/sub/b.txt'), 'utf8')).toBe('hello');
  };

  it('extracts .tar.gz', async () => {
    const archive = path.join(root, 'x.tar.gz');
    await fs.writeFile(archive, tarGz(entries));
    const res = await sut.extract(archive, 'tar.gz', path.join(root, 'out'));
    expect(res).toEqual({ files: 2, bytes: 70_005 });
    await expectExtracted(path.join(root, 'out'));
  });

  (HAVE_BZIP2 ? it : it.skip)(
    'extracts .tar.bz2 with the bzip2 binary and with unbzip2-stream alike',
    async () => {
      const archive = path.join(root, 'x.tar.bz2');
      await fs.writeFile(archive, tarBz2(entries));
      await new ArchiveExtractor({ bzip2Binary: 'bzip2' }).extract(
        archive,
        'tar.bz2',
        path.join(root, 'native'),
      );
      await expectExtracted(path.join(root, 'native'));
      await new ArchiveExtractor({ bzip2Binary: null }).extract(archive, 'tar.bz2', path.join(root, 'js'));
      await expectExtracted(path.join(root, 'js'));
    },
  );

  (HAVE_BZIP2 ? it : it.skip)('refuses hostile and corrupt .tar.bz2 on both decoder paths', async () => {
    const evil = path.join(root, 'evil.tar.bz2');
    await fs.writeFile(evil, tarBz2([{ name: '../evil.txt', data: Buffer.from('pwned') }]));
    const corrupt = path.join(root, 'corrupt.tar.bz2');
    const good = tarBz2(entries);
    await fs.writeFile(corrupt, Buffer.concat([good.subarray(0, 200), Buffer.alloc(500, 7)]));
    for (const bzip2Binary of ['bzip2', null]) {
      const x = new ArchiveExtractor({ bzip2Binary });
      await expect(x.extract(evil, 'tar.bz2', path.join(root, `e-${bzip2Binary}`))).rejects.toMatchObject({
        code: 'MODEL_INVALID',
      });
      await expect(x.extract(corrupt, 'tar.bz2', path.join(root, `c-${bzip2Binary}`))).rejects.toMatchObject({
        code: 'MODEL_INVALID',
      });
    }
    expect(existsSync(path.join(root, 'evil.txt'))).toBe(false);
  });

  it('extracts .zip', async () => {
    const archive = path.join(root, 'x.zip');
    await fs.writeFile(archive, zipOf(files));
    const res = await sut.extract(archive, 'zip', path.join(root, 'out'));
    expect(res.files).toBe(2);
    await expectExtracted(path.join(root, 'out'));
  });

  it.each([
    [
      'a ../ entry',
      [
        { name: 'pkg/ok.txt', data: Buffer.from('x') },
        { name: '../evil.txt', data: Buffer.from('pwned') },
      ],
    ],
    ['an absolute path', [{ name: '/tmp/evil-abs.txt', data: Buffer.from('pwned') }]],
    [
      'a symlink out of the tree',
      [{ name: 'link', type: 'symlink' as const, linkname: '../../../etc/passwd' }],
    ],
    ['a hard link out of the tree', [{ name: 'h', type: 'hardlink' as const, linkname: '../outside' }]],
  ])('refuses a tar.gz with %s (MODEL_INVALID) and writes nothing outside', async (_label, bad) => {
    const archive = path.join(root, 'evil.tar.gz');
    await fs.writeFile(archive, tarGz(bad));
    const out = path.join(root, 'deep', 'out');
    await expect(sut.extract(archive, 'tar.gz', out)).rejects.toMatchObject({
      code: 'MODEL_INVALID',
      message: expect.stringMatching(/unsafe path|outside/),
    });
    expect(existsSync(path.join(root, 'deep', 'evil.txt'))).toBe(false);
    expect(existsSync(path.join(root, 'evil.txt'))).toBe(false);
    expect(existsSync('/tmp/evil-abs.txt')).toBe(false);
  });

  it('refuses a zip with ../ entries', async () => {
    const patched = zipOf({ 'pkg/ok.txt': Buffer.from('x'), '../evil.txt': Buffer.from('pwned') });
    const archive = path.join(root, 'evil.zip');
    await fs.writeFile(archive, patched);
    await expect(sut.extract(archive, 'zip', path.join(root, 'out'))).rejects.toMatchObject({
      code: 'MODEL_INVALID',
    });
    expect(existsSync(path.join(root, 'evil.txt'))).toBe(false);
  });

  it('reports corrupt data as MODEL_INVALID', async () => {
    const archive = path.join(root, 'corrupt.tar.gz');
    const good = tarGz(entries);
    await fs.writeFile(archive, good.subarray(0, Math.floor(good.length / 2)));
    await expect(sut.extract(archive, 'tar.gz', path.join(root, 'out'))).rejects.toMatchObject({
      code: 'MODEL_INVALID',
    });
  });

  it('stops at the configured uncompressed size (decompression bombs)', async () => {
    const archive = path.join(root, 'big.tar.gz');
    await fs.writeFile(archive, tarGz([{ name: 'zeros', data: Buffer.alloc(2_000_000) }]));
    await expect(
      sut.extract(archive, 'tar.gz', path.join(root, 'out'), { maxBytes: 1_000_000 }),
    ).rejects.toMatchObject({
      code: 'MODEL_INVALID',
      message: expect.stringContaining('uncompressed'),
    });
  });
});

describe(FileLock.name, () => {
  it('serialises holders in one process and lets the next in after release', async () => {
    const lockPath = path.join(root, 'x.lock');
    const order: string[] = [];
    const a = await FileLock.acquire(lockPath);
    const waiting = FileLock.acquire(lockPath, { pollMs: 10, onWait: () => order.push('b waits') }).then(
      (h) => {
        order.push('b holds');
        return h;
      },
    );
    await new Promise((r) => setTimeout(r, 100));
    order.push('a releases');
    await a.release();
    const b = await waiting;
    expect(order).toEqual(['b waits', 'a releases', 'b holds']);
    await b.release();
    expect(existsSync(lockPath)).toBe(false);
  });

  it('breaks a lock whose holder process died', async () => {
    const lockPath = path.join(root, 'dead.lock');
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10)']);
    await new Promise((r) => child.on('exit', r));
    await fs.writeFile(
      lockPath,
      JSON.stringify({
        pid: child.pid,
        host: os.hostname(),
        token: 'dead',
        createdAt: new Date().toISOString(),
      }),
    );
    const h = await FileLock.acquire(lockPath, { timeoutMs: 2000 });
    expect(JSON.parse(await fs.readFile(lockPath, 'utf8')).pid).toBe(process.pid);
    await h.release();
  });

  it('waits for a lock held by another live process and times out with MODEL_IN_USE', async () => {
    const lockPath = path.join(root, 'other.lock');
    const script = `
      const fs = require('fs');
      fs.writeFileSync(${JSON.stringify(lockPath)}, JSON.stringify({ pid: process.pid, host: require('os').hostname(), token: 'child', createdAt: new Date().toISOString() }), { flag: 'wx' });
      process.stdout.write('locked\\n');
      setTimeout(() => { fs.rmSync(${JSON.stringify(lockPath)}); process.exit(0); }, 600);`;
    const child = spawn(process.execPath, ['-e', script]);
    await new Promise<void>((r) => child.stdout.once('data', () => r()));
    await expect(FileLock.acquire(lockPath, { timeoutMs: 150, pollMs: 20 })).rejects.toMatchObject({
      code: 'MODEL_IN_USE',
    });
    const started = Date.now();
    const h = await FileLock.acquire(lockPath, { timeoutMs: 5000, pollMs: 20 });
    expect(Date.now() - started).toBeGreaterThan(200);
    await h.release();
  });

  it('treats a lock not refreshed for staleMs as abandoned, but refreshes its own', async () => {
    const lockPath = path.join(root, 'stale.lock');
    const held = await FileLock.acquire(lockPath, { staleMs: 300 });
    await new Promise((r) => setTimeout(r, 700));
    // Still refreshed by its holder: a second acquirer must not steal it.
    await expect(
      FileLock.acquire(lockPath, { staleMs: 300, timeoutMs: 200, pollMs: 20 }),
    ).rejects.toMatchObject({
      code: 'MODEL_IN_USE',
    });
    await held.release();
    await fs.writeFile(lockPath, JSON.stringify({ pid: 1, host: 'elsewhere', token: 'old', createdAt: '' }));
    const old = new Date(Date.now() - 10_000);
    await fs.utimes(lockPath, old, old);
    const h = await FileLock.acquire(lockPath, { staleMs: 300, timeoutMs: 1000 });
    await h.release();
  });
});
