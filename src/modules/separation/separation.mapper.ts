/** Entity → response DTO mapping (the only place that knows both shapes). */
import type { SeparationBatchEntity } from './entities/separation-batch.entity';
import type { SeparationJobEntity } from './entities/separation-job.entity';
import type { BatchResponseDto, SeparationResponseDto } from './dto/separation-response.dto';
import { SeparationStatus, isTerminal } from './separation-status';

export interface MappingContext {
  /** Prefix for links: '' (relative) or the configured public URL without trailing slash. */
  baseUrl: string;
  queuePosition?: number | null;
}

const iso = (d: Date | null | undefined): string | null => (d ? new Date(d).toISOString() : null);

export function separationPath(id: string): string {
  return `/v1/separations/${id}`;
}

export function toSeparationResponse(job: SeparationJobEntity, ctx: MappingContext): SeparationResponseDto {
  const self = `${ctx.baseUrl}${separationPath(job.id)}`;
  const filesAvailable = job.status === SeparationStatus.Succeeded && !job.filesDeletedAt;
  const t = job.timings;
  return {
    id: job.id,
    object: 'separation',
    status: job.status,
    progress: job.progress,
    stage: job.status === SeparationStatus.Running ? job.stage : null,
    queuePosition: job.status === SeparationStatus.Queued ? (ctx.queuePosition ?? null) : null,
    batchId: job.batchId,
    model: {
      name: job.modelName,
      version: job.modelVersion,
      requested: job.requestedModel,
      stems: job.modelStems,
    },
    executionProvider: job.executionProvider,
    executionDevice: job.executionDevice ?? null,
    options: {
      stems: job.options.stems,
      codec: job.options.codec,
      bitDepth: job.options.bitDepth,
      bitrate: job.options.bitrateKbps,
      sampleRate: job.options.sampleRate,
      offset: job.options.offsetSec,
      duration: job.options.durationSec,
      mwf: job.options.mwf,
      bandwidth: job.options.bandwidth,
      // Jobs stored before these options existed have neither.
      overlap: job.options.overlap ?? null,
      denoise: job.options.denoise ?? null,
      preprocess: job.options.preprocess ?? false,
      highpassHz: job.options.highpassHz ?? null,
      noiseReduction: job.options.noiseReduction ?? false,
      normalizeLoudness: job.options.normalizeLoudness ?? false,
      targetLufs: job.options.targetLufs ?? null,
      tags: job.options.tags ?? true,
      analysis: !!job.options.analysis,
    },
    input: {
      filename: job.inputFilename,
      sizeBytes: job.inputSize,
      format: job.inputFormat,
      codec: job.inputInfo?.codec ?? null,
      durationSec: job.inputInfo?.durationSec ?? null,
      sampleRate: job.inputInfo?.sampleRate ?? null,
      channels: job.inputInfo?.channels ?? null,
      metadata: { ...(job.inputInfo?.tags ?? {}) },
    },
    analysis: job.status === SeparationStatus.Succeeded ? (job.analysis ?? null) : null,
    timings: {
      queuedMs:
        t?.queuedMs ??
        (job.startedAt ? new Date(job.startedAt).getTime() - new Date(job.createdAt).getTime() : null),
      decodeMs: t?.decodeMs ?? null,
      inferenceMs: t?.inferenceMs ?? null,
      dspMs: t?.dspMs ?? null,
      encodeMs: t?.encodeMs ?? null,
      totalMs: t?.totalMs ?? null,
    },
    stats:
      job.status === SeparationStatus.Succeeded && t?.modelCalls !== undefined
        ? { modelCalls: t.modelCalls, sharedModelCalls: t.sharedModelCalls ?? 0 }
        : null,
    stems: filesAvailable
      ? (job.stems ?? []).map((s) => ({
          name: s.name,
          codec: s.codec,
          contentType: s.contentType,
          sizeBytes: s.size,
          url: `${self}/stems/${encodeURIComponent(s.name)}`,
          analysis: s.analysis ?? null,
        }))
      : [],
    cached: job.cached,
    error: job.errorCode ? { code: job.errorCode, message: job.errorMessage ?? '' } : null,
    callback: job.callbackUrl
      ? { url: job.callbackUrl, status: job.callbackStatus, attempts: job.callbackAttempts }
      : null,
    createdAt: iso(job.createdAt)!,
    startedAt: iso(job.startedAt),
    finishedAt: iso(job.finishedAt),
    expiresAt: iso(job.expiresAt),
    filesDeletedAt: iso(job.filesDeletedAt),
    links: {
      self,
      events: `${self}/events`,
      archive: `${self}/archive`,
      ...(job.batchId ? { batch: `${ctx.baseUrl}/v1/batches/${job.batchId}` } : {}),
    },
  };
}

export function toBatchResponse(
  batch: SeparationBatchEntity,
  jobs: SeparationResponseDto[],
  baseUrl: string,
): BatchResponseDto {
  const counts = { queued: 0, running: 0, succeeded: 0, failed: 0, canceled: 0 };
  for (const j of jobs) counts[j.status]++;
  const status = jobs.every((j) => isTerminal(j.status))
    ? 'completed'
    : counts.running > 0 || jobs.some((j) => isTerminal(j.status))
      ? 'running'
      : 'queued';
  return {
    id: batch.id,
    object: 'batch',
    status,
    counts,
    jobs,
    createdAt: iso(batch.createdAt)!,
    links: { self: `${baseUrl}/v1/batches/${batch.id}` },
  };
}

/** Opaque keyset cursor: base64url of `<createdAt ms>:<id>`. */
export function encodeCursor(job: Pick<SeparationJobEntity, 'createdAt' | 'id'>): string {
  return Buffer.from(`${new Date(job.createdAt).getTime()}:${job.id}`).toString('base64url');
}

export function decodeCursor(cursor: string): { createdAt: Date; id: string } | null {
  const raw = Buffer.from(cursor, 'base64url').toString('utf8');
  const m = /^(\d{1,15}):([0-9a-f-]{36})$/.exec(raw);
  return m ? { createdAt: new Date(Number(m[1])), id: m[2] } : null;
}
