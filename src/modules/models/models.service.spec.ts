import { EventEmitter2 } from '@nestjs/event-emitter';
import { firstValueFrom, toArray } from 'rxjs';
import { DomainEvents } from '../../common/events/domain-events';
import { ErrorCodes, ModelError } from '../../core/errors';
import type { ModelInfo } from '../../core/models/model-types';
import type { AppConfig } from '../../infra/config/app-config';
import type { ModelManager } from '../../engine/models/model-manager';
import { ModelInstallOperations } from './model-install-operations.service';
import { ModelsService } from './models.service';

type ManagerMock = jest.Mocked<Pick<ModelManager, 'getModel' | 'downloadModel' | 'init' | 'on'>>;

/** Every manager method the service may call is mocked; anything else throws (strict). */
function setup() {
  const listeners = new Map<string, (p: unknown) => void>();
  const mock: ManagerMock = {
    getModel: jest.fn(),
    downloadModel: jest.fn(),
    init: jest.fn().mockResolvedValue(undefined),
    on: jest.fn((event: string, l: (p: unknown) => void) => {
      listeners.set(event, l);
      return () => undefined;
    }) as unknown as ManagerMock['on'],
  };
  const manager = new Proxy(mock, {
    get(target, prop) {
      if (prop in target) return target[prop as keyof ManagerMock];
      if (prop === 'then') return undefined;
      throw new Error(`unexpected ModelManager.${String(prop)} call`);
    },
  }) as unknown as ModelManager;
  const events = new EventEmitter2();
  const operations = new ModelInstallOperations();
  const config = { models: { default_model: 'builtin:center' } } as AppConfig;
  const sut = new ModelsService(manager, operations, config, events);
  return { sut, mock, events, listeners, operations };
}

const info = (name: string): ModelInfo => ({
  name,
  kind: 'spleeter',
  source: 'catalog',
  description: '',
  stems: ['vocals', 'accompaniment'],
  sampleRate: 44100,
  license: 'MIT',
  format: 'onnx-archive',
  installed: false,
  activeVersion: null,
  versions: [],
  downloadSize: null,
  aliases: [],
});

describe(ModelsService.name, () => {
  it('runs an install in the background and reports progress, then success, on the operation', async () => {
    const { sut, mock } = setup();
    mock.getModel.mockResolvedValue(info('spleeter:2stems'));
    let finish!: () => void;
    mock.downloadModel.mockImplementation(async (name, opts) => {
      await new Promise((r) => setImmediate(r));
      opts?.onProgress?.({ name, stage: 'downloading', fraction: 0.35, bytes: 35, totalBytes: 100 });
      await new Promise<void>((r) => (finish = r));
      return { name, version: 'v1', installed: true, info: {} as never };
    });
    const op = await sut.startInstall('spleeter:2stems', {}, {});
    expect(op.status).toBe('queued');
    const stream = firstValueFrom(sut.installStream(op.id).pipe(toArray()));
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(sut.getInstall(op.id)).toMatchObject({
      status: 'running',
      progress: { stage: 'downloading', fraction: 0.35 },
    });
    finish();
    const updates = await stream;
    expect(updates[updates.length - 1]).toMatchObject({
      status: 'succeeded',
      version: 'v1',
      installed: true,
    });
  });

  it('joins a running install of the same model instead of starting a second one', async () => {
    const { sut, mock } = setup();
    mock.getModel.mockResolvedValue(info('m:x'));
    mock.downloadModel.mockReturnValue(new Promise(() => undefined));
    const a = await sut.startInstall('m:x', {}, {});
    const b = await sut.startInstall('m:x', { force: true }, {});
    expect(b.id).toBe(a.id);
    expect(mock.downloadModel).toHaveBeenCalledTimes(1);
  });

  it('records failures with their error code and cancellations as canceled', async () => {
    const { sut, mock } = setup();
    mock.getModel.mockImplementation(async (n) => info(n));
    mock.downloadModel.mockRejectedValueOnce(new ModelError(ErrorCodes.MODEL_CHECKSUM_MISMATCH, 'bad sha'));
    const failed = await sut.startInstall('m:a', {}, {});
    await new Promise((r) => setImmediate(r));
    expect(sut.getInstall(failed.id)).toMatchObject({
      status: 'failed',
      error: { code: 'MODEL_CHECKSUM_MISMATCH' },
    });

    mock.downloadModel.mockImplementationOnce(
      (_n, opts) =>
        new Promise((_, reject) =>
          opts!.signal!.addEventListener('abort', () =>
            reject(new ModelError(ErrorCodes.MODEL_DOWNLOAD_FAILED, 'x')),
          ),
        ),
    );
    const running = await sut.startInstall('m:b', {}, {});
    sut.cancelInstall(running.id);
    await new Promise((r) => setImmediate(r));
    expect(sut.getInstall(running.id)).toMatchObject({ status: 'canceled', error: { code: 'JOB_CANCELED' } });
  });

  it('refuses an unknown model before creating an operation', async () => {
    const { sut, mock, operations } = setup();
    mock.getModel.mockRejectedValue(new ModelError(ErrorCodes.MODEL_NOT_INSTALLED, 'unknown'));
    await expect(sut.startInstall('nope:x', {}, {})).rejects.toMatchObject({ code: 'MODEL_NOT_INSTALLED' });
    expect(operations.findActive('nope:x')).toBeUndefined();
  });

  it('forwards manager events as domain events carrying the admin who asked', async () => {
    const { sut, mock, events, listeners } = setup();
    await sut.onModuleInit();
    const seen: unknown[] = [];
    events.on(DomainEvents.ModelInstalled, (p) => seen.push(p));
    mock.getModel.mockResolvedValue(info('m:x'));
    mock.downloadModel.mockImplementation(async (name) => {
      listeners.get('installed')!({ name, version: 'v3', durationMs: 12 });
      return { name, version: 'v3', installed: true, info: {} as never };
    });
    const principal = { id: 'admin-1', role: 'admin' as const, method: 'api-key' as const };
    await sut.startInstall('m:x', {}, { principal, requestId: 'req-9' });
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual([{ name: 'm:x', version: 'v3', durationMs: 12, principal, requestId: 'req-9' }]);
  });
});
