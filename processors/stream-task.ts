/**
 * The task core: runs one sub-topology for one partition. Shared by the test driver and the runtime.
 *
 * Lifecycle: `new StreamTask(options)` -> `await initializeStores()` -> (runtime: restore changelogs
 * through the callbacks stores registered) -> `initializeProcessors()` -> loop { `addRecords`,
 * `process()`, `punctuateWallClock()`, at commit `flush()` + `offsetsToCommit()` } -> `await close()`.
 * `initialize()` does both init steps when no restore is needed.
 */
import { SerdeNeedsResolution, type Serde } from '../schemas/index.ts'
import type { StateStore, StateStoreContext, RestoreCallback } from '../state/index.ts'
import {
  DropReason,
  PunctuationType,
  recordTimestampExtractor,
  type Cancellable,
  type Processor,
  type ProcessorContext,
  type Punctuator,
  type RecordHeaders,
  type RecordMetadata
} from './api.ts'
import { DeserializationFailure, InvalidOptionError, ProcessingError, StreamsError } from './errors.ts'
import { DroppedRecordCounters, type DroppedRecordCount } from './metrics.ts'
import { NodeRuntime, type TaskServices } from './node-runtime.ts'
import type { SinkNodePlan, SourceNodePlan, SubtopologyPlan } from './plan.ts'
import { PunctuationQueue, type PunctuationSchedule } from './punctuation.ts'
import { RecordQueue, type DecodedRecord, type RawRecord } from './record-queue.ts'

/** A serialized record leaving a task: sink output or a changelog write. */
export interface ProducedRecord {
  readonly topic: string
  /** `undefined`: the collector picks (murmur2 of the key bytes, Kafka's default partitioner). */
  readonly partition: number | undefined
  readonly key: Buffer | null
  readonly value: Buffer | null
  readonly timestampMs: number
  readonly headers: RecordHeaders
}

/** Where a task sends its output (the runtime: a producer; the driver: in-memory topics). */
export interface RecordCollector {
  send(record: ProducedRecord): void
  /** Partition count of `topic`, needed by sinks with a custom partitioner. */
  partitionCount?(topic: string): number | undefined
}

/** A record that failed to deserialize, as given to the deserialization handler. */
export interface FailedRecord extends RawRecord {
  readonly topic: string
  readonly partition: number
}

/** `continue` drops the record (counted) and goes on; `fail` stops the task with the error. */
export type ErrorHandlerResponse = 'continue' | 'fail'

/** Options of a task. Parts of the store context the caller supplies; the task fills in the rest. */
export interface StreamTaskOptions {
  readonly applicationId: string
  readonly subtopology: SubtopologyPlan
  readonly partition: number
  readonly collector: RecordCollector
  /** Build stores with in-memory inner stores (test driver). */
  readonly inMemoryStores?: boolean
  readonly storeContext?: {
    readonly taskStateDir?: string
    readonly cacheMaxBytes?: number
    /** Default: send the change through the collector to the store's changelog, partition = task partition. */
    readonly logChange?: StateStoreContext['logChange']
    /** Default: ignore (no restore). The runtime restores from changelogs through these callbacks. */
    readonly register?: (store: StateStore, restore: RestoreCallback) => void
    /** Where stores log what they cannot raise (a failed background segment drop). */
    readonly logger?: StateStoreContext['logger']
  }
  /** Wall clock in epoch ms (default `Date.now`). */
  readonly clock?: () => number
  /** Global stores this task's processors may read. */
  readonly globalStores?: ReadonlyMap<string, StateStore>
  /** Default: `fail`. */
  readonly onDeserializationError?: (record: FailedRecord, error: unknown) => ErrorHandlerResponse
  /** Default: `fail`. On `continue` the record is dropped (counted) and processing goes on. */
  readonly onProcessingError?: (error: ProcessingError, record: RecordMetadata | null) => ErrorHandlerResponse
}

/**
 * Result of `process()`: `true` = one record taken (processed or dropped), `false` = nothing buffered,
 * or a Promise: a serde needs `resolve` (e.g. an unseen schema id). Await it, then call `process()`
 * again: the same record is retried once.
 */
export type ProcessResult = boolean | Promise<void>

/** Next offset to commit for an input partition (last taken offset + 1). */
export interface OffsetToCommit {
  readonly topic: string
  readonly partition: number
  readonly offset: number
}

export class StreamTask {
  /** `<sub-topology>_<partition>`. */
  readonly id: string
  readonly applicationId: string
  readonly partition: number
  readonly subtopology: SubtopologyPlan
  private readonly collector: RecordCollector
  private readonly clock: () => number
  private readonly options: StreamTaskOptions
  private readonly nodes = new Map<string, NodeRuntime>()
  private readonly stores = new Map<string, StateStore>()
  private readonly globalStores: ReadonlyMap<string, StateStore>
  private readonly sourceByTopic = new Map<string, SourceNodePlan>()
  private readonly queues = new Map<string, RecordQueue>()
  private readonly consumedOffsets = new Map<string, OffsetToCommit>()
  private readonly streamTimePunctuations = new PunctuationQueue()
  private readonly wallClockPunctuations = new PunctuationQueue()
  private readonly dropped = new DroppedRecordCounters()
  private streamTime = -1
  private currentMetadata: RecordMetadata | null = null
  private currentTimestamp = -1
  private currentNode: string | null = null
  private state: 'created' | 'stores-initialized' | 'running' | 'closed' = 'created'
  /** Set by a dirty close: sends are dropped from then on. */
  private discarding = false

  constructor(options: StreamTaskOptions) {
    if (!Number.isInteger(options.partition) || options.partition < 0) {
      throw new InvalidOptionError('partition', `must be a non-negative integer, got ${options.partition}`)
    }
    if (!options.applicationId) throw new InvalidOptionError('applicationId', 'must be a non-empty string')
    this.options = options
    this.applicationId = options.applicationId
    this.partition = options.partition
    this.subtopology = options.subtopology
    // Every send of the task (sinks, changelog writes) passes this gate: a task closed dirty never
    // writes again, whatever its processors or caches still hold.
    const target = options.collector
    this.collector = {
      send: (record) => {
        if (!this.discarding) target.send(record)
      },
      partitionCount: (topic) => target.partitionCount?.(topic)
    }
    this.clock = options.clock ?? Date.now
    this.globalStores = options.globalStores ?? new Map()
    this.id = `${options.subtopology.id}_${options.partition}`

    for (const builder of options.subtopology.storeBuilders) {
      this.stores.set(builder.name, builder.build({ inMemory: options.inMemoryStores ?? false }))
    }
    const services = this.services()
    for (const plan of options.subtopology.nodes) {
      let processor: Processor<unknown, unknown, unknown, unknown>
      switch (plan.kind) {
        case 'source':
          processor = forwardingProcessor()
          for (const topic of plan.topics) {
            this.sourceByTopic.set(topic, plan)
            this.queues.set(queueKey(topic, this.partition), new RecordQueue(topic, this.partition, plan.name))
          }
          break
        case 'processor':
          processor = plan.supplier()
          break
        case 'sink':
          processor = sinkProcessor(plan, this.collector)
          break
      }
      this.nodes.set(plan.name, new NodeRuntime(plan.name, processor, plan.kind === 'processor' ? plan.stores : [], services))
    }
    for (const plan of options.subtopology.nodes) {
      if (plan.kind === 'sink') continue
      const node = this.nodes.get(plan.name) as NodeRuntime
      for (const childName of plan.children) {
        const child = this.nodes.get(childName)
        if (!child) throw new StreamsError('INVALID_PLAN', `node ${plan.name} names unknown child ${childName}`)
        node.children.push(child)
      }
    }
  }

  /** Configures source and static-sink serdes, then opens every store (`store.init`, which registers it for restore). */
  async initializeStores(): Promise<void> {
    if (this.state !== 'created') throw new StreamsError('ILLEGAL_STATE', `task ${this.id}: stores already initialized`)
    const supplied = this.options.storeContext ?? {}
    const context: StateStoreContext = {
      applicationId: this.applicationId,
      taskId: this.id,
      partition: this.partition,
      taskStateDir: supplied.taskStateDir ?? `${this.applicationId}/${this.id}`,
      cacheMaxBytes: supplied.cacheMaxBytes ?? 0,
      currentTimestampMs: () => this.currentTimestamp,
      logChange:
        supplied.logChange ??
        ((storeName, key, value, timestampMs) => {
          this.collector.send({ topic: this.changelogTopic(storeName), partition: this.partition, key, value, timestampMs, headers: {} })
        }),
      register: supplied.register ?? (() => {}),
      ...(supplied.logger ? { logger: supplied.logger } : {})
    }
    // Serdes prepare before the first record (Avro: register or look up schema ids), off the per-record path.
    for (const node of this.subtopology.nodes) {
      if (node.kind === 'source') {
        for (const topic of node.topics) {
          await node.keySerde.configure?.(topic, true)
          await node.valueSerde.configure?.(topic, false)
        }
      } else if (node.kind === 'sink' && typeof node.topic === 'string') {
        await node.keySerde.configure?.(node.topic, true)
        await node.valueSerde.configure?.(node.topic, false)
      }
    }
    for (const store of this.stores.values()) await store.init(context)
    this.state = 'stores-initialized'
  }

  /** Initializes the processors (they may read restored stores and set flush listeners). */
  initializeProcessors(): void {
    if (this.state !== 'stores-initialized') throw new StreamsError('ILLEGAL_STATE', `task ${this.id}: initialize stores first`)
    // Children first, so that a processor forwarding during init reaches initialized children.
    const nodes = [...this.nodes.values()].reverse()
    for (const node of nodes) this.withNode(node.name, () => node.init())
    this.state = 'running'
  }

  /** Both init steps (no restore in between). */
  async initialize(): Promise<void> {
    await this.initializeStores()
    this.initializeProcessors()
  }

  /** The changelog topic of a store of this task. */
  changelogTopic(storeName: string): string {
    return this.subtopology.changelogTopics.get(storeName) ?? `${this.applicationId}-${storeName}-changelog`
  }

  /** Buffers consumed records of one input partition (offset order). */
  addRecords(topic: string, partition: number, records: Iterable<RawRecord>): void {
    const queue = this.queues.get(queueKey(topic, partition))
    if (!queue) {
      const known = this.sourceByTopic.has(topic)
      throw new StreamsError(
        'UNKNOWN_PARTITION',
        known
          ? `task ${this.id} processes partition ${this.partition} of ${topic}, not partition ${partition}`
          : `task ${this.id} has no source for topic ${topic}`
      )
    }
    queue.push(records)
  }

  /** Records buffered across all input partitions. */
  get bufferedCount(): number {
    let n = 0
    for (const queue of this.queues.values()) n += queue.size
    return n
  }

  /** Whether every input partition has at least one buffered record (for max.task.idle-style waiting). */
  get allPartitionsBuffered(): boolean {
    for (const queue of this.queues.values()) if (queue.size === 0) return false
    return true
  }

  /** The task's stream time: the highest timestamp processed, -1 before any record. */
  get streamTimeMs(): number {
    return this.streamTime
  }

  /**
   * Processes the buffered record with the smallest timestamp across input partitions (ties: the
   * partition added first), advances stream time and fires due stream-time punctuators.
   */
  process(): ProcessResult {
    this.assertRunning()
    let chosen: RecordQueue | undefined
    for (const queue of this.queues.values()) {
      const head = this.headOf(queue)
      if (head === undefined) continue
      if (head instanceof Promise) return head
      if (!chosen || head.timestampMs < (chosen.decodedHead as DecodedRecord).timestampMs) chosen = queue
    }
    if (!chosen) return false
    const head = chosen.decodedHead as DecodedRecord
    chosen.shift()
    if (head.timestampMs > this.streamTime) this.streamTime = head.timestampMs
    const metadata: RecordMetadata = { topic: chosen.topic, partition: chosen.partition, offset: head.raw.offset }
    const source = this.nodes.get(chosen.sourceName) as NodeRuntime
    this.currentMetadata = metadata
    this.currentTimestamp = head.timestampMs
    try {
      this.runGuarded(source.name, () =>
        source.process({
          key: head.key,
          value: head.value,
          timestampMs: head.timestampMs,
          headers: head.raw.headers ?? {}
        })
      )
    } finally {
      this.currentMetadata = null
    }
    this.markConsumed(chosen, head.raw.offset)
    this.punctuateStreamTime()
    return true
  }

  /** Processes until nothing is buffered; awaits serde resolution when needed. Returns the count taken. */
  async processAll(): Promise<number> {
    let n = 0
    for (;;) {
      const result = this.process()
      if (result === false) return n
      if (result === true) n++
      else await result
    }
  }

  /** Fires stream-time punctuators due at the current stream time. `process()` calls it already. */
  punctuateStreamTime(): boolean {
    if (this.streamTime < 0) return false
    return this.streamTimePunctuations.mayPunctuate(this.streamTime, (s, ts) => this.punctuate(s, ts))
  }

  /** Fires wall-clock punctuators due at `nowMs` (default: the injected clock). */
  punctuateWallClock(nowMs: number = this.clock()): boolean {
    this.assertRunning()
    return this.wallClockPunctuations.mayPunctuate(nowMs, (s, ts) => this.punctuate(s, ts))
  }

  /** Flushes every store: caches emit their dirty entries downstream, changelogs are written. */
  flush(): void {
    this.assertRunning()
    for (const [name, store] of this.stores) this.runGuarded(name, () => store.flush())
  }

  /** Next offsets to commit, per input partition that has taken at least one record. */
  offsetsToCommit(): OffsetToCommit[] {
    return [...this.consumedOffsets.values()]
  }

  /** `flush()` then `offsetsToCommit()`: what the runtime calls at each commit. */
  commit(): OffsetToCommit[] {
    this.flush()
    return this.offsetsToCommit()
  }

  /** Dropped-record counters of this task (late, deserialization, invalid timestamp...). */
  get droppedRecords(): DroppedRecordCounters {
    return this.dropped
  }

  /** A snapshot of the drop counters. */
  droppedRecordCounts(): DroppedRecordCount[] {
    return this.dropped.snapshot()
  }

  /** A store of this task, by name (`undefined` if the task has none of that name). */
  getStore<S extends StateStore>(name: string): S | undefined {
    return this.stores.get(name) as S | undefined
  }

  /** Names of the stores of this task. */
  get storeNames(): string[] {
    return [...this.stores.keys()]
  }

  /**
   * Closes processors, then stores (Kafka Streams' `closeClean` / `closeDirty`).
   * - clean (default): the work is committed or about to be: stores are flushed (caches emit and
   *   write down) before they close. Call `commit()` first and commit its offsets to keep that work.
   * - `dirty: true`: the task's uncommitted work is abandoned (it moved to another instance, or its
   *   transaction failed): nothing is sent any more, caches are dropped without writing down or
   *   emitting. The caller decides what happens to the local state (exactly-once wipes it).
   */
  async close(options: { dirty?: boolean } = {}): Promise<void> {
    if (this.state === 'closed') return
    const wasRunning = this.state === 'running'
    const dirty = options.dirty === true
    if (dirty) this.discarding = true
    if (wasRunning && !dirty) this.flush()
    this.state = 'closed'
    if (wasRunning) for (const node of this.nodes.values()) node.close()
    for (const queue of this.queues.values()) queue.clear()
    for (const store of this.stores.values()) if (store.isOpen) await store.close()
  }

  /**
   * Resumes stream time from a committed value (Kafka Streams keeps it in the commit metadata of
   * the input offsets), before the first record: a window closed before a restart or a task move
   * stays closed. Only moves stream time forward.
   */
  initializeStreamTime(streamTimeMs: number): void {
    if (!Number.isFinite(streamTimeMs) || streamTimeMs <= this.streamTime) return
    this.streamTime = streamTimeMs
    for (const queue of this.queues.values()) if (queue.partitionTimeMs < streamTimeMs) queue.partitionTimeMs = streamTimeMs
  }

  /** Resizes the record cache of every store of the task (`cacheMaxBytes` per store). */
  setCacheMaxBytesPerStore(bytes: number): void {
    for (const store of this.stores.values()) store.setCacheMaxBytes?.(bytes)
  }

  private assertRunning(): void {
    if (this.state !== 'running') throw new StreamsError('ILLEGAL_STATE', `task ${this.id} is ${this.state}, not running`)
  }

  private markConsumed(queue: RecordQueue, offset: number): void {
    this.consumedOffsets.set(queueKey(queue.topic, queue.partition), { topic: queue.topic, partition: queue.partition, offset: offset + 1 })
  }

  /**
   * The decoded head of a queue: deserialized and time-stamped. Records that cannot be read are
   * dropped here (counted, offset consumed) when the handlers say so.
   */
  private headOf(queue: RecordQueue): DecodedRecord | Promise<void> | undefined {
    for (;;) {
      if (queue.decodedHead) return queue.decodedHead
      const raw = queue.peek()
      if (!raw) return undefined
      const source = this.sourceByTopic.get(queue.topic) as SourceNodePlan
      let key: unknown
      let value: unknown
      try {
        key = raw.key === null ? null : source.keySerde.deserialize(queue.topic, raw.key)
        value = raw.value === null ? null : source.valueSerde.deserialize(queue.topic, raw.value)
      } catch (err) {
        const resolution = this.resolutionFor(queue, source, raw, err)
        if (resolution) return resolution
        const handler = this.options.onDeserializationError
        const failed: FailedRecord = { ...raw, topic: queue.topic, partition: queue.partition }
        if (!handler || handler(failed, err) === 'fail') {
          throw new DeserializationFailure(
            `task ${this.id}: cannot deserialize ${queue.topic}-${queue.partition}@${raw.offset} at source ${source.name}: ${(err as Error)?.message ?? String(err)}`,
            { cause: err }
          )
        }
        this.dropped.record(source.name, DropReason.DESERIALIZATION)
        this.dropHead(queue, raw)
        continue
      }
      const extractor = source.timestampExtractor ?? recordTimestampExtractor
      const timestampMs = extractor(
        {
          topic: queue.topic,
          partition: queue.partition,
          offset: raw.offset,
          key,
          value,
          timestampMs: raw.timestampMs,
          headers: raw.headers ?? {}
        },
        queue.partitionTimeMs
      )
      if (!Number.isFinite(timestampMs) || timestampMs < 0) {
        // Kafka Streams' RecordQueue skips records with a negative extracted timestamp and counts them.
        this.dropped.record(source.name, DropReason.INVALID_TIMESTAMP)
        this.dropHead(queue, raw)
        continue
      }
      if (timestampMs > queue.partitionTimeMs) queue.partitionTimeMs = timestampMs
      queue.decodedHead = { raw, key, value, timestampMs }
      return queue.decodedHead
    }
  }

  private resolutionFor(queue: RecordQueue, source: SourceNodePlan, raw: RawRecord, err: unknown): Promise<void> | undefined {
    if (!(err instanceof SerdeNeedsResolution) || queue.headResolveAttempted) return undefined
    // Find which serde needs it: try the key alone.
    let serde: Serde<unknown> = source.valueSerde
    let data = raw.value
    if (raw.key !== null) {
      try {
        source.keySerde.deserialize(queue.topic, raw.key)
      } catch (keyErr) {
        if (keyErr instanceof SerdeNeedsResolution) {
          serde = source.keySerde
          data = raw.key
        }
      }
    }
    if (!serde.resolve || data === null) return undefined
    queue.headResolveAttempted = true
    return serde.resolve(queue.topic, data)
  }

  private dropHead(queue: RecordQueue, raw: RawRecord): void {
    queue.shift()
    this.markConsumed(queue, raw.offset)
  }

  private punctuate(schedule: PunctuationSchedule, timestampMs: number): void {
    const previousTimestamp = this.currentTimestamp
    this.currentTimestamp = timestampMs
    this.currentMetadata = null
    try {
      this.runGuarded(schedule.nodeName, () => schedule.punctuator(timestampMs))
    } finally {
      this.currentTimestamp = previousTimestamp
    }
  }

  /** Runs `fn` as node `name`; processing errors go through the processing handler. */
  private runGuarded(name: string, fn: () => void): void {
    try {
      this.withNode(name, fn)
    } catch (err) {
      const error =
        err instanceof ProcessingError
          ? err
          : err instanceof StreamsError
            ? err
            : new ProcessingError(name, `${name} failed in task ${this.id}: ${(err as Error)?.message ?? String(err)}`, { cause: err })
      if (!(error instanceof ProcessingError)) throw error
      const handler = this.options.onProcessingError
      if (!handler || handler(error, this.currentMetadata) === 'fail') throw error
      this.dropped.record(error.processorName, DropReason.PROCESSING_ERROR)
    }
  }

  private withNode(name: string, fn: () => void): void {
    const previous = this.currentNode
    this.currentNode = name
    try {
      fn()
    } finally {
      this.currentNode = previous
    }
  }

  private services(): TaskServices {
    return {
      applicationId: this.applicationId,
      taskId: this.id,
      partition: this.partition,
      streamTimeMs: () => this.streamTime,
      systemTimeMs: () => this.clock(),
      recordMetadata: () => this.currentMetadata,
      schedule: (nodeName, intervalMs, type, punctuator) => this.schedule(nodeName, intervalMs, type, punctuator),
      store: (name) => this.stores.get(name) ?? this.globalStores.get(name),
      isGlobalStore: (name) => this.globalStores.has(name),
      recordDropped: (nodeName, reason) => this.dropped.record(nodeName, reason),
      setCurrentNode: (name) => {
        this.currentNode = name
      }
    }
  }

  private schedule(nodeName: string, intervalMs: number, type: PunctuationType, punctuator: Punctuator): Cancellable {
    switch (type) {
      case PunctuationType.STREAM_TIME:
        // Aligned to 0: fires as soon as there is stream time, then at each multiple of the interval.
        return this.streamTimePunctuations.add(nodeName, 0, intervalMs, punctuator)
      case PunctuationType.WALL_CLOCK_TIME:
        return this.wallClockPunctuations.add(nodeName, this.clock() + intervalMs, intervalMs, punctuator)
    }
  }
}

function queueKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`
}

function forwardingProcessor(): Processor<unknown, unknown, unknown, unknown> {
  let context: ProcessorContext<unknown, unknown> | undefined
  return {
    init(ctx) {
      context = ctx
    },
    process(record) {
      context?.forward(record)
    }
  }
}

function sinkProcessor(plan: SinkNodePlan, collector: RecordCollector): Processor<unknown, unknown> {
  let context: ProcessorContext<never, never> | undefined
  return {
    init(ctx) {
      context = ctx
    },
    process(record) {
      const metadata = context?.recordMetadata()
      const topic =
        typeof plan.topic === 'string' ? plan.topic : plan.topic(record.key, record.value, { topic: metadata?.topic ?? null, headers: record.headers })
      const key = record.key === null || record.key === undefined ? null : plan.keySerde.serialize(topic, record.key)
      const value = record.value === null || record.value === undefined ? null : plan.valueSerde.serialize(topic, record.value)
      let partition: number | undefined
      if (plan.partitioner) {
        const count = collector.partitionCount?.(topic)
        if (count === undefined) throw new ProcessingError(plan.name, `sink ${plan.name} has a partitioner but the partition count of ${topic} is unknown`)
        partition = plan.partitioner(topic, record.key, record.value, count)
      }
      collector.send({ topic, partition, key, value, timestampMs: record.timestampMs, headers: record.headers })
    }
  }
}
