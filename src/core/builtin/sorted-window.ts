/**
 * Sliding-window median helpers on sorted runs stored inside a larger Float32Array (one run of
 * `size` values per bin, all in one allocation). Replace-one-value keeps each step O(size) with no
 * allocation, which beats re-sorting or quickselect for the 17-wide windows HPSS uses.
 */

/**
 * In the sorted run arr[base .. base+size), replace one occurrence of `oldValue` by `newValue`,
 * keeping the run sorted. Both must be float32-representable (read back from a Float32Array) and
 * `oldValue` must be present (it is: callers remove what they inserted).
 */
export function replaceSorted(
  arr: Float32Array,
  base: number,
  size: number,
  oldF: number,
  newF: number,
): void {
  // Binary search for the old value's position.
  let lo = base;
  let hi = base + size - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (arr[mid] < oldF) lo = mid + 1;
    else hi = mid;
  }
  let i = lo;
  const end = base + size - 1;
  if (newF > oldF) {
    while (i < end && arr[i + 1] < newF) {
      arr[i] = arr[i + 1];
      i++;
    }
  } else {
    while (i > base && arr[i - 1] > newF) {
      arr[i] = arr[i - 1];
      i--;
    }
  }
  arr[i] = newF;
}

/** Median of an odd-sized sorted run. */
export function sortedMedian(arr: Float32Array, base: number, size: number): number {
  return arr[base + (size >> 1)];
}
