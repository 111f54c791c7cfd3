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
