import { ANONYMOUS_ADMIN, type Principal } from '../../common/auth/principal';
import { ErrorCodes, ModelError, SecurityError, SeparationError, ValidationError } from '../../core/errors';
import { SeparationReader } from './separation-reader.service';
import { SeparationStatus } from './separation-status';
import { displayFileName, SeparationService, type UploadedAudio } from './separation.service';
import { strictMock } from '../../../test/support/strict-mock';
import {
  aJob,
  lifecycleOf,
  separationMocks,
  type MockOverrides,
} from '../../../test/support/separation-test-kit';
import type { UploadInspector } from './upload-inspector.service';

const USER: Principal = { id: 'user-1', role: 'user', method: 'api-key' };
const OTHER: Principal = { id: 'user-2', role: 'user', method: 'api-key' };
const UPLOAD: UploadedAudio = {
  path: '/data/storage/tmp/u.upload',
  size: 1000,
  sha256: 'f'.repeat(64),
  originalName: '../../x/My Song.wav',
};

function build(o: MockOverrides & { inspector?: Partial<UploadInspector> } = {}) {
  const m = separationMocks({
    ...o,
    engine: {
      resolveModel: async () => ({
        name: 'builtin:center',
        version: '1',
        stems: ['center', 'sides'],
        kind: 'builtin' as const,
      }),
      ...o.engine,
    },
    jobs: { insert: async () => undefined, delete: async () => undefined, ...o.jobs },
    queue: {
      enqueue: async () => undefined,
      position: async () => 1,
      cancel: async () => 'removed' as const,
      ...o.queue,
    },
    storage: {
      putFile: async (key: string) => ({ key, size: 10, etag: '"e"', modifiedAt: new Date() }),
      delete: async () => undefined,
      deletePrefix: async () => undefined,
      ...o.storage,
    },
    cache: { lookup: async () => null, ...o.cache },
    callbacks: { schedule: () => undefined, ...o.callbacks },
    quotas: { reserve: async () => undefined, release: async () => true, ...o.quotas },
  });
  const inspector = strictMock<UploadInspector>('UploadInspector', {
    inspect: async () => ({
      format: 'wav',
      info: { format: 'wav', sampleRate: 44100, channels: 2, durationSec: 3 },
    }),
    ...o.inspector,
  });
  const reader = new SeparationReader(m.jobs, m.queue, m.config, m.hub);
  const sut = new SeparationService(
    m.jobs,
    reader,
    lifecycleOf(m),
    m.queue,
    m.storage,
    m.cache,
    m.engine,
    inspector,
    m.callbackPolicy,
    m.quotas,
    m.config,
  );
  return { sut, m, inspector };
}

describe(SeparationService.name, () => {
  describe('create', () => {
    it('stores the upload under a generated key, inserts a queued row owned by the caller and enqueues it', async () => {
      const { sut, m } = build();
      const res = await sut.create({ principal: USER, requestId: 'req-1' }, UPLOAD, { stems: ['sides'] });

      const row = m.jobs.insert.mock.calls[0][0];
      expect(row).toMatchObject({
        ownerId: 'user-1',
        status: 'queued',
        modelName: 'builtin:center',
        modelVersion: '1',
        inputKey: `uploads/${row.id}`,
        inputFilename: 'My Song.wav',
        inputSha256: UPLOAD.sha256,
        requestId: 'req-1',
        options: { stems: ['sides'], codec: 'wav', bitDepth: 16 },
      });
      expect(row.cacheKey).toMatch(/^[0-9a-f]{64}$/);
      expect(m.storage.putFile).toHaveBeenCalledWith(`uploads/${row.id}`, UPLOAD.path, { move: true });
      expect(m.queue.enqueue).toHaveBeenCalledWith('separate', row.id, { jobId: row.id });
      expect(res).toMatchObject({
        id: row.id,
        status: 'queued',
        queuePosition: 1,
        links: { self: `/v1/separations/${row.id}` },
      });
      expect(m.events.emit).toHaveBeenCalledWith(
        'separation.queued',
        expect.objectContaining({ jobId: row.id, principal: USER }),
      );
    });

    it('rejects a stem the model does not have with UNKNOWN_STEM listing the available ones', async () => {
      const { sut, m } = build();
      const err = await sut
        .create({ principal: USER }, UPLOAD, { stems: ['vocals'] })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect(err).toMatchObject({
        code: ErrorCodes.UNKNOWN_STEM,
        context: { available: ['center', 'sides'] },
      });
      expect(m.jobs.insert).not.toHaveBeenCalled();
    });

    it('refuses MDX-Net options for a built-in model with OPTION_NOT_SUPPORTED before touching the upload', async () => {
      const { sut, m, inspector } = build();
      const err = await sut.create({ principal: USER }, UPLOAD, { overlap: 0.5 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect(err).toMatchObject({
        code: ErrorCodes.OPTION_NOT_SUPPORTED,
        context: { field: 'overlap', model: 'builtin:center', kind: 'builtin' },
      });
      expect(inspector.inspect).not.toHaveBeenCalled();
      expect(m.jobs.insert).not.toHaveBeenCalled();
    });

    it('fills and stores the MDX-Net defaults for an MDX model (null for others)', async () => {
      const { sut, m } = build({
        engine: {
          resolveModel: async () => ({
            name: 'mdx:test',
            version: 'v1',
            stems: ['vocals', 'instrumental'],
            kind: 'mdx' as const,
          }),
        },
      });
      await sut.create({ principal: USER }, UPLOAD, { denoise: true });
      expect(m.jobs.insert.mock.calls[0][0].options).toMatchObject({ overlap: 'default', denoise: true });
      const plain = build();
      await plain.sut.create({ principal: USER }, UPLOAD, {});
      expect(plain.m.jobs.insert.mock.calls[0][0].options).toMatchObject({ overlap: null, denoise: null });
    });

    it('propagates MODEL_NOT_INSTALLED before touching the upload', async () => {
      const { sut, m, inspector } = build({
        engine: {
          resolveModel: async () => {
            throw new ModelError(ErrorCodes.MODEL_NOT_INSTALLED, 'nope');
          },
        },
      });
      await expect(sut.create({ principal: USER }, UPLOAD, { model: 'x:y' })).rejects.toMatchObject({
        code: 'MODEL_NOT_INSTALLED',
      });
      expect(inspector.inspect).not.toHaveBeenCalled();
      expect(m.storage.putFile).not.toHaveBeenCalled();
    });

    it('refuses an offset past the end of the audio', async () => {
      const { sut } = build();
      await expect(sut.create({ principal: USER }, UPLOAD, { offset: 3 })).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
        context: { field: 'offset' },
      });
    });

    it("reserves the caller's quota for the audio length and refuses what the quota refuses", async () => {
      const exceeded = new SecurityError(ErrorCodes.QUOTA_EXCEEDED, 'over quota');
      const { sut, m } = build({
        quotas: {
          reserve: async () => {
            throw exceeded;
          },
        },
      });
      await expect(sut.create({ principal: USER }, UPLOAD, {})).rejects.toBe(exceeded);
      expect(m.quotas.reserve).toHaveBeenCalledWith(USER, expect.any(String), 3);
      expect(m.jobs.insert).not.toHaveBeenCalled();
      expect(m.storage.putFile).not.toHaveBeenCalled();
    });

    it('undoes the row, the stored upload and the quota slot when the queue refuses the job', async () => {
      const full = new SeparationError(ErrorCodes.QUEUE_FULL, 'full', { retryAfterSeconds: 7 });
      const { sut, m } = build({
        queue: {
          enqueue: async () => {
            throw full;
          },
        },
      });
      await expect(sut.create({ principal: USER }, UPLOAD, {})).rejects.toBe(full);
      const id = m.jobs.insert.mock.calls[0][0].id;
      expect(m.jobs.delete).toHaveBeenCalledWith(id);
      expect(m.storage.delete).toHaveBeenCalledWith(`uploads/${id}`);
      expect(m.storage.deletePrefix).toHaveBeenCalledWith(`results/${id}`);
      expect(m.quotas.release).toHaveBeenCalledWith(id);
    });

    it('completes at once from the result cache: copies the files, stores a succeeded cached row, no queue', async () => {
      const { sut, m } = build({
        cache: {
          lookup: async () => ({
            stems: [
              { name: 'center', path: '/c/center.wav' },
              { name: 'sides', path: '/c/sides.wav' },
            ],
            executionProvider: 'cuda',
          }),
        },
      });
      // An entry without analysis serves only jobs that want none (see the cases below).
      const res = await sut.create({ principal: USER }, UPLOAD, { analysis: false });
      const row = m.jobs.insert.mock.calls[0][0];
      expect(m.storage.putFile).toHaveBeenCalledWith(`results/${row.id}/center.wav`, '/c/center.wav');
      expect(m.storage.putFile).not.toHaveBeenCalledWith(
        expect.stringMatching(/^uploads\//),
        expect.anything(),
        expect.anything(),
      );
      expect(m.queue.enqueue).not.toHaveBeenCalled();
      expect(res).toMatchObject({
        status: 'succeeded',
        cached: true,
        progress: 100,
        executionProvider: 'cuda',
      });
      expect(res.stems.map((s) => s.name)).toEqual(['center', 'sides']);
      expect(m.callbacks.schedule).toHaveBeenCalledWith(row.id);
    });

    it('takes the analysis of input and stems from a cache hit measured with the same silence settings', async () => {
      const signal = (thresholdDbfs: number, lufs: number) => ({
        sampleRate: 44100,
        channels: 2,
        durationSec: 3,
        loudness: {
          integratedLufs: lufs,
          loudnessRangeLu: 1,
          truePeakDbtp: -3,
          samplePeakDbfs: -3.1,
          maxMomentaryLufs: lufs + 1,
          maxShortTermLufs: lufs + 0.5,
        },
        silence: {
          ranges: [],
          truncated: false,
          silentSec: 0,
          silentFraction: 0,
          thresholdDbfs,
          minDurationSec: 0.5,
        },
        empty: false,
      });
      const hit = (thresholdDbfs: number) => ({
        stems: [
          { name: 'center', path: '/c/center.wav' },
          { name: 'sides', path: '/c/sides.wav' },
        ],
        analysis: {
          input: signal(thresholdDbfs, -14),
          stems: { center: signal(thresholdDbfs, -15), sides: signal(thresholdDbfs, -30) },
        },
      });
      const same = build({ cache: { lookup: async () => hit(-60) } });
      const res = await same.sut.create({ principal: USER }, UPLOAD, {});
      expect(res).toMatchObject({ status: 'succeeded', cached: true });
      expect(res.analysis?.loudness.integratedLufs).toBe(-14);
      expect(res.stems.map((s) => s.analysis?.loudness.integratedLufs)).toEqual([-15, -30]);
      // Measured with another threshold: the job runs.
      const other = build({ cache: { lookup: async () => hit(-50) } });
      expect((await other.sut.create({ principal: USER }, UPLOAD, {})).status).toBe('queued');
    });

    it('ignores a cache hit without analysis for a job that wants one', async () => {
      const { sut, m } = build({
        cache: {
          lookup: async () => ({
            stems: [
              { name: 'center', path: '/c/center.wav' },
              { name: 'sides', path: '/c/sides.wav' },
            ],
          }),
        },
      });
      const res = await sut.create({ principal: USER }, UPLOAD, {});
      expect(res.status).toBe('queued');
      expect(m.queue.enqueue).toHaveBeenCalled();
    });

    it('ignores a cache hit that lacks a requested stem', async () => {
      const { sut, m } = build({
        cache: { lookup: async () => ({ stems: [{ name: 'center', path: '/c/center.wav' }] }) },
      });
      const res = await sut.create({ principal: USER }, UPLOAD, {});
      expect(res.status).toBe('queued');
      expect(m.queue.enqueue).toHaveBeenCalled();
    });

    it('checks the callback URL against the policy', async () => {
      const rejected = new ValidationError(ErrorCodes.CALLBACK_URL_REJECTED, 'private');
      const { sut } = build({
        callbackPolicy: {
          check: async () => {
            throw rejected;
          },
        },
      });
      await expect(
        sut.create({ principal: USER }, UPLOAD, { callbackUrl: 'http://10.0.0.1/x' }),
      ).rejects.toBe(rejected);
    });
  });

  describe('get / list / cancel', () => {
    it("answers JOB_NOT_FOUND for another user's job, but shows it to an admin", async () => {
      const job = aJob({ ownerId: 'user-1' });
      const { sut } = build({ jobs: { findById: async () => job } });
      await expect(sut.get(OTHER, job.id)).rejects.toMatchObject({ code: 'JOB_NOT_FOUND' });
      await expect(sut.get(ANONYMOUS_ADMIN, job.id)).resolves.toMatchObject({ id: job.id });
      await expect(sut.get(USER, 'not-a-uuid')).rejects.toMatchObject({ code: 'JOB_NOT_FOUND' });
    });

    it('lists with limit+1 to know whether a next page exists, scoped to the caller', async () => {
      const rows = [
        aJob({ id: '00000000-0000-4000-8000-000000000003' }),
        aJob({ id: '00000000-0000-4000-8000-000000000002' }),
        aJob({ id: '00000000-0000-4000-8000-000000000001' }),
      ];
      const { sut, m } = build({ jobs: { list: async () => rows } });
      const page = await sut.list(USER, { limit: 2 });
      expect(m.jobs.list).toHaveBeenCalledWith({
        ownerId: 'user-1',
        statuses: undefined,
        limit: 3,
        before: undefined,
      });
      expect(page.data.map((j) => j.id)).toEqual([rows[0].id, rows[1].id]);
      expect(page.nextCursor).toEqual(expect.any(String));
      await sut.list(USER, { limit: 2, cursor: page.nextCursor! });
      expect(m.jobs.list).toHaveBeenLastCalledWith(
        expect.objectContaining({ before: { createdAt: rows[1].createdAt, id: rows[1].id } }),
      );
      await expect(sut.list(USER, { cursor: 'garbage' })).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
      });
    });

    it('cancels a queued job: compare-and-set to canceled, out of the queue, files deleted, callback', async () => {
      const job = aJob({ callbackUrl: 'https://example.com/h' });
      let current = job;
      const { sut, m } = build({
        jobs: {
          findById: async () => current,
          transition: async (_id, _from, patch) => {
            current = Object.assign(aJob(), job, patch);
            return true;
          },
        },
      });
      const res = await sut.cancel({ principal: USER }, job.id);
      expect(m.jobs.transition).toHaveBeenCalledWith(
        job.id,
        ['queued', 'running'],
        expect.objectContaining({ status: 'canceled', callbackStatus: 'pending' }),
      );
      expect(m.queue.cancel).toHaveBeenCalledWith(job.id);
      expect(m.storage.delete).toHaveBeenCalledWith(job.inputKey);
      expect(m.storage.deletePrefix).toHaveBeenCalledWith(`results/${job.id}`);
      expect(m.callbacks.schedule).toHaveBeenCalledWith(job.id);
      expect(res).toMatchObject({ status: 'canceled', error: { code: 'JOB_CANCELED' } });
    });

    it('on a finished job only deletes its files and marks them deleted', async () => {
      const job = aJob({ status: SeparationStatus.Succeeded });
      const { sut, m } = build({ jobs: { findById: async () => job, update: async () => undefined } });
      await sut.cancel({ principal: USER }, job.id);
      expect(m.jobs.update).toHaveBeenCalledWith(job.id, { filesDeletedAt: expect.any(Date) });
      expect(m.storage.deletePrefix).toHaveBeenCalledWith(`results/${job.id}`);
      expect(m.events.emit).toHaveBeenCalledWith(
        'separation.deleted',
        expect.objectContaining({ jobId: job.id }),
      );
    });
  });
});

describe('displayFileName', () => {
  it.each([
    ['../../etc/passwd', 'passwd'],
    ['C:\\Users\\me\\song.mp3', 'song.mp3'],
    ['a"b<c>.wav', 'a"bc.wav'],
    ["☃ 𝄞 雪 ثلج שלג it's.wav", "☃ 𝄞 雪 ثلج שלג it's.wav"],
    ['song\u202Ewav.exe', 'songwav.exe'],
    ['𝄞'.repeat(250), '𝄞'.repeat(200)],
    ['..', null],
    ['', null],
    [undefined, null],
  ])('%s → %s', (input, expected) => {
    expect(displayFileName(input)).toBe(expected);
  });
});
