/**
 * Where a simulator that continues a topic starts (`--continue`): an empty topic gets a backfill of
 * its recent past, sent at once, up to now and never beyond, then real time; a topic with data is
 * never rewritten: the model continues after its newest record (when that is recent) or from now.
 * Either way no record is older than what the topic already holds beyond the model's own
 * out-of-order and late fractions, so a restart neither doubles a minute nor makes records late.
 */
import { ListOffsetTimestamps } from '@platformatic/kafka'
import { createReadConsumer, defaultKafkaClientSupplier } from '../../kafka/index.ts'

/**
 * The newest Kafka timestamp in `topics` (epoch ms), from each partition's max-timestamp offset
 * (ListOffsets with timestamp -3, KIP-734); undefined when the topics are missing or empty.
 */
export async function newestTimestampMs(brokers: readonly string[], topics: readonly string[]): Promise<number | undefined> {
  const admin = defaultKafkaClientSupplier.getAdmin({ clientId: 'runnel-simulator-tail', bootstrapBrokers: [...brokers] })
  let existing: string[]
  try {
    const names = new Set(await admin.listTopics())
    existing = topics.filter((t) => names.has(t))
  } finally {
    await admin.close()
  }
  if (existing.length === 0) return undefined
  const consumer = createReadConsumer(defaultKafkaClientSupplier, { bootstrapBrokers: brokers, clientId: 'runnel-simulator-tail' })
  try {
    const offsets = await consumer.listOffsetsWithTimestamps({ topics: existing, timestamp: ListOffsetTimestamps.MAX })
    let newest: number | undefined
    for (const partitions of offsets.values()) {
      for (const { offset, timestamp } of partitions.values()) {
        if (offset < 0n || timestamp < 0n) continue
        newest = Math.max(newest ?? 0, Number(timestamp))
      }
    }
    return newest
  } finally {
    await consumer.close()
  }
}

/** How a continuing simulator chooses its start. */
export interface ContinuationPolicy {
  /** Backfill of an empty topic, and how recent its newest record must be to continue after it, ms. */
  readonly backfillMs: number
  /**
   * Event time left between the newest record and the first new one, ms (traffic: more than the
   * 30 s visit gap, so that a traveler id the model reuses never joins a visit of the previous run).
   */
  readonly gapMs: number
}

/** The start of a continuing run, and why (for the log line). */
export interface Continuation {
  readonly startMs: number
  readonly reason: 'backfill' | 'continue' | 'now'
}

/**
 * The start of a continuing run given the topic's newest record (`newestMs`, undefined: empty) and
 * the wall clock `nowMs`: empty -> `backfillMs` before now, on a minute; newest record within
 * `backfillMs` -> just after it (`gapMs` later); older -> now. The start may lie up to `gapMs` in
 * the future: a real-time run then waits for it.
 */
export function continuationStart(newestMs: number | undefined, nowMs: number, policy: ContinuationPolicy): Continuation {
  if (newestMs === undefined) return { startMs: Math.floor((nowMs - policy.backfillMs) / 60_000) * 60_000, reason: 'backfill' }
  if (newestMs >= nowMs - policy.backfillMs) return { startMs: newestMs + policy.gapMs, reason: 'continue' }
  return { startMs: nowMs, reason: 'now' }
}
