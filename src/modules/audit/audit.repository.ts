import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager, SelectQueryBuilder } from 'typeorm';
import { sqliteIdle, type SqliteDatabase } from '../../infra/database/sqlite-idle';
import { anchorHash, chainHash, GENESIS_HASH, type AuditHashedContent } from './audit-hash';
import { AuditAnchorEntity } from './entities/audit-anchor.entity';
import { AuditEventEntity } from './entities/audit-event.entity';

/** One lock key for the whole chain (pg_advisory_xact_lock(int, int)). */
const LOCK_CLASS = 0x5350_4c54; // "SPLT"
const LOCK_CHAIN = 1;

export interface AuditFilter {
  principalId?: string;
  /** Exact action, or a prefix ending in `.*` (`separation.*`). */
  action?: string;
  resourceType?: string;
  resourceId?: string;
  outcome?: string;
  /** Inclusive lower / exclusive upper bound, ISO-8601 UTC. */
  from?: string;
  to?: string;
}

export interface StoredAuditEvent extends AuditHashedContent {
  id: number;
  prevHash: string;
  hash: string;
}

export interface StoredAnchor {
  id: number;
  createdAt: string;
  lastDeletedId: number;
  lastDeletedHash: string;
  deletedCount: number;
  prevAnchorHash: string;
  hash: string;
}

type Row = Record<string, unknown>;

export interface PruneOutcome {
  deleted: number;
  anchor: StoredAnchor | null;
}

const INSERT_COLUMNS = [
  'occurred_at',
  'request_id',
  'principal_id',
  'principal_role',
  'auth_method',
  'action',
  'resource_type',
  'resource_id',
  'outcome',
  'http_status',
  'client_ip',
  'user_agent',
  'duration_ms',
  'details',
  'prev_hash',
  'hash',
] as const;

function rowValues(r: AuditHashedContent & { prevHash: string; hash: string }): unknown[] {
  return [
    r.occurredAt,
    r.requestId,
    r.principalId,
    r.principalRole,
    r.authMethod,
    r.action,
    r.resourceType,
    r.resourceId,
    r.outcome,
    r.httpStatus,
    r.clientIp,
    r.userAgent,
    r.durationMs,
    r.details,
    r.prevHash,
    r.hash,
  ];
}

/**
 * Storage of the audit chain. Appends are totally ordered: one in-process queue, and inside it one
 * serialized transaction that reads the current head hash and inserts the batch chained to it —
 * on SQLite a synchronous `BEGIN IMMEDIATE` transaction on the driver's connection (no other query of
 * this process can interleave, other processes wait for the write lock), on PostgreSQL a
 * transaction-scoped advisory lock, so several replicas extend one chain without forks.
 */
@Injectable()
export class AuditRepository {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  get isPostgres(): boolean {
    return this.ds.options.type === 'postgres';
  }

  get isConnected(): boolean {
    return this.ds.isInitialized;
  }

  /** Appends rows in order; all or nothing. */
  appendBatch(rows: AuditHashedContent[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    return this.serialized(async () => {
      if (this.isPostgres) {
        await this.ds.transaction(async (m) => {
          await m.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_CLASS, LOCK_CHAIN]);
          const chained = this.chain(await this.headHashPg(m), rows);
          // Multi-row INSERT in chunks well under PostgreSQL's 65535 bind-parameter limit.
          for (let i = 0; i < chained.length; i += 500) {
            const chunk = chained.slice(i, i + 500);
            const params: unknown[] = [];
            const tuples = chunk.map((r) => {
              const vals = rowValues(r);
              const start = params.length;
              params.push(...vals);
              return `(${vals.map((_, j) => `$${start + j + 1}`).join(', ')})`;
            });
            await m.query(
              `INSERT INTO audit_events (${INSERT_COLUMNS.join(', ')}) VALUES ${tuples.join(', ')}`,
              params,
            );
          }
        });
        return;
      }
      const db = await sqliteIdle(this.ds);
      const insert = db.prepare(
        `INSERT INTO audit_events (${INSERT_COLUMNS.join(', ')}) VALUES (${INSERT_COLUMNS.map(() => '?').join(', ')})`,
      );
      db.transaction(() => {
        for (const r of this.chain(this.headHashSqlite(db), rows)) insert.run(...rowValues(r));
      }).immediate();
    });
  }

  /**
   * Deletes the oldest events, but only a contiguous prefix of the chain: every event with an id
   * below the first event at or after `cutoff`. Writes an anchor holding the last deleted hash and
   * appends an `audit.prune` event naming it, in the same transaction.
   */
  prune(
    cutoff: string,
    pruneEvent: (deleted: number, anchor: StoredAnchor) => AuditHashedContent,
  ): Promise<PruneOutcome> {
    return this.serialized(async () => {
      if (this.isPostgres) {
        return this.ds.transaction(async (m) => {
          await m.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_CLASS, LOCK_CHAIN]);
          const steps = this.pruneSteps(cutoff, pruneEvent);
          let step = steps.next();
          while (!step.done) step = steps.next(await m.query(pgPlaceholders(step.value[0]), step.value[1]));
          return step.value;
        });
      }
      const db = await sqliteIdle(this.ds);
      return db
        .transaction((): PruneOutcome => {
          const steps = this.pruneSteps(cutoff, pruneEvent);
          let step = steps.next();
          while (!step.done) {
            const stmt = db.prepare(step.value[0]);
            step = steps.next(
              stmt.reader ? (stmt.all(...step.value[1]) as Row[]) : (stmt.run(...step.value[1]), []),
            );
          }
          return step.value;
        })
        .immediate();
    });
  }

  /**
   * The prune transaction's statements as a generator, so the same steps run synchronously on
   * better-sqlite3 (inside one BEGIN IMMEDIATE) and asynchronously on PostgreSQL.
   */
  private *pruneSteps(
    cutoff: string,
    pruneEvent: (deleted: number, anchor: StoredAnchor) => AuditHashedContent,
  ): Generator<[string, unknown[]], PruneOutcome, Row[]> {
    const kept = yield ['SELECT MIN(id) AS id FROM audit_events WHERE occurred_at >= ?', [cutoff]];
    let bound: number;
    if (kept[0]?.id !== null && kept[0]?.id !== undefined) {
      bound = Number(kept[0].id);
    } else {
      const max = yield ['SELECT MAX(id) AS id FROM audit_events', []];
      if (max[0]?.id === null || max[0]?.id === undefined) return { deleted: 0, anchor: null };
      bound = Number(max[0].id) + 1;
    }
    const last = yield ['SELECT id, hash FROM audit_events WHERE id < ? ORDER BY id DESC LIMIT 1', [bound]];
    if (last.length === 0) return { deleted: 0, anchor: null };
    const head = yield ['SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1', []];
    const counted = yield ['SELECT COUNT(*) AS n FROM audit_events WHERE id < ?', [bound]];
    const deleted = Number(counted[0].n);
    yield ['DELETE FROM audit_events WHERE id < ?', [bound]];
    const prev = yield ['SELECT hash FROM audit_anchors ORDER BY id DESC LIMIT 1', []];
    const content = {
      createdAt: new Date().toISOString(),
      lastDeletedId: Number(last[0].id),
      lastDeletedHash: String(last[0].hash),
      deletedCount: deleted,
    };
    const prevAnchorHash = prev[0]?.hash ? String(prev[0].hash) : GENESIS_HASH;
    const hash = anchorHash(prevAnchorHash, content);
    yield [
      'INSERT INTO audit_anchors (created_at, last_deleted_id, last_deleted_hash, deleted_count, prev_anchor_hash, hash) VALUES (?, ?, ?, ?, ?, ?)',
      [
        content.createdAt,
        content.lastDeletedId,
        content.lastDeletedHash,
        content.deletedCount,
        prevAnchorHash,
        hash,
      ],
    ];
    const ids = yield ['SELECT id FROM audit_anchors WHERE hash = ?', [hash]];
    const anchor: StoredAnchor = { id: Number(ids[0]?.id), ...content, prevAnchorHash, hash };
    const [event] = this.chain(String(head[0].hash), [pruneEvent(deleted, anchor)]);
    yield [
      `INSERT INTO audit_events (${INSERT_COLUMNS.join(', ')}) VALUES (${INSERT_COLUMNS.map(() => '?').join(', ')})`,
      rowValues(event),
    ];
    return { deleted, anchor };
  }

  async find(filter: AuditFilter, beforeId: number | null, limit: number): Promise<StoredAuditEvent[]> {
    const qb = this.filtered(filter);
    if (beforeId !== null) qb.andWhere('e.id < :beforeId', { beforeId });
    const rows = await qb.orderBy('e.id', 'DESC').limit(limit).getMany();
    return rows.map(toStored);
  }

  /** Ascending id order in keyset pages: constant memory whatever the table size. */
  async *streamAscending(filter: AuditFilter = {}, pageSize = 1000): AsyncGenerator<StoredAuditEvent> {
    let afterId = 0;
    while (true) {
      const rows = await this.filtered(filter)
        .andWhere('e.id > :afterId', { afterId })
        .orderBy('e.id', 'ASC')
        .limit(pageSize)
        .getMany();
      for (const r of rows) yield toStored(r);
      if (rows.length < pageSize) return;
      afterId = Number(rows[rows.length - 1].id);
    }
  }

  async anchors(): Promise<StoredAnchor[]> {
    const rows = await this.ds.getRepository(AuditAnchorEntity).find({ order: { id: 'ASC' } });
    return rows.map((a) => ({
      ...a,
      id: Number(a.id),
      lastDeletedId: Number(a.lastDeletedId),
      deletedCount: Number(a.deletedCount),
    }));
  }

  async findPruneEventFor(anchorHashHex: string): Promise<StoredAuditEvent | null> {
    const row = await this.ds
      .getRepository(AuditEventEntity)
      .createQueryBuilder('e')
      .where('e.action = :a', { a: 'audit.prune' })
      .andWhere('e.details LIKE :h', { h: `%"anchorHash":"${anchorHashHex}"%` })
      .orderBy('e.id', 'ASC')
      .limit(1)
      .getOne();
    return row ? toStored(row) : null;
  }

  private filtered(f: AuditFilter): SelectQueryBuilder<AuditEventEntity> {
    const qb = this.ds.getRepository(AuditEventEntity).createQueryBuilder('e').where('1 = 1');
    if (f.principalId) qb.andWhere('e.principal_id = :principalId', { principalId: f.principalId });
    if (f.action) {
      if (f.action.endsWith('.*')) {
        // LIKE with the prefix escaped: `_` and `%` in action names must match literally.
        const prefix = f.action.slice(0, -1).replace(/[\\%_]/g, (c) => `\\${c}`);
        qb.andWhere(`e.action LIKE :actionPrefix ESCAPE '\\'`, { actionPrefix: `${prefix}%` });
      } else {
        qb.andWhere('e.action = :action', { action: f.action });
      }
    }
    if (f.resourceType) qb.andWhere('e.resource_type = :resourceType', { resourceType: f.resourceType });
    if (f.resourceId) qb.andWhere('e.resource_id = :resourceId', { resourceId: f.resourceId });
    if (f.outcome) qb.andWhere('e.outcome = :outcome', { outcome: f.outcome });
    if (f.from) qb.andWhere('e.occurred_at >= :from', { from: f.from });
    if (f.to) qb.andWhere('e.occurred_at < :to', { to: f.to });
    return qb;
  }

  private chain(
    head: string,
    rows: AuditHashedContent[],
  ): Array<AuditHashedContent & { prevHash: string; hash: string }> {
    let prev = head;
    return rows.map((r) => {
      const hash = chainHash(prev, r);
      const out = { ...r, prevHash: prev, hash };
      prev = hash;
      return out;
    });
  }

  /** Head of the chain: the newest event's hash, else the newest anchor's, else genesis. */
  private async headHashPg(m: EntityManager): Promise<string> {
    const last = await m.query('SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1');
    if (last.length > 0) return last[0].hash as string;
    const anchor = await m.query('SELECT last_deleted_hash AS h FROM audit_anchors ORDER BY id DESC LIMIT 1');
    return anchor.length > 0 ? (anchor[0].h as string) : GENESIS_HASH;
  }

  private headHashSqlite(db: SqliteDatabase): string {
    const last = db.prepare('SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1').get() as
      { hash: string } | undefined;
    if (last) return last.hash;
    const anchor = db
      .prepare('SELECT last_deleted_hash AS h FROM audit_anchors ORDER BY id DESC LIMIT 1')
      .get() as { h: string } | undefined;
    return anchor?.h ?? GENESIS_HASH;
  }

  /** One chain operation at a time per process (the database lock covers other processes). */
  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

/** `?` placeholders → PostgreSQL `$n`. */
function pgPlaceholders(sql: string): string {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
}

function toStored(e: AuditEventEntity): StoredAuditEvent {
  return {
    id: Number(e.id),
    occurredAt: e.occurredAt,
    requestId: e.requestId,
    principalId: e.principalId,
    principalRole: e.principalRole,
    authMethod: e.authMethod,
    action: e.action,
    resourceType: e.resourceType,
    resourceId: e.resourceId,
    outcome: e.outcome,
    httpStatus: e.httpStatus === null ? null : Number(e.httpStatus),
    clientIp: e.clientIp,
    userAgent: e.userAgent,
    durationMs: e.durationMs === null ? null : Number(e.durationMs),
    details: e.details,
    prevHash: e.prevHash,
    hash: e.hash,
  };
}
