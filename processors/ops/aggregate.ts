/**
 * Grouped-stream aggregations over key-value stores (Kafka Streams' KStreamAggregate/KStreamReduce).
 * Records with a null key or value are skipped and counted, as Kafka Streams does.
 *
 * Output timestamps differ from Kafka Streams for out-of-order input: an update carries the timestamp
 * of the record that caused it, while Kafka Streams (timestamped stores, KIP-258) carries
 * max(record timestamp, timestamp of the previous aggregate). Runnel's aggregate stores hold plain
 * values (their changelog bytes and query results are shared contracts), so that max is not kept;
 * for in-order input the two are equal. Sliding windows, whose algorithm needs it, use a timestamped store.
 */
import type { KeyValueStore } from '../../state/index.ts'
import { DropReason, type ProcessorContext, type ProcessorSupplier } from '../api.ts'
import type { Change } from '../change.ts'
import { TableForwarder } from './table-forwarder.ts'

/** `aggregate(initializer, aggregator)` into store `storeName`; emits `Change<VA>`. */
export function streamAggregateProcessor<K, V, VA>(options: {
  storeName: string
  initializer: () => VA
  aggregator: (key: K, value: V, aggregate: VA) => VA
}): ProcessorSupplier<K, V, K, Change<VA>> {
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
        if (record.key === null || record.key === undefined || record.value === null || record.value === undefined) {
          context.recordDropped(DropReason.NULL_KEY_OR_VALUE)
          return
        }
        const old = store.get(record.key)
        const aggregate = options.aggregator(record.key, record.value, old === undefined ? options.initializer() : old)
        store.put(record.key, aggregate)
        forwarder.maybeForward(record.key, aggregate, old ?? null, record.timestampMs, record.headers)
      }
    }
  }
}

/** `reduce(reducer)`: the first value is the aggregate, later ones are combined into it. */
export function streamReduceProcessor<K, V>(options: {
  storeName: string
  reducer: (aggregate: V, value: V, key: K) => V
}): ProcessorSupplier<K, V, K, Change<V>> {
  return streamAggregateProcessor<K, V, V | undefined>({
    storeName: options.storeName,
    initializer: () => undefined,
    aggregator: (key, value, aggregate) => (aggregate === undefined ? value : options.reducer(aggregate, value, key))
  }) as unknown as ProcessorSupplier<K, V, K, Change<V>>
}
