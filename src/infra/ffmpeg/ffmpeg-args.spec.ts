import { ErrorCodes } from '../../core/errors';
import { parseEncoderList } from './ffmpeg';
import { buildDecodeArgs } from './ffmpeg-decoder';
import { buildEncodeArgs, type EncoderSupport } from './ffmpeg-encoder';
import { classifyFfmpegFailure } from './ffmpeg-errors';

const ALL: EncoderSupport = { libmp3lame: true, libvorbis: true, vorbis: true, flac: true };

function valueAfter(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}

describe('buildDecodeArgs', () => {
  it('hardens the command line: no stdin, whitelisted protocols, forced demuxer, file: prefix, first audio stream only', () => {
    const args = buildDecodeArgs('-weird:name.mp3', { format: 'mp3', sampleRate: 44100, channels: 2 });
    expect(args.slice(0, 6)).toEqual([
      '-nostdin',
      '-hide_banner',
      '-loglevel',
      'error',
      '-protocol_whitelist',
      'file,pipe',
    ]);
    expect(valueAfter(args, '-f')).toBe('mp3');
    expect(valueAfter(args, '-i')).toMatch(/^file:\/.*-weird:name\.mp3$/);
    expect(args.indexOf('-f')).toBeLessThan(args.indexOf('-i'));
    expect(args).toEqual(expect.arrayContaining(['-map', '0:a:0', '-vn', '-sn', '-dn']));
    expect(args.slice(-5)).toEqual(['-f', 'f32le', '-acodec', 'pcm_f32le', 'pipe:1']);
    expect(valueAfter(args, '-ar')).toBe('44100');
    expect(valueAfter(args, '-ac')).toBe('2');
  });

  it('seeks on the input side and limits the duration on the output side', () => {
    const args = buildDecodeArgs('/a.flac', { format: 'flac', offsetSec: 1.5, durationSec: 2 });
    expect(args.indexOf('-ss')).toBeLessThan(args.indexOf('-i'));
    expect(args.indexOf('-t')).toBeGreaterThan(args.indexOf('-i'));
    expect(valueAfter(args, '-ss')).toBe('1.500000');
    expect(valueAfter(args, '-t')).toBe('2.000000');
  });

  it('uses the mov demuxer for MP4/M4A', () => {
    expect(valueAfter(buildDecodeArgs('/a.m4a', { format: 'mp4' }), '-f')).toBe('mov');
  });
});

describe('buildEncodeArgs', () => {
  const base = { inputSampleRate: 44100, outputSampleRate: 44100, channels: 2 };

  it('reads raw float from stdin and writes the temporary path with the chosen muxer', () => {
    const args = buildEncodeArgs({ ...base, codec: 'flac', bitDepth: 24 }, ALL, '/out/.x.flac.abc.partial');
    expect(args.slice(args.indexOf('-i') - 6, args.indexOf('-i') + 2)).toEqual([
      '-f',
      'f32le',
      '-ar',
      '44100',
      '-ac',
      '2',
      '-i',
      'pipe:0',
    ]);
    expect(valueAfter(args, '-c:a')).toBe('flac');
    expect(valueAfter(args, '-sample_fmt')).toBe('s32');
    expect(args[args.length - 1]).toBe('file:/out/.x.flac.abc.partial');
  });

  it('resamples with -ar only when the output rate differs', () => {
    const same = buildEncodeArgs({ ...base, codec: 'mp3' }, ALL, '/o');
    expect(same.filter((a) => a === '-ar')).toHaveLength(1);
    const other = buildEncodeArgs({ ...base, codec: 'mp3', outputSampleRate: 48000 }, ALL, '/o');
    expect(other.filter((a) => a === '-ar')).toHaveLength(2);
    expect(other[other.lastIndexOf('-ar') + 1]).toBe('48000');
  });

  it('uses libmp3lame / libvorbis with the bitrate and falls back to the native vorbis encoder', () => {
    expect(buildEncodeArgs({ ...base, codec: 'mp3', bitrateKbps: 192 }, ALL, '/o')).toEqual(
      expect.arrayContaining(['-c:a', 'libmp3lame', '-b:a', '192k', '-f', 'mp3']),
    );
    expect(buildEncodeArgs({ ...base, codec: 'ogg' }, ALL, '/o')).toEqual(
      expect.arrayContaining(['-c:a', 'libvorbis', '-b:a', '256k']),
    );
    const native = buildEncodeArgs({ ...base, codec: 'ogg' }, { ...ALL, libvorbis: false }, '/o');
    expect(native).toEqual(
      expect.arrayContaining(['-c:a', 'vorbis', '-strict', 'experimental', '-f', 'ogg']),
    );
  });

  it('refuses MP3/OGG when the encoder is missing', () => {
    expect(() => buildEncodeArgs({ ...base, codec: 'mp3' }, { ...ALL, libmp3lame: false }, '/o')).toThrow(
      /libmp3lame/,
    );
    expect(() =>
      buildEncodeArgs({ ...base, codec: 'ogg' }, { ...ALL, libvorbis: false, vorbis: false }, '/o'),
    ).toThrow(/vorbis/);
  });

  it('maps WAV bit depths to PCM codecs', () => {
    expect(valueAfter(buildEncodeArgs({ ...base, codec: 'wav', bitDepth: 16 }, ALL, '/o'), '-c:a')).toBe(
      'pcm_s16le',
    );
    expect(valueAfter(buildEncodeArgs({ ...base, codec: 'wav', bitDepth: 24 }, ALL, '/o'), '-c:a')).toBe(
      'pcm_s24le',
    );
    expect(valueAfter(buildEncodeArgs({ ...base, codec: 'wav', bitDepth: 32 }, ALL, '/o'), '-c:a')).toBe(
      'pcm_f32le',
    );
  });
});

describe('buildEncodeArgs with tags', () => {
  const base = { inputSampleRate: 44100, outputSampleRate: 44100, channels: 2 };
  const metadata = { title: 'Song (vocals)', artist: 'A=B', isrc: 'GBAYE0601498', albumArtist: 'AA' };

  it.each([
    ['mp3', 'TSRC=GBAYE0601498', true],
    ['flac', 'ISRC=GBAYE0601498', true],
    ['ogg', 'ISRC=GBAYE0601498', true],
    ['wav', null, false],
  ] as const)(
    'writes -metadata pairs for %s after dropping the input metadata',
    (codec, isrc, albumArtist) => {
      const args = buildEncodeArgs({ ...base, codec, metadata }, ALL, '/out/x.tmp');
      const pairs = args.flatMap((a, i) => (a === '-metadata' ? [args[i + 1]] : []));
      expect(pairs).toContain('title=Song (vocals)');
      expect(pairs).toContain('artist=A=B');
      expect(pairs.some((p) => /^(TSRC|ISRC)=/.test(p))).toBe(isrc !== null);
      if (isrc) expect(pairs).toContain(isrc);
      expect(pairs.includes('album_artist=AA')).toBe(albumArtist);
      expect(args.indexOf('-map_metadata')).toBeLessThan(args.indexOf('-metadata'));
      expect(args.indexOf('-metadata')).toBeLessThan(args.indexOf('file:/out/x.tmp'));
    },
  );

  it('writes no -metadata without tags', () => {
    expect(buildEncodeArgs({ ...base, codec: 'flac' }, ALL, '/o')).not.toContain('-metadata');
  });
});

describe('buildEncodeArgs with cover art', () => {
  const base = { inputSampleRate: 44100, outputSampleRate: 44100, channels: 2 };
  const coverArt = { path: '/in/song.mp3', streamIndex: 2 };

  it.each(['mp3', 'flac'] as const)(
    '%s: the original file as a second input, its picture stream copied as attached_pic',
    (codec) => {
      const args = buildEncodeArgs({ ...base, codec, coverArt }, ALL, '/out/x.tmp');
      const inputs = args.flatMap((a, i) => (a === '-i' ? [args[i + 1]] : []));
      expect(inputs).toEqual(['pipe:0', 'file:/in/song.mp3']);
      // The second input is whitelisted to plain files too.
      expect(args[args.lastIndexOf('-i') - 1]).toBe('file');
      const maps = args.flatMap((a, i) => (a === '-map' ? [args[i + 1]] : []));
      expect(maps).toEqual(['0:a:0', '1:2']);
      expect(valueAfter(args, '-c:v')).toBe('copy');
      expect(valueAfter(args, '-disposition:v:0')).toBe('attached_pic');
      expect(args.lastIndexOf('-i')).toBeLessThan(args.indexOf('-map'));
    },
  );

  it.each(['ogg', 'wav'] as const)('%s: no cover (the muxer stores none)', (codec) => {
    const args = buildEncodeArgs({ ...base, codec, coverArt }, ALL, '/out/x.tmp');
    expect(args.filter((a) => a === '-i')).toHaveLength(1);
    expect(args).not.toContain('-c:v');
  });
});

describe('classifyFfmpegFailure', () => {
  it.each([
    [
      '[mov,mp4,m4a,3gp,3g2,mj2 @ 0x1] moov atom not found\nx.m4a: Invalid data found when processing input',
      ErrorCodes.CORRUPT_AUDIO,
    ],
    [
      "Stream map '0:a:0' matches no streams.\nTo ignore this, add a trailing '?' to the map.",
      ErrorCodes.UNSUPPORTED_AUDIO,
    ],
    ['Decoder (codec dsd_lsbf) not found for input stream #0:0', ErrorCodes.UNSUPPORTED_AUDIO],
    ['file:/x.mp3: No such file or directory', ErrorCodes.FILE_NOT_FOUND],
    ['something nobody has seen before', ErrorCodes.CORRUPT_AUDIO],
  ])('%s → %s', (stderr, code) => {
    expect(classifyFfmpegFailure(stderr).code).toBe(code);
  });
});

describe('parseEncoderList', () => {
  it('collects audio encoder names only', () => {
    const out = `Encoders:
 V..... = Video
 A..... = Audio
 ------
 V..... libx264              libx264 H.264
 A..... flac                 FLAC (Free Lossless Audio Codec)
 A..X.. vorbis               Vorbis
 A..... libmp3lame           libmp3lame MP3 (MPEG audio layer 3) (codec mp3)
`;
    expect([...parseEncoderList(out)].sort()).toEqual(['flac', 'libmp3lame', 'vorbis']);
  });
});
