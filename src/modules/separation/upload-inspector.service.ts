import { withFileReader } from '../../core/audio/wav-file';
import { availableParallelism } from 'os';
import { Injectable } from '@nestjs/common';
import { ConcurrencyLimiter } from '../../engine/concurrency';
import { normalizeTags } from '../../core/audio/audio-tags';
import { readMp3Info, type Mp3Info } from '../../core/audio/mp3-info';
import { sniffAudioSource, type AudioFormatId, type ReadAt } from '../../core/audio/sniff';
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
 *
 * MP3, the most common upload, skips ffprobe altogether (`audio.native_mp3_probe`): its frame
 * header, Xing/VBRI frame count and ID3v2 text frames give the same format, rate, channels,
 * duration and tags (core/audio/mp3-info.ts). The job's info is replaced by the engine's full probe
 * when it runs; a file the native reader cannot tell goes to ffprobe as before.
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
    // One open and (usually) one read for the sniff and the native MP3 reader together: under load
    // every file operation waits its turn in libuv's small thread pool.
    const { sniffed, mp3 } = await withFileReader(path, async (raw) => {
      const readAt = headCachedReader(raw);
      const sniffed = await sniffAudioSource(readAt);
      const mp3 =
        sniffed === 'mp3' && this.config.audio.native_mp3_probe
          ? await readMp3Info(readAt, size).catch(() => null)
          : null;
      return { sniffed, mp3 };
    });
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
    const info = mp3 ? mp3InputInfo(mp3) : await this.probes.run(() => this.engine.probe(path));
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

function mp3InputInfo(mp3: Mp3Info): InputAudioInfo {
  const tags = normalizeTags(mp3.tags);
  return {
    format: 'mp3',
    codec: 'mp3',
    sampleRate: mp3.sampleRate,
    channels: mp3.channels,
    durationSec: mp3.durationSec,
    ...(Object.keys(tags).length > 0 ? { tags } : {}),
  };
}

/** The first HEAD_CACHE bytes read once; reads inside them are served from memory. */
const HEAD_CACHE = 64 * 1024;
function headCachedReader(readAt: ReadAt): ReadAt {
  let head: Promise<Uint8Array> | undefined;
  return async (position, length) => {
    if (position + length > HEAD_CACHE) return readAt(position, length);
    const bytes = await (head ??= readAt(0, HEAD_CACHE));
    return bytes.subarray(Math.min(position, bytes.length), Math.min(position + length, bytes.length));
  };
}
