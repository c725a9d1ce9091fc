/**
 * Reads input partitions at positions the runtime controls. The group consumer of
 * @platformatic/kafka only pauses whole streams, cannot seek, and re-reads committed offsets of
 * every partition after each rebalance; a Streams runtime needs per-partition positions (a task
 * resumes exactly where its state is, an aborted transaction rewinds its inputs), per-partition
 * backpressure, and the guarantee that no record fetched before a partition moved is delivered after.
 * So the group consumer only keeps membership, and this fetcher issues raw fetches (one in flight per
 * broker) on a consumer that never joins a group.
 *
 * Each assigned partition has an epoch, bumped by every assign/seek/unassign: a response is applied
 * only to partitions whose epoch did not change since the request.
 */
import { FetchIsolationLevels, findErrorBy, type ClusterMetadata, type fetchV17 } from '@platformatic/kafka'
import type { Logger } from 'pino'
import type { RawRecord } from '../processors/index.ts'
import type { ByteConsumer } from './client-supplier.ts'
import { decodeBatches } from './record-batches.ts'

export interface FetcherOptions {
  readonly consumer: ByteConsumer
  /** Default read_committed. */
  readonly isolationLevel?: number
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
  readonly logger: Logger
  /** Whether a partition may be fetched now (backpressure). */
  readonly canFetch: (topic: string, partition: number) => boolean
  /** New records of a partition, in offset order. */
  readonly onRecords: (topic: string, partition: number, records: RawRecord[], leaderEpoch: number) => void
}

/** What the fetcher knows of one partition. */
export interface PartitionPosition {
  readonly topic: string
  readonly partition: number
  /** Next offset to fetch. */
  position: number
  /** Latest log end offset / last stable offset seen in a fetch response (-1 before the first). */
  highWatermark: number
  lastStableOffset: number
  /** Leader epoch of the last batch read (for offset commits), -1 when unknown. */
  leaderEpoch: number
  epoch: number
  readonly abortedProducers: Set<bigint>
  /** Average bytes per record seen in fetches (0 before the first). */
  bytesPerRecord: number
}

type FetchResponse = fetchV17.FetchResponse

const key = (topic: string, partition: number): string => `${topic}\u0000${partition}`

export class Fetcher {
  private readonly options: FetcherOptions
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

  constructor(options: FetcherOptions) {
    this.options = options
  }

  /** Starts fetching `topic`/`partition` at `position`. */
  assign(topic: string, partition: number, position: number): void {
    this.states.set(key(topic, partition), {
      topic,
      partition,
      position,
      highWatermark: -1,
      lastStableOffset: -1,
      leaderEpoch: -1,
      epoch: this.nextEpoch++,
      abortedProducers: new Set(),
      bytesPerRecord: 0
    })
    this.wake()
  }

  /** Stops fetching a partition; a response in flight for it is dropped. */
  unassign(topic: string, partition: number): void {
    this.states.delete(key(topic, partition))
  }

  /** Moves a partition's position; a response in flight for it is dropped. */
  seek(topic: string, partition: number, position: number): void {
    const state = this.states.get(key(topic, partition))
    if (!state) return
    state.position = position
    state.epoch = this.nextEpoch++
    state.abortedProducers.clear()
    this.wake()
  }

  get(topic: string, partition: number): PartitionPosition | undefined {
    return this.states.get(key(topic, partition))
  }

  positions(): IterableIterator<PartitionPosition> {
    return this.states.values()
  }

  /** Re-evaluates which partitions to fetch (call when buffers drained or partitions were added). */
  wake(): void {
    if (this.closed || this.backoff !== undefined) return
    void this.pump()
  }

  /** Stops fetching; resolves when no request is in flight. */
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
        if (metadata === undefined || this.closed) return
        const byNode = new Map<number, PartitionPosition[]>()
        for (const state of this.states.values()) {
          if (!this.options.canFetch(state.topic, state.partition)) continue
          const leader = metadata.topics.get(state.topic)?.partitions[state.partition]?.leader
          if (leader === undefined || leader < 0) {
            this.refreshMetadata = true
            continue
          }
          if (this.inflight.has(leader)) continue
          let list = byNode.get(leader)
          if (!list) byNode.set(leader, (list = []))
          list.push(state)
        }
        for (const [node, states] of byNode) this.fetchFrom(node, states, metadata)
      } while (this.pumpAgain)
    } catch (err) {
      this.options.logger.warn({ err }, 'fetch planning failed; retrying')
      this.refreshMetadata = true
      this.retryLater()
    } finally {
      this.pumping = false
    }
  }

  private async loadMetadata(): Promise<ClusterMetadata | undefined> {
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
    const snapshot = new Map<string, { epoch: number; position: number }>()
    const byTopic = new Map<
      string,
      Array<{ partition: number; fetchOffset: bigint; partitionMaxBytes: number; currentLeaderEpoch: number; lastFetchedEpoch: number }>
    >()
    const topicNames = new Map<string, string>()
    for (const s of states) {
      const topicId = metadata.topics.get(s.topic)?.id
      if (topicId === undefined) continue
      topicNames.set(topicId, s.topic)
      snapshot.set(key(s.topic, s.partition), { epoch: s.epoch, position: s.position })
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
    const started = this.options.consumer.fetch({
      node,
      topics: [...byTopic].map(([topicId, partitions]) => ({ topicId, partitions })),
      maxWaitTime: this.options.maxWaitMs,
      minBytes: 1,
      maxBytes: this.options.maxBytes ?? 16 * 1024 * 1024,
      isolationLevel: this.options.isolationLevel ?? FetchIsolationLevels.READ_COMMITTED
    })
    started.then(
      (response) => {
        this.apply(response, topicNames, snapshot)
        this.done(node, false)
      },
      (err: unknown) => {
        const recovered = this.recover(err, topicNames, snapshot)
        if (!recovered && !this.closed) this.options.logger.warn({ err, node }, 'fetch failed; retrying')
        this.refreshMetadata = true
        this.done(node, !recovered)
      }
    )
  }

  private partitionMaxBytes(state: PartitionPosition): number {
    const max = this.options.partitionMaxBytes ?? 1024 * 1024
    const target = this.options.targetRecordsPerPartition
    if (target === undefined || state.bytesPerRecord === 0) return target === undefined ? max : Math.min(max, 256 * 1024)
    return Math.max(16 * 1024, Math.min(max, Math.ceil(target * state.bytesPerRecord)))
  }

  private done(node: number, failed: boolean): void {
    this.inflight.delete(node)
    if (this.closed) {
      if (this.inflight.size === 0) for (const resolve of this.idleWaiters.splice(0)) resolve()
      return
    }
    if (failed) this.retryLater()
    else this.wake()
  }

  private retryLater(): void {
    if (this.backoff !== undefined || this.closed) return
    this.backoff = setTimeout(() => {
      this.backoff = undefined
      this.wake()
    }, 200)
  }

  private apply(response: FetchResponse, topicNames: Map<string, string>, snapshot: Map<string, { epoch: number; position: number }>): void {
    for (const topicResponse of response.responses) {
      const topic = topicNames.get(topicResponse.topicId) ?? topicResponse.topicId
      for (const p of topicResponse.partitions) {
        const k = key(topic, p.partitionIndex)
        const state = this.states.get(k)
        const sent = snapshot.get(k)
        // Not requested now (a partition lingering in the fetch session), or moved since the request.
        if (!state || !sent || state.epoch !== sent.epoch || state.position !== sent.position) continue
        if (p.errorCode !== 0) continue
        state.highWatermark = Number(p.highWatermark)
        if (p.lastStableOffset >= 0n) state.lastStableOffset = Number(p.lastStableOffset)
        if (!p.records || p.records.length === 0) continue
        const decoded = decodeBatches(p.records, state.position, p.abortedTransactions ?? undefined, state.abortedProducers)
        if (decoded.next <= state.position) continue
        if (decoded.records.length > 0) {
          let bytes = 0
          for (const batch of p.records) bytes += batch.length
          const perRecord = bytes / decoded.records.length
          state.bytesPerRecord = state.bytesPerRecord === 0 ? perRecord : state.bytesPerRecord * 0.8 + perRecord * 0.2
        }
        state.position = decoded.next
        if (decoded.leaderEpoch >= 0) state.leaderEpoch = decoded.leaderEpoch
        if (decoded.records.length > 0) this.options.onRecords(topic, p.partitionIndex, decoded.records, state.leaderEpoch)
      }
    }
  }

  /**
   * Partitions whose position is out of range restart at the log start (Kafka Streams resets to
   * earliest). Returns whether the failure was handled that way.
   */
  private recover(err: unknown, topicNames: Map<string, string>, snapshot: Map<string, { epoch: number; position: number }>): boolean {
    if (!findErrorBy(err as Error, 'apiId', 'OFFSET_OUT_OF_RANGE')) return false
    const response = (err as { response?: FetchResponse }).response
    if (!response?.responses) return false
    let handled = false
    for (const topicResponse of response.responses) {
      const topic = topicNames.get(topicResponse.topicId) ?? topicResponse.topicId
      for (const p of topicResponse.partitions) {
        if (p.errorCode !== 1) continue
        const k = key(topic, p.partitionIndex)
        const state = this.states.get(k)
        if (!state || state.epoch !== snapshot.get(k)?.epoch || p.logStartOffset < 0n) continue
        this.options.logger.warn(
          { topic, partition: p.partitionIndex, position: state.position, logStartOffset: Number(p.logStartOffset) },
          'fetch position out of range: restarting the partition at its log start'
        )
        state.position = Number(p.logStartOffset)
        state.epoch = this.nextEpoch++
        handled = true
      }
    }
    return handled
  }
}
