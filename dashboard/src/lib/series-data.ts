/**
 * The traffic page's series: the zero-filled windows of one `traffic.series` answer, patched in
 * place by `traffic.live` events and slid forward as a relative range moves on, and turned into the
 * column arrays uPlot plots (x = window start in epoch ms).
 */
import type { Resolution, SeriesPoint, SeriesResult } from '../api/types.ts'
import type { TimeRange } from './time-range.ts'

/** One window per `stepMs` from `from` (inclusive) to `to` (exclusive), each with its statistics. */
export interface SeriesState {
  readonly from: number
  readonly to: number
  readonly stepMs: number
  readonly points: readonly SeriesPoint[]
}

/** The statistics of a window nothing was observed in (what the API zero-fills with). */
export function emptyPoint(windowStart: number): SeriesPoint {
  return { windowStart, observations: 0, travelers: 0, speedSamples: 0, speedMin: null, speedMax: null, speedMean: null }
}

function slotCount(from: number, to: number, stepMs: number): number {
  return to > from ? Math.ceil((to - from) / stepMs) : 0
}

/** The slot of `windowStart`, or -1 when it is off the grid or outside the range. */
export function slotOf(state: Pick<SeriesState, 'from' | 'to' | 'stepMs'>, windowStart: number): number {
  if (windowStart < state.from || windowStart >= state.to) return -1
  const offset = windowStart - state.from
  return offset % state.stepMs === 0 ? offset / state.stepMs : -1
}

/**
 * The state of a series answer. The API already returns every slot; a slot it left out (which it
 * should not) is filled with zeros rather than shifting the later points.
 */
export function fromSeriesResult(result: Pick<SeriesResult, 'from' | 'to' | 'stepMs' | 'points'>): SeriesState {
  if (!(result.stepMs > 0)) throw new TypeError(`series step must be positive, got ${result.stepMs}`)
  const first = Math.ceil(result.from / result.stepMs) * result.stepMs
  const state = { from: first, to: Math.max(first, result.to), stepMs: result.stepMs }
  const points: SeriesPoint[] = Array.from({ length: slotCount(state.from, state.to, state.stepMs) }, (_, i) => emptyPoint(state.from + i * state.stepMs))
  for (const p of result.points) {
    const slot = slotOf(state, p.windowStart)
    if (slot >= 0) points[slot] = p
  }
  return { ...state, points }
}

/**
 * `state` with the windows of `updates` replaced (later updates of the same window win). Windows
 * outside the range are ignored. Returns `state` itself when nothing changed, so a signal holding it
 * does not notify.
 */
export function applyPoints(state: SeriesState, updates: Iterable<SeriesPoint>): SeriesState {
  let points: SeriesPoint[] | undefined
  for (const u of updates) {
    const slot = slotOf(state, u.windowStart)
    if (slot < 0) continue
    points ??= [...state.points]
    points[slot] = u
  }
  return points === undefined ? state : { ...state, points }
}

/**
 * `state` moved to `range` (same step): windows in both keep their values, new ones are zero, and
 * then `remembered` (live updates seen for windows that were not in the old range yet) are applied.
 */
export function shiftRange(state: SeriesState, range: TimeRange, remembered: Iterable<SeriesPoint> = []): SeriesState {
  const from = Math.ceil(range.from / state.stepMs) * state.stepMs
  const next = { from, to: Math.max(from, range.to), stepMs: state.stepMs }
  const points: SeriesPoint[] = Array.from({ length: slotCount(next.from, next.to, next.stepMs) }, (_, i) => {
    const windowStart = next.from + i * next.stepMs
    const old = slotOf(state, windowStart)
    return old >= 0 ? (state.points[old] as SeriesPoint) : emptyPoint(windowStart)
  })
  return applyPoints({ ...next, points }, remembered)
}

/** uPlot's column data: x values first, then one array per series. */
export type ChartColumns = [number[], ...Array<Array<number | null>>]

/** Speed chart columns: window start (ms), min, mean, max speed (m/s; null without samples). */
export function speedColumns(state: SeriesState): ChartColumns {
  return [
    state.points.map((p) => p.windowStart),
    state.points.map((p) => p.speedMin),
    state.points.map((p) => p.speedMean),
    state.points.map((p) => p.speedMax)
  ]
}

/** Count chart columns: window start (ms), observations, travelers. */
export function countColumns(state: SeriesState): ChartColumns {
  return [state.points.map((p) => p.windowStart), state.points.map((p) => p.observations), state.points.map((p) => p.travelers)]
}

/** The headline figures of a series. */
export interface SeriesSummary {
  /** 1m: observations in the range; 5m: the most in one window (hopping windows overlap, so a sum would count each observation 5 times). */
  readonly observations: number
  readonly observationsLabel: 'in range' | 'peak per window'
  /** Most travelers in one window. */
  readonly peakTravelers: number
  /** Sample-weighted mean speed over the windows, m/s; null without samples. Exact for 1m. */
  readonly meanSpeed: number | null
  /** Highest speed of any window, m/s. */
  readonly maxSpeed: number | null
  /** Start of the latest window with observations, epoch ms; null when every window is empty. */
  readonly lastActiveWindow: number | null
  /** Windows with at least one observation. */
  readonly activeWindows: number
}

/** Summarizes `state` (see `SeriesSummary` for what each figure means per resolution). */
export function summarize(state: SeriesState, resolution: Resolution): SeriesSummary {
  let sum = 0
  let peakObs = 0
  let peakTravelers = 0
  let samples = 0
  let weighted = 0
  let maxSpeed: number | null = null
  let last: number | null = null
  let active = 0
  for (const p of state.points) {
    sum += p.observations
    if (p.observations > peakObs) peakObs = p.observations
    if (p.travelers > peakTravelers) peakTravelers = p.travelers
    if (p.speedSamples > 0 && p.speedMean !== null) {
      samples += p.speedSamples
      weighted += p.speedMean * p.speedSamples
    }
    if (p.speedMax !== null && (maxSpeed === null || p.speedMax > maxSpeed)) maxSpeed = p.speedMax
    if (p.observations > 0) {
      active++
      last = p.windowStart
    }
  }
  const perWindow = resolution === '5m'
  return {
    observations: perWindow ? peakObs : sum,
    observationsLabel: perWindow ? 'peak per window' : 'in range',
    peakTravelers,
    meanSpeed: samples > 0 ? weighted / samples : null,
    maxSpeed,
    lastActiveWindow: last,
    activeWindows: active
  }
}
