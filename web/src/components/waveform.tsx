import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { computePeaks } from '../audio/peaks';
import type { LoopRegion } from '../audio/player';

interface Props {
  channels: Float32Array[];
  duration: number;
  position: number;
  loop: LoopRegion | null;
  loopEnabled: boolean;
  dimmed: boolean;
  color: string;
  label: string;
  onSeek(seconds: number): void;
  onLoop(region: LoopRegion): void;
}

const DRAG_PX = 4;

/**
 * One stem's waveform on a canvas: click to seek, drag to select a loop region. The canvas is a
 * pointer convenience; the same actions are on the position slider and the keyboard.
 */
export function Waveform(p: Props) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const [width, setWidth] = useState(0);
  const [drag, setDrag] = useState<{ from: number; to: number } | null>(null);

  useEffect(() => {
    const el = canvas.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setWidth(el.clientWidth));
    ro.observe(el);
    setWidth(el.clientWidth);
    return () => ro.disconnect();
  }, []);

  const dpr = typeof devicePixelRatio === 'number' ? Math.min(2, devicePixelRatio) : 1;
  const peaks = useMemo(
    () => (width > 0 ? computePeaks(p.channels, Math.round(width * dpr)) : null),
    [p.channels, width, dpr],
  );

  useEffect(() => {
    const el = canvas.current;
    if (!el || !peaks) return;
    const w = Math.round(width * dpr);
    const h = Math.round(el.clientHeight * dpr);
    if (el.width !== w) el.width = w;
    if (el.height !== h) el.height = h;
    const g = el.getContext('2d');
    if (!g) return;
    g.clearRect(0, 0, w, h);
    const x = (t: number) => (p.duration > 0 ? (t / p.duration) * w : 0);
    const region = drag ? { start: Math.min(drag.from, drag.to), end: Math.max(drag.from, drag.to) } : p.loop;
    if (region) {
      g.fillStyle = p.loopEnabled || drag ? 'rgba(251, 191, 36, 0.28)' : 'rgba(148, 163, 184, 0.22)';
      g.fillRect(x(region.start), 0, Math.max(1, x(region.end) - x(region.start)), h);
    }
    g.globalAlpha = p.dimmed ? 0.3 : 1;
    g.fillStyle = p.color;
    const mid = h / 2;
    for (let i = 0; i < w; i++) {
      const lo = peaks[i * 2];
      const hi = peaks[i * 2 + 1];
      const top = mid - hi * mid;
      g.fillRect(i, top, 1, Math.max(1, (hi - lo) * mid));
    }
    g.globalAlpha = 1;
    g.fillStyle = '#f43f5e';
    g.fillRect(Math.round(x(p.position)), 0, Math.max(1, dpr), h);
  }, [peaks, p.position, p.loop, p.loopEnabled, p.dimmed, p.color, drag, width, dpr, p.duration]);

  const timeAt = (e: PointerEvent) => {
    const rect = canvas.current!.getBoundingClientRect();
    const f = Math.min(1, Math.max(0, (e.clientX - rect.left) / Math.max(1, rect.width)));
    return f * p.duration;
  };
  const start = useRef<{ x: number; t: number } | null>(null);

  return (
    <canvas
      ref={canvas}
      class="waveform"
      role="img"
      aria-label={`${p.label} waveform (click to seek, drag to select a loop)`}
      onPointerDown={(e) => {
        (e.target as HTMLCanvasElement).setPointerCapture(e.pointerId);
        start.current = { x: e.clientX, t: timeAt(e) };
      }}
      onPointerMove={(e) => {
        const s = start.current;
        if (s && Math.abs(e.clientX - s.x) > DRAG_PX) setDrag({ from: s.t, to: timeAt(e) });
      }}
      onPointerUp={(e) => {
        const s = start.current;
        start.current = null;
        if (!s) return;
        if (Math.abs(e.clientX - s.x) > DRAG_PX) {
          const t = timeAt(e);
          p.onLoop({ start: Math.min(s.t, t), end: Math.max(s.t, t) });
        } else {
          p.onSeek(s.t);
        }
        setDrag(null);
      }}
      onPointerCancel={() => {
        start.current = null;
        setDrag(null);
      }}
    />
  );
}
