/**
 * Time-windowed aggregation (tumbling and hopping) over a window store (Kafka Streams'
 * KStreamWindowAggregate). A record updates every window containing it that is still open; a window
 * is closed when stream time >= window end + grace, and a record for a closed window is dropped from
 * that window and counted as late (once per closed window, as Kafka Streams records it).
 *
 * Output timestamps differ from Kafka Streams for out-of-order input: an update carries the timestamp
 * of the record that caused it, while Kafka Streams (timestamped stores, KIP-258) carries
 * max(record timestamp, timestamp of the previous aggregate). Runnel's aggregate stores hold plain
 * values (their changelog bytes and query results are shared contracts), so that max is not kept;
 * for in-order input the two are equal. Sliding windows, whose algorithm needs it, use a timestamped store.
 */
import type { TimeWindow, Windowed, WindowStore } from '../../state/index.ts'
import { DropReason, type ProcessorContext, type ProcessorSupplier } from '../api.ts'
import type { Change } from '../change.ts'
import type { TimeWindows } from '../windows.ts'
import { TableForwarder } from './table-forwarder.ts'

export function windowAggregateProcessor<K, V, VA>(options: {
  storeName: string
  windows: TimeWindows
  initializer: () => VA
  /** Sees the window it updates (as Flink's ProcessWindowFunction context): a window-relative aggregate needs it. */
  aggregator: (key: K, value: V, aggregate: VA, window: TimeWindow) => VA
}): ProcessorSupplier<K, V, Windowed<K>, Change<VA>> {
  const { windows } = options
  return () => {
    let context: ProcessorContext<Windowed<K>, Change<VA>>
    let store: WindowStore<K, VA>
    let forwarder: TableForwarder<Windowed<K>, VA>
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
        const closeTimeMs = context.currentStreamTimeMs() - windows.graceMs
        for (const startMs of windows.windowStartsFor(record.timestampMs)) {
          const endMs = startMs + windows.sizeMs
          if (endMs <= closeTimeMs) {
            context.recordDropped(DropReason.LATE)
            continue
          }
          const window: TimeWindow = { startMs, endMs }
          const old = store.fetchWindow(record.key, startMs)
          const aggregate = options.aggregator(record.key, record.value, old === undefined ? options.initializer() : old, window)
          store.put(record.key, aggregate, startMs)
          forwarder.maybeForward({ key: record.key, window }, aggregate, old ?? null, record.timestampMs, record.headers)
        }
      }
    }
  }
}
