import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Injectable } from '@nestjs/common';

export interface MemorySnapshot {
  /** What the memory alert compares: the container's working set against its limit when there is one. */
  usagePercent: number;
  usedBytes: number;
  limitBytes: number;
  /** 'cgroup' inside a memory-limited container (Kubernetes), else 'host'. */
  scope: 'cgroup' | 'host';
  processRssBytes: number;
  heapUsedBytes: number;
}

export interface CpuSnapshot {
  cores: number;
  loadAverage1m: number;
  /** This process's CPU use since the previous snapshot, percent of one core. */
  processPercent: number;
}

export interface DiskSnapshot {
  path: string;
  freeBytes: number;
  totalBytes: number;
}

/**
 * Host, container and process resource readings (memory, CPU, free disk). Inside a cgroup v2
 * memory limit the working set (usage minus inactive file cache, as the kubelet counts it) is
 * compared with the limit, so the alert fires before the OOM killer does, not at host level.
 */
@Injectable()
export class SystemProbe {
  private lastCpu = process.cpuUsage();
  private lastCpuAt = process.hrtime.bigint();

  constructor(private readonly cgroupRoot = '/sys/fs/cgroup') {}

  memory(): MemorySnapshot {
    const mem = process.memoryUsage();
    const cgroup = this.cgroupMemory();
    if (cgroup) {
      return {
        usagePercent: (cgroup.used / cgroup.limit) * 100,
        usedBytes: cgroup.used,
        limitBytes: cgroup.limit,
        scope: 'cgroup',
        processRssBytes: mem.rss,
        heapUsedBytes: mem.heapUsed,
      };
    }
    const total = os.totalmem();
    const used = total - os.freemem();
    return {
      usagePercent: (used / total) * 100,
      usedBytes: used,
      limitBytes: total,
      scope: 'host',
      processRssBytes: mem.rss,
      heapUsedBytes: mem.heapUsed,
    };
  }

  cpu(): CpuSnapshot {
    const now = process.hrtime.bigint();
    const usage = process.cpuUsage(this.lastCpu);
    const elapsedUs = Number(now - this.lastCpuAt) / 1000;
    this.lastCpu = process.cpuUsage();
    this.lastCpuAt = now;
    return {
      cores: os.availableParallelism(),
      loadAverage1m: os.loadavg()[0],
      processPercent: elapsedUs > 0 ? ((usage.user + usage.system) / elapsedUs) * 100 : 0,
    };
  }

  /** Free space of the filesystem holding `dir` (or its nearest existing parent). */
  async disk(dir: string): Promise<DiskSnapshot> {
    const existing = await nearestExisting(dir);
    const st = await fs.promises.statfs(existing);
    return { path: dir, freeBytes: st.bavail * st.bsize, totalBytes: st.blocks * st.bsize };
  }

  /** Whether files can be created in `dir` (or, if it does not exist yet, in its nearest parent). */
  async writable(dir: string): Promise<boolean> {
    try {
      await fs.promises.access(await nearestExisting(dir), fs.constants.W_OK);
      return true;
    } catch {
      return false;
    }
  }

  private cgroupMemory(): { used: number; limit: number } | undefined {
    try {
      const max = fs.readFileSync(`${this.cgroupRoot}/memory.max`, 'utf8').trim();
      if (max === 'max') return undefined;
      const limit = Number(max);
      const current = Number(fs.readFileSync(`${this.cgroupRoot}/memory.current`, 'utf8').trim());
      const stat = fs.readFileSync(`${this.cgroupRoot}/memory.stat`, 'utf8');
      const inactive = Number(/^inactive_file (\d+)$/m.exec(stat)?.[1] ?? 0);
      if (!(limit > 0) || !Number.isFinite(current)) return undefined;
      return { used: Math.max(0, current - inactive), limit };
    } catch {
      return undefined;
    }
  }
}

async function nearestExisting(dir: string): Promise<string> {
  let cur = path.resolve(dir);
  for (;;) {
    try {
      await fs.promises.stat(cur);
      return cur;
    } catch {
      const parent = path.dirname(cur);
      if (parent === cur) return cur;
      cur = parent;
    }
  }
}
