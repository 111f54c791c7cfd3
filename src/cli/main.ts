/**
 * The CLI's entry point. It loads nothing but this file and infra/config/huge-pages.ts before
 * deciding whether to start the CLI again with glibc's huge-page tunable (see that file): glibc
 * reads its tunables only at process start, and the relaunching process should stay small (it
 * waits for the child, forwards signals to it and exits with its status). Otherwise, or when the
 * child cannot be started, the CLI (./program.ts) runs in this process.
 */
import { spawn } from 'child_process';
import { hugePagesRelaunchEnv } from '../infra/config/huge-pages';

const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];

function runHere(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { main } = require('./program') as typeof import('./program');
  // Exit as soon as the command is done (stdout/stderr writes to files, pipes and terminals are
  // synchronous here) instead of waiting for idle handles; `serve` never resolves.
  void main(process.argv).then((code) => process.exit(code));
}

function relaunch(env: NodeJS.ProcessEnv): void {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env,
  });
  // Ctrl-C at a terminal reaches the whole foreground process group, the child included: forwarding
  // that SIGINT as well would be a second one, which ends the CLI without its clean-up.
  const fromTerminal = [process.stdin, process.stdout, process.stderr].some((s) => s.isTTY);
  const handlers = FORWARDED_SIGNALS.map((signal) => {
    const handler = () => {
      if (signal === 'SIGINT' && fromTerminal) return;
      child.kill(signal);
    };
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  const removeHandlers = () => {
    for (const [signal, handler] of handlers) process.removeListener(signal, handler);
  };
  child.once('error', () => {
    // Not started (e.g. out of processes): the CLI runs here, without the tunable.
    removeHandlers();
    runHere();
  });
  child.once('exit', (code, signal) => {
    removeHandlers();
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
}

if (
  require.main === module ||
  process.argv[1]?.endsWith('spleeter-server.js') ||
  process.argv[1]?.endsWith('spleeter-server')
) {
  const env = hugePagesRelaunchEnv();
  if (env) relaunch(env);
  else runHere();
}
