import * as fs from 'fs';
import * as path from 'path';
import { Module } from '@nestjs/common';
import { TypeOrmModule, type TypeOrmModuleOptions } from '@nestjs/typeorm';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { connectWithRetry, maskDatabaseUrl, startupJsonLogger } from './database-connect';
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
    // A connect timeout: an unreachable host (dropped packets) must fail an attempt, not hang it.
    return { ...common, type: 'postgres', url: config.database.url, poolSize: 10, connectTimeoutMS: 5000 };
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

interface RetrySettings {
  retries: number;
  delayMs: number;
  target: string;
  level: string;
}

@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [AppConfig],
      // Retries are ours (connectWithRetry: one JSON line each); TypeOrmModule's own are off.
      useFactory: (config: AppConfig) => ({
        ...typeOrmOptions(config),
        retryAttempts: 0,
        toRetry: () => false,
        // Carried to dataSourceFactory, which receives these options.
        spleeterRetry: {
          retries: config.database.url ? config.database.connect_retries : 0,
          delayMs: config.database.connect_retry_delay_s * 1000,
          target: config.database.url ? maskDatabaseUrl(config.database.url) : 'sqlite',
          level: config.logging.level,
        },
      }),
      dataSourceFactory: async (options) => {
        const { spleeterRetry, ...rest } = options as typeof options & { spleeterRetry: RetrySettings };
        if (spleeterRetry.target === 'sqlite') return new DataSource(rest as DataSourceOptions).initialize();
        return connectWithRetry(rest as DataSourceOptions, {
          retries: spleeterRetry.retries,
          delayMs: spleeterRetry.delayMs,
          target: spleeterRetry.target,
          logger: startupJsonLogger(spleeterRetry.level),
        });
      },
    }),
  ],
})
export class DatabaseModule {}
