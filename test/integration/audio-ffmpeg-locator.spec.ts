/** Locating ffmpeg for real: configured path, PATH search, ffprobe beside it, none (WAV only). */
import { promises as fs } from 'fs';
import * as path from 'path';
import { AudioProcessingError, ErrorCodes } from '../../src/core/errors';
import { Ffmpeg, FfmpegLocator } from '../../src/infra/ffmpeg';
import { makeTempDir, testFfmpegBinary } from '../factories/audio';

describe(FfmpegLocator.name, () => {
  let dir: string;
  // The OS ffmpeg (a real binary); each test builds its own search path around it.
  const real = testFfmpegBinary();

  beforeEach(async () => {
    dir = await makeTempDir('ffmpeg-locator-');
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  async function script(name: string, body: string): Promise<string> {
    const file = path.join(dir, name);
    await fs.writeFile(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    return file;
  }

  it('finds a real ffmpeg in the search path and reports its version', async () => {
    const bin = path.join(dir, 'bin');
    await fs.mkdir(bin);
    await fs.symlink(real, path.join(bin, 'ffmpeg'));
    const found = await new FfmpegLocator({ searchPath: bin }).locate();
    expect(found).toMatchObject({ ffmpegPath: path.join(bin, 'ffmpeg'), source: 'path', ffprobePath: null });
    expect(found!.version).toMatch(/\d/);
  });

  it('prefers a working ffmpeg on PATH, skipping broken ones, and takes ffprobe from beside it', async () => {
    const broken = path.join(dir, 'broken');
    const good = path.join(dir, 'good');
    await fs.mkdir(broken);
    await fs.mkdir(good);
    await fs.writeFile(path.join(broken, 'ffmpeg'), 'not a binary', { mode: 0o755 });
    await fs.symlink(real, path.join(good, 'ffmpeg'));
    await fs.writeFile(path.join(good, 'ffprobe'), '#!/bin/sh\necho "ffprobe version 9.9-test"\n', {
      mode: 0o755,
    });
    const found = await new FfmpegLocator({ searchPath: [broken, good].join(path.delimiter) }).locate();
    expect(found).toMatchObject({
      ffmpegPath: path.join(good, 'ffmpeg'),
      ffprobePath: path.join(good, 'ffprobe'),
      source: 'path',
    });
  });

  it('uses a configured path and refuses (DECODER_UNAVAILABLE) a configured path that does not run', async () => {
    expect(await new FfmpegLocator({ ffmpegPath: real }).locate()).toMatchObject({ source: 'config' });
    const fake = await script('ffmpeg', 'exit 1');
    const err = await new FfmpegLocator({ ffmpegPath: fake }).locate().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AudioProcessingError);
    expect((err as AudioProcessingError).code).toBe(ErrorCodes.DECODER_UNAVAILABLE);
    expect((err as AudioProcessingError).message).toContain(fake);
  });

  it('does not accept a program that runs but is not ffmpeg', async () => {
    const impostor = await script('ffmpeg', 'echo "hello"');
    const found = await new FfmpegLocator({ searchPath: dir }).locate();
    expect(found).toBeNull();
    expect(impostor).toBeTruthy();
  });

  it('returns null when there is no ffmpeg anywhere', async () => {
    expect(await new FfmpegLocator({ searchPath: dir }).locate()).toBeNull();
    expect(await Ffmpeg.locate({ searchPath: dir })).toBeNull();
  });
});
