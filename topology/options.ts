/**
 * Option objects of the DSL (Kafka Streams' Consumed, Produced, Grouped, Materialized, Joined,
 * StreamJoined, Repartitioned, Suppressed). Plain objects; every field is optional unless noted.
 * Serdes given here type the stream: `builder.stream('t', { keySerde: stringSerde, valueSerde })`.
 */
import type { Serde } from '../schemas/index.ts'
import type { StreamPartitioner, TimestampExtractor, TopicNameExtractor } from '../processors/index.ts'

/** Names the processor a DSL operation adds (instead of `KSTREAM-FILTER-0000000003`). */
export interface Named {
  readonly name?: string
}

/** How a topic is read. `partitions` declares its partition count (checked for co-partitioning). */
export interface Consumed<K, V> extends Named {
  readonly keySerde?: Serde<K>
  readonly valueSerde?: Serde<V>
  readonly timestampExtractor?: TimestampExtractor<K, V>
  readonly partitions?: number
}

/** How a stream is written to a topic. */
export interface Produced<K, V> extends Named {
  readonly keySerde?: Serde<K>
  readonly valueSerde?: Serde<V>
  readonly partitioner?: StreamPartitioner<K, V>
}

/** How a stream is grouped; `name` names the repartition topic (`<app id>-<name>-repartition`). */
export interface Grouped<K, V> extends Named {
  readonly keySerde?: Serde<K>
  readonly valueSerde?: Serde<V>
}

/** An explicit repartition (`KStream.repartition`). */
export interface Repartitioned<K, V> extends Named {
  readonly keySerde?: Serde<K>
  readonly valueSerde?: Serde<V>
  /** Partition count of the repartition topic (default: derived from the upstream topics). */
  readonly partitions?: number
  readonly partitioner?: StreamPartitioner<K, V>
}

/** Where the inner store lives: RocksDB (default) or memory. The test driver always uses memory. */
export type StoreType = 'persistent' | 'in-memory'

/**
 * How a table or aggregate is stored. `storeName` names the store (queryable, and its changelog
 * `<app id>-<storeName>-changelog`); caching (default on) makes aggregates emit at most once per key
 * per commit; logging (default on) writes the changelog.
 */
export interface Materialized<K, V> {
  readonly storeName?: string
  readonly keySerde?: Serde<K>
  readonly valueSerde?: Serde<V>
  readonly storeType?: StoreType
  readonly cachingEnabled?: boolean
  readonly loggingEnabled?: boolean
  /** Extra configs of the changelog topic. */
  readonly topicConfig?: Readonly<Record<string, string>>
  /** Window and session stores: how long windows are kept (default: max(1 day, size + grace)). */
  readonly retentionMs?: number
}

/** Serdes of a stream-table join; `name` names the join processor. */
export interface Joined<K, V, VO> extends Named {
  readonly keySerde?: Serde<K>
  readonly valueSerde?: Serde<V>
  readonly otherValueSerde?: Serde<VO>
}

/** Serdes and store settings of a stream-stream join (both sides are buffered in window stores). */
export interface StreamJoined<K, V, VO> extends Named {
  readonly keySerde?: Serde<K>
  readonly valueSerde?: Serde<V>
  readonly otherValueSerde?: Serde<VO>
  /**
   * Base name of the join stores: `<name>-this-join-store`, `<name>-other-join-store`, and for left
   * and outer joins `<name>-outer-shared-join-store`.
   */
  readonly storeName?: string
  readonly storeType?: StoreType
  readonly loggingEnabled?: boolean
}

/**
 * Options of a suppression. Its buffer is a key-value store named `<processor name>-store`, change-logged
 * (`<app id>-<processor name>-store-changelog`) so that a restarted task keeps what was buffered.
 * `valueSerde` serializes buffered values (default: the table's value serde, else the default serde);
 * `loggingEnabled: false` keeps the buffer store without a changelog (Kafka Streams' `withLoggingDisabled`).
 */
export interface SuppressedOptions extends Named {
  readonly valueSerde?: Serde<unknown>
  readonly loggingEnabled?: boolean
}

/** When a suppressed table emits. */
export type Suppressed =
  /** Only the final result of each window, once stream time >= window end + grace. */
  | ({ readonly kind: 'untilWindowCloses' } & SuppressedOptions)
  /** At most one update per key per `timeToWaitMs` of stream time (the latest value). */
  | ({ readonly kind: 'untilTimeLimit'; readonly timeToWaitMs: number } & SuppressedOptions)

/** Constructors of `Suppressed` values. */
export const Suppressed = {
  untilWindowCloses: (options: SuppressedOptions = {}): Suppressed => ({ kind: 'untilWindowCloses', ...options }),
  untilTimeLimit: (timeToWaitMs: number, options: SuppressedOptions = {}): Suppressed => ({ kind: 'untilTimeLimit', timeToWaitMs, ...options })
} as const

/** A sink topic or a per-record topic chooser. */
export type TopicTarget<K, V> = string | TopicNameExtractor<K, V>
