import { AsyncLocalStorage } from 'async_hooks';
import { Injectable, Logger, NotFoundException, OnModuleInit, Optional } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { concat, map, Observable, of } from 'rxjs';
import type { Principal } from '../../common/auth/principal';
import {
  DomainEvents,
  type DomainEventName,
  type ModelEventPayload,
} from '../../common/events/domain-events';
import { ErrorCodes, SpleeterError } from '../../core/errors';
import { parseModelRef } from '../../core/models/model-catalog';
import { scrubPaths } from '../../core/scrub-paths';
import { AppConfig } from '../../infra/config/app-config';
import { ModelManager } from '../../engine/models/model-manager';
import {
  InstallOperationResponseDto,
  ModelListResponseDto,
  ModelRemoveResponseDto,
  ModelResponseDto,
  ValidationReportResponseDto,
  toInstallOperationResponse,
  toModelResponse,
  toValidationReportResponse,
} from './dto/model-response.dto';
import { InstallOperation, ModelInstallOperations } from './model-install-operations.service';

export const INSTALLS_PATH = '/v1/admin/models/installs';

export interface CallContext {
  principal?: Principal;
  requestId?: string;
}

/**
 * Nest face of ModelManager: response mapping, asynchronous install operations (202 + SSE), and
 * domain events for the audit log (carrying the admin who asked, through AsyncLocalStorage, also
 * for events the manager emits deep inside an install).
 */
@Injectable()
export class ModelsService implements OnModuleInit {
  private readonly logger = new Logger('Models');
  private readonly context = new AsyncLocalStorage<CallContext>();

  constructor(
    readonly manager: ModelManager,
    private readonly operations: ModelInstallOperations,
    private readonly config: AppConfig,
    @Optional() private readonly events?: EventEmitter2,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.manager.init();
    this.manager.on('install.started', (p) => this.emit(DomainEvents.ModelInstallStarted, { name: p.name }));
    this.manager.on('installed', (p) =>
      this.emit(DomainEvents.ModelInstalled, { name: p.name, version: p.version, durationMs: p.durationMs }),
    );
    this.manager.on('install.failed', (p) =>
      this.emit(DomainEvents.ModelInstallFailed, {
        name: p.name,
        durationMs: p.durationMs,
        errorCode: p.error instanceof SpleeterError ? p.error.code : ErrorCodes.INTERNAL,
      }),
    );
    this.manager.on('activated', (p) =>
      this.emit(DomainEvents.ModelActivated, { name: p.name, version: p.version }),
    );
    this.manager.on('removed', (p) =>
      this.emit(DomainEvents.ModelRemoved, { name: p.name, version: p.version }),
    );
    this.manager.on('validated', (r) =>
      this.emit(DomainEvents.ModelValidated, {
        name: r.name,
        version: r.version,
        durationMs: r.durationMs,
        ...(r.valid ? {} : { errorCode: ErrorCodes.MODEL_INVALID }),
      }),
    );
  }

  private emit(event: DomainEventName, payload: ModelEventPayload): void {
    const ctx = this.context.getStore();
    this.events?.emit(event, { ...payload, principal: ctx?.principal, requestId: ctx?.requestId });
  }

  private as<T>(ctx: CallContext, fn: () => Promise<T>): Promise<T> {
    return this.context.run(ctx, fn);
  }

  async list(installedOnly = false): Promise<ModelListResponseDto> {
    const models = installedOnly ? await this.manager.listLocalModels() : await this.manager.listModels();
    return {
      items: models.map(toModelResponse),
      catalogVersion: this.manager.catalog.version,
      defaultModel: this.config.models.default_model,
    };
  }

  async get(name: string): Promise<ModelResponseDto> {
    return toModelResponse(await this.manager.getModel(name));
  }

  /**
   * Starts (or joins) an install and returns its operation at once; the work continues in the
   * background and reports through the operation (poll or SSE).
   */
  async startInstall(
    name: string,
    opts: { force?: boolean; activate?: boolean },
    ctx: CallContext,
  ): Promise<InstallOperationResponseDto> {
    const model = await this.manager.getModel(name); // unknown name → 404 now, not in the operation
    const running = this.operations.findActive(model.name);
    if (running) return toInstallOperationResponse(running, INSTALLS_PATH);
    const op = this.operations.create(model.name);
    void this.as(ctx, () => this.runInstall(op, opts));
    return toInstallOperationResponse(op, INSTALLS_PATH);
  }

  private async runInstall(
    op: InstallOperation,
    opts: { force?: boolean; activate?: boolean },
  ): Promise<void> {
    try {
      const res = await this.manager.downloadModel(op.model, {
        force: opts.force,
        activate: opts.activate,
        signal: op.controller.signal,
        onProgress: (p) => this.operations.progress(op, p),
      });
      this.operations.finish(op, 'succeeded', { version: res.version, installed: res.installed });
    } catch (err) {
      const canceled = op.controller.signal.aborted;
      const code = err instanceof SpleeterError ? err.code : ErrorCodes.INTERNAL;
      if (!(err instanceof SpleeterError))
        this.logger.error(`install of ${op.model} failed`, (err as Error).stack);
      this.operations.finish(op, canceled ? 'canceled' : 'failed', {
        error: {
          code: canceled ? ErrorCodes.JOB_CANCELED : code,
          // Shown to API clients (install status, SSE): the models directory stays private.
          detail: err instanceof SpleeterError ? scrubPaths(err.message) : 'internal error (see server log)',
        },
      });
    }
  }

  getInstall(id: string): InstallOperationResponseDto {
    return toInstallOperationResponse(this.requireOp(id), INSTALLS_PATH);
  }

  cancelInstall(id: string): InstallOperationResponseDto {
    const op = this.requireOp(id);
    if (!this.operations.isTerminal(op)) op.controller.abort(new Error('canceled by an administrator'));
    return toInstallOperationResponse(op, INSTALLS_PATH);
  }

  /** The operation as it is now, then each update; completes after the terminal state. */
  installStream(id: string): Observable<InstallOperationResponseDto> {
    const op = this.requireOp(id);
    const current = of(this.toResponse(op));
    if (this.operations.isTerminal(op)) return current;
    return concat(current, this.operations.updatesFor(id).pipe(map((o) => this.toResponse(o))));
  }

  toResponse(op: InstallOperation): InstallOperationResponseDto {
    return toInstallOperationResponse(op, INSTALLS_PATH);
  }

  private requireOp(id: string): InstallOperation {
    const op = this.operations.get(id);
    if (!op) throw new NotFoundException(`No install operation ${id}`);
    return op;
  }

  async upload(
    manifest: string,
    files: { originalname: string; path: string }[],
    activate: boolean | undefined,
    ctx: CallContext,
  ): Promise<ModelResponseDto> {
    // Multer's temp files are handed over: the manager moves them into the model or deletes them.
    const res = await this.as(ctx, () =>
      this.manager.installCustomOnnx({
        manifest,
        files: files.map((f) => ({ name: f.originalname, path: f.path })),
        activate,
        move: true,
      }),
    );
    return this.get(res.name);
  }

  async activate(name: string, version: string, ctx: CallContext): Promise<ModelResponseDto> {
    await this.as(ctx, () => this.manager.activate(name, version));
    return this.get(name);
  }

  async rollback(name: string, ctx: CallContext): Promise<ModelResponseDto> {
    await this.as(ctx, () => this.manager.rollback(name));
    return this.get(name);
  }

  async validate(ref: string, ctx: CallContext): Promise<ValidationReportResponseDto> {
    return toValidationReportResponse(await this.as(ctx, () => this.manager.validateModel(ref)));
  }

  async remove(name: string, version: string | undefined, ctx: CallContext): Promise<ModelRemoveResponseDto> {
    const ref = version ? `${parseModelRef(name).name}@${version}` : parseModelRef(name).name;
    const res = await this.as(ctx, () => this.manager.remove(ref));
    return { name: res.name, removed: res.removed, activeVersion: res.active };
  }
}
