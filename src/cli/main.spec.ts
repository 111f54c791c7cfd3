import { EventEmitter } from 'events';
import { RELAUNCH_PARENT_ENV } from '../infra/config/huge-pages';
import { FORWARDED_SIGNALS, relaunch, runsServer, watchParent, type EntryProcess } from './main';

/** A process double: records signal handlers, kills and exits; its child is an EventEmitter. */
function fakeProcess(interactive = false) {
  const child = Object.assign(new EventEmitter(), { kill: jest.fn() });
  const handlers = new Map<string, () => void>();
  const proc: EntryProcess & { ppid: number } = {
    pid: 4242,
    ppid: 1000,
    interactive,
    start: jest.fn(() => child as never),
    on: (signal, handler) => void handlers.set(signal, handler),
    off: (signal, handler) => {
      if (handlers.get(signal) === handler) handlers.delete(signal);
    },
    kill: jest.fn(),
    exit: jest.fn(),
  };
  return { proc, child, handlers };
}

describe(relaunch.name, () => {
  it('starts the child with the environment and its own pid, forwards signals, exits with its code', () => {
    const { proc, child, handlers } = fakeProcess();
    const fallback = jest.fn();
    relaunch({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' }, fallback, proc);
    expect(proc.start).toHaveBeenCalledWith({
      GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1',
      [RELAUNCH_PARENT_ENV]: '4242',
    });
    expect([...handlers.keys()]).toEqual(FORWARDED_SIGNALS);
    handlers.get('SIGTERM')!();
    handlers.get('SIGINT')!();
    expect(child.kill.mock.calls).toEqual([['SIGTERM'], ['SIGINT']]);
    child.emit('exit', 130, null);
    expect(proc.exit).toHaveBeenCalledWith(130);
    expect(handlers.size).toBe(0);
    expect(fallback).not.toHaveBeenCalled();
  });

  it("leaves a terminal's SIGINT to the terminal, which reaches the child itself", () => {
    const { proc, child, handlers } = fakeProcess(true);
    relaunch({}, jest.fn(), proc);
    handlers.get('SIGINT')!();
    handlers.get('SIGHUP')!();
    expect(child.kill.mock.calls).toEqual([['SIGHUP']]);
  });

  it('ends with the signal that ended the child, and runs the CLI here when no child starts', () => {
    const killed = fakeProcess();
    relaunch({}, jest.fn(), killed.proc);
    killed.child.emit('exit', null, 'SIGTERM');
    expect(killed.proc.kill).toHaveBeenCalledWith('SIGTERM');
    expect(killed.proc.exit).not.toHaveBeenCalled();

    const failed = fakeProcess();
    const fallback = jest.fn();
    relaunch({}, fallback, failed.proc);
    failed.child.emit('error', new Error('spawn EAGAIN'));
    expect(fallback).toHaveBeenCalledTimes(1);
    expect(failed.handlers.size).toBe(0);
  });
});

describe(watchParent.name, () => {
  afterEach(() => jest.useRealTimers());

  it('sends itself SIGINT once when its parent is gone', () => {
    jest.useFakeTimers();
    const { proc } = fakeProcess();
    watchParent(1000, proc, 100);
    jest.advanceTimersByTime(350);
    expect(proc.kill).not.toHaveBeenCalled();
    proc.ppid = 1; // re-parented: the relaunching process died
    jest.advanceTimersByTime(500);
    expect(jest.mocked(proc.kill).mock.calls).toEqual([['SIGINT']]);
  });
});

describe(runsServer.name, () => {
  it('is true for the serve command only, whatever options come before it', () => {
    expect(runsServer(['node', 'main.js', 'serve', '-p', '8080'])).toBe(true);
    expect(runsServer(['node', 'main.js', '--no-color', 'serve'])).toBe(true);
    expect(runsServer(['node', 'main.js', 'separate', 'serve.wav'])).toBe(false);
    expect(runsServer(['node', 'main.js', '--version'])).toBe(false);
    expect(runsServer(['node', 'main.js'])).toBe(false);
  });
});
