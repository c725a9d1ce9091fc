/**
 * `KStream<K, V>`: a record stream of the DSL. Each operation adds a processor to the topology and
 * returns a new typed stream. Key-changing operations mark the stream so that a later grouping or
 * join inserts a repartition topic.
 */
import type { Serde } from '../schemas/index.ts'
import type { KeyValue } from '../state/index.ts'
import {
  filterProcessor,
  flatMapProcessor,
  flatMapValuesProcessor,
  mapProcessor,
  mapValuesProcessor,
  passThroughProcessor,
  peekProcessor,
  streamTableJoinProcessor,
  type JoinWindows,
  type ProcessorSupplier,
  type StreamPartitioner
} from '../processors/index.ts'
import { BranchedKStream } from './branched.ts'
import type { DslContext } from './dsl-context.ts'
import { TopologyError } from './errors.ts'
import type { GlobalKTable } from './global-table.ts'
import { KGroupedStream } from './grouped-stream.ts'
import type { KTable } from './ktable.ts'
import type { Grouped, Joined, Named, Produced, Repartitioned, StreamJoined, TopicTarget } from './options.ts'
import { streamStreamJoin } from './stream-joins.ts'

/** @internal What a DSL stream carries besides its node: known serdes and partitioning facts. */
export interface StreamInfo<K, V> {
  readonly keySerde: Serde<K> | undefined
  readonly valueSerde: Serde<V> | undefined
  /** True after a key-changing operation: grouping or joining must repartition first. */
  readonly repartitionRequired: boolean
  /** The topics its records come from within the sub-topology (for co-partitioning checks). */
  readonly sourceTopics: readonly string[]
}

export class KStream<K, V> {
  /** @internal */
  readonly ctx: DslContext
  /** The name of the processor this stream comes out of. */
  readonly nodeName: string
  /** @internal */
  readonly info: StreamInfo<K, V>

  /** @internal Use `StreamsBuilder.stream`. */
  constructor(ctx: DslContext, nodeName: string, info: StreamInfo<K, V>) {
    this.ctx = ctx
    this.nodeName = nodeName
    this.info = info
  }

  /** @internal Adds a processor child and returns the stream out of it. */
  child<KR, VR>(prefix: string, named: Named | undefined, supplier: ProcessorSupplier<K, V, KR, VR>, info: Partial<StreamInfo<KR, VR>>): KStream<KR, VR> {
    const name = this.ctx.nameOr(named?.name, prefix)
    this.ctx.topology.addProcessor(name, supplier, this.nodeName)
    return new KStream<KR, VR>(this.ctx, name, {
      keySerde: 'keySerde' in info ? info.keySerde : (this.info.keySerde as unknown as Serde<KR> | undefined),
      valueSerde: 'valueSerde' in info ? info.valueSerde : (this.info.valueSerde as unknown as Serde<VR> | undefined),
      repartitionRequired: info.repartitionRequired ?? this.info.repartitionRequired,
      sourceTopics: info.sourceTopics ?? this.info.sourceTopics
    })
  }

  /** Keeps records for which `predicate` holds. */
  filter(predicate: (key: K, value: V) => boolean, named?: Named): KStream<K, V> {
    return this.child('KSTREAM-FILTER-', named, filterProcessor(predicate), {})
  }

  /** Drops records for which `predicate` holds. */
  filterNot(predicate: (key: K, value: V) => boolean, named?: Named): KStream<K, V> {
    return this.child('KSTREAM-FILTER-', named, filterProcessor(predicate, true), {})
  }

  /** New key and value per record (marks the stream for repartitioning). */
  map<KR, VR>(mapper: (key: K, value: V) => KeyValue<KR, VR>, named?: Named): KStream<KR, VR> {
    return this.child('KSTREAM-MAP-', named, mapProcessor(mapper), { keySerde: undefined, valueSerde: undefined, repartitionRequired: true })
  }

  /** New value per record; the key (and partitioning) is kept. */
  mapValues<VR>(mapper: (value: V, key: K) => VR, named?: Named): KStream<K, VR> {
    return this.child('KSTREAM-MAPVALUES-', named, mapValuesProcessor(mapper), { valueSerde: undefined })
  }

  /** Zero or more records per record (marks the stream for repartitioning). */
  flatMap<KR, VR>(mapper: (key: K, value: V) => Iterable<KeyValue<KR, VR>>, named?: Named): KStream<KR, VR> {
    return this.child('KSTREAM-FLATMAP-', named, flatMapProcessor(mapper), { keySerde: undefined, valueSerde: undefined, repartitionRequired: true })
  }

  /** Zero or more values per record, same key. */
  flatMapValues<VR>(mapper: (value: V, key: K) => Iterable<VR>, named?: Named): KStream<K, VR> {
    return this.child('KSTREAM-FLATMAPVALUES-', named, flatMapValuesProcessor(mapper), { valueSerde: undefined })
  }

  /** A new key per record (marks the stream for repartitioning). */
  selectKey<KR>(mapper: (key: K, value: V) => KR, named?: Named): KStream<KR, V> {
    return this.child(
      'KSTREAM-KEY-SELECT-',
      named,
      mapProcessor((key: K, value: V) => ({ key: mapper(key, value), value })),
      { keySerde: undefined, repartitionRequired: true }
    )
  }

  /**
   * This stream, declared already partitioned for its current key: grouping or joining it adds no
   * repartition topic even after `selectKey`, `map` or `flatMap` (Kafka's KIP-759 `markAsPartitioned`,
   * Flink's `reinterpretAsKeyedStream`). The caller promises that all records of one key are in
   * one partition: typically the new key refines the key the input topic is partitioned by (input
   * keyed by `sensor`, new key `sensor|type`). Broken, the promise splits one key's aggregate across
   * tasks: the outputs are wrong, silently.
   */
  markAsPartitioned(): KStream<K, V> {
    return new KStream<K, V>(this.ctx, this.nodeName, { ...this.info, repartitionRequired: false })
  }

  /** Calls `action` for each record and passes it on. */
  peek(action: (key: K, value: V) => void, named?: Named): KStream<K, V> {
    return this.child('KSTREAM-PEEK-', named, peekProcessor(action), {})
  }

  /** Calls `action` for each record (terminal). */
  foreach(action: (key: K, value: V) => void, named?: Named): void {
    this.child('KSTREAM-FOREACH-', named, peekProcessor(action), {})
  }

  /** Splits the stream into branches by predicates (each record goes to the first match). */
  split(named?: Named): BranchedKStream<K, V> {
    return new BranchedKStream(this, named?.name)
  }

  /** Merges `other` into this stream. */
  merge(other: KStream<K, V>, named?: Named): KStream<K, V> {
    if (other.ctx !== this.ctx)
      throw new TopologyError('FOREIGN_STREAM', `merge: stream ${other.nodeName} belongs to another StreamsBuilder`, { nodeName: other.nodeName })
    const name = this.ctx.nameOr(named?.name, 'KSTREAM-MERGE-')
    this.ctx.topology.addProcessor(name, passThroughProcessor(), this.nodeName, other.nodeName)
    return new KStream<K, V>(this.ctx, name, {
      keySerde: this.info.keySerde ?? other.info.keySerde,
      valueSerde: this.info.valueSerde ?? other.info.valueSerde,
      repartitionRequired: this.info.repartitionRequired || other.info.repartitionRequired,
      sourceTopics: [...new Set([...this.info.sourceTopics, ...other.info.sourceTopics])]
    })
  }

  /** Writes the stream through a repartition topic (`<app id>-<name>-repartition`). */
  repartition(options: Repartitioned<K, V> = {}): KStream<K, V> {
    const generated = options.name === undefined
    const baseName = options.name ?? this.ctx.newName('KSTREAM-REPARTITION-')
    const keySerde = this.ctx.requireSerde(options.keySerde ?? this.info.keySerde, 'key', baseName, 'Repartitioned')
    const valueSerde = this.ctx.requireSerde(options.valueSerde ?? this.info.valueSerde, 'value', baseName, 'Repartitioned')
    const { sourceName, topic } = this.ctx.addRepartition({
      parentName: this.nodeName,
      baseName,
      generatedNames: generated,
      keySerde: keySerde as Serde<unknown>,
      valueSerde: valueSerde as Serde<unknown>,
      partitions: options.partitions,
      partitioner: options.partitioner as StreamPartitioner | undefined
    })
    return new KStream<K, V>(this.ctx, sourceName, { keySerde, valueSerde, repartitionRequired: false, sourceTopics: [topic] })
  }

  /** Writes the stream to a topic (or per record to the topic `target` returns). */
  to(target: TopicTarget<K, V>, produced: Produced<K, V> = {}): void {
    const name = this.ctx.nameOr(produced.name, 'KSTREAM-SINK-')
    const keySerde = this.ctx.requireSerde(produced.keySerde ?? this.info.keySerde, 'key', name, 'Produced')
    const valueSerde = this.ctx.requireSerde(produced.valueSerde ?? this.info.valueSerde, 'value', name, 'Produced')
    this.ctx.topology.addSink(
      name,
      {
        topic: target,
        keySerde,
        valueSerde,
        ...(produced.partitioner ? { partitioner: produced.partitioner } : {})
      },
      this.nodeName
    )
  }

  /**
   * Runs a custom processor (Processor API) on the stream, connected to `stores` (added with
   * `StreamsBuilder.addStateStore`). Its output keys may differ: the result is marked for repartitioning.
   */
  process<KR, VR>(
    supplier: ProcessorSupplier<K, V, KR, VR>,
    options: Named & { stores?: readonly string[]; keySerde?: Serde<KR>; valueSerde?: Serde<VR> } = {}
  ): KStream<KR, VR> {
    const out = this.child('KSTREAM-PROCESSOR-', options, supplier, {
      keySerde: options.keySerde,
      valueSerde: options.valueSerde,
      repartitionRequired: true
    })
    for (const store of options.stores ?? []) this.ctx.topology.connectProcessorAndStateStores(store, [out.nodeName])
    return out
  }

  /** Groups by the current key (repartitions first if the key was changed). */
  groupByKey(grouped: Grouped<K, V> = {}): KGroupedStream<K, V> {
    return new KGroupedStream<K, V>(this as unknown as KStream<unknown, V>, {
      keySerde: grouped.keySerde ?? this.info.keySerde,
      valueSerde: grouped.valueSerde ?? this.info.valueSerde,
      name: grouped.name,
      repartitionRequired: this.info.repartitionRequired
    })
  }

  /** Groups by a new key: selects it, then repartitions before aggregating. */
  groupBy<KR>(selector: (key: K, value: V) => KR, grouped: Grouped<KR, V> = {}): KGroupedStream<KR, V> {
    const selected = this.selectKey(selector)
    return new KGroupedStream<KR, V>(selected as unknown as KStream<unknown, V>, {
      keySerde: grouped.keySerde,
      valueSerde: grouped.valueSerde ?? this.info.valueSerde,
      name: grouped.name,
      repartitionRequired: true
    })
  }

  /** @internal This stream, repartitioned if its key changed (for joins). */
  forJoin(name: string | undefined, keySerde: Serde<K> | undefined, valueSerde: Serde<V> | undefined): KStream<K, V> {
    if (!this.info.repartitionRequired) return this
    const opts: Repartitioned<K, V> = {
      ...(name !== undefined ? { name: `${name}-left` } : {}),
      ...(keySerde ? { keySerde } : {}),
      ...(valueSerde ? { valueSerde } : {})
    }
    return this.repartition(opts)
  }

  /** Inner join with a table: each stream record with a table value for its key emits `joiner(value, tableValue)`. */
  join<VT, VR>(table: KTable<K, VT>, joiner: (value: V, tableValue: VT, key: K) => VR, joined?: Joined<K, V, VT>): KStream<K, VR>
  /** Inner windowed join with another stream: records whose timestamps are within `windows` of each other join. */
  join<VO, VR>(
    other: KStream<K, VO>,
    joiner: (value: V, otherValue: VO, key: K) => VR,
    windows: JoinWindows,
    streamJoined?: StreamJoined<K, V, VO>
  ): KStream<K, VR>
  join<VO, VR>(
    other: KTable<K, VO> | KStream<K, VO>,
    joiner: (value: V, otherValue: VO, key: K) => VR,
    third?: Joined<K, V, VO> | JoinWindows,
    streamJoined?: StreamJoined<K, V, VO>
  ): KStream<K, VR> {
    if (other instanceof KStream) return streamStreamJoin(this, other, joiner as never, requireWindows(third, this.nodeName), streamJoined ?? {}, 'inner')
    return this.tableJoin(other, joiner as (value: V, tableValue: VO | null, key: K) => VR, (third ?? {}) as Joined<K, V, VO>, 'inner')
  }

  /** Left join with a table: records without a table value join with `null`. */
  leftJoin<VT, VR>(table: KTable<K, VT>, joiner: (value: V, tableValue: VT | null, key: K) => VR, joined?: Joined<K, V, VT>): KStream<K, VR>
  /** Left windowed join with a stream: records that found no partner by the window's close join with `null`. */
  leftJoin<VO, VR>(
    other: KStream<K, VO>,
    joiner: (value: V, otherValue: VO | null, key: K) => VR,
    windows: JoinWindows,
    streamJoined?: StreamJoined<K, V, VO>
  ): KStream<K, VR>
  leftJoin<VO, VR>(
    other: KTable<K, VO> | KStream<K, VO>,
    joiner: (value: V, otherValue: VO | null, key: K) => VR,
    third?: Joined<K, V, VO> | JoinWindows,
    streamJoined?: StreamJoined<K, V, VO>
  ): KStream<K, VR> {
    if (other instanceof KStream) return streamStreamJoin(this, other, joiner as never, requireWindows(third, this.nodeName), streamJoined ?? {}, 'left')
    return this.tableJoin(other, joiner, (third ?? {}) as Joined<K, V, VO>, 'left')
  }

  /** Outer windowed join: unmatched records of either side join with `null` once their window closed. */
  outerJoin<VO, VR>(
    other: KStream<K, VO>,
    joiner: (value: V | null, otherValue: VO | null, key: K) => VR,
    windows: JoinWindows,
    streamJoined: StreamJoined<K, V, VO> = {}
  ): KStream<K, VR> {
    return streamStreamJoin(this, other, joiner as never, windows, streamJoined, 'outer')
  }

  /** Joins each record with a global table entry: `keySelector` picks the table key. */
  joinGlobal<KG, VG, VR>(
    table: GlobalKTable<KG, VG>,
    keySelector: (key: K, value: V) => KG,
    joiner: (value: V, tableValue: VG, key: K) => VR,
    named?: Named
  ): KStream<K, VR> {
    return this.globalJoin(table, keySelector, joiner as (value: V, tableValue: VG | null, key: K) => VR, named, 'inner')
  }

  /** Left join with a global table: records without an entry join with `null`. */
  leftJoinGlobal<KG, VG, VR>(
    table: GlobalKTable<KG, VG>,
    keySelector: (key: K, value: V) => KG,
    joiner: (value: V, tableValue: VG | null, key: K) => VR,
    named?: Named
  ): KStream<K, VR> {
    return this.globalJoin(table, keySelector, joiner, named, 'left')
  }

  private globalJoin<KG, VG, VR>(
    table: GlobalKTable<KG, VG>,
    keySelector: (key: K, value: V) => KG,
    joiner: (value: V, tableValue: VG | null, key: K) => VR,
    named: Named | undefined,
    kind: 'inner' | 'left'
  ): KStream<K, VR> {
    const out = this.child(
      kind === 'inner' ? 'KSTREAM-JOIN-' : 'KSTREAM-LEFTJOIN-',
      named,
      streamTableJoinProcessor<K, V, KG, VG, VR>({
        getter: table.getter,
        lookupKey: keySelector,
        joiner,
        kind
      }),
      { valueSerde: undefined }
    )
    this.ctx.topology.connectProcessorAndStateStores(table.storeName, [out.nodeName])
    return out
  }

  private tableJoin<VT, VR>(
    table: KTable<K, VT>,
    joiner: (value: V, tableValue: VT | null, key: K) => VR,
    joined: Joined<K, V, VT>,
    kind: 'inner' | 'left'
  ): KStream<K, VR> {
    if (table.ctx !== this.ctx)
      throw new TopologyError('FOREIGN_TABLE', `join: table ${table.nodeName} belongs to another StreamsBuilder`, { nodeName: table.nodeName })
    const getter = table.valueGetter()
    const left = this.forJoin(joined.name, joined.keySerde ?? table.info.keySerde, joined.valueSerde)
    const out = left.child(
      kind === 'inner' ? 'KSTREAM-JOIN-' : 'KSTREAM-LEFTJOIN-',
      joined,
      streamTableJoinProcessor<K, V, K, VT, VR>({
        getter,
        lookupKey: (key) => key,
        joiner,
        kind
      }),
      { valueSerde: undefined }
    )
    this.ctx.topology.connectProcessorAndStateStores(getter.storeName, [out.nodeName])
    this.ctx.topology.addCopartitionGroup(out.nodeName, [...left.info.sourceTopics, ...table.info.sourceTopics])
    return out
  }
}

function requireWindows(value: unknown, nodeName: string): JoinWindows {
  if (!value || typeof (value as JoinWindows).beforeMs !== 'number') {
    throw new TopologyError('NO_JOIN_WINDOWS', `a stream-stream join after ${nodeName} needs JoinWindows as third argument`, { nodeName })
  }
  return value as JoinWindows
}
