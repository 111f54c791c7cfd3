/**
 * Which execution provider the engine's sessions get (SpleeterEngine.checkExecutionProvider): the
 * preference from the GPU options, narrowed once by a one-node probe to what this machine runs.
 */
import {
  executionDeviceName,
  type ExecutionProviderName,
  type InferenceLogger,
  type OnnxRuntime,
} from '../infra/onnx/onnx-runtime';
import type { SpleeterEngineOptions } from './engine-options';

/** The execution provider new sessions get, and the device behind it (checkExecutionProvider). */
export interface ExecutionProviderInfo {
  executionProvider: ExecutionProviderName;
  executionDevice: string | null;
  /** True when GPU was requested and is not available, so sessions run on the CPU. */
  gpuFallback: boolean;
}

type GpuOptions = Pick<SpleeterEngineOptions, 'enableGpu' | 'requireGpu' | 'gpuProviders'>;

/** cpu alone without a GPU option; the GPU providers, then cpu unless requireGpu. */
export function providerPreference(opts: GpuOptions): ExecutionProviderName[] {
  if (!opts.enableGpu && !opts.requireGpu) return ['cpu'];
  const gpu = (opts.gpuProviders ?? ['cuda', 'webgpu']).filter((p) => p !== 'cpu');
  return opts.requireGpu ? gpu : [...gpu, 'cpu'];
}

export class ExecutionProviderCheck {
  /**
   * EP preference the model families read for each new session (through a getter, see
   * SpleeterEngine.doInitialize): the requested one until check() narrows it to what works.
   */
  providers: ExecutionProviderName[];
  private checked?: Promise<ExecutionProviderInfo>;

  constructor(
    private readonly opts: GpuOptions,
    private readonly runtime: OnnxRuntime,
    private readonly logger: InferenceLogger,
  ) {
    this.providers = providerPreference(opts);
  }

  /**
   * Finds, once, which execution provider this machine gives new sessions, without loading a model
   * (a one-node probe, tens of ms). GPU requested and unavailable: one warning naming each GPU
   * provider and why it failed, then cpu for every session; with requireGpu the probe's
   * SeparationError GPU_UNAVAILABLE instead (remembered: the machine will not grow a GPU).
   */
  check(): Promise<ExecutionProviderInfo> {
    this.checked ??= (async (): Promise<ExecutionProviderInfo> => {
      const requested = providerPreference(this.opts);
      if (requested.length === 1 && requested[0] === 'cpu')
        return { executionProvider: 'cpu', executionDevice: executionDeviceName('cpu'), gpuFallback: false };
      const probe = await this.runtime.probeExecutionProvider(requested);
      this.providers = requested.slice(requested.indexOf(probe.executionProvider));
      const gpuFallback = probe.executionProvider === 'cpu';
      if (gpuFallback)
        this.logger.warn(`GPU requested but unavailable, falling back to cpu: ${probe.failures.join('; ')}`);
      else if (probe.failures.length)
        this.logger.warn(`using ${probe.executionProvider} after: ${probe.failures.join('; ')}`);
      return {
        executionProvider: probe.executionProvider,
        executionDevice: probe.executionDevice,
        gpuFallback,
      };
    })();
    return this.checked;
  }
}
