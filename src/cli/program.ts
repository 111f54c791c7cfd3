/**
 * Command-line interface (started by ./main.ts): `spleeter-server separate …`, `spleeter-server models …`,
 * `spleeter-server serve`. Exit codes: 0 ok, 1 internal error, 2 bad usage/validation,
 * 3 audio error, 4 model error, 5 some files of a batch failed, 130 interrupted.
 */
import 'reflect-metadata';
import * as fs from 'fs';
import * as path from 'path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { BITRATE_KBPS_MIN, OUTPUT_CODECS } from '../core/audio/audio-codec';
import { SpleeterError } from '../core/errors';
import { MODEL_PRECISIONS } from '../core/models/model-catalog';
import { MDX_OVERLAP_RULE, parseMdxOverlap, type MdxOverlap } from '../core/mdx/mdx-options';
import { ConfigError, loadConfig } from '../infra/config/config.loader';
import type { AnalyzeCliOptions } from './analyze-command';
import type { ModelsCommandContext, runModelsCommand as RunModelsCommand } from './models-command';
import type { SeparateCliOptions } from './separate-command';
import { CLI_NAME, exitCodeFor, printError } from './cli-output';

function parseNumber(label: string, opts: { min?: number; integer?: boolean } = {}) {
  return (value: string): number => {
    const n = Number(value);
    if (
      !Number.isFinite(n) ||
      (opts.integer && !Number.isInteger(n)) ||
      (opts.min !== undefined && n < opts.min)
    ) {
      throw new InvalidArgumentError(
        `${label} must be a ${opts.integer ? 'whole ' : ''}number${opts.min !== undefined ? ` >= ${opts.min}` : ''}`,
      );
    }
    return n;
  };
}

/** Precision of the Spleeter ONNX files written (`vocals.onnx`, `vocals.fp16.onnx`, …). */
function precisionOption(): Option {
  return new Option(
    '--precision <p>',
    'fp32; fp16 (binary16 weights, float32 compute); int8; fp16c (float16 compute, for GPU providers)',
  )
    .choices(MODEL_PRECISIONS)
    .default('fp32');
}

function parseOverlap(value: string): MdxOverlap {
  const overlap = parseMdxOverlap(value);
  if (overlap === undefined) throw new InvalidArgumentError(MDX_OVERLAP_RULE);
  return overlap;
}

function parseList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name(CLI_NAME)
    .description('Music source separation (Spleeter, MDX-Net, built-in DSP models) from the command line')
    .version(packageVersion())
    .exitOverride();

  program
    .command('separate')
    .description('Separate audio files into stems')
    .argument('<files...>', 'input audio files (WAV, FLAC, MP3, OGG, M4A/AAC, WMA…)')
    .option('-m, --model <name|dir>', 'model name (see `models list`), name@version, or a model directory')
    .option('-o, --output <dir>', 'output directory', 'separated')
    .addOption(new Option('-c, --codec <codec>', 'output codec').choices(OUTPUT_CODECS).default('wav'))
    .option(
      '-b, --bitrate <kbps>',
      'MP3/OGG bitrate in kbit/s',
      parseNumber('bitrate', { min: BITRATE_KBPS_MIN, integer: true }),
    )
    .addOption(new Option('--bit-depth <bits>', 'WAV bit depth (32 = float)').choices(['16', '24', '32']))
    .option(
      '--sample-rate <hz>',
      'output sample rate (default: audio.default_sample_rate, else the input rate)',
      parseNumber('sample rate', { min: 8000, integer: true }),
    )
    .option('-s, --offset <seconds>', 'start offset', parseNumber('offset', { min: 0 }))
    .option(
      '-d, --duration <seconds>',
      'duration to process (default: whole file; never truncated)',
      parseNumber('duration', { min: 0 }),
    )
    .option(
      '-f, --filename-format <format>',
      'output naming: {filename} {foldername} {instrument} {codec}',
      '{filename}/{instrument}.{codec}',
    )
    .option('--stems <list>', 'only write these stems, e.g. vocals,drums', parseList)
    .option('--mwf', 'multichannel Wiener filtering (slower, slightly better)', false)
    .addOption(
      new Option('--bandwidth <mode>', "'full' keeps the band above the model's cutoff").choices([
        'model',
        'full',
      ]),
    )
    .option(
      '--overlap <default|0-0.99>',
      "MDX-Net: chunk overlap; 'default' = UVR's (step chunk − n_fft), or a fraction such as 0.5",
      parseOverlap,
    )
    .option('--denoise', 'MDX-Net: UVR denoise, averages model(x) and −model(−x) (2× inference)')
    .option('--preprocess', 'remove DC before the network (default: audio.enable_preprocessing)')
    .option('--no-preprocess', 'no preprocessing, whatever the configuration says')
    .option(
      '--highpass <hz>',
      '4th-order Butterworth high-pass before the network, 10-500 Hz, with DC removal (default: audio.highpass_hz)',
      (v: string) => {
        const n = Number(v);
        if (!Number.isFinite(n) || n < 10 || n > 500)
          throw new InvalidArgumentError('high-pass corner must be a number from 10 to 500 Hz');
        return n;
      },
    )
    .option(
      '--noise-reduction',
      "spectral-gating noise reduction before the network, noise profile from the input's quietest passages (default: audio.noise_reduction)",
    )
    .option('--no-noise-reduction', 'no noise reduction, whatever the configuration says')
    .option(
      '--normalize-loudness',
      'bring the input to --target-lufs for the network; stems scaled back (default: audio.normalize_loudness)',
    )
    .option('--no-normalize-loudness', 'no loudness normalisation, whatever the configuration says')
    .option('--target-lufs <lufs>', 'target of --normalize-loudness (default -14)', (v: string) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n < -70 || n > 0)
        throw new InvalidArgumentError('target LUFS must be a number from -70 to 0');
      return n;
    })
    .option('--no-tags', "bare stems: without the input's tags (title + stem name) and cover art (MP3/FLAC)")
    .option(
      '--no-analysis',
      'skip the loudness / silence analysis of the input and the stems (printed after each file, in --json as "analysis")',
    )
    .option('--overwrite', 'replace existing output files', false)
    .option('--gpu', 'use a GPU execution provider when available (CUDA, then WebGPU)')
    .option(
      '--require-gpu',
      'fail (exit 6, GPU_UNAVAILABLE) instead of falling back to the CPU when no GPU provider works; implies --gpu',
    )
    .option(
      '-t, --threads <n>',
      'onnxruntime intra-op threads',
      parseNumber('threads', { min: 0, integer: true }),
    )
    .option(
      '--dsp-threads <n>',
      "threads for the STFT/iSTFT of Spleeter models: 'auto' (0 on the CPU, cores − 1 up to 8 on a GPU) or a number, 0 = none",
      (v: string) =>
        v.trim() === 'auto' ? 'auto' : parseNumber('dsp threads', { min: 0, integer: true })(v),
    )
    .option(
      '-j, --concurrency <n>',
      'files processed in parallel',
      parseNumber('concurrency', { min: 1, integer: true }),
    )
    .option('--json', 'print results as JSON lines', false)
    .option('-q, --quiet', 'no progress output', false)
    .action(async (files: string[], opts: SeparateCliOptions) => {
      // Each command's module is loaded when it runs: start-up pays only for the one in use.
      const { runSeparateCommand } = await import('./separate-command');
      process.exitCode = await runSeparateCommand(files, opts, loadCliConfig());
    });

  program
    .command('analyze')
    .description(
      'Technical data, tags, loudness (integrated, LRA, true peak), silence, tempo and key of audio files',
    )
    .argument('<files...>', 'input audio files')
    .option('--json', 'print one JSON object per file', false)
    .action(async (files: string[], opts: AnalyzeCliOptions) => {
      const { runAnalyzeCommand } = await import('./analyze-command');
      process.exitCode = await runAnalyzeCommand(files, opts, loadCliConfig());
    });

  const models = program.command('models').description('List, install, validate and convert models');
  const ctx = (): ModelsCommandContext => ({ config: loadCliConfig() });
  const runModelsCommand: typeof RunModelsCommand = async (...args) =>
    (await import('./models-command')).runModelsCommand(...args);
  models
    .command('list')
    .description('models available and installed')
    .option('--json', 'JSON output', false)
    .action(async (o: { json: boolean }) => {
      process.exitCode = await runModelsCommand('list', [], o, ctx());
    });
  models
    .command('install')
    .description('download a catalog model (or install it from an archive with --from) and validate it')
    .argument('<name>', 'catalog model name')
    .option('--force', 're-download even if installed', false)
    .option(
      '--from <file-or-dir>',
      'install from an archive or folder downloaded elsewhere (offline machines)',
    )
    .action(async (name: string, o: { force: boolean; from?: string }) => {
      process.exitCode = await runModelsCommand('install', [name], o, ctx());
    });
  models
    .command('remove')
    .description('delete an installed model (every version, or the one given as name@version)')
    .argument('<name>', 'name or name@version')
    .action(async (name: string) => {
      process.exitCode = await runModelsCommand('remove', [name], {}, ctx());
    });
  models
    .command('validate')
    .description('check that a model loads and runs (checksums, ONNX files, a smoke separation)')
    .argument('<name>', 'name, name@version or a model directory')
    .action(async (name: string) => {
      process.exitCode = await runModelsCommand('validate', [name], {}, ctx());
    });
  models
    .command('convert')
    .description('convert an official Spleeter TensorFlow checkpoint into ONNX files')
    .argument('<checkpoint-dir>', 'directory with checkpoint, model.index, model.data-*')
    .addOption(
      new Option('--config <config>', 'Spleeter configuration')
        .choices(['2stems', '4stems', '5stems'])
        .makeOptionMandatory(),
    )
    .option('-o, --output <dir>', 'output model directory')
    .addOption(
      new Option('--F <bins>', 'frequency bins (1536 for the -16kHz variants)')
        .choices(['1024', '1536'])
        .default('1024'),
    )
    .addOption(precisionOption())
    .action(async (dir: string, o: Record<string, unknown>) => {
      process.exitCode = await runModelsCommand('convert', [dir], o, ctx());
    });
  models
    .command('generate-test')
    .description(
      'write a Spleeter-architecture ONNX model with seeded random weights (for trying the pipeline offline)',
    )
    .argument('<output-dir>')
    .addOption(new Option('--config <config>').choices(['2stems', '4stems', '5stems']).default('2stems'))
    .addOption(new Option('--kind <kind>').choices(['full', 'identity']).default('full'))
    .option('--seed <n>', 'random seed', parseNumber('seed', { integer: true }), 1)
    .addOption(precisionOption())
    .action(async (dir: string, o: Record<string, unknown>) => {
      process.exitCode = await runModelsCommand('generate-test', [dir], o, ctx());
    });

  program
    .command('serve')
    .description('start the HTTP server (same as `npm start`)')
    .option(
      '-p, --port <port>',
      'listen on this port (default: server.port)',
      parseNumber('port', { min: 0, integer: true }),
    )
    .option('-H, --host <address>', 'listen on this address (default: server.host)')
    .action(async (o: { port?: number; host?: string }) => {
      const server: Record<string, unknown> = {};
      if (o.port !== undefined) server.port = o.port;
      if (o.host !== undefined) server.host = o.host;
      const options = { overrides: Object.keys(server).length ? { server } : undefined };
      loadConfig({ ...options, warn: (m) => process.stderr.write(`warning: ${m}\n`) });
      const { startServer } = await import('../main');
      await startServer(options);
      await new Promise(() => undefined);
    });

  // A usage error prints commander's one-line message and where to read more, not the whole help.
  const hintHelp = (cmd: Command, name: string): void => {
    cmd.showHelpAfterError(`(try '${name} --help')`);
    for (const sub of cmd.commands) hintHelp(sub, `${name} ${sub.name()}`);
  };
  hintHelp(program, CLI_NAME);
  return program;
}

function packageVersion(): string {
  const file = path.resolve(__dirname, '..', '..', 'package.json');
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
}

function loadCliConfig() {
  return loadConfig({ warn: (m) => process.stderr.write(`warning: ${m}\n`) });
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    const e = err as { code?: string; exitCode?: number };
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) {
      // Commander already printed the message (help, version or usage error).
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? 0 : 2;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    printError(err);
    return err instanceof SpleeterError ? exitCodeFor(err) : 1;
  }
}
