/**
 * Grouped streams and their aggregations: `count`, `reduce`, `aggregate`, plain or windowed (tumbling
 * and hopping `TimeWindows`, `SlidingWindows`, `SessionWindows`). Aggregations of a re-keyed stream
 * read from a repartition topic (`<app id>-<Grouped name or store name>-repartition`).
 */
import { longSerde, type Serde } from '../schemas/index.ts'
import type { TimeWindow, Windowed } from '../state/index.ts'
import {
  sessionAggregateProcessor,
  slidingWindowAggregateProcessor,
  storeValueGetter,
  streamAggregateProcessor,
  streamReduceProcessor,
  windowAggregateProcessor,
  windowedSerde,
  type ProcessorSupplier,
  type SessionWindows,
  type SlidingWindows,
  type TimeWindows
} from '../processors/index.ts'
import type { KStream } from './kstream.ts'
import { KTable } from './ktable.ts'
import type { Materialized, Named } from './options.ts'

interface GroupedInfo<K, V> {
  readonly keySerde: Serde<K> | undefined
  readonly valueSerde: Serde<V> | undefined
  readonly name: string | undefined
  readonly repartitionRequired: boolean
}

export class KGroupedStream<K, V> {
  /** @internal */
  readonly stream: KStream<unknown, V>
  /** @internal */
  readonly grouped: GroupedInfo<K, V>

  /** @internal Use `KStream.groupByKey`/`groupBy`. */
  constructor(stream: KStream<unknown, V>, grouped: GroupedInfo<K, V>) {
    this.stream = stream
    this.grouped = grouped
  }

  /**
   * @internal Adds an aggregation node fed by the (possibly repartitioned) stream, and its store.
   * Returns the node name, store name and key serde.
   */
  addAggregation<VA>(options: {
    /** The processor's name; generated from `nodePrefix` when undefined. */
    name?: string | undefined
    nodePrefix: string
    storePrefix: string
    materialized: Materialized<K, VA> | undefined
    aggregateSerde: Serde<VA> | undefined
    supplier: (storeName: string) => ProcessorSupplier<K, V, unknown, unknown>
    addStore: (storeName: string, keySerde: Serde<K>, valueSerde: Serde<VA>, nodeName: string) => void
  }): { nodeName: string; storeName: string; keySerde: Serde<K>; valueSerde: Serde<VA>; sourceTopics: readonly string[] } {
    const ctx = this.stream.ctx
    const storeName = options.materialized?.storeName ?? ctx.newName(options.storePrefix)
    const nodeName = options.name ?? ctx.newName(options.nodePrefix)
    const keySerde = ctx.requireSerde(options.materialized?.keySerde ?? this.grouped.keySerde, 'key', nodeName, 'Grouped or Materialized')
    const valueSerde = ctx.requireSerde(options.materialized?.valueSerde ?? options.aggregateSerde, 'value', nodeName, 'Materialized')
    let parentName = this.stream.nodeName
    let sourceTopics = this.stream.info.sourceTopics
    if (this.grouped.repartitionRequired) {
      const inputSerde = ctx.requireSerde(this.grouped.valueSerde, 'value', nodeName, 'Grouped (for the repartition topic)')
      const repartition = ctx.addRepartition({
        parentName,
        baseName: this.grouped.name ?? storeName,
        generatedNames: this.grouped.name === undefined,
        keySerde: keySerde as Serde<unknown>,
        valueSerde: inputSerde as Serde<unknown>
      })
      parentName = repartition.sourceName
      sourceTopics = [repartition.topic]
    }
    ctx.topology.addProcessor(nodeName, options.supplier(storeName), parentName)
    options.addStore(storeName, keySerde, valueSerde, nodeName)
    return { nodeName, storeName, keySerde, valueSerde, sourceTopics }
  }

  /** Counts records per key (null keys and values are skipped). */
  count(materialized?: Materialized<K, number>): KTable<K, number> {
    return this.aggregate(
      () => 0,
      (_key, _value, count) => count + 1,
      { valueSerde: longSerde, ...materialized }
    )
  }

  /** Combines the values of each key with `reducer`. */
  reduce(reducer: (aggregate: V, value: V, key: K) => V, materialized?: Materialized<K, V>): KTable<K, V> {
    return this.kvTable(
      'KSTREAM-REDUCE-',
      'KSTREAM-REDUCE-STATE-STORE-',
      materialized,
      this.grouped.valueSerde,
      (storeName) => streamReduceProcessor<K, V>({ storeName, reducer }) as ProcessorSupplier<K, V, unknown, unknown>
    )
  }

  /** Aggregates the values of each key: `aggregator(key, value, aggregate)` starting from `initializer()`. */
  aggregate<VA>(initializer: () => VA, aggregator: (key: K, value: V, aggregate: VA) => VA, materialized?: Materialized<K, VA>): KTable<K, VA> {
    return this.kvTable(
      'KSTREAM-AGGREGATE-',
      'KSTREAM-AGGREGATE-STATE-STORE-',
      materialized,
      undefined,
      (storeName) => streamAggregateProcessor<K, V, VA>({ storeName, initializer, aggregator }) as ProcessorSupplier<K, V, unknown, unknown>
    )
  }

  private kvTable<VA>(
    nodePrefix: string,
    storePrefix: string,
    materialized: Materialized<K, VA> | undefined,
    aggregateSerde: Serde<VA> | undefined,
    supplier: (storeName: string) => ProcessorSupplier<K, V, unknown, unknown>
  ): KTable<K, VA> {
    const ctx = this.stream.ctx
    const added = this.addAggregation<VA>({
      nodePrefix,
      storePrefix,
      materialized,
      aggregateSerde,
      supplier,
      addStore: (storeName, keySerde, valueSerde, nodeName) => {
        ctx.addKeyValueStore(storeName, keySerde, valueSerde, materialized, [nodeName])
      }
    })
    return new KTable<K, VA>(ctx, added.nodeName, {
      keySerde: added.keySerde,
      valueSerde: added.valueSerde,
      storeName: added.storeName,
      getter: storeValueGetter<K, VA>(added.storeName),
      sourceTopics: added.sourceTopics,
      windowGraceMs: undefined
    })
  }

  /** Windows the grouped stream by time (tumbling or hopping). */
  windowedBy(windows: TimeWindows): TimeWindowedKStream<K, V>
  /** Windows the grouped stream by sliding windows that follow the record timestamps. */
  windowedBy(windows: SlidingWindows): SlidingWindowedKStream<K, V>
  /** Windows the grouped stream into sessions of activity. */
  windowedBy(windows: SessionWindows): SessionWindowedKStream<K, V>
  windowedBy(windows: TimeWindows | SlidingWindows | SessionWindows): TimeWindowedKStream<K, V> | SlidingWindowedKStream<K, V> | SessionWindowedKStream<K, V> {
    if ('gapMs' in windows) return new SessionWindowedKStream(this, windows)
    if ('timeDifferenceMs' in windows) return new SlidingWindowedKStream(this, windows)
    return new TimeWindowedKStream(this, windows)
  }
}

/**
 * A grouped stream with sliding windows; aggregations produce a table keyed by `Windowed<K>` whose
 * windows are `[start, start + timeDifferenceMs]`, both ends inclusive. The store keeps each window's
 * max record timestamp (a timestamped window store); reading it returns the plain aggregates.
 */
export class SlidingWindowedKStream<K, V> {
  private readonly grouped: KGroupedStream<K, V>
  private readonly windows: SlidingWindows

  /** @internal */
  constructor(grouped: KGroupedStream<K, V>, windows: SlidingWindows) {
    this.grouped = grouped
    this.windows = windows
  }

  count(materialized?: Materialized<K, number>): KTable<Windowed<K>, number> {
    return this.aggregate(
      () => 0,
      (_key, _value, count) => count + 1,
      { valueSerde: longSerde, ...materialized }
    )
  }

  reduce(reducer: (aggregate: V, value: V, key: K) => V, materialized?: Materialized<K, V>): KTable<Windowed<K>, V> {
    return this.slidingTable(
      'KSTREAM-REDUCE-',
      'KSTREAM-REDUCE-STATE-STORE-',
      materialized,
      this.grouped.grouped.valueSerde,
      (storeName) =>
        slidingWindowAggregateProcessor<K, V, V | undefined>({
          storeName,
          windows: this.windows,
          initializer: () => undefined,
          aggregator: (key, value, aggregate) => (aggregate === undefined ? value : reducer(aggregate, value, key))
        }) as ProcessorSupplier<K, V, unknown, unknown>
    )
  }

  aggregate<VA>(initializer: () => VA, aggregator: (key: K, value: V, aggregate: VA) => VA, materialized?: Materialized<K, VA>): KTable<Windowed<K>, VA> {
    return this.slidingTable(
      'KSTREAM-AGGREGATE-',
      'KSTREAM-AGGREGATE-STATE-STORE-',
      materialized,
      undefined,
      (storeName) =>
        slidingWindowAggregateProcessor<K, V, VA>({ storeName, windows: this.windows, initializer, aggregator }) as ProcessorSupplier<K, V, unknown, unknown>
    )
  }

  private slidingTable<VA>(
    nodePrefix: string,
    storePrefix: string,
    materialized: Materialized<K, VA> | undefined,
    aggregateSerde: Serde<VA> | undefined,
    supplier: (storeName: string) => ProcessorSupplier<K, V, unknown, unknown>,
    named?: Named
  ): KTable<Windowed<K>, VA> {
    const ctx = this.grouped.stream.ctx
    const windows = this.windows
    const added = this.grouped.addAggregation<VA>({
      name: named?.name,
      nodePrefix,
      storePrefix,
      materialized,
      aggregateSerde,
      supplier,
      addStore: (storeName, keySerde, valueSerde, nodeName) => {
        ctx.addWindowStore(
          storeName,
          keySerde,
          valueSerde,
          materialized,
          { windowSizeMs: windows.timeDifferenceMs, minimumRetentionMs: windows.minimumRetentionMs, timestamped: true },
          [nodeName]
        )
      }
    })
    return new KTable<Windowed<K>, VA>(ctx, added.nodeName, {
      keySerde: windowedSerde(added.keySerde),
      valueSerde: added.valueSerde,
      storeName: added.storeName,
      getter: undefined,
      sourceTopics: added.sourceTopics,
      windowGraceMs: windows.graceMs,
      windowEndInclusive: true
    })
  }
}

/** A grouped stream with time windows; aggregations produce a table keyed by `Windowed<K>`. */
export class TimeWindowedKStream<K, V> {
  private readonly grouped: KGroupedStream<K, V>
  private readonly windows: TimeWindows

  /** @internal */
  constructor(grouped: KGroupedStream<K, V>, windows: TimeWindows) {
    this.grouped = grouped
    this.windows = windows
  }

  count(materialized?: Materialized<K, number>): KTable<Windowed<K>, number> {
    return this.aggregate(
      () => 0,
      (_key, _value, count) => count + 1,
      { valueSerde: longSerde, ...materialized }
    )
  }

  reduce(reducer: (aggregate: V, value: V, key: K) => V, materialized?: Materialized<K, V>): KTable<Windowed<K>, V> {
    return this.windowTable(
      'KSTREAM-REDUCE-',
      'KSTREAM-REDUCE-STATE-STORE-',
      materialized,
      this.grouped.grouped.valueSerde,
      (storeName) =>
        windowAggregateProcessor<K, V, V | undefined>({
          storeName,
          windows: this.windows,
          initializer: () => undefined,
          aggregator: (key, value, aggregate) => (aggregate === undefined ? value : reducer(aggregate, value, key))
        }) as ProcessorSupplier<K, V, unknown, unknown>
    )
  }

  /**
   * Aggregates each window of each key: `aggregator(key, value, aggregate, window)` starting from
   * `initializer()`; the aggregator sees the window it updates. `named` names the processor (its
   * late-record drops are counted under that name).
   */
  aggregate<VA>(
    initializer: () => VA,
    aggregator: (key: K, value: V, aggregate: VA, window: TimeWindow) => VA,
    materialized?: Materialized<K, VA>,
    named?: Named
  ): KTable<Windowed<K>, VA> {
    return this.windowTable(
      'KSTREAM-AGGREGATE-',
      'KSTREAM-AGGREGATE-STATE-STORE-',
      materialized,
      undefined,
      (storeName) =>
        windowAggregateProcessor<K, V, VA>({ storeName, windows: this.windows, initializer, aggregator }) as ProcessorSupplier<K, V, unknown, unknown>,
      named
    )
  }

  private windowTable<VA>(
    nodePrefix: string,
    storePrefix: string,
    materialized: Materialized<K, VA> | undefined,
    aggregateSerde: Serde<VA> | undefined,
    supplier: (storeName: string) => ProcessorSupplier<K, V, unknown, unknown>,
    named?: Named
  ): KTable<Windowed<K>, VA> {
    const ctx = this.grouped.stream.ctx
    const windows = this.windows
    const added = this.grouped.addAggregation<VA>({
      name: named?.name,
      nodePrefix,
      storePrefix,
      materialized,
      aggregateSerde,
      supplier,
      addStore: (storeName, keySerde, valueSerde, nodeName) => {
        ctx.addWindowStore(storeName, keySerde, valueSerde, materialized, { windowSizeMs: windows.sizeMs, minimumRetentionMs: windows.minimumRetentionMs }, [
          nodeName
        ])
      }
    })
    return new KTable<Windowed<K>, VA>(ctx, added.nodeName, {
      keySerde: windowedSerde(added.keySerde),
      valueSerde: added.valueSerde,
      storeName: added.storeName,
      getter: undefined,
      sourceTopics: added.sourceTopics,
      windowGraceMs: windows.graceMs
    })
  }
}

/** A grouped stream with session windows; aggregations produce a table keyed by `Windowed<K>`. */
export class SessionWindowedKStream<K, V> {
  private readonly grouped: KGroupedStream<K, V>
  private readonly windows: SessionWindows

  /** @internal */
  constructor(grouped: KGroupedStream<K, V>, windows: SessionWindows) {
    this.grouped = grouped
    this.windows = windows
  }

  count(materialized?: Materialized<K, number>): KTable<Windowed<K>, number> {
    return this.aggregate(
      () => 0,
      (_key, _value, count) => count + 1,
      (_key, a, b) => a + b,
      { valueSerde: longSerde, ...materialized }
    )
  }

  reduce(reducer: (aggregate: V, value: V, key: K) => V, materialized?: Materialized<K, V>): KTable<Windowed<K>, V> {
    const merge = (key: K, a: V | undefined, b: V | undefined): V | undefined => (a === undefined ? b : b === undefined ? a : reducer(a, b, key))
    return this.sessionTable<V>(
      'KSTREAM-REDUCE-',
      'KSTREAM-REDUCE-STATE-STORE-',
      materialized,
      this.grouped.grouped.valueSerde,
      (storeName) =>
        sessionAggregateProcessor<K, V, V | undefined>({
          storeName,
          windows: this.windows,
          initializer: () => undefined,
          aggregator: (key, value, aggregate) => (aggregate === undefined ? value : reducer(aggregate, value, key)),
          merger: merge
        }) as ProcessorSupplier<K, V, unknown, unknown>
    )
  }

  /**
   * Aggregates each session; `merger` combines the aggregates of sessions that a record joins together.
   * `named` names the processor (its late-record drops are counted under that name).
   */
  aggregate<VA>(
    initializer: () => VA,
    aggregator: (key: K, value: V, aggregate: VA) => VA,
    merger: (key: K, left: VA, right: VA) => VA,
    materialized?: Materialized<K, VA>,
    named?: Named
  ): KTable<Windowed<K>, VA> {
    return this.sessionTable(
      'KSTREAM-AGGREGATE-',
      'KSTREAM-AGGREGATE-STATE-STORE-',
      materialized,
      undefined,
      (storeName) =>
        sessionAggregateProcessor<K, V, VA>({ storeName, windows: this.windows, initializer, aggregator, merger }) as ProcessorSupplier<K, V, unknown, unknown>,
      named
    )
  }

  private sessionTable<VA>(
    nodePrefix: string,
    storePrefix: string,
    materialized: Materialized<K, VA> | undefined,
    aggregateSerde: Serde<VA> | undefined,
    supplier: (storeName: string) => ProcessorSupplier<K, V, unknown, unknown>,
    named?: Named
  ): KTable<Windowed<K>, VA> {
    const ctx = this.grouped.stream.ctx
    const windows = this.windows
    const added = this.grouped.addAggregation<VA>({
      name: named?.name,
      nodePrefix,
      storePrefix,
      materialized,
      aggregateSerde,
      supplier,
      addStore: (storeName, keySerde, valueSerde, nodeName) => {
        ctx.addSessionStore(storeName, keySerde, valueSerde, materialized, windows.minimumRetentionMs, [nodeName])
      }
    })
    return new KTable<Windowed<K>, VA>(ctx, added.nodeName, {
      keySerde: windowedSerde(added.keySerde),
      valueSerde: added.valueSerde,
      storeName: added.storeName,
      getter: undefined,
      sourceTopics: added.sourceTopics,
      windowGraceMs: windows.graceMs
    })
  }
}
