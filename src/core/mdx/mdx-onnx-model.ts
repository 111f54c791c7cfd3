/**
 * Glue between an MDX-Net ONNX file and MdxSeparator: parameter resolution (UVR hash table, then
 * explicit overrides), signature checks against the file's declared input, and an MdxModelFn over
 * an onnxruntime session. The session is passed in structurally (anything with onnxruntime's
 * `run`/`inputNames`/`outputNames`, plus a tensor factory) so this module stays free of the native
 * runtime; src/infra/onnx owns session creation and execution providers.
 */
import { ErrorCodes, ModelError, ValidationError } from '../errors';
import type { OnnxModelMetadata } from '../onnx/onnx-metadata-reader';
import { KnownMdxModel, MDX_HOP, MdxModelParams, lookupMdxParams, validateMdxParams } from './mdx-params';
import type { MdxModelFn } from './mdx-separator';

export const MDX_INPUT_NAME = 'input';
export const MDX_OUTPUT_NAME = 'output';

export interface OrtTensorLike {
  readonly data: unknown;
  readonly dims: readonly number[];
}

export interface OrtSessionLike {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, OrtTensorLike>): Promise<Record<string, OrtTensorLike>>;
}

/** e.g. `(data, dims) => new ort.Tensor('float32', data, dims)`. */
export type OrtTensorFactory = (data: Float32Array, dims: readonly number[]) => OrtTensorLike;

export type MdxParamOverrides = Partial<Omit<MdxModelParams, 'hop'>> & { hop?: number };

/**
 * Parameters of an MDX-Net file: the UVR table entry for its hash (overrides applied on top), or
 * the overrides alone when they are complete. Throws MODEL_INVALID for an unknown file without them.
 */
export async function resolveMdxParams(
  file: string,
  overrides: MdxParamOverrides = {},
): Promise<MdxModelParams & { name?: string; md5?: string }> {
  const known: KnownMdxModel | undefined = await lookupMdxParams(file);
  const merged = {
    hop: MDX_HOP,
    ...(known ?? {}),
    ...stripUndefined(overrides),
  } as Partial<MdxModelParams> & {
    name?: string;
    md5?: string;
  };
  if (merged.primaryStem && !merged.secondaryStem) {
    merged.secondaryStem = merged.primaryStem === 'vocals' ? 'instrumental' : 'vocals';
  }
  const missing = (['dimF', 'dimT', 'nFft', 'compensate', 'primaryStem', 'secondaryStem'] as const).filter(
    (k) => merged[k] === undefined,
  );
  if (missing.length) {
    throw new ModelError(
      ErrorCodes.MODEL_INVALID,
      `Unknown MDX-Net model ${file} (hash not in the UVR table); give its parameters: ${missing.join(', ')}`,
      { file, missing },
    );
  }
  const params = merged as MdxModelParams & { name?: string; md5?: string };
  validateMdxParams(params);
  return params;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Checks the declared I/O against the parameters: float32 [batch, 4, dim_f, dim_t] in and out
 * (symbolic dims accepted). A mismatch would otherwise surface as an opaque runtime error.
 */
export function checkMdxSignature(
  meta: OnnxModelMetadata,
  params: MdxModelParams,
): { input: string; output: string } {
  const input = meta.inputs.find((i) => i.name === MDX_INPUT_NAME) ?? meta.inputs[0];
  const output = meta.outputs.find((o) => o.name === MDX_OUTPUT_NAME) ?? meta.outputs[0];
  if (!input || !output)
    throw new ModelError(ErrorCodes.MODEL_INVALID, 'MDX-Net model declares no input or output');
  const expected = [null, 4, params.dimF, params.dimT];
  for (const v of [input, output]) {
    const shape = v.shape;
    const bad =
      v.elementType !== 'float32' ||
      (shape !== null &&
        (shape.length !== 4 ||
          shape.some((d, i) => typeof d === 'number' && expected[i] !== null && d !== expected[i])));
    if (bad) {
      throw new ModelError(
        ErrorCodes.MODEL_INVALID,
        `MDX-Net ${v === input ? 'input' : 'output'} '${v.name}' is ${v.elementType} [${shape?.join(', ') ?? '?'}], expected float32 [batch, 4, ${params.dimF}, ${params.dimT}]`,
        { declared: shape, dimF: params.dimF, dimT: params.dimT },
      );
    }
  }
  return { input: input.name, output: output.name };
}

/** dim_f / dim_t as declared by the file, when fixed. */
export function declaredMdxDims(meta: OnnxModelMetadata): { dimF?: number; dimT?: number } {
  const shape = (meta.inputs.find((i) => i.name === MDX_INPUT_NAME) ?? meta.inputs[0])?.shape;
  if (!shape || shape.length !== 4) return {};
  const num = (d: number | string | null) => (typeof d === 'number' && d > 0 ? d : undefined);
  return { dimF: num(shape[2]), dimT: num(shape[3]) };
}

export interface MdxOnnxModelOptions {
  session: OrtSessionLike;
  createTensor: OrtTensorFactory;
  params: MdxModelParams;
  inputName?: string;
  outputName?: string;
  /**
   * Largest batch the file accepts per call (1 for files with a fixed batch dimension); larger
   * batches are split into several runs.
   */
  maxBatch?: number;
}

export function createMdxOnnxModelFn(opts: MdxOnnxModelOptions): MdxModelFn {
  const { session, createTensor, params } = opts;
  const inputName =
    opts.inputName ?? (session.inputNames.includes(MDX_INPUT_NAME) ? MDX_INPUT_NAME : session.inputNames[0]);
  const outputName =
    opts.outputName ??
    (session.outputNames.includes(MDX_OUTPUT_NAME) ? MDX_OUTPUT_NAME : session.outputNames[0]);
  const per = 4 * params.dimF * params.dimT;
  const maxBatch = opts.maxBatch ?? Number.POSITIVE_INFINITY;
  if (!(maxBatch >= 1)) throw new ValidationError(ErrorCodes.VALIDATION_FAILED, 'maxBatch must be ≥ 1');
  return async (input, batch) => {
    const out = new Float32Array(batch * per);
    for (let b0 = 0; b0 < batch; b0 += Math.min(maxBatch, batch)) {
      const n = Math.min(maxBatch, batch - b0);
      // Own copy per run: cheap next to inference, and independent of how the binding treats views.
      const feed = input.slice(b0 * per, (b0 + n) * per);
      let result: Record<string, OrtTensorLike>;
      try {
        result = await session.run({ [inputName]: createTensor(feed, [n, 4, params.dimF, params.dimT]) });
      } catch (cause) {
        throw new ModelError(
          ErrorCodes.MODEL_INFERENCE_FAILED,
          `MDX-Net inference failed: ${(cause as Error).message}`,
          {},
          { cause },
        );
      }
      const y = result[outputName];
      const data = y?.data as Float32Array | undefined;
      if (!data || data.length !== n * per) {
        throw new ModelError(
          ErrorCodes.MODEL_INFERENCE_FAILED,
          `MDX-Net output '${outputName}' has ${data?.length ?? 0} values, expected ${n * per}`,
        );
      }
      out.set(data, b0 * per);
    }
    return out;
  };
}
