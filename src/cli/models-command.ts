import * as fs from 'fs';
import * as path from 'path';
import { SingleBar, Presets } from 'cli-progress';
import { MODEL_PRECISIONS, type ModelPrecision } from '../core/models/model-catalog';
import { isSpleeterConfigName } from '../core/onnx/spleeter-configs';
import { ErrorCodes, ValidationError } from '../core/errors';
import type { SpleeterConfig } from '../infra/config/config.schema';
import { engineFromConfig } from './separate-command';
import { exitCodeFor, formatErrorWithHint, type HintContext } from './cli-output';

export interface ModelsCommandContext {
  config: SpleeterConfig;
}

type Sub = 'list' | 'install' | 'remove' | 'validate' | 'convert' | 'generate-test';

export async function runModelsCommand(
  sub: Sub,
  args: string[],
  opts: Record<string, unknown>,
  ctx: ModelsCommandContext,
): Promise<number> {
  try {
    switch (sub) {
      case 'list':
        return await list(ctx, Boolean(opts.json));
      case 'install':
        return await install(ctx, args[0], Boolean(opts.force), opts.from as string | undefined);
      case 'remove':
        return await remove(ctx, args[0]);
      case 'validate':
        return await validate(ctx, args[0]);
      case 'convert':
        return await convert(args[0], opts);
      case 'generate-test':
        return await generate(args[0], opts);
    }
  } catch (err) {
    const command = (
      sub === 'list' || sub === 'generate-test' ? 'models' : `models ${sub}`
    ) as HintContext['command'];
    process.stderr.write(`${formatErrorWithHint(err, { command, model: args[0] })}\n`);
    return exitCodeFor(err);
  }
}

async function list(ctx: ModelsCommandContext, json: boolean): Promise<number> {
  const engine = engineFromConfig(ctx.config);
  try {
    const models = await engine.getAvailableModels();
    if (json) {
      process.stdout.write(`${JSON.stringify(models, null, 2)}\n`);
      return 0;
    }
    const width = Math.max(...models.map((m) => m.name.length), 4);
    process.stdout.write(`${'NAME'.padEnd(width)}  INSTALLED  VERSION  STEMS\n`);
    for (const m of models) {
      process.stdout.write(
        `${m.name.padEnd(width)}  ${(m.installed ? 'yes' : 'no').padEnd(9)}  ${(m.version ?? '-').padEnd(7)}  ${m.stems.join(', ')}\n`,
      );
    }
    return 0;
  } finally {
    await engine.dispose();
  }
}

async function install(
  ctx: ModelsCommandContext,
  name: string,
  force: boolean,
  from?: string,
): Promise<number> {
  const engine = engineFromConfig(ctx.config);
  const manager = await engine.getModelManager();
  const bar = process.stderr.isTTY
    ? new SingleBar(
        { format: ' {bar} {percentage}% | {stage}', stream: process.stderr },
        Presets.shades_classic,
      )
    : undefined;
  bar?.start(100, 0, { stage: 'starting' });
  try {
    const onProgress = (p: { fraction: number; stage: string }) =>
      bar?.update(Math.round(p.fraction * 100), { stage: p.stage });
    const result = from
      ? await manager.installFromArchive(name, path.resolve(from), { onProgress })
      : await manager.downloadModel(name, { force, onProgress });
    bar?.update(100, { stage: 'done' });
    bar?.stop();
    process.stdout.write(
      result.installed
        ? `installed ${result.name}@${result.version}\n`
        : `${result.name}@${result.version} is already installed\n`,
    );
    return 0;
  } finally {
    bar?.stop();
    await engine.dispose();
  }
}

async function remove(ctx: ModelsCommandContext, ref: string): Promise<number> {
  const engine = engineFromConfig(ctx.config);
  const manager = await engine.getModelManager();
  try {
    const res = await manager.remove(ref);
    process.stdout.write(`removed ${res.removed.map((v) => `${res.name}@${v}`).join(', ')}\n`);
    return 0;
  } finally {
    await engine.dispose();
  }
}

async function validate(ctx: ModelsCommandContext, ref: string): Promise<number> {
  const engine = engineFromConfig(ctx.config);
  try {
    if (fs.existsSync(ref) && fs.statSync(ref).isDirectory()) {
      const model = await engine.resolveModel(path.resolve(ref));
      process.stdout.write(`${ref}: loads, stems ${model.stems.join(', ')}\n`);
      return 0;
    }
    const manager = await engine.getModelManager();
    const report = await manager.validateModel(ref);
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return report.valid ? 0 : 4;
  } finally {
    await engine.dispose();
  }
}

function modelPrecision(value: unknown): ModelPrecision {
  const p = String(value ?? 'fp32');
  if (!(MODEL_PRECISIONS as readonly string[]).includes(p)) {
    throw new ValidationError(
      ErrorCodes.VALIDATION_FAILED,
      `--precision must be one of ${MODEL_PRECISIONS.join(', ')}`,
    );
  }
  return p as ModelPrecision;
}

async function convert(checkpointDir: string, opts: Record<string, unknown>): Promise<number> {
  const config = String(opts.config);
  if (!isSpleeterConfigName(config)) {
    throw new ValidationError(ErrorCodes.VALIDATION_FAILED, `--config must be 2stems, 4stems or 5stems`);
  }
  const F = Number(opts.F ?? 1024);
  const outDir = path.resolve(String(opts.output ?? `${config}${F === 1536 ? '-16kHz' : ''}-onnx`));
  // Loaded on use: the converter and the generator (protobuf) would slow every CLI start.
  const { convertSpleeterCheckpoint } = await import('../core/tf/spleeter-converter');
  const result = await convertSpleeterCheckpoint(checkpointDir, {
    config,
    F,
    outDir,
    precision: modelPrecision(opts.precision),
  });
  process.stdout.write(`wrote ${result.files.length} ONNX files to ${result.outDir}\n`);
  return 0;
}

async function generate(outDir: string, opts: Record<string, unknown>): Promise<number> {
  const config = String(opts.config ?? '2stems');
  if (!isSpleeterConfigName(config)) {
    throw new ValidationError(ErrorCodes.VALIDATION_FAILED, `--config must be 2stems, 4stems or 5stems`);
  }
  const kind = opts.kind === 'identity' ? 'identity' : 'full';
  const dir = path.resolve(outDir);
  if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0) {
    throw new ValidationError(ErrorCodes.OUTPUT_EXISTS, `${dir} exists and is not empty`);
  }
  const { generateTestModelFiles } = await import('../core/onnx/test-model-generator');
  const files = generateTestModelFiles(kind, {
    config,
    seed: Number(opts.seed ?? 1),
    precision: modelPrecision(opts.precision),
  });
  const tmp = `${dir}.tmp-${process.pid}`;
  await fs.promises.mkdir(tmp, { recursive: true });
  try {
    for (const [name, bytes] of files) await fs.promises.writeFile(path.join(tmp, name), bytes);
    await fs.promises.rm(dir, { recursive: true, force: true });
    await fs.promises.rename(tmp, dir);
  } catch (err) {
    await fs.promises.rm(tmp, { recursive: true, force: true });
    throw err;
  }
  process.stdout.write(
    `wrote a ${kind} ${config} test model (seeded random weights, not a trained model) to ${dir}\n`,
  );
  return 0;
}
