/**
 * Channel mapping for interleaved float buffers.
 *
 * Engine input follows official Spleeter (MODEL-FORMATS A2): mono is duplicated to every output
 * channel, more channels than wanted keep the first ones (no downmix: Spleeter does not mix a 5.1
 * centre into L/R either). The one case A2 does not cover, several channels to mono, averages the
 * first two (the L/R pair), so a stereo → mono → stereo trip keeps the level of centred material.
 */

/** Maps `input` (interleaved, `inChannels`) to `outChannels`; returns `input` itself when equal. */
export function mapChannels(input: Float32Array, inChannels: number, outChannels: number): Float32Array {
  if (inChannels === outChannels) return input;
  const frames = input.length / inChannels;
  const out = new Float32Array(frames * outChannels);
  if (inChannels === 1) {
    for (let i = 0, o = 0; i < frames; i++) {
      const v = input[i];
      for (let c = 0; c < outChannels; c++) out[o++] = v;
    }
  } else if (outChannels === 1) {
    for (let i = 0, j = 0; i < frames; i++, j += inChannels) out[i] = 0.5 * (input[j] + input[j + 1]);
  } else if (outChannels < inChannels) {
    for (let i = 0, j = 0, o = 0; i < frames; i++, j += inChannels) {
      for (let c = 0; c < outChannels; c++) out[o++] = input[j + c];
    }
  } else {
    // More outputs than inputs (e.g. stereo → 4): copy what exists, leave the rest silent.
    for (let i = 0, j = 0, o = 0; i < frames; i++, j += inChannels, o += outChannels) {
      for (let c = 0; c < inChannels; c++) out[o + c] = input[j + c];
    }
  }
  return out;
}

/** Average of all channels (for callers that explicitly want a full mono fold-down). */
export function downmixToMono(input: Float32Array, channels: number): Float32Array {
  if (channels === 1) return input;
  const frames = input.length / channels;
  const out = new Float32Array(frames);
  const scale = 1 / channels;
  for (let i = 0, j = 0; i < frames; i++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += input[j++];
    out[i] = sum * scale;
  }
  return out;
}

/** Interleaved → one array per channel. */
export function deinterleave(input: Float32Array, channels: number): Float32Array[] {
  const frames = input.length / channels;
  const out = Array.from({ length: channels }, () => new Float32Array(frames));
  for (let i = 0, j = 0; i < frames; i++) for (let c = 0; c < channels; c++) out[c][i] = input[j++];
  return out;
}

/** One array per channel (equal lengths) → interleaved. */
export function interleave(planes: readonly Float32Array[]): Float32Array {
  const channels = planes.length;
  const frames = channels ? planes[0].length : 0;
  const out = new Float32Array(frames * channels);
  for (let c = 0; c < channels; c++) {
    const plane = planes[c];
    for (let i = 0, o = c; i < frames; i++, o += channels) out[o] = plane[i];
  }
  return out;
}
