import { chmod, mkdtemp, readFile, rm, writeFile } from 'fs/promises';
import { tmpdir } from 'os';
import { join } from 'path';
import { GpuProbe, parseNvidiaSmiCsv } from './gpu-probe';

describe('parseNvidiaSmiCsv', () => {
  it('reads nvidia-smi csv (noheader, nounits) into bytes and ratios, tolerating [N/A]', () => {
    const text = '0, NVIDIA H100 80GB HBM3, 1024, 81559, 37\n1, Tesla T4, [N/A], 15360, [N/A]\n\n';
    expect(parseNvidiaSmiCsv(text)).toEqual([
      {
        index: 0,
        name: 'NVIDIA H100 80GB HBM3',
        memoryUsedBytes: 1024 * 1024 * 1024,
        memoryTotalBytes: 81559 * 1024 * 1024,
        utilization: 0.37,
      },
      {
        index: 1,
        name: 'Tesla T4',
        memoryUsedBytes: null,
        memoryTotalBytes: 15360 * 1024 * 1024,
        utilization: null,
      },
    ]);
  });
});

describe(GpuProbe.name, () => {
  it('answers [] without nvidia-smi, and stops trying', async () => {
    const sut = new GpuProbe('/nonexistent/nvidia-smi');
    expect(await sut.sample()).toEqual([]);
    expect(await sut.sample()).toEqual([]);
  });

  describe('with a fake nvidia-smi', () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'gpu-probe-'));
    });
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    /** A script that counts its runs in `calls` and prints `stdout` (exit `code`). */
    async function fakeSmi(stdout: string, code = 0): Promise<string> {
      const bin = join(dir, 'nvidia-smi');
      await writeFile(
        bin,
        `#!/bin/sh\necho run >> '${join(dir, 'calls')}'\nprintf '%s' '${stdout}'\nexit ${code}\n`,
      );
      await chmod(bin, 0o755);
      return bin;
    }
    const calls = async () =>
      (await readFile(join(dir, 'calls'), 'utf8').catch(() => '')).split('\n').filter(Boolean).length;

    it('runs nvidia-smi at most once per 15 s, answering the cached reading in between', async () => {
      const sut = new GpuProbe(await fakeSmi('0, NVIDIA H200, 2048, 143771, 55\n'));
      const now = jest.spyOn(Date, 'now');
      now.mockReturnValue(1_000_000);
      const first = await sut.sample();
      expect(first).toEqual([
        {
          index: 0,
          name: 'NVIDIA H200',
          memoryUsedBytes: 2048 * 1024 * 1024,
          memoryTotalBytes: 143771 * 1024 * 1024,
          utilization: 0.55,
        },
      ]);
      now.mockReturnValue(1_000_000 + 14_999);
      expect(await sut.sample()).toBe(first);
      expect(await calls()).toBe(1);
      now.mockReturnValue(1_000_000 + 15_000);
      await sut.sample();
      expect(await calls()).toBe(2);
      now.mockRestore();
    });

    it('answers [] for a failing nvidia-smi and does not re-run it before 15 s either', async () => {
      const sut = new GpuProbe(await fakeSmi('NVIDIA-SMI has failed', 9));
      expect(await sut.sample()).toEqual([]);
      expect(await sut.sample()).toEqual([]);
      expect(await calls()).toBe(1);
    });
  });
});
