import { Readable } from 'stream';
import { crc32 } from 'zlib';
import * as yauzl from 'yauzl';
import { createZipStream } from './zip-stream';

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function readZip(buf: Buffer): Promise<Map<string, { data: Buffer; crc: number; method: number }>> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(buf, { lazyEntries: true, validateEntrySizes: true }, (err, zip) => {
      if (err || !zip) return reject(err);
      const out = new Map<string, { data: Buffer; crc: number; method: number }>();
      zip.on('entry', (entry: yauzl.Entry) =>
        zip.openReadStream(entry, async (e, s) => {
          if (e || !s) return reject(e);
          out.set(entry.fileName, {
            data: await collect(s),
            crc: entry.crc32,
            method: entry.compressionMethod,
          });
          zip.readEntry();
        }),
      );
      zip.on('end', () => resolve(out));
      zip.on('error', reject);
      zip.readEntry();
    });
  });
}

describe('createZipStream', () => {
  it('writes a zip whose declared size is exact and whose entries read back byte for byte', async () => {
    const files = {
      'vocals.wav': Buffer.from(Array.from({ length: 100_003 }, (_, i) => (i * 7) & 0xff)),
      'drüms.flac': Buffer.from('not really flac'),
      'empty.wav': Buffer.alloc(0),
    };
    const entries = Object.entries(files).map(([name, data]) => ({
      name,
      size: data.length,
      modifiedAt: new Date('2026-03-04T05:06:08Z'),
      open: async () => Readable.from([data.subarray(0, 10), data.subarray(10)]),
    }));
    const zip = createZipStream(entries);
    const bytes = await collect(zip.start());
    expect(bytes.length).toBe(zip.size);
    const back = await readZip(bytes);
    expect([...back.keys()]).toEqual(Object.keys(files));
    for (const [name, data] of Object.entries(files)) {
      expect(Buffer.compare(back.get(name)!.data, data)).toBe(0);
      expect(back.get(name)!.crc).toBe(crc32(data));
      expect(back.get(name)!.method).toBe(0); // stored
    }
  });

  it('opens nothing before start, and closes the open file when the consumer goes away', async () => {
    const opened: Readable[] = [];
    const endless = () =>
      new Readable({
        read() {
          this.push(Buffer.alloc(64 * 1024));
        },
      });
    const zip = createZipStream(
      ['a.wav', 'b.wav'].map((name) => ({
        name,
        size: 10 * 1024 * 1024,
        modifiedAt: new Date(),
        open: async () => {
          const s = endless();
          opened.push(s);
          return s;
        },
      })),
    );
    await new Promise((r) => setImmediate(r));
    expect(opened).toHaveLength(0);
    const out = zip.start();
    for await (const _chunk of out) break; // reads one chunk, then destroys the stream
    await new Promise((r) => setImmediate(r));
    expect(opened).toHaveLength(1);
    expect(opened[0].destroyed).toBe(true);
  });

  it('fails the stream when a file is not the size it was declared with', async () => {
    const zip = createZipStream([
      { name: 'a', size: 5, modifiedAt: new Date(), open: async () => Readable.from([Buffer.from('abc')]) },
    ]);
    await expect(collect(zip.start())).rejects.toThrow(/unexpected number of bytes/);
  });
});
