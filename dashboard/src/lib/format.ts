/** Display formatting shared by the pages (numbers, speeds, times, durations). */

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 })
const oneDecimal = new Intl.NumberFormat('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 })

/** `12,345`; `—` for null. */
export function formatCount(n: number | null | undefined): string {
  return n === null || n === undefined || !Number.isFinite(n) ? '—' : integer.format(n)
}

/** `1.2k`, `3.4M` for large values, plain below 10,000. */
export function formatCompact(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—'
  const abs = Math.abs(n)
  if (abs < 10_000) return abs < 10 && !Number.isInteger(n) ? oneDecimal.format(n) : integer.format(n)
  if (abs < 1e6) return `${oneDecimal.format(n / 1e3)}k`
  if (abs < 1e9) return `${oneDecimal.format(n / 1e6)}M`
  return `${oneDecimal.format(n / 1e9)}G`
}

/** A speed in m/s with one decimal: `12.3 m/s`; `—` for null. */
export function formatSpeed(mps: number | null | undefined): string {
  return mps === null || mps === undefined || !Number.isFinite(mps) ? '—' : `${oneDecimal.format(mps)} m/s`
}

/** The same speed in km/h: `44 km/h`; `` for null. */
export function formatKmh(mps: number | null | undefined): string {
  return mps === null || mps === undefined || !Number.isFinite(mps) ? '' : `${integer.format(mps * 3.6)} km/h`
}

/** A rate: `1,234/s`, `0.5/s`. */
export function formatRate(perS: number | null | undefined): string {
  if (perS === null || perS === undefined || !Number.isFinite(perS)) return '—'
  return `${perS < 10 ? oneDecimal.format(perS) : integer.format(perS)}/s`
}

/** Metres: `850 m`, `1.2 km`. */
export function formatDistance(m: number | null | undefined): string {
  if (m === null || m === undefined || !Number.isFinite(m)) return '—'
  return m < 1000 ? `${integer.format(m)} m` : `${oneDecimal.format(m / 1000)} km`
}

/** A duration: `45 s`, `3 min 5 s`, `2 h 10 min`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—'
  const s = Math.round(ms / 1000)
  if (s < 60) return `${s} s`
  const m = Math.floor(s / 60)
  if (m < 60) return s % 60 === 0 ? `${m} min` : `${m} min ${s % 60} s`
  const h = Math.floor(m / 60)
  return m % 60 === 0 ? `${h} h` : `${h} h ${m % 60} min`
}

function pad(n: number): string {
  return String(n).padStart(2, '0')
}

/** Local `HH:mm` (or `HH:mm:ss` with `seconds`). */
export function formatClock(ms: number, seconds = false): string {
  const d = new Date(ms)
  return `${pad(d.getHours())}:${pad(d.getMinutes())}${seconds ? `:${pad(d.getSeconds())}` : ''}`
}

/** Local `MMM d` (e.g. `Nov 21`). */
export function formatDay(ms: number): string {
  const d = new Date(ms)
  return `${d.toLocaleString('en-US', { month: 'short' })} ${d.getDate()}`
}

/** Local `MMM d, HH:mm` (e.g. `Nov 21, 14:05`). */
export function formatDateTime(ms: number): string {
  return `${formatDay(ms)}, ${formatClock(ms)}`
}

/**
 * Tick labels of a time axis, 24-hour local time: seconds when ticks are under a minute apart, and
 * the date under the first tick and under each tick that starts a new day.
 */
export function formatTimeTicks(splits: readonly number[], incrMs: number): string[] {
  let lastDay = ''
  return splits.map((v, i) => {
    const clock = formatClock(v, incrMs < 60_000)
    const day = formatDay(v)
    const label = i === 0 || day !== lastDay ? `${clock}\n${day}` : clock
    lastDay = day
    return label
  })
}

/** How long ago `ms` was, relative to `nowMs`: `just now`, `12 s ago`, `5 min ago`. */
export function formatAgo(ms: number, nowMs: number): string {
  const d = nowMs - ms
  if (d < 5_000) return 'just now'
  if (d < 60_000) return `${Math.round(d / 1000)} s ago`
  if (d < 3_600_000) return `${Math.round(d / 60_000)} min ago`
  if (d < 86_400_000) return `${Math.round(d / 3_600_000)} h ago`
  return `${Math.round(d / 86_400_000)} d ago`
}

const money = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })
const twoDecimals = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })

/** An amount in cents as currency units with two decimals: `123456` -> `1,234.56`; `—` for null. */
export function formatAmount(cents: number | null | undefined): string {
  return cents === null || cents === undefined || !Number.isFinite(cents) ? '—' : money.format(cents / 100)
}

/** An average rating with two decimals: `4.33`; `—` without ratings. */
export function formatRating(average: number | null | undefined): string {
  return average === null || average === undefined || !Number.isFinite(average) ? '—' : twoDecimals.format(average)
}

/** Traveler type in title case: `PEDESTRIAN` -> `Pedestrian`. */
export function formatTravelerType(type: string): string {
  return type === 'all' ? 'All types' : type.charAt(0) + type.slice(1).toLowerCase()
}

/** Sorts ids like people do: `s-2` before `s-10`. */
export const naturalCompare = new Intl.Collator('en', { numeric: true, sensitivity: 'base' }).compare
