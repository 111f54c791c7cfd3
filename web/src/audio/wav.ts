/**
 * 16-bit PCM WAV writer for the mix download: the format every player and DAW opens. Samples are
 * rounded to the nearest step and clipped to [-1, 1) (a mix of stems that together make up the
 * song stays in range; a boosted one may not, and clipping beats wrapping around).
 */

export function encodeWav16(channels: Float32Array[], sampleRate: number): ArrayBuffer {
  const numChannels = channels.length;
  const frames = numChannels > 0 ? channels[0].length : 0;
  const dataBytes = frames * numChannels * 2;
  const buffer = new ArrayBuffer(44 + dataBytes);
  const view = new DataView(buffer);
  const ascii = (offset: number, text: string) => {
    for (let i = 0; i < text.length; i++) view.setUint8(offset + i, text.charCodeAt(i));
  };
  ascii(0, 'RIFF');
  view.setUint32(4, 36 + dataBytes, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, numChannels, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * numChannels * 2, true);
  view.setUint16(32, numChannels * 2, true);
  view.setUint16(34, 16, true);
  ascii(36, 'data');
  view.setUint32(40, dataBytes, true);
  const pcm = new Int16Array(buffer, 44, frames * numChannels);
  for (let c = 0; c < numChannels; c++) {
    const src = channels[c];
    for (let i = 0, j = c; i < frames; i++, j += numChannels) {
      const v = Math.round(src[i] * 32768);
      pcm[j] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
    }
  }
  return buffer;
}

export interface PcmAudio {
  sampleRate: number;
  channels: Float32Array[];
}

/**
 * Reads a PCM WAV (16/24/32-bit integer or 32-bit float, plain or WAVE_FORMAT_EXTENSIBLE) exactly:
 * integers scale by 1/2^(bits-1), the inverse of encodeWav16. Browsers' decodeAudioData does not
 * promise that (Chromium divides positive 16-bit values by 32767), so the stems the server sends as
 * WAV are read here and the mix is the exact sum. Returns null for anything else (FLAC, MP3…).
 */
export function decodeWavPcm(bytes: ArrayBuffer): PcmAudio | null {
  const view = new DataView(bytes);
  const tag = (o: number) =>
    String.fromCharCode(view.getUint8(o), view.getUint8(o + 1), view.getUint8(o + 2), view.getUint8(o + 3));
  if (bytes.byteLength < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') return null;
  let fmt: { format: number; channels: number; rate: number; bits: number } | null = null;
  for (let off = 12; off + 8 <= bytes.byteLength;) {
    const id = tag(off);
    const size = view.getUint32(off + 4, true);
    const body = off + 8;
    if (id === 'fmt ' && size >= 16) {
      let format = view.getUint16(body, true);
      if (format === 0xfffe && size >= 26) format = view.getUint16(body + 24, true);
      fmt = {
        format,
        channels: view.getUint16(body + 2, true),
        rate: view.getUint32(body + 4, true),
        bits: view.getUint16(body + 14, true),
      };
    } else if (id === 'data' && fmt) {
      const { format, channels, bits } = fmt;
      const width = bits / 8;
      const supported =
        (format === 1 && (bits === 16 || bits === 24 || bits === 32)) || (format === 3 && bits === 32);
      if (!supported || channels < 1) return null;
      const end = Math.min(bytes.byteLength, body + size);
      const frames = Math.floor((end - body) / (width * channels));
      const out = Array.from({ length: channels }, () => new Float32Array(frames));
      const scale = 1 / 2 ** (bits - 1);
      for (let i = 0, p = body; i < frames; i++) {
        for (let c = 0; c < channels; c++, p += width) {
          let v: number;
          if (format === 3) v = view.getFloat32(p, true);
          else if (bits === 16) v = view.getInt16(p, true) * scale;
          else if (bits === 24)
            v = (view.getUint8(p) | (view.getUint8(p + 1) << 8) | (view.getInt8(p + 2) << 16)) * scale;
          else v = view.getInt32(p, true) * scale;
          out[c][i] = v;
        }
      }
      return { sampleRate: fmt.rate, channels: out };
    }
    off = body + size + (size & 1);
  }
  return null;
}
