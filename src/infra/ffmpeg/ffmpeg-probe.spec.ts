import { channelsFromLayout, parseBannerTags, parseFfmpegBanner, parseFfprobeJson } from './ffmpeg-probe';

// Banners captured from a static ffmpeg 4.1 (`ffmpeg -hide_banner -i file`); newer ones print the same lines.
const MP3 = `Input #0, mp3, from '/work/shared/fixtures/audio/audio_example.mp3':
  Metadata:
    title           : Slow Motion Dream
    encoder         : Lavf58.29.100
  Duration: 00:00:10.92, start: 0.025057, bitrate: 192 kb/s
    Stream #0:0: Audio: mp3, 44100 Hz, stereo, fltp, 192 kb/s
    Metadata:
      encoder         : Lavc58.54
At least one output file must be specified
`;
const FLAC_51 = `Input #0, flac, from 'six.flac':
  Duration: 00:00:02.00, start: 0.000000, bitrate: 658 kb/s
    Stream #0:0: Audio: flac, 48000 Hz, 5.1, s32 (24 bit)
`;
const M4A = `Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 't.m4a':
  Metadata:
    major_brand     : M4A
  Duration: 00:00:05.02, start: 0.000000, bitrate: 112 kb/s
    Stream #0:0(und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, stereo, fltp, 109 kb/s (default)
`;
const VIDEO_FIRST = `Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'clip.mp4':
  Duration: 00:01:02.50, start: 0.000000, bitrate: 900 kb/s
    Stream #0:0(und): Video: h264 (High) (avc1 / 0x31637661), yuv420p, 1280x720, 800 kb/s, 25 fps (default)
    Stream #0:1(und): Audio: aac (LC) (mp4a / 0x6134706D), 48000 Hz, mono, fltp, 96 kb/s (default)
`;
const NO_XING = `[mp3 @ 0x2d97bb00] Estimating duration from bitrate, this may be inaccurate
Input #0, mp3, from 'noxing.mp3':
  Duration: 00:00:02.04, start: 0.000000, bitrate: 128 kb/s
    Stream #0:0: Audio: mp3, 44100 Hz, stereo, fltp, 128 kb/s
`;
const WAV = `Guessed Channel Layout for Input Stream #0.0 : stereo
Input #0, wav, from 't.wav':
  Duration: 00:00:05.00, bitrate: 1411 kb/s
    Stream #0:0: Audio: pcm_s16le ([1][0][0][0] / 0x0001), 44100 Hz, stereo, s16, 1411 kb/s
`;
const NO_AUDIO = `Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'silent.mp4':
  Duration: 00:00:05.00, start: 0.000000, bitrate: 50 kb/s
    Stream #0:0(und): Video: mpeg4 (Simple Profile) (mp4v / 0x7634706D), yuv420p, 64x64, 45 kb/s, 10 fps (default)
`;

// Tagged files made with the bundled ffmpeg 4.1 (-metadata ...; a PNG as attached picture).
const MP3_TAGGED_COVER = `Input #0, mp3, from 'c.mp3':
  Metadata:
    title           : Sång ett
    artist          : The Artist
    TSRC            : GBAYE0601498
    comment         : line one
                    : line two
    encoder         : Lavf58.24.100
  Duration: 00:00:02.04, start: 0.025056, bitrate: 129 kb/s
    Stream #0:0: Audio: mp3, 44100 Hz, stereo, fltp, 128 kb/s
    Metadata:
      encoder         : Lavc58.42
    Stream #0:1: Video: png, rgb24(pc), 64x64 [SAR 1:1 DAR 1:1], 90k tbr, 90k tbn, 90k tbc
    Metadata:
      comment         : Other
At least one output file must be specified
`;
const OGG_TAGGED = `Input #0, ogg, from 't.ogg':
  Duration: 00:00:02.00, start: 0.000000, bitrate: 38 kb/s
    Stream #0:0: Audio: vorbis, 44100 Hz, stereo, fltp, 112 kb/s
    Metadata:
      ENCODER         : Lavc58.42.100 libvorbis
      TITLE           : Sång ett
      ARTIST          : The Artist
      track           : 3/12
      ISRC            : GBAYE0601498
At least one output file must be specified
`;

describe('parseBannerTags', () => {
  it('reads container tags, multi-line values and an embedded picture (MP3)', () => {
    expect(parseBannerTags(MP3_TAGGED_COVER)).toEqual({
      tags: {
        title: 'Sång ett',
        artist: 'The Artist',
        TSRC: 'GBAYE0601498',
        comment: 'line one\nline two',
        encoder: 'Lavf58.24.100',
      },
      hasCoverArt: true,
    });
  });

  it("reads the audio stream's tags where the container has none (Ogg Vorbis), not a video's", () => {
    expect(parseBannerTags(OGG_TAGGED)).toEqual({
      tags: {
        ENCODER: 'Lavc58.42.100 libvorbis',
        TITLE: 'Sång ett',
        ARTIST: 'The Artist',
        track: '3/12',
        ISRC: 'GBAYE0601498',
      },
      hasCoverArt: false,
    });
    expect(parseBannerTags(VIDEO_FIRST)).toEqual({ tags: {}, hasCoverArt: false });
  });

  it('names an attached JPEG/PNG picture stream as the copyable cover', () => {
    const attached = MP3_TAGGED_COVER.replace('90k tbn, 90k tbc', '90k tbn, 90k tbc (attached pic)');
    expect(parseBannerTags(attached)).toMatchObject({ hasCoverArt: true, coverArtStream: 1 });
    expect(parseFfmpegBanner(attached)).toMatchObject({ hasCoverArt: true, coverArtStream: 1 });
  });
});

describe('parseFfmpegBanner', () => {
  it('reads the real MP3 fixture banner', () => {
    expect(parseFfmpegBanner(MP3)).toEqual({
      format: 'mp3',
      codec: 'mp3',
      sampleRate: 44100,
      channels: 2,
      durationSec: 10.92,
      durationIsEstimate: false,
      bitRate: 192000,
      tags: { title: 'Slow Motion Dream', encoder: 'Lavf58.29.100' },
      hasCoverArt: false,
    });
  });

  it('reads 5.1 FLAC with its 24-bit depth', () => {
    expect(parseFfmpegBanner(FLAC_51)).toMatchObject({
      codec: 'flac',
      sampleRate: 48000,
      channels: 6,
      bitDepth: 24,
      durationSec: 2,
    });
  });

  it('reads M4A (comma-separated container name, language tag on the stream)', () => {
    expect(parseFfmpegBanner(M4A)).toMatchObject({
      format: 'mov,mp4,m4a,3gp,3g2,mj2',
      codec: 'aac',
      bitRate: 109000,
    });
  });

  it('skips a video stream listed first and takes the first audio stream', () => {
    expect(parseFfmpegBanner(VIDEO_FIRST)).toMatchObject({
      codec: 'aac',
      sampleRate: 48000,
      channels: 1,
      durationSec: 62.5,
    });
  });

  it('flags durations estimated from the bitrate', () => {
    expect(parseFfmpegBanner(NO_XING)?.durationIsEstimate).toBe(true);
  });

  it('gives PCM its bit depth and lossy codecs none', () => {
    expect(parseFfmpegBanner(WAV)).toMatchObject({ codec: 'pcm_s16le', bitDepth: 16, durationSec: 5 });
    expect(parseFfmpegBanner(MP3)).not.toHaveProperty('bitDepth');
  });

  it('returns null without an audio stream or without an input banner', () => {
    expect(parseFfmpegBanner(NO_AUDIO)).toBeNull();
    expect(parseFfmpegBanner('x.mp3: Invalid data found when processing input')).toBeNull();
  });
});

describe('channelsFromLayout', () => {
  it.each([
    ['mono', 1],
    ['stereo', 2],
    ['5.1(side)', 6],
    ['7.1', 8],
    ['3 channels', 3],
    ['12 channels (FL+FR)', 12],
    ['weird', null],
  ])('%s → %s', (layout, n) => expect(channelsFromLayout(layout)).toBe(n));
});

describe('parseFfprobeJson', () => {
  it('reads the first audio stream and format', () => {
    const json = JSON.stringify({
      streams: [
        { codec_type: 'video', codec_name: 'h264' },
        {
          codec_type: 'audio',
          codec_name: 'flac',
          sample_rate: '96000',
          channels: 2,
          sample_fmt: 's32',
          bits_per_raw_sample: '24',
          duration: '12.5',
        },
      ],
      format: { format_name: 'flac', duration: '12.6', bit_rate: '2000000' },
    });
    expect(parseFfprobeJson(json)).toEqual({
      format: 'flac',
      codec: 'flac',
      sampleRate: 96000,
      channels: 2,
      durationSec: 12.5,
      durationIsEstimate: false,
      bitRate: 2000000,
      bitDepth: 24,
      tags: {},
      hasCoverArt: false,
    });
  });

  it('reads container and stream tags (container first) and an attached picture', () => {
    const json = JSON.stringify({
      streams: [
        {
          codec_type: 'audio',
          codec_name: 'mp3',
          sample_rate: '44100',
          channels: 2,
          tags: { title: 'stream', encoder: 'Lavc' },
        },
        { codec_type: 'video', codec_name: 'h264', disposition: { attached_pic: 1 } },
      ],
      format: { format_name: 'mp3', tags: { title: 'Container', TSRC: 'GBAYE0601498', bogus: 5 } },
    });
    expect(parseFfprobeJson(json)).toMatchObject({
      tags: { title: 'Container', encoder: 'Lavc', TSRC: 'GBAYE0601498' },
      hasCoverArt: true,
    });
  });

  it('names the first JPEG/PNG attached picture as the copyable cover stream', () => {
    const streams = (...video: object[]) =>
      JSON.stringify({
        streams: [
          { index: 0, codec_type: 'audio', codec_name: 'flac', sample_rate: '44100', channels: 2 },
          ...video,
        ],
        format: { format_name: 'flac' },
      });
    const png = { index: 2, codec_type: 'video', codec_name: 'png', disposition: { attached_pic: 1 } };
    const gif = { index: 1, codec_type: 'video', codec_name: 'gif', disposition: { attached_pic: 1 } };
    expect(parseFfprobeJson(streams(gif, png))).toMatchObject({ hasCoverArt: true, coverArtStream: 2 });
    // A GIF only, or an MJPEG *video* (no attached_pic): present, but nothing to copy.
    expect(parseFfprobeJson(streams(gif))).not.toHaveProperty('coverArtStream');
    const mjpegVideo = {
      index: 1,
      codec_type: 'video',
      codec_name: 'mjpeg',
      disposition: { attached_pic: 0 },
    };
    expect(parseFfprobeJson(streams(mjpegVideo))).toMatchObject({ hasCoverArt: true });
    expect(parseFfprobeJson(streams(mjpegVideo))).not.toHaveProperty('coverArtStream');
  });

  it('falls back to the container duration and returns null without audio or on bad JSON', () => {
    const json = JSON.stringify({
      streams: [
        { codec_type: 'audio', codec_name: 'mp3', sample_rate: '44100', channels: 1, bit_rate: '128000' },
      ],
      format: { format_name: 'mp3', duration: '3.000000' },
    });
    expect(
      parseFfprobeJson(json, '[mp3] Estimating duration from bitrate, this may be inaccurate'),
    ).toMatchObject({
      durationSec: 3,
      durationIsEstimate: true,
      bitRate: 128000,
    });
    expect(
      parseFfprobeJson(JSON.stringify({ streams: [{ codec_type: 'video', codec_name: 'h264' }] })),
    ).toBeNull();
    expect(parseFfprobeJson('not json')).toBeNull();
  });
});
