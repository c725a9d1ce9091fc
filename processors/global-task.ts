/**
 * The global task: keeps every global store up to date from all partitions of its topic. The runtime
 * bootstraps it (reads each global topic to its end) before starting stream tasks, then feeds it
 * new records; stream tasks read the stores through `stores`.
 */
import type { StateStore, StateStoreContext } from '../state/index.ts'
import { DropReason, recordTimestampExtractor, type Cancellable, type RecordMetadata } from './api.ts'
import { DeserializationFailure, StreamsError } from './errors.ts'
import { DroppedRecordCounters } from './metrics.ts'
import { NodeRuntime, type TaskServices } from './node-runtime.ts'
import type { GlobalStorePlan } from './plan.ts'
import type { RawRecord } from './record-queue.ts'
import type { ErrorHandlerResponse, FailedRecord } from './stream-task.ts'

export interface GlobalTaskOptions {
  readonly applicationId: string
  readonly globalStores: readonly GlobalStorePlan[]
  readonly inMemoryStores?: boolean
  readonly taskStateDir?: string
  readonly clock?: () => number
  readonly onDeserializationError?: (record: FailedRecord, error: unknown) => ErrorHandlerResponse
}

export class GlobalTask {
  readonly id = 'global'
  private readonly options: GlobalTaskOptions
  private readonly storesByName = new Map<string, StateStore>()
  private readonly byTopic = new Map<string, { plan: GlobalStorePlan; node: NodeRuntime }>()
  private readonly dropped = new DroppedRecordCounters()
  private currentMetadata: RecordMetadata | null = null
  private currentTimestamp = -1
  private streamTime = -1

  constructor(options: GlobalTaskOptions) {
    this.options = options
    const clock = options.clock ?? Date.now
    const services: TaskServices = {
      applicationId: options.applicationId,
      taskId: this.id,
      partition: -1,
      streamTimeMs: () => this.streamTime,
      systemTimeMs: clock,
      recordMetadata: () => this.currentMetadata,
      schedule: (): Cancellable => {
        throw new StreamsError('UNSUPPORTED', 'global store processors cannot schedule punctuations')
      },
      store: (name) => this.storesByName.get(name),
      isGlobalStore: (name) => this.storesByName.has(name),
      recordDropped: (nodeName, reason) => this.dropped.record(nodeName, reason),
      setCurrentNode: () => {}
    }
    for (const plan of options.globalStores) {
      const store = plan.storeBuilder.build({ inMemory: options.inMemoryStores ?? false })
      this.storesByName.set(plan.storeBuilder.name, store)
      this.byTopic.set(plan.topic, { plan, node: new NodeRuntime(plan.processorName, plan.supplier(), [plan.storeBuilder.name], services) })
    }
  }

  /** The global stores by name (give them to stream tasks as `globalStores`). */
  get stores(): ReadonlyMap<string, StateStore> {
    return this.storesByName
  }

  /** Topics this task reads. */
  get topics(): string[] {
    return [...this.byTopic.keys()]
  }

  get droppedRecords(): DroppedRecordCounters {
    return this.dropped
  }

  async initialize(): Promise<void> {
    const context: StateStoreContext = {
      applicationId: this.options.applicationId,
      taskId: this.id,
      partition: -1,
      taskStateDir: this.options.taskStateDir ?? `${this.options.applicationId}/global`,
      cacheMaxBytes: 0,
      currentTimestampMs: () => this.currentTimestamp,
      logChange: () => {
        throw new StreamsError('UNSUPPORTED', 'global stores are not change-logged')
      },
      register: () => {}
    }
    for (const store of this.storesByName.values()) await store.init(context)
    for (const { node } of this.byTopic.values()) node.init()
  }

  /** Applies one record of a global topic to its store (synchronously). */
  update(topic: string, partition: number, raw: RawRecord): void {
    const entry = this.byTopic.get(topic)
    if (!entry) throw new StreamsError('UNKNOWN_TOPIC', `the global task has no store for topic ${topic}`)
    const { plan, node } = entry
    let key: unknown
    let value: unknown
    try {
      key = raw.key === null ? null : plan.keySerde.deserialize(topic, raw.key)
      value = raw.value === null ? null : plan.valueSerde.deserialize(topic, raw.value)
    } catch (err) {
      const handler = this.options.onDeserializationError
      if (!handler || handler({ ...raw, topic, partition }, err) === 'fail') {
        throw new DeserializationFailure(`global task: cannot deserialize ${topic}-${partition}@${raw.offset}: ${(err as Error)?.message ?? String(err)}`, {
          cause: err
        })
      }
      this.dropped.record(plan.sourceName, DropReason.DESERIALIZATION)
      return
    }
    const extractor = plan.timestampExtractor ?? recordTimestampExtractor
    const timestampMs = extractor(
      { topic, partition, offset: raw.offset, key, value, timestampMs: raw.timestampMs, headers: raw.headers ?? {} },
      this.streamTime
    )
    if (!Number.isFinite(timestampMs) || timestampMs < 0) {
      this.dropped.record(plan.sourceName, DropReason.INVALID_TIMESTAMP)
      return
    }
    this.streamTime = Math.max(this.streamTime, timestampMs)
    this.currentMetadata = { topic, partition, offset: raw.offset }
    this.currentTimestamp = timestampMs
    try {
      node.process({ key, value, timestampMs, headers: raw.headers ?? {} })
    } finally {
      this.currentMetadata = null
    }
  }

  flush(): void {
    for (const store of this.storesByName.values()) store.flush()
  }

  async close(): Promise<void> {
    for (const { node } of this.byTopic.values()) node.close()
    for (const store of this.storesByName.values()) if (store.isOpen) await store.close()
  }
}
