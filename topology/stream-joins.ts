/**
 * DSL wiring of windowed stream-stream joins: both sides repartitioned if re-keyed, one window store
 * per side (duplicates retained), for left and outer joins a shared key-value store of the records
 * waiting for a partner (`<store name or this-node name>-outer-shared-join-store`), a join processor
 * per side connected to all of them, and a merge node that is the joined stream.
 */
import { bytesSerde, type Serde } from '../schemas/index.ts'
import { Stores, type StateStore, type StoreBuilder } from '../state/index.ts'
import { outerJoinRecordsSerde, passThroughProcessor, streamStreamJoinProcessors, type JoinWindows, type StreamJoinKind } from '../processors/index.ts'
import { TopologyError } from './errors.ts'
import { KStream } from './kstream.ts'
import type { Materialized, StreamJoined } from './options.ts'

export function streamStreamJoin<K, V, VO, VR>(
  left: KStream<K, V>,
  right: KStream<K, VO>,
  joiner: (value: V | null, otherValue: VO | null, key: K) => VR,
  windows: JoinWindows,
  options: StreamJoined<K, V, VO>,
  kind: StreamJoinKind
): KStream<K, VR> {
  const ctx = left.ctx
  if (right.ctx !== ctx)
    throw new TopologyError('FOREIGN_STREAM', `join: stream ${right.nodeName} belongs to another StreamsBuilder`, { nodeName: right.nodeName })
  const base = options.name
  const prefix = kind === 'inner' ? 'KSTREAM-JOIN' : kind === 'left' ? 'KSTREAM-LEFTJOIN' : 'KSTREAM-OUTERJOIN'
  const hintNode = base ?? `${prefix} after ${left.nodeName}`
  const keySerde: Serde<K> = ctx.requireSerde(options.keySerde ?? left.info.keySerde ?? right.info.keySerde, 'key', hintNode, 'StreamJoined')
  const valueSerde: Serde<V> = ctx.requireSerde(options.valueSerde ?? left.info.valueSerde, 'value', hintNode, 'StreamJoined (valueSerde)')
  const otherValueSerde: Serde<VO> = ctx.requireSerde(options.otherValueSerde ?? right.info.valueSerde, 'value', hintNode, 'StreamJoined (otherValueSerde)')

  const leftIn = left.info.repartitionRequired ? left.repartition({ keySerde, valueSerde, ...(base ? { name: `${base}-left` } : {}) }) : left
  const rightIn = right.info.repartitionRequired
    ? right.repartition({ keySerde, valueSerde: otherValueSerde, ...(base ? { name: `${base}-right` } : {}) })
    : right

  const thisName = base ? `${base}-join-this` : ctx.newName(`${prefix}THIS-`)
  const otherName = base ? `${base}-join-other` : ctx.newName(`${prefix}OTHER-`)
  const mergeName = base ?? ctx.newName('KSTREAM-MERGE-')
  const leftStore = options.storeName ? `${options.storeName}-this-join-store` : `${thisName}-store`
  const rightStore = options.storeName ? `${options.storeName}-other-join-store` : `${otherName}-store`

  // KIP-633: left and outer joins keep records waiting for a partner in a third, shared store.
  const outerStore = kind === 'inner' ? undefined : options.storeName ? `${options.storeName}-outer-shared-join-store` : `${thisName}-outer-shared-join-store`
  const suppliers = streamStreamJoinProcessors<K, V, VO, VR>({
    kind,
    windows,
    leftStoreName: leftStore,
    rightStoreName: rightStore,
    keySerde,
    joiner,
    ...(outerStore !== undefined ? { outerStoreName: outerStore } : {})
  })
  const topology = ctx.topology
  topology.addProcessor(thisName, suppliers.left, leftIn.nodeName)
  topology.addProcessor(otherName, suppliers.right, rightIn.nodeName)
  topology.addProcessor(mergeName, passThroughProcessor(), thisName, otherName)

  const windowSizeMs = Math.max(1, windows.sizeMs)
  const retentionMs = Math.max(windowSizeMs, windows.sizeMs + windows.graceMs)
  const storeOptions = { windowSizeMs, minimumRetentionMs: retentionMs, retainDuplicates: true, caching: false }
  const materialized = {
    retentionMs,
    cachingEnabled: false,
    ...(options.storeType ? { storeType: options.storeType } : {}),
    ...(options.loggingEnabled !== undefined ? { loggingEnabled: options.loggingEnabled } : {})
  }
  ctx.addWindowStore(leftStore, keySerde, valueSerde, materialized as Materialized<K, V>, storeOptions, [thisName, otherName])
  ctx.addWindowStore(rightStore, keySerde, otherValueSerde, materialized as Materialized<K, VO>, storeOptions, [thisName, otherName])
  if (outerStore !== undefined) {
    const supplier = options.storeType === 'in-memory' ? Stores.inMemoryKeyValueStore(outerStore) : Stores.persistentKeyValueStore(outerStore)
    const builder = Stores.keyValueStoreBuilder(
      supplier,
      bytesSerde,
      outerJoinRecordsSerde(valueSerde as Serde<unknown>, otherValueSerde as Serde<unknown>)
    ).withCachingDisabled()
    if (options.loggingEnabled === false) builder.withLoggingDisabled()
    topology.addStateStore(builder as unknown as StoreBuilder<StateStore>, thisName, otherName)
  }
  topology.addCopartitionGroup(thisName, [...leftIn.info.sourceTopics, ...rightIn.info.sourceTopics])

  return new KStream<K, VR>(ctx, mergeName, {
    keySerde,
    valueSerde: undefined,
    repartitionRequired: false,
    sourceTopics: [...new Set([...leftIn.info.sourceTopics, ...rightIn.info.sourceTopics])]
  })
}
