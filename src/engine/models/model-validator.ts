/**
 * Validation of a model version: files unchanged since install, declared ONNX I/O against the
 * catalog entry, load + smoke inference. Used on demand (validateModel) and by every install.
 */
import * as path from 'path';
import { ErrorCodes, ModelError, SpleeterError } from '../../core/errors';
import { formatModelRef, parseModelRef } from '../../core/models/model-catalog';
import {
  ValidationCheck,
  check,
  checkMdxSignature,
  checkSpleeterSignature,
} from '../../core/models/model-signature';
import type { ResolvedModel, ValidationReport } from '../../core/models/model-types';
import { VersionRecord, normaliseVersionId } from '../../core/models/model-version';
import { readOnnxMetadata } from '../../core/onnx/onnx-metadata-reader';
import { MDX_MODEL_FILE, spleeterStemFiles } from '../../infra/models/model-files';
import type { ModelContext } from './model-context';

export class ModelValidator {
  constructor(private readonly ctx: ModelContext) {}

  /**
   * Validates `name` (active version) or `name@version`: files unchanged since install (sha256),
   * I/O signature against the entry, load + smoke inference with finite outputs. The result is
   * recorded in the version (an invalid version is never used afterwards) and returned; a model
   * that is not installed is MODEL_NOT_INSTALLED.
   */
  async validateModel(
    nameWithVersion: string,
    opts: { signal?: AbortSignal } = {},
  ): Promise<ValidationReport> {
    await this.ctx.init();
    const ref = parseModelRef(nameWithVersion);
    const name = this.ctx.canonicalName(ref.name);
    const entry = this.ctx.catalog.get(name);
    if (entry?.kind === 'builtin') {
      const report = await this.validateDir(this.ctx.builtinResolved(entry), null, opts.signal);
      this.ctx.emit('validated', report);
      return report;
    }
    const version = ref.version
      ? normaliseVersionId(ref.version)
      : (await this.ctx.store.readActive(name))?.version;
    const record = version ? await this.ctx.store.readVersion(name, version) : null;
    if (!record) {
      throw new ModelError(
        ErrorCodes.MODEL_NOT_INSTALLED,
        `${formatModelRef({ name, version })} is not installed`,
        {
          model: name,
        },
      );
    }
    const report = await this.validateDir(this.ctx.resolvedFromRecord(record), record, opts.signal, true);
    const lock = await this.ctx.stateLock(name, 'validate');
    try {
      await this.ctx.store.updateVersion(name, record.id, (r) => ({
        ...r,
        validation: {
          status: report.valid ? 'valid' : 'invalid',
          checkedAt: report.checkedAt,
          problems: report.checks.filter((c) => !c.ok && c.fatal).map((c) => `${c.name}: ${c.detail}`),
        },
      }));
    } finally {
      await lock.release();
    }
    this.ctx.emit('validated', report);
    return report;
  }

  async validateDir(
    model: ResolvedModel,
    record: VersionRecord | null,
    signal?: AbortSignal,
    deepFiles = false,
  ): Promise<ValidationReport> {
    const started = Date.now();
    const checks: ValidationCheck[] = [];
    let corrupted = false;
    if (record && deepFiles) {
      const problems = await this.ctx.store.checkFiles(model.name, record, true);
      corrupted = problems.length > 0;
      checks.push(
        check(
          'files',
          !corrupted,
          corrupted ? `corrupted: ${problems.join('; ')}` : `${record.files.length} file(s) intact`,
        ),
      );
    }
    if (!corrupted) {
      checks.push(...(await this.signatureChecks(model)));
      if (checks.every((c) => c.ok || !c.fatal)) {
        try {
          checks.push(...(await (await this.ctx.runtime()).smokeTest(model, { signal })));
        } catch (err) {
          if (signal?.aborted) throw err;
          const code = err instanceof SpleeterError ? `${err.code}: ` : '';
          checks.push(check('load', false, `${code}${(err as Error).message}`));
        }
      }
    }
    const valid = checks.every((c) => c.ok || !c.fatal);
    return {
      name: model.name,
      version: model.version,
      valid,
      corrupted,
      checks,
      durationMs: Date.now() - started,
      checkedAt: this.ctx.clock().toISOString(),
    };
  }

  /** Declared ONNX inputs/outputs vs. the entry (no session needed). */
  private async signatureChecks(model: ResolvedModel): Promise<ValidationCheck[]> {
    if (model.kind === 'builtin' || !model.dir) return [];
    const out: ValidationCheck[] = [];
    const files =
      model.kind === 'spleeter'
        ? Object.values(await spleeterStemFiles(model.dir, model.stems, model.precision ?? 'fp32'))
        : [MDX_MODEL_FILE];
    for (const f of files) {
      let meta;
      try {
        meta = await readOnnxMetadata(path.join(model.dir, f));
      } catch (err) {
        out.push(check(`onnx:${f}`, false, (err as Error).message));
        continue;
      }
      out.push(
        ...(model.kind === 'spleeter'
          ? checkSpleeterSignature(model.entry, f, meta)
          : checkMdxSignature(model.entry, f, meta)),
      );
    }
    return out;
  }

  invalidError(name: string, checks: ValidationCheck[]): ModelError {
    const failed = checks.filter((c) => !c.ok && c.fatal);
    return new ModelError(
      ErrorCodes.MODEL_INVALID,
      `${name} failed validation: ${failed.map((c) => `${c.name}: ${c.detail}`).join('; ')}`,
      { model: name, checks },
    );
  }

  async markInvalid(name: string, version: string, problems: string[]): Promise<void> {
    await this.ctx.store
      .updateVersion(name, version, (r) => ({
        ...r,
        validation: { status: 'invalid', checkedAt: this.ctx.clock().toISOString(), problems },
      }))
      .catch((err: Error) =>
        this.ctx.logger.warn(`cannot record ${name}@${version} as invalid: ${err.message}`),
      );
  }
}
