/**
 * `KGroupedTable`: a table re-keyed by `KTable.groupBy`. Its aggregations always read through a
 * repartition topic carrying `Change` records, and apply the adder to new values and the subtractor
 * to old ones (Kafka Streams' KTableAggregate/KTableReduce).
 */
import { longSerde, type Serde } from '../schemas/index.ts'
import { changeSerde, storeValueGetter, tableAggregateProcessor, tableReduceProcessor, type ProcessorSupplier } from '../processors/index.ts'
import type { DslContext } from './dsl-context.ts'
import { KTable } from './ktable.ts'
import type { Grouped, Materialized } from './options.ts'

export class KGroupedTable<K, V> {
  private readonly ctx: DslContext
  private readonly selectName: string
  private readonly grouped: Grouped<K, V>

  /** @internal Use `KTable.groupBy`. */
  constructor(ctx: DslContext, selectName: string, grouped: Grouped<K, V>) {
    this.ctx = ctx
    this.selectName = selectName
    this.grouped = grouped
  }

  /** Number of table entries per group (an entry moving to another group is subtracted). */
  count(materialized?: Materialized<K, number>): KTable<K, number> {
    return this.aggregate(
      () => 0,
      (_key, _value, count) => count + 1,
      (_key, _value, count) => count - 1,
      { valueSerde: longSerde, ...materialized }
    )
  }

  /** Combines values with `adder`; a replaced or deleted value is removed with `subtractor`. */
  reduce(adder: (aggregate: V, value: V) => V, subtractor: (aggregate: V, value: V) => V, materialized?: Materialized<K, V>): KTable<K, V> {
    return this.build(
      'KTABLE-REDUCE-',
      'KTABLE-REDUCE-STATE-STORE-',
      materialized,
      this.grouped.valueSerde,
      (storeName) => tableReduceProcessor<K, V>({ storeName, adder, subtractor }) as ProcessorSupplier<K, unknown, unknown, unknown>
    )
  }

  /** Aggregates values with `adder`; a replaced or deleted value is removed with `subtractor`. */
  aggregate<VA>(
    initializer: () => VA,
    adder: (key: K, value: V, aggregate: VA) => VA,
    subtractor: (key: K, value: V, aggregate: VA) => VA,
    materialized?: Materialized<K, VA>
  ): KTable<K, VA> {
    return this.build(
      'KTABLE-AGGREGATE-',
      'KTABLE-AGGREGATE-STATE-STORE-',
      materialized,
      undefined,
      (storeName) => tableAggregateProcessor<K, V, VA>({ storeName, initializer, adder, subtractor }) as ProcessorSupplier<K, unknown, unknown, unknown>
    )
  }

  private build<VA>(
    nodePrefix: string,
    storePrefix: string,
    materialized: Materialized<K, VA> | undefined,
    aggregateSerde: Serde<VA> | undefined,
    supplier: (storeName: string) => ProcessorSupplier<K, unknown, unknown, unknown>
  ): KTable<K, VA> {
    const storeName = materialized?.storeName ?? this.ctx.newName(storePrefix)
    const nodeName = this.ctx.newName(nodePrefix)
    const keySerde = this.ctx.requireSerde(materialized?.keySerde ?? this.grouped.keySerde, 'key', nodeName, 'Grouped or Materialized')
    const valueSerde = this.ctx.requireSerde(materialized?.valueSerde ?? aggregateSerde, 'value', nodeName, 'Materialized')
    const inputSerde = this.ctx.requireSerde(this.grouped.valueSerde, 'value', nodeName, 'Grouped (for the repartition topic)')
    const repartition = this.ctx.addRepartition({
      parentName: this.selectName,
      baseName: this.grouped.name ?? storeName,
      generatedNames: this.grouped.name === undefined,
      keySerde: keySerde as Serde<unknown>,
      valueSerde: changeSerde(inputSerde) as Serde<unknown>
    })
    this.ctx.topology.addProcessor(nodeName, supplier(storeName), repartition.sourceName)
    this.ctx.addKeyValueStore(storeName, keySerde, valueSerde, materialized, [nodeName])
    return new KTable<K, VA>(this.ctx, nodeName, {
      keySerde,
      valueSerde,
      storeName,
      getter: storeValueGetter<K, VA>(storeName),
      sourceTopics: [repartition.topic],
      windowGraceMs: undefined
    })
  }
}
