/**
 * Spleeter-architecture ONNX model directories with seeded random weights ("full") or the tiny
 * analytic stand-ins (identity / scale / bandpass) with the same file contract. Used by the tests,
 * the benchmark and `spleeter-server models generate-test`. Pure: returns file name → bytes.
 */
import { SPLEETER_CONFIGS, type SpleeterConfigName } from './spleeter-configs';
import {
  defaultModelFileName,
  SPLEETER_MANIFEST_FILE,
  type SpleeterManifestInput,
} from './spleeter-manifest';
import { buildTinySpleeterOnnx, type TinySpleeterKind } from './spleeter-tiny-models';
import type { ModelPrecision } from '../models/model-catalog';
import { buildSpleeterUnetOnnx } from './spleeter-unet';
import { createTestUnetSpec } from './test-weights';
import { SPLEETER_T, type SegmentLayout } from '../spleeter/types';

export type TestModelSize = 'full' | TinySpleeterKind;

export interface TestModelOptions {
  config?: SpleeterConfigName;
  layout?: SegmentLayout;
  /** Full size: the stored precision. Tiny models are always fp32 graphs, written under this precision's file names. */
  precision?: ModelPrecision;
  seed?: number;
  F?: number;
  T?: number;
  /** `scale` factors per instrument. */
  scales?: readonly number[];
  /** Write spleeter.json (default true); false gives a sherpa-style directory. */
  manifest?: boolean;
}

export function normalizeTestModelOptions(size: TestModelSize, o: TestModelOptions) {
  return {
    size,
    config: o.config ?? '2stems',
    layout: o.layout ?? 'CSTF',
    precision: o.precision ?? 'fp32',
    seed: o.seed ?? 1,
    F: o.F ?? 1024,
    T: o.T ?? SPLEETER_T,
    scales: o.scales ? [...o.scales] : undefined,
    manifest: o.manifest ?? true,
  } as const;
}

/** Model files (name -> bytes) and manifest for the options; pure, no I/O. */
export function generateTestModelFiles(
  size: TestModelSize,
  options: TestModelOptions = {},
): Map<string, Uint8Array> {
  const o = normalizeTestModelOptions(size, options);
  const info = SPLEETER_CONFIGS[o.config];
  const files = new Map<string, Uint8Array>();
  const spec = size === 'full' ? createTestUnetSpec(o.config, { F: o.F, seed: o.seed }) : null;
  info.instruments.forEach((instrument, i) => {
    const bytes = spec
      ? buildSpleeterUnetOnnx(spec, i, {
          layout: o.layout,
          precision: o.precision,
          T: o.T,
          F: o.F,
          modelName: `test-full-${o.config}`,
        })
      : buildTinySpleeterOnnx(size as TinySpleeterKind, o.config, i, {
          layout: o.layout,
          F: o.F,
          T: o.T,
          scales: o.scales,
        });
    files.set(defaultModelFileName(instrument, o.precision), bytes);
  });
  if (o.manifest) {
    const manifest: SpleeterManifestInput = {
      format: 'spleeter-onnx',
      version: 1,
      name: `test-${size}-${o.config}`,
      config: o.config,
      architecture: info.architecture,
      instruments: [...info.instruments],
      F: o.F,
      T: o.T,
      sample_rate: 44100,
      activations: { conv: info.convActivation, deconv: info.deconvActivation },
      files: {
        [o.precision]: Object.fromEntries(
          info.instruments.map((i) => [i, defaultModelFileName(i, o.precision)]),
        ),
      },
      source: {
        generator: 'spleeter-server test-model-generator',
        size,
        seed: String(o.seed),
        layout: o.layout,
      },
    };
    files.set(SPLEETER_MANIFEST_FILE, new TextEncoder().encode(JSON.stringify(manifest, null, 2) + '\n'));
  }
  return files;
}
