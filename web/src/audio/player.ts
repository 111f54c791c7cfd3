/**
 * Plays every stem in sync through one Web Audio graph: one AudioBufferSourceNode per stem, all
 * started at the same context time and offset (sample-accurate, unlike several <audio> elements),
 * each through its own GainNode. Seeking and looping restart the sources together.
 */
import { effectiveGains, type StemControl } from './mix';
import { decodeWavPcm } from './wav';

export interface LoopRegion {
  start: number;
  end: number;
}

const MIN_LOOP_SECONDS = 0.05;

/**
 * A stem as an AudioBuffer at its own rate (no resampling), so the mix download is the exact sum:
 * WAV is read sample-exact by decodeWavPcm, other codecs by the browser's decoder.
 */
export async function decodeStem(bytes: ArrayBuffer, sampleRate: number): Promise<AudioBuffer> {
  const pcm = decodeWavPcm(bytes);
  if (pcm && pcm.channels[0].length > 0) {
    const buffer = new AudioBuffer({
      length: pcm.channels[0].length,
      numberOfChannels: pcm.channels.length,
      sampleRate: pcm.sampleRate,
    });
    pcm.channels.forEach((data, c) => buffer.copyToChannel(data as Float32Array<ArrayBuffer>, c));
    return buffer;
  }
  const ctx = new OfflineAudioContext(1, 1, sampleRate);
  return ctx.decodeAudioData(bytes);
}

export function channelsOf(buffer: AudioBuffer): Float32Array[] {
  return Array.from({ length: buffer.numberOfChannels }, (_, c) => buffer.getChannelData(c));
}

export class StemPlayer {
  readonly duration: number;
  private ctx: AudioContext | null = null;
  private gains: GainNode[] = [];
  private sources: AudioBufferSourceNode[] = [];
  private startedAt = 0;
  private offset = 0;
  private playing = false;
  private generation = 0;
  private loopRegion: LoopRegion | null = null;
  private looping = false;
  private controls: StemControl[];
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly buffers: AudioBuffer[],
    private readonly sampleRate: number,
    controls: StemControl[],
  ) {
    this.duration = Math.max(0, ...buffers.map((b) => b.duration));
    this.controls = controls;
  }

  get isPlaying(): boolean {
    return this.playing;
  }

  get loop(): LoopRegion | null {
    return this.loopRegion;
  }

  get loopEnabled(): boolean {
    return this.looping && this.loopRegion !== null;
  }

  /** Called when playing/paused, loop or position changes by itself (end of the song). */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const l of [...this.listeners]) l();
  }

  position(): number {
    if (!this.playing || !this.ctx) return this.offset;
    let t = this.offset + Math.max(0, this.ctx.currentTime - this.startedAt);
    const r = this.loopRegion;
    if (this.looping && r && this.offset < r.end && t >= r.end) {
      t = r.start + ((t - r.start) % (r.end - r.start));
    }
    return Math.min(t, this.duration);
  }

  async play(): Promise<void> {
    if (this.playing) return;
    if (!this.ctx) {
      this.ctx = new AudioContext({ sampleRate: this.sampleRate, latencyHint: 'playback' });
      this.gains = this.buffers.map(() => {
        const g = this.ctx!.createGain();
        g.connect(this.ctx!.destination);
        return g;
      });
      this.applyGains(true);
    }
    await this.ctx.resume();
    if (this.offset >= this.duration - 0.01) this.offset = 0;
    const r = this.loopRegion;
    if (this.looping && r && (this.offset < r.start || this.offset >= r.end)) this.offset = r.start;
    this.start();
    this.changed();
  }

  pause(): void {
    if (!this.playing) return;
    this.offset = this.position();
    this.stopSources();
    this.playing = false;
    this.changed();
  }

  toggle(): Promise<void> | void {
    return this.playing ? this.pause() : this.play();
  }

  seek(seconds: number): void {
    const t = Math.min(Math.max(0, seconds), this.duration);
    if (this.playing) {
      this.stopSources();
      this.offset = t;
      const r = this.loopRegion;
      // Seeking out of an active loop region turns the loop off rather than jumping back.
      if (this.looping && r && (t < r.start || t >= r.end)) this.looping = false;
      this.start();
    } else {
      this.offset = t;
    }
    this.changed();
  }

  setControls(controls: StemControl[]): void {
    this.controls = controls;
    this.applyGains(false);
  }

  /** Sets (or clears) the loop region; `enabled` turns looping on or off. */
  setLoop(region: LoopRegion | null, enabled = region !== null): void {
    const r =
      region && region.end - region.start >= MIN_LOOP_SECONDS
        ? { start: Math.max(0, region.start), end: Math.min(this.duration, region.end) }
        : null;
    const pos = this.position();
    this.loopRegion = r;
    this.looping = enabled && r !== null;
    if (this.playing) {
      this.stopSources();
      this.offset = this.looping && r && (pos < r.start || pos >= r.end) ? r.start : pos;
      this.start();
    }
    this.changed();
  }

  async close(): Promise<void> {
    this.stopSources();
    this.playing = false;
    this.listeners.clear();
    await this.ctx?.close().catch(() => undefined);
    this.ctx = null;
  }

  private applyGains(immediate: boolean): void {
    if (!this.ctx) return;
    const gains = effectiveGains(this.controls);
    const now = this.ctx.currentTime;
    this.gains.forEach((node, i) => {
      // A short ramp avoids clicks when muting during playback.
      if (immediate) node.gain.value = gains[i] ?? 0;
      else node.gain.setTargetAtTime(gains[i] ?? 0, now, 0.01);
    });
  }

  private start(): void {
    const ctx = this.ctx!;
    const generation = ++this.generation;
    const when = ctx.currentTime + 0.03;
    const r = this.loopRegion;
    this.sources = this.buffers.map((buffer, i) => {
      const src = ctx.createBufferSource();
      src.buffer = buffer;
      if (this.looping && r) {
        src.loop = true;
        src.loopStart = r.start;
        src.loopEnd = r.end;
      }
      src.connect(this.gains[i]);
      src.start(when, Math.min(this.offset, buffer.duration));
      return src;
    });
    // The longest stem ends last: that is the end of the song.
    const longest = this.buffers.reduce(
      (best, b, i) => (b.duration > this.buffers[best].duration ? i : best),
      0,
    );
    this.sources[longest].onended = () => {
      if (generation !== this.generation || !this.playing) return;
      this.playing = false;
      this.offset = this.duration;
      this.sources = [];
      this.changed();
    };
    this.startedAt = when;
    this.playing = true;
  }

  private stopSources(): void {
    this.generation++;
    for (const s of this.sources) {
      try {
        s.onended = null;
        s.stop();
        s.disconnect();
      } catch {
        // already stopped
      }
    }
    this.sources = [];
  }
}
