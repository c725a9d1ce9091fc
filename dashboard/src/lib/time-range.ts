/**
 * Time ranges of the traffic page: a preset relative to now (last 15 minutes, hour, day) or a custom
 * from/to, turned into the `[from, to)` of a `traffic.series` query on the one-minute grid that both
 * window resolutions advance on.
 */

/** One minute: the distance between window starts of both resolutions, ms. */
export const MINUTE_MS = 60_000

/** The relative ranges the page offers, with their length in ms. */
export const RangePresets = {
  '15m': { label: 'Last 15 min', short: '15 min', spanMs: 15 * MINUTE_MS },
  '1h': { label: 'Last hour', short: '1 h', spanMs: 60 * MINUTE_MS },
  '24h': { label: 'Last 24 h', short: '24 h', spanMs: 24 * 60 * MINUTE_MS }
} as const
export type RangePreset = keyof typeof RangePresets
export const RANGE_PRESETS = Object.keys(RangePresets) as RangePreset[]

/** What the user picked. Custom bounds are epoch ms as entered (not yet on the grid). */
export type RangeSelection = { readonly kind: 'preset'; readonly preset: RangePreset } | { readonly kind: 'custom'; readonly from: number; readonly to: number }

/** A query range: windows whose start is in `[from, to)`, both multiples of a minute. */
export interface TimeRange {
  readonly from: number
  readonly to: number
}

/** Longest custom range the page asks for (the query API's default maximum), ms. */
export const MAX_RANGE_MS = 7 * 24 * 60 * MINUTE_MS

/** Why a custom range cannot be used. */
export class TimeRangeError extends Error {
  override readonly name = 'TimeRangeError'
}

/**
 * The grid-aligned range of `selection` at wall-clock time `nowMs`.
 *
 * A preset ends at the end of the current minute, so the window that is still filling up is the
 * last point; it starts `spanMs` earlier. A custom range is widened to whole minutes (from rounded
 * down, to rounded up). Throws `TimeRangeError` for an empty, reversed or too long custom range.
 */
export function resolveRange(selection: RangeSelection, nowMs: number, maxRangeMs = MAX_RANGE_MS): TimeRange {
  if (selection.kind === 'preset') {
    const preset = RangePresets[selection.preset]
    if (preset === undefined) throw new TimeRangeError(`unknown range preset ${JSON.stringify(selection.preset)}`)
    const to = Math.floor(nowMs / MINUTE_MS) * MINUTE_MS + MINUTE_MS
    return { from: to - preset.spanMs, to }
  }
  const { from, to } = selection
  if (!Number.isFinite(from)) throw new TimeRangeError('the start of the range is not a valid date and time')
  if (!Number.isFinite(to)) throw new TimeRangeError('the end of the range is not a valid date and time')
  if (from >= to) throw new TimeRangeError('the start of the range must be before its end')
  const aligned = { from: Math.floor(from / MINUTE_MS) * MINUTE_MS, to: Math.ceil(to / MINUTE_MS) * MINUTE_MS }
  if (aligned.from < 0) throw new TimeRangeError('the start of the range must not be before 1970')
  if (aligned.to - aligned.from > maxRangeMs) {
    throw new TimeRangeError(`the range may be at most ${formatSpan(maxRangeMs)} long; this one is ${formatSpan(aligned.to - aligned.from)}`)
  }
  return aligned
}

/** Milliseconds until a preset range moves on (the start of the next minute), at least 1. */
export function msUntilNextMinute(nowMs: number): number {
  return Math.max(1, MINUTE_MS - (nowMs % MINUTE_MS))
}

/** A short length: `45 min`, `3 h`, `2 d 4 h`. */
export function formatSpan(ms: number): string {
  const minutes = Math.round(ms / MINUTE_MS)
  if (minutes < 60) return `${minutes} min`
  const hours = Math.floor(minutes / 60)
  const restMin = minutes % 60
  if (hours < 24) return restMin === 0 ? `${hours} h` : `${hours} h ${restMin} min`
  const days = Math.floor(hours / 24)
  const restH = hours % 24
  return restH === 0 ? `${days} d` : `${days} d ${restH} h`
}

function pad(n: number): string {
  return String(n).padStart(2, '0')
}

/** The value of an `<input type="datetime-local">` for epoch ms, in the browser's time zone. */
export function toLocalInputValue(ms: number): string {
  const d = new Date(ms)
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`
}

const LOCAL_INPUT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/

/** Epoch ms of a `datetime-local` value (local time), or NaN when it is not one. */
export function fromLocalInputValue(value: string): number {
  const m = LOCAL_INPUT.exec(value.trim())
  if (m === null) return Number.NaN
  const [year, month, day, hour, minute, second] = m.slice(1).map((p) => (p === undefined ? 0 : Number(p))) as [number, number, number, number, number, number]
  const d = new Date(year, month - 1, day, hour, minute, second)
  // Date rolls 2025-02-30 over to March; such a value is not a real date.
  if (d.getFullYear() !== year || d.getMonth() !== month - 1 || d.getDate() !== day || d.getHours() !== hour) return Number.NaN
  return d.getTime()
}
