/**
 * ffmpeg's own EBU R128 meter (`-af ebur128=peak=true`) as the reference for our loudness code.
 *
 * Integrated loudness and LRA come from the filter's frame metadata (3 decimals, the last frame
 * carries the final values); true and sample peak from its summary (0.1 dB). Note that the filter
 * works at 48 kHz only: ffmpeg resamples other rates first (so content above 24 kHz is not
 * measured), and it oversamples to 192 kHz for the true peak.
 */
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { FfmpegLocator, runCollect, type FfmpegBinaries } from '../../src/infra/ffmpeg';

export interface Ebur128Reading {
  integratedLufs: number;
  loudnessRangeLu: number;
  truePeakDbtp: number;
  samplePeakDbfs: number;
}

let located: Promise<FfmpegBinaries | null> | null = null;

/** The ffmpeg the project would use (config-less: PATH, then the bundled package), or null. */
export function locateFfmpeg(): Promise<FfmpegBinaries | null> {
  located ??= new FfmpegLocator().locate().catch(() => null);
  return located;
}

export async function ffmpegEbur128(ffmpegPath: string, file: string): Promise<Ebur128Reading> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ebur128-'));
  const metaFile = path.join(dir, 'meta.txt');
  try {
    const result = await runCollect(
      ffmpegPath,
      [
        '-hide_banner',
        '-nostdin',
        '-v',
        'info',
        '-i',
        file,
        '-af',
        // ametadata's file option is parsed as a filter argument: escape ':' and '\' for the graph.
        `ebur128=peak=true+sample:metadata=1,ametadata=mode=print:file=${metaFile.replace(/[\\:]/g, '\\$&')}`,
        '-f',
        'null',
        '-',
      ],
      { timeoutMs: 300_000, maxOutputChars: 64 << 20 },
    );
    if (result.code !== 0)
      throw new Error(`ffmpeg ebur128 failed (${result.code}): ${result.stderr.slice(-2000)}`);
    const meta = await fs.readFile(metaFile, 'utf8');
    const last = (key: string): number => {
      const all = [...meta.matchAll(new RegExp(`^lavfi\\.r128\\.${key}=(\\S+)$`, 'gm'))];
      if (all.length === 0) throw new Error(`no lavfi.r128.${key} in ffmpeg's metadata`);
      return Number(all[all.length - 1][1]);
    };
    const summary = result.stderr.slice(result.stderr.lastIndexOf('Summary:'));
    const peak = (section: string): number => {
      const m = new RegExp(`${section}:\\s*\\n\\s*Peak:\\s*(-?[\\d.]+|-inf)`).exec(summary);
      if (!m) throw new Error(`no ${section} in ffmpeg's summary`);
      return m[1] === '-inf' ? -Infinity : Number(m[1]);
    };
    return {
      integratedLufs: last('I'),
      loudnessRangeLu: last('LRA'),
      truePeakDbtp: peak('True peak'),
      samplePeakDbfs: peak('Sample peak'),
    };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
