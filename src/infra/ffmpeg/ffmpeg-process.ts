/**
 * Running a short-lived ffmpeg/ffprobe command and collecting its output. Always an argv array
 * (never a shell), stdin closed, bounded output, hard timeout.
 */
import { spawn } from 'child_process';

/** How every decode, encode and transcode argv starts: no stdin, errors only, local files and pipes only. */
export const FFMPEG_QUIET_ARGS: readonly string[] =
  '-nostdin -hide_banner -loglevel error -protocol_whitelist file,pipe'.split(' ');

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface RunOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Output beyond this many characters per stream is dropped (keeps the head). */
  maxOutputChars?: number;
}

/** Rejects only when the binary cannot be started at all (ENOENT, EACCES...). */
export function runCollect(
  binary: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const maxChars = options.maxOutputChars ?? 1 << 20;
  return new Promise((resolve, reject) => {
    options.signal?.throwIfAborted();
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      if (stdout.length < maxChars) stdout += s;
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      if (stderr.length < maxChars) stderr += s;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 30_000);
    const onAbort = () => child.kill('SIGKILL');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const done = () => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    };
    child.once('error', (err) => {
      done();
      reject(err);
    });
    child.once('close', (code, signal) => {
      done();
      if (options.signal?.aborted) reject(options.signal.reason);
      else resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

/** The last `max` characters of ffmpeg's stderr, trimmed: enough to show the real complaint. */
export function stderrTail(stderr: string, max = 2000): string {
  const trimmed = stderr.trim();
  return trimmed.length > max ? '…' + trimmed.slice(trimmed.length - max) : trimmed;
}
