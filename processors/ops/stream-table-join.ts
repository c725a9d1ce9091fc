/**
 * Stream-table joins (Kafka Streams' KStreamKTableJoin and the global-table join): each stream record
 * looks up the table's current value; the table side never triggers output. Records with a null key
 * or value are dropped and counted.
 */
import type { StateStore } from '../../state/index.ts'
import { DropReason, type ProcessorContext, type ProcessorSupplier } from '../api.ts'
import type { TableValueGetter } from './table.ts'

export function streamTableJoinProcessor<K, V, KT, VT, VR>(options: {
  getter: TableValueGetter<KT, VT>
  /** The table key to look up (the stream key for KTable joins; a mapper for global tables). */
  lookupKey: (key: K, value: V) => KT | null
  joiner: (value: V, tableValue: VT | null, key: K) => VR
  /** `left`: records without a table value join with `null`; `inner`: they are dropped. */
  kind: 'inner' | 'left'
}): ProcessorSupplier<K, V, K, VR> {
  return () => {
    let context: ProcessorContext<K, VR>
    let store: StateStore
    return {
      init(ctx) {
        context = ctx
        store = ctx.getStateStore(options.getter.storeName)
      },
      process(record) {
        if (record.key === null || record.key === undefined || record.value === null || record.value === undefined) {
          context.recordDropped(DropReason.NULL_KEY_OR_VALUE)
          return
        }
        const lookup = options.lookupKey(record.key, record.value)
        const tableValue = lookup === null || lookup === undefined ? null : options.getter.get(store, lookup)
        if (tableValue === null && options.kind === 'inner') return
        context.forward({
          key: record.key,
          value: options.joiner(record.value, tableValue, record.key),
          timestampMs: record.timestampMs,
          headers: record.headers
        })
      }
    }
  }
}
