/**
 * Combined series kept between queries. A `traffic.series` over every sensor combines up to
 * sensors x types windows per minute (172,800 for a day of 20 sensors x 6 types); the combined
 * points of each filter that has been asked for are kept per window start and recomputed only where
 * a window changed since. So a repeated or sliding query costs its new and changed minutes plus
 * copying the rest, and a live update invalidates one minute of at most three filters.
 *
 * Single (sensor, type) series are not cached: their points are the stored windows themselves.
 */
import { aggregateSeries, combineAt, windowSlots, type SeriesPoint } from './aggregate.ts'
import { WINDOW_STEP_MS, type Resolution, type SeriesIndex } from './series-index.ts'
import type { TravelerType } from '../schemas/index.ts'

interface Entry {
  readonly resolution: Resolution
  readonly sensorId: string
  readonly travelerType: TravelerType | 'all'
  /** Combined point per window start, for the starts computed so far. */
  readonly points: Map<number, SeriesPoint>
  /** Starts whose point is stale (a contributing window changed). */
  readonly dirty: Set<number>
}

/** Above this share of stale or missing minutes a range is recomputed in one linear pass. */
const RECOMPUTE_SHARE = 0.125

/** Cached combined series over a `SeriesIndex`; stays correct through every index change. */
export class CombinedSeriesCache {
  private readonly index: SeriesIndex
  private readonly entries = new Map<string, Entry>()
  private readonly detach: () => void
  private readonly maxPointsPerFilter: number

  /** `maxPointsPerFilter`: most points kept per filter (default 20,160: two weeks of minutes). */
  constructor(index: SeriesIndex, maxPointsPerFilter = 20_160) {
    if (!Number.isSafeInteger(maxPointsPerFilter) || maxPointsPerFilter < 1)
      throw new TypeError(`CombinedSeriesCache: maxPointsPerFilter must be a positive integer, got ${maxPointsPerFilter}`)
    this.index = index
    this.maxPointsPerFilter = maxPointsPerFilter
    this.detach = index.addListener({
      changed: (resolution, sensorId, travelerType, windowStart) => {
        for (const key of [`${resolution}|all|all`, `${resolution}|all|${travelerType}`, `${resolution}|${sensorId}|all`]) {
          const entry = this.entries.get(key)
          if (entry !== undefined && entry.points.has(windowStart)) entry.dirty.add(windowStart)
        }
      },
      evicted: (resolution, windowStart) => {
        for (const entry of this.entries.values()) {
          if (entry.resolution !== resolution) continue
          for (const start of entry.points.keys()) {
            if (start < windowStart) {
              entry.points.delete(start)
              entry.dirty.delete(start)
            }
          }
        }
      }
    })
  }

  /** Combined points cached over all filters (a measure of the memory held). */
  get size(): number {
    let n = 0
    for (const e of this.entries.values()) n += e.points.size
    return n
  }

  /** Stops following the index and forgets everything. */
  close(): void {
    this.detach()
    this.entries.clear()
  }

  /** The zero-filled combined series of a filter over the window starts in `[fromMs, toMs)`; equal to `aggregateSeries`. */
  series(resolution: Resolution, sensorId: string, travelerType: TravelerType | 'all', fromMs: number, toMs: number): SeriesPoint[] {
    if (sensorId !== 'all' && travelerType !== 'all') return aggregateSeries(this.index.select(resolution, sensorId, travelerType), fromMs, toMs)
    const key = `${resolution}|${sensorId}|${travelerType}`
    let entry = this.entries.get(key)
    if (entry === undefined) {
      entry = { resolution, sensorId, travelerType, points: new Map(), dirty: new Set() }
      this.entries.set(key, entry)
    }
    const { first, count } = windowSlots(fromMs, toMs)
    const step = WINDOW_STEP_MS
    const end = first + count * step
    // Arbitrary ranges must not grow the cache without bound: past the cap a filter starts over.
    if (entry.points.size + count > this.maxPointsPerFilter) {
      entry.points.clear()
      entry.dirty.clear()
    }
    let stale = 0
    for (const start of entry.dirty) if (start >= first && start < end) stale++
    let missing = 0
    for (let slot = 0; slot < count; slot++) if (!entry.points.has(first + slot * step)) missing++
    const series = this.index.select(resolution, sensorId, travelerType)
    if (stale + missing > count * RECOMPUTE_SHARE) {
      const points = aggregateSeries(series, fromMs, toMs)
      for (const p of points) {
        entry.points.set(p.windowStart, p)
        entry.dirty.delete(p.windowStart)
      }
      return points
    }
    const out: SeriesPoint[] = new Array(count)
    for (let slot = 0; slot < count; slot++) {
      const start = first + slot * step
      let point = entry.points.get(start)
      if (point === undefined || entry.dirty.has(start)) {
        point = combineAt(series, start)
        entry.points.set(start, point)
        entry.dirty.delete(start)
      }
      out[slot] = point
    }
    return out
  }
}
