/**
 * Sliding-window aggregation (Kafka Streams' KStreamSlidingWindowAggregate, KIP-450) over a
 * timestamped window store. Windows are `[start, start + d]` (d = time difference, both ends
 * inclusive) and exist only where records are: a record at t has its left window `[t - d, t]`, and the
 * right window `[t + 1, t + 1 + d]` exists once some record falls in `(t, t + 1 + d]`. A record:
 *  - updates every existing window that contains it;
 *  - creates its left window, seeded with the aggregate of the records in `[t - d, t)` when there are
 *    any (taken from the window that ends just before t);
 *  - creates the right window of the previous record of the key when the record is the first to
 *    fall into it;
 *  - creates its own right window when records already exist in `(t, t + 1 + d]` (out-of-order input),
 *    seeded with their aggregate.
 * Each window's max record timestamp, kept in the store, is what tells where the previous record is
 * and whether a right window has content. Records before d go into the window `[0, d]` (no window
 * starts before the epoch). A window is closed when its end < stream time - grace; a record is dropped
 * as late (counted once) when even its right window would be closed (t + 1 + d <= stream time -
 * grace, as Kafka Streams checks it), and counted once per closed window it could not update.
 *
 * Output timestamps are the window's max record timestamp, as in Kafka Streams. One deliberate
 * difference: a newly created window is forwarded with `oldValue: null` (Kafka Streams forwards the
 * aggregate it was seeded from as the old value).
 */
import type { Windowed } from '../../state/index.ts'
import { DropReason, type ProcessorContext, type ProcessorSupplier, type RecordHeaders } from '../api.ts'
import type { Change } from '../change.ts'
import { ProcessingError } from '../errors.ts'
import type { TimestampedWindowStore, ValueAndTimestamp } from '../timestamped-window-store.ts'
import type { SlidingWindows } from '../windows.ts'
import { TableForwarder } from './table-forwarder.ts'

/** `aggregate(initializer, aggregator)` over sliding windows into the timestamped store `storeName`. */
export function slidingWindowAggregateProcessor<K, V, VA>(options: {
  storeName: string
  windows: SlidingWindows
  initializer: () => VA
  aggregator: (key: K, value: V, aggregate: VA) => VA
}): ProcessorSupplier<K, V, Windowed<K>, Change<VA>> {
  const differenceMs = options.windows.timeDifferenceMs
  const graceMs = options.windows.graceMs
  return () => {
    let context: ProcessorContext<Windowed<K>, Change<VA>>
    let store: TimestampedWindowStore<K, VA>
    let forwarder: TableForwarder<Windowed<K>, VA>

    /** The record being processed and the close time of its task. */
    let key: K
    let value: V
    let ts: number
    let headers: RecordHeaders
    let closeTimeMs: number

    /**
     * Adds the record to the window starting at `startMs`, whose current content is `current`
     * (undefined: start from the initializer). `created`: the window did not exist before.
     */
    const update = (startMs: number, current: ValueAndTimestamp<VA> | undefined, created: boolean): void => {
      const endMs = startMs + differenceMs
      if (endMs < closeTimeMs) {
        context.recordDropped(DropReason.LATE)
        return
      }
      const aggregate = options.aggregator(key, value, current === undefined ? options.initializer() : current.value)
      const timestampMs = current === undefined ? ts : Math.max(ts, current.timestampMs)
      store.putTimestamped(key, { value: aggregate, timestampMs }, startMs)
      forwarder.maybeForward({ key, window: { startMs, endMs } }, aggregate, created || current === undefined ? null : current.value, timestampMs, headers)
    }

    /** Creates the record's right window `[t + 1, t + 1 + d]` holding `aggregate` (records after t only). */
    const createOwnRightWindow = (aggregate: ValueAndTimestamp<VA>): void => {
      const startMs = ts + 1
      store.putTimestamped(key, aggregate, startMs)
      forwarder.maybeForward({ key, window: { startMs, endMs: startMs + differenceMs } }, aggregate.value, null, aggregate.timestampMs, headers)
    }

    /** The windows of the key starting in `[fromMs, toMs]`, read before any is written. */
    const windowsOf = (fromMs: number, toMs: number): Array<{ startMs: number; current: ValueAndTimestamp<VA> }> => {
      const out: Array<{ startMs: number; current: ValueAndTimestamp<VA> }> = []
      const iterator = store.fetchTimestamped(key, fromMs, toMs)
      try {
        for (const entry of iterator) out.push({ startMs: entry.key, current: entry.value })
      } finally {
        iterator.close()
      }
      return out
    }

    const unexpected = (startMs: number): Error =>
      new Error(`sliding window aggregate ${context.processorName}: unexpected window starting at ${startMs} for a record at ${ts}`)

    const processInOrder = (): void => {
      const starts = new Set<number>()
      const toUpdate: Array<{ startMs: number; current: ValueAndTimestamp<VA> }> = []
      let leftWinAgg: ValueAndTimestamp<VA> | undefined
      let rightWinAgg: ValueAndTimestamp<VA> | undefined
      let leftCreated = false
      let rightCreated = false
      let previousTs: number | undefined
      // A record at t can need windows starting from t - 2d (the previous record's left window) up to
      // t + 1 (its own right window).
      for (const window of windowsOf(Math.max(0, ts - 2 * differenceMs), ts + 1)) {
        const { startMs, current } = window
        const endMs = startMs + differenceMs
        starts.add(startMs)
        if (endMs < ts) {
          // Ends before the record: the last such window holds the records just before it.
          leftWinAgg = current
          previousTs = current.timestampMs
        } else if (endMs === ts) {
          leftCreated = true
          if (current.timestampMs < ts) previousTs = current.timestampMs
          toUpdate.push(window)
        } else if (startMs <= ts) {
          rightWinAgg = current
          toUpdate.push(window)
        } else if (startMs === ts + 1) {
          rightCreated = true
        } else {
          throw unexpected(startMs)
        }
      }
      for (const window of toUpdate) update(window.startMs, window.current, false)
      if (previousTs !== undefined) {
        const previousRightStartMs = previousTs + 1
        // The record is the first in the previous record's right window: that window is just the record.
        if (!starts.has(previousRightStartMs) && previousRightStartMs + differenceMs >= ts) update(previousRightStartMs, undefined, true)
      }
      if (!leftCreated) {
        const seeded =
          leftWinAgg !== undefined && previousTs !== undefined && ts - differenceMs <= previousTs ? { value: leftWinAgg.value, timestampMs: ts } : undefined
        update(ts - differenceMs, seeded, true)
      }
      if (!rightCreated && rightWinAgg !== undefined && rightWinAgg.timestampMs > ts) createOwnRightWindow(rightWinAgg)
    }

    /** Records before d: they all share the window [0, d]. */
    const processEarly = (): void => {
      const starts = new Set<number>()
      const toUpdate: Array<{ startMs: number; current: ValueAndTimestamp<VA> }> = []
      let combined: ValueAndTimestamp<VA> | undefined
      let rightWinAgg: ValueAndTimestamp<VA> | undefined
      let rightCreated = false
      let previousTs: number | undefined
      for (const window of windowsOf(0, ts + 1)) {
        const { startMs, current } = window
        starts.add(startMs)
        if (startMs === 0) {
          combined = current
          if (current.timestampMs < ts) previousTs = current.timestampMs
        } else if (startMs <= ts) {
          rightWinAgg = current
          toUpdate.push(window)
        } else if (startMs === ts + 1) {
          rightCreated = true
        } else {
          throw unexpected(startMs)
        }
      }
      for (const window of toUpdate) update(window.startMs, window.current, false)
      // Without a right window of an earlier record, the combined window holds only records after t
      // when its max timestamp is after t (an earlier record would have created a right window).
      if (rightWinAgg === undefined && combined !== undefined && combined.timestampMs > ts) rightWinAgg = combined
      if (!rightCreated && rightWinAgg !== undefined && rightWinAgg.timestampMs > ts) createOwnRightWindow(rightWinAgg)
      if (previousTs !== undefined && !starts.has(previousTs + 1)) update(previousTs + 1, undefined, true)
      update(0, combined, combined === undefined)
    }

    return {
      init(ctx) {
        context = ctx
        store = ctx.getStateStore(options.storeName)
        if (typeof (store as Partial<TimestampedWindowStore<K, VA>>).fetchTimestamped !== 'function') {
          throw new ProcessingError(
            ctx.processorName,
            `sliding window aggregate ${ctx.processorName}: store ${options.storeName} must be a timestamped window store`
          )
        }
        forwarder = new TableForwarder(store, ctx)
      },
      process(record) {
        if (record.key === null || record.key === undefined || record.value === null || record.value === undefined) {
          context.recordDropped(DropReason.NULL_KEY_OR_VALUE)
          return
        }
        key = record.key
        value = record.value
        ts = record.timestampMs
        headers = record.headers
        closeTimeMs = context.currentStreamTimeMs() - graceMs
        // Kafka Streams drops the record when even its right window would be closed.
        if (ts + 1 + differenceMs <= closeTimeMs) {
          context.recordDropped(DropReason.LATE)
          return
        }
        if (ts < differenceMs) processEarly()
        else processInOrder()
      }
    }
  }
}
