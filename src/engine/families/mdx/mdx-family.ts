/**
 * MDX-Net models: an `.onnx` file, or a directory holding one `.onnx` and optionally `mdx.json`
 * (parameters). One onnxruntime session per model location, created on first use and kept until
 * dispose().
 */
import * as fs from 'fs';
import * as path from 'path';
import * as ort from 'onnxruntime-node';
import { ErrorCodes, ModelError } from '../../../core/errors';
import {
  checkMdxSignature,
  createMdxOnnxModelFn,
  MdxSeparator,
  resolveMdxParams,
  type MdxModelFn,
  type MdxModelParams,
  type MdxParamOverrides,
} from '../../../core/mdx';
import { readOnnxMetadata } from '../../../core/onnx/onnx-metadata-reader';
import type { StemSeparator } from '../../../core/separation/types';
import { MDX_MANIFEST_FILE, type MdxManifest } from '../../../infra/models/model-files';
import { sessionThreads, withInferenceThreads } from '../../../infra/onnx/inference-thread-budget';
import type { FamilyOptions, FamilySeparatorOptions, ModelFamily } from '../model-family';
import { validateStems } from '../stem-subset';

/** The model file and its parameters (manifest overrides, metadata), checked; no session. */
async function mdxParamsOf(location: string): Promise<{ file: string; params: MdxModelParams }> {
  const file = await mdxOnnxFile(location);
  const manifestPath = path.join(path.dirname(file), MDX_MANIFEST_FILE);
  const overrides = fs.existsSync(manifestPath)
    ? mdxOverridesFromManifest(JSON.parse(await fs.promises.readFile(manifestPath, 'utf8')) as MdxManifest)
    : {};
  const params = await resolveMdxParams(file, overrides);
  checkMdxSignature(await readOnnxMetadata(file), params);
  return { file, params };
}

interface LoadedMdx {
  params: MdxModelParams;
  model: MdxModelFn;
  executionProvider: string;
  release(): Promise<void>;
}

export class MdxFamily implements ModelFamily {
  private readonly loaded = new Map<string, Promise<LoadedMdx>>();

  constructor(private readonly options: FamilyOptions) {}

  /**
   * The two stems, from the parameters alone unless this family already holds the model: the main
   * thread describes path models for request validation, and a session created there would stay
   * for the life of the process (see SpleeterFamily.stems).
   */
  async stems(location: string): Promise<string[]> {
    const loaded = this.loaded.get(location);
    const { params } = loaded ? await loaded : await mdxParamsOf(location);
    return [params.primaryStem, params.secondaryStem];
  }

  async separator(location: string, opts: FamilySeparatorOptions): Promise<StemSeparator> {
    const { params, model, executionProvider } = await this.load(location);
    const stems = opts.stems?.length
      ? validateStems([params.primaryStem, params.secondaryStem], opts.stems)
      : undefined;
    return new MdxSeparator({
      params,
      model,
      stems,
      executionProvider,
      batchSize: 1,
      overlap: opts.overlap,
      denoise: opts.denoise,
    });
  }

  async dispose(): Promise<void> {
    const mdx = await Promise.allSettled([...this.loaded.values()]);
    this.loaded.clear();
    await Promise.all(mdx.map((m) => (m.status === 'fulfilled' ? m.value.release() : undefined)));
  }

  private load(location: string): Promise<LoadedMdx> {
    let p = this.loaded.get(location);
    if (!p) {
      p = (async () => {
        const { file, params } = await mdxParamsOf(location);
        const handle = await this.options.runtime.createSession(file, {
          executionProviders: this.options.executionProviders,
          intraOpThreads: this.options.intraOpThreads,
          interOpThreads: this.options.interOpThreads,
          logger: this.options.logger,
          optimizedModelCacheDir: this.options.optimizedModelCacheDir,
        });
        const threads = sessionThreads(this.options.intraOpThreads);
        const model = createMdxOnnxModelFn({
          // Model calls count against the process's inference thread budget.
          session: {
            inputNames: handle.session.inputNames,
            outputNames: handle.session.outputNames,
            // The feeds are the ort.Tensors createTensor below makes.
            run: (feeds) =>
              withInferenceThreads(threads, () =>
                handle.session.run(feeds as ort.InferenceSession.FeedsType),
              ),
          },
          createTensor: (data, dims) => new ort.Tensor('float32', data, dims),
          params,
        });
        return {
          params,
          model,
          executionProvider: handle.executionProvider,
          release: () => handle.release(),
        };
      })();
      this.loaded.set(location, p);
      p.catch(() => this.loaded.delete(location));
    }
    return p;
  }
}

/** A path holds an MDX-Net model: an `.onnx` file, or a directory with `mdx.json`. */
export async function isMdxModel(location: string): Promise<boolean> {
  const st = await fs.promises.stat(location).catch(() => null);
  if (!st) return false;
  if (st.isFile()) return location.endsWith('.onnx');
  return fs.existsSync(path.join(location, MDX_MANIFEST_FILE));
}

function mdxOverridesFromManifest(m: MdxManifest): MdxParamOverrides {
  const p = m.params;
  return {
    dimF: p.dim_f,
    dimT: p.dim_t,
    nFft: p.n_fft,
    hop: p.hop,
    compensate: p.compensate,
    primaryStem: p.primary_stem,
    secondaryStem: p.secondary_stem,
  };
}

async function mdxOnnxFile(location: string): Promise<string> {
  const st = await fs.promises.stat(location);
  if (st.isFile()) return location;
  const onnx = (await fs.promises.readdir(location)).filter((f) => f.endsWith('.onnx'));
  if (onnx.length !== 1) {
    throw new ModelError(
      ErrorCodes.MODEL_INVALID,
      `Expected exactly one .onnx file in MDX-Net model directory ${location}`,
      {
        path: location,
      },
    );
  }
  return path.join(location, onnx[0]);
}
