/**
 * Follows topics from their earliest offsets, forever, with raw fetches: no consumer group is joined
 * and no offset is committed, so any number of query API instances read the whole topics on their
 * own. Reads committed data only (records of aborted transactions and control batches are skipped).
 *
 * Readiness: at start the follower notes each partition's end offset (last stable offset); it is
 * caught up once every partition's position reached that target. Topics that do not exist yet count
 * as empty and are picked up when they appear.
 */
import { Consumer, FetchIsolationLevels, findErrorBy, ListOffsetTimestamps, type RecordsBatch } from '@platformatic/kafka'

/** One record as the follower hands it over. */
export interface FollowedRecord {
  readonly topic: string
  readonly partition: number
  readonly offset: number
  readonly key: Buffer | null
  readonly value: Buffer | null
  readonly timestampMs: number
}

/** Where one partition stands. */
export interface PartitionProgress {
  readonly topic: string
  readonly partition: number
  /** First offset this instance read (the earliest offset at start). */
  readonly start: number
  /** Next offset to read. */
  readonly position: number
  /** End offset noted at start (0 for partitions that appeared later). */
  readonly target: number
  readonly caughtUp: boolean
}

/** Minimal logger (pino-compatible). */
export interface FollowerLogger {
  info(obj: object, msg: string): void
  warn(obj: object, msg: string): void
}

/** Options of `TopicFollower`. */
export interface TopicFollowerOptions {
  brokers: readonly string[]
  topics: readonly string[]
  /** Receives each fetched chunk in offset order per partition; awaited before the next fetch. */
  onRecords: (records: FollowedRecord[]) => Promise<void> | void
  clientId?: string
  /** Longest a fetch waits for new data, ms. Bounds the live-update delay with several leaders. Default 500. */
  maxWaitMs?: number
  /** Bytes per fetch response. Default 16 MiB. */
  maxBytes?: number
  /** How often topics and leaders are looked up again (new partitions, missing topics), ms. Default 10,000. */
  metadataRefreshMs?: number
  logger?: FollowerLogger
}

interface PartitionState {
  topic: string
  partition: number
  start: number
  position: number
  target: number
  emptyFetches: number
  caughtUp: boolean
  /** Producers with an aborted transaction open at `position` (their records are skipped). */
  abortedProducers: Set<bigint>
}

interface TopicMeta {
  id: string
  leaders: number[]
}

const IS_TRANSACTIONAL = 1 << 4
const IS_CONTROL = 1 << 5
/** Fetches in a row that return nothing below the target before the rest counts as compacted gaps. */
const MAX_EMPTY_FETCHES = 3
const OFFSET_OUT_OF_RANGE = 1

/** Reads topics from the beginning and keeps following them. */
export class TopicFollower {
  private readonly options: Required<Omit<TopicFollowerOptions, 'logger'>> & { logger: FollowerLogger | undefined }
  private readonly consumer: Consumer<Buffer, Buffer, Buffer, Buffer>
  private readonly partitions = new Map<string, PartitionState>()
  private readonly topics_ = new Map<string, TopicMeta>()
  private metadataAt = 0
  private closed = false
  private loop: Promise<void> | undefined
  private readyWaiters: Array<() => void> = []
  private lastError_: string | undefined
  private records_ = 0

  constructor(options: TopicFollowerOptions) {
    if (!Array.isArray(options?.brokers) || options.brokers.length === 0) throw new TypeError('TopicFollower: option "brokers" must be a non-empty array')
    if (!Array.isArray(options.topics) || options.topics.length === 0 || options.topics.some((t) => typeof t !== 'string' || t === '')) {
      throw new TypeError('TopicFollower: option "topics" must be a non-empty array of topic names')
    }
    if (typeof options.onRecords !== 'function') throw new TypeError('TopicFollower: option "onRecords" must be a function')
    this.options = {
      brokers: options.brokers,
      topics: [...new Set(options.topics)],
      onRecords: options.onRecords,
      clientId: options.clientId ?? 'runnel-query-api',
      maxWaitMs: positive(options.maxWaitMs, 500, 'maxWaitMs'),
      maxBytes: positive(options.maxBytes, 16 * 1024 * 1024, 'maxBytes'),
      metadataRefreshMs: positive(options.metadataRefreshMs, 10_000, 'metadataRefreshMs'),
      logger: options.logger
    }
    this.consumer = new Consumer({
      clientId: this.options.clientId,
      bootstrapBrokers: [...this.options.brokers],
      // Required by the client's options; the follower never joins it.
      groupId: `${this.options.clientId}-unused-group`,
      isolationLevel: FetchIsolationLevels.READ_COMMITTED
    })
  }

  /** Notes the end offsets to catch up with, then follows in the background. Rejects when Kafka cannot be reached. */
  async start(): Promise<void> {
    await this.refreshMetadata(true)
    this.loop = this.run()
  }

  /** True once every partition reached the end offset it had at start. */
  get ready(): boolean {
    for (const p of this.partitions.values()) if (!p.caughtUp) return false
    return this.loop !== undefined
  }

  /** Resolves when `ready` turns true. */
  whenReady(): Promise<void> {
    if (this.ready) return Promise.resolve()
    return new Promise((resolve) => this.readyWaiters.push(resolve))
  }

  /** Every partition's position and target, sorted by topic and partition. */
  progress(): PartitionProgress[] {
    return [...this.partitions.values()]
      .map((p) => ({ topic: p.topic, partition: p.partition, start: p.start, position: p.position, target: p.target, caughtUp: p.caughtUp }))
      .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition))
  }

  /** Records handed over since start. */
  get recordsRead(): number {
    return this.records_
  }

  /** The last fetch or metadata failure (cleared by the next success). */
  get lastError(): string | undefined {
    return this.lastError_
  }

  /** Topics that exist and are followed. */
  get followedTopics(): string[] {
    return [...this.topics_.keys()]
  }

  async close(): Promise<void> {
    this.closed = true
    await this.loop?.catch(() => undefined)
    await this.consumer.close(true)
  }

  private async run(): Promise<void> {
    let backoffMs = 200
    this.checkReady()
    while (!this.closed) {
      try {
        if (Date.now() - this.metadataAt >= this.options.metadataRefreshMs) await this.refreshMetadata(false)
        await this.fetchRound()
        this.lastError_ = undefined
        backoffMs = 200
      } catch (err) {
        if (this.closed) break
        this.lastError_ = (err as Error).message
        this.options.logger?.warn({ err: (err as Error).message, backoffMs }, 'query-api: fetch failed; retrying')
        // Leaders may have moved: look them up again before the next round.
        this.metadataAt = 0
        await sleep(backoffMs)
        backoffMs = Math.min(backoffMs * 2, 10_000)
      }
    }
  }

  /** One fetch to every leader at once; each response is applied as it arrives, in partition order. */
  private async fetchRound(): Promise<void> {
    const byLeader = new Map<number, Array<{ state: PartitionState; topicId: string }>>()
    for (const state of this.partitions.values()) {
      const meta = this.topics_.get(state.topic)
      const leader = meta?.leaders[state.partition]
      if (meta === undefined || leader === undefined || leader < 0) continue
      let list = byLeader.get(leader)
      if (list === undefined) byLeader.set(leader, (list = []))
      list.push({ state, topicId: meta.id })
    }
    if (byLeader.size === 0) {
      await sleep(this.options.maxWaitMs)
      return
    }
    await Promise.all([...byLeader].map(async ([node, parts]) => this.fetchFrom(node, parts)))
  }

  private async fetchFrom(node: number, parts: Array<{ state: PartitionState; topicId: string }>): Promise<void> {
    const topics = new Map<
      string,
      Array<{ partition: number; fetchOffset: bigint; partitionMaxBytes: number; currentLeaderEpoch: number; lastFetchedEpoch: number }>
    >()
    for (const { state, topicId } of parts) {
      let list = topics.get(topicId)
      if (list === undefined) topics.set(topicId, (list = []))
      list.push({
        partition: state.partition,
        fetchOffset: BigInt(state.position),
        partitionMaxBytes: this.options.maxBytes,
        currentLeaderEpoch: -1,
        lastFetchedEpoch: -1
      })
    }
    let response: Awaited<ReturnType<Consumer<Buffer, Buffer, Buffer, Buffer>['fetch']>>
    try {
      response = await this.consumer.fetch({
        node,
        topics: [...topics].map(([topicId, partitions]) => ({ topicId, partitions })),
        maxBytes: this.options.maxBytes,
        minBytes: 1,
        maxWaitTime: this.options.maxWaitMs,
        isolationLevel: FetchIsolationLevels.READ_COMMITTED
      })
    } catch (err) {
      // A partition-level error fails the whole call, but the response still carries the data of
      // the other partitions: apply it, and repair the failed partitions.
      const partial = (err as { response?: typeof response }).response
      if (partial === undefined) throw err
      response = partial
      this.metadataAt = 0
    }
    const byTopicId = new Map([...this.topics_].map(([name, meta]) => [meta.id, name]))
    const resets: PartitionState[] = []
    for (const t of response.responses) {
      const topic = byTopicId.get(t.topicId) ?? t.topicId
      for (const p of t.partitions) {
        const state = this.partitions.get(`${topic}\u0000${p.partitionIndex}`)
        if (state === undefined) continue
        if (p.errorCode === OFFSET_OUT_OF_RANGE) {
          resets.push(state)
          continue
        }
        if (p.errorCode !== 0) continue
        const chunk = this.collect(state, p.records ?? [], [...(p.abortedTransactions ?? [])])
        if (chunk.records.length > 0) {
          // Throws when the records cannot be applied (e.g. the registry is down): the position
          // then stays put and the same records are fetched again after the back-off.
          await this.options.onRecords(chunk.records)
          this.records_ += chunk.records.length
        }
        state.position = chunk.position
        state.abortedProducers = chunk.abortedProducers
        this.noteEmpty(state, chunk.records.length === 0 && chunk.position === chunk.from)
      }
    }
    if (resets.length > 0) await this.resetToEarliest(resets)
    this.checkReady()
  }

  /**
   * The committed records of `batches` at or after the partition's position, the position after
   * them and the aborted-transaction state there. Pure: the caller commits it once applied.
   */
  private collect(
    state: PartitionState,
    batches: RecordsBatch[],
    aborted: Array<{ producerId: bigint; firstOffset: bigint }>
  ): {
    records: FollowedRecord[]
    from: number
    position: number
    abortedProducers: Set<bigint>
  } {
    aborted.sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0))
    const records: FollowedRecord[] = []
    const abortedProducers = new Set(state.abortedProducers)
    let position = state.position
    let a = 0
    for (const batch of batches) {
      while (a < aborted.length && (aborted[a] as { firstOffset: bigint }).firstOffset <= batch.firstOffset) {
        abortedProducers.add((aborted[a] as { producerId: bigint }).producerId)
        a++
      }
      const base = Number(batch.firstOffset)
      const last = base + batch.lastOffsetDelta
      if (last < position) continue
      if ((batch.attributes & IS_CONTROL) !== 0) {
        // The marker that ends the producer's transaction (commit or abort).
        abortedProducers.delete(batch.producerId)
      } else if ((batch.attributes & IS_TRANSACTIONAL) === 0 || !abortedProducers.has(batch.producerId)) {
        const baseTs = Number(batch.firstTimestamp)
        for (const r of batch.records) {
          const offset = base + r.offsetDelta
          if (offset < position) continue
          records.push({
            topic: state.topic,
            partition: state.partition,
            offset,
            key: r.key,
            value: r.value ?? null,
            timestampMs: baseTs + Number(r.timestampDelta)
          })
        }
      }
      position = last + 1
    }
    return { records, from: state.position, position, abortedProducers }
  }

  /** Counts fetches that returned nothing below the target; after a few the rest is a compaction or transaction gap. */
  private noteEmpty(state: PartitionState, empty: boolean): void {
    if (!empty || state.position >= state.target) {
      state.emptyFetches = 0
      return
    }
    if (++state.emptyFetches >= MAX_EMPTY_FETCHES) {
      this.options.logger?.warn(
        { topic: state.topic, partition: state.partition, position: state.position, target: state.target },
        'query-api: nothing left below the start end offset; treating the rest as gaps'
      )
      state.target = state.position
    }
  }

  private checkReady(): void {
    for (const p of this.partitions.values()) if (!p.caughtUp && p.position >= p.target) p.caughtUp = true
    if (this.readyWaiters.length > 0 && this.ready) {
      const waiters = this.readyWaiters
      this.readyWaiters = []
      for (const resolve of waiters) resolve()
    }
  }

  private async resetToEarliest(states: PartitionState[]): Promise<void> {
    const offsets = await this.listOffsets(
      states.map((s) => ({ topic: s.topic, partition: s.partition })),
      ListOffsetTimestamps.EARLIEST
    )
    for (const s of states) {
      const earliest = offsets.get(`${s.topic}\u0000${s.partition}`) ?? 0
      this.options.logger?.warn(
        { topic: s.topic, partition: s.partition, position: s.position, earliest },
        'query-api: offset out of range (retention); continuing from the earliest offset'
      )
      s.position = earliest
      s.abortedProducers.clear()
    }
  }

  private async listOffsets(parts: Array<{ topic: string; partition: number }>, timestamp: bigint): Promise<Map<string, number>> {
    const partitions: Record<string, number[]> = {}
    for (const p of parts) (partitions[p.topic] ??= []).push(p.partition)
    const listed = await this.consumer.listOffsets({
      topics: Object.keys(partitions),
      partitions,
      timestamp,
      isolationLevel: FetchIsolationLevels.READ_COMMITTED
    })
    const out = new Map<string, number>()
    for (const [topic, offsets] of listed) offsets.forEach((o, partition) => out.set(`${topic}\u0000${partition}`, Number(o)))
    return out
  }

  private consumerMetadata(topic: string, retries: number | undefined): ReturnType<Consumer<Buffer, Buffer, Buffer, Buffer>['metadata']> {
    return this.consumer.metadata({ topics: [topic], forceUpdate: true, autocreateTopics: false, ...(retries === undefined ? {} : { retries }) })
  }

  /** Looks topics up; new partitions start at their earliest offset, with the current end as target only at start. */
  private async refreshMetadata(atStart: boolean): Promise<void> {
    const found = new Map<string, TopicMeta>()
    for (const topic of this.options.topics) {
      // First without retries: the client would retry a missing topic for seconds. A missing topic
      // is not an error (it counts as empty until it appears); other failures get the retries.
      let metadata: Awaited<ReturnType<typeof this.consumerMetadata>> | undefined
      try {
        metadata = await this.consumerMetadata(topic, 0)
      } catch (err) {
        // The client's "unknown topic" error carries the broker's code (patches/@platformatic+kafka).
        if (findErrorBy(err as Error, 'apiId', 'UNKNOWN_TOPIC_OR_PARTITION') === null) metadata = await this.consumerMetadata(topic, undefined)
      }
      const t = metadata?.topics.get(topic)
      if (t !== undefined) found.set(topic, { id: t.id, leaders: t.partitions.map((p) => p.leader) })
    }
    const fresh: Array<{ topic: string; partition: number }> = []
    for (const [topic, meta] of found) {
      this.topics_.set(topic, meta)
      for (let partition = 0; partition < meta.leaders.length; partition++) {
        if (!this.partitions.has(`${topic}\u0000${partition}`)) fresh.push({ topic, partition })
      }
    }
    if (fresh.length > 0) {
      const [earliest, end] = await Promise.all([
        this.listOffsets(fresh, ListOffsetTimestamps.EARLIEST),
        atStart ? this.listOffsets(fresh, ListOffsetTimestamps.LATEST) : Promise.resolve(new Map<string, number>())
      ])
      for (const { topic, partition } of fresh) {
        const key = `${topic}\u0000${partition}`
        const position = earliest.get(key) ?? 0
        const target = end.get(key) ?? 0
        this.partitions.set(key, {
          topic,
          partition,
          start: position,
          position,
          target,
          emptyFetches: 0,
          caughtUp: position >= target,
          abortedProducers: new Set()
        })
      }
      if (!atStart) this.options.logger?.info({ partitions: fresh }, 'query-api: following new partitions')
    }
    this.metadataAt = Date.now()
  }
}

function positive(value: number | undefined, fallback: number, option: string): number {
  if (value === undefined) return fallback
  if (!Number.isFinite(value) || value <= 0) throw new TypeError(`TopicFollower: option "${option}" must be a positive number, got ${String(value)}`)
  return value
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
