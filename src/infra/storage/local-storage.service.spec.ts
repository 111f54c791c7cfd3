import { promises as fsp } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { AppConfig } from '../config/app-config';
import { configSchema } from '../config/config.schema';
import { LocalStorageService } from './local-storage.service';

async function read(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

describe(LocalStorageService.name, () => {
  let dir: string;
  let sut: LocalStorageService;

  beforeEach(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'local-storage-'));
    sut = new LocalStorageService(new AppConfig(configSchema.parse({ storage: { dir } })));
    await sut.onModuleInit();
  });
  afterEach(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('moves a scratch file into place and reads it back whole or by range', async () => {
    const src = sut.newScratchPath('.upload');
    await fsp.writeFile(src, '0123456789');
    const info = await sut.putFile('results/job-1/vocals.wav', src, { move: true });
    expect(info).toMatchObject({
      key: 'results/job-1/vocals.wav',
      size: 10,
      etag: expect.stringMatching(/^".+"$/),
    });
    await expect(fsp.stat(src)).rejects.toThrow();
    expect(await read(await sut.createReadStream('results/job-1/vocals.wav'))).toBe('0123456789');
    expect(await read(await sut.createReadStream('results/job-1/vocals.wav', { start: 2, end: 4 }))).toBe(
      '234',
    );
    expect(await sut.stat('results/job-1/vocals.wav')).toMatchObject({ size: 10, etag: info.etag });
    expect(await sut.localPath('results/job-1/vocals.wav')).toBe(path.join(dir, 'results/job-1/vocals.wav'));
  });

  it('copies (leaving the source) without move, and deletes by key and prefix', async () => {
    const src = path.join(dir, 'outside.bin');
    await fsp.writeFile(src, 'abc');
    await sut.putFile('results/j/a.wav', src);
    await sut.putFile('results/j/b.wav', src);
    expect(await fsp.readFile(src, 'utf8')).toBe('abc');
    await sut.delete('results/j/a.wav');
    expect(await sut.stat('results/j/a.wav')).toBeNull();
    await sut.deletePrefix('results/j');
    expect(await sut.stat('results/j/b.wav')).toBeNull();
    await sut.delete('results/j/none.wav'); // missing is fine
  });

  it('refuses keys that could leave the storage root', async () => {
    for (const key of ['../x', 'a/../../x', '/etc/passwd', 'a//b', '.hidden', 'a/./b', 'a\\b', '']) {
      await expect(sut.stat(key)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    }
    await expect(sut.removeScratch(path.join(dir, 'results'))).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
    await expect(sut.createReadStream('results/none')).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
  });

  it('sweeps the scratch entries the rule picks, whole directories included, and nothing else', async () => {
    const old = sut.newScratchPath('.upload');
    const owned = await sut.createScratchDir('job-1.a1-');
    const fresh = await sut.createScratchDir();
    await fsp.writeFile(old, 'x');
    await fsp.writeFile(path.join(owned, '.vocals.wav.0123456789ab.partial'), 'x');
    const past = new Date(Date.now() - 3600_000);
    await fsp.utimes(old, past, past);
    const seen: Array<{ name: string; isDirectory: boolean }> = [];
    const removed = await sut.sweepScratch((e) => {
      seen.push({ name: e.name, isDirectory: e.isDirectory });
      return e.name.startsWith('job-1.') || e.modifiedAt.getTime() < Date.now() - 60_000;
    });
    expect(removed).toBe(2);
    expect(seen).toHaveLength(3);
    expect(seen.find((e) => e.name === path.basename(owned))?.isDirectory).toBe(true);
    await expect(fsp.stat(old)).rejects.toThrow();
    await expect(fsp.stat(owned)).rejects.toThrow();
    await expect(fsp.stat(fresh)).resolves.toBeTruthy();
    expect(path.basename(owned)).toMatch(/^job-1\.a1-.{6}$/);
    await expect(sut.createScratchDir('../x')).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});
