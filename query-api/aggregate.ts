/**
 * Combining window statistics across sensors and traveler types, and zero-filling a range.
 *
 * Combination of windows with the same start: counts are summed, `speedMin` is the min of the mins,
 * `speedMax` the max of the maxes, `speedMean` the mean weighted by `speedSamples` (the exact mean
 * over all the underlying samples). Summed `travelers` is a sum of distinct counts per (sensor, type):
 * a traveler counted under two keys counts twice, so it is not a global distinct count.
 */
import { WINDOW_STEP_MS, type WindowColumns, type WindowStats } from './series-index.ts'

/** One window of a series, as `traffic.series` returns it. */
export interface SeriesPoint extends WindowStats {
  /** Window start, epoch ms (UTC), a multiple of one minute. */
  readonly windowStart: number
}

/** The window starts of `[fromMs, toMs)`: multiples of `stepMs`; `first` is the first one, `count` how many. */
export function windowSlots(fromMs: number, toMs: number, stepMs = WINDOW_STEP_MS): { first: number; count: number } {
  const first = Math.ceil(fromMs / stepMs) * stepMs
  const count = toMs > first ? Math.ceil((toMs - first) / stepMs) : 0
  return { first, count }
}

/**
 * The combined, zero-filled series of `series` over the windows starting in `[fromMs, toMs)`:
 * one point per minute; a minute no series has is `{0, 0, 0, null, null, null}`.
 */
export function aggregateSeries(series: readonly WindowColumns[], fromMs: number, toMs: number, stepMs = WINDOW_STEP_MS): SeriesPoint[] {
  const { first, count } = windowSlots(fromMs, toMs, stepMs)
  const observations = new Float64Array(count)
  const travelers = new Float64Array(count)
  const samples = new Float64Array(count)
  const weighted = new Float64Array(count)
  const min = new Float64Array(count).fill(Number.POSITIVE_INFINITY)
  const max = new Float64Array(count).fill(Number.NEGATIVE_INFINITY)
  const end = first + count * stepMs
  for (const s of series) {
    // Columns in locals: the loop below runs once per window of every series (172,800 times for a
    // day of 120 series), so it stays free of property lookups and of floating-point modulo.
    const { starts, observations: obs, travelers: trav, speedSamples: sam, speedMin: lo, speedMax: hi, speedMean: mean } = s
    for (let i = s.lowerBound(first); i < starts.length; i++) {
      const start = starts[i] as number
      if (start >= end) break
      const slot = (start - first) / stepMs
      // Windows off the minute grid cannot come from the contract's topics; the materializer refuses
      // them, and this guard keeps a slot from being shared by two different starts.
      if (slot !== Math.floor(slot)) continue
      observations[slot] = (observations[slot] as number) + (obs[i] as number)
      travelers[slot] = (travelers[slot] as number) + (trav[i] as number)
      const n = sam[i] as number
      if (n === 0) continue
      samples[slot] = (samples[slot] as number) + n
      const m = mean[i] as number
      if (!Number.isNaN(m)) weighted[slot] = (weighted[slot] as number) + m * n
      const l = lo[i] as number
      if (l < (min[slot] as number)) min[slot] = l
      const h = hi[i] as number
      if (h > (max[slot] as number)) max[slot] = h
    }
  }
  const points: SeriesPoint[] = new Array(count)
  for (let slot = 0; slot < count; slot++) {
    const n = samples[slot] as number
    const lo = min[slot] as number
    const hi = max[slot] as number
    points[slot] = {
      windowStart: first + slot * stepMs,
      observations: observations[slot] as number,
      travelers: travelers[slot] as number,
      speedSamples: n,
      // NaN (a null speed) never wins a comparison, so untouched slots keep their infinities.
      speedMin: lo === Number.POSITIVE_INFINITY ? null : lo,
      speedMax: hi === Number.NEGATIVE_INFINITY ? null : hi,
      speedMean: n > 0 ? (weighted[slot] as number) / n : null
    }
  }
  return points
}

/** The combined statistics of `series` for the one window starting at `windowStart` (zero when none has it). */
export function combineAt(series: readonly WindowColumns[], windowStart: number, stepMs = WINDOW_STEP_MS): SeriesPoint {
  const [point] = aggregateSeries(series, windowStart, windowStart + 1, stepMs)
  return point ?? { windowStart, observations: 0, travelers: 0, speedSamples: 0, speedMin: null, speedMax: null, speedMean: null }
}
