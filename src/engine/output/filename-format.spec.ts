import * as path from 'path';
import { ValidationError } from '../../core/errors';
import { DEFAULT_FILENAME_FORMAT, renderOutputPath } from './filename-format';

describe('renderOutputPath', () => {
  const out = path.resolve('/tmp/out');

  it('renders the Spleeter default layout', () => {
    expect(
      renderOutputPath(out, DEFAULT_FILENAME_FORMAT, {
        audioPath: '/music/a/song.mp3',
        instrument: 'vocals',
        codec: 'wav',
      }),
    ).toBe(path.join(out, 'song', 'vocals.wav'));
  });

  it('supports {foldername}', () => {
    expect(
      renderOutputPath(out, '{foldername}/{filename}-{instrument}.{codec}', {
        audioPath: '/music/album/track.flac',
        instrument: 'bass',
        codec: 'flac',
      }),
    ).toBe(path.join(out, 'album', 'track-bass.flac'));
  });

  it.each(['../{instrument}.{codec}', '/etc/{instrument}', '{nope}.{codec}'])('refuses %s', (format) => {
    expect(() =>
      renderOutputPath(out, format, { audioPath: 'x.wav', instrument: 'v', codec: 'wav' }),
    ).toThrow(ValidationError);
  });
});
