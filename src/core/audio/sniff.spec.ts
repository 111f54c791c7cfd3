import { encodeWav, seededBytes, tone } from '../../../test/factories/audio';
import {
  describeAudioFormat,
  id3v2TagSize,
  mpegAudioFrameLength,
  sniffAudioFormat,
  sniffAudioSource,
  type AudioFormatId,
} from './sniff';

const bytes = (...parts: Array<string | number[] | Uint8Array>): Uint8Array =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));
const zeros = (n: number) => new Uint8Array(n);

/** `count` MPEG-1 layer III frames, 128 kbit/s, 44.1 kHz, no padding: 417 bytes each. */
function mp3Frames(count = 4): Uint8Array {
  const frame = new Uint8Array(417);
  frame.set([0xff, 0xfb, 0x90, 0x64]);
  return bytes(...Array.from({ length: count }, () => frame));
}

/** `count` ADTS frames (AAC LC, 44.1 kHz, stereo) of `length` bytes. */
function adtsFrames(count = 4, length = 200): Uint8Array {
  const frame = new Uint8Array(length);
  frame.set([
    0xff,
    0xf1,
    0x50,
    0x80 | (length >> 11),
    (length >> 3) & 0xff,
    ((length & 7) << 5) | 0x1f,
    0xfc,
  ]);
  return bytes(...Array.from({ length: count }, () => frame));
}

function id3Tag(bodySize: number): Uint8Array {
  const synchsafe = [
    (bodySize >> 21) & 0x7f,
    (bodySize >> 14) & 0x7f,
    (bodySize >> 7) & 0x7f,
    bodySize & 0x7f,
  ];
  return bytes('ID3', [4, 0, 0], synchsafe, zeros(Math.min(bodySize, 100_000)));
}

function ac3Frames(): Uint8Array {
  // 48 kHz, frmsizecod 28 → 768 words = 1536 bytes; bsid 8.
  const frame = new Uint8Array(1536);
  frame.set([0x0b, 0x77, 0x00, 0x00, 0x1c, 0x40]);
  return bytes(frame, frame);
}

const POSITIVE: Array<[AudioFormatId, Uint8Array]> = [
  ['wav', encodeWav(tone({ seconds: 0.01 }))],
  ['rf64', encodeWav(tone({ seconds: 0.01 }), { rf64: true })],
  ['rf64', bytes('BW64', [0xff, 0xff, 0xff, 0xff], 'WAVE', zeros(64))],
  ['rifx', bytes('RIFX', zeros(4), 'WAVE', zeros(64))],
  ['avi', bytes('RIFF', zeros(4), 'AVI LIST', zeros(64))],
  ['w64', bytes('riff', [0x2e, 0x91, 0xcf, 0x11, 0xa5, 0xd6, 0x28, 0xdb, 0x04, 0xc1, 0, 0], zeros(64))],
  ['aiff', bytes('FORM', zeros(4), 'AIFFCOMM', zeros(64))],
  ['aiff', bytes('FORM', zeros(4), 'AIFCFVER', zeros(64))],
  ['flac', bytes('fLaC', [0, 0, 0, 34], zeros(64))],
  ['ogg', bytes('OggS', [0, 2], zeros(64))],
  ['mp3', mp3Frames()],
  ['mp3', bytes(zeros(100), mp3Frames())],
  ['mp3', bytes(id3Tag(300), mp3Frames())],
  ['mp3', id3Tag(5_000_000)], // cover art larger than the sniff window
  ['aac', adtsFrames()],
  ['aac', bytes(id3Tag(50), adtsFrames())],
  ['flac', bytes(id3Tag(50), 'fLaC', zeros(64))],
  ['mp4', bytes([0, 0, 0, 0x20], 'ftypM4A ', zeros(4), 'M4A mp42isom', zeros(8))],
  ['mp4', bytes([0, 0, 0, 0x18], 'ftyp3gp4', zeros(16))],
  ['mp4', bytes([0, 0, 1, 0], 'moov', zeros(64))],
  ['mp4', bytes([0, 0, 0, 8], 'free', [0, 0, 0, 8], 'mdat', zeros(64))],
  [
    'asf',
    bytes(
      [0x30, 0x26, 0xb2, 0x75, 0x8e, 0x66, 0xcf, 0x11, 0xa6, 0xd9, 0x00, 0xaa, 0x00, 0x62, 0xce, 0x6c],
      zeros(64),
    ),
  ],
  ['caf', bytes('caff', [0, 1, 0, 0], 'desc', zeros(64))],
  ['matroska', bytes([0x1a, 0x45, 0xdf, 0xa3], zeros(64))],
  ['amr', bytes('#!AMR\n', zeros(64))],
  ['amr', bytes('#!AMR-WB\n', zeros(64))],
  ['ac3', ac3Frames()],
  ['dts', bytes([0x7f, 0xfe, 0x80, 0x01], zeros(64))],
  ['ape', bytes('MAC ', zeros(64))],
  ['wavpack', bytes('wvpk', zeros(64))],
  ['tta', bytes('TTA1', zeros(64))],
  ['mpc8', bytes('MPCK', zeros(64))],
  ['mpc', bytes('MP+', [0x17], zeros(64))],
  ['au', bytes('.snd', zeros(64))],
  ['voc', bytes('Creative Voice File\x1a', zeros(64))],
  ['flv', bytes('FLV', [1, 5], zeros(64))],
  ['mpeg-ps', bytes([0, 0, 1, 0xba], zeros(64))],
  [
    'mpeg-ts',
    (() => {
      const ts = new Uint8Array(188 * 4);
      for (let i = 0; i < 4; i++) ts[i * 188] = 0x47;
      return ts;
    })(),
  ],
];

const NEGATIVE: Array<[string, Uint8Array]> = [
  ['empty', zeros(0)],
  ['three bytes', bytes('RIF')],
  ['plain text', bytes('Hello, this is a text file.\nNothing to hear here.\n'.repeat(20))],
  ['text starting with ID3', bytes('ID3 tags are metadata, this is prose about them.')],
  ['JSON', bytes('{"audio": "not really", "samples": [1,2,3]}')],
  ['HTML error page', bytes('<!DOCTYPE html><html><body>413 Request Entity Too Large</body></html>')],
  ['HLS playlist', bytes('#EXTM3U\n#EXTINF:10,\nfile:///etc/passwd\n')],
  ['PNG', bytes([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], zeros(64))],
  ['ZIP', bytes('PK', [3, 4], zeros(64))],
  ['PDF', bytes('%PDF-1.7\n', zeros(64))],
  ['WebP (RIFF but not WAVE)', bytes('RIFF', zeros(4), 'WEBPVP8 ', zeros(64))],
  ['MIDI', bytes('MThd', [0, 0, 0, 6], zeros(64))],
  ['all zeros', zeros(8192)],
  [
    'lone MPEG sync with a bad second frame',
    bytes([0xff, 0xfb, 0x90, 0x64], zeros(413), [0x12, 0x34, 0x56, 0x78], zeros(2000)),
  ],
  ['MPEG header with reserved sample rate', bytes([0xff, 0xfb, 0x9c, 0x64], zeros(2000))],
  ['ftyp with a bogus size', bytes([0, 0, 0, 4], 'ftypM4A ', zeros(64))],
];

describe('sniffAudioFormat', () => {
  it.each(POSITIVE.map(([id, head], i) => [i, id, head] as const))(
    'case %i recognises %s',
    (_i, id, head) => {
      expect(sniffAudioFormat(head)).toBe(id);
    },
  );

  it.each(NEGATIVE)('rejects %s', (_name, head) => {
    expect(sniffAudioFormat(head)).toBeNull();
  });

  it('never mistakes random bytes for audio (2000 seeded 8 KiB buffers)', () => {
    const hits: number[] = [];
    for (let seed = 1; seed <= 2000; seed++) {
      const head = seededBytes(8192, seed);
      if (sniffAudioFormat(head) !== null) hits.push(seed);
    }
    expect(hits).toEqual([]);
  });

  it('maps every format to a demuxer ffmpeg 4 has, WAV/RF64 alone being native', () => {
    const known = new Set([
      'wav',
      'w64',
      'aiff',
      'flac',
      'ogg',
      'mp3',
      'aac',
      'mov',
      'asf',
      'caf',
      'matroska',
      'amr',
      'ac3',
      'eac3',
      'dts',
      'ape',
      'wv',
      'tta',
      'mpc',
      'mpc8',
      'au',
      'voc',
      'avi',
      'flv',
      'mpeg',
      'mpegts',
    ]);
    for (const [id] of POSITIVE) {
      const d = describeAudioFormat(id);
      expect(known.has(d.demuxer)).toBe(true);
      expect(d.native).toBe(id === 'wav' || id === 'rf64');
    }
  });
});

describe('id3v2TagSize', () => {
  it('decodes the synchsafe size and adds the footer when flagged', () => {
    expect(id3v2TagSize(bytes('ID3', [3, 0, 0], [0, 0, 2, 1]))).toBe(10 + 257);
    expect(id3v2TagSize(bytes('ID3', [4, 0, 0x10], [0, 0, 0, 5]))).toBe(10 + 5 + 10);
  });

  it('rejects sizes with the high bit set (not synchsafe)', () => {
    expect(id3v2TagSize(bytes('ID3', [3, 0, 0], [0, 0, 0x80, 0]))).toBeNull();
  });
});

describe('mpegAudioFrameLength', () => {
  it('computes layer III and layer II frame sizes with padding', () => {
    expect(mpegAudioFrameLength(bytes([0xff, 0xfb, 0x90, 0x64]), 0)).toBe(417);
    expect(mpegAudioFrameLength(bytes([0xff, 0xfb, 0x92, 0x64]), 0)).toBe(418); // padded
    expect(mpegAudioFrameLength(bytes([0xff, 0xfd, 0xa0, 0x04]), 0)).toBe(Math.floor((144 * 192000) / 44100));
    expect(mpegAudioFrameLength(bytes([0xff, 0xf3, 0x90, 0x64]), 0)).toBe(Math.floor((72 * 80000) / 22050)); // MPEG-2
  });

  it('returns 0 for free-format and bad bitrates', () => {
    expect(mpegAudioFrameLength(bytes([0xff, 0xfb, 0x00, 0x64]), 0)).toBe(0);
    expect(mpegAudioFrameLength(bytes([0xff, 0xfb, 0xf0, 0x64]), 0)).toBe(0);
  });
});

describe('sniffAudioSource', () => {
  it('skips an ID3 tag larger than the first read and sniffs what follows', async () => {
    const file = Buffer.from(bytes(id3Tag(20_000), 'fLaC', zeros(100)));
    const reads: Array<[number, number]> = [];
    const readAt = async (position: number, length: number) => {
      reads.push([position, length]);
      return file.subarray(position, position + length);
    };
    expect(await sniffAudioSource(readAt)).toBe('flac');
    expect(reads.map(([p]) => p)).toEqual([0, 20_010]);
  });

  it('treats an ID3 tag followed by unrecognised bytes as MP3 (the demuxer resyncs)', async () => {
    const file = Buffer.from(bytes(id3Tag(10), 'junk', zeros(100)));
    expect(await sniffAudioSource(async (p, l) => file.subarray(p, p + l))).toBe('mp3');
  });

  it('returns null for a text file', async () => {
    const file = Buffer.from('just text\n'.repeat(100));
    expect(await sniffAudioSource(async (p, l) => file.subarray(p, p + l))).toBeNull();
  });
});
