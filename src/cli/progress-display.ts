/**
 * The `separate` command's terminal output: one progress bar per file being separated (on stderr,
 * only when it is a terminal), with percentage, audio seconds done / total and an ETA, and every
 * other line (results, errors) printed *through* the bars so that a redraw never overwrites or
 * splices into them. cli-progress redraws the bars in place with cursor movements; a line written
 * to the same terminal behind its back lands inside the block it is about to redraw.
 */
import type { MultiBar, SingleBar } from 'cli-progress';

/** What the display writes to: process.stdout / process.stderr, or a fake in tests. */
export interface TerminalStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressDisplayOptions {
  /** Results (stdout). */
  out: TerminalStream;
  /** Bars and errors (stderr). */
  err: TerminalStream;
  /** Show bars at all (not with --quiet / --json); they also need `err` to be a terminal. */
  bars: boolean;
  /** Clock for ETA (tests). */
  now?: () => number;
}

const BAR_STEPS = 1000;

/**
 * cli-progress, loaded only when bars are shown: with its string-width/emoji-regex dependencies it
 * costs tens of ms at start-up, which a --quiet or --json run (or stderr not a terminal) never uses.
 */
function cliProgress(): typeof import('cli-progress') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('cli-progress') as typeof import('cli-progress');
}

/** One file's bar. */
export interface FileProgress {
  /** Seconds of audio the separation will produce, once known (null: unknown). */
  setAudioSeconds(seconds: number | null): void;
  update(fraction: number, stage: string): void;
  finish(stage: 'done' | 'failed'): void;
}

export class ProgressDisplay {
  private readonly multi: MultiBar | null;
  private readonly now: () => number;
  private stopped = false;

  constructor(private readonly options: ProgressDisplayOptions) {
    this.now = options.now ?? Date.now;
    this.multi =
      options.bars && options.err.isTTY
        ? new (cliProgress().MultiBar)(
            {
              format: ' {bar} {percentage}% | {audio} | ETA {timeLeft} | {file} | {stage}',
              hideCursor: true,
              clearOnComplete: false,
              stream: options.err as NodeJS.WritableStream,
              // The bars are redrawn from our own state; SIGINT is the command's to handle.
              gracefulExit: false,
              autopadding: true,
              // A printed line pushes the bars down: every bar must be redrawn, not only those
              // whose text changed (cli-progress skips unchanged ones otherwise).
              forceRedraw: true,
            },
            cliProgress().Presets.shades_classic,
          )
        : null;
  }

  track(file: string): FileProgress {
    const multi = this.multi;
    if (!multi || this.stopped)
      return { setAudioSeconds: () => undefined, update: () => undefined, finish: () => undefined };
    const started = this.now();
    let total: number | null = null;
    let fraction = 0;
    let stage = 'starting';
    const bar: SingleBar = multi.create(BAR_STEPS, 0, this.payload(file, stage, fraction, total, started));
    const redraw = () =>
      bar.update(Math.round(fraction * BAR_STEPS), this.payload(file, stage, fraction, total, started));
    return {
      setAudioSeconds: (seconds) => {
        total = seconds !== null && seconds > 0 ? seconds : null;
        redraw();
      },
      update: (f, s) => {
        fraction = Math.max(fraction, Math.min(1, Math.max(0, f)));
        stage = s;
        redraw();
      },
      finish: (s) => {
        if (s === 'done') fraction = 1;
        stage = s;
        redraw();
        bar.stop();
      },
    };
  }

  /** A result line (stdout). */
  result(line: string): void {
    this.print(this.options.out, line);
  }

  /** An error or warning line (stderr). */
  error(line: string): void {
    this.print(this.options.err, line);
  }

  /** Draws the bars one last time and leaves the cursor below them. */
  stop(): void {
    if (!this.multi || this.stopped) return;
    this.stopped = true;
    // Lines logged since the last redraw are written by a redraw only, never by stop().
    this.multi.update();
    this.multi.stop();
  }

  private print(stream: TerminalStream, text: string): void {
    // Only a line bound for the bars' terminal can collide with them; stdout redirected to a file
    // or a pipe gets the text directly.
    if (this.multi && !this.stopped && this.multi.isActive && stream.isTTY) {
      // One line per redraw: cli-progress clears only the first line of what it logs.
      for (const line of text.replace(/\n$/, '').split('\n')) {
        this.multi.log(`${line}\n`);
        this.multi.update();
      }
      return;
    }
    stream.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  private payload(file: string, stage: string, fraction: number, total: number | null, started: number) {
    return {
      file,
      stage,
      audio: total === null ? '? s' : `${formatSeconds(fraction * total)}/${formatSeconds(total)}`,
      timeLeft: eta(fraction, this.now() - started),
    };
  }
}

function formatSeconds(s: number): string {
  if (s < 60) return `${s.toFixed(1)} s`;
  return clock(s);
}

function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${r}` : `${m}:${r}`;
}

/** Remaining time from the average rate so far; unknown until a little work is done. */
function eta(fraction: number, elapsedMs: number): string {
  if (fraction >= 1) return '0:00';
  if (fraction < 0.01 || elapsedMs < 500) return '--:--';
  return clock(((elapsedMs / 1000) * (1 - fraction)) / fraction);
}
