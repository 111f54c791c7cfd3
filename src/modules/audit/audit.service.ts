import { Injectable } from '@nestjs/common';
import type { Principal } from '../../common/auth/principal';
import { ErrorCodes, ValidationError } from '../../core/errors';
import { anchorHash, chainHash, GENESIS_HASH } from './audit-hash';
import { toAuditRow } from './audit-record';
import {
  AuditRepository,
  type AuditFilter,
  type PruneOutcome,
  type StoredAuditEvent,
} from './audit.repository';
import { AuditWriter } from './audit-writer.service';

export interface AuditPage {
  items: StoredAuditEvent[];
  nextCursor: string | null;
}

export interface BrokenLink {
  id: number;
  reason:
    'hash_mismatch' | 'prev_hash_mismatch' | 'before_anchor' | 'anchor_hash_mismatch' | 'anchor_unreferenced';
  detail: string;
  expected: string;
  actual: string;
  action?: string;
  occurredAt?: string;
}

export interface VerifyReport {
  valid: boolean;
  checkedEvents: number;
  firstId: number | null;
  lastId: number | null;
  /** Hash of the newest event: record it outside the database to also detect truncation of the tail. */
  headHash: string;
  anchor: { id: number; lastDeletedId: number; lastDeletedHash: string; deletedCount: number } | null;
  brokenAt: BrokenLink | null;
  durationMs: number;
}

/** Reading, verifying and pruning the audit log (writing goes through AuditWriter). */
@Injectable()
export class AuditService {
  constructor(
    private readonly repo: AuditRepository,
    private readonly writer: AuditWriter,
  ) {}

  async find(filter: AuditFilter, cursor: string | undefined, limit: number): Promise<AuditPage> {
    const beforeId = cursor ? decodeCursor(cursor) : null;
    const rows = await this.repo.find(filter, beforeId, limit + 1);
    const items = rows.slice(0, limit);
    return { items, nextCursor: rows.length > limit ? encodeCursor(items[items.length - 1].id) : null };
  }

  /** Matching events oldest first, streamed (NDJSON export). */
  stream(filter: AuditFilter): AsyncGenerator<StoredAuditEvent> {
    return this.repo.streamAscending(filter);
  }

  /**
   * Re-computes the whole chain in id order (streamed, constant memory) and reports the first link
   * that does not hold: a row whose content no longer matches its hash (modified), or whose
   * prev_hash is not the hash of the row before it (a row deleted or inserted), or retention anchors
   * that are forged or not referenced by an audit.prune event. Flushes the buffer first, so what was
   * recorded before the call is covered.
   */
  async verify(): Promise<VerifyReport> {
    const started = Date.now();
    await this.writer.flush();
    const anchors = await this.repo.anchors();
    let prevAnchor = GENESIS_HASH;
    for (const a of anchors) {
      const expected = anchorHash(prevAnchor, a);
      if (a.prevAnchorHash !== prevAnchor || a.hash !== expected) {
        return this.report(started, 0, null, null, prevAnchor, a, {
          id: a.lastDeletedId,
          reason: 'anchor_hash_mismatch',
          detail: `retention anchor ${a.id} was altered`,
          expected,
          actual: a.hash,
        });
      }
      prevAnchor = a.hash;
    }
    const anchor = anchors.length > 0 ? anchors[anchors.length - 1] : null;
    let prev = anchor?.lastDeletedHash ?? GENESIS_HASH;
    let checked = 0;
    let firstId: number | null = null;
    let lastId: number | null = null;
    for await (const e of this.repo.streamAscending()) {
      if (firstId === null) firstId = e.id;
      lastId = e.id;
      checked += 1;
      const base = { id: e.id, action: e.action, occurredAt: e.occurredAt };
      if (anchor && e.id <= anchor.lastDeletedId) {
        return this.report(started, checked, firstId, lastId, prev, anchor, {
          ...base,
          reason: 'before_anchor',
          detail: `event ${e.id} is older than the retention anchor (id ${anchor.lastDeletedId}) and should not exist`,
          expected: `id > ${anchor.lastDeletedId}`,
          actual: String(e.id),
        });
      }
      if (e.prevHash !== prev) {
        return this.report(started, checked, firstId, lastId, prev, anchor, {
          ...base,
          reason: 'prev_hash_mismatch',
          detail: `event ${e.id} does not follow the previous event: an event before it was deleted, inserted or rewritten`,
          expected: prev,
          actual: e.prevHash,
        });
      }
      const expected = chainHash(prev, e);
      if (expected !== e.hash) {
        return this.report(started, checked, firstId, lastId, prev, anchor, {
          ...base,
          reason: 'hash_mismatch',
          detail: `event ${e.id} was modified after it was written`,
          expected,
          actual: e.hash,
        });
      }
      prev = e.hash;
    }
    if (anchor && !(await this.repo.findPruneEventFor(anchor.hash))) {
      return this.report(started, checked, firstId, lastId, prev, anchor, {
        id: anchor.lastDeletedId,
        reason: 'anchor_unreferenced',
        detail: `no audit.prune event names retention anchor ${anchor.id}: events may have been deleted outside retention`,
        expected: anchor.hash,
        actual: 'none',
      });
    }
    return this.report(started, checked, firstId, lastId, prev, anchor, null);
  }

  /** Deletes events older than `olderThanDays` (a contiguous prefix of the chain), leaving an anchor. */
  async prune(olderThanDays: number, actor?: Principal): Promise<PruneOutcome> {
    if (!(olderThanDays > 0)) {
      throw new ValidationError(ErrorCodes.VALIDATION_FAILED, 'olderThanDays must be positive', {
        field: 'olderThanDays',
      });
    }
    await this.writer.flush();
    const cutoff = new Date(Date.now() - olderThanDays * 86400_000).toISOString();
    return this.repo.prune(cutoff, (deleted, anchor) =>
      toAuditRow({
        action: 'audit.prune',
        outcome: 'success',
        principal: actor ?? null,
        authMethod: actor ? undefined : 'system',
        resourceType: 'audit',
        details: {
          cutoff,
          deleted,
          anchorId: anchor.id,
          anchorHash: anchor.hash,
          throughId: anchor.lastDeletedId,
          throughHash: anchor.lastDeletedHash,
        },
      }),
    );
  }

  private report(
    started: number,
    checked: number,
    firstId: number | null,
    lastId: number | null,
    headHash: string,
    anchor: VerifyReport['anchor'] | null,
    brokenAt: BrokenLink | null,
  ): VerifyReport {
    return {
      valid: brokenAt === null,
      checkedEvents: checked,
      firstId,
      lastId,
      headHash,
      anchor: anchor
        ? {
            id: anchor.id,
            lastDeletedId: anchor.lastDeletedId,
            lastDeletedHash: anchor.lastDeletedHash,
            deletedCount: anchor.deletedCount,
          }
        : null,
      brokenAt,
      durationMs: Date.now() - started,
    };
  }
}

function encodeCursor(id: number): string {
  return Buffer.from(`a:${id}`).toString('base64url');
}

function decodeCursor(cursor: string): number {
  const m = /^a:(\d{1,16})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m) throw new ValidationError(ErrorCodes.VALIDATION_FAILED, 'Invalid cursor', { field: 'cursor' });
  return Number(m[1]);
}
