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
});
