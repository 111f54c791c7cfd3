/**
 * `fn`, its result reused for `ttlMs` (0: not at all). A rejected promise is not kept, so a failed
 * reading is retried at the next call.
 */
export function reuseFor<T>(ttlMs: number, fn: () => T, now: () => number = Date.now): () => T {
  if (!(ttlMs > 0)) return fn;
  let last: { at: number; value: T } | undefined;
  return () => {
    const t = now();
    if (last && t - last.at < ttlMs) return last.value;
    const value = fn();
    const entry = { at: t, value };
    last = entry;
    if (value instanceof Promise) {
      value.catch(() => {
        if (last === entry) last = undefined;
      });
    }
    return value;
  };
}
