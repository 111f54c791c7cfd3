/**
 * Direct access to TypeORM's better-sqlite3 connection for the few repositories that need a
 * synchronous `BEGIN IMMEDIATE` (the audit hash chain, quota admission). Reads the driver's
 * private `databaseConnection`: TypeORM exposes no public handle to it.
 */
import type { Database as SqliteDatabase } from 'better-sqlite3';
import type { DataSource } from 'typeorm';

export type { SqliteDatabase };

/** How long sqliteIdle waits for another module's transaction to end. */
export const SQLITE_IDLE_TIMEOUT_MS = 5000;

/**
 * The driver's single connection, once no TypeORM transaction of another module is open on it:
 * better-sqlite3 would otherwise nest our transaction as a SAVEPOINT inside theirs, and their
 * rollback would silently take our rows with it.
 */
export async function sqliteIdle(ds: DataSource): Promise<SqliteDatabase> {
  const db = (ds.driver as unknown as { databaseConnection: SqliteDatabase }).databaseConnection;
  const deadline = Date.now() + SQLITE_IDLE_TIMEOUT_MS;
  while (db.inTransaction) {
    if (Date.now() > deadline) throw new Error('SQLite connection busy with another transaction');
    await new Promise((r) => setTimeout(r, 5));
  }
  return db;
}
