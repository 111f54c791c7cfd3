/**
 * `spleeter-server analyze <files…> [--json]`: technical data, tags, loudness, silence, tempo and
 * key of each file (SpleeterEngine.analyze), one after the other. Exit codes as for `separate`
 * (5: some files of several failed).
 */
import type { SpleeterConfig } from '../infra/config/config.schema';
import type { AudioFileAnalysis } from '../engine/audio-file-analysis';
import { exitCodeFor, formatErrorWithHint } from './cli-output';
import { engineFromConfig } from './separate-command';

export interface AnalyzeCliOptions {
  json: boolean;
}

export async function runAnalyzeCommand(
  files: string[],
  opts: AnalyzeCliOptions,
  config: SpleeterConfig,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  const engine = engineFromConfig(config);
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  let failures = 0;
  let lastCode = 0;
  try {
    for (const file of files) {
      if (controller.signal.aborted) break;
      try {
        const result = await engine.analyze(file, { signal: controller.signal });
        out.write(`${opts.json ? JSON.stringify(result) : report(result)}\n`);
      } catch (e) {
        failures++;
        lastCode = exitCodeFor(e);
        err.write(`${formatErrorWithHint(e, { command: 'analyze', prefix: `${file}: ` })}\n`);
        if (opts.json) {
          const x = e as { code?: string; message?: string };
          out.write(
            `${JSON.stringify({ audioPath: file, error: { code: x.code, message: x.message ?? String(e) } })}\n`,
          );
        }
      }
    }
  } finally {
    process.removeListener('SIGINT', onSigint);
    await engine.dispose();
  }
  if (controller.signal.aborted) return 130;
  if (failures === 0) return 0;
  return failures === files.length ? lastCode : 5;
}

const num = (v: number | null | undefined, digits: number, unit: string): string =>
  v === null || v === undefined ? 'n/a' : `${v.toFixed(digits)} ${unit}`;

function report(r: AudioFileAnalysis): string {
  const t = r.technical;
  const a = r.analysis;
  const l = a.loudness!;
  const s = a.silence!;
  const tags = Object.entries(r.tags)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  const lines = [
    `${r.audioPath}: ${t.format}/${t.codec}, ${t.sampleRate} Hz, ${t.channels} ch` +
      `${t.bitDepth ? `, ${t.bitDepth} bit` : ''}, ${a.durationSec.toFixed(2)} s`,
    `  loudness: ${num(l.integratedLufs, 1, 'LUFS')} integrated, LRA ${num(l.loudnessRangeLu, 1, 'LU')}, true peak ${num(l.truePeakDbtp, 1, 'dBTP')}`,
    `  silence: ${s.ranges.length} range(s), ${s.silentSec.toFixed(2)} s` +
      (s.ranges.length
        ? ` (${s.ranges
            .slice(0, 5)
            .map((x) => `${x.startSec.toFixed(2)}–${x.endSec.toFixed(2)}`)
            .join(', ')}${s.ranges.length > 5 ? ', …' : ''})`
        : ''),
    `  tempo: ${num(a.tempo!.bpm, 1, 'BPM')}, key: ${a.key!.key ?? 'n/a'}`,
  ];
  if (tags) lines.push(`  tags: ${tags}`);
  return lines.join('\n');
}
