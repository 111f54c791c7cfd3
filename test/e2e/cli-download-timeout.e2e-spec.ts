/**
 * `models.download_timeout_s` reaches every download the CLI makes: `models install` and the
 * auto-download of a job's model (issue 12: the engine used to build its own ModelManager with the
 * downloader's 30 s/60 s defaults, whatever the configuration said).
 *
 * The model server accepts connections and never answers. With download_timeout_s = 1 the four
 * attempts end after a few seconds; with the defaults they would take two minutes.
 */
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as path from 'path';
import { makeTempDir, noise, writeWav } from '../factories/audio';
import { sherpaEntry } from '../integration/models-fixtures';
import { runCli, type CliRun } from '../support/cli-process';

jest.setTimeout(120_000);

function run(args: string[], cwd: string, env: Record<string, string>): Promise<CliRun> {
  return runCli(args, cwd, { SPLEETER_MODELS_DIR: path.join(cwd, 'models'), ...env });
}

describe('CLI downloads honour models.download_timeout_s', () => {
  let dir: string;
  let server: http.Server;
  let requests = 0;
  const held: http.ServerResponse[] = [];
  let config: string;

  beforeAll(async () => {
    dir = await makeTempDir('cli-timeout-');
    // Headers never come: only the configured connect/response timeout ends an attempt.
    server = http.createServer((_req, res) => {
      requests++;
      held.push(res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/m.tar.gz`;
    const catalog = path.join(dir, 'catalog.json');
    fs.writeFileSync(
      catalog,
      JSON.stringify({ catalog_version: 1, models: [sherpaEntry('slow:2stems', url)] }),
    );
    config = path.join(dir, 'config.yaml');
    fs.writeFileSync(
      config,
      JSON.stringify({
        spleeter: { models: { catalog_file: catalog, download_timeout_s: 1, auto_download: true } },
      }),
    );
  });
  afterAll(async () => {
    for (const res of held) res.destroy();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await fs.promises.rm(dir, { recursive: true, force: true });
  });

  it('`models install` gives up after the configured timeout, not the default one', async () => {
    const before = requests;
    const res = await run(['models', 'install', 'slow:2stems'], dir, { SPLEETER_CONFIG: config });
    expect(res.code).toBe(4);
    expect(res.stderr).toContain('MODEL_DOWNLOAD_FAILED');
    expect(requests - before).toBeGreaterThanOrEqual(1);
    // Four attempts of 1 s plus back-off and start-up; one attempt at the default is 30 s.
    expect(res.ms).toBeLessThan(25_000);
  });

  it('the auto-download of a job’s model gives up after the configured timeout too', async () => {
    const input = await writeWav(path.join(dir, 'in.wav'), noise({ seconds: 0.5, seed: 5 }), {
      encoding: 's16',
    });
    const before = requests;
    const res = await run(['separate', input, '-m', 'slow:2stems', '-o', 'out'], dir, {
      SPLEETER_CONFIG: config,
    });
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('MODEL_DOWNLOAD_FAILED');
    expect(requests - before).toBeGreaterThanOrEqual(1);
    expect(res.ms).toBeLessThan(25_000);
    expect(fs.existsSync(path.join(dir, 'out', 'in'))).toBe(false);
  });
});
