import { randomUUID } from 'crypto';
import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { filter, Observable, Subject } from 'rxjs';
import type { InstallProgress } from '../../core/models/model-types';

export type InstallStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'canceled';

export interface InstallOperation {
  id: string;
  model: string;
  status: InstallStatus;
  progress: Omit<InstallProgress, 'name'>;
  version: string | null;
  installed: boolean;
  error: { code: string; detail: string } | null;
  createdAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
  controller: AbortController;
}

const TERMINAL: ReadonlySet<InstallStatus> = new Set(['succeeded', 'failed', 'canceled']);
/** Finished operations stay readable this long (clients poll or reconnect their SSE stream). */
const RETAIN_MS = 3600_000;
const MAX_FINISHED = 200;

/**
 * In-process registry of admin install operations (POST /v1/admin/models/:name/install): state for
 * polling, a live update stream for SSE, and the AbortController for cancellation. Installs run in
 * the API process; the on-disk lock makes them safe against the worker/CLI installing too.
 */
@Injectable()
export class ModelInstallOperations implements OnApplicationShutdown {
  private readonly ops = new Map<string, InstallOperation>();
  private readonly updates$ = new Subject<InstallOperation>();

  create(model: string): InstallOperation {
    this.prune();
    const now = new Date();
    const op: InstallOperation = {
      id: randomUUID(),
      model,
      status: 'queued',
      progress: { stage: 'queued', fraction: 0 },
      version: null,
      installed: false,
      error: null,
      createdAt: now,
      updatedAt: now,
      finishedAt: null,
      controller: new AbortController(),
    };
    this.ops.set(op.id, op);
    this.updates$.next(op);
    return op;
  }

  get(id: string): InstallOperation | undefined {
    return this.ops.get(id);
  }

  /** An unfinished operation for `model`, so a second request joins the first instead of racing. */
  findActive(model: string): InstallOperation | undefined {
    for (const op of this.ops.values()) if (op.model === model && !TERMINAL.has(op.status)) return op;
    return undefined;
  }

  progress(op: InstallOperation, p: InstallProgress): void {
    if (TERMINAL.has(op.status)) return;
    const { name: _name, ...rest } = p;
    op.status = 'running';
    op.progress = rest;
    op.updatedAt = new Date();
    this.updates$.next(op);
  }

  finish(
    op: InstallOperation,
    status: Exclude<InstallStatus, 'queued' | 'running'>,
    result: { version?: string; installed?: boolean; error?: { code: string; detail: string } } = {},
  ): void {
    if (TERMINAL.has(op.status)) return;
    op.status = status;
    op.version = result.version ?? op.version;
    op.installed = result.installed ?? false;
    op.error = result.error ?? null;
    if (status === 'succeeded') op.progress = { ...op.progress, stage: 'done', fraction: 1 };
    op.updatedAt = op.finishedAt = new Date();
    this.updates$.next(op);
  }

  isTerminal(op: InstallOperation): boolean {
    return TERMINAL.has(op.status);
  }

  /** Updates of one operation, completing after its terminal update. */
  updatesFor(id: string): Observable<InstallOperation> {
    return new Observable<InstallOperation>((sub) => {
      const s = this.updates$.pipe(filter((o) => o.id === id)).subscribe((o) => {
        sub.next(o);
        if (TERMINAL.has(o.status)) sub.complete();
      });
      return () => s.unsubscribe();
    });
  }

  onApplicationShutdown(): void {
    for (const op of this.ops.values())
      if (!TERMINAL.has(op.status)) op.controller.abort(new Error('shutting down'));
    this.updates$.complete();
  }

  private prune(): void {
    const now = Date.now();
    const finished = [...this.ops.values()].filter((o) => o.finishedAt);
    for (const o of finished) if (now - o.finishedAt!.getTime() > RETAIN_MS) this.ops.delete(o.id);
    const rest = finished.filter((o) => this.ops.has(o.id));
    for (const o of rest.slice(0, Math.max(0, rest.length - MAX_FINISHED))) this.ops.delete(o.id);
  }
}
