/**
 * Restore: reads one changelog topic-partition from a start offset to its end offset with raw
 * fetches (no consumer group is joined, no offsets are committed) and hands the records to a store's
 * RestoreCallback one fetch response at a time. Reads committed data only: records of aborted
 * transactions and transaction markers are skipped, and the end offset is the last stable offset.
 */
import { Consumer, FetchIsolationLevels, ListOffsetTimestamps, type RecordsBatch } from '@platformatic/kafka'
import { StateStoreError } from './errors.ts'
import type { StateLogger } from './task-state.ts'
import type { RestoreCallback } from './types.ts'

/** Progress of one changelog restore. */
export interface RestoreProgress {
  topic: string
  partition: number
  /** First offset read and end offset (exclusive) of this restore. */
  startOffset: number
  endOffset: number
  /** Next offset to read. */
  position: number
  /** Records applied so far. */
  restoredRecords: number
  /** Offsets left to read (`endOffset - position`; compaction gaps make records fewer). */
  remainingOffsets: number
  recordsPerSecond: number
  elapsedMs: number
  done: boolean
}

export interface RestoreChangelogOptions {
  /** Any consumer of the cluster: only its metadata, listOffsets and fetch are used. */
  consumer: Consumer<Buffer, Buffer, Buffer, Buffer>
  topic: string
  partition: number
  /** The next offset the local state lacks (from the checkpoint); default 0 = the beginning. */
  fromOffset?: number
  restore: RestoreCallback
  /** Called every `progressIntervalMs` (also logged at info) and once at the end. */
  onProgress?: (progress: RestoreProgress) => void
  progressIntervalMs?: number
  /** Bytes per fetch (default 32 MiB). */
  maxBytes?: number
  logger?: StateLogger
  signal?: AbortSignal
}

export interface RestoreResult {
  restoredRecords: number
  startOffset: number
  /** The offset restore stopped at: write it to the checkpoint once the task has committed. */
  nextOffset: number
  elapsedMs: number
}

const IS_TRANSACTIONAL = 1 << 4
const IS_CONTROL = 1 << 5
/** Consecutive empty fetches below the end offset after which the rest counts as gaps. */
const MAX_EMPTY_FETCHES = 3

/** A consumer for restores; it never joins its group (the id only satisfies the client's options). */
export function createRestoreConsumer(options: { bootstrapBrokers: string[]; clientId?: string }): Consumer<Buffer, Buffer, Buffer, Buffer> {
  return new Consumer({
    clientId: options.clientId ?? 'runnel-restore',
    bootstrapBrokers: options.bootstrapBrokers,
    groupId: `${options.clientId ?? 'runnel-restore'}-unused-group`,
    isolationLevel: FetchIsolationLevels.READ_COMMITTED
  })
}

/** Earliest and end (last stable) offsets of a topic-partition. */
export async function changelogOffsets(consumer: Consumer<Buffer, Buffer, Buffer, Buffer>, topic: string, partition: number): Promise<{ earliest: number; end: number }> {
  const partitions = { [topic]: [partition] }
  const [earliest, latest] = await Promise.all([
    consumer.listOffsets({ topics: [topic], partitions, timestamp: ListOffsetTimestamps.EARLIEST, isolationLevel: FetchIsolationLevels.READ_COMMITTED }),
    consumer.listOffsets({ topics: [topic], partitions, timestamp: ListOffsetTimestamps.LATEST, isolationLevel: FetchIsolationLevels.READ_COMMITTED })
  ])
  const e = earliest.get(topic)?.[partition]
  const l = latest.get(topic)?.[partition]
  if (e === undefined || l === undefined) {
    throw new StateStoreError('STATE_CHANGELOG_MISSING', `changelog ${topic} has no partition ${partition}`)
  }
  return { earliest: Number(e), end: Number(l) }
}

/**
 * Replays `topic`/`partition` from `fromOffset` (or the earliest offset still in the log) to its
 * current end into `restore`. Throws STATE_CHECKPOINT_AHEAD when `fromOffset` is past the end
 * (the topic was recreated or truncated): the caller must then wipe the store and restore from 0.
 */
export async function restoreChangelog(options: RestoreChangelogOptions): Promise<RestoreResult> {
  const { consumer, topic, partition, restore, onProgress, logger, signal } = options
  if (typeof topic !== 'string' || topic === '') throw new StateStoreError('STATE_BAD_OPTION', 'topic must be a non-empty string')
  if (!Number.isSafeInteger(partition) || partition < 0) throw new StateStoreError('STATE_BAD_OPTION', `partition must be a non-negative integer, got ${partition}`)
  const fromOffset = options.fromOffset ?? 0
  if (!Number.isSafeInteger(fromOffset) || fromOffset < 0) throw new StateStoreError('STATE_BAD_OPTION', `fromOffset must be a non-negative integer, got ${fromOffset}`)
  const progressIntervalMs = options.progressIntervalMs ?? 1000
  const maxBytes = options.maxBytes ?? 32 * 1024 * 1024

  const started = performance.now()
  const { earliest, end } = await changelogOffsets(consumer, topic, partition)
  if (fromOffset > end) {
    throw new StateStoreError('STATE_CHECKPOINT_AHEAD', `checkpoint offset ${fromOffset} of ${topic}-${partition} is past the changelog end ${end}`)
  }
  const startOffset = Math.max(fromOffset, earliest)
  let position = startOffset
  let restored = 0
  let lastReport = started

  const report = (done: boolean): void => {
    if (onProgress === undefined && (logger === undefined || done)) return
    const elapsedMs = performance.now() - started
    const progress: RestoreProgress = {
      topic, partition, startOffset, endOffset: end, position, restoredRecords: restored,
      remainingOffsets: Math.max(0, end - position), recordsPerSecond: elapsedMs > 0 ? Math.round(restored / (elapsedMs / 1000)) : 0,
      elapsedMs: Math.round(elapsedMs), done
    }
    if (!done) logger?.info(progress, 'restoring changelog')
    onProgress?.(progress)
  }

  if (position < end) {
    const metadata = await consumer.metadata({ topics: [topic] })
    const topicMeta = metadata.topics.get(topic)
    const leader = topicMeta?.partitions[partition]?.leader
    if (topicMeta === undefined || leader === undefined) throw new StateStoreError('STATE_CHANGELOG_MISSING', `changelog ${topic} has no partition ${partition}`)
    const abortedProducers = new Set<bigint>()
    let emptyFetches = 0
    while (position < end) {
      if (signal?.aborted === true) throw new StateStoreError('STATE_RESTORE_ABORTED', `restore of ${topic}-${partition} aborted at offset ${position}`, { cause: signal.reason })
      const response = await consumer.fetch({
        node: leader,
        topics: [{ topicId: topicMeta.id, partitions: [{ partition, fetchOffset: BigInt(position), partitionMaxBytes: maxBytes, currentLeaderEpoch: -1, lastFetchedEpoch: -1 }] }],
        maxBytes,
        minBytes: 1,
        maxWaitTime: 100,
        isolationLevel: FetchIsolationLevels.READ_COMMITTED
      })
      const p = response.responses[0]?.partitions[0]
      if (p === undefined) throw new StateStoreError('STATE_RESTORE_FETCH', `fetch of ${topic}-${partition} returned no partition`)
      if (p.errorCode !== 0) throw new StateStoreError('STATE_RESTORE_FETCH', `fetch of ${topic}-${partition} at ${position} failed with Kafka error code ${p.errorCode}`)
      const aborted = [...(p.abortedTransactions ?? [])].sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : 1))
      const { records, next } = committedRecords(p.records ?? [], position, end, aborted, abortedProducers)
      if (next === position) {
        if (++emptyFetches >= MAX_EMPTY_FETCHES) {
          logger?.warn({ topic, partition, position, end }, 'changelog returned nothing below its end offset; treating the rest as gaps')
          position = end
        }
        continue
      }
      emptyFetches = 0
      if (records.length > 0) restore(records)
      restored += records.length
      position = next
      const now = performance.now()
      if (now - lastReport >= progressIntervalMs) {
        lastReport = now
        report(false)
      }
    }
  }
  report(true)
  const elapsedMs = Math.round(performance.now() - started)
  logger?.info({ topic, partition, startOffset, endOffset: end, restoredRecords: restored, elapsedMs }, 'changelog restored')
  return { restoredRecords: restored, startOffset, nextOffset: Math.max(position, startOffset), elapsedMs }
}

/**
 * The committed records of `batches` in `[from, end)`, and the offset after the last batch read.
 * Aborted transactions: a transactional batch whose producer has an aborted transaction starting
 * at or before it is skipped until that producer's next control batch (its abort marker). (The
 * client may already have left aborted batches out; this keeps restore correct either way.)
 */
export function committedRecords(
  batches: RecordsBatch[], from: number, end: number,
  aborted: Array<{ producerId: bigint; firstOffset: bigint }>, abortedProducers: Set<bigint>
): { records: Array<{ key: Buffer; value: Buffer | null }>; next: number } {
  const records: Array<{ key: Buffer; value: Buffer | null }> = []
  let next = from
  let a = 0
  for (const batch of batches) {
    const base = Number(batch.firstOffset)
    while (a < aborted.length && (aborted[a] as { firstOffset: bigint }).firstOffset <= batch.firstOffset) {
      abortedProducers.add((aborted[a] as { producerId: bigint }).producerId)
      a++
    }
    const last = base + batch.lastOffsetDelta
    if (last < from) continue
    if (base >= end) break
    if ((batch.attributes & IS_CONTROL) !== 0) {
      abortedProducers.delete(batch.producerId)
    } else if ((batch.attributes & IS_TRANSACTIONAL) === 0 || !abortedProducers.has(batch.producerId)) {
      for (const r of batch.records) {
        const offset = base + r.offsetDelta
        if (offset < from || offset >= end || r.key === null) continue
        records.push({ key: r.key, value: r.value === null || r.value === undefined ? null : r.value })
      }
    }
    next = Math.min(last + 1, end)
  }
  return { records, next }
}
