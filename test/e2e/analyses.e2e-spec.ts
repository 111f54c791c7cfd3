/**
 * POST /v1/analyses and `spleeter-server analyze`: a generated WAV (a 120 BPM drum track behind a
 * second of digital silence, with a RIFF INFO title) answers its technical data, tags, loudness
 * (the same numbers as the BS.1770 meter run on the samples directly), the silent range, tempo and
 * key; bad input gets a problem with a code; nothing is left on disk.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import request from 'supertest';
import { measureLoudness } from '../../src/core/analysis/loudness';
import type { AudioFileAnalysis } from '../../src/engine/audio-file-analysis';
import type { AnalysisResponseDto } from '../../src/modules/separation/dto/analysis-response.dto';
import { startTestApp, type TestApp } from '../factories/app';
import { encodeWav, leftoverFiles, listInfoChunk, makeTempDir } from '../factories/audio';
import { drumTrack, withGap } from '../support/analysis-signals';
import { runCli, type CliRun } from '../support/cli-process';

jest.setTimeout(120_000);

const signal = withGap(drumTrack(120, 6, 'four-on-the-floor'), 0, 1);
const WAV = encodeWav(signal, {
  encoding: 's16',
  chunksBeforeData: [{ id: 'LIST', body: listInfoChunk('Analysis test') }],
});

function runCliHere(args: string[], cwd: string): Promise<CliRun> {
  return runCli(args, cwd, { SPLEETER_MODELS_DIR: path.join(cwd, 'models') });
}

describe('Analyses (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ config: { security: { auth_enabled: false, rate_limit: { limit: 100_000 } } } });
  });
  afterAll(() => t.close());

  it('answers technical data, tags, loudness, silence, tempo and key', async () => {
    const res = await request(t.server).post('/v1/analyses').attach('file', WAV, 'drums.wav').expect(200);
    const body = res.body as AnalysisResponseDto;
    expect(body.filename).toBe('drums.wav');
    expect(body.technical).toMatchObject({
      format: 'wav',
      codec: 'pcm_s16le',
      sampleRate: 44100,
      channels: 2,
      bitDepth: 16,
      durationSec: 6,
    });
    expect(body.tags).toEqual({ title: 'Analysis test' });
    expect(body.hasCoverArt).toBe(false);
    expect(body.durationSec).toBeCloseTo(6, 6);
    // The same meter on the (16-bit rounded) samples: a wrong stream (rate, channels, gain) differs.
    const reference = measureLoudness(signal.data, { sampleRate: 44100, channels: 2 });
    expect(body.loudness.integratedLufs).toBeCloseTo(reference.integratedLufs!, 1);
    expect(body.loudness.truePeakDbtp).toBeGreaterThanOrEqual(body.loudness.samplePeakDbfs! - 0.01);
    expect(typeof body.loudness.loudnessRangeLu).toBe('number');
    expect(body.silence.ranges).toHaveLength(1);
    expect(body.silence.ranges[0].startSec).toBe(0);
    expect(body.silence.ranges[0].endSec).toBeCloseTo(1, 1);
    expect(body.tempo.bpm).toBeGreaterThan(118);
    expect(body.tempo.bpm).toBeLessThan(122);
    expect(body.key).toHaveProperty('key');
    expect(body.processingMs).toBeGreaterThan(0);
    expect(JSON.stringify(body)).not.toContain(t.dir);
  });

  it('refuses what is not audio (415), a missing file (422), and leaves no scratch file', async () => {
    const text = await request(t.server)
      .post('/v1/analyses')
      .attach('file', Buffer.from('just some text, not audio at all'), 'notes.wav')
      .expect(415);
    expect(text.body.code).toBe('UNSUPPORTED_AUDIO');
    const missing = await request(t.server).post('/v1/analyses').field('x', '1').expect(422);
    expect(missing.body.code).toBe('VALIDATION_FAILED');
    expect(await leftoverFiles(t.scratchDir)).toEqual([]);
  });

  it("a separation's job JSON carries the upload's tags as input.metadata", async () => {
    const res = await request(t.server)
      .post('/v1/separations')
      .attach('file', WAV, 'drums.wav')
      .field('model', 'builtin:center')
      .expect(202);
    expect(res.body.input.metadata).toEqual({ title: 'Analysis test' });
  });

  it('needs credentials like every /v1 route', async () => {
    const secured = await startTestApp({ config: { api_key: 'k'.repeat(24) } });
    try {
      const res = await request(secured.server).post('/v1/analyses').attach('file', WAV, 'a.wav').expect(401);
      expect(res.body.code).toBe('UNAUTHENTICATED');
      await request(secured.server)
        .post('/v1/analyses')
        .set('X-API-KEY', 'k'.repeat(24))
        .attach('file', WAV, 'a.wav')
        .expect(200);
    } finally {
      await secured.close();
    }
  });

  describe('CLI analyze', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await makeTempDir('cli-analyze-');
      await fs.writeFile(path.join(dir, 'drums.wav'), WAV);
      await fs.writeFile(path.join(dir, 'notes.txt'), 'not audio');
    });
    afterAll(() => fs.rm(dir, { recursive: true, force: true }));

    it('--json prints one object per file with the analysis', async () => {
      const res = await runCliHere(['analyze', 'drums.wav', '--json'], dir);
      expect(res.stderr).toBe('');
      expect(res.code).toBe(0);
      const result = JSON.parse(res.stdout) as AudioFileAnalysis;
      expect(result.technical).toMatchObject({ format: 'wav', sampleRate: 44100, channels: 2 });
      expect(result.tags).toEqual({ title: 'Analysis test' });
      expect(result.analysis.tempo!.bpm).toBeGreaterThan(118);
      expect(result.analysis.silence!.ranges).toHaveLength(1);
    });

    it('prints a readable summary; a bad file among good ones exits 5 with a coded error', async () => {
      const res = await runCliHere(['analyze', 'drums.wav', 'notes.txt'], dir);
      expect(res.code).toBe(5);
      expect(res.stdout).toMatch(/drums\.wav: wav\/pcm_s16le, 44100 Hz, 2 ch, 16 bit, 6\.00 s/);
      expect(res.stdout).toMatch(/loudness: -?\d+\.\d LUFS integrated, LRA/);
      expect(res.stdout).toMatch(/tempo: 1\d\d\.\d BPM/);
      expect(res.stdout).toMatch(/tags: title=Analysis test/);
      expect(res.stderr).toMatch(/notes\.txt: error \[UNSUPPORTED_AUDIO\]/);
    });
  });
});
