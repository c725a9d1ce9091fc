/**
 * Throughput and lag over time from successive `system.lag` reports: the workers' committed offsets
 * advance by the records they processed, the end offsets by the records produced. Rates are taken
 * over a trailing window of reports because offsets are committed in steps (once per commit
 * interval), which makes consecutive polls jumpy.
 */
import type { InstancesReport, LagReport } from '../api/types.ts'

/** Sums of one report over every partition. */
export interface LagTotals {
  readonly at: number
  /** Sum of committed offsets (partitions without a commit count as 0). */
  readonly committed: number
  readonly end: number
  readonly lag: number
}

/** Totals of `report`. */
export function lagTotals(report: LagReport): LagTotals {
  let committed = 0
  let end = 0
  for (const p of report.partitions) {
    committed += p.committedOffset ?? 0
    end += p.endOffset
  }
  return { at: report.measuredAt, committed, end, lag: report.totalLag }
}

/** One point of the throughput chart. */
export interface ThroughputPoint {
  readonly at: number
  readonly lag: number
  /** Records/s the workers processed (committed) over the trailing window; null for the first report. */
  readonly processedPerS: number | null
  /** Records/s written to the partitions the workers read; null for the first report. */
  readonly producedPerS: number | null
}

function rate(delta: number, ms: number): number | null {
  // A negative delta means offsets were reset (new group, recreated topic): no meaningful rate.
  if (ms <= 0 || delta < 0) return null
  return (delta * 1000) / ms
}

/**
 * The throughput series of `history` (oldest first): each point's rates compare it with the newest
 * earlier report at least `windowMs` older, or the oldest one when none is that old.
 */
export function throughputSeries(history: readonly LagReport[], windowMs: number): ThroughputPoint[] {
  const totals = history.map(lagTotals)
  const points: ThroughputPoint[] = []
  let base = 0
  totals.forEach((t, i) => {
    while (base + 1 < i && (totals[base + 1] as LagTotals).at <= t.at - windowMs) base++
    const b = totals[base] as LagTotals
    const first = i === 0
    points.push({
      at: t.at,
      lag: t.lag,
      processedPerS: first ? null : rate(t.committed - b.committed, t.at - b.at),
      producedPerS: first ? null : rate(t.end - b.end, t.at - b.at)
    })
  })
  return points
}

/** `history` plus `report`, without reports older than `maxAgeMs` before it or out of order. */
export function appendReport(history: readonly LagReport[], report: LagReport, maxAgeMs: number): LagReport[] {
  const last = history[history.length - 1]
  if (last !== undefined && report.measuredAt <= last.measuredAt) return [...history]
  return [...history.filter((r) => r.measuredAt >= report.measuredAt - maxAgeMs), report]
}

const partitionKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`

/** Records/s each partition's committed offset advanced from `older` to `newer`, by topic and partition. */
export function partitionRates(older: LagReport, newer: LagReport): Map<string, number> {
  const before = new Map(older.partitions.map((p) => [partitionKey(p.topic, p.partition), p.committedOffset ?? 0]))
  const ms = newer.measuredAt - older.measuredAt
  const rates = new Map<string, number>()
  for (const p of newer.partitions) {
    const b = before.get(partitionKey(p.topic, p.partition))
    if (b === undefined) continue
    const r = rate((p.committedOffset ?? 0) - b, ms)
    if (r !== null) rates.set(partitionKey(p.topic, p.partition), r)
  }
  return rates
}

/** Per worker (member id): its partitions' lag and processed records/s (null when unknown). */
export function instanceLoad(
  instances: InstancesReport,
  latest: LagReport | undefined,
  rates: Map<string, number> | undefined
): Map<string, { lag: number; processedPerS: number | null; partitions: number }> {
  const lagOf = new Map((latest?.partitions ?? []).map((p) => [partitionKey(p.topic, p.partition), p.lag]))
  const out = new Map<string, { lag: number; processedPerS: number | null; partitions: number }>()
  for (const inst of instances.instances) {
    let lag = 0
    let processed: number | null = rates === undefined ? null : 0
    let partitions = 0
    for (const a of inst.assignments) {
      for (const p of a.partitions) {
        partitions++
        const key = partitionKey(a.topic, p)
        lag += lagOf.get(key) ?? 0
        if (processed !== null) processed += rates?.get(key) ?? 0
      }
    }
    out.set(inst.memberId, { lag, processedPerS: processed, partitions })
  }
  return out
}
