import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { TensorBundleReader, dataShardPath, impliedShardSizes } from './tensor-bundle-reader';
import { writeTensorBundle } from './tensor-bundle-writer';

describe(TensorBundleReader.name, () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tf-bundle-'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  const tensors = () => ({
    'conv2d/kernel': { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6.5]) },
    'conv2d/bias': { shape: [3], data: Float32Array.from([-1, 0, 1]) },
    'conv2d/bias/Adam': { shape: [3], data: new Float32Array(3) },
    beta1_power: { shape: [], data: Float32Array.from([0.9]) },
    global_step: { shape: [], data: BigInt64Array.from([1000000n]) },
  });

  it('reads back what the writer wrote: byte-sorted keys, contiguous offsets, shapes, values', async () => {
    const res = await writeTensorBundle(dir, 'model.ckpt-7', tensors());
    const sut = await TensorBundleReader.open(path.join(dir, 'model.ckpt-7'));
    try {
      expect(sut.header).toEqual({ numShards: 1, endianness: 0, producer: 1 });
      const names = [...sut.entries.keys()];
      expect(names).toEqual([
        'beta1_power',
        'conv2d/bias',
        'conv2d/bias/Adam',
        'conv2d/kernel',
        'global_step',
      ]);
      // No padding: each tensor starts where the previous one ended.
      let offset = 0;
      for (const e of sut.entries.values()) {
        expect(e.offset).toBe(offset);
        offset += e.size;
      }
      expect(impliedShardSizes(sut.index)).toEqual([res.dataBytes]);
      expect((await fs.stat(dataShardPath(path.join(dir, 'model.ckpt-7'), 0, 1))).size).toBe(res.dataBytes);
      const k = await sut.readFloat32('conv2d/kernel');
      expect(k.shape).toEqual([2, 3]);
      expect([...k.data]).toEqual([1, 2, 3, 4, 5, 6.5]);
      expect(sut.entries.get('global_step')).toMatchObject({ dtype: 9, shape: [], size: 8 });
      expect(Buffer.from(await sut.readBytes('global_step')).readBigInt64LE()).toBe(1000000n);
      await expect(sut.readFloat32('global_step')).rejects.toMatchObject({ code: 'MODEL_INVALID' });
      await expect(sut.readFloat32('nope')).rejects.toMatchObject({ code: 'MODEL_INVALID' });
    } finally {
      await sut.close();
    }
  });

  it('reports a corrupted data byte as MODEL_CHECKSUM_MISMATCH naming the tensor', async () => {
    const { dataPath } = await writeTensorBundle(dir, 'm', tensors());
    const sut = await TensorBundleReader.open(path.join(dir, 'm'));
    const e = sut.entries.get('conv2d/kernel')!;
    const data = await fs.readFile(dataPath);
    data[e.offset + 5] ^= 0x01;
    await fs.writeFile(dataPath, data);
    try {
      await expect(sut.readFloat32('conv2d/bias')).resolves.toBeDefined();
      await expect(sut.readFloat32('conv2d/kernel')).rejects.toMatchObject({
        code: 'MODEL_CHECKSUM_MISMATCH',
        message: expect.stringContaining('conv2d/kernel'),
        context: expect.objectContaining({ tensor: 'conv2d/kernel' }),
      });
    } finally {
      await sut.close();
    }
  });

  it('reports a truncated data shard and a missing index', async () => {
    const { dataPath } = await writeTensorBundle(dir, 'm', tensors());
    await fs.truncate(dataPath, 10);
    const sut = await TensorBundleReader.open(path.join(dir, 'm'));
    try {
      await expect(sut.readFloat32('conv2d/kernel')).rejects.toMatchObject({ code: 'MODEL_INVALID' });
    } finally {
      await sut.close();
    }
    await expect(TensorBundleReader.open(path.join(dir, 'absent'))).rejects.toMatchObject({
      code: 'MODEL_NOT_INSTALLED',
    });
  });
});
