import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { gzipSync } from 'zlib';
import type { AppConfig } from '../../infra/config/app-config';
import { WebAssetsService } from './web-assets.service';

describe(WebAssetsService.name, () => {
  let dir: string;
  const config = (web_ui: boolean) => ({ server: { web_ui } }) as AppConfig;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'web-assets-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function build() {
    mkdirSync(path.join(dir, 'assets'));
    writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>x</title>');
    writeFileSync(path.join(dir, 'assets', 'index-abc.js'), 'console.log(1)');
    writeFileSync(path.join(dir, 'assets', 'index-abc.js.gz'), gzipSync('console.log(1)'));
    writeFileSync(path.join(dir, '.build-hash'), 'h');
  }

  it('loads the built files with their compressed twins, hashed assets marked immutable', () => {
    build();
    const sut = new WebAssetsService(config(true), dir);
    sut.onModuleInit();
    expect(sut.status).toBe('ready');
    const index = sut.find('/')!;
    expect(index).toMatchObject({
      contentType: 'text/html; charset=utf-8',
      immutable: false,
      isDocument: true,
    });
    const js = sut.find('/assets/index-abc.js')!;
    expect(js).toMatchObject({ contentType: 'text/javascript; charset=utf-8', immutable: true, br: null });
    expect(js.gzip).not.toBeNull();
    expect(js.etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    // Twins, dot files and paths outside the build are never served as assets.
    expect(sut.find('/assets/index-abc.js.gz')).toBeUndefined();
    expect(sut.find('/.build-hash')).toBeUndefined();
    expect(sut.find('/assets/../index.html')).toBeUndefined();
  });

  it('reports a missing build instead of failing the start-up', () => {
    const sut = new WebAssetsService(config(true), path.join(dir, 'nothing-here'));
    sut.onModuleInit();
    expect(sut.status).toBe('missing');
    expect(sut.find('/')).toBeUndefined();
  });

  it('serves nothing when server.web_ui is off', () => {
    build();
    const sut = new WebAssetsService(config(false), dir);
    sut.onModuleInit();
    expect(sut.status).toBe('disabled');
  });
});
