/**
 * Container tags in one vocabulary. Files name the same thing differently (ID3 frames, Vorbis
 * comments, MP4 atoms as ffmpeg names them, RIFF INFO chunks): `normalizeTags` maps what a probe
 * or the WAV reader found onto AudioTags, case-insensitively, first alias wins. For output,
 * `stemTags` derives a stem's tags (the stem name added to the title) and `ffmpegMetadataArgs`
 * turns tags into ffmpeg `-metadata` arguments with the keys each container expects.
 */
import type { OutputCodec } from './audio-codec';

export interface AudioTags {
  title?: string;
  artist?: string;
  album?: string;
  albumArtist?: string;
  date?: string;
  genre?: string;
  /** As written, e.g. "3" or "3/12". */
  track?: string;
  disc?: string;
  isrc?: string;
  composer?: string;
  comment?: string;
  copyright?: string;
}

export type AudioTagName = keyof AudioTags;

/** Raw keys (lower case) that carry each tag, in order of preference. */
export const TAG_ALIASES: Readonly<Record<AudioTagName, readonly string[]>> = {
  title: ['title', 'tit2', 'inam'],
  artist: ['artist', 'tpe1', 'iart'],
  album: ['album', 'talb', 'iprd'],
  albumArtist: ['album_artist', 'albumartist', 'album artist', 'tpe2'],
  date: ['date', 'tdrc', 'year', 'tyer', 'icrd', 'originaldate', 'tdor'],
  genre: ['genre', 'tcon', 'ignr'],
  track: ['track', 'tracknumber', 'trck', 'itrk', 'iprt'],
  disc: ['disc', 'discnumber', 'tpos'],
  isrc: ['isrc', 'tsrc'],
  composer: ['composer', 'tcom'],
  comment: ['comment', 'description', 'icmt'],
  copyright: ['copyright', 'tcop', 'icop'],
};

export const TAG_NAMES = Object.keys(TAG_ALIASES) as AudioTagName[];

/** Longest tag value kept (longer ones are cut: tags are not a storage channel). */
export const MAX_TAG_LENGTH = 1024;

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;

/** Trims, drops control characters other than line breaks and tabs, caps the length. */
export function cleanTagValue(value: string): string {
  return value.replace(CONTROL, '').trim().slice(0, MAX_TAG_LENGTH);
}

/** Maps raw container tags (any case) onto AudioTags; empty values are left out. */
export function normalizeTags(raw: Readonly<Record<string, string>>): AudioTags {
  const lower = new Map<string, string>();
  for (const [k, v] of Object.entries(raw)) {
    const key = k.trim().toLowerCase();
    if (typeof v === 'string' && !lower.has(key)) lower.set(key, v);
  }
  const tags: AudioTags = {};
  for (const name of TAG_NAMES) {
    for (const alias of TAG_ALIASES[name]) {
      const v = lower.get(alias);
      if (v === undefined) continue;
      const clean = cleanTagValue(v);
      if (clean) {
        tags[name] = clean;
        break;
      }
    }
  }
  return tags;
}

/**
 * Tags for a stem of a separated file: everything from the input, with the stem name added to
 * the title ("Song (vocals)"); without an input title, `fallbackTitle` (e.g. the file name) is used.
 */
export function stemTags(input: AudioTags, stem: string, fallbackTitle?: string): AudioTags {
  const base = input.title ?? (fallbackTitle ? cleanTagValue(fallbackTitle) : undefined);
  return { ...input, title: base ? `${base} (${stem})` : stem };
}

/**
 * `-metadata key=value` arguments for an ffmpeg encode to `codec`. ISRC goes to MP3 as the TSRC
 * frame (ffmpeg would otherwise write a TXXX frame named "isrc") and to FLAC/Ogg as the ISRC
 * comment; WAV's RIFF INFO has no ISRC field (its "ISRC" chunk means "source"), so it is left out
 * there, as is the album artist.
 */
export function ffmpegMetadataArgs(tags: AudioTags, codec: OutputCodec): string[] {
  const keys: Record<AudioTagName, string | null> = {
    title: 'title',
    artist: 'artist',
    album: 'album',
    albumArtist: codec === 'wav' ? null : 'album_artist',
    date: 'date',
    genre: 'genre',
    track: 'track',
    disc: codec === 'wav' ? null : 'disc',
    isrc: codec === 'mp3' ? 'TSRC' : codec === 'wav' ? null : 'ISRC',
    composer: codec === 'wav' ? null : 'composer',
    comment: 'comment',
    copyright: 'copyright',
  };
  const args: string[] = [];
  for (const name of TAG_NAMES) {
    const key = keys[name];
    const value = tags[name];
    if (!key || value === undefined) continue;
    const clean = cleanTagValue(value);
    if (clean) args.push('-metadata', `${key}=${clean}`);
  }
  return args;
}
