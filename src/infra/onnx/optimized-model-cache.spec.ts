import { optimizedDataFileName, staleCacheFiles } from './optimized-model-cache';

describe(staleCacheFiles.name, () => {
  const tag = 'a'.repeat(16);
  const other = 'b'.repeat(16);
  const key = '1'.repeat(64);
  const oldKey = '2'.repeat(64);
  const keep = `${tag}-${key}.onnx`;
  const data = optimizedDataFileName(tag, key, 'c0ffee000001');

  it('names the data file after its entry and nonce', () => {
    expect(data).toBe(`${tag}-${key}.c0ffee000001.data`);
  });

  it("removes the tag's other graphs and every data file the kept graph does not reference", () => {
    const oldData = optimizedDataFileName(tag, oldKey, '000000000002');
    const lostRace = optimizedDataFileName(tag, key, '000000000003');
    const names = [
      keep,
      data,
      `${tag}-${oldKey}.onnx`,
      oldData,
      lostRace,
      `${other}-${key}.onnx`,
      'unrelated.txt',
    ];
    const keepBytes = Buffer.from(`...graph...${data}...`);
    expect(staleCacheFiles(names, tag, keep, keepBytes).sort()).toEqual(
      [`${tag}-${oldKey}.onnx`, oldData, lostRace].sort(),
    );
  });

  it('keeps a data file whose write is still under way, and every data file when the graph cannot be read', () => {
    const writing = optimizedDataFileName(tag, oldKey, '000000000004');
    const names = [keep, data, writing, `.${oldKey}.000000000004.tmp.onnx`];
    expect(staleCacheFiles(names, tag, keep, Buffer.from(data))).toEqual([]);
    // Without the kept graph's bytes it is unknown which data file it references.
    expect(staleCacheFiles([...names, `${tag}-${oldKey}.onnx`], tag, keep, null)).toEqual([
      `${tag}-${oldKey}.onnx`,
    ]);
  });
});
