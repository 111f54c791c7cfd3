/**
 * Process environment that is not SPLEETER_* configuration but that the product still needs, read
 * here so that src/infra/config stays the only reader of process.env.
 */

/** The executable search path (PATH), for finding ffmpeg/ffprobe; '' when unset. */
export function executableSearchPath(): string {
  return process.env.PATH ?? '';
}
