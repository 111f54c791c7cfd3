/**
 * The engine's external codec (ffmpeg), looked for on first need: a WAV-to-WAV run never starts
 * ffmpeg. The injected one when given (SpleeterEngineOptions.codec), else ffmpeg from the
 * configured path or PATH; null when there is none (WAV only, one warning).
 */
import type { ExternalAudioCodec } from '../core/audio/audio-codec';
import { Ffmpeg } from '../infra/ffmpeg/ffmpeg';
import type { InferenceLogger } from '../infra/onnx/onnx-runtime';

export class CodecLookup {
  private ready?: Promise<ExternalAudioCodec | null>;
  /** The codec once known (adoptInjected, get); null before or when none was found. */
  private known: ExternalAudioCodec | null = null;

  constructor(
    private readonly options: { codec?: ExternalAudioCodec | null; ffmpegPath?: string | null },
    private readonly logger: InferenceLogger,
  ) {}

  /** An injected codec is known from initialisation on, without a lookup. */
  adoptInjected(): void {
    if (this.options.codec !== undefined) this.known = this.options.codec;
  }

  get current(): ExternalAudioCodec | null {
    return this.known;
  }

  get(): Promise<ExternalAudioCodec | null> {
    this.ready ??= (async () => {
      if (this.options.codec !== undefined) return this.options.codec;
      const found = await Ffmpeg.locate({ ffmpegPath: this.options.ffmpegPath ?? null });
      if (!found) this.logger.warn('ffmpeg not found: only WAV input is supported, and only WAV output');
      this.known = found;
      return found;
    })();
    return this.ready;
  }

  /** The ffmpeg in use (null when none was found, or the injected codec is not ffmpeg). */
  async ffmpeg(): Promise<Ffmpeg | null> {
    const codec = await this.get();
    return codec instanceof Ffmpeg ? codec : null;
  }
}
