/**
 * `StreamsBuilder`: the entry point of the DSL. Streams, tables and global tables start here; every
 * operation on them adds nodes to one `Topology`, returned by `build()`.
 *
 * ```ts
 * const builder = new StreamsBuilder()
 * builder.stream('words', { keySerde: stringSerde, valueSerde: stringSerde })
 *   .groupBy((_k, word) => word, { keySerde: stringSerde })
 *   .count({ storeName: 'counts' })
 *   .toStream().to('word-counts', { valueSerde: longSerde })
 * const topology = builder.build()
 * ```
 */
import type { Serde } from '../schemas/index.ts'
import { Stores, type StateStore, type StoreBuilder } from '../state/index.ts'
import { storeValueGetter, tableSourceProcessor, type TimestampExtractor } from '../processors/index.ts'
import { DslContext } from './dsl-context.ts'
import { TopologyError } from './errors.ts'
import { GlobalKTable } from './global-table.ts'
import { KStream } from './kstream.ts'
import { KTable } from './ktable.ts'
import type { Consumed, Materialized } from './options.ts'
import type { Topology } from './topology.ts'

/** Default serdes for every source, sink, store and repartition topic that names none. */
export interface StreamsBuilderOptions {
  readonly defaultKeySerde?: Serde<unknown>
  readonly defaultValueSerde?: Serde<unknown>
}

export class StreamsBuilder {
  private readonly ctx: DslContext
  private built = false

  constructor(options: StreamsBuilderOptions = {}) {
    this.ctx = new DslContext(options)
  }

  private sourceOptions<K, V>(
    name: string,
    topics: readonly string[],
    consumed: Consumed<K, V>
  ): { topics: readonly string[]; keySerde: Serde<K>; valueSerde: Serde<V>; timestampExtractor?: TimestampExtractor<K, V>; partitions?: number } {
    return {
      topics,
      keySerde: this.ctx.requireSerde(consumed.keySerde, 'key', name, 'Consumed'),
      valueSerde: this.ctx.requireSerde(consumed.valueSerde, 'value', name, 'Consumed'),
      ...(consumed.timestampExtractor ? { timestampExtractor: consumed.timestampExtractor } : {}),
      ...(consumed.partitions !== undefined ? { partitions: consumed.partitions } : {})
    }
  }

  /** A stream of the records of `topics`. */
  stream<K, V>(topics: string | readonly string[], consumed: Consumed<K, V> = {}): KStream<K, V> {
    this.checkNotBuilt()
    const list = typeof topics === 'string' ? [topics] : [...topics]
    const name = this.ctx.nameOr(consumed.name, 'KSTREAM-SOURCE-')
    const options = this.sourceOptions(name, list, consumed)
    this.ctx.topology.addSource(name, options)
    return new KStream<K, V>(this.ctx, name, {
      keySerde: options.keySerde,
      valueSerde: options.valueSerde,
      repartitionRequired: false,
      sourceTopics: list
    })
  }

  /** A table of the latest value per key of `topic` (materialized; null values delete). */
  table<K, V>(topic: string, consumed: Consumed<K, V> = {}, materialized: Materialized<K, V> = {}): KTable<K, V> {
    this.checkNotBuilt()
    const sourceName = this.ctx.nameOr(consumed.name, 'KSTREAM-SOURCE-')
    const options = this.sourceOptions(sourceName, [topic], consumed)
    const storeName = materialized.storeName ?? this.ctx.newName(`${topic}-STATE-STORE-`)
    const processorName = this.ctx.newName('KTABLE-SOURCE-')
    this.ctx.topology.addSource(sourceName, options)
    this.ctx.topology.addProcessor(processorName, tableSourceProcessor<K, V>(storeName), sourceName)
    const keySerde = materialized.keySerde ?? options.keySerde
    const valueSerde = materialized.valueSerde ?? options.valueSerde
    this.ctx.addKeyValueStore(storeName, keySerde, valueSerde, materialized, [processorName])
    return new KTable<K, V>(this.ctx, processorName, {
      keySerde,
      valueSerde,
      storeName,
      getter: storeValueGetter<K, V>(storeName),
      sourceTopics: [topic],
      windowGraceMs: undefined
    })
  }

  /** A table replicated to every task from all partitions of `topic` (its store is not change-logged). */
  globalTable<K, V>(topic: string, consumed: Consumed<K, V> = {}, materialized: Materialized<K, V> = {}): GlobalKTable<K, V> {
    this.checkNotBuilt()
    const sourceName = this.ctx.nameOr(consumed.name, 'KSTREAM-SOURCE-')
    const options = this.sourceOptions(sourceName, [topic], consumed)
    const storeName = materialized.storeName ?? this.ctx.newName(`${topic}-STATE-STORE-`)
    const processorName = this.ctx.newName('KTABLE-SOURCE-')
    const keySerde = materialized.keySerde ?? options.keySerde
    const valueSerde = materialized.valueSerde ?? options.valueSerde
    const supplier = materialized.storeType === 'in-memory' ? Stores.inMemoryKeyValueStore(storeName) : Stores.persistentKeyValueStore(storeName)
    const storeBuilder = Stores.keyValueStoreBuilder(supplier, keySerde, valueSerde).withLoggingDisabled().withCachingDisabled()
    this.ctx.topology.addGlobalStore(
      storeBuilder as StoreBuilder<StateStore>,
      sourceName,
      {
        topic,
        keySerde: options.keySerde,
        valueSerde: options.valueSerde,
        ...(options.timestampExtractor ? { timestampExtractor: options.timestampExtractor } : {})
      },
      processorName,
      tableSourceProcessor<K, V>(storeName) as never
    )
    return new GlobalKTable<K, V>(storeName, storeValueGetter<K, V>(storeName))
  }

  /** Adds a store for custom processors (`KStream.process(supplier, { stores: [name] })`). */
  addStateStore(storeBuilder: StoreBuilder<StateStore>): this {
    this.checkNotBuilt()
    this.ctx.topology.addStateStore(storeBuilder)
    return this
  }

  /** The topology built so far. Call once; the builder cannot be used afterwards. */
  build(): Topology {
    this.checkNotBuilt()
    this.built = true
    return this.ctx.topology
  }

  private checkNotBuilt(): void {
    if (this.built) throw new TopologyError('ALREADY_BUILT', 'this StreamsBuilder was already built; create a new one')
  }
}
