/**
 * Where a separation's stems go and the sinks that write them: one path per stem from the
 * filename format, OUTPUT_EXISTS before anything is written, and one encoder per stem with the
 * input's tags and cover art. A sink that fails to open aborts the ones already open.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { AudioInput } from '../core/audio/audio-input';
import type { AudioSink, ExternalCodecSource } from '../core/audio/audio-codec';
import { createAudioOutput } from '../core/audio/audio-output';
import { stemTags } from '../core/audio/audio-tags';
import { ErrorCodes, ValidationError } from '../core/errors';
import { DEFAULT_FILENAME_FORMAT, renderOutputPath } from './output/filename-format';
import { outputExists } from './separation-support';
import type { OutputCodec, SeparateParams } from './types';

type OutputParams = Pick<SeparateParams, 'audioPath' | 'outputDir' | 'filenameFormat'>;

/** stem → output path, from the request's filename format. */
export function stemOutputPaths(
  params: OutputParams,
  stems: readonly string[],
  codec: OutputCodec,
): Record<string, string> {
  const format = params.filenameFormat ?? DEFAULT_FILENAME_FORMAT;
  const outputs: Record<string, string> = {};
  for (const stem of stems) {
    outputs[stem] = renderOutputPath(params.outputDir, format, {
      audioPath: params.audioPath,
      instrument: stem,
      codec,
    });
  }
  return outputs;
}

/** OUTPUT_EXISTS for the first output path that exists. */
export function refuseExisting(outputs: Record<string, string>): void {
  for (const [stem, file] of Object.entries(outputs)) {
    if (fs.existsSync(file)) throw outputExists(stem, file);
  }
}

/** The stems' output paths; VALIDATION_FAILED when the format gives two stems one path. */
export function planStemOutputs(
  params: OutputParams,
  stems: readonly string[],
  codec: OutputCodec,
): Record<string, string> {
  const outputs = stemOutputPaths(params, stems, codec);
  if (new Set(Object.values(outputs)).size !== stems.length) {
    throw new ValidationError(ErrorCodes.VALIDATION_FAILED, 'Filename format must contain {instrument}', {
      field: 'filenameFormat',
    });
  }
  return outputs;
}

export interface StemSinkOptions {
  codec: OutputCodec;
  bitDepth?: 16 | 24 | 32;
  bitrateKbps?: number;
  /** Rate of the written files. */
  sampleRate: number;
  /** Rate of the chunks the separator hands over. */
  inputSampleRate: number;
  /** Copy the input's tags (stem name added to the title) and cover art (SeparateParams.tags). */
  tags: boolean;
  /** The title's base when the input has none (see SeparationRequestOptions.fallbackTitle). */
  fallbackTitle?: string;
  ffmpeg: ExternalCodecSource;
  signal?: AbortSignal;
}

/**
 * Opens one stereo sink per stem (directories created). Tags and cover art come from the probe
 * that opened the input: no second ffprobe.
 */
export async function openStemSinks(
  outputs: Record<string, string>,
  input: { audioPath: string; info: AudioInput['info'] },
  options: StemSinkOptions,
): Promise<Map<string, AudioSink>> {
  const { info } = input;
  const cover =
    options.tags && info.coverArtStream !== undefined
      ? { path: input.audioPath, streamIndex: info.coverArtStream }
      : undefined;
  const sinks = new Map<string, AudioSink>();
  try {
    for (const [stem, file] of Object.entries(outputs)) {
      await fs.promises.mkdir(path.dirname(file), { recursive: true });
      sinks.set(
        stem,
        await createAudioOutput(file, {
          codec: options.codec,
          bitDepth: options.bitDepth,
          bitrateKbps: options.bitrateKbps,
          sampleRate: options.sampleRate,
          inputSampleRate: options.inputSampleRate,
          channels: 2,
          ...(options.tags ? { tags: stemTags(info.tags ?? {}, stem, options.fallbackTitle) } : {}),
          ...(cover ? { coverArt: cover } : {}),
          ffmpeg: options.ffmpeg,
          signal: options.signal,
        }),
      );
    }
  } catch (err) {
    await abortSinks(sinks);
    throw err;
  }
  return sinks;
}

export async function closeSinks(sinks: Map<string, AudioSink>): Promise<void> {
  await Promise.all([...sinks.values()].map((s) => s.close()));
}

export async function abortSinks(sinks: Map<string, AudioSink>): Promise<void> {
  await Promise.all([...sinks.values()].map((s) => s.abort()));
}
