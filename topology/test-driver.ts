/**
 * `TopologyTestDriver`: runs a topology in-process, without a broker, like Kafka Streams' driver,
 * but with several partitions per topic: keyed input is routed with Kafka's murmur2 partitioner,
 * there is one `StreamTask` per (sub-topology, partition), and repartition topics are real in-memory
 * topics, so co-partitioning and repartitioning are exercised. Stores are in-memory
 * (`StoreBuilder.build({ inMemory: true })`); changelog records are kept and readable.
 *
 * Processing is depth-first and synchronous: each piped record is processed, then every record it
 * caused on internal topics, then (with `autoCommit`, the default) all tasks commit, which flushes
 * caches, so each piped record yields its updates immediately. With `autoCommit: false`, call
 * `commit()` to see cached aggregates emit at most once per key per commit.
 */
import type { Serde } from '../schemas/index.ts'
import type { ReadOnlyKeyValueStore, ReadOnlySessionStore, ReadOnlyWindowStore, RestoreCallback, StateStore } from '../state/index.ts'
import {
  DropReason,
  GlobalTask,
  partitionForKey,
  StreamsError,
  StreamTask,
  type ErrorHandlerResponse,
  type FailedRecord,
  type ProcessingError,
  type ProducedRecord,
  type RecordCollector,
  type RecordHeaders,
  type RecordMetadata,
  type TopologyPlan
} from '../processors/index.ts'
import { mergedKeyValueStore, mergedSessionStore, mergedWindowStore } from './driver-stores.ts'
import { TopologyError } from './errors.ts'
import { resolvePartitionCounts } from './partitions.ts'
import type { Topology } from './topology.ts'

export interface TopologyTestDriverOptions {
  /** Default `test-app`; internal topics are `<applicationId>-<name>`. */
  readonly applicationId?: string
  /** Partition count of topics not listed in `partitions` (default 1). */
  readonly defaultPartitions?: number
  /** Partition counts by topic name. */
  readonly partitions?: Readonly<Record<string, number>>
  /** Initial wall-clock time in epoch ms (default 0). */
  readonly initialWallClockMs?: number
  /** Record-cache budget per store in bytes (default 10 MiB, Kafka Streams' default). */
  readonly cacheMaxBytes?: number
  /** Commit every task after each piped record / clock advance (default true). */
  readonly autoCommit?: boolean
  readonly onDeserializationError?: (record: FailedRecord, error: unknown) => ErrorHandlerResponse
  readonly onProcessingError?: (error: ProcessingError, record: RecordMetadata | null) => ErrorHandlerResponse
}

/** A record as stored in a driver topic. */
export interface LoggedRecord {
  readonly topic: string
  readonly partition: number
  readonly offset: number
  readonly key: Buffer | null
  readonly value: Buffer | null
  readonly timestampMs: number
  readonly headers: RecordHeaders
}

/** A typed record read from an output topic. */
export interface TestRecord<K, V> {
  readonly key: K | null
  readonly value: V | null
  readonly timestampMs: number
  readonly headers: RecordHeaders
  readonly partition: number
}

interface TopicLog {
  readonly partitions: number
  readonly records: LoggedRecord[]
  readonly nextOffsets: number[]
  roundRobin: number
}

export class TopologyTestDriver {
  readonly applicationId: string
  /** The built plan (internal topic names resolved). */
  readonly plan: TopologyPlan
  private readonly options: TopologyTestDriverOptions
  private readonly topics = new Map<string, TopicLog>()
  private readonly partitionCounts: Map<string, number>
  private readonly tasks: StreamTask[] = []
  private readonly taskByInput = new Map<string, StreamTask>()
  private readonly globalTask: GlobalTask
  private readonly globalTopics: Set<string>
  private readonly pending: LoggedRecord[] = []
  private wallClockMs: number
  private closed = false

  private constructor(topology: Topology, options: TopologyTestDriverOptions) {
    this.options = options
    this.applicationId = options.applicationId ?? 'test-app'
    this.wallClockMs = options.initialWallClockMs ?? 0
    const defaultPartitions = options.defaultPartitions ?? 1
    if (!Number.isInteger(defaultPartitions) || defaultPartitions < 1) {
      throw new TopologyError('BAD_OPTION', `defaultPartitions must be a positive integer, got ${defaultPartitions}`)
    }
    for (const [topic, count] of Object.entries(options.partitions ?? {})) {
      if (!Number.isInteger(count) || count < 1) throw new TopologyError('BAD_OPTION', `partitions.${topic} must be a positive integer, got ${count}`)
    }
    this.plan = topology.build({ applicationId: this.applicationId })
    const configured = (topic: string): number | undefined => options.partitions?.[topic]
    this.partitionCounts = resolvePartitionCounts(this.plan, (topic) => configured(topic) ?? this.plan.declaredPartitions.get(topic) ?? defaultPartitions)
    this.globalTopics = new Set(this.plan.globalStores.map((g) => g.topic))
    this.globalTask = new GlobalTask({
      applicationId: this.applicationId,
      globalStores: this.plan.globalStores,
      inMemoryStores: true,
      clock: () => this.wallClockMs,
      ...(options.onDeserializationError ? { onDeserializationError: options.onDeserializationError } : {})
    })
    this.createTasks()
  }

  /** Builds the topology for the driver's application id, creates every task and opens its stores. */
  static async create(topology: Topology, options: TopologyTestDriverOptions = {}): Promise<TopologyTestDriver> {
    const driver = new TopologyTestDriver(topology, options)
    await driver.globalTask.initialize()
    for (const task of driver.tasks) await task.initialize()
    return driver
  }

  /**
   * Restarts every stream task, as when the application restarts or its tasks move to another
   * instance: all tasks commit and close, then new tasks are created with empty stores, each store is
   * restored from the changelog records the driver holds for its task's partition (as the runtime
   * restores from Kafka), and only then are processors initialized. Unlogged stores come back empty.
   * Stream time resumes where it was (as the runtime resumes it from the committed offsets'
   * metadata), so a window closed before the restart stays closed; global stores are kept.
   */
  async restartTasks(): Promise<void> {
    this.checkOpen()
    this.commit()
    const streamTimes = new Map(this.tasks.map((t) => [t.id, t.streamTimeMs]))
    for (const task of this.tasks) await task.close()
    this.tasks.length = 0
    this.taskByInput.clear()
    const restores: Array<{ task: StreamTask; storeName: string; restore: RestoreCallback }> = []
    this.createTasks((task) => (store, restore) => {
      restores.push({ task, storeName: store.name, restore })
    })
    for (const task of this.tasks) await task.initializeStores()
    for (const { task, storeName, restore } of restores) {
      const topic = task.changelogTopic(storeName)
      const records = this.readTopic(topic).filter((r) => r.partition === task.partition)
      if (records.length > 0) restore(records.map((r) => ({ key: r.key ?? Buffer.alloc(0), value: r.value })))
    }
    for (const task of this.tasks) {
      task.initializeProcessors()
      task.initializeStreamTime(streamTimes.get(task.id) ?? -1)
    }
  }

  /** One task per (sub-topology, partition); `register` receives each task's store registrations. */
  private createTasks(register?: (task: StreamTask) => (store: StateStore, restore: RestoreCallback) => void): void {
    const options = this.options
    const collector: RecordCollector = {
      send: (record) => this.append(record),
      partitionCount: (topic) => this.partitionsOf(topic)
    }
    for (const sub of this.plan.subtopologies) {
      const count = Math.max(...sub.sourceTopics.map((t) => this.partitionsOf(t)))
      for (let partition = 0; partition < count; partition++) {
        // The task's stores register during `initializeStores`, after the task exists.
        const registration: { callback?: ((store: StateStore, restore: RestoreCallback) => void) | undefined } = {}
        const task: StreamTask = new StreamTask({
          applicationId: this.applicationId,
          subtopology: sub,
          partition,
          collector,
          inMemoryStores: true,
          storeContext: {
            cacheMaxBytes: options.cacheMaxBytes ?? 10 * 1024 * 1024,
            register: (store, restore) => registration.callback?.(store, restore)
          },
          clock: () => this.wallClockMs,
          globalStores: this.globalTask.stores,
          ...(options.onDeserializationError ? { onDeserializationError: options.onDeserializationError } : {}),
          ...(options.onProcessingError ? { onProcessingError: options.onProcessingError } : {})
        })
        registration.callback = register?.(task)
        this.tasks.push(task)
        for (const topic of sub.sourceTopics) {
          if (partition < this.partitionsOf(topic)) this.taskByInput.set(`${topic}\u0000${partition}`, task)
        }
      }
    }
  }

  /** Partition count of `topic` (derived for internal topics; configured or default otherwise). */
  partitionsOf(topic: string): number {
    return this.partitionCounts.get(topic) ?? this.options.partitions?.[topic] ?? this.options.defaultPartitions ?? 1
  }

  /** The full name of an internal topic: `<app id>-<name>`. */
  internalTopic(name: string): string {
    return `${this.applicationId}-${name}`
  }

  /** Current wall-clock time of the driver (ms). */
  get wallClockTimeMs(): number {
    return this.wallClockMs
  }

  /** Task ids, e.g. `['0_0', '0_1', '1_0']`. */
  get taskIds(): string[] {
    return this.tasks.map((t) => t.id)
  }

  /** A typed input topic. */
  createInputTopic<K, V>(topic: string, keySerde: Serde<K>, valueSerde: Serde<V>): TestInputTopic<K, V> {
    return new TestInputTopic(this, topic, keySerde, valueSerde)
  }

  /** A typed output topic, read from its beginning. */
  createOutputTopic<K, V>(topic: string, keySerde: Serde<K>, valueSerde: Serde<V>): TestOutputTopic<K, V> {
    return new TestOutputTopic(this, topic, keySerde, valueSerde)
  }

  /** Appends a serialized record to `topic` and processes everything it causes. */
  pipeRaw(record: { topic: string; partition?: number; key: Buffer | null; value: Buffer | null; timestampMs: number; headers?: RecordHeaders }): void {
    this.checkOpen()
    this.append({
      topic: record.topic,
      partition: record.partition,
      key: record.key,
      value: record.value,
      timestampMs: record.timestampMs,
      headers: record.headers ?? {}
    })
    this.runUntilQuiet()
    if (this.options.autoCommit ?? true) this.commit()
  }

  /** Advances the wall clock by `ms`, fires due wall-clock punctuators and processes their output. */
  advanceWallClockTime(ms: number): void {
    this.checkOpen()
    if (!Number.isFinite(ms) || ms < 0) throw new TopologyError('BAD_OPTION', `advanceWallClockTime needs a non-negative ms, got ${ms}`)
    this.wallClockMs += ms
    for (const task of this.tasks) task.punctuateWallClock(this.wallClockMs)
    this.runUntilQuiet()
    if (this.options.autoCommit ?? true) this.commit()
  }

  /** Commits every task: stores flush (caches emit), then the output is processed downstream. */
  commit(): void {
    this.checkOpen()
    for (let round = 0; round < 100; round++) {
      for (const task of this.tasks) task.commit()
      this.globalTask.flush()
      if (this.pending.length === 0 && !this.tasks.some((t) => t.bufferedCount > 0)) return
      this.runUntilQuiet()
    }
    throw new StreamsError('DRIVER_NOT_QUIET', 'commit did not settle after 100 rounds: does the topology feed itself?')
  }

  /** Every record written to `topic`, in write order (all partitions). */
  readTopic(topic: string): readonly LoggedRecord[] {
    return this.topics.get(topic)?.records ?? []
  }

  /** Changelog records of a store (`<app id>-<store>-changelog`), in write order. */
  getChangelogRecords(storeName: string): readonly LoggedRecord[] {
    return this.readTopic(`${this.applicationId}-${storeName}-changelog`)
  }

  /** A key-value store: of one partition's task, or merged across partitions. Global stores too. */
  getKeyValueStore<K, V>(name: string, partition?: number): ReadOnlyKeyValueStore<K, V> {
    return mergedKeyValueStore(this.storesNamed<ReadOnlyKeyValueStore<K, V>>(name, partition))
  }

  /** A window store: of one partition's task, or merged across partitions. */
  getWindowStore<K, V>(name: string, partition?: number): ReadOnlyWindowStore<K, V> {
    return mergedWindowStore(this.storesNamed<ReadOnlyWindowStore<K, V>>(name, partition))
  }

  /** A session store: of one partition's task, or merged across partitions. */
  getSessionStore<K, V>(name: string, partition?: number): ReadOnlySessionStore<K, V> {
    return mergedSessionStore(this.storesNamed<ReadOnlySessionStore<K, V>>(name, partition))
  }

  /** Records dropped across tasks, optionally of one reason and processor. */
  droppedRecords(reason?: DropReason, processorName?: string): number {
    let total = 0
    for (const counters of [...this.tasks.map((t) => t.droppedRecords), this.globalTask.droppedRecords]) {
      if (reason === undefined) total += counters.total
      else total += counters.count(reason, processorName)
    }
    return total
  }

  /** Late records dropped, per task id (the per-task metric the runtime reports). */
  lateRecordsByTask(): Record<string, number> {
    return Object.fromEntries(this.tasks.map((t) => [t.id, t.droppedRecords.count(DropReason.LATE)]))
  }

  /** Stream time of each task, by task id. */
  streamTimes(): Record<string, number> {
    return Object.fromEntries(this.tasks.map((t) => [t.id, t.streamTimeMs]))
  }

  /** Commits, then closes every task and store. */
  async close(): Promise<void> {
    if (this.closed) return
    this.commit()
    this.closed = true
    for (const task of this.tasks) await task.close()
    await this.globalTask.close()
  }

  private storesNamed<S>(name: string, partition: number | undefined): S[] {
    const global = this.globalTask.stores.get(name)
    if (global) return [global as unknown as S]
    const owners = this.tasks.filter((t) => t.getStore(name) !== undefined)
    if (owners.length === 0) throw new TopologyError('UNKNOWN_STORE', `no task has a store named ${name}`, { nodeName: name })
    const chosen = partition === undefined ? owners : owners.filter((t) => t.partition === partition)
    if (chosen.length === 0) throw new TopologyError('UNKNOWN_STORE', `store ${name} has no instance for partition ${partition}`, { nodeName: name })
    return chosen.map((t) => t.getStore(name) as StateStore as unknown as S)
  }

  private topicLog(topic: string): TopicLog {
    let log = this.topics.get(topic)
    if (!log) {
      const partitions = this.partitionsOf(topic)
      log = { partitions, records: [], nextOffsets: new Array<number>(partitions).fill(0), roundRobin: 0 }
      this.topics.set(topic, log)
    }
    return log
  }

  private append(record: ProducedRecord): void {
    const log = this.topicLog(record.topic)
    let partition = record.partition
    if (partition === undefined) {
      partition = record.key === null ? log.roundRobin++ % log.partitions : partitionForKey(record.key, log.partitions)
    }
    if (!Number.isInteger(partition) || partition < 0 || partition >= log.partitions) {
      throw new StreamsError('BAD_PARTITION', `partition ${partition} of topic ${record.topic} is outside [0, ${log.partitions})`)
    }
    const offset = log.nextOffsets[partition] ?? 0
    log.nextOffsets[partition] = offset + 1
    const logged: LoggedRecord = {
      topic: record.topic,
      partition,
      offset,
      key: record.key,
      value: record.value,
      timestampMs: record.timestampMs,
      headers: record.headers
    }
    log.records.push(logged)
    if (this.globalTopics.has(record.topic) || this.taskByInput.has(`${record.topic}\u0000${partition}`)) this.pending.push(logged)
  }

  private runUntilQuiet(): void {
    for (;;) {
      const next = this.pending.shift()
      if (next) {
        if (this.globalTopics.has(next.topic)) {
          this.globalTask.update(next.topic, next.partition, next)
          continue
        }
        const task = this.taskByInput.get(`${next.topic}\u0000${next.partition}`) as StreamTask
        task.addRecords(next.topic, next.partition, [next])
        this.drain(task)
        continue
      }
      const busy = this.tasks.find((t) => t.bufferedCount > 0)
      if (!busy) return
      this.drain(busy)
    }
  }

  private drain(task: StreamTask): void {
    for (;;) {
      const result = task.process()
      if (result === false) return
      if (result !== true) {
        void result.catch(() => {})
        throw new StreamsError(
          'DRIVER_NEEDS_RESOLVE',
          `task ${task.id}: a serde needs resolve() (e.g. an unseen schema id); configure the serde before piping into the test driver`
        )
      }
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new StreamsError('DRIVER_CLOSED', 'the test driver is closed')
  }
}

/** A typed input topic of the driver. */
export class TestInputTopic<K, V> {
  readonly topic: string
  private readonly driver: TopologyTestDriver
  private readonly keySerde: Serde<K>
  private readonly valueSerde: Serde<V>

  /** @internal Use `driver.createInputTopic`. */
  constructor(driver: TopologyTestDriver, topic: string, keySerde: Serde<K>, valueSerde: Serde<V>) {
    this.driver = driver
    this.topic = topic
    this.keySerde = keySerde
    this.valueSerde = valueSerde
  }

  /**
   * Pipes one record (partition by murmur2 of the key bytes unless `options.partition`); the
   * timestamp defaults to the driver's wall clock. A null value is a tombstone.
   */
  pipeInput(key: K | null, value: V | null, timestampMs?: number, options: { partition?: number; headers?: RecordHeaders } = {}): void {
    this.driver.pipeRaw({
      topic: this.topic,
      ...(options.partition !== undefined ? { partition: options.partition } : {}),
      key: key === null ? null : this.keySerde.serialize(this.topic, key),
      value: value === null ? null : this.valueSerde.serialize(this.topic, value),
      timestampMs: timestampMs ?? this.driver.wallClockTimeMs,
      headers: options.headers ?? {}
    })
  }

  /** Pipes records with their own timestamps. */
  pipeRecordList(records: ReadonlyArray<{ key: K | null; value: V | null; timestampMs: number; headers?: RecordHeaders }>): void {
    for (const r of records) this.pipeInput(r.key, r.value, r.timestampMs, r.headers ? { headers: r.headers } : {})
  }

  /** Pipes key-values with timestamps `startMs`, `startMs + advanceMs`, ... */
  pipeKeyValueList(entries: ReadonlyArray<{ key: K | null; value: V | null }>, startMs = this.driver.wallClockTimeMs, advanceMs = 0): void {
    entries.forEach((entry, i) => this.pipeInput(entry.key, entry.value, startMs + i * advanceMs))
  }

  /** Pipes values with null keys (round-robin partitions). */
  pipeValueList(values: ReadonlyArray<V | null>, startMs = this.driver.wallClockTimeMs, advanceMs = 0): void {
    values.forEach((value, i) => this.pipeInput(null, value, startMs + i * advanceMs))
  }
}

/** A typed output topic of the driver: reads every partition in write order. */
export class TestOutputTopic<K, V> {
  readonly topic: string
  private readonly driver: TopologyTestDriver
  private readonly keySerde: Serde<K>
  private readonly valueSerde: Serde<V>
  private position = 0

  /** @internal Use `driver.createOutputTopic`. */
  constructor(driver: TopologyTestDriver, topic: string, keySerde: Serde<K>, valueSerde: Serde<V>) {
    this.driver = driver
    this.topic = topic
    this.keySerde = keySerde
    this.valueSerde = valueSerde
  }

  /** Records not read yet. */
  getQueueSize(): number {
    return this.driver.readTopic(this.topic).length - this.position
  }

  isEmpty(): boolean {
    return this.getQueueSize() === 0
  }

  /** The next record; throws when there is none. */
  readRecord(): TestRecord<K, V> {
    const raw = this.driver.readTopic(this.topic)[this.position]
    if (!raw) throw new StreamsError('NO_RECORD', `no more records in output topic ${this.topic}`)
    this.position++
    return {
      key: raw.key === null ? null : this.keySerde.deserialize(this.topic, raw.key),
      value: raw.value === null ? null : this.valueSerde.deserialize(this.topic, raw.value),
      timestampMs: raw.timestampMs,
      headers: raw.headers,
      partition: raw.partition
    }
  }

  readKeyValue(): { key: K | null; value: V | null } {
    const { key, value } = this.readRecord()
    return { key, value }
  }

  readValue(): V | null {
    return this.readRecord().value
  }

  readRecordsToList(): Array<TestRecord<K, V>> {
    const out: Array<TestRecord<K, V>> = []
    while (!this.isEmpty()) out.push(this.readRecord())
    return out
  }

  readKeyValuesToList(): Array<{ key: K | null; value: V | null }> {
    return this.readRecordsToList().map(({ key, value }) => ({ key, value }))
  }

  readValuesToList(): Array<V | null> {
    return this.readRecordsToList().map((r) => r.value)
  }

  /** The latest value per key (a tombstone keeps the key with a null value, as Kafka Streams' driver). */
  readKeyValuesToMap(): Map<K | null, V | null> {
    const out = new Map<K | null, V | null>()
    for (const { key, value } of this.readRecordsToList()) out.set(key, value)
    return out
  }
}
