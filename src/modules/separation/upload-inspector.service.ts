import { withFileReader } from '../../core/audio/wav-file';
import { availableParallelism } from 'os';
import { Injectable } from '@nestjs/common';
import { ConcurrencyLimiter } from '../../engine/concurrency';
import { sniffAudioSource, type AudioFormatId } from '../../core/audio/sniff';
import { AudioProcessingError, ErrorCodes } from '../../core/errors';
import { AppConfig } from '../../infra/config/app-config';
import type { InputAudioInfo } from '../../engine/types';
import { EngineService } from '../engine/engine.service';

/** Names used in `audio.allowed_formats` for sniffed formats whose id differs from the usual extension. */
const FORMAT_ALIASES: Partial<Record<AudioFormatId, string>> = { mp4: 'm4a', asf: 'wma' };

export interface InspectedUpload {
  /** Format name as listed in `audio.allowed_formats` (m4a, wma, mp3…). */
  format: string;
  info: InputAudioInfo;
}

/**
 * Decides whether an uploaded file is audio we accept, by its content only: magic bytes first (cheap,
 * rejects text/images/archives without starting a decoder), then the engine's probe, whose duration
 * is checked against `audio.max_duration_s` before anything is decoded.
 *
 * Probes run at most `audio.probe_concurrency` at once (default one per core). A non-WAV probe is
 * an ffprobe process (~0.1 s of CPU, mostly its start): 40 uploads probed together on a machine busy
 * separating all finished after ~5 s; in turn, the first are answered at once and the median halves.
 * Native WAV probes read a header and are cheap, but take a slot too (they are short).
 */
@Injectable()
export class UploadInspector {
  private readonly probes: ConcurrencyLimiter;

  constructor(
    private readonly engine: EngineService,
    private readonly config: AppConfig,
  ) {
    this.probes = new ConcurrencyLimiter(config.audio.probe_concurrency || availableParallelism());
  }

  async inspect(path: string, size: number): Promise<InspectedUpload> {
    if (size === 0) throw new AudioProcessingError(ErrorCodes.EMPTY_AUDIO, 'The uploaded file is empty');
    const sniffed = await sniffFile(path);
    if (!sniffed) {
      throw new AudioProcessingError(
        ErrorCodes.UNSUPPORTED_AUDIO,
        'The uploaded file is not a recognised audio format',
      );
    }
    const format = FORMAT_ALIASES[sniffed] ?? sniffed;
    const allowed = this.config.audio.allowed_formats;
    if (!allowed.includes(format) && !allowed.includes(sniffed)) {
      throw new AudioProcessingError(
        ErrorCodes.UNSUPPORTED_AUDIO,
        `Audio format '${format}' is not accepted here`,
        {
          format,
          available: allowed,
        },
      );
    }
    const info = await this.probes.run(() => this.engine.probe(path));
    if (!(info.durationSec > 0))
      throw new AudioProcessingError(ErrorCodes.EMPTY_AUDIO, 'The audio has no samples');
    const limit = this.config.audio.max_duration_s;
    if (info.durationSec > limit) {
      throw new AudioProcessingError(
        ErrorCodes.DURATION_LIMIT,
        `The audio lasts ${info.durationSec.toFixed(1)} s; the limit is ${limit} s`,
        { limit },
      );
    }
    return { format, info };
  }
}

function sniffFile(path: string): Promise<AudioFormatId | null> {
  return withFileReader(path, (readAt) => sniffAudioSource(readAt));
}
