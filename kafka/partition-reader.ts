/**
 * The one way the project reads partitions: at positions its caller controls, with raw fetches on a
 * consumer that never joins a group. The runtime's input, restore, global stores, the query API's
 * followers, the registry's log and the tools that read a topic to its end all read through it.
 *
 * @platformatic/kafka's group consumer only pauses whole streams, cannot seek, and re-reads
 * committed offsets after each rebalance; a Streams runtime needs per-partition positions (a task
 * resumes exactly where its state is, an aborted transaction rewinds its inputs), per-partition
 * backpressure, and the guarantee that no record fetched before a partition moved is delivered after.
 *
 * What the reader does for every caller:
 * - looks leaders up, fetches from each leader (one request in flight per broker), and looks them up
 *   again after any failure;
 * - keeps only committed records under read_committed, across responses (record-batches.ts);
 * - restarts a partition whose position fell out of the log at its log start (Kafka Streams resets
 *   to earliest);
 * - counts responses that moved a partition nowhere (`emptyFetches`), so a caller reading to an end
 *   offset can tell a compaction or transaction-marker gap from data still to come;
 * - retries failures as its `RetryPolicy` says, and stops with `onFailed` when the policy gives up.
 *
 * Each assigned partition has an epoch, bumped by every assign/seek/unassign: a response is applied
 * only to partitions whose epoch did not change since the request.
 */
import { type ClusterMetadata, type Consumer, FetchIsolationLevels, findErrorBy, type fetchV17, ProtocolError } from '@platformatic/kafka'
import { NoLeaderError, PartitionFetchError } from './errors.ts'
import { decodeBatches, type ConsumedRecord } from './record-batches.ts'
import { RetryBudget, transientErrorReason, type RetryPolicy } from './retry.ts'

/** What the reader needs of a consumer: any `Consumer` of the cluster fits (it never joins its group). */
export type ReaderConsumer = Pick<Consumer<Buffer, Buffer, Buffer, Buffer>, 'metadata' | 'fetch'>

/** Minimal logger (pino-compatible). */
export interface ReaderLogger {
  warn(obj: object, msg: string): void
}

export interface PartitionReaderOptions {
  readonly consumer: ReaderConsumer
  /** Default read_committed. */
  readonly isolationLevel?: number
  /** Longest a fetch waits for new data, ms. */
  readonly maxWaitMs: number
  /** Bytes per fetch response (default 16 MiB) and at most per partition (default 1 MiB). */
  readonly maxBytes?: number
  readonly partitionMaxBytes?: number
  /**
   * Records one fetch should bring per partition (default: no target). Decoded records cost far more
   * memory than their bytes, so the bytes asked per partition follow this target, from the average
   * record size seen so far (at least 16 KiB; the broker always returns at least one batch).
   */
  readonly targetRecordsPerPartition?: number
  /** Whether a partition may be fetched now (backpressure). Default: always. */
  readonly canFetch?: (topic: string, partition: number) => boolean
  /**
   * A response for a partition was applied: its position (already advanced past `records`), its
   * empty-fetch count and its offsets are current. `records` (committed, in offset order) may be empty.
   */
  readonly onFetched: (position: PartitionPosition, records: ConsumedRecord[]) => void
  /**
   * How failures are retried: a failed metadata lookup or fetch, a partition error, a partition
   * without a leader (a callback that throws is not retried: it goes to `onFailed`). It is told when
   * the oldest failure still unresolved began, per partition. Default: every failure is retried
   * (100 ms doubling to 1 s) and logged at warn.
   */
  readonly retry?: RetryPolicy
  /** The retry policy gave up (threw) or `onFetched` threw: the reader is closed, and this gets the error. */
  readonly onFailed: (error: unknown) => void
  readonly logger?: ReaderLogger
}

/** What the reader knows of one partition. */
export interface PartitionPosition {
  readonly topic: string
  readonly partition: number
  /** Next offset to fetch. */
  position: number
  /** Latest log end offset / last stable offset / log start offset seen in a fetch response (-1 before the first). */
  highWatermark: number
  lastStableOffset: number
  logStartOffset: number
  /** Leader epoch of the last batch read (for offset commits), -1 when unknown. */
  leaderEpoch: number
  /** Responses in a row that did not move the position (reset by one that does, and by seek). */
  emptyFetches: number
  /** When (performance.now()) this partition's current streak of failed fetches began; undefined when its last fetch worked. */
  failingSinceMs: number | undefined
  epoch: number
  readonly abortedProducers: Set<bigint>
  /** Average bytes per record seen in fetches (0 before the first). */
  bytesPerRecord: number
}

type FetchResponse = fetchV17.FetchResponse
type Sent = Map<string, { epoch: number; position: number }>

const OFFSET_OUT_OF_RANGE = 1
const key = (topic: string, partition: number): string => `${topic}\u0000${partition}`

export class PartitionReader {
  private readonly options: PartitionReaderOptions
  private readonly retry: RetryPolicy
  private readonly states = new Map<string, PartitionPosition>()
  private readonly inflight = new Set<number>()
  private metadata: ClusterMetadata | undefined
  private metadataTopics = ''
  private refreshMetadata = false
  private pumping = false
  private pumpAgain = false
  private closed = false
  private backoff: NodeJS.Timeout | undefined
  private nextEpoch = 1
  private idleWaiters: Array<() => void> = []

  constructor(options: PartitionReaderOptions) {
    this.options = options
    this.retry = options.retry ?? retryEveryFailure(options.logger)
  }

  /** Starts reading `topic`/`partition` at `position` (again, when it was assigned). */
  assign(topic: string, partition: number, position: number): void {
    this.states.set(key(topic, partition), {
      topic,
      partition,
      position,
      highWatermark: -1,
      lastStableOffset: -1,
      logStartOffset: -1,
      leaderEpoch: -1,
      emptyFetches: 0,
      failingSinceMs: undefined,
      epoch: this.nextEpoch++,
      abortedProducers: new Set(),
      bytesPerRecord: 0
    })
    this.wake()
  }

  /** Stops reading a partition; a response in flight for it is dropped. */
  unassign(topic: string, partition: number): void {
    this.states.delete(key(topic, partition))
  }

  /** Moves a partition's position; a response in flight for it is dropped. */
  seek(topic: string, partition: number, position: number): void {
    const state = this.states.get(key(topic, partition))
    if (!state) return
    state.position = position
    state.epoch = this.nextEpoch++
    state.emptyFetches = 0
    state.abortedProducers.clear()
    this.wake()
  }

  get(topic: string, partition: number): PartitionPosition | undefined {
    return this.states.get(key(topic, partition))
  }

  positions(): IterableIterator<PartitionPosition> {
    return this.states.values()
  }

  /** Re-evaluates which partitions to fetch (call when buffers drained or `canFetch` changed). */
  wake(): void {
    if (this.closed || this.backoff !== undefined) return
    void this.pump()
  }

  /** Stops reading; resolves when no request is in flight. */
  async close(): Promise<void> {
    this.closed = true
    if (this.backoff) clearTimeout(this.backoff)
    this.backoff = undefined
    if (this.inflight.size > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve))
  }

  private async pump(): Promise<void> {
    if (this.pumping) {
      this.pumpAgain = true
      return
    }
    this.pumping = true
    try {
      do {
        this.pumpAgain = false
        if (this.closed || this.states.size === 0) return
        const metadata = await this.loadMetadata()
        if (this.closed) return
        const byNode = new Map<number, PartitionPosition[]>()
        let leaderless: NoLeaderError | undefined
        for (const state of this.states.values()) {
          if (this.options.canFetch?.(state.topic, state.partition) === false) continue
          const topic = metadata.topics.get(state.topic)
          const leader = topic?.partitions[state.partition]?.leader
          if (leader === undefined || leader < 0) {
            leaderless ??= new NoLeaderError(state.topic, state.partition, leader !== undefined)
            state.failingSinceMs ??= performance.now()
            continue
          }
          if (this.inflight.has(leader)) continue
          let list = byNode.get(leader)
          if (!list) byNode.set(leader, (list = []))
          list.push(state)
        }
        for (const [node, states] of byNode) this.fetchFrom(node, states, metadata)
        if (leaderless !== undefined) this.failed(leaderless)
      } while (this.pumpAgain && this.backoff === undefined)
    } catch (err) {
      // The metadata lookup failed: no partition could be fetched.
      const now = performance.now()
      for (const state of this.states.values()) state.failingSinceMs ??= now
      this.failed(err)
    } finally {
      this.pumping = false
    }
  }

  private async loadMetadata(): Promise<ClusterMetadata> {
    const topics = [...new Set([...this.states.values()].map((s) => s.topic))].sort()
    const joined = topics.join('\u0000')
    if (this.metadata === undefined || this.refreshMetadata || joined !== this.metadataTopics) {
      this.metadata = await this.options.consumer.metadata({ topics, forceUpdate: this.refreshMetadata })
      this.metadataTopics = joined
      this.refreshMetadata = false
    }
    return this.metadata
  }

  private fetchFrom(node: number, states: PartitionPosition[], metadata: ClusterMetadata): void {
    const sent: Sent = new Map()
    const byTopic = new Map<
      string,
      Array<{ partition: number; fetchOffset: bigint; partitionMaxBytes: number; currentLeaderEpoch: number; lastFetchedEpoch: number }>
    >()
    const topicNames = new Map<string, string>()
    for (const s of states) {
      const topicId = metadata.topics.get(s.topic)?.id
      if (topicId === undefined) continue
      topicNames.set(topicId, s.topic)
      sent.set(key(s.topic, s.partition), { epoch: s.epoch, position: s.position })
      let list = byTopic.get(topicId)
      if (!list) byTopic.set(topicId, (list = []))
      list.push({
        partition: s.partition,
        fetchOffset: BigInt(s.position),
        partitionMaxBytes: this.partitionMaxBytes(s),
        currentLeaderEpoch: -1,
        lastFetchedEpoch: -1
      })
    }
    if (byTopic.size === 0) return
    this.inflight.add(node)
    this.options.consumer
      .fetch({
        node,
        topics: [...byTopic].map(([topicId, partitions]) => ({ topicId, partitions })),
        maxWaitTime: this.options.maxWaitMs,
        minBytes: 1,
        maxBytes: this.options.maxBytes ?? 16 * 1024 * 1024,
        isolationLevel: this.options.isolationLevel ?? FetchIsolationLevels.READ_COMMITTED
      })
      .then(
        (response) => {
          this.inflight.delete(node)
          const error = this.apply(response, topicNames, sent)
          // A streak ends when no partition is failing any more, not when some other partition worked.
          if (error === undefined && this.oldestFailureMs() === undefined) this.retry.succeeded()
          this.done(error)
        },
        (err: unknown) => {
          this.inflight.delete(node)
          // The client fails the whole call when one partition fails; positions out of range are
          // repaired here and the rest is fetched again.
          const recovered = findErrorBy(err as Error, 'apiId', 'OFFSET_OUT_OF_RANGE') !== null && this.resetOutOfRange(err, topicNames, sent)
          if (!recovered) {
            const now = performance.now()
            for (const k of sent.keys()) {
              const state = this.states.get(k)
              if (state !== undefined) state.failingSinceMs ??= now
            }
          }
          this.done(recovered ? undefined : err)
        }
      )
  }

  private partitionMaxBytes(state: PartitionPosition): number {
    const max = this.options.partitionMaxBytes ?? 1024 * 1024
    const target = this.options.targetRecordsPerPartition
    if (target === undefined || state.bytesPerRecord === 0) return target === undefined ? max : Math.min(max, 256 * 1024)
    return Math.max(16 * 1024, Math.min(max, Math.ceil(target * state.bytesPerRecord)))
  }

  private done(error: unknown): void {
    if (this.closed) {
      if (this.inflight.size === 0) for (const resolve of this.idleWaiters.splice(0)) resolve()
      return
    }
    if (error !== undefined) this.failed(error)
    else this.wake()
  }

  /** Asks the retry policy how long to wait; the metadata is looked up again before the next fetch. */
  private failed(error: unknown): void {
    if (this.closed) return
    this.refreshMetadata = true
    let delayMs: number
    try {
      delayMs = this.retry.failed(error, this.oldestFailureMs())
    } catch (fatal) {
      void this.close()
      this.options.onFailed(fatal)
      return
    }
    if (this.backoff !== undefined) return
    this.backoff = setTimeout(() => {
      this.backoff = undefined
      this.wake()
    }, delayMs)
  }

  /** When the oldest unresolved failure of an assigned partition began, or undefined when none is failing. */
  private oldestFailureMs(): number | undefined {
    let oldest: number | undefined
    for (const state of this.states.values()) {
      if (state.failingSinceMs !== undefined && (oldest === undefined || state.failingSinceMs < oldest)) oldest = state.failingSinceMs
    }
    return oldest
  }

  /** Applies a response; returns the first partition error in it (other than an out-of-range position, which is repaired). */
  private apply(response: FetchResponse, topicNames: Map<string, string>, sent: Sent): unknown {
    let error: unknown
    for (const topicResponse of response.responses) {
      const topic = topicNames.get(topicResponse.topicId) ?? topicResponse.topicId
      for (const p of topicResponse.partitions) {
        const k = key(topic, p.partitionIndex)
        const state = this.states.get(k)
        const request = sent.get(k)
        // Not requested now (a partition lingering in the fetch session), or moved since the request.
        if (!state || !request || state.epoch !== request.epoch || state.position !== request.position) continue
        if (p.errorCode === OFFSET_OUT_OF_RANGE && p.logStartOffset >= 0n) {
          this.restartAtLogStart(state, Number(p.logStartOffset))
          continue
        }
        if (p.errorCode !== 0) {
          error ??= new PartitionFetchError(topic, p.partitionIndex, state.position, p.errorCode, protocolError(p.errorCode))
          state.failingSinceMs ??= performance.now()
          continue
        }
        state.failingSinceMs = undefined
        state.highWatermark = Number(p.highWatermark)
        if (p.lastStableOffset >= 0n) state.lastStableOffset = Number(p.lastStableOffset)
        if (p.logStartOffset >= 0n) state.logStartOffset = Number(p.logStartOffset)
        const batches = p.records ?? []
        const decoded = decodeBatches(batches, state.position, p.abortedTransactions ?? undefined, state.abortedProducers)
        if (decoded.next <= state.position) {
          state.emptyFetches++
        } else {
          state.emptyFetches = 0
          if (decoded.records.length > 0) {
            let bytes = 0
            for (const batch of batches) bytes += batch.length
            const perRecord = bytes / decoded.records.length
            state.bytesPerRecord = state.bytesPerRecord === 0 ? perRecord : state.bytesPerRecord * 0.8 + perRecord * 0.2
          }
          state.position = decoded.next
          if (decoded.leaderEpoch >= 0) state.leaderEpoch = decoded.leaderEpoch
        }
        try {
          this.options.onFetched(state, decoded.records)
        } catch (err) {
          // A callback that throws is a bug of the caller, not of the cluster: no retry.
          void this.close()
          this.options.onFailed(err)
          return undefined
        }
        if (this.closed) return undefined
      }
    }
    return error
  }

  /** Partitions of a failed fetch whose position is out of range restart at their log start. Returns whether there were any. */
  private resetOutOfRange(err: unknown, topicNames: Map<string, string>, sent: Sent): boolean {
    const response = (err as { response?: FetchResponse }).response
    if (!response?.responses) return false
    let handled = false
    for (const topicResponse of response.responses) {
      const topic = topicNames.get(topicResponse.topicId) ?? topicResponse.topicId
      for (const p of topicResponse.partitions) {
        if (p.errorCode !== OFFSET_OUT_OF_RANGE) continue
        const k = key(topic, p.partitionIndex)
        const state = this.states.get(k)
        if (!state || state.epoch !== sent.get(k)?.epoch || p.logStartOffset < 0n) continue
        this.restartAtLogStart(state, Number(p.logStartOffset))
        handled = true
      }
    }
    return handled
  }

  private restartAtLogStart(state: PartitionPosition, logStartOffset: number): void {
    this.options.logger?.warn(
      { topic: state.topic, partition: state.partition, position: state.position, logStartOffset },
      'fetch position out of range: restarting the partition at its log start'
    )
    state.position = logStartOffset
    state.logStartOffset = logStartOffset
    state.epoch = this.nextEpoch++
    state.emptyFetches = 0
    state.failingSinceMs = undefined
    state.abortedProducers.clear()
  }
}

/** The client's error for a Kafka error code, as it would have thrown it; undefined for a code it does not know. */
function protocolError(errorCode: number): ProtocolError | undefined {
  try {
    return new ProtocolError(errorCode)
  } catch {
    return undefined
  }
}

/** The default policy: every failure is retried, 100 ms doubling to 1 s, and logged at warn. */
function retryEveryFailure(logger: ReaderLogger | undefined): RetryPolicy {
  return new RetryBudget({
    timeoutMs: Infinity,
    reasonOf: (err) => transientErrorReason(err) ?? (err instanceof Error ? err.message : String(err)),
    onRetry: ({ reason, retryInMs }, err) => logger?.warn({ err, reason, retryInMs }, 'fetch failed; retrying')
  })
}
