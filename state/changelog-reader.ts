/**
 * Restore: reads one changelog topic-partition from a start offset to its end offset with a
 * `PartitionReader` (no consumer group is joined, no offsets are committed) and hands the records to
 * a store's RestoreCallback one fetch response at a time. Reads committed data only: records of aborted
 * transactions and transaction markers are skipped, and the end offset is the last stable offset.
 * Transient errors (a leader move, a restarting broker) are retried within `taskTimeoutMs`, as Kafka
 * Streams does with task.timeout.ms (KIP-572).
 */
import { FetchIsolationLevels, ListOffsetTimestamps, type Consumer } from '@platformatic/kafka'
import {
  createReadConsumer,
  defaultKafkaClientSupplier,
  PartitionFetchError,
  PartitionReader,
  RetryBudget,
  type ByteConsumer,
  type ConsumedRecord,
  type KafkaClientSupplier
} from '../kafka/index.ts'
import { CheckpointAheadError, StateStoreError } from './errors.ts'
import type { RestoreCallback, StateLogger } from './types.ts'

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

/** What restore needs of a consumer: any `Consumer` of the cluster fits. */
export type RestoreConsumer = Pick<Consumer<Buffer, Buffer, Buffer, Buffer>, 'metadata' | 'listOffsets' | 'fetch'>

/** Options of `restoreChangelog`. */
export interface RestoreChangelogOptions {
  /** Any consumer of the cluster: only its metadata, listOffsets and fetch are used. */
  consumer: RestoreConsumer
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
  /**
   * How long a streak of transient errors (NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE, FENCED_LEADER_EPOCH,
   * REQUEST_TIMED_OUT, network errors, ...) may last, in ms from its first error, before restore fails
   * with STATE_RESTORE_TIMEOUT; a successful call ends the streak. Each retry refreshes the metadata
   * after a backoff (100 ms doubling to 1 s) and is logged at warn. Default 300000 (Kafka Streams'
   * task.timeout.ms); 0 fails on the first error. Other errors fail at once.
   */
  taskTimeoutMs?: number
  /** Retries are logged at warn, progress at info. */
  logger?: StateLogger
  signal?: AbortSignal
}

/** What `restoreChangelog` read. */
export interface RestoreResult {
  restoredRecords: number
  startOffset: number
  /** The offset restore stopped at: write it to the checkpoint once the task has committed. */
  nextOffset: number
  elapsedMs: number
}

/** Consecutive empty fetches below the end offset after which the rest counts as gaps. */
const MAX_EMPTY_FETCHES = 3
const DEFAULT_TASK_TIMEOUT_MS = 300_000

/** A consumer for restores, from the client supplier (default: plain clients); it never joins its group. */
export function createRestoreConsumer(options: { bootstrapBrokers: string[]; clientId?: string; clients?: KafkaClientSupplier }): ByteConsumer {
  return createReadConsumer(options.clients ?? defaultKafkaClientSupplier, {
    bootstrapBrokers: options.bootstrapBrokers,
    clientId: options.clientId ?? 'runnel-restore'
  })
}

/** Earliest and end (last stable) offsets of a topic-partition. */
export async function changelogOffsets(consumer: RestoreConsumer, topic: string, partition: number): Promise<{ earliest: number; end: number }> {
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
  if (!Number.isSafeInteger(partition) || partition < 0)
    throw new StateStoreError('STATE_BAD_OPTION', `partition must be a non-negative integer, got ${partition}`)
  const fromOffset = options.fromOffset ?? 0
  if (!Number.isSafeInteger(fromOffset) || fromOffset < 0)
    throw new StateStoreError('STATE_BAD_OPTION', `fromOffset must be a non-negative integer, got ${fromOffset}`)
  const taskTimeoutMs = options.taskTimeoutMs ?? DEFAULT_TASK_TIMEOUT_MS
  if (!Number.isFinite(taskTimeoutMs) || taskTimeoutMs < 0) {
    throw new StateStoreError('STATE_BAD_OPTION', `taskTimeoutMs must be a non-negative number of ms, got ${taskTimeoutMs}`)
  }
  const progressIntervalMs = options.progressIntervalMs ?? 1000
  const maxBytes = options.maxBytes ?? 32 * 1024 * 1024

  const started = performance.now()
  let position = fromOffset
  const aborted = (): StateStoreError =>
    new StateStoreError('STATE_RESTORE_ABORTED', `restore of ${topic}-${partition} aborted at offset ${position}`, { cause: signal?.reason })
  // One budget for the whole restore (KIP-572): a streak of transient failures, of the offset lookup
  // or of fetches, may last taskTimeoutMs; a success ends it.
  const budget = new RetryBudget({
    timeoutMs: taskTimeoutMs,
    timeoutError: (spentMs, reason, cause) =>
      new StateStoreError(
        'STATE_RESTORE_TIMEOUT',
        `restore of ${topic}-${partition} at offset ${position} kept failing for ${spentMs} ms (taskTimeoutMs ${taskTimeoutMs}); last cause: ${reason}`,
        { cause }
      ),
    onRetry: ({ reason, retryInMs, spentMs }) =>
      logger?.warn(
        { topic, partition, position, reason, retryInMs, spentMs, taskTimeoutMs },
        'changelog restore hit a transient error; retrying after a metadata refresh'
      )
  })
  const { earliest, end } = await budget.run(() => changelogOffsets(consumer, topic, partition), {
    refresh: () => consumer.metadata({ topics: [topic], forceUpdate: true }),
    ...(signal ? { signal } : {}),
    aborted
  })
  if (fromOffset > end) {
    throw new CheckpointAheadError(`checkpoint offset ${fromOffset} of ${topic}-${partition} is past the changelog end ${end}`)
  }
  const startOffset = Math.max(fromOffset, earliest)
  position = startOffset
  let restored = 0
  let lastReport = started

  const report = (done: boolean): void => {
    if (onProgress === undefined && (logger === undefined || done)) return
    const elapsedMs = performance.now() - started
    const progress: RestoreProgress = {
      topic,
      partition,
      startOffset,
      endOffset: end,
      position,
      restoredRecords: restored,
      remainingOffsets: Math.max(0, end - position),
      recordsPerSecond: elapsedMs > 0 ? Math.round(restored / (elapsedMs / 1000)) : 0,
      elapsedMs: Math.round(elapsedMs),
      done
    }
    if (!done) logger?.info(progress, 'restoring changelog')
    onProgress?.(progress)
  }

  if (position < end) await readToEnd()
  report(true)
  const elapsedMs = Math.round(performance.now() - started)
  logger?.info({ topic, partition, startOffset, endOffset: end, restoredRecords: restored, elapsedMs }, 'changelog restored')
  return { restoredRecords: restored, startOffset, nextOffset: Math.max(position, startOffset), elapsedMs }

  /** Reads [position, end) into `restore`; the reader retries within the budget. */
  async function readToEnd(): Promise<void> {
    const { promise, resolve, reject } = Promise.withResolvers<void>()
    const reader: PartitionReader = new PartitionReader({
      consumer,
      maxWaitMs: 100,
      maxBytes,
      partitionMaxBytes: maxBytes,
      retry: budget,
      onFetched: (state, records) => {
        // The reader's records go to the store as they are (no copy per record); only a chunk with a
        // record past the end or without a key (neither is data of this restore) is filtered.
        const applied = records.every(isRestorable(end)) ? records : records.filter(isRestorable(end))
        if (applied.length > 0) restore(applied as ReadonlyArray<{ key: Buffer; value: Buffer | null }>)
        restored += applied.length
        position = Math.min(state.position, end)
        if (position < end && state.emptyFetches >= MAX_EMPTY_FETCHES) {
          logger?.warn({ topic, partition, position, end }, 'changelog returned nothing below its end offset; treating the rest as gaps')
          position = end
        }
        if (position >= end) {
          void reader.close()
          resolve()
          return
        }
        const now = performance.now()
        if (now - lastReport >= progressIntervalMs) {
          lastReport = now
          report(false)
        }
      },
      onFailed: (error) =>
        // A partition error a retry cannot fix (an unknown code) is restore's to name.
        reject(error instanceof PartitionFetchError ? new StateStoreError('STATE_RESTORE_FETCH', error.message, { cause: error.cause }) : error)
    })
    const onAbort = (): void => {
      void reader.close()
      reject(aborted())
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    try {
      if (signal?.aborted === true) onAbort()
      else reader.assign(topic, partition, position)
      await promise
    } finally {
      signal?.removeEventListener('abort', onAbort)
    }
  }
}

/** Whether a changelog record below `end` is one restore applies (a record without a key is not). */
function isRestorable(end: number): (record: ConsumedRecord) => boolean {
  return (record) => record.offset < end && record.key !== null
}
