/**
 * What runs on the decoded mixture before the network (SeparationRequestOptions.preprocess,
 * highpassHz, noiseReduction, normalizeLoudness): DC removal / high-pass, spectral-gating noise
 * reduction (one extra pass learns the noise profile) and loudness normalisation (one extra pass
 * measures the integrated loudness before the first gain). Every pass re-opens the decoded input.
 */
import {
  DEFAULT_TARGET_LUFS,
  gainStream,
  planLoudnessNormalization,
  type NormalizationPlan,
} from '../core/analysis/loudness-normalization';
import { analyzeStream } from '../core/analysis/audio-analyzer';
import { denoiseStream } from '../core/analysis/noise-reduction';
import { preprocessStream } from '../core/analysis/preprocess';
import { SPLEETER_SAMPLE_RATE } from '../core/spleeter/types';
import type { SpleeterEngineOptions } from './engine-options';
import type { InputProcessingInfo, SeparationRequestOptions } from './types';

export interface InputConditioning {
  /** DC removal (asked for, or implied by a high-pass or noise reduction). */
  preprocess: boolean;
  highpassHz: number | null;
  noiseReduction: boolean;
  /** null: no loudness normalisation. */
  targetLufs: number | null;
}

/** The request's choices, the engine's defaults where it says nothing. */
export function inputConditioning(
  params: SeparationRequestOptions,
  defaults: Pick<
    SpleeterEngineOptions,
    'highpassHz' | 'noiseReduction' | 'enablePreprocessing' | 'normalizeLoudness' | 'targetLufs'
  >,
): InputConditioning {
  const highpassHz = params.highpassHz !== undefined ? params.highpassHz : (defaults.highpassHz ?? null);
  const noiseReduction = params.noiseReduction ?? defaults.noiseReduction ?? false;
  // A high-pass or noise reduction brings DC removal with it.
  const preprocess =
    (params.preprocess ?? defaults.enablePreprocessing ?? false) || highpassHz !== null || noiseReduction;
  const normalize = params.normalizeLoudness ?? defaults.normalizeLoudness ?? false;
  return {
    preprocess,
    highpassHz,
    noiseReduction,
    targetLufs: normalize ? (params.targetLufs ?? defaults.targetLufs ?? DEFAULT_TARGET_LUFS) : null,
  };
}

export interface ConditionedInput {
  /** Opens the network's input (44.1 kHz stereo): one more pass over the decoded input. */
  openSource: () => AsyncIterable<Float32Array>;
  /** The loudness normalisation measured (null: none asked). */
  plan: NormalizationPlan | null;
}

/**
 * Wraps `openDecoded` (44.1 kHz stereo) with the conditioning; measures the loudness first when
 * normalisation is asked (the stems are then scaled by plan.stemGain, so they still sum to the
 * original mixture).
 */
export async function conditionInput(
  openDecoded: () => AsyncIterable<Float32Array>,
  c: InputConditioning,
  signal?: AbortSignal,
): Promise<ConditionedInput> {
  const openFiltered = (): AsyncIterable<Float32Array> =>
    c.preprocess
      ? preprocessStream(openDecoded(), {
          sampleRate: SPLEETER_SAMPLE_RATE,
          channels: 2,
          highPassHz: c.highpassHz,
        })
      : openDecoded();
  const openConditioned = (): AsyncIterable<Float32Array> =>
    c.noiseReduction
      ? denoiseStream(openFiltered, { sampleRate: SPLEETER_SAMPLE_RATE, channels: 2 })
      : openFiltered();
  let plan: NormalizationPlan | null = null;
  if (c.targetLufs !== null) {
    const measured = await analyzeStream(
      openConditioned(),
      {
        sampleRate: SPLEETER_SAMPLE_RATE,
        channels: 2,
        loudness: { truePeak: false },
        silence: false,
        tempo: false,
        key: false,
      },
      signal,
    );
    plan = planLoudnessNormalization(measured.loudness ?? null, { targetLufs: c.targetLufs });
  }
  const inputGain = plan?.inputGain ?? 1;
  return {
    openSource: () => (inputGain !== 1 ? gainStream(openConditioned(), inputGain) : openConditioned()),
    plan,
  };
}

/** SeparationResult.processing: what ran before the network. */
export function processingInfo(c: InputConditioning, plan: NormalizationPlan | null): InputProcessingInfo {
  return {
    preprocess: c.preprocess,
    highpassHz: c.highpassHz,
    noiseReduction: c.noiseReduction,
    loudness: plan
      ? {
          targetLufs: plan.targetLufs,
          measuredLufs: plan.measuredLufs,
          inputGainDb: plan.inputGainDb,
          stemGain: plan.stemGain,
        }
      : null,
  };
}
