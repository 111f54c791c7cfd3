import type { SeparateParams, SeparationResult } from '../types';
import type { SerializedError } from './error-serialization';

/** Separation parameters that can cross a thread boundary (no callbacks, no AbortSignal). */
export type TransferableSeparateParams = Omit<SeparateParams, 'signal' | 'onProgress'>;

export type WorkerRequest =
  | { type: 'separate'; id: number; params: TransferableSeparateParams }
  | { type: 'cancel'; id: number }
  /** Idle release or close: cancel running jobs, dispose the engine (sessions, instrument threads), end the thread. */
  | { type: 'dispose' };

export type WorkerResponse =
  | { type: 'progress'; id: number; fraction: number; stage: string }
  | { type: 'result'; id: number; result: SeparationResult }
  | { type: 'error'; id: number; error: SerializedError }
  | { type: 'log'; level: 'warn'; message: string };
