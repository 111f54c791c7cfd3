import { ApiProperty } from '@nestjs/swagger';
import { MODEL_PRECISIONS } from '../../../core/models/model-catalog';
import type { ModelInfo, ValidationReport, VersionInfo } from '../../../core/models/model-types';
import type { InstallOperation } from '../model-install-operations.service';

export class ModelVersionResponseDto {
  /** @example v2 */
  id!: string;
  active!: boolean;
  @ApiProperty({ enum: ['catalog', 'upload', 'builtin'] })
  origin!: string;
  sourceUrl!: string | null;
  /** sha256 of the downloaded/uploaded artifact */
  sha256!: string | null;
  installedAt!: string | null;
  /** Bytes on disk */
  size!: number;
  format!: string;
  stems!: string[];
  @ApiProperty({ nullable: true, enum: MODEL_PRECISIONS })
  precision!: string | null;
  @ApiProperty({ enum: ['valid', 'invalid', 'unchecked'] })
  validation!: string;
  /** Running separations using this version */
  inUse!: number;
}

export class ModelResponseDto {
  /** @example spleeter:4stems */
  name!: string;
  @ApiProperty({ enum: ['spleeter', 'mdx', 'builtin'] })
  kind!: string;
  @ApiProperty({ enum: ['builtin', 'catalog', 'custom'] })
  source!: string;
  description!: string;
  @ApiProperty({ type: [String], example: ['vocals', 'drums', 'bass', 'other'] })
  stems!: string[];
  /** @example 44100 */
  sampleRate!: number;
  license!: string;
  @ApiProperty({ enum: ['tf-checkpoint', 'onnx-archive', 'onnx', 'builtin'] })
  format!: string;
  /** A usable version is installed (always true for built-ins) */
  installed!: boolean;
  activeVersion!: string | null;
  versions!: ModelVersionResponseDto[];
  /** Download size in bytes, when published */
  downloadSize!: number | null;
  aliases!: string[];
}

export class ModelListResponseDto {
  items!: ModelResponseDto[];
  /** Version of the model catalog file */
  catalogVersion!: number;
  /** @example builtin:center */
  @ApiProperty({
    description: 'The model a separation uses when the request names none (name, alias or name@version)',
  })
  defaultModel!: string;
}

export class ValidationCheckResponseDto {
  name!: string;
  ok!: boolean;
  fatal!: boolean;
  detail!: string;
}

export class ValidationReportResponseDto {
  name!: string;
  version!: string;
  valid!: boolean;
  /** A file changed since install (size or sha256) */
  corrupted!: boolean;
  checks!: ValidationCheckResponseDto[];
  durationMs!: number;
  checkedAt!: string;
}

export class InstallProgressResponseDto {
  stage!: string;
  @ApiProperty({ minimum: 0, maximum: 1 })
  fraction!: number;
  bytes?: number;
  totalBytes?: number | null;
  bytesPerSecond?: number;
}

export class InstallErrorResponseDto {
  code!: string;
  detail!: string;
}

export class InstallOperationResponseDto {
  id!: string;
  model!: string;
  @ApiProperty({ enum: ['queued', 'running', 'succeeded', 'failed', 'canceled'] })
  status!: string;
  progress!: InstallProgressResponseDto;
  version!: string | null;
  /** False when the model was already installed and nothing was downloaded */
  installed!: boolean;
  error!: InstallErrorResponseDto | null;
  createdAt!: string;
  updatedAt!: string;
  finishedAt!: string | null;
  @ApiProperty({
    example: { self: '/v1/admin/models/installs/…', events: '/v1/admin/models/installs/…/events' },
  })
  links!: Record<string, string>;
}

export class ModelRemoveResponseDto {
  name!: string;
  removed!: string[];
  activeVersion!: string | null;
}

export function toModelVersionResponse(v: VersionInfo): ModelVersionResponseDto {
  return {
    id: v.id,
    active: v.active,
    origin: v.origin,
    sourceUrl: v.sourceUrl,
    sha256: v.sha256,
    installedAt: v.installedAt,
    size: v.size,
    format: v.format,
    stems: [...v.stems],
    precision: v.precision,
    validation: v.validation,
    inUse: v.inUse,
  };
}

export function toModelResponse(m: ModelInfo): ModelResponseDto {
  return {
    name: m.name,
    kind: m.kind,
    source: m.source,
    description: m.description,
    stems: [...m.stems],
    sampleRate: m.sampleRate,
    license: m.license,
    format: m.format,
    installed: m.installed,
    activeVersion: m.activeVersion,
    versions: m.versions.map(toModelVersionResponse),
    downloadSize: m.downloadSize,
    aliases: [...m.aliases],
  };
}

export function toValidationReportResponse(r: ValidationReport): ValidationReportResponseDto {
  return {
    name: r.name,
    version: r.version,
    valid: r.valid,
    corrupted: r.corrupted,
    checks: r.checks.map((c) => ({ name: c.name, ok: c.ok, fatal: c.fatal, detail: c.detail })),
    durationMs: r.durationMs,
    checkedAt: r.checkedAt,
  };
}

export function toInstallOperationResponse(
  op: InstallOperation,
  basePath: string,
): InstallOperationResponseDto {
  const self = `${basePath}/${op.id}`;
  return {
    id: op.id,
    model: op.model,
    status: op.status,
    progress: {
      stage: op.progress.stage,
      fraction: op.progress.fraction,
      ...(op.progress.bytes !== undefined ? { bytes: op.progress.bytes } : {}),
      ...(op.progress.totalBytes !== undefined ? { totalBytes: op.progress.totalBytes } : {}),
      ...(op.progress.bytesPerSecond !== undefined
        ? { bytesPerSecond: Math.round(op.progress.bytesPerSecond) }
        : {}),
    },
    version: op.version,
    installed: op.installed,
    error: op.error ? { code: op.error.code, detail: op.error.detail } : null,
    createdAt: op.createdAt.toISOString(),
    updatedAt: op.updatedAt.toISOString(),
    finishedAt: op.finishedAt ? op.finishedAt.toISOString() : null,
    links: { self, events: `${self}/events`, model: `/v1/models/${op.model}` },
  };
}
