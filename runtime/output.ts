/**
 * The record collector of the instance: tasks hand it their output and changelog writes
 * synchronously; it batches them into producer sends that run while processing goes on, and at
 * commit `flush()` waits until everything was acknowledged.
 *
 * Partitions are always explicit, Java-compatible: a changelog record carries its task's partition;
 * a keyed sink record goes to `toPositive(murmur2(key)) % partitions` (@platformatic/kafka's own
 * default partitioner differs from Java's); a null key goes round robin. Under exactly-once every
 * send goes through the open transaction, which `beginTransaction` (given by the runtime) opens on the
 * first send after a commit.
 */
import type { MessageToProduce, ProduceResult } from '@platformatic/kafka'
import { partitionForKey, type ProducedRecord, type RecordCollector } from '../processors/index.ts'
import { errorSummary, RuntimeError, RuntimeTimeoutError, withDeadline } from './errors.ts'

type Message = MessageToProduce<Buffer, Buffer, Buffer, Buffer>

/** Sends one batch (plain producer or open transaction). */
export type SendBatch = (messages: Message[]) => Promise<ProduceResult>

export interface OutputCollectorOptions {
  /** Returns the function that sends a batch; may open a transaction first. */
  readonly sender: () => Promise<SendBatch> | SendBatch
  /** Partition counts of the topics tasks write (sinks and internal topics). */
  readonly partitionCounts: ReadonlyMap<string, number>
  /** Topics whose acknowledged offsets are tracked for checkpoints (changelogs). */
  readonly trackedTopics: ReadonlySet<string>
  /** Records per send (default 2000). */
  readonly batchSize?: number
  /**
   * Send one batch at a time (the runtime always does: retried batches must not overtake later
   * ones). Required for exactly-once in any case: @platformatic/kafka deduplicates concurrent
   * AddPartitionsToTxn calls of a transaction by operation name: a second concurrent send that
   * brings new partitions gets the first call's answer and its partitions are never added, so the
   * commit writes no marker there and those records hang, then get aborted with a later transaction.
   */
  readonly serialize?: boolean
  /**
   * How long one batch may wait for its acknowledgement before it counts as failed (default 120,000
   * ms). Bounds `flush()`: a send the client never settles (a lost callback when a broker dies)
   * fails the commit instead of holding it forever.
   */
  readonly deliveryTimeoutMs?: number
}

const key = (topic: string, partition: number): string => `${topic}\u0000${partition}`

export class OutputCollector implements RecordCollector {
  private readonly options: OutputCollectorOptions
  private readonly batchSize: number
  private readonly deliveryTimeoutMs: number
  private pending: Message[] = []
  private readonly inflight = new Set<Promise<void>>()
  private failure: unknown
  private tail: Promise<void> = Promise.resolve()
  private readonly roundRobin = new Map<string, number>()
  /** Next offset after the last acknowledged record, per tracked topic-partition. */
  private readonly ackedOffsets = new Map<string, number>()
  /** Records handed over in total. */
  collected = 0

  constructor(options: OutputCollectorOptions) {
    this.options = options
    this.batchSize = options.batchSize ?? 2000
    this.deliveryTimeoutMs = options.deliveryTimeoutMs ?? 120_000
  }

  send(record: ProducedRecord): void {
    let partition = record.partition
    if (partition === undefined) {
      const count = this.options.partitionCounts.get(record.topic)
      if (count !== undefined) {
        if (record.key !== null) {
          partition = partitionForKey(record.key, count)
        } else {
          const next = this.roundRobin.get(record.topic) ?? 0
          this.roundRobin.set(record.topic, next + 1)
          partition = next % count
        }
      }
      // Unknown topic (a dynamic sink): the producer's compatibility partitioner picks, as above.
    }
    let headers: Map<Buffer, Buffer> | undefined
    for (const name in record.headers) {
      headers ??= new Map()
      headers.set(Buffer.from(name, 'utf8'), record.headers[name] as Buffer)
    }
    // Null keys and values (tombstones) are written as null by the record encoder.
    const message: Message = {
      topic: record.topic,
      key: record.key as Buffer,
      value: record.value as Buffer,
      timestamp: BigInt(Math.trunc(record.timestampMs))
    }
    if (partition !== undefined) message.partition = partition
    if (headers) message.headers = headers
    this.pending.push(message)
    this.collected++
    if (this.pending.length >= this.batchSize) this.dispatch()
  }

  partitionCount(topic: string): number | undefined {
    return this.options.partitionCounts.get(topic)
  }

  /** Records not yet acknowledged (buffered or in flight). */
  get pendingCount(): number {
    return this.pending.length + this.inflight.size * this.batchSize
  }

  /** Batches sent and not yet acknowledged. */
  get inflightBatches(): number {
    return this.inflight.size
  }

  /** Waits until at most `maxBatches` batches are in flight. */
  async waitForCapacity(maxBatches: number): Promise<void> {
    while (this.inflight.size > maxBatches) await Promise.race([...this.inflight])
  }

  /** Sends what is buffered without waiting. */
  dispatch(): void {
    if (this.pending.length === 0) return
    const batch = this.pending
    this.pending = []
    const sent = this.options.serialize === true ? (this.tail = this.tail.then(() => this.sendBatch(batch))) : this.sendBatch(batch)
    this.inflight.add(sent)
    void sent.finally(() => this.inflight.delete(sent))
  }

  /** Sends everything and waits for the acknowledgements; throws the first send failure. */
  async flush(): Promise<void> {
    this.dispatch()
    while (this.inflight.size > 0) await Promise.all([...this.inflight])
    this.throwIfFailed()
  }

  /** Whether a send failed since the last flush or discard. */
  get failed(): boolean {
    return this.failure !== undefined
  }

  /** Throws (and forgets) a send failure seen since the last flush. */
  throwIfFailed(): void {
    if (this.failure === undefined) return
    const failure = this.failure
    this.failure = undefined
    throw failure
  }

  /**
   * Drops buffered records (before aborting a transaction) and waits for sends in flight to settle.
   * Returns whether a send had failed (the producer's sequence state may then be broken).
   */
  async discard(): Promise<boolean> {
    this.pending = []
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight])
    const failed = this.failure !== undefined
    this.failure = undefined
    return failed
  }

  /** Next offset after the last acknowledged record of a tracked topic-partition. */
  ackedOffset(topic: string, partition: number): number | undefined {
    return this.ackedOffsets.get(key(topic, partition))
  }

  /** Forgets acknowledged offsets of a partition (its task left this instance). */
  forgetOffsets(topic: string, partition: number): void {
    this.ackedOffsets.delete(key(topic, partition))
  }

  private async sendBatch(batch: Message[]): Promise<void> {
    try {
      const sending = (async (): Promise<ProduceResult> => (await this.options.sender())(batch))()
      const result = await withDeadline(sending, this.deliveryTimeoutMs, 'RUNTIME_PRODUCE_TIMEOUT', `sending ${batch.length} records`)
      this.track(batch, result)
    } catch (err) {
      this.failure ??=
        err instanceof RuntimeTimeoutError
          ? err
          : new RuntimeError('RUNTIME_PRODUCE_FAILED', `sending ${batch.length} records failed: ${errorSummary(err)}`, { cause: err })
    }
  }

  /** Acknowledged offsets: a batch is contiguous per partition from the base offset the broker returns. */
  private track(batch: Message[], result: ProduceResult): void {
    const tracked = this.options.trackedTopics
    if (tracked.size === 0 || !result.offsets) return
    const counts = new Map<string, number>()
    for (const m of batch) {
      if (!tracked.has(m.topic) || m.partition === undefined) continue
      const k = key(m.topic, m.partition)
      counts.set(k, (counts.get(k) ?? 0) + 1)
    }
    for (const { topic, partition, offset } of result.offsets) {
      const k = key(topic, partition)
      const n = counts.get(k)
      if (n === undefined) continue
      const next = Number(offset) + n
      if (next > (this.ackedOffsets.get(k) ?? -1)) this.ackedOffsets.set(k, next)
    }
  }
}
