/**
 * Process environment that is not SPLEETER_* configuration but that the product still needs, read
 * here so that src/infra/config stays the only reader of process.env.
 */

/** The executable search path (PATH), for finding ffmpeg/ffprobe; '' when unset. */
export function executableSearchPath(): string {
  return process.env.PATH ?? '';
}

/** NODE_ENV as the Node ecosystem sets it (e.g. 'production' in the Docker images); '' when unset. */
export function nodeEnv(): string {
  return process.env.NODE_ENV ?? '';
}

/** Whether the process writes its standard output to a terminal (a developer watching it). */
export function stdoutIsTerminal(): boolean {
  return Boolean(process.stdout.isTTY);
}
