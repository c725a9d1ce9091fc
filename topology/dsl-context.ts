/**
 * Shared state of one `StreamsBuilder`: the topology being built, the name counter (deterministic
 * `KSTREAM-FILTER-0000000003` names), default serdes, and helpers that add stores and repartitions.
 */
import type { Serde } from '../schemas/index.ts'
import { Stores, type StateStore, type StoreBuilder } from '../state/index.ts'
import { dropNullKeyProcessor, TimestampedWindowStoreBuilder, valueAndTimestampSerde, type StreamPartitioner } from '../processors/index.ts'
import { TopologyError } from './errors.ts'
import type { Materialized } from './options.ts'
import { Topology } from './topology.ts'

/** Default retention of window and session stores: one day, as Kafka Streams. */
export const DEFAULT_WINDOW_RETENTION_MS = 86_400_000

export class DslContext {
  readonly topology: Topology
  readonly defaultKeySerde: Serde<unknown> | undefined
  readonly defaultValueSerde: Serde<unknown> | undefined
  private counter = 0

  constructor(options: { defaultKeySerde?: Serde<unknown> | undefined; defaultValueSerde?: Serde<unknown> | undefined }) {
    this.defaultKeySerde = options.defaultKeySerde
    this.defaultValueSerde = options.defaultValueSerde
    this.topology = new Topology({
      ...(options.defaultKeySerde ? { defaultKeySerde: options.defaultKeySerde } : {}),
      ...(options.defaultValueSerde ? { defaultValueSerde: options.defaultValueSerde } : {})
    })
  }

  /** The next generated name with `prefix`, e.g. `KSTREAM-FILTER-0000000003`. */
  newName(prefix: string): string {
    return `${prefix}${String(this.counter++).padStart(10, '0')}`
  }

  /** The user's name if given, else a generated one. */
  nameOr(name: string | undefined, prefix: string): string {
    return name ?? this.newName(prefix)
  }

  /** `serde`, else the default, else a clear error naming the node and the option to set. */
  requireSerde<T>(serde: Serde<T> | undefined, kind: 'key' | 'value', nodeName: string, hint: string): Serde<T> {
    const resolved = serde ?? ((kind === 'key' ? this.defaultKeySerde : this.defaultValueSerde) as Serde<T> | undefined)
    if (!resolved) {
      throw new TopologyError('NO_SERDE', `${nodeName} needs a ${kind} serde: pass ${kind}Serde in ${hint} (or a default ${kind} serde to StreamsBuilder)`, {
        nodeName
      })
    }
    return resolved
  }

  private applyLogging<S extends StateStore>(
    builder: StoreBuilder<S>,
    materialized: Materialized<unknown, unknown> | undefined,
    defaultCaching: boolean
  ): StoreBuilder<S> {
    if (materialized?.cachingEnabled ?? defaultCaching) builder.withCachingEnabled()
    else builder.withCachingDisabled()
    if (materialized?.loggingEnabled ?? true) builder.withLoggingEnabled({ topicConfig: { ...(materialized?.topicConfig ?? {}) } })
    else builder.withLoggingDisabled()
    return builder
  }

  /** Adds a key-value store for `processorNames` and returns its builder. */
  addKeyValueStore<K, V>(
    name: string,
    keySerde: Serde<K>,
    valueSerde: Serde<V>,
    materialized: Materialized<K, V> | undefined,
    processorNames: string[]
  ): StoreBuilder<StateStore> {
    const supplier = materialized?.storeType === 'in-memory' ? Stores.inMemoryKeyValueStore(name) : Stores.persistentKeyValueStore(name)
    const builder = this.applyLogging(
      Stores.keyValueStoreBuilder(supplier, keySerde, valueSerde) as StoreBuilder<StateStore>,
      materialized as Materialized<unknown, unknown> | undefined,
      true
    )
    this.topology.addStateStore(builder, ...processorNames)
    return builder
  }

  /**
   * Adds a window store (retention at least `minimumRetentionMs`) for `processorNames`; `timestamped`
   * builds a `TimestampedWindowStore` (values with their window's max record timestamp).
   */
  addWindowStore<K, V>(
    name: string,
    keySerde: Serde<K>,
    valueSerde: Serde<V>,
    materialized: Materialized<K, V> | undefined,
    options: { windowSizeMs: number; minimumRetentionMs: number; retainDuplicates?: boolean; caching?: boolean; timestamped?: boolean },
    processorNames: string[]
  ): StoreBuilder<StateStore> {
    const retentionMs = this.retention(name, materialized?.retentionMs, options.minimumRetentionMs, processorNames[0] ?? name)
    const supplierOptions = { retentionMs, windowSizeMs: options.windowSizeMs, retainDuplicates: options.retainDuplicates ?? false }
    const supplier =
      materialized?.storeType === 'in-memory' ? Stores.inMemoryWindowStore(name, supplierOptions) : Stores.persistentWindowStore(name, supplierOptions)
    // Timestamped: values carry the max record timestamp of their window (sliding windows need it).
    const typed =
      options.timestamped === true
        ? new TimestampedWindowStoreBuilder<K, V>(Stores.windowStoreBuilder(supplier, keySerde, valueAndTimestampSerde(valueSerde)))
        : Stores.windowStoreBuilder(supplier, keySerde, valueSerde)
    const builder = this.applyLogging(typed as StoreBuilder<StateStore>, materialized as Materialized<unknown, unknown> | undefined, options.caching ?? true)
    this.topology.addStateStore(builder, ...processorNames)
    return builder
  }

  /** Adds a session store (retention at least `minimumRetentionMs`) for `processorNames`. */
  addSessionStore<K, V>(
    name: string,
    keySerde: Serde<K>,
    valueSerde: Serde<V>,
    materialized: Materialized<K, V> | undefined,
    minimumRetentionMs: number,
    processorNames: string[]
  ): StoreBuilder<StateStore> {
    const retentionMs = this.retention(name, materialized?.retentionMs, minimumRetentionMs, processorNames[0] ?? name)
    const supplier =
      materialized?.storeType === 'in-memory' ? Stores.inMemorySessionStore(name, { retentionMs }) : Stores.persistentSessionStore(name, { retentionMs })
    const builder = this.applyLogging(
      Stores.sessionStoreBuilder(supplier, keySerde, valueSerde) as StoreBuilder<StateStore>,
      materialized as Materialized<unknown, unknown> | undefined,
      true
    )
    this.topology.addStateStore(builder, ...processorNames)
    return builder
  }

  private retention(storeName: string, requested: number | undefined, minimum: number, nodeName: string): number {
    if (requested === undefined) return Math.max(DEFAULT_WINDOW_RETENTION_MS, minimum)
    if (!Number.isSafeInteger(requested) || requested < minimum) {
      throw new TopologyError('RETENTION_TOO_SHORT', `retentionMs of store ${storeName} (${requested}) must be at least window size + grace (${minimum})`, {
        nodeName
      })
    }
    return requested
  }

  /**
   * Inserts a repartition topic after `parentName`: a null-key filter, a sink to
   * `<baseName>-repartition` and a source reading it back. Returns the source node name and topic.
   * With `generated`, node names are numbered; otherwise derived from `baseName` as Kafka Streams does.
   */
  addRepartition(options: {
    parentName: string
    baseName: string
    generatedNames: boolean
    keySerde: Serde<unknown>
    valueSerde: Serde<unknown>
    partitions?: number | undefined
    partitioner?: StreamPartitioner | undefined
  }): { sourceName: string; topic: string } {
    const topic = `${options.baseName}-repartition`
    const sinkName = options.generatedNames ? this.newName('KSTREAM-SINK-') : `${topic}-sink`
    const filterName = options.generatedNames ? this.newName('KSTREAM-FILTER-') : `${topic}-filter`
    const sourceName = options.generatedNames ? this.newName('KSTREAM-SOURCE-') : `${topic}-source`
    this.topology.addInternalTopic(topic, options.partitions)
    this.topology.addProcessor(filterName, dropNullKeyProcessor(), options.parentName)
    this.topology.addSink(
      sinkName,
      {
        topic,
        keySerde: options.keySerde,
        valueSerde: options.valueSerde,
        ...(options.partitioner ? { partitioner: options.partitioner } : {})
      },
      filterName
    )
    this.topology.addSource(sourceName, {
      topics: [topic],
      keySerde: options.keySerde,
      valueSerde: options.valueSerde,
      ...(options.partitions !== undefined ? { partitions: options.partitions } : {})
    })
    return { sourceName, topic }
  }
}
