/**
 * Follows topics from their earliest offsets, forever, with the kafka layer's `PartitionReader`: no
 * consumer group is joined and no offset is committed, so any number of query API instances read
 * the whole topics on their own. Reads committed data only (the reader skips records of aborted
 * transactions and control batches). Chunks are handed over one at a time, in offset order per
 * partition; a partition is not fetched again until its chunk was applied, and a chunk that could
 * not be applied is fetched again after a back-off.
 *
 * Readiness: at start the follower notes each partition's end offset (last stable offset); it is
 * caught up once every partition's position reached that target. Topics that do not exist yet count
 * as empty and are picked up when they appear.
 */
import { FetchIsolationLevels, findErrorBy, ListOffsetTimestamps } from '@platformatic/kafka'
import {
  createReadConsumer,
  defaultKafkaClientSupplier,
  PartitionReader,
  RetryBudget,
  type ByteConsumer,
  type ConsumedRecord,
  type KafkaClientSupplier,
  type PartitionPosition
} from '../kafka/index.ts'
import { QueryApiConfigError } from './errors.ts'

/** One record as the follower hands it over: a committed record of the reader, with where it came from. */
export interface FollowedRecord extends Omit<ConsumedRecord, 'headers'> {
  readonly topic: string
  readonly partition: number
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
  /** Receives each fetched chunk in offset order per partition; awaited before the partition is fetched again. */
  onRecords: (records: FollowedRecord[]) => Promise<void> | void
  clientId?: string
  /** Longest a fetch waits for new data, ms. Bounds the live-update delay with several leaders. Default 500. */
  maxWaitMs?: number
  /** Bytes per fetch response. Default 16 MiB. */
  maxBytes?: number
  /** How often topics are looked up again (new partitions, missing topics), ms. Default 10,000. */
  metadataRefreshMs?: number
  logger?: FollowerLogger
  /** Where the consumer comes from (TLS, authentication). Default: plain clients. */
  clients?: KafkaClientSupplier
}

interface PartitionState {
  readonly topic: string
  readonly partition: number
  readonly start: number
  /** The offset after the last record applied (the reader's position may be ahead while a chunk is applied). */
  applied: number
  target: number
  caughtUp: boolean
}

/** Reads in a row that returned nothing below the target before the rest counts as compacted gaps. */
const MAX_EMPTY_FETCHES = 3
const APPLY_BACKOFF_MS = 200
const APPLY_BACKOFF_MAX_MS = 10_000

/** Reads topics from the beginning and keeps following them. */
export class TopicFollower {
  private readonly options: Required<Omit<TopicFollowerOptions, 'logger' | 'clients'>> & { logger: FollowerLogger | undefined }
  private readonly consumer: ByteConsumer
  private readonly reader: PartitionReader
  private readonly partitions = new Map<string, PartitionState>()
  private readonly topics_ = new Set<string>()
  /** Partitions whose chunk is being applied or waits to be fetched again: the reader leaves them alone. */
  private readonly held = new Set<string>()
  private applying: Promise<void> = Promise.resolve()
  private applyBackoffMs = APPLY_BACKOFF_MS
  private refreshTimer: NodeJS.Timeout | undefined
  private closed = false
  private started = false
  private readyWaiters: Array<() => void> = []
  private lastError_: string | undefined
  private records_ = 0

  constructor(options: TopicFollowerOptions) {
    if (!Array.isArray(options?.brokers) || options.brokers.length === 0) throw badOption('brokers', 'must be a non-empty array')
    if (!Array.isArray(options.topics) || options.topics.length === 0 || options.topics.some((t) => typeof t !== 'string' || t === '')) {
      throw badOption('topics', 'must be a non-empty array of topic names')
    }
    if (typeof options.onRecords !== 'function') throw badOption('onRecords', 'must be a function')
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
    this.consumer = createReadConsumer(options.clients ?? defaultKafkaClientSupplier, {
      bootstrapBrokers: this.options.brokers,
      clientId: this.options.clientId
    })
    // The follower never gives up: it reports the failure (lastError, health) and keeps trying.
    const budget = new RetryBudget({
      timeoutMs: Infinity,
      reasonOf: (err) => (err instanceof Error ? err.message : String(err)),
      backoffMs: 200,
      maxBackoffMs: 10_000,
      onRetry: ({ reason, retryInMs }) => {
        this.lastError_ = reason
        this.options.logger?.warn({ err: reason, backoffMs: retryInMs }, 'query-api: fetch failed; retrying')
      }
    })
    this.reader = new PartitionReader({
      consumer: this.consumer,
      maxWaitMs: this.options.maxWaitMs,
      maxBytes: this.options.maxBytes,
      partitionMaxBytes: this.options.maxBytes,
      canFetch: (topic, partition) => !this.held.has(partitionKey(topic, partition)),
      onFetched: (position, records) => this.onFetched(position, records),
      retry: {
        failed: (err, failingSinceMs) => budget.failed(err, failingSinceMs),
        succeeded: () => {
          budget.succeeded()
          this.lastError_ = undefined
        }
      },
      onFailed: (err) => {
        this.lastError_ = (err as Error).message
        this.options.logger?.warn({ err: (err as Error).message }, 'query-api: the follower stopped')
      },
      logger: { warn: (obj, msg) => this.options.logger?.warn(obj, `query-api: ${msg}`) }
    })
  }

  /** Notes the end offsets to catch up with, then follows in the background. Rejects when Kafka cannot be reached. */
  async start(): Promise<void> {
    await this.refreshMetadata(true)
    this.started = true
    this.checkReady()
    this.scheduleRefresh()
  }

  /** True once every partition reached the end offset it had at start. */
  get ready(): boolean {
    for (const p of this.partitions.values()) if (!p.caughtUp) return false
    return this.started
  }

  /** Resolves when `ready` turns true. */
  whenReady(): Promise<void> {
    if (this.ready) return Promise.resolve()
    return new Promise((resolve) => this.readyWaiters.push(resolve))
  }

  /** Every partition's position (records applied up to) and target, sorted by topic and partition. */
  progress(): PartitionProgress[] {
    return [...this.partitions.values()]
      .map((p) => ({ topic: p.topic, partition: p.partition, start: p.start, position: p.applied, target: p.target, caughtUp: p.caughtUp }))
      .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition))
  }

  /** Records handed over since start. */
  get recordsRead(): number {
    return this.records_
  }

  /** The last fetch, metadata or apply failure (cleared by the next success). */
  get lastError(): string | undefined {
    return this.lastError_
  }

  /** Topics that exist and are followed. */
  get followedTopics(): string[] {
    return [...this.topics_]
  }

  async close(): Promise<void> {
    this.closed = true
    if (this.refreshTimer !== undefined) clearTimeout(this.refreshTimer)
    await this.reader.close()
    await this.applying.catch(() => undefined)
    await this.consumer.close(true)
  }

  /** A response for one partition: its records are applied in turn, the partition held until then. */
  private onFetched(position: PartitionPosition, records: ConsumedRecord[]): void {
    const state = this.partitions.get(partitionKey(position.topic, position.partition))
    if (state === undefined) return
    if (records.length === 0) {
      state.applied = position.position
      this.noteEmpty(state, position.emptyFetches)
      this.checkReady()
      return
    }
    const k = partitionKey(state.topic, state.partition)
    const from = state.applied
    const next = position.position
    const chunk: FollowedRecord[] = records.map((r) => ({
      topic: state.topic,
      partition: state.partition,
      offset: r.offset,
      key: r.key,
      value: r.value,
      timestampMs: r.timestampMs
    }))
    this.held.add(k)
    this.applying = this.applying.then(async () => {
      if (this.closed) return
      try {
        await this.options.onRecords(chunk)
        this.records_ += chunk.length
        state.applied = next
        this.applyBackoffMs = APPLY_BACKOFF_MS
        this.held.delete(k)
        this.checkReady()
        this.reader.wake()
      } catch (err) {
        // The records could not be applied (e.g. the registry is down): the same records are
        // fetched again after the back-off.
        this.lastError_ = (err as Error).message
        const backoffMs = this.applyBackoffMs
        this.applyBackoffMs = Math.min(backoffMs * 2, APPLY_BACKOFF_MAX_MS)
        this.options.logger?.warn({ err: (err as Error).message, backoffMs }, 'query-api: records could not be applied; fetching them again')
        setTimeout(() => {
          this.held.delete(k)
          this.reader.seek(state.topic, state.partition, from)
        }, backoffMs).unref()
      }
    })
  }

  /** After a few reads in a row that returned nothing below the target, the rest is a compaction or transaction gap. */
  private noteEmpty(state: PartitionState, emptyFetches: number): void {
    if (state.applied >= state.target || emptyFetches < MAX_EMPTY_FETCHES) return
    this.options.logger?.warn(
      { topic: state.topic, partition: state.partition, position: state.applied, target: state.target },
      'query-api: nothing left below the start end offset; treating the rest as gaps'
    )
    state.target = state.applied
  }

  private checkReady(): void {
    for (const p of this.partitions.values()) if (!p.caughtUp && p.applied >= p.target) p.caughtUp = true
    if (this.readyWaiters.length > 0 && this.ready) {
      const waiters = this.readyWaiters
      this.readyWaiters = []
      for (const resolve of waiters) resolve()
    }
  }

  private scheduleRefresh(): void {
    if (this.closed) return
    this.refreshTimer = setTimeout(() => {
      this.refreshMetadata(false).then(
        () => this.scheduleRefresh(),
        (err: unknown) => {
          this.lastError_ = (err as Error).message
          this.options.logger?.warn({ err: (err as Error).message }, 'query-api: looking topics up failed; trying again later')
          this.scheduleRefresh()
        }
      )
    }, this.options.metadataRefreshMs)
    this.refreshTimer.unref()
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
    for (const [topic, offsets] of listed) offsets.forEach((o, partition) => out.set(partitionKey(topic, partition), Number(o)))
    return out
  }

  private consumerMetadata(topic: string, retries: number | undefined): ReturnType<ByteConsumer['metadata']> {
    return this.consumer.metadata({ topics: [topic], forceUpdate: true, autocreateTopics: false, ...(retries === undefined ? {} : { retries }) })
  }

  /** Looks topics up; new partitions start at their earliest offset, with the current end as target only at start. */
  private async refreshMetadata(atStart: boolean): Promise<void> {
    const found = new Map<string, number>()
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
      if (t !== undefined) found.set(topic, t.partitionsCount)
    }
    const fresh: Array<{ topic: string; partition: number }> = []
    for (const [topic, count] of found) {
      this.topics_.add(topic)
      for (let partition = 0; partition < count; partition++) {
        if (!this.partitions.has(partitionKey(topic, partition))) fresh.push({ topic, partition })
      }
    }
    if (fresh.length > 0) {
      const [earliest, end] = await Promise.all([
        this.listOffsets(fresh, ListOffsetTimestamps.EARLIEST),
        atStart ? this.listOffsets(fresh, ListOffsetTimestamps.LATEST) : Promise.resolve(new Map<string, number>())
      ])
      for (const { topic, partition } of fresh) {
        const k = partitionKey(topic, partition)
        const position = earliest.get(k) ?? 0
        const target = end.get(k) ?? 0
        this.partitions.set(k, { topic, partition, start: position, applied: position, target, caughtUp: position >= target })
        this.reader.assign(topic, partition, position)
      }
      if (!atStart) this.options.logger?.info({ partitions: fresh }, 'query-api: following new partitions')
      this.checkReady()
    }
  }
}

const partitionKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`

function badOption(option: string, message: string): QueryApiConfigError {
  return new QueryApiConfigError(`TopicFollower ${option}`, message)
}

function positive(value: number | undefined, fallback: number, option: string): number {
  if (value === undefined) return fallback
  if (!Number.isFinite(value) || value <= 0) throw badOption(option, `must be a positive number, got ${String(value)}`)
  return value
}
