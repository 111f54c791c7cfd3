import { randomUUID } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../../infra/config/app-config';
import type { InputAudioInfo, SeparationAnalysis } from '../../engine/types';
import type { CachedResult, ResultCacheEntry, ResultCachePort } from '../../common/cache/result-cache.port';
import { CacheService } from './cache.service';
import {
  CorruptCacheEntryError,
  decodeResultContainer,
  encodeResultContainer,
} from './core/result-container';

/** A result bigger than this (all stems together) is not cached: it would be held in memory whole. */
export const MAX_CACHEABLE_RESULT_BYTES = 512 * 1024 * 1024;

/** Restored stem files live this long: enough for the caller to copy them. */
const RESTORE_TTL_MS = 15 * 60_000;

interface ResultMeta {
  model: { name: string; version?: string };
  executionProvider: string;
  executionDevice?: string | null;
  input: InputAudioInfo;
  analysis?: SeparationAnalysis;
}

/**
 * ResultCachePort (the separation module's port) over the tiered cache. A result is stored as one
 * value (result-container.ts: JSON header + the stem files' exact bytes), so a hit restores files
 * byte-identical to the fresh run. Hits are written to `<cache.dir>/restore/<uuid>/`, which the
 * caller copies from; those directories are swept after RESTORE_TTL_MS.
 */
@Injectable()
export class TieredResultCache implements ResultCachePort, OnModuleInit {
  private readonly logger = new Logger('ResultCache');
  private readonly restoreRoot: string;
  private readonly maxBytes: number;

  constructor(
    private readonly cache: CacheService,
    config: AppConfig,
  ) {
    this.restoreRoot = path.resolve(config.cache.dir, 'restore');
    const c = config.cache;
    // Nothing is gained by building a value no enabled tier would keep.
    const tierMax = Math.max(
      c.memory_size_mb,
      c.disk_size_mb,
      config.cacheRedisUrl && c.redis_enabled ? c.redis_max_item_mb : 0,
    );
    this.maxBytes = Math.min(MAX_CACHEABLE_RESULT_BYTES, tierMax * 1024 * 1024);
  }

  async onModuleInit(): Promise<void> {
    // Not everything: another process sharing cache.dir may be restoring right now.
    await this.sweepRestored(RESTORE_TTL_MS);
  }

  async lookup(key: string): Promise<CachedResult | null> {
    if (!this.cache.enabled) return null;
    const value = await this.cache.get(key);
    if (!value) return null;
    let decoded: ReturnType<typeof decodeResultContainer>;
    try {
      decoded = decodeResultContainer(value);
    } catch (err) {
      if (!(err instanceof CorruptCacheEntryError)) throw err;
      this.logger.warn(`Dropping corrupt cache entry ${key}: ${err.message}`);
      await this.cache.delete(key);
      return null;
    }
    void this.sweepRestored(RESTORE_TTL_MS);
    const dir = path.join(this.restoreRoot, randomUUID());
    await fs.promises.mkdir(dir, { recursive: true });
    try {
      const stems = [];
      const used = new Set<string>();
      for (const [i, stem] of decoded.stems.entries()) {
        let name = safeFileName(stem.fileName ?? stem.name);
        if (used.has(name)) name = `${i}-${name}`;
        used.add(name);
        const file = path.join(dir, name);
        await fs.promises.writeFile(file, stem.data);
        stems.push({ name: stem.name, path: file });
      }
      const meta = decoded.meta as Partial<ResultMeta>;
      return {
        stems,
        executionProvider: meta.executionProvider,
        executionDevice: meta.executionDevice ?? null,
        input: meta.input,
        ...(meta.analysis ? { analysis: meta.analysis } : {}),
      };
    } catch (err) {
      await fs.promises.rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  async store(key: string, entry: ResultCacheEntry): Promise<void> {
    if (!this.cache.enabled) return;
    let total = 0;
    for (const stem of entry.stems) total += (await fs.promises.stat(stem.path)).size;
    if (total > this.maxBytes) {
      this.logger.debug?.(`Not caching ${key}: ${total} bytes exceeds ${this.maxBytes}`);
      return;
    }
    const stems = [];
    for (const stem of entry.stems) {
      stems.push({
        name: stem.name,
        data: await fs.promises.readFile(stem.path),
        fileName: path.basename(stem.path),
      });
    }
    const meta: ResultMeta = {
      model: entry.model,
      executionProvider: entry.executionProvider,
      executionDevice: entry.executionDevice ?? null,
      input: entry.input,
      ...(entry.analysis ? { analysis: entry.analysis } : {}),
    };
    const value = encodeResultContainer({ stems, meta: meta as unknown as Record<string, unknown> });
    await this.cache.set(key, value, { model: entry.model.name });
  }

  /** Removes restore directories older than `olderThanMs`. */
  private async sweepRestored(olderThanMs: number): Promise<void> {
    const names = await fs.promises.readdir(this.restoreRoot).catch(() => [] as string[]);
    const limit = Date.now() - olderThanMs;
    for (const name of names) {
      const p = path.join(this.restoreRoot, name);
      const st = await fs.promises.stat(p).catch(() => undefined);
      if (st && st.mtimeMs < limit) await fs.promises.rm(p, { recursive: true, force: true });
    }
  }
}

/** Stem file names come from our own header, but never let one escape the restore directory. */
function safeFileName(name: string): string {
  const base = path.basename(name).replace(/[^\w.-]/g, '_');
  return base === '' || base === '.' || base === '..' ? 'stem' : base;
}
