/**
 * Restore: reads one changelog topic-partition from a start offset to its end offset with raw
 * fetches (no consumer group is joined, no offsets are committed) and hands the records to a store's
 * RestoreCallback one fetch response at a time. Reads committed data only: records of aborted
 * transactions and transaction markers are skipped, and the end offset is the last stable offset.
 * Transient errors (a leader move, a restarting broker) are retried within `taskTimeoutMs`, as Kafka
 * Streams does with task.timeout.ms (KIP-572).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { Consumer, FetchIsolationLevels, findErrorBy, ListOffsetTimestamps, ProtocolError, type RecordsBatch } from '@platformatic/kafka'
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

const IS_TRANSACTIONAL = 1 << 4
const IS_CONTROL = 1 << 5
/** Consecutive empty fetches below the end offset after which the rest counts as gaps. */
const MAX_EMPTY_FETCHES = 3
const DEFAULT_TASK_TIMEOUT_MS = 300_000
const RETRY_BACKOFF_MS = 100
const RETRY_BACKOFF_MAX_MS = 1000
/** Error ids (the client's ProtocolError `apiId`) of stale metadata or a broker in transition: a retry can succeed. */
const TRANSIENT_API_IDS = [
  'NOT_LEADER_OR_FOLLOWER',
  'LEADER_NOT_AVAILABLE',
  'UNKNOWN_TOPIC_OR_PARTITION',
  'UNKNOWN_TOPIC_ID',
  'FENCED_LEADER_EPOCH',
  'UNKNOWN_LEADER_EPOCH',
  'REPLICA_NOT_AVAILABLE',
  'OFFSET_NOT_AVAILABLE',
  'KAFKA_STORAGE_ERROR',
  'REQUEST_TIMED_OUT'
] as const
/** A retry cannot fix these, even when a network error came with them. */
const FATAL_API_IDS = ['TOPIC_AUTHORIZATION_FAILED', 'CLUSTER_AUTHORIZATION_FAILED', 'SASL_AUTHENTICATION_FAILED'] as const
/** The client's NetworkError and TimeoutError (connection closed or refused, request timeout) both carry this code. */
const NETWORK_ERROR_CODE = 'PLT_KFK_NETWORK'

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
  const retries = new TransientRetries({ consumer, topic, partition, taskTimeoutMs, ...(logger ? { logger } : {}), ...(signal ? { signal } : {}) })
  const { earliest, end } = await retries.run(fromOffset, () => changelogOffsets(consumer, topic, partition))
  if (fromOffset > end) {
    throw new CheckpointAheadError(`checkpoint offset ${fromOffset} of ${topic}-${partition} is past the changelog end ${end}`)
  }
  const startOffset = Math.max(fromOffset, earliest)
  let position = startOffset
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

  if (position < end) {
    let target = await retries.run(position, () => fetchTarget(consumer, topic, partition))
    const abortedProducers = new Set<bigint>()
    let emptyFetches = 0
    while (position < end) {
      const p = await retries.run(
        position,
        async () => {
          const response = await consumer.fetch({
            node: target.leader,
            topics: [
              {
                topicId: target.topicId,
                partitions: [{ partition, fetchOffset: BigInt(position), partitionMaxBytes: maxBytes, currentLeaderEpoch: -1, lastFetchedEpoch: -1 }]
              }
            ],
            maxBytes,
            minBytes: 1,
            maxWaitTime: 100,
            isolationLevel: FetchIsolationLevels.READ_COMMITTED
          })
          const fetched = response.responses[0]?.partitions[0]
          if (fetched === undefined) throw new StateStoreError('STATE_RESTORE_FETCH', `fetch of ${topic}-${partition} returned no partition`)
          if (fetched.errorCode !== 0) {
            const cause = protocolError(fetched.errorCode)
            throw new StateStoreError(
              'STATE_RESTORE_FETCH',
              `fetch of ${topic}-${partition} at ${position} failed with Kafka error code ${fetched.errorCode}`,
              cause ? { cause } : {}
            )
          }
          return fetched
        },
        async () => {
          target = await fetchTarget(consumer, topic, partition, true)
        }
      )
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

/** The partition's leader and the topic's id; `forceUpdate` asks the cluster instead of the client's cache. */
async function fetchTarget(consumer: RestoreConsumer, topic: string, partition: number, forceUpdate = false): Promise<{ leader: number; topicId: string }> {
  const metadata = await consumer.metadata({ topics: [topic], forceUpdate })
  const topicMeta = metadata.topics.get(topic)
  const leader = topicMeta?.partitions[partition]?.leader
  if (topicMeta === undefined || leader === undefined) throw new StateStoreError('STATE_CHANGELOG_MISSING', `changelog ${topic} has no partition ${partition}`)
  // -1 while an election is running: the same as the broker answering LEADER_NOT_AVAILABLE.
  if (leader < 0) throw new ProtocolError('LEADER_NOT_AVAILABLE')
  return { leader, topicId: topicMeta.id }
}

/** The client's error for a Kafka error code, as it would have thrown it; undefined for a code it does not know. */
function protocolError(errorCode: number): ProtocolError | undefined {
  try {
    return new ProtocolError(errorCode)
  } catch {
    return undefined
  }
}

/**
 * The transient error in `error` (itself, inside the client's MultipleErrors, or along the `cause`
 * chain) as a short reason, or undefined when the error is not one a retry can fix.
 */
export function transientErrorReason(error: unknown): string | undefined {
  const chain: Error[] = []
  for (let e: unknown = error; e instanceof Error && chain.length < 8; e = e.cause) chain.push(e)
  if (chain.some((e) => FATAL_API_IDS.some((id) => findErrorBy(e, 'apiId', id) !== null) || findErrorBy(e, 'code', 'PLT_KFK_AUTHENTICATION') !== null)) {
    return undefined
  }
  for (const e of chain) {
    for (const id of TRANSIENT_API_IDS) {
      const found = findErrorBy(e, 'apiId', id)
      if (found !== null) return `${id}: ${found.message}`
    }
    const network = findErrorBy(e, 'code', NETWORK_ERROR_CODE)
    if (network !== null) return `network error: ${network.message}`
  }
  return undefined
}

interface TransientRetriesOptions {
  consumer: RestoreConsumer
  topic: string
  partition: number
  taskTimeoutMs: number
  logger?: StateLogger
  signal?: AbortSignal
}

/**
 * Retries calls that fail with transient errors (KIP-572): a streak of failures may last
 * `taskTimeoutMs` from its first error; each retry waits (100 ms doubling to 1 s, cut short by the
 * abort signal), then refreshes the metadata. A call that succeeds ends the streak.
 */
class TransientRetries {
  private streakStartMs: number | undefined
  private backoffMs = RETRY_BACKOFF_MS
  private readonly o: TransientRetriesOptions

  constructor(options: TransientRetriesOptions) {
    this.o = options
  }

  /** `call` until it succeeds; after a failure, `refresh` (default: a forced metadata update) runs before the next call. */
  async run<T>(position: number, call: () => Promise<T>, refresh?: () => Promise<unknown>): Promise<T> {
    const { consumer, topic } = this.o
    let failed = false
    for (;;) {
      this.throwIfAborted(position)
      try {
        if (failed) await this.untilAborted(refresh !== undefined ? refresh() : consumer.metadata({ topics: [topic], forceUpdate: true }), position)
        const result = await this.untilAborted(call(), position)
        this.streakStartMs = undefined
        this.backoffMs = RETRY_BACKOFF_MS
        return result
      } catch (error) {
        await this.waitBeforeRetry(error, position)
        failed = true
      }
    }
  }

  private async waitBeforeRetry(error: unknown, position: number): Promise<void> {
    const { topic, partition, taskTimeoutMs, logger, signal } = this.o
    this.throwIfAborted(position)
    const reason = transientErrorReason(error)
    if (reason === undefined) throw error
    const now = performance.now()
    this.streakStartMs ??= now
    const spentMs = Math.round(now - this.streakStartMs)
    if (spentMs >= taskTimeoutMs) {
      throw new StateStoreError(
        'STATE_RESTORE_TIMEOUT',
        `restore of ${topic}-${partition} at offset ${position} kept failing for ${spentMs} ms (taskTimeoutMs ${taskTimeoutMs}); last cause: ${reason}`,
        { cause: error }
      )
    }
    const retryInMs = Math.min(this.backoffMs, taskTimeoutMs - spentMs)
    this.backoffMs = Math.min(this.backoffMs * 2, RETRY_BACKOFF_MAX_MS)
    logger?.warn(
      { topic, partition, position, reason, retryInMs, spentMs, taskTimeoutMs },
      'changelog restore hit a transient error; retrying after a metadata refresh'
    )
    try {
      await sleep(retryInMs, undefined, signal ? { signal } : {})
    } catch {
      this.throwIfAborted(position)
    }
  }

  private throwIfAborted(position: number): void {
    const { topic, partition, signal } = this.o
    if (signal?.aborted === true) {
      throw new StateStoreError('STATE_RESTORE_ABORTED', `restore of ${topic}-${partition} aborted at offset ${position}`, { cause: signal.reason })
    }
  }

  /** `promise`, or a rejection as soon as the signal aborts (the client call is left to settle on its own). */
  private untilAborted<T>(promise: Promise<T>, position: number): Promise<T> {
    const { signal } = this.o
    if (signal === undefined) return promise
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => {
        try {
          this.throwIfAborted(position)
        } catch (error) {
          reject(error)
        }
      }
      signal.addEventListener('abort', onAbort, { once: true })
      promise.then(
        (value) => {
          signal.removeEventListener('abort', onAbort)
          resolve(value)
        },
        (error: unknown) => {
          signal.removeEventListener('abort', onAbort)
          reject(error)
        }
      )
      if (signal.aborted) onAbort()
    })
  }
}

/**
 * The committed records of `batches` in `[from, end)`, and the offset after the last batch read.
 * Aborted transactions: a transactional batch whose producer has an aborted transaction starting
 * at or before it is skipped until that producer's next control batch (its abort marker). (The
 * client may already have left aborted batches out; this keeps restore correct either way.)
 */
export function committedRecords(
  batches: RecordsBatch[],
  from: number,
  end: number,
  aborted: Array<{ producerId: bigint; firstOffset: bigint }>,
  abortedProducers: Set<bigint>
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
