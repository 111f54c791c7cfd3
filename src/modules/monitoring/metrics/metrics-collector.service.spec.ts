import { Gauge, register } from 'prom-client';
import type { AppConfig } from '../../../infra/config/app-config';
import type { EngineService } from '../../engine/engine.service';
import type { GpuProbe, GpuSample } from '../stats/gpu-probe';
import type { SystemProbe } from '../stats/system-probe';
import { MetricNames } from './metric-names';
import { isGpuProvider, MetricsCollector } from './metrics-collector.service';
import { gpuGaugeConfigs } from './metrics.providers';

const H200: GpuSample = {
  index: 0,
  name: 'NVIDIA H200',
  memoryUsedBytes: 2 * 1024 ** 3,
  memoryTotalBytes: 140 * 1024 ** 3,
  utilization: 0.42,
};
const GPU_NAMES = gpuGaugeConfigs.map((c) => c.name);

describe(MetricsCollector.name, () => {
  let buildInfo: Gauge<string>;
  let sut: MetricsCollector | undefined;

  beforeEach(() => {
    buildInfo = new Gauge({
      name: `test_build_info_${Date.now()}`,
      help: 'x',
      labelNames: ['version', 'node'],
      registers: [],
    });
  });
  afterEach(() => {
    sut?.onModuleDestroy();
    sut = undefined;
    for (const name of GPU_NAMES) register.removeSingleMetric(name);
  });

  function build(provider: string, samples: GpuSample[]): { sut: MetricsCollector; probes: () => number } {
    let probes = 0;
    const gpu = { sample: async () => (probes++, samples) } as unknown as GpuProbe;
    const system = {
      memory: () => ({ scope: 'host', usagePercent: 10, limitBytes: 1 }),
    } as unknown as SystemProbe;
    const config = { monitoring: { export_interval: 0 } } as unknown as AppConfig;
    const engine = {
      executionProvider: provider,
      executionDevice: 'CUDA device 0',
    } as unknown as EngineService;
    sut = new MetricsCollector(buildInfo, gpu, system, config, undefined, undefined, engine);
    sut.onModuleInit();
    return { sut, probes: () => probes };
  }

  it('registers the spleeter_gpu_* gauges with a GPU provider active and nvidia-smi answering, with its readings', async () => {
    const { sut } = build('cuda', [H200]);
    await sut.onApplicationBootstrap();
    const text = await register.getSingleMetricAsString(MetricNames.GpuUtilization);
    expect(text).toContain('spleeter_gpu_utilization_ratio{gpu="0",name="NVIDIA H200"} 0.42');
    expect(await register.getSingleMetricAsString(MetricNames.GpuMemoryUsed)).toContain(
      `spleeter_gpu_memory_used_bytes{gpu="0",name="NVIDIA H200"} ${2 * 1024 ** 3}`,
    );
  });

  it('registers none on the CPU, without even asking nvidia-smi', async () => {
    const { sut, probes } = build('cpu', [H200]);
    await sut.onApplicationBootstrap();
    for (const name of GPU_NAMES) expect(register.getSingleMetric(name)).toBeUndefined();
    expect(probes()).toBe(0);
  });

  it('registers none with a GPU provider but no nvidia-smi (WebGPU on another vendor, or no driver tools)', async () => {
    const { sut } = build('webgpu', []);
    await sut.onApplicationBootstrap();
    for (const name of GPU_NAMES) expect(register.getSingleMetric(name)).toBeUndefined();
  });

  it.each([
    ['cuda', true],
    ['cuda,cpu', true],
    ['webgpu', true],
    ['cpu', false],
    ['dsp', false],
    ['cuda (requested)', false],
  ])('isGpuProvider(%s) = %s', (provider, expected) => {
    expect(isGpuProvider(provider)).toBe(expected);
  });
});
