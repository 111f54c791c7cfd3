import * as fs from 'fs';
import * as path from 'path';
import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../../infra/config/app-config';
import type { AuditHashedContent } from './audit-hash';

export interface SpoolFile {
  file: string;
  rows: AuditHashedContent[];
}

/**
 * Last resort for audit events the database would not take before shutdown: NDJSON files in
 * `<dirname(database.sqlite_path)>/audit-spool/`, re-queued (and deleted once written) at the next
 * start. Files are written with mode 0600 and renamed into place, so a crash never leaves half a file.
 */
@Injectable()
export class AuditSpool {
  private readonly logger = new Logger('Audit');
  readonly dir: string;

  constructor(config: AppConfig) {
    this.dir = path.join(path.dirname(path.resolve(config.database.sqlite_path)), 'audit-spool');
  }

  save(rows: AuditHashedContent[]): string | null {
    if (rows.length === 0) return null;
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const name = `audit-${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}.ndjson`;
    const file = path.join(this.dir, name);
    const tmp = `${file}.tmp`;
    fs.writeFileSync(tmp, rows.map((r) => JSON.stringify(r)).join('\n') + '\n', { mode: 0o600 });
    fs.renameSync(tmp, file);
    return file;
  }

  loadAll(): SpoolFile[] {
    if (!fs.existsSync(this.dir)) return [];
    const out: SpoolFile[] = [];
    for (const name of fs.readdirSync(this.dir).sort()) {
      if (!name.endsWith('.ndjson')) continue;
      const file = path.join(this.dir, name);
      try {
        const rows = fs
          .readFileSync(file, 'utf8')
          .split('\n')
          .filter((l) => l.trim().length > 0)
          .map((l) => JSON.parse(l) as AuditHashedContent);
        out.push({ file, rows });
      } catch (err) {
        this.logger.error(`Unreadable audit spool file ${file} left in place: ${(err as Error).message}`);
      }
    }
    return out;
  }

  remove(file: string): void {
    fs.rmSync(file, { force: true });
  }
}
