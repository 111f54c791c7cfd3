import { cleanTagValue, ffmpegMetadataArgs, normalizeTags, stemTags } from './audio-tags';

describe('normalizeTags', () => {
  it('maps ffmpeg, ID3, Vorbis and RIFF INFO names onto one vocabulary, case-insensitively', () => {
    expect(
      normalizeTags({
        TITLE: 'Vorbis title',
        TPE1: 'ID3 artist',
        IPRD: 'INFO album',
        album_artist: 'AA',
        TDRC: '2021',
        Genre: 'Rock',
        TRACKNUMBER: '3/12',
        TSRC: 'GBAYE0601498',
        encoder: 'Lavf',
      }),
    ).toEqual({
      title: 'Vorbis title',
      artist: 'ID3 artist',
      album: 'INFO album',
      albumArtist: 'AA',
      date: '2021',
      genre: 'Rock',
      track: '3/12',
      isrc: 'GBAYE0601498',
    });
  });

  it('prefers the first alias, skips empty values and strips control characters', () => {
    expect(
      normalizeTags({ year: '1999', date: '1999-01-02', title: '  \u0000 ', artist: 'a\u0007b' }),
    ).toEqual({
      date: '1999-01-02',
      artist: 'ab',
    });
    expect(cleanTagValue('x'.repeat(5000))).toHaveLength(1024);
  });
});

describe('stemTags', () => {
  it('adds the stem name to the title, or uses the fallback title, keeping the rest', () => {
    expect(stemTags({ title: 'Song', artist: 'A' }, 'vocals')).toEqual({
      title: 'Song (vocals)',
      artist: 'A',
    });
    expect(stemTags({ artist: 'A' }, 'drums', 'my-file')).toEqual({ title: 'my-file (drums)', artist: 'A' });
    expect(stemTags({}, 'bass')).toEqual({ title: 'bass' });
  });
});

describe('ffmpegMetadataArgs', () => {
  it('uses TSRC for MP3, ISRC for FLAC/Ogg and leaves WAV without fields RIFF INFO lacks', () => {
    const tags = { title: 'T', isrc: 'X', albumArtist: 'AA', disc: '1' };
    expect(ffmpegMetadataArgs(tags, 'mp3')).toEqual([
      '-metadata',
      'title=T',
      '-metadata',
      'album_artist=AA',
      '-metadata',
      'disc=1',
      '-metadata',
      'TSRC=X',
    ]);
    expect(ffmpegMetadataArgs(tags, 'ogg')).toContain('ISRC=X');
    expect(ffmpegMetadataArgs(tags, 'wav')).toEqual(['-metadata', 'title=T']);
  });
});
