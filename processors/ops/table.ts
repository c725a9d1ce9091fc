/**
 * KTable operators: records between them carry `Change<V>` (new and old value), so that downstream
 * aggregations can subtract the old value (Kafka Streams' KTableSource, KTableFilter, KTableMapValues,
 * KTableRepartitionMap, KTableAggregate).
 *
 * Output timestamps are those of the record being processed. Kafka Streams' KTableAggregate emits
 * max(record timestamp, timestamp of the previous aggregate) from its timestamped store; Runnel's
 * stores hold plain values, so the two differ only when a group's updates arrive out of order.
 */
import type { KeyValue, KeyValueStore, StateStore } from '../../state/index.ts'
import { DropReason, type ProcessorContext, type ProcessorSupplier } from '../api.ts'
import type { Change } from '../change.ts'
import { TableForwarder } from './table-forwarder.ts'

/**
 * Reads the current value of a table by key, from the store of the nearest materialized ancestor,
 * applying the stateless table operators in between (Kafka Streams' KTableValueGetter).
 */
export interface TableValueGetter<K, V> {
  /** The store to read (the processor using the getter must be connected to it). */
  readonly storeName: string
  /** Computes the table's value for `key` from the store. */
  get(store: StateStore, key: K): V | null
}

/** A getter that reads a key-value store as is. */
export function storeValueGetter<K, V>(storeName: string): TableValueGetter<K, V> {
  return { storeName, get: (store, key) => (store as KeyValueStore<K, V>).get(key) ?? null }
}

/** A getter derived from `parent` by a value transformation (null = filtered out). */
export function derivedValueGetter<K, V, VR>(parent: TableValueGetter<K, V>, map: (key: K, value: V) => VR | null): TableValueGetter<K, VR> {
  return {
    storeName: parent.storeName,
    get: (store, key) => {
      const value = parent.get(store, key)
      return value === null ? null : map(key, value)
    }
  }
}

/** Materializes a topic as a table: puts each record in `storeName` and emits the change. */
export function tableSourceProcessor<K, V>(storeName: string): ProcessorSupplier<K, V | null, K, Change<V>> {
  return () => {
    let context: ProcessorContext<K, Change<V>>
    let store: KeyValueStore<K, V>
    let forwarder: TableForwarder<K, V>
    return {
      init(ctx) {
        context = ctx
        store = ctx.getStateStore(storeName)
        forwarder = new TableForwarder(store, ctx)
      },
      process(record) {
        if (record.key === null || record.key === undefined) {
          context.recordDropped(DropReason.NULL_KEY_OR_VALUE)
          return
        }
        const old = store.get(record.key) ?? null
        const value = record.value ?? null
        store.put(record.key, value)
        if (old === null && value === null) return
        forwarder.maybeForward(record.key, value, old, record.timestampMs, record.headers)
      }
    }
  }
}

/**
 * A stateless table transformation (filter, mapValues). With `storeName` the result is materialized
 * (and emitted through its cache); without, changes are forwarded as computed.
 */
export function tableTransformProcessor<K, V, VR>(map: (key: K, value: V) => VR | null, storeName?: string): ProcessorSupplier<K, Change<V>, K, Change<VR>> {
  return () => {
    let context: ProcessorContext<K, Change<VR>>
    let store: KeyValueStore<K, VR> | undefined
    let forwarder: TableForwarder<K, VR> | undefined
    return {
      init(ctx) {
        context = ctx
        if (storeName !== undefined) {
          const materialized = ctx.getStateStore<KeyValueStore<K, VR>>(storeName)
          store = materialized
          forwarder = new TableForwarder(materialized, ctx)
        }
      },
      process(record) {
        const change = record.value
        const newValue = change.newValue === null ? null : map(record.key, change.newValue)
        const oldValue = change.oldValue === null ? null : map(record.key, change.oldValue)
        if (newValue === null && oldValue === null) return
        if (store && forwarder) {
          const stored = store.get(record.key) ?? null
          store.put(record.key, newValue)
          forwarder.maybeForward(record.key, newValue, stored, record.timestampMs, record.headers)
          return
        }
        context.forward({ key: record.key, value: { newValue, oldValue }, timestampMs: record.timestampMs, headers: record.headers })
      }
    }
  }
}

/** `toStream()`: the new value of each change (a delete becomes a null value, a tombstone). */
export function tableToStreamProcessor<K, V, KR = K>(mapKey?: (key: K, value: V | null) => KR): ProcessorSupplier<K, Change<V>, KR, V | null> {
  return () => {
    let context: ProcessorContext<KR, V | null>
    return {
      init(ctx) {
        context = ctx
      },
      process(record) {
        const value = record.value.newValue
        const key = mapKey ? mapKey(record.key, value) : (record.key as unknown as KR)
        context.forward({ key, value, timestampMs: record.timestampMs, headers: record.headers })
      }
    }
  }
}

/**
 * `KTable.groupBy(selector)`: re-keys each change. The old value goes to its old group as a
 * subtraction (`Change(null, old)`), then the new value to its new group (`Change(new, null)`).
 */
export function tableGroupByProcessor<K, V, KR, VR>(selector: (key: K, value: V) => KeyValue<KR, VR>): ProcessorSupplier<K, Change<V>, KR, Change<VR>> {
  return () => {
    let context: ProcessorContext<KR, Change<VR>>
    return {
      init(ctx) {
        context = ctx
      },
      process(record) {
        const { newValue, oldValue } = record.value
        if (oldValue !== null) {
          const out = selector(record.key, oldValue)
          context.forward({ key: out.key, value: { newValue: null, oldValue: out.value }, timestampMs: record.timestampMs, headers: record.headers })
        }
        if (newValue !== null) {
          const out = selector(record.key, newValue)
          context.forward({ key: out.key, value: { newValue: out.value, oldValue: null }, timestampMs: record.timestampMs, headers: record.headers })
        }
      }
    }
  }
}

/**
 * `KGroupedTable.aggregate(initializer, adder, subtractor)`: the old value is subtracted from its
 * group, the new value added. A group whose aggregate is removed entirely keeps the subtracted value.
 */
export function tableAggregateProcessor<K, V, VA>(options: {
  storeName: string
  initializer: () => VA
  adder: (key: K, value: V, aggregate: VA) => VA
  subtractor: (key: K, value: V, aggregate: VA) => VA
}): ProcessorSupplier<K, Change<V>, K, Change<VA>> {
  return () => {
    let context: ProcessorContext<K, Change<VA>>
    let store: KeyValueStore<K, VA>
    let forwarder: TableForwarder<K, VA>
    return {
      init(ctx) {
        context = ctx
        store = ctx.getStateStore(options.storeName)
        forwarder = new TableForwarder(store, ctx)
      },
      process(record) {
        if (record.key === null || record.key === undefined) {
          context.recordDropped(DropReason.NULL_KEY_OR_VALUE)
          return
        }
        const { newValue, oldValue } = record.value
        const old = store.get(record.key)
        let aggregate = old
        if (oldValue !== null && aggregate !== undefined) aggregate = options.subtractor(record.key, oldValue, aggregate)
        if (newValue !== null) aggregate = options.adder(record.key, newValue, aggregate === undefined ? options.initializer() : aggregate)
        if (aggregate === undefined) return
        store.put(record.key, aggregate)
        forwarder.maybeForward(record.key, aggregate, old ?? null, record.timestampMs, record.headers)
      }
    }
  }
}

/** `KGroupedTable.reduce(adder, subtractor)`: like aggregate, the first value being the aggregate. */
export function tableReduceProcessor<K, V>(options: {
  storeName: string
  adder: (aggregate: V, value: V) => V
  subtractor: (aggregate: V, value: V) => V
}): ProcessorSupplier<K, Change<V>, K, Change<V>> {
  return () => {
    let context: ProcessorContext<K, Change<V>>
    let store: KeyValueStore<K, V>
    let forwarder: TableForwarder<K, V>
    return {
      init(ctx) {
        context = ctx
        store = ctx.getStateStore(options.storeName)
        forwarder = new TableForwarder(store, ctx)
      },
      process(record) {
        if (record.key === null || record.key === undefined) {
          context.recordDropped(DropReason.NULL_KEY_OR_VALUE)
          return
        }
        const { newValue, oldValue } = record.value
        const old = store.get(record.key)
        let aggregate = old
        if (oldValue !== null && aggregate !== undefined) aggregate = options.subtractor(aggregate, oldValue)
        if (newValue !== null) aggregate = aggregate === undefined ? newValue : options.adder(aggregate, newValue)
        if (aggregate === undefined) return
        store.put(record.key, aggregate)
        forwarder.maybeForward(record.key, aggregate, old ?? null, record.timestampMs, record.headers)
      }
    }
  }
}
