/**
 * The CLI's entry point. It loads nothing but this file and infra/config/huge-pages.ts before
 * deciding whether to start the CLI again with glibc's huge-page tunable (see that file): glibc
 * reads its tunables only at process start, and the relaunching process should stay small (it
 * waits for the child, forwards signals to it and exits with its status). Otherwise, or when the
 * child cannot be started, the CLI (./program.ts) runs in this process.
 */
import { spawn, type ChildProcess } from 'child_process';
import { isatty } from 'tty';
import { hugePagesRelaunchEnv, RELAUNCH_PARENT_ENV, takeRelaunchParent } from '../infra/config/huge-pages';

export const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];

/** What relaunch() and watchParent() use of this process (replaced in tests). */
export interface EntryProcess {
  readonly pid: number;
  readonly ppid: number;
  /** Whether a terminal is attached (stdin, stdout or stderr). */
  readonly interactive: boolean;
  start(env: NodeJS.ProcessEnv): Pick<ChildProcess, 'kill' | 'once'>;
  on(signal: NodeJS.Signals, handler: () => void): void;
  off(signal: NodeJS.Signals, handler: () => void): void;
  kill(signal: NodeJS.Signals): void;
  exit(code: number): void;
}

const thisProcess: EntryProcess = {
  pid: process.pid,
  get ppid() {
    return process.ppid;
  },
  // isatty on the descriptors: reading process.stdin.isTTY would create a stdin stream here.
  get interactive() {
    return [0, 1, 2].some((fd) => isatty(fd));
  },
  start: (env) =>
    spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env }),
  on: (signal, handler) => process.on(signal, handler),
  off: (signal, handler) => process.removeListener(signal, handler),
  kill: (signal) => process.kill(process.pid, signal),
  exit: (code) => process.exit(code),
};

function runHere(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { main } = require('./program') as typeof import('./program');
  // Exit as soon as the command is done (stdout/stderr writes to files, pipes and terminals are
  // synchronous here) instead of waiting for idle handles; `serve` never resolves.
  void main(process.argv).then((code) => process.exit(code));
}

/**
 * Starts the CLI again in a child with `env`, forwards signals to it and ends this process as the
 * child ends (same exit code, or the same signal). `fallback` runs the CLI here when the child
 * cannot be started.
 */
export function relaunch(
  env: NodeJS.ProcessEnv,
  fallback: () => void,
  proc: EntryProcess = thisProcess,
): void {
  const child = proc.start({ ...env, [RELAUNCH_PARENT_ENV]: String(proc.pid) });
  // Ctrl-C at a terminal reaches the whole foreground process group, the child included: forwarding
  // that SIGINT as well would be a second one, which ends the CLI without its clean-up.
  const handlers = FORWARDED_SIGNALS.map((signal) => {
    const handler = () => {
      if (signal !== 'SIGINT' || !proc.interactive) child.kill(signal);
    };
    proc.on(signal, handler);
    return [signal, handler] as const;
  });
  const removeHandlers = () => {
    for (const [signal, handler] of handlers) proc.off(signal, handler);
  };
  child.once('error', () => {
    // Not started (e.g. out of processes): the CLI runs here, without the tunable.
    removeHandlers();
    fallback();
  });
  child.once('exit', (code: number | null, signal: NodeJS.Signals | null) => {
    removeHandlers();
    if (signal) proc.kill(signal);
    else proc.exit(code ?? 1);
  });
}

/** Whether the command line starts the server (the first argument that is not an option). */
export function runsServer(argv: readonly string[]): boolean {
  return argv.slice(2).find((a) => !a.startsWith('-')) === 'serve';
}

/**
 * In the relaunched CLI: when the process that started it is gone (killed with SIGKILL, which it
 * cannot forward), stop as on Ctrl-C instead of running on unseen. Returns the (unref'd) timer.
 */
export function watchParent(parent: number, proc: EntryProcess = thisProcess, everyMs = 500): NodeJS.Timeout {
  const timer = setInterval(() => {
    if (proc.ppid === parent) return;
    clearInterval(timer);
    proc.kill('SIGINT');
  }, everyMs);
  return timer.unref();
}

if (
  require.main === module ||
  process.argv[1]?.endsWith('spleeter-server.js') ||
  process.argv[1]?.endsWith('spleeter-server')
) {
  const parent = takeRelaunchParent();
  const env =
    parent === null ? hugePagesRelaunchEnv(process.env, undefined, !runsServer(process.argv)) : null;
  if (env) relaunch(env, runHere);
  else {
    if (parent !== null) watchParent(parent);
    runHere();
  }
}
