/**
 * Every migration, in order. Add new ones at the end (class names carry a timestamp).
 * Write them with QueryRunner's Table API (createTable/addColumn/createIndex), not raw SQL, so the
 * same migration runs on SQLite and PostgreSQL.
 */
import type { MigrationInterface } from 'typeorm';

export const MIGRATIONS: Array<new () => MigrationInterface> = [];
