/**
 * Session-windowed aggregation over a session store (Kafka Streams' KStreamSessionWindowAggregate).
 * A record at t joins every session of its key with end >= t - gap and start <= t + gap (the gap is
 * inclusive); they merge into one session. Merged-away sessions are removed and their windowed keys
 * receive tombstones (`Change(null, old)`). A session is closed when its end < stream time - grace.
 *
 * Output timestamps follow Kafka Streams (KStreamSessionWindowAggregate.maybeForwardUpdate): without a
 * cache, each update and tombstone carries its session's end; with a cache, the flush reports the
 * timestamp of the record that last wrote the session, as Kafka Streams' caching session store does.
 */
import type { KeyValue, SessionStore, TimeWindow, Windowed } from '../../state/index.ts'
import { DropReason, type ProcessorContext, type ProcessorSupplier } from '../api.ts'
import type { Change } from '../change.ts'
import type { SessionWindows } from '../windows.ts'
import { TableForwarder } from './table-forwarder.ts'

export function sessionAggregateProcessor<K, V, VA>(options: {
  storeName: string
  windows: SessionWindows
  initializer: () => VA
  aggregator: (key: K, value: V, aggregate: VA) => VA
  merger: (key: K, left: VA, right: VA) => VA
}): ProcessorSupplier<K, V, Windowed<K>, Change<VA>> {
  const { windows } = options
  return () => {
    let context: ProcessorContext<Windowed<K>, Change<VA>>
    let store: SessionStore<K, VA>
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
        const ts = record.timestampMs
        const closeTimeMs = context.currentStreamTimeMs() - windows.graceMs
        const merged: Array<KeyValue<Windowed<K>, VA>> = []
        let window: TimeWindow = { startMs: ts, endMs: ts }
        let aggregate = options.initializer()
        const iterator = store.findSessions(record.key, ts - windows.gapMs, ts + windows.gapMs)
        try {
          for (const entry of iterator) {
            merged.push(entry)
            aggregate = options.merger(record.key, aggregate, entry.value)
            window = {
              startMs: Math.min(window.startMs, entry.key.window.startMs),
              endMs: Math.max(window.endMs, entry.key.window.endMs)
            }
          }
        } finally {
          iterator.close()
        }
        if (window.endMs < closeTimeMs) {
          context.recordDropped(DropReason.LATE)
          return
        }
        if (window.startMs !== ts || window.endMs !== ts) {
          for (const session of merged) {
            store.remove(session.key)
            forwarder.maybeForward(session.key, null, session.value, session.key.window.endMs, record.headers)
          }
        }
        aggregate = options.aggregator(record.key, record.value, aggregate)
        const sessionKey: Windowed<K> = { key: record.key, window }
        store.put(sessionKey, aggregate)
        forwarder.maybeForward(sessionKey, aggregate, null, window.endMs, record.headers)
      }
    }
  }
}
