/**
 * A changelog sink for `StateStoreContext.logChange`: it buffers the changelog records of a task
 * (topic `<app id>-<store>-changelog`, partition = the task's) until the caller drains them into a
 * producer, e.g. right after flushing the stores and before committing. The runtime may send them
 * inside its transaction; tests and the benchmark send them with `sendChangelogRecords`.
 */
import type { MessageToProduce, Producer } from '@platformatic/kafka'
import { changelogTopicName } from './bytes-stores.ts'

export interface ChangelogCollector {
  /** Pass as the context's `logChange`. */
  logChange(storeName: string, key: Buffer, value: Buffer | null, timestampMs: number): void
  /** Buffered records, in write order. */
  readonly size: number
  /** Takes every buffered record (the buffer is empty afterwards). */
  drain(): Array<MessageToProduce<Buffer, Buffer, Buffer, Buffer>>
}

/** Buffers changelog records of one task (one partition of every changelog). */
export function createChangelogCollector(applicationId: string, partition: number): ChangelogCollector {
  const topics = new Map<string, string>()
  let pending: Array<MessageToProduce<Buffer, Buffer, Buffer, Buffer>> = []
  return {
    logChange(storeName, key, value, timestampMs) {
      let topic = topics.get(storeName)
      if (topic === undefined) {
        topic = changelogTopicName(applicationId, storeName)
        topics.set(storeName, topic)
      }
      // A tombstone is a record without a value (null on the wire).
      pending.push({ topic, partition, key, value: value as Buffer, timestamp: BigInt(timestampMs) })
    },
    get size() {
      return pending.length
    },
    drain() {
      const out = pending
      pending = []
      return out
    }
  }
}

/** Sends changelog records in chunks of `chunkSize` and waits for the broker's acknowledgements. */
export async function sendChangelogRecords(
  producer: Producer<Buffer, Buffer, Buffer, Buffer>,
  records: Array<MessageToProduce<Buffer, Buffer, Buffer, Buffer>>,
  chunkSize = 5000
): Promise<void> {
  for (let i = 0; i < records.length; i += chunkSize) {
    await producer.send({ messages: records.slice(i, i + chunkSize) })
  }
}
