/**
 * Finding a working ffmpeg: explicit path from config → `ffmpeg` on PATH → none (then only WAV is
 * read and written, and other formats fail with DECODER_UNAVAILABLE naming the install step).
 * Every candidate is actually executed (`-version`), because a present file may still be for the
 * wrong architecture, lack the exec bit or sit on a noexec mount. ffprobe is looked for next to the
 * chosen ffmpeg, then on PATH; without one, probing falls back to parsing `ffmpeg -i`.
 *
 * No ffmpeg ships with the npm install: uploads are untrusted input, so they are decoded by an
 * ffmpeg that gets security updates (the OS package; the images install Debian's). The npm
 * packages that carried a static build either download it at install time from outside the
 * registry or (like the formerly bundled @ffmpeg-installer) froze a 2018 development snapshot.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { AudioProcessingError, ErrorCodes } from '../../core/errors';
import { FFMPEG_INSTALL_HINT } from '../../core/audio/audio-codec';
import { runCollect } from './ffmpeg-process';
import { executableSearchPath } from '../config/system-env';

export type FfmpegSource = 'config' | 'path';

export interface FfmpegBinaries {
  ffmpegPath: string;
  ffprobePath: string | null;
  /** e.g. "5.1.6-0+deb12u1" or "7.1". */
  version: string;
  source: FfmpegSource;
}

export interface FfmpegLocatorOptions {
  /** Configured binary (SPLEETER_FFMPEG_PATH). When set it must work: no silent fallback. */
  ffmpegPath?: string | null;
  /** Configured ffprobe; otherwise looked up next to ffmpeg and on PATH. */
  ffprobePath?: string | null;
  /** PATH-style search list (default: the process PATH). */
  searchPath?: string;
  verifyTimeoutMs?: number;
}

export class FfmpegLocator {
  constructor(private readonly options: FfmpegLocatorOptions = {}) {}

  /** The first working ffmpeg, or null. Throws DECODER_UNAVAILABLE if a configured path is broken. */
  async locate(): Promise<FfmpegBinaries | null> {
    const found = await this.locateFfmpeg();
    if (!found) return null;
    const ffprobePath = await this.locateFfprobe(found.path);
    return { ffmpegPath: found.path, ffprobePath, version: found.version, source: found.source };
  }

  private async locateFfmpeg(): Promise<{ path: string; version: string; source: FfmpegSource } | null> {
    const configured = this.options.ffmpegPath?.trim();
    if (configured) {
      const version = await this.verify(configured, 'ffmpeg');
      if (version === null) {
        throw new AudioProcessingError(
          ErrorCodes.DECODER_UNAVAILABLE,
          `The configured ffmpeg (${configured}) does not run; fix the path or ${FFMPEG_INSTALL_HINT}`,
          { ffmpegPath: configured },
        );
      }
      return { path: configured, version, source: 'config' };
    }
    for (const candidate of await this.onSearchPath('ffmpeg')) {
      const version = await this.verify(candidate, 'ffmpeg');
      if (version !== null) return { path: candidate, version, source: 'path' };
    }
    return null;
  }

  private async locateFfprobe(ffmpegPath: string): Promise<string | null> {
    const configured = this.options.ffprobePath?.trim();
    const beside = path.join(
      path.dirname(ffmpegPath),
      process.platform === 'win32' ? 'ffprobe.exe' : 'ffprobe',
    );
    const candidates = [...(configured ? [configured] : []), beside, ...(await this.onSearchPath('ffprobe'))];
    for (const candidate of candidates) {
      if ((await this.verify(candidate, 'ffprobe')) !== null) return candidate;
    }
    return null;
  }

  /** Executable files called `name` in the search path, in order. */
  private async onSearchPath(name: string): Promise<string[]> {
    const searchPath = this.options.searchPath ?? executableSearchPath();
    const exts = process.platform === 'win32' ? ['.exe', ''] : [''];
    const found: string[] = [];
    for (const dir of searchPath.split(path.delimiter)) {
      if (!dir) continue;
      for (const ext of exts) {
        const candidate = path.join(dir, name + ext);
        try {
          await fs.access(candidate, fs.constants.X_OK);
          if ((await fs.stat(candidate)).isFile()) found.push(candidate);
        } catch {
          // not there
        }
      }
    }
    return found;
  }

  /** Runs `<binary> -version`; returns the version string or null when it does not work. */
  private async verify(binary: string, expected: 'ffmpeg' | 'ffprobe'): Promise<string | null> {
    try {
      const result = await runCollect(binary, ['-hide_banner', '-version'], {
        timeoutMs: this.options.verifyTimeoutMs ?? 15_000,
        maxOutputChars: 8192,
      });
      if (result.code !== 0) return null;
      const match = new RegExp(`^${expected} version (\\S+)`, 'm').exec(result.stdout);
      return match ? match[1] : null;
    } catch {
      return null;
    }
  }
}
