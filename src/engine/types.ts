/**
 * Public types of the programmatic library API (SpleeterEngine), also used by the REST API's
 * separation service and the CLI.
 */
import type { SeparationAnalysis } from '../core/analysis/signal-analysis';
import type { OutputCodec } from '../core/audio/audio-codec';
import type { InputAudioInfo } from '../core/audio/input-audio-info';
import type { MdxOverlap } from '../core/mdx/mdx-options';
import type { ProgressCallback } from '../core/spleeter/types';

export type { OutputCodec };

export interface SeparationRequestOptions {
  /** Catalog name (`spleeter:2stems`, `builtin:hpss`…), optional `@version`, or a model directory path. */
  modelName?: string;
  /** Only write these stems (default: all of the model's stems). */
  stems?: string[];
  codec?: OutputCodec;
  /** WAV only: 16/24-bit int or 32-bit float. */
  bitDepth?: 16 | 24 | 32;
  /** MP3/OGG bitrate in kbit/s. */
  bitrateKbps?: number;
  /** Output sample rate; default: the input's own rate. */
  sampleRate?: number;
  offsetSec?: number;
  durationSec?: number;
  /** Spleeter-style output naming, default "{filename}/{instrument}.{codec}" (also {foldername}). */
  filenameFormat?: string;
  /** Multichannel Wiener filtering (Spleeter --mwf). */
  mwf?: boolean;
  /** 'full' redistributes the band above the model's F instead of silencing it. */
  bandwidth?: 'model' | 'full';
  /**
   * MDX-Net only (other models refuse it: OPTION_NOT_SUPPORTED): 'default' (UVR's step,
   * chunk − n_fft, Hann cross-fade) or the fraction 0–0.99 of a chunk shared with the next.
   */
  overlap?: MdxOverlap;
  /** MDX-Net only: UVR's denoise, ½·model(x) − ½·model(−x) (twice the inference). */
  denoise?: boolean;
  /**
   * Before the network: DC removal (5 Hz first-order high-pass, core/analysis/preprocess.ts).
   * Default: the engine's enablePreprocessing (audio.enable_preprocessing).
   */
  preprocess?: boolean;
  /**
   * Before the network: a 4th-order Butterworth high-pass at this corner, 10–500 Hz (with DC
   * removal, whatever `preprocess` says). null: none. Default: the engine's highpassHz
   * (audio.highpass_hz, null).
   */
  highpassHz?: number | null;
  /**
   * Before the network: spectral-gating noise reduction with a noise profile from the input's
   * quietest passages (core/analysis/noise-reduction.ts; one extra decoding pass), with DC removal.
   * Default: the engine's noiseReduction (audio.noise_reduction, false).
   */
  noiseReduction?: boolean;
  /**
   * Before the network: the input is brought to targetLufs (BS.1770 integrated loudness, one extra
   * decoding pass); the stems are scaled back by the inverse gain, so they still sum to the
   * original mixture. Default: the engine's normalizeLoudness (audio.normalize_loudness).
   */
  normalizeLoudness?: boolean;
  /** Target of normalizeLoudness in LUFS (default −14). */
  targetLufs?: number;
  /**
   * Write the input's tags into every stem, the stem name added to the title ("Song (vocals)"):
   * WAV as a RIFF INFO chunk, FLAC/MP3/Ogg through ffmpeg; MP3 and FLAC also get the input's
   * JPEG/PNG cover art. Default true; false writes bare files.
   */
  tags?: boolean;
  /**
   * The title's base when the input has none: default the input file's name without its
   * extension; null: the stem name alone (the server's choice: an upload's name must not reach
   * other clients through the result cache, whose key is the content).
   */
  fallbackTitle?: string | null;
  /**
   * Loudness (BS.1770 integrated, LRA, true and sample peak), silent ranges and an `empty` flag of
   * the input mixture and of every stem, measured on the chunks as they flow (no second decode):
   * `SeparationResult.analysis`. Default true.
   */
  analysis?: boolean;
  /** Silence threshold of the analysis, dBFS (default: the engine's, −60). */
  silenceThresholdDbfs?: number;
  /** Shortest silent range the analysis reports, seconds (default: the engine's, 0.5). */
  silenceMinDurationSec?: number;
  /**
   * True peak in the analysis (default: the engine's analysisTruePeak, false): 4× oversampling
   * makes it ~85 % of the analysis' cost; without it truePeakDbtp is null.
   */
  analysisTruePeak?: boolean;
  /** Overwrite existing output files (default false: refuse with OUTPUT_EXISTS). */
  overwrite?: boolean;
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
}

export interface SeparateParams extends SeparationRequestOptions {
  audioPath: string;
  outputDir: string;
}

export type { InputAudioInfo, SeparationAnalysis };

/** One file's outcome in SpleeterEngine.batchSeparate: its result or why it failed. */
export interface BatchItemResult {
  audioPath: string;
  result?: SeparationResult;
  error?: Error;
}

/** What follows one file of a batch (BatchSeparateOptions.onFileStart). */
export interface BatchFileObserver {
  /** This file's progress (after the request's own onProgress, which every file shares). */
  onProgress?: ProgressCallback;
  /** As the file finishes, in completion order, before the batch resolves. */
  onDone?: (item: BatchItemResult) => void;
}

export interface BatchSeparateOptions extends SeparationRequestOptions {
  outputDir: string;
  /** Files separated at once (default: the engine's batchConcurrency). */
  concurrency?: number;
  /**
   * Called as each file starts (in list order, at most `concurrency` running); what it returns
   * follows that file. An aborted `signal` fails every file not yet done with JOB_CANCELED.
   */
  onFileStart?: (audioPath: string, index: number) => BatchFileObserver | void;
}

/**
 * Wall-clock milliseconds. Each stage time is the wall time during which that stage was active, so
 * each is at most totalMs; stages overlap (the model runs while input is decoded and stems are
 * encoded), so their sum can exceed totalMs.
 */
export interface SeparationTimings {
  totalMs: number;
  decodeMs: number;
  inferenceMs: number;
  dspMs: number;
  encodeMs: number;
  /** Loudness and silence analysis of the input and the stems (0 with analysis: false). */
  analysisMs: number;
}

/** What the model did for one separation. */
export interface SeparationRunStats {
  /** Model calls the separator made (one per batch of segments; 0 for built-ins). */
  modelCalls: number;
  /**
   * Of those, calls merged with other separations' calls into one model call (cross-job batching,
   * performance.cross_job_batching); 0 when it is off or the separation ran alone.
   */
  sharedModelCalls: number;
}

export interface SeparationResult {
  audioPath: string;
  model: { name: string; version?: string; stems: string[] };
  /** MDX-Net models: the processing options used (defaults filled in). */
  mdx?: { overlap: MdxOverlap; denoise: boolean };
  /** Execution provider that ran the model: 'cpu', 'cuda', 'webgpu', 'dsp' (built-ins, on the CPU). */
  executionProvider: string;
  /**
   * The device behind it: the CPU model for cpu/dsp, 'CUDA device <n>' for cuda, null when
   * onnxruntime names none (webgpu).
   */
  executionDevice: string | null;
  input: InputAudioInfo;
  /** What ran before the network (preprocess, loudness normalisation with the measured gain). */
  processing?: InputProcessingInfo;
  /** stem name → absolute output path. */
  outputs: Record<string, string>;
  /**
   * Loudness and silence of the input (the decoded 44.1 kHz stereo mixture, before preprocessing
   * or normalisation) and of every stem (as written, before encoding). Absent with analysis: false.
   */
  analysis?: SeparationAnalysis;
  timings: SeparationTimings;
  stats: SeparationRunStats;
  /** Audio seconds processed per wall second. */
  realtimeFactor: number;
}

export interface InputProcessingInfo {
  /** DC removal ran (asked for, or implied by highpassHz / noiseReduction). */
  preprocess: boolean;
  /** The high-pass corner in Hz; null: none. */
  highpassHz: number | null;
  noiseReduction: boolean;
  /** null: not normalised. */
  loudness: {
    targetLufs: number;
    /** Integrated loudness of the (preprocessed) input; null: too short or silent (gain 0 dB). */
    measuredLufs: number | null;
    inputGainDb: number;
    /** Gain applied to every stem: the inverse of the input's, so stems sum to the mixture. */
    stemGain: number;
  } | null;
}

export interface ProcessingStats {
  separations: number;
  failures: number;
  audioSeconds: number;
  processingSeconds: number;
  averageRealtimeFactor: number;
  executionProviders: Record<string, number>;
}

export interface ModelSummary {
  name: string;
  stems: string[];
  installed: boolean;
  source: 'builtin' | 'catalog' | 'local';
  description?: string;
  version?: string;
}
