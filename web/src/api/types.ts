/**
 * The parts of the REST API's response shapes the page reads (the full schemas are at
 * /docs/openapi.json). Written by hand: the page must not import server code.
 */

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'canceled';
export type Role = 'user' | 'admin';

export interface Me {
  id: string;
  role: Role;
  method: string;
  keyId?: string;
  quota: {
    activeJobs: number;
    audioSecondsToday: number;
    exempt: boolean;
    maxConcurrentJobs: number;
    audioMinutesPerDay: number;
  };
}

export interface Stem {
  name: string;
  codec: string;
  contentType: string;
  sizeBytes: number;
  url: string;
}

export interface Job {
  id: string;
  status: JobStatus;
  progress: number;
  stage: string | null;
  queuePosition: number | null;
  model: { name: string; version: string | null; requested: string; stems: string[] };
  executionProvider: string | null;
  options: {
    stems: string[] | null;
    codec: string;
    bitDepth: number | null;
    bitrate: number | null;
    sampleRate: number | null;
    offset: number;
    duration: number | null;
    mwf: boolean;
    bandwidth: string;
  };
  input: {
    filename: string | null;
    sizeBytes: number;
    format: string;
    durationSec: number | null;
    sampleRate: number | null;
    channels: number | null;
  };
  timings: { queuedMs: number | null; totalMs: number | null; inferenceMs: number | null };
  stems: Stem[];
  cached: boolean;
  error: { code: string; message: string } | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  expiresAt: string | null;
  filesDeletedAt: string | null;
  links: { self: string; events: string; archive: string };
}

export interface JobPage {
  data: Job[];
  nextCursor: string | null;
}

/** A `progress` server-sent event. */
export interface JobProgress {
  id: string;
  status: JobStatus;
  progress: number;
  stage: string | null;
}

export interface ModelVersion {
  id: string;
  active: boolean;
  origin: string;
  installedAt: string | null;
  size: number;
  validation: string;
  inUse: number;
}

export interface Model {
  name: string;
  kind: 'spleeter' | 'mdx' | 'builtin' | string;
  source: string;
  description: string;
  stems: string[];
  sampleRate: number;
  license: string;
  installed: boolean;
  activeVersion: string | null;
  versions: ModelVersion[];
  downloadSize: number | null;
  aliases: string[];
}

export interface ModelList {
  items: Model[];
  catalogVersion: number;
  /** The model the server uses when a request names none (may be an alias or name@version). */
  defaultModel?: string | null;
}

export interface InstallOperation {
  id: string;
  model: string;
  status: 'queued' | 'running' | 'succeeded' | 'failed' | 'canceled';
  progress: { stage: string; fraction: number; bytes?: number; totalBytes?: number | null };
  version: string | null;
  error: { code: string; detail: string } | null;
  links: Record<string, string>;
}

export interface ApiKey {
  id: string;
  name: string;
  role: Role;
  createdAt: string;
  createdBy: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
  status: 'active' | 'revoked' | 'expired';
}

export interface ApiKeyCreated extends ApiKey {
  key: string;
}

export interface AuditEvent {
  id: number;
  occurredAt: string;
  principalId: string | null;
  action: string;
  resourceType: string | null;
  resourceId: string | null;
  outcome: 'success' | 'failure' | 'denied';
  httpStatus: number | null;
  clientIp: string | null;
  durationMs: number | null;
  details: Record<string, unknown> | null;
}

export interface AuditVerify {
  valid: boolean;
  checkedEvents: number;
  firstId: number | null;
  lastId: number | null;
  headHash: string;
  brokenAt: { id: number; reason: string; detail: string } | null;
  durationMs: number;
}
