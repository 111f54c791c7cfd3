/**
 * `spleeter.json`: optional manifest in a Spleeter ONNX model directory (sherpa-onnx layout: one
 * file per instrument). It fixes the instrument order (which the ratio masks and the softmax depend
 * on) and names the file per precision. Without it the loader falls back to the files' metadata_props,
 * then to sherpa's 2stems defaults.
 *
 * Example:
 * {
 *   "format": "spleeter-onnx", "version": 1,
 *   "name": "spleeter-4stems", "config": "4stems",
 *   "architecture": "unet", "instruments": ["vocals", "drums", "bass", "other"],
 *   "F": 1024, "T": 512, "sample_rate": 44100,
 *   "activations": { "conv": "elu", "deconv": "elu" },
 *   "files": { "fp32": { "vocals": "vocals.onnx", ... }, "fp16": { "vocals": "vocals.fp16.onnx", ... } }
 * }
 */
import { z } from 'zod';
import type { ModelPrecision } from '../models/model-catalog';

const activation = z.enum(['leaky_relu', 'relu', 'elu']);
/** A plain file name inside the model directory: no separators, no '..'. */
const fileName = z
  .string()
  .min(1)
  .regex(/^[^/\\]+$/, 'must be a file name inside the model directory')
  .refine((s) => s !== '.' && s !== '..', 'must be a file name');
const instrumentName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, 'letters, digits, _ and - only');
const filesByInstrument = z.record(instrumentName, fileName);

export const SPLEETER_MANIFEST_FILE = 'spleeter.json';

export const spleeterManifestSchema = z
  .object({
    format: z.literal('spleeter-onnx').default('spleeter-onnx'),
    version: z.literal(1).default(1),
    name: z.string().min(1),
    /** '2stems' | '4stems' | '5stems' (optionally with '-16kHz'); informative. */
    config: z.string().min(1).optional(),
    architecture: z.enum(['unet', 'softmax_unet']),
    instruments: z.array(instrumentName).min(1),
    F: z.number().int().positive(),
    T: z.number().int().positive().default(512),
    sample_rate: z.number().int().positive().default(44100),
    activations: z.object({ conv: activation, deconv: activation }).optional(),
    /** Per precision, per instrument file name; missing entries use `<instrument>[.fp16|.int8|.fp16c].onnx`. */
    files: z
      .object({
        fp32: filesByInstrument.optional(),
        fp16: filesByInstrument.optional(),
        int8: filesByInstrument.optional(),
        fp16c: filesByInstrument.optional(),
      })
      .optional(),
    /** Where the weights came from (checkpoint URL, sha256…); informative. */
    source: z.record(z.string(), z.string()).optional(),
  })
  .superRefine((m, ctx) => {
    if (new Set(m.instruments).size !== m.instruments.length) {
      ctx.addIssue({ code: 'custom', path: ['instruments'], message: 'instrument names must be unique' });
    }
    for (const [precision, files] of Object.entries(m.files ?? {})) {
      for (const inst of Object.keys(files ?? {})) {
        if (!m.instruments.includes(inst)) {
          ctx.addIssue({
            code: 'custom',
            path: ['files', precision, inst],
            message: `'${inst}' is not in instruments`,
          });
        }
      }
    }
  });

export type SpleeterManifest = z.output<typeof spleeterManifestSchema>;
export type SpleeterManifestInput = z.input<typeof spleeterManifestSchema>;

/**
 * File-name convention shared with sherpa-onnx: vocals.onnx, vocals.fp16.onnx, vocals.int8.onnx
 * (and ours, float16 compute: vocals.fp16c.onnx).
 */
export function defaultModelFileName(instrument: string, precision: ModelPrecision): string {
  return precision === 'fp32' ? `${instrument}.onnx` : `${instrument}.${precision}.onnx`;
}

export function manifestFileName(m: SpleeterManifest, instrument: string, precision: ModelPrecision): string {
  return m.files?.[precision]?.[instrument] ?? defaultModelFileName(instrument, precision);
}
