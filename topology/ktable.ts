/**
 * `KTable<K, V>`: a changelog stream of the DSL. Records between table operators carry
 * `Change<V>` (new and old value); `toStream()` turns them back into plain records (deletes become
 * tombstones). A table can be joined when it is materialized or derived statelessly from one that is.
 */
import type { Serde } from '../schemas/index.ts'
import { Stores, type KeyValue, type StateStore, type StoreBuilder, type Windowed } from '../state/index.ts'
import {
  derivedValueGetter,
  storeValueGetter,
  suppressBufferSerde,
  suppressProcessor,
  tableGroupByProcessor,
  tableTableJoinProcessor,
  tableToStreamProcessor,
  tableTransformProcessor,
  windowEndBufferTime,
  passThroughProcessor,
  type ProcessorSupplier,
  type TableJoinKind,
  type TableValueGetter
} from '../processors/index.ts'
import type { DslContext } from './dsl-context.ts'
import { TopologyError } from './errors.ts'
import { KGroupedTable } from './grouped-table.ts'
import { KStream } from './kstream.ts'
import type { Grouped, Materialized, Named, Suppressed } from './options.ts'

/** @internal What a DSL table carries besides its node. */
export interface TableInfo<K, V> {
  readonly keySerde: Serde<K> | undefined
  readonly valueSerde: Serde<V> | undefined
  /** The store holding this table, when materialized (queryable by this name). */
  readonly storeName: string | undefined
  /** How to read the table's current value (joins); undefined for windowed tables. */
  readonly getter: TableValueGetter<K, V> | undefined
  readonly sourceTopics: readonly string[]
  /** Grace of the windows, for windowed tables (`suppress(untilWindowCloses)`). */
  readonly windowGraceMs: number | undefined
  /** Sliding windows include their end: they close one ms later than a time window ending then. */
  readonly windowEndInclusive?: boolean
}

export class KTable<K, V> {
  /** @internal */
  readonly ctx: DslContext
  /** The name of the processor this table comes out of. */
  readonly nodeName: string
  /** @internal */
  readonly info: TableInfo<K, V>

  /** @internal Use `StreamsBuilder.table` or an aggregation. */
  constructor(ctx: DslContext, nodeName: string, info: TableInfo<K, V>) {
    this.ctx = ctx
    this.nodeName = nodeName
    this.info = info
  }

  /** The name of the store that holds this table, if materialized. */
  get queryableStoreName(): string | undefined {
    return this.info.storeName
  }

  /** @internal The getter joins use; fails for tables that cannot be read by key. */
  valueGetter(): TableValueGetter<K, V> {
    if (!this.info.getter) {
      throw new TopologyError('TABLE_NOT_READABLE', `table ${this.nodeName} cannot be read by key for a join: materialize it (Materialized.storeName)`, {
        nodeName: this.nodeName
      })
    }
    return this.info.getter
  }

  private transform<VR>(
    prefix: string,
    map: (key: K, value: V) => VR | null,
    materialized: (Materialized<K, VR> & Named) | undefined,
    valueSerde: Serde<VR> | undefined
  ): KTable<K, VR> {
    const name = this.ctx.nameOr(materialized?.name, prefix)
    const storeName = materialized?.storeName
    this.ctx.topology.addProcessor(name, tableTransformProcessor(map, storeName), this.nodeName)
    let getter: TableValueGetter<K, VR> | undefined
    if (storeName !== undefined) {
      const keySerde = this.ctx.requireSerde(materialized?.keySerde ?? this.info.keySerde, 'key', name, 'Materialized')
      const vSerde = this.ctx.requireSerde(materialized?.valueSerde ?? valueSerde, 'value', name, 'Materialized')
      this.ctx.addKeyValueStore(storeName, keySerde, vSerde, materialized, [name])
      getter = storeValueGetter(storeName)
    } else if (this.info.getter) {
      getter = derivedValueGetter(this.info.getter, map)
    }
    return new KTable<K, VR>(this.ctx, name, {
      keySerde: this.info.keySerde,
      valueSerde: materialized?.valueSerde ?? valueSerde,
      storeName,
      getter,
      sourceTopics: this.info.sourceTopics,
      windowGraceMs: this.info.windowGraceMs,
      ...(this.info.windowEndInclusive === true ? { windowEndInclusive: true } : {})
    })
  }

  /** Keeps entries for which `predicate` holds (others become deletes). */
  filter(predicate: (key: K, value: V) => boolean, materialized?: Materialized<K, V> & Named): KTable<K, V> {
    return this.transform('KTABLE-FILTER-', (key, value) => (predicate(key, value) ? value : null), materialized, this.info.valueSerde)
  }

  /** Drops entries for which `predicate` holds. */
  filterNot(predicate: (key: K, value: V) => boolean, materialized?: Materialized<K, V> & Named): KTable<K, V> {
    return this.transform('KTABLE-FILTER-', (key, value) => (predicate(key, value) ? null : value), materialized, this.info.valueSerde)
  }

  /** Maps each value (the key is kept). */
  mapValues<VR>(mapper: (value: V, key: K) => VR, materialized?: Materialized<K, VR> & Named): KTable<K, VR> {
    return this.transform('KTABLE-MAPVALUES-', (key, value) => mapper(value, key), materialized, undefined)
  }

  /** The table's updates as a stream; deletes are records with a null value. */
  toStream(named?: Named): KStream<K, V | null>
  /** The updates as a stream with a new key per record (marks the stream for repartitioning). */
  toStream<KR>(named: Named | undefined, mapKey: (key: K, value: V | null) => KR): KStream<KR, V | null>
  toStream<KR>(named?: Named, mapKey?: (key: K, value: V | null) => KR): KStream<KR, V | null> {
    const name = this.ctx.nameOr(named?.name, 'KTABLE-TOSTREAM-')
    this.ctx.topology.addProcessor(name, tableToStreamProcessor<K, V, KR>(mapKey), this.nodeName)
    return new KStream<KR, V | null>(this.ctx, name, {
      keySerde: mapKey ? undefined : (this.info.keySerde as unknown as Serde<KR> | undefined),
      valueSerde: this.info.valueSerde as Serde<V | null> | undefined,
      repartitionRequired: mapKey !== undefined,
      sourceTopics: this.info.sourceTopics
    })
  }

  /** Re-groups the table by a new key; aggregations on it add new values and subtract old ones. */
  groupBy<KR, VR>(selector: (key: K, value: V) => KeyValue<KR, VR>, grouped: Grouped<KR, VR> = {}): KGroupedTable<KR, VR> {
    const name = this.ctx.nameOr(grouped.name === undefined ? undefined : `${grouped.name}-select`, 'KTABLE-SELECT-')
    this.ctx.topology.addProcessor(name, tableGroupByProcessor(selector), this.nodeName)
    return new KGroupedTable<KR, VR>(this.ctx, name, grouped)
  }

  /**
   * Holds back updates (see `Suppressed`). `untilWindowCloses` needs a windowed table. The buffer is
   * the change-logged store `<processor name>-store`, connected to the suppress processor.
   */
  suppress(suppressed: Suppressed): KTable<K, V> {
    const name = this.ctx.nameOr(suppressed.name, 'KTABLE-SUPPRESS-')
    const keySerde = this.ctx.requireSerde(this.info.keySerde, 'key', name, 'the upstream Materialized/Grouped')
    const valueSerde = this.ctx.requireSerde(
      (suppressed.valueSerde ?? this.info.valueSerde) as Serde<V> | undefined,
      'value',
      name,
      'Suppressed (valueSerde, for the buffer store) or the upstream Materialized'
    )
    const keyId = (key: K): string => keySerde.serialize(name, key).toString('hex')
    // Named after the processor (not from the name counter) so that adding it shifts no generated name.
    const storeName = `${name}-store`
    let bufferTimeMs: (key: K, timestampMs: number) => number
    let durationMs: number
    switch (suppressed.kind) {
      case 'untilWindowCloses': {
        const graceMs = this.info.windowGraceMs
        if (graceMs === undefined) {
          throw new TopologyError('NOT_WINDOWED', `suppress ${name}: untilWindowCloses needs a windowed table (after windowedBy(...).aggregate)`, {
            nodeName: name
          })
        }
        // A sliding window includes its end: it closes once stream time > end + grace.
        const closeOffsetMs = this.info.windowEndInclusive === true ? 1 : 0
        durationMs = graceMs
        bufferTimeMs = (key) => windowEndBufferTime(key as unknown as Windowed<unknown>) + closeOffsetMs
        break
      }
      case 'untilTimeLimit':
        if (!Number.isSafeInteger(suppressed.timeToWaitMs) || suppressed.timeToWaitMs < 0) {
          throw new TopologyError('BAD_OPTION', `suppress ${name}: timeToWaitMs must be a non-negative integer, got ${suppressed.timeToWaitMs}`, {
            nodeName: name
          })
        }
        durationMs = suppressed.timeToWaitMs
        bufferTimeMs = (_key, ts) => ts
        break
    }
    const supplier = suppressProcessor<K, V>({ keyId, durationMs, bufferTimeMs, storeName })
    this.ctx.topology.addProcessor(name, supplier as ProcessorSupplier<K, unknown, K, unknown>, this.nodeName)
    // Kafka Streams' suppression buffer is in memory and restored from its changelog in full.
    const buffer = Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore(storeName), keySerde, suppressBufferSerde(valueSerde)).withCachingDisabled()
    if (suppressed.loggingEnabled === false) buffer.withLoggingDisabled()
    this.ctx.topology.addStateStore(buffer as unknown as StoreBuilder<StateStore>, name)
    return new KTable<K, V>(this.ctx, name, { ...this.info, storeName: undefined, getter: undefined })
  }

  /** Inner table-table join: a result while both tables have the key. */
  join<VO, VR>(other: KTable<K, VO>, joiner: (value: V, otherValue: VO, key: K) => VR, materialized?: Materialized<K, VR> & Named): KTable<K, VR> {
    return this.tableJoin(other, joiner as (value: V | null, otherValue: VO | null, key: K) => VR, 'inner', materialized)
  }

  /** Left table-table join: a result while this table has the key. */
  leftJoin<VO, VR>(other: KTable<K, VO>, joiner: (value: V, otherValue: VO | null, key: K) => VR, materialized?: Materialized<K, VR> & Named): KTable<K, VR> {
    return this.tableJoin(other, joiner as (value: V | null, otherValue: VO | null, key: K) => VR, 'left', materialized)
  }

  /** Outer table-table join: a result while either table has the key. */
  outerJoin<VO, VR>(
    other: KTable<K, VO>,
    joiner: (value: V | null, otherValue: VO | null, key: K) => VR,
    materialized?: Materialized<K, VR> & Named
  ): KTable<K, VR> {
    return this.tableJoin(other, joiner, 'outer', materialized)
  }

  private tableJoin<VO, VR>(
    other: KTable<K, VO>,
    joiner: (value: V | null, otherValue: VO | null, key: K) => VR,
    kind: TableJoinKind,
    materialized: (Materialized<K, VR> & Named) | undefined
  ): KTable<K, VR> {
    if (other.ctx !== this.ctx)
      throw new TopologyError('FOREIGN_TABLE', `join: table ${other.nodeName} belongs to another StreamsBuilder`, { nodeName: other.nodeName })
    const prefix = kind === 'inner' ? 'KTABLE-JOIN' : kind === 'left' ? 'KTABLE-LEFTJOIN' : 'KTABLE-OUTERJOIN'
    const base = materialized?.name
    const thisName = base ? `${base}-join-this` : this.ctx.newName(`${prefix}THIS-`)
    const otherName = base ? `${base}-join-other` : this.ctx.newName(`${prefix}OTHER-`)
    const mergeName = base ?? this.ctx.newName('KTABLE-MERGE-')
    const thisGetter = this.valueGetter()
    const otherGetter = other.valueGetter()
    const topology = this.ctx.topology
    topology.addProcessor(
      thisName,
      tableTableJoinProcessor<K, V, VO, VR>({ side: 'left', kind, otherGetter: otherGetter as TableValueGetter<K, unknown>, joiner }),
      this.nodeName
    )
    topology.addProcessor(
      otherName,
      tableTableJoinProcessor<K, V, VO, VR>({ side: 'right', kind, otherGetter: thisGetter as TableValueGetter<K, unknown>, joiner }),
      other.nodeName
    )
    topology.connectProcessorAndStateStores(otherGetter.storeName, [thisName])
    topology.connectProcessorAndStateStores(thisGetter.storeName, [otherName])
    const storeName = materialized?.storeName
    topology.addProcessor(
      mergeName,
      storeName === undefined ? passThroughProcessor() : tableTransformProcessor<K, VR, VR>((_k, v) => v, storeName),
      thisName,
      otherName
    )
    let getter: TableValueGetter<K, VR> | undefined
    if (storeName !== undefined) {
      const keySerde = this.ctx.requireSerde(materialized?.keySerde ?? this.info.keySerde, 'key', mergeName, 'Materialized')
      const valueSerde = this.ctx.requireSerde(materialized?.valueSerde, 'value', mergeName, 'Materialized')
      this.ctx.addKeyValueStore(storeName, keySerde, valueSerde, materialized, [mergeName])
      getter = storeValueGetter(storeName)
    }
    topology.addCopartitionGroup(thisName, [...this.info.sourceTopics, ...other.info.sourceTopics])
    return new KTable<K, VR>(this.ctx, mergeName, {
      keySerde: this.info.keySerde,
      valueSerde: materialized?.valueSerde,
      storeName,
      getter,
      sourceTopics: [...new Set([...this.info.sourceTopics, ...other.info.sourceTopics])],
      windowGraceMs: undefined
    })
  }
}
