/**
 * The CLI as a user runs it: `bin/spleeter-server.js` in a child process, with its exit code, both
 * output streams and its wall time. Killed after `timeoutMs` so a hung run fails its test instead of
 * the suite.
 */
import { spawn } from 'child_process';
import * as path from 'path';

export const CLI_BIN = path.resolve(__dirname, '..', '..', 'bin', 'spleeter-server.js');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs the CLI in `cwd` with `env` over this process's environment (log level `warn` by default). */
export function runCli(
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
  timeoutMs = 170_000,
): Promise<CliRun> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_BIN, ...args], {
      cwd,
      env: { ...process.env, SPLEETER_LOG_LEVEL: 'warn', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr, ms: Date.now() - started });
    });
  });
}
