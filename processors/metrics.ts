/**
 * Counters of dropped records per task, by processor and reason. The runtime reads them for its
 * metrics (Kafka Streams' `dropped-records` task sensor); tests read them through the driver.
 */
import type { DropReason } from './api.ts'

/** One counter: how many records `processorName` dropped for `reason`. */
export interface DroppedRecordCount {
  readonly processorName: string
  readonly reason: DropReason
  readonly count: number
}

/** Mutable drop counters of one task. */
export class DroppedRecordCounters {
  private readonly counts = new Map<string, { processorName: string; reason: DropReason; count: number }>()
  private totalCount = 0

  record(processorName: string, reason: DropReason): void {
    const id = `${processorName}\u0000${reason}`
    const entry = this.counts.get(id)
    if (entry) entry.count++
    else this.counts.set(id, { processorName, reason, count: 1 })
    this.totalCount++
  }

  /** All dropped records of the task. */
  get total(): number {
    return this.totalCount
  }

  /** Dropped records of one reason (optionally of one processor). */
  count(reason: DropReason, processorName?: string): number {
    let sum = 0
    for (const entry of this.counts.values()) {
      if (entry.reason === reason && (processorName === undefined || entry.processorName === processorName)) sum += entry.count
    }
    return sum
  }

  /** A snapshot of every counter. */
  snapshot(): DroppedRecordCount[] {
    return [...this.counts.values()].map((entry) => ({ ...entry }))
  }
}
