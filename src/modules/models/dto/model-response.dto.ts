import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { MODEL_PRECISIONS } from '../../../core/models/model-catalog';
import type { ModelInfo, ValidationReport, VersionInfo } from '../../../core/models/model-types';
import type { InstallOperation } from '../model-install-operations.service';

export class ModelVersionResponseDto {
  @ApiProperty({ example: 'v2' }) id!: string;
  @ApiProperty() active!: boolean;
  @ApiProperty({ enum: ['catalog', 'upload', 'builtin'] }) origin!: string;
  @ApiProperty({ nullable: true, type: String }) sourceUrl!: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'sha256 of the downloaded/uploaded artifact' })
  sha256!: string | null;
  @ApiProperty({ nullable: true, type: String }) installedAt!: string | null;
  @ApiProperty({ description: 'Bytes on disk' }) size!: number;
  @ApiProperty() format!: string;
  @ApiProperty({ type: [String] }) stems!: string[];
  @ApiProperty({ nullable: true, enum: MODEL_PRECISIONS }) precision!: string | null;
  @ApiProperty({ enum: ['valid', 'invalid', 'unchecked'] }) validation!: string;
  @ApiProperty({ description: 'Running separations using this version' }) inUse!: number;
}

export class ModelResponseDto {
  @ApiProperty({ example: 'spleeter:4stems' }) name!: string;
  @ApiProperty({ enum: ['spleeter', 'mdx', 'builtin'] }) kind!: string;
  @ApiProperty({ enum: ['builtin', 'catalog', 'custom'] }) source!: string;
  @ApiProperty() description!: string;
  @ApiProperty({ type: [String], example: ['vocals', 'drums', 'bass', 'other'] }) stems!: string[];
  @ApiProperty({ example: 44100 }) sampleRate!: number;
  @ApiProperty() license!: string;
  @ApiProperty({ enum: ['tf-checkpoint', 'onnx-archive', 'onnx', 'builtin'] }) format!: string;
  @ApiProperty({ description: 'A usable version is installed (always true for built-ins)' })
  installed!: boolean;
  @ApiProperty({ nullable: true, type: String }) activeVersion!: string | null;
  @ApiProperty({ type: [ModelVersionResponseDto] }) versions!: ModelVersionResponseDto[];
  @ApiProperty({ nullable: true, type: Number, description: 'Download size in bytes, when published' })
  downloadSize!: number | null;
  @ApiProperty({ type: [String] }) aliases!: string[];
}

export class ModelListResponseDto {
  @ApiProperty({ type: [ModelResponseDto] }) items!: ModelResponseDto[];
  @ApiProperty({ description: 'Version of the model catalog file' }) catalogVersion!: number;
  @ApiProperty({
    description: 'The model a separation uses when the request names none (name, alias or name@version)',
    example: 'builtin:center',
  })
  defaultModel!: string;
}

export class ValidationCheckResponseDto {
  @ApiProperty() name!: string;
  @ApiProperty() ok!: boolean;
  @ApiProperty() fatal!: boolean;
  @ApiProperty() detail!: string;
}

export class ValidationReportResponseDto {
  @ApiProperty() name!: string;
  @ApiProperty() version!: string;
  @ApiProperty() valid!: boolean;
  @ApiProperty({ description: 'A file changed since install (size or sha256)' }) corrupted!: boolean;
  @ApiProperty({ type: [ValidationCheckResponseDto] }) checks!: ValidationCheckResponseDto[];
  @ApiProperty() durationMs!: number;
  @ApiProperty() checkedAt!: string;
}

export class InstallProgressResponseDto {
  @ApiProperty() stage!: string;
  @ApiProperty({ minimum: 0, maximum: 1 }) fraction!: number;
  @ApiPropertyOptional() bytes?: number;
  @ApiPropertyOptional({ nullable: true, type: Number }) totalBytes?: number | null;
  @ApiPropertyOptional() bytesPerSecond?: number;
}

export class InstallErrorResponseDto {
  @ApiProperty() code!: string;
  @ApiProperty() detail!: string;
}

export class InstallOperationResponseDto {
  @ApiProperty() id!: string;
  @ApiProperty() model!: string;
  @ApiProperty({ enum: ['queued', 'running', 'succeeded', 'failed', 'canceled'] }) status!: string;
  @ApiProperty({ type: InstallProgressResponseDto }) progress!: InstallProgressResponseDto;
  @ApiProperty({ nullable: true, type: String }) version!: string | null;
  @ApiProperty({ description: 'False when the model was already installed and nothing was downloaded' })
  installed!: boolean;
  @ApiProperty({ nullable: true, type: InstallErrorResponseDto }) error!: InstallErrorResponseDto | null;
  @ApiProperty() createdAt!: string;
  @ApiProperty() updatedAt!: string;
  @ApiProperty({ nullable: true, type: String }) finishedAt!: string | null;
  @ApiProperty({
    example: { self: '/v1/admin/models/installs/…', events: '/v1/admin/models/installs/…/events' },
  })
  links!: Record<string, string>;
}

export class ModelRemoveResponseDto {
  @ApiProperty() name!: string;
  @ApiProperty({ type: [String] }) removed!: string[];
  @ApiProperty({ nullable: true, type: String }) activeVersion!: string | null;
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
