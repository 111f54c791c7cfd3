/**
 * The production ModelRuntime: converts official checkpoints with the TypeScript converter
 * (src/core/tf) and smoke-tests models with onnxruntime-node (src/infra/onnx) or the built-in
 * DSP separators (src/core/builtin). Loaded lazily by ModelManager so listing models never loads
 * onnxruntime.
 *
 * The smoke test feeds each network one segment/chunk of a generated test mixture (harmonic tones,
 * a chirp, noise bursts) exactly in the tensor layout the engine uses, and checks that every
 * output exists, has the right shape and holds only finite numbers.
 */
import * as path from 'path';
import * as ort from 'onnxruntime-node';
import { ErrorCodes, ModelError } from '../../core/errors';
import { ValidationCheck, check } from '../../core/models/model-signature';
import type { ModelRuntime, ResolvedModel, SpleeterConvertOptions } from '../../core/models/model-types';
import { finiteStats, smokeMixture, smokeSegmentMagnitudes } from '../../core/models/smoke-signal';
import { createBuiltinSeparator } from '../../core/builtin/builtin-models';
import { RealFft } from '../../core/dsp/fft';
import { periodicHann } from '../../core/dsp/window';
import { convertSpleeterCheckpoint } from '../../core/tf/spleeter-converter';
import { OnnxRuntime } from '../../infra/onnx/onnx-runtime';
import { loadSpleeterModel } from '../families/spleeter/spleeter-onnx-model';
import { MDX_MODEL_FILE } from '../../infra/models/model-files';

export class DefaultModelRuntime implements ModelRuntime {
  /** A private session cache: validation sessions are released right after the smoke run. */
  private readonly onnx = new OnnxRuntime();

  async convertSpleeterCheckpoint(
    checkpointDir: string,
    outDir: string,
    opts: SpleeterConvertOptions,
  ): Promise<void> {
    // The converter cannot be canceled; it ignores `signal`.
    await convertSpleeterCheckpoint(checkpointDir, {
      ...opts,
      outDir,
      onProgress: (f) => opts.onProgress?.(f),
    });
  }

  async smokeTest(model: ResolvedModel, opts: { signal?: AbortSignal } = {}): Promise<ValidationCheck[]> {
    switch (model.kind) {
      case 'spleeter':
        return this.smokeSpleeter(model, opts.signal);
      case 'mdx':
        return this.smokeMdx(model);
      case 'builtin':
        return this.smokeBuiltin(model, opts.signal);
      default: {
        const never: never = model.kind;
        throw new ModelError(ErrorCodes.MODEL_INVALID, `unknown model kind ${String(never)}`);
      }
    }
  }

  private async smokeSpleeter(model: ResolvedModel, signal?: AbortSignal): Promise<ValidationCheck[]> {
    const sp = model.entry.spleeter!;
    const checks: ValidationCheck[] = [];
    const loaded = await loadSpleeterModel(model.dir!, {
      precision: model.precision ?? 'fp32',
      T: sp.T,
      runtime: this.onnx,
      executionProviders: ['cpu'],
    });
    try {
      const { info } = loaded;
      checks.push(
        check(
          'load',
          true,
          `${info.instruments.length} instrument file(s), ${info.layout}, ${info.precision}`,
        ),
      );
      checks.push(
        check(
          'stems',
          info.instruments.join(',') === model.stems.join(','),
          `model: [${info.instruments.join(', ')}], entry: [${model.stems.join(', ')}]`,
        ),
      );
      checks.push(check('F', info.F === sp.F, `model F = ${info.F}, entry F = ${sp.F}`));
      checks.push(
        check(
          'architecture',
          info.architecture === sp.architecture,
          `model ${info.architecture}, entry ${sp.architecture}`,
        ),
      );
      const input = smokeSegmentMagnitudes(info.T, info.F);
      const started = Date.now();
      const outs = await loaded.run(input, 1, signal);
      const ms = Date.now() - started;
      checks.push(
        check('smoke:run', outs.length === info.instruments.length, `${outs.length} output(s) in ${ms} ms`),
      );
      let sum: Float64Array | null =
        info.architecture === 'softmax_unet' ? new Float64Array(input.length) : null;
      outs.forEach((y, i) => {
        const name = info.instruments[i];
        const st = finiteStats(y);
        checks.push(
          check(
            `smoke:${name}:finite`,
            st.nonFinite === 0 && y.length === input.length,
            st.nonFinite > 0
              ? `${st.nonFinite} of ${st.count} values are NaN/Inf`
              : `${st.count} values, rms ${st.rms.toPrecision(4)}`,
          ),
        );
        // Estimated magnitudes are mask × input with mask in [0, 1]: much larger values mean a
        // wrong network or wrong weights (warning only: quantised files overshoot a little).
        let over = 0;
        for (let k = 0; k < y.length; k++) if (y[k] > input[k] * 1.05 + 1e-3) over++;
        checks.push(
          check(
            `smoke:${name}:bounded`,
            over <= y.length * 0.01,
            `${over} value(s) exceed the mixture magnitude`,
            false,
          ),
        );
        if (sum) for (let k = 0; k < y.length; k++) sum[k] += y[k];
      });
      if (sum) {
        let worst = 0;
        for (let k = 0; k < sum.length; k++)
          worst = Math.max(worst, Math.abs(sum[k] - input[k]) / (input[k] + 1e-6));
        checks.push(
          check('smoke:softmax-sum', worst < 1e-2, `max relative deviation ${worst.toExponential(2)}`, false),
        );
        sum = null;
      }
    } finally {
      await loaded.dispose();
    }
    return checks;
  }

  private async smokeMdx(model: ResolvedModel): Promise<ValidationCheck[]> {
    const p = model.entry.mdx!;
    const file = path.join(model.dir!, MDX_MODEL_FILE);
    const handle = await this.onnx.createSession(file, { executionProviders: ['cpu'] });
    const checks: ValidationCheck[] = [
      check('load', true, `${path.basename(file)} on ${handle.executionProvider}`),
    ];
    try {
      const input = mdxSmokeInput(p.n_fft, p.hop, p.dim_f, p.dim_t);
      const inputName = handle.session.inputNames[0];
      const outputName = handle.session.outputNames[0];
      const started = Date.now();
      const result = await handle.session.run({
        [inputName]: new ort.Tensor('float32', input, [1, 4, p.dim_f, p.dim_t]),
      });
      const y = result[outputName] as ort.Tensor | undefined;
      const ms = Date.now() - started;
      const shapeOk = !!y && y.type === 'float32' && y.dims.join(',') === `1,4,${p.dim_f},${p.dim_t}`;
      checks.push(
        check('smoke:run', shapeOk, y ? `output ${y.type} [${y.dims.join(', ')}] in ${ms} ms` : 'no output'),
      );
      if (y && y.type === 'float32') {
        const st = finiteStats(y.data as Float32Array);
        checks.push(
          check(
            `smoke:${p.primary_stem}:finite`,
            st.nonFinite === 0,
            st.nonFinite > 0
              ? `${st.nonFinite} of ${st.count} values are NaN/Inf`
              : `${st.count} values, rms ${st.rms.toPrecision(4)}`,
          ),
        );
      }
    } finally {
      await handle.release();
    }
    return checks;
  }

  /** Separates 2 s of the smoke mixture; stems must be finite, full length and sum back to it. */
  private async smokeBuiltin(model: ResolvedModel, signal?: AbortSignal): Promise<ValidationCheck[]> {
    const separator = createBuiltinSeparator(model.name);
    const frames = 2 * 44100;
    const mix = smokeMixture(frames, separator.sampleRate);
    const sum = new Float64Array(mix.length);
    const nonFinite = new Map<string, number>(separator.stems.map((s) => [s, 0]));
    let written = 0;
    const started = Date.now();
    await separator.separate(
      async function* () {
        yield mix;
      },
      {
        write(stems) {
          let len = 0;
          for (const [name, data] of stems) {
            len = data.length;
            let bad = 0;
            for (let i = 0; i < data.length; i++) {
              const v = data[i];
              if (Number.isFinite(v)) sum[written + i] += v;
              else bad++;
            }
            nonFinite.set(name, (nonFinite.get(name) ?? 0) + bad);
          }
          written += len;
        },
      },
      { signal, totalSamples: frames },
    );
    const ms = Date.now() - started;
    let err = 0;
    let ref = 0;
    for (let i = 0; i < mix.length; i++) {
      err += (sum[i] - mix[i]) ** 2;
      ref += mix[i] ** 2;
    }
    const snr = 10 * Math.log10(ref / Math.max(err, 1e-30));
    const checks = [
      check(
        'stems',
        separator.stems.join(',') === model.stems.join(','),
        `separator: [${separator.stems.join(', ')}]`,
      ),
      check('smoke:run', written === mix.length, `${written / 2} of ${frames} frames per stem in ${ms} ms`),
      ...separator.stems.map((s) =>
        check(`smoke:${s}:finite`, nonFinite.get(s) === 0, `${nonFinite.get(s)} non-finite sample(s)`),
      ),
      check('smoke:sum-to-mixture', snr >= 60, `stems sum back to the mixture at ${snr.toFixed(1)} dB SNR`),
    ];
    return checks;
  }
}

/**
 * One MDX-Net chunk of the smoke mixture: [1, 4, dim_f, dim_t] with channels L-re, L-im, R-re,
 * R-im of a periodic-Hann STFT (n_fft, hop), bins < dim_f, bins 0–2 zeroed as UVR does.
 */
export function mdxSmokeInput(nFft: number, hop: number, dimF: number, dimT: number): Float32Array {
  const frames = (dimT - 1) * hop + nFft;
  const mix = smokeMixture(frames, 44100);
  const fft = new RealFft(nFft);
  const win = periodicHann(nFft);
  const buf = new Float64Array(nFft);
  const re = new Float64Array(fft.bins);
  const im = new Float64Array(fft.bins);
  const out = new Float32Array(4 * dimF * dimT);
  const plane = dimF * dimT;
  for (let c = 0; c < 2; c++) {
    for (let t = 0; t < dimT; t++) {
      for (let n = 0; n < nFft; n++) buf[n] = mix[2 * (t * hop + n) + c] * win[n];
      fft.forward(buf, 0, re, im, 0);
      for (let f = 3; f < Math.min(dimF, fft.bins); f++) {
        out[2 * c * plane + f * dimT + t] = re[f];
        out[(2 * c + 1) * plane + f * dimT + t] = im[f];
      }
    }
  }
  return out;
}
