/**
 * The in-memory index of the window statistics: per (resolution, sensor, traveler type) the windows
 * ordered by start, stored column by column in plain number arrays (V8 keeps them as packed doubles),
 * so that a range is a binary search plus a linear walk over contiguous numbers. A day of 1-minute
 * windows for 20 sensors x 6 types is 172,800 windows, about 10 MB here.
 */
import type { TravelerType } from '../schemas/index.ts'

/** Window resolutions of the traffic outputs: tumbling 1-minute and hopping 5-minute windows. */
export const Resolutions = { '1m': '1m', '5m': '5m' } as const
export type Resolution = (typeof Resolutions)[keyof typeof Resolutions]

/** Window size per resolution, ms. */
export const WINDOW_SIZE_MS: Readonly<Record<Resolution, number>> = { '1m': 60_000, '5m': 300_000 }
/** Both resolutions advance by one minute (5-minute windows hop every minute), ms. */
export const WINDOW_STEP_MS = 60_000

/** The statistics of one window of one (sensor, traveler type), as the API returns them. */
export interface WindowStats {
  readonly observations: number
  readonly travelers: number
  readonly speedSamples: number
  /** m/s; null when the window has no speed samples. */
  readonly speedMin: number | null
  readonly speedMax: number | null
  readonly speedMean: number | null
}

/** A sensor with the traveler types it reported and the span of its windows (epoch ms). */
export interface SensorSummary {
  readonly sensorId: string
  readonly travelerTypes: TravelerType[]
  /** Start of the sensor's earliest and latest window over both resolutions. */
  readonly firstWindowStart: number
  readonly lastWindowStart: number
  /** Windows held for the sensor, per resolution. */
  readonly windows: Record<Resolution, number>
}

/** Null speeds are stored as NaN so the columns stay numeric. */
function toColumn(value: number | null): number {
  return value === null ? Number.NaN : value
}
function fromColumn(value: number | undefined): number | null {
  return value === undefined || Number.isNaN(value) ? null : value
}

/** The windows of one (resolution, sensor, type), ordered by start; columns share one index. */
export class WindowColumns {
  readonly sensorId: string
  readonly travelerType: TravelerType
  readonly starts: number[] = []
  readonly observations: number[] = []
  readonly travelers: number[] = []
  readonly speedSamples: number[] = []
  readonly speedMin: number[] = []
  readonly speedMax: number[] = []
  readonly speedMean: number[] = []

  constructor(sensorId: string, travelerType: TravelerType) {
    this.sensorId = sensorId
    this.travelerType = travelerType
  }

  get size(): number {
    return this.starts.length
  }

  /** Index of the first window whose start is >= `start` (size when none). */
  lowerBound(start: number): number {
    const starts = this.starts
    let lo = 0
    let hi = starts.length
    // Most lookups from the live path hit the newest windows: check the tail first.
    if (hi > 0 && (starts[hi - 1] as number) < start) return hi
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((starts[mid] as number) < start) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /** Writes a window; returns false when it was already there (an update). */
  put(start: number, stats: WindowStats): boolean {
    const i = this.lowerBound(start)
    const exists = i < this.starts.length && this.starts[i] === start
    if (exists) {
      this.observations[i] = stats.observations
      this.travelers[i] = stats.travelers
      this.speedSamples[i] = stats.speedSamples
      this.speedMin[i] = toColumn(stats.speedMin)
      this.speedMax[i] = toColumn(stats.speedMax)
      this.speedMean[i] = toColumn(stats.speedMean)
      return false
    }
    if (i === this.starts.length) {
      this.starts.push(start)
      this.observations.push(stats.observations)
      this.travelers.push(stats.travelers)
      this.speedSamples.push(stats.speedSamples)
      this.speedMin.push(toColumn(stats.speedMin))
      this.speedMax.push(toColumn(stats.speedMax))
      this.speedMean.push(toColumn(stats.speedMean))
    } else {
      this.starts.splice(i, 0, start)
      this.observations.splice(i, 0, stats.observations)
      this.travelers.splice(i, 0, stats.travelers)
      this.speedSamples.splice(i, 0, stats.speedSamples)
      this.speedMin.splice(i, 0, toColumn(stats.speedMin))
      this.speedMax.splice(i, 0, toColumn(stats.speedMax))
      this.speedMean.splice(i, 0, toColumn(stats.speedMean))
    }
    return true
  }

  /** Removes the window starting at `start`; false when there was none. */
  delete(start: number): boolean {
    const i = this.lowerBound(start)
    if (i >= this.starts.length || this.starts[i] !== start) return false
    this.remove(i, 1)
    return true
  }

  /** Removes the windows that start before `start`; returns how many. */
  deleteBefore(start: number): number {
    const n = this.lowerBound(start)
    if (n > 0) this.remove(0, n)
    return n
  }

  private remove(index: number, count: number): void {
    for (const column of [this.starts, this.observations, this.travelers, this.speedSamples, this.speedMin, this.speedMax, this.speedMean]) {
      column.splice(index, count)
    }
  }

  /** The window at column index `i`. */
  at(i: number): WindowStats {
    return {
      observations: this.observations[i] ?? 0,
      travelers: this.travelers[i] ?? 0,
      speedSamples: this.speedSamples[i] ?? 0,
      speedMin: fromColumn(this.speedMin[i]),
      speedMax: fromColumn(this.speedMax[i]),
      speedMean: fromColumn(this.speedMean[i])
    }
  }

  /** The window starting at `start`, if held. */
  get(start: number): WindowStats | undefined {
    const i = this.lowerBound(start)
    return i < this.starts.length && this.starts[i] === start ? this.at(i) : undefined
  }
}

/** Sees every change of a `SeriesIndex` (derived caches invalidate on it). */
export interface SeriesIndexListener {
  /** The window (resolution, sensor, type, start) was written or deleted. */
  changed(resolution: Resolution, sensorId: string, travelerType: TravelerType, windowStart: number): void
  /** Windows of `resolution` starting before `windowStart` were dropped (retention). */
  evicted(resolution: Resolution, windowStart: number): void
}

/** Every window held, by resolution, sensor and traveler type. */
export class SeriesIndex {
  private readonly byResolution: Record<Resolution, Map<string, Map<TravelerType, WindowColumns>>> = { '1m': new Map(), '5m': new Map() }
  private readonly listeners = new Set<SeriesIndexListener>()
  private windows_ = 0

  /** Registers a listener; returns the function that removes it. */
  addListener(listener: SeriesIndexListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Windows held over all series. */
  get size(): number {
    return this.windows_
  }

  /** Writes (stats) or deletes (null) one window. */
  put(resolution: Resolution, sensorId: string, travelerType: TravelerType, windowStart: number, stats: WindowStats | null): void {
    const bySensor = this.byResolution[resolution]
    let byType = bySensor.get(sensorId)
    if (stats === null) {
      const columns = byType?.get(travelerType)
      if (byType === undefined || columns === undefined || !columns.delete(windowStart)) return
      this.windows_--
      for (const l of this.listeners) l.changed(resolution, sensorId, travelerType, windowStart)
      if (columns.size === 0) {
        byType.delete(travelerType)
        if (byType.size === 0) bySensor.delete(sensorId)
      }
      return
    }
    if (byType === undefined) {
      byType = new Map()
      bySensor.set(sensorId, byType)
    }
    let columns = byType.get(travelerType)
    if (columns === undefined) {
      columns = new WindowColumns(sensorId, travelerType)
      byType.set(travelerType, columns)
    }
    if (columns.put(windowStart, stats)) this.windows_++
    for (const l of this.listeners) l.changed(resolution, sensorId, travelerType, windowStart)
  }

  get(resolution: Resolution, sensorId: string, travelerType: TravelerType, windowStart: number): WindowStats | undefined {
    return this.byResolution[resolution].get(sensorId)?.get(travelerType)?.get(windowStart)
  }

  /** The series matching a filter; `'all'` matches every sensor or type. */
  select(resolution: Resolution, sensorId: string, travelerType: TravelerType | 'all'): WindowColumns[] {
    const bySensor = this.byResolution[resolution]
    const sensors = sensorId === 'all' ? [...bySensor.values()] : [bySensor.get(sensorId)].filter((m) => m !== undefined)
    const out: WindowColumns[] = []
    for (const byType of sensors) {
      if (travelerType === 'all') out.push(...byType.values())
      else {
        const columns = byType.get(travelerType)
        if (columns !== undefined) out.push(columns)
      }
    }
    return out
  }

  /** True when some window of either resolution names the sensor. */
  hasSensor(sensorId: string): boolean {
    return this.byResolution['1m'].has(sensorId) || this.byResolution['5m'].has(sensorId)
  }

  /** Drops the windows of `resolution` that start before `start` (retention); returns how many. */
  deleteBefore(resolution: Resolution, start: number): number {
    let removed = 0
    const bySensor = this.byResolution[resolution]
    for (const [sensorId, byType] of bySensor) {
      for (const [type, columns] of byType) {
        removed += columns.deleteBefore(start)
        if (columns.size === 0) byType.delete(type)
      }
      if (byType.size === 0) bySensor.delete(sensorId)
    }
    this.windows_ -= removed
    for (const l of this.listeners) l.evicted(resolution, start)
    return removed
  }

  /** The sensors held, sorted by id, with their types and window span. */
  sensors(): SensorSummary[] {
    const summaries = new Map<string, { types: Set<TravelerType>; first: number; last: number; windows: Record<Resolution, number> }>()
    for (const resolution of Object.values(Resolutions)) {
      for (const [sensorId, byType] of this.byResolution[resolution]) {
        let s = summaries.get(sensorId)
        if (s === undefined) {
          s = { types: new Set(), first: Number.POSITIVE_INFINITY, last: Number.NEGATIVE_INFINITY, windows: { '1m': 0, '5m': 0 } }
          summaries.set(sensorId, s)
        }
        for (const [type, columns] of byType) {
          s.types.add(type)
          s.first = Math.min(s.first, columns.starts[0] as number)
          s.last = Math.max(s.last, columns.starts[columns.size - 1] as number)
          s.windows[resolution] += columns.size
        }
      }
    }
    return [...summaries]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([sensorId, s]) => ({
        sensorId,
        travelerTypes: [...s.types].sort(),
        firstWindowStart: s.first,
        lastWindowStart: s.last,
        windows: s.windows
      }))
  }
}
