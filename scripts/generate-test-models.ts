/**
 * Writes a Spleeter ONNX model directory with generated weights (for tests, benchmarks and trying
 * the server without downloading checkpoints).
 *
 *   node -r @swc-node/register scripts/generate-test-models.ts --out .models/test-2stems \
 *     --config 2stems --size full --layout CSTF --precision fp32 --seed 1 --F 1024
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { isSpleeterConfigName, type SpleeterConfigName } from '../src/core/onnx/spleeter-configs';
import { MODEL_PRECISIONS, type ModelPrecision } from '../src/core/models/model-catalog';
import type { SegmentLayout } from '../src/core/spleeter/types';
import { writeTestModelDir, type TestModelSize } from '../test/factories/models';

function positiveInt(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive integer`);
    return n;
  };
}

async function main(argv: string[]): Promise<void> {
  const program = new Command()
    .name('generate-test-models')
    .description('Generate a Spleeter ONNX model directory (one file per instrument + spleeter.json)')
    .requiredOption('--out <dir>', 'output directory (created if missing; existing files are replaced)')
    .addOption(
      new Option('--config <name>', 'Spleeter configuration').default('2stems').argParser((v) => {
        if (!isSpleeterConfigName(v)) throw new InvalidArgumentError('2stems, 4stems or 5stems');
        return v;
      }),
    )
    .addOption(
      new Option('--size <kind>', 'full U-Net or a tiny analytic stand-in')
        .choices(['full', 'identity', 'scale', 'bandpass'])
        .default('full'),
    )
    .addOption(
      new Option('--layout <layout>', 'tensor layout of x/y').choices(['CSTF', 'SCTF']).default('CSTF'),
    )
    .addOption(new Option('--precision <p>', 'stored precision').choices(MODEL_PRECISIONS).default('fp32'))
    .option('--seed <n>', 'weight seed', positiveInt('seed'), 1)
    .option('--F <bins>', 'frequency bins (1024, or 1536 for -16kHz)', positiveInt('F'), 1024)
    .option('--T <frames>', 'frames per segment', positiveInt('T'), 512)
    .option('--no-manifest', 'omit spleeter.json (sherpa-onnx style directory)')
    .parse(argv);
  const o = program.opts<{
    out: string;
    config: SpleeterConfigName;
    size: TestModelSize;
    layout: SegmentLayout;
    precision: ModelPrecision;
    seed: number;
    F: number;
    T: number;
    manifest: boolean;
  }>();
  const t0 = Date.now();
  const files = await writeTestModelDir(o.out, o.size, o);
  process.stdout.write(`${files.join('\n')}\n(${Date.now() - t0} ms)\n`);
}

main(process.argv).catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
