/**
 * Normalised, output-affecting options of a separation job: what the client asked for with the
 * server defaults filled in. Stored with the job, passed to the engine, hashed into the cache key.
 */
import {
  DEFAULT_SILENCE_MIN_DURATION_SEC,
  DEFAULT_SILENCE_THRESHOLD_DBFS,
} from '../../core/analysis/silence';
import { MDX_DEFAULT_OVERLAP, refuseMdxOptions, type MdxOverlap } from '../../core/mdx/mdx-options';
import type { ModelKind } from '../../core/models/model-catalog';
import type { OutputCodec, SeparationRequestOptions } from '../../engine/types';

export interface SeparationJobOptions {
  /** Requested subset, sorted; null = every stem of the model. */
  stems: string[] | null;
  codec: OutputCodec;
  /** WAV/FLAC only. */
  bitDepth: 16 | 24 | 32 | null;
  /** MP3/OGG only, kbit/s. */
  bitrateKbps: number | null;
  /** null = the input's own rate. */
  sampleRate: number | null;
  offsetSec: number;
  /** null = to the end. */
  durationSec: number | null;
  mwf: boolean;
  bandwidth: 'model' | 'full';
  /**
   * MDX-Net models only, null for the others (and absent from jobs stored before the option
   * existed, which ran with the engine's default).
   */
  overlap: MdxOverlap | null;
  denoise: boolean | null;
  /** DC removal before the network (absent from jobs stored before the option existed: false). */
  preprocess?: boolean;
  /**
   * Butterworth high-pass corner before the network, Hz (null/absent: none) and spectral-gating
   * noise reduction (absent: off); either brings DC removal (`preprocess` true) with it.
   */
  highpassHz?: number | null;
  noiseReduction?: boolean;
  /** Loudness normalisation of the input; the target in LUFS, null when off. */
  normalizeLoudness?: boolean;
  targetLufs?: number | null;
  /** The input's tags and cover art written into the stems (absent from older jobs: true). */
  tags?: boolean;
  /**
   * Loudness and silence of the input and every stem with these silence settings; null (and
   * absent from older jobs): no analysis. Not part of the cache key: it changes no output byte.
   */
  analysis?: SeparationAnalysisSettings | null;
}

export interface SeparationAnalysisSettings {
  silenceThresholdDbfs: number;
  silenceMinDurationSec: number;
  /** audio.analysis_true_peak (absent from jobs stored before it existed: true). */
  truePeak?: boolean;
}

export interface SeparationOptionsInput {
  stems?: string[];
  codec?: OutputCodec;
  bitDepth?: number;
  bitrate?: number;
  sampleRate?: number;
  offset?: number;
  duration?: number;
  mwf?: boolean;
  bandwidth?: 'model' | 'full';
  overlap?: MdxOverlap;
  denoise?: boolean;
  preprocess?: boolean;
  highpassHz?: number;
  noiseReduction?: boolean;
  normalizeLoudness?: boolean;
  targetLufs?: number;
  tags?: boolean;
  analysis?: boolean;
}

export interface SeparationDefaults {
  codec: OutputCodec;
  bitDepth: 16 | 24 | 32;
  bitrateKbps: number;
  /** audio.default_sample_rate (null: the input's own rate). */
  sampleRate?: number | null;
  /** audio.enable_preprocessing, audio.highpass_hz, audio.noise_reduction, audio.normalize_loudness, audio.target_lufs. */
  preprocess?: boolean;
  highpassHz?: number | null;
  noiseReduction?: boolean;
  normalizeLoudness?: boolean;
  targetLufs?: number;
  /** audio.silence_threshold_db, audio.silence_min_duration_s. */
  silenceThresholdDbfs?: number;
  silenceMinDurationSec?: number;
  /** audio.analysis_true_peak. */
  analysisTruePeak?: boolean;
}

/**
 * Fills defaults and drops options the chosen codec ignores, so equal outputs get equal options.
 * MDX-Net's overlap/denoise are filled for MDX models and refused (OPTION_NOT_SUPPORTED) for others.
 */
export function normalizeSeparationOptions(
  input: SeparationOptionsInput,
  defaults: SeparationDefaults,
  model: { name: string; kind: ModelKind },
): SeparationJobOptions {
  refuseMdxOptions(model, input);
  const mdx = model.kind === 'mdx';
  const codec = input.codec ?? defaults.codec;
  const lossy = codec === 'mp3' || codec === 'ogg';
  const normalize = input.normalizeLoudness ?? defaults.normalizeLoudness ?? false;
  const highpassHz = input.highpassHz ?? defaults.highpassHz ?? null;
  const noiseReduction = input.noiseReduction ?? defaults.noiseReduction ?? false;
  let bitDepth: 16 | 24 | 32 | null = null;
  if (codec === 'wav') bitDepth = (input.bitDepth as 16 | 24 | 32 | undefined) ?? defaults.bitDepth;
  // FLAC has no float samples: 32 means 24 there.
  if (codec === 'flac') bitDepth = (input.bitDepth ?? defaults.bitDepth) === 16 ? 16 : 24;
  return {
    stems: input.stems && input.stems.length > 0 ? [...new Set(input.stems)].sort() : null,
    codec,
    bitDepth,
    bitrateKbps: lossy ? (input.bitrate ?? defaults.bitrateKbps) : null,
    sampleRate: input.sampleRate ?? defaults.sampleRate ?? null,
    offsetSec: input.offset ?? 0,
    durationSec: input.duration ?? null,
    mwf: input.mwf ?? false,
    bandwidth: input.bandwidth ?? 'model',
    overlap: mdx ? (input.overlap ?? MDX_DEFAULT_OVERLAP) : null,
    denoise: mdx ? (input.denoise ?? false) : null,
    // A high-pass or noise reduction brings DC removal with it.
    preprocess: (input.preprocess ?? defaults.preprocess ?? false) || highpassHz !== null || noiseReduction,
    highpassHz,
    noiseReduction,
    normalizeLoudness: normalize,
    targetLufs: normalize ? (input.targetLufs ?? defaults.targetLufs ?? -14) : null,
    tags: input.tags ?? true,
    analysis:
      (input.analysis ?? true)
        ? {
            silenceThresholdDbfs: defaults.silenceThresholdDbfs ?? DEFAULT_SILENCE_THRESHOLD_DBFS,
            silenceMinDurationSec: defaults.silenceMinDurationSec ?? DEFAULT_SILENCE_MIN_DURATION_SEC,
            truePeak: defaults.analysisTruePeak ?? false,
          }
        : null,
  };
}

/** The engine's option object for these job options. */
export function toEngineOptions(o: SeparationJobOptions): SeparationRequestOptions {
  return {
    stems: o.stems ?? undefined,
    codec: o.codec,
    bitDepth: o.bitDepth ?? undefined,
    bitrateKbps: o.bitrateKbps ?? undefined,
    sampleRate: o.sampleRate ?? undefined,
    offsetSec: o.offsetSec > 0 ? o.offsetSec : undefined,
    durationSec: o.durationSec ?? undefined,
    mwf: o.mwf,
    bandwidth: o.bandwidth,
    overlap: o.overlap ?? undefined,
    denoise: o.denoise ?? undefined,
    // Explicit, so the engine's own defaults (the worker's config) never decide for a stored job.
    preprocess: o.preprocess ?? false,
    highpassHz: o.highpassHz ?? null,
    noiseReduction: o.noiseReduction ?? false,
    normalizeLoudness: o.normalizeLoudness ?? false,
    targetLufs: o.targetLufs ?? undefined,
    tags: o.tags ?? true,
    analysis: !!o.analysis,
    ...(o.analysis
      ? {
          silenceThresholdDbfs: o.analysis.silenceThresholdDbfs,
          silenceMinDurationSec: o.analysis.silenceMinDurationSec,
          analysisTruePeak: o.analysis.truePeak ?? true,
        }
      : {}),
    // Never the upload's name as a title: the cache hands these stems to anyone sending the same
    // bytes, under any name. Untitled inputs get stems titled by the stem name alone.
    fallbackTitle: null,
  };
}

export const CONTENT_TYPES: Readonly<Record<OutputCodec, string>> = {
  wav: 'audio/wav',
  flac: 'audio/flac',
  mp3: 'audio/mpeg',
  ogg: 'audio/ogg',
};
