/**
 * Result-cache port: the separation module calls it and the cache module implements it, so it
 * lives below both. The cache module provides the real implementation under RESULT_CACHE; the
 * default is a no-op (every lookup misses).
 */
import { Injectable } from '@nestjs/common';
import type { SeparationAnalysis } from '../../core/analysis/signal-analysis';
import type { InputAudioInfo } from '../../core/audio/input-audio-info';

export const RESULT_CACHE = Symbol('RESULT_CACHE');

export interface CachedStemFile {
  name: string;
  /** A local file the caller may copy (never move or modify). */
  path: string;
}

export interface CachedResult {
  stems: CachedStemFile[];
  executionProvider?: string;
  /** Absent in entries written before it existed. */
  executionDevice?: string | null;
  input?: InputAudioInfo;
  /** Absent: stored by a run without analysis (or before analyses existed). */
  analysis?: SeparationAnalysis;
}

export interface ResultCacheEntry {
  stems: CachedStemFile[];
  model: { name: string; version?: string };
  executionProvider: string;
  executionDevice?: string | null;
  input: InputAudioInfo;
  analysis?: SeparationAnalysis;
}

export interface ResultCachePort {
  /** The cached outputs for `key`, or null. Must not throw for a miss. */
  lookup(key: string): Promise<CachedResult | null>;
  /** Copies the files it wants to keep; the paths stay owned by the caller. */
  store(key: string, entry: ResultCacheEntry): Promise<void>;
}

@Injectable()
export class NoopResultCache implements ResultCachePort {
  async lookup(_key: string): Promise<CachedResult | null> {
    return null;
  }

  async store(_key: string, _entry: ResultCacheEntry): Promise<void> {}
}
