/**
 * Windowed stream-stream joins (Kafka Streams' KStreamKStreamJoin). Each side buffers its records in
 * its own window store (duplicates retained, window start = record timestamp) and looks up the other
 * side's store: a left record at t joins right records in [t - beforeMs, t + afterMs]; a right record
 * at t joins left records in [t - afterMs, t + beforeMs]. The joined record's timestamp is the larger
 * of the two.
 *
 * Left/outer joins emit a record that found no partner only once its window has closed
 * (stream time >= t + afterMs + graceMs for left records, t + beforeMs + graceMs for right ones), so
 * that no spurious `joiner(v, null)` precedes a real match (Kafka Streams 3.1+, KIP-633 semantics).
 * Records arriving after their window closed (t + window end side + grace < stream time) are dropped
 * and counted as late.
 *
 * The not-yet-matched records live in a third store shared by both sides, as in Kafka Streams (KIP-633
 * "shared outer join store"; see outer-join-store.ts): a record that finds no partner is added, a
 * partner arriving later deletes it, and once its window closed it is emitted and deleted. The DSL
 * change-logs it with the join stores, so a restarted task neither loses nor repeats these results.
 * Closed records are emitted in timestamp order; at equal timestamps left before right, then by key bytes.
 */
import type { Serde } from '../../schemas/index.ts'
import type { WindowStore } from '../../state/index.ts'
import { DropReason, type ProcessorContext, type ProcessorSupplier } from '../api.ts'
import { InvalidOptionError } from '../errors.ts'
import type { JoinWindows } from '../windows.ts'
import { outerJoinKey, parseOuterJoinKey, type OuterJoinStore } from './outer-join-store.ts'

export type StreamJoinKind = 'inner' | 'left' | 'outer'

/**
 * A lower bound of the timestamps waiting in each outer-join store instance (per task, shared by the
 * two sides, which hold the same instance), read from the store the first time it is needed (after
 * restore). A bound that is too low only costs a scan; it is tightened by each scan.
 */
const earliestByStore = new WeakMap<OuterJoinStore, { timestampMs: number }>()

function earliestWaiting(store: OuterJoinStore): { timestampMs: number } {
  let earliest = earliestByStore.get(store)
  if (earliest === undefined) {
    earliest = { timestampMs: Number.POSITIVE_INFINITY }
    const iterator = store.all()
    try {
      const first = iterator.next()
      if (first.done !== true) earliest.timestampMs = parseOuterJoinKey(first.value.key).timestampMs
    } finally {
      iterator.close()
    }
    earliestByStore.set(store, earliest)
  }
  return earliest
}

/**
 * Returns the suppliers of the two sides of one join. They share the task's stores (both window
 * stores and the outer-join store), so both run in the same task (the DSL connects both to all).
 */
export function streamStreamJoinProcessors<K, VL, VR, VO>(options: {
  kind: StreamJoinKind
  windows: JoinWindows
  leftStoreName: string
  rightStoreName: string
  /** The shared store of unmatched records (values: `outerJoinRecordsSerde`); required by left and outer joins. */
  outerStoreName?: string
  keySerde: Serde<K>
  joiner: (left: VL | null, right: VR | null, key: K) => VO
}): { left: ProcessorSupplier<K, VL, K, VO>; right: ProcessorSupplier<K, VR, K, VO> } {
  const { windows } = options
  if (options.kind !== 'inner' && options.outerStoreName === undefined) {
    throw new InvalidOptionError('outerStoreName', `a ${options.kind} stream-stream join needs the store of records waiting for a partner`)
  }
  const closeOffsetMs = (s: 'left' | 'right'): number => (s === 'left' ? windows.afterMs : windows.beforeMs) + windows.graceMs
  const minCloseOffsetMs = Math.min(closeOffsetMs('left'), closeOffsetMs('right'))
  const side =
    <VThis>(which: 'left' | 'right'): ProcessorSupplier<K, VThis, K, VO> =>
    () => {
      let context: ProcessorContext<K, VO>
      let ownStore: WindowStore<K, VThis>
      let otherStore: WindowStore<K, unknown>
      let outerStore: OuterJoinStore | undefined
      const other: 'left' | 'right' = which === 'left' ? 'right' : 'left'
      // How far before/after this side's record the other side's records may be.
      const lookBackMs = which === 'left' ? windows.beforeMs : windows.afterMs
      const lookAheadMs = which === 'left' ? windows.afterMs : windows.beforeMs
      const emitsUnmatched = options.kind === 'outer' || (options.kind === 'left' && which === 'left')
      const otherEmitsUnmatched = options.kind === 'outer' || (options.kind === 'left' && other === 'left')
      const join = (mine: unknown, theirs: unknown, key: K): VO =>
        which === 'left' ? options.joiner(mine as VL | null, theirs as VR | null, key) : options.joiner(theirs as VL | null, mine as VR | null, key)

      /** Emits and deletes the waiting records whose window closed, oldest first. */
      const emitClosed = (store: OuterJoinStore, streamTimeMs: number): void => {
        const earliest = earliestWaiting(store)
        // Nothing can have closed yet: skip the scan (deleted keys at the head make scans costly).
        if (earliest.timestampMs + minCloseOffsetMs > streamTimeMs) return
        const closed: Buffer[] = []
        const iterator = store.all()
        earliest.timestampMs = Number.POSITIVE_INFINITY
        try {
          for (const entry of iterator) {
            const { timestampMs, side: entrySide, keyBytes } = parseOuterJoinKey(entry.key)
            // Keys are in timestamp order: nothing later can have closed.
            if (timestampMs + minCloseOffsetMs > streamTimeMs) {
              earliest.timestampMs = Math.min(earliest.timestampMs, timestampMs)
              break
            }
            if (timestampMs + closeOffsetMs(entrySide) > streamTimeMs) {
              earliest.timestampMs = Math.min(earliest.timestampMs, timestampMs)
              continue
            }
            if (timestampMs + closeOffsetMs(entrySide) > streamTimeMs) continue
            closed.push(entry.key)
            const key = options.keySerde.deserialize(options.leftStoreName, keyBytes)
            for (const record of entry.value.records) {
              const value = entrySide === 'left' ? options.joiner(record.value as VL, null, key) : options.joiner(null, record.value as VR, key)
              context.forward({ key, value, timestampMs, headers: record.headers })
            }
          }
        } finally {
          iterator.close()
        }
        for (const key of closed) store.put(key, null)
      }

      return {
        init(ctx) {
          context = ctx
          ownStore = ctx.getStateStore(which === 'left' ? options.leftStoreName : options.rightStoreName)
          otherStore = ctx.getStateStore(which === 'left' ? options.rightStoreName : options.leftStoreName)
          if (options.outerStoreName !== undefined) outerStore = ctx.getStateStore<OuterJoinStore>(options.outerStoreName)
        },
        process(record) {
          if (record.key === null || record.key === undefined || record.value === null || record.value === undefined) {
            context.recordDropped(DropReason.NULL_KEY_OR_VALUE)
            return
          }
          const ts = record.timestampMs
          const streamTimeMs = context.currentStreamTimeMs()
          if (ts + lookAheadMs + windows.graceMs < streamTimeMs) {
            context.recordDropped(DropReason.LATE)
            return
          }
          ownStore.put(record.key, record.value, ts)
          let matched = false
          const partnerTimestamps: number[] = []
          const iterator = otherStore.fetch(record.key, Math.max(0, ts - lookBackMs), ts + lookAheadMs)
          try {
            for (const entry of iterator) {
              matched = true
              if (otherEmitsUnmatched) partnerTimestamps.push(entry.key)
              context.forward({
                key: record.key,
                value: join(record.value, entry.value, record.key),
                timestampMs: Math.max(ts, entry.key),
                headers: record.headers
              })
            }
          } finally {
            iterator.close()
          }
          if (outerStore === undefined) return
          const keyBytes = options.keySerde.serialize(options.leftStoreName, record.key)
          // Partners that were waiting for a match have one now: they will not be emitted with null.
          for (const partnerTs of new Set(partnerTimestamps)) {
            const waitingKey = outerJoinKey(partnerTs, other, keyBytes)
            if (outerStore.get(waitingKey) !== undefined) outerStore.put(waitingKey, null)
          }
          if (!matched && emitsUnmatched) {
            const earliest = earliestWaiting(outerStore)
            earliest.timestampMs = Math.min(earliest.timestampMs, ts)
            const waitingKey = outerJoinKey(ts, which, keyBytes)
            const waiting = outerStore.get(waitingKey)
            outerStore.put(waitingKey, {
              side: which,
              records: [...(waiting?.records ?? []), { value: record.value, headers: record.headers }]
            })
          }
          emitClosed(outerStore, streamTimeMs)
        }
      }
    }
  return { left: side<VL>('left'), right: side<VR>('right') }
}
