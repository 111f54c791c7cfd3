import { readLevelDbTable, writeLevelDbTable } from './leveldb-table';

const entries = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    key: Buffer.from(`layer_${String(i).padStart(4, '0')}/kernel`),
    value: Buffer.from(Array.from({ length: (i % 37) + 1 }, (_, j) => (i + j) & 0xff)),
  }));

describe('LevelDB table', () => {
  it('round-trips keys and values through shared-prefix blocks with restarts', () => {
    const input = entries(300);
    const sut = writeLevelDbTable(input, { restartInterval: 16 });
    const out = readLevelDbTable(sut);
    expect(out.map((e) => e.key.toString())).toEqual(input.map((e) => e.key.toString()));
    expect(out.every((e, i) => e.value.equals(input[i].value))).toBe(true);
    // Shared-prefix compression must make the table smaller than the raw keys.
    expect(sut.length).toBeLessThan(input.reduce((a, e) => a + e.key.length + e.value.length, 0));
  });

  it('splits into several data blocks and reads them all back through the index block', () => {
    const input = entries(500);
    const out = readLevelDbTable(writeLevelDbTable(input, { blockSize: 512 }));
    expect(out).toHaveLength(500);
    expect(out[499].key.toString()).toBe('layer_0499/kernel');
  });

  it('rejects a corrupted block (masked crc32c in the trailer) and a bad magic', () => {
    const table = writeLevelDbTable(entries(10));
    const corrupt = Buffer.from(table);
    corrupt[5] ^= 0x40;
    expect(() => readLevelDbTable(corrupt)).toThrow(
      expect.objectContaining({ code: 'MODEL_CHECKSUM_MISMATCH' }),
    );
    const badMagic = Buffer.from(table);
    badMagic[badMagic.length - 1] ^= 1;
    expect(() => readLevelDbTable(badMagic)).toThrow(expect.objectContaining({ code: 'MODEL_INVALID' }));
  });

  it('refuses unsorted keys when writing', () => {
    const input = entries(3).reverse();
    expect(() => writeLevelDbTable(input)).toThrow(/sorted/);
  });
});
