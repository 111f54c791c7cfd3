/**
 * Web module: serves the browser app (web/, a Preact page built by Vite into web/dist) at `/` from
 * the same server as the API. This service owns reading the built files: all of them (well under
 * 1 MB) are loaded into memory once at start-up, with the .br/.gz twins the build writes, so a
 * request costs no disk access and no compression work.
 */
import { createHash } from 'crypto';
import { existsSync, readdirSync, readFileSync } from 'fs';
import * as path from 'path';
import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../../infra/config/app-config';

/** Where `npm run build:web` writes the app: <repo>/web/dist, three levels above this file in src/ and dist/. */
export const WEB_DIST_DIR = path.resolve(__dirname, '..', '..', '..', 'web', 'dist');

export interface WebAsset {
  body: Buffer;
  br: Buffer | null;
  gzip: Buffer | null;
  contentType: string;
  etag: string;
  /** Content-hashed file names never change: cache them for a year. */
  immutable: boolean;
  isDocument: boolean;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

@Injectable()
export class WebAssetsService implements OnModuleInit {
  private readonly logger = new Logger('Web');
  private readonly assets = new Map<string, WebAsset>();
  private state: 'disabled' | 'missing' | 'ready' = 'disabled';

  constructor(
    private readonly config: AppConfig,
    private readonly dir: string = WEB_DIST_DIR,
  ) {}

  onModuleInit(): void {
    if (!this.config.server.web_ui) return;
    if (!existsSync(path.join(this.dir, 'index.html'))) {
      this.state = 'missing';
      this.logger.warn(`Web UI not built (no ${this.dir}/index.html): run "npm run build:web"`);
      return;
    }
    this.load('');
    this.state = 'ready';
  }

  get status(): 'disabled' | 'missing' | 'ready' {
    return this.state;
  }

  /** The asset at a URL path like `/`, `/favicon.svg` or `/assets/index-3f2a.js`. */
  find(urlPath: string): WebAsset | undefined {
    return this.assets.get(urlPath === '/' ? '/index.html' : urlPath);
  }

  private load(rel: string): void {
    for (const entry of readdirSync(path.join(this.dir, rel), { withFileTypes: true })) {
      const relPath = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        this.load(relPath);
        continue;
      }
      const ext = path.extname(entry.name);
      if (!entry.isFile() || entry.name.startsWith('.') || ext === '.br' || ext === '.gz') continue;
      const file = path.join(this.dir, relPath);
      const body = readFileSync(file);
      const twin = (suffix: string) => (existsSync(file + suffix) ? readFileSync(file + suffix) : null);
      this.assets.set(`/${relPath}`, {
        body,
        br: twin('.br'),
        gzip: twin('.gz'),
        contentType: TYPES[ext] ?? 'application/octet-stream',
        etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
        immutable: relPath.startsWith('assets/'),
        isDocument: ext === '.html',
      });
    }
  }
}
