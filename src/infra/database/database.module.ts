import * as fs from 'fs';
import * as path from 'path';
import { Module } from '@nestjs/common';
import { TypeOrmModule, type TypeOrmModuleOptions } from '@nestjs/typeorm';
import { AppConfig } from '../config/app-config';
import { MIGRATIONS } from './migrations';

/**
 * TypeORM connection: PostgreSQL when `database.url` (SPLEETER_DATABASE_URL) is set, else an
 * embedded SQLite file through better-sqlite3. Schema changes are migrations (run at start-up);
 * they use TypeORM's QueryRunner table API so one migration serves both dialects.
 */
export function typeOrmOptions(config: AppConfig): TypeOrmModuleOptions {
  const common = {
    autoLoadEntities: true,
    synchronize: false,
    migrationsRun: true,
    migrations: MIGRATIONS,
    logging: config.database.log_queries,
  } as const;
  if (config.database.url) {
    return { ...common, type: 'postgres', url: config.database.url, poolSize: 10 };
  }
  const file = path.resolve(config.database.sqlite_path);
  if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
  return {
    ...common,
    type: 'better-sqlite3',
    database: file,
    // WAL lets the API read while a worker writes; busy timeout instead of SQLITE_BUSY errors.
    prepareDatabase: (db: { pragma(s: string): unknown }) => {
      db.pragma('journal_mode = WAL');
      db.pragma('busy_timeout = 5000');
      db.pragma('foreign_keys = ON');
    },
  };
}

@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => typeOrmOptions(config),
    }),
  ],
})
export class DatabaseModule {}
