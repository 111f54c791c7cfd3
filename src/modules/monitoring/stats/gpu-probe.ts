import { execFile } from 'child_process';
import { Injectable, Logger } from '@nestjs/common';

export interface GpuSample {
  index: number;
  name: string;
  memoryUsedBytes: number | null;
  memoryTotalBytes: number | null;
  /** 0..1 */
  utilization: number | null;
}

const QUERY = [
  '--query-gpu=index,name,memory.used,memory.total,utilization.gpu',
  '--format=csv,noheader,nounits',
];
/** Scrapes and /v1/stats may come often; nvidia-smi takes tens of ms: at most one run per 15 s. */
const CACHE_MS = 15_000;

/**
 * GPU memory and utilisation through `nvidia-smi` when it exists, run at most once per 15 s
 * (3 s timeout). Without it (CPU hosts, this CI) every call answers [] and the GPU metrics are
 * simply absent: no errors, no retries.
 */
@Injectable()
export class GpuProbe {
  private readonly logger = new Logger('GpuProbe');
  private available: boolean | undefined;
  private last: { at: number; samples: GpuSample[] } | undefined;
  private inflight: Promise<GpuSample[]> | undefined;
  private warned = false;

  constructor(private readonly command = 'nvidia-smi') {}

  async sample(): Promise<GpuSample[]> {
    if (this.available === false) return [];
    if (this.last && Date.now() - this.last.at < CACHE_MS) return this.last.samples;
    this.inflight ??= this.run().finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  private run(): Promise<GpuSample[]> {
    return new Promise((resolve) => {
      execFile(this.command, QUERY, { timeout: 3000, windowsHide: true }, (err, stdout) => {
        if (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'ENOENT' || code === 'EACCES') {
            this.available = false;
          } else if (!this.warned) {
            this.warned = true;
            this.logger.warn(`nvidia-smi failed: ${err.message.split('\n')[0]}`);
          }
          // A failing nvidia-smi (timeout, driver mismatch) is not re-run before CACHE_MS either.
          this.last = { at: Date.now(), samples: [] };
          resolve([]);
          return;
        }
        this.available = true;
        const samples = parseNvidiaSmiCsv(stdout);
        this.last = { at: Date.now(), samples };
        resolve(samples);
      });
    });
  }
}

/** Parses `nvidia-smi --query-gpu=index,name,memory.used,memory.total,utilization.gpu --format=csv,noheader,nounits`. */
export function parseNvidiaSmiCsv(text: string): GpuSample[] {
  const out: GpuSample[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (!line.trim()) continue;
    const parts = line.split(',').map((p) => p.trim());
    if (parts.length < 5) continue;
    const index = Number(parts[0]);
    if (!Number.isInteger(index)) continue;
    const mib = (s: string) => (Number.isFinite(Number(s)) && s !== '' ? Number(s) * 1024 * 1024 : null);
    const util = Number(parts[4]);
    out.push({
      index,
      name: parts[1],
      memoryUsedBytes: mib(parts[2]),
      memoryTotalBytes: mib(parts[3]),
      utilization: parts[4] !== '' && Number.isFinite(util) ? util / 100 : null,
    });
  }
  return out;
}
