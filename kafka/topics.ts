/**
 * Waiting for topics to be usable after creating or finding them. A topic that CreateTopics has just
 * created is known to the controller before every broker answers for it: for a moment (seconds on a
 * busy machine) a metadata request can fail with "unknown topic" or list partitions without a
 * leader. Every caller that creates topics waits here, within a bound, and then fails with the
 * cause.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { Admin } from '@platformatic/kafka'

/** A topic to wait for: its name and, when known, the partition count it must have. */
export interface TopicToAwait {
  readonly name: string
  readonly partitions?: number
}

/**
 * Resolves once the metadata of every topic lists its partitions (the expected count, when given),
 * each with a leader. Metadata requests that fail are retried; after `timeoutMs` (default 30 s) it
 * rejects naming the topics not ready and the last error.
 */
export async function awaitTopicsReady(admin: Admin, topics: readonly TopicToAwait[], timeoutMs = 30_000): Promise<void> {
  if (topics.length === 0) return
  const names = topics.map((t) => t.name)
  const deadline = Date.now() + timeoutMs
  for (let attempt = 1; ; attempt++) {
    let waiting: string[] = names
    let lastError: unknown
    try {
      const metadata = await admin.metadata({ topics: names, forceUpdate: true })
      waiting = topics
        .filter((t) => {
          const m = metadata.topics.get(t.name)
          return m === undefined || (t.partitions !== undefined && m.partitionsCount !== t.partitions) || !m.partitions.every((p) => p.leader >= 0)
        })
        .map((t) => t.name)
      if (waiting.length === 0) return
    } catch (err) {
      lastError = err
    }
    if (Date.now() > deadline) {
      const why = lastError === undefined ? 'partitions without a leader or not all created' : (lastError as Error).message
      throw new Error(`topics ${waiting.join(', ')} are not ready after ${Math.round(timeoutMs / 1000)} s (${attempt} metadata requests): ${why}`, {
        cause: lastError
      })
    }
    await sleep(Math.min(500, 50 * attempt))
  }
}
