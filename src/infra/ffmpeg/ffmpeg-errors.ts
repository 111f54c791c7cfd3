/**
 * Mapping ffmpeg's complaints to domain error codes. ffmpeg has no machine-readable error codes on
 * the command line, so this reads its (stable for many years) English messages.
 */
import { AudioProcessingError, ErrorCodes, type ErrorCode } from '../../core/errors';
import { PATH_PLACEHOLDER, scrubPaths } from '../../core/scrub-paths';
import { stderrTail } from './ffmpeg-process';

const NO_AUDIO = [
  /Stream map '0:a:0' matches no streams/i,
  /does not contain any stream/i,
  /matches no streams/i,
  /no audio stream/i,
];
const UNSUPPORTED = [
  /Decoder \(codec [^)]*\) not found/i,
  /Unknown decoder/i,
  /unsupported codec/i,
  /not supported/i,
];
const NOT_FOUND = [/No such file or directory/i];

export function classifyFfmpegFailure(stderr: string): { code: ErrorCode; reason: string } {
  if (NOT_FOUND.some((re) => re.test(stderr)))
    return { code: ErrorCodes.FILE_NOT_FOUND, reason: 'file not found' };
  if (NO_AUDIO.some((re) => re.test(stderr)))
    return { code: ErrorCodes.UNSUPPORTED_AUDIO, reason: 'no audio stream' };
  if (UNSUPPORTED.some((re) => re.test(stderr))) {
    return { code: ErrorCodes.UNSUPPORTED_AUDIO, reason: 'codec not supported by this ffmpeg' };
  }
  return { code: ErrorCodes.CORRUPT_AUDIO, reason: 'could not be decoded' };
}

export function ffmpegDecodeError(
  filePath: string,
  stderr: string,
  extra: Record<string, unknown> = {},
): AudioProcessingError {
  const { code, reason } = classifyFfmpegFailure(stderr);
  // ffmpeg names its input (`file:/srv/…/tmp/<uuid>.upload: Invalid data…`): the message reaches
  // clients, the path stays in the context for the log.
  const line = scrubPaths(
    lastLine(stderr).split(`file:${filePath}`).join(PATH_PLACEHOLDER).split(filePath).join(PATH_PLACEHOLDER),
  );
  return new AudioProcessingError(code, `Audio ${reason}: ${line || 'ffmpeg failed'}`, {
    path: filePath,
    ffmpegMessage: stderrTail(stderr),
    ...extra,
  });
}

/** The most telling line: the last non-empty one (ffmpeg prints the fatal error last). */
function lastLine(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const last = lines[lines.length - 1] ?? '';
  return last.length > 300 ? last.slice(0, 300) + '…' : last;
}
