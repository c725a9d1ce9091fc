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
 * and counted as late. Limitation: the not-yet-matched records are tracked in memory per task (Kafka
 * Streams keeps them in a third, logged store); after a restart they are not emitted.
 */
import type { Serde } from '../../schemas/index.ts'
import type { WindowStore } from '../../state/index.ts'
import { DropReason, type ProcessorContext, type ProcessorSupplier, type RecordHeaders } from '../api.ts'
import type { JoinWindows } from '../windows.ts'

export type StreamJoinKind = 'inner' | 'left' | 'outer'

interface Pending {
  readonly side: 'left' | 'right'
  readonly keyId: string
  readonly key: unknown
  readonly value: unknown
  readonly timestampMs: number
  readonly headers: RecordHeaders
  matched: boolean
}

/** Not-yet-matched records of one task, shared by the two sides' processors. */
class PendingOuterRecords {
  users = 0
  private readonly byKey = new Map<string, Pending[]>()
  private entries: Pending[] = []

  add(entry: Pending): void {
    const id = `${entry.side}|${entry.keyId}`
    const list = this.byKey.get(id)
    if (list) list.push(entry)
    else this.byKey.set(id, [entry])
    this.entries.push(entry)
  }

  /** Marks pending records of `side` with `keyId` and a timestamp in [fromMs, toMs] as matched. */
  markMatched(side: 'left' | 'right', keyId: string, fromMs: number, toMs: number): void {
    for (const entry of this.byKey.get(`${side}|${keyId}`) ?? []) {
      if (entry.timestampMs >= fromMs && entry.timestampMs <= toMs) entry.matched = true
    }
  }

  /** Removes and returns, in timestamp order, the records whose window closed; matched ones are discarded. */
  takeClosed(isClosed: (entry: Pending) => boolean): Pending[] {
    const closed = this.entries.filter(isClosed)
    if (closed.length === 0) return []
    const closedSet = new Set(closed)
    this.entries = this.entries.filter((e) => !closedSet.has(e))
    for (const entry of closed) {
      const id = `${entry.side}|${entry.keyId}`
      const remaining = (this.byKey.get(id) ?? []).filter((e) => !closedSet.has(e))
      if (remaining.length === 0) this.byKey.delete(id)
      else this.byKey.set(id, remaining)
    }
    return closed.filter((e) => !e.matched).sort((a, b) => a.timestampMs - b.timestampMs)
  }
}

/**
 * Returns the suppliers of the two sides of one join. They share per-task pending state, so both
 * must run in the same task (the DSL connects both to both stores, which guarantees it).
 */
export function streamStreamJoinProcessors<K, VL, VR, VO>(options: {
  kind: StreamJoinKind
  windows: JoinWindows
  leftStoreName: string
  rightStoreName: string
  keySerde: Serde<K>
  joiner: (left: VL | null, right: VR | null, key: K) => VO
}): { left: ProcessorSupplier<K, VL, K, VO>; right: ProcessorSupplier<K, VR, K, VO> } {
  const shared = new Map<string, PendingOuterRecords>()
  const { windows } = options
  const side = <VThis>(which: 'left' | 'right'): ProcessorSupplier<K, VThis, K, VO> => () => {
    let context: ProcessorContext<K, VO>
    let ownStore: WindowStore<K, VThis>
    let otherStore: WindowStore<K, unknown>
    let pending: PendingOuterRecords
    const other: 'left' | 'right' = which === 'left' ? 'right' : 'left'
    // How far before/after this side's record the other side's records may be.
    const lookBackMs = which === 'left' ? windows.beforeMs : windows.afterMs
    const lookAheadMs = which === 'left' ? windows.afterMs : windows.beforeMs
    const emitsUnmatched = options.kind === 'outer' || (options.kind === 'left' && which === 'left')
    const closeOffsetMs = (s: 'left' | 'right'): number => (s === 'left' ? windows.afterMs : windows.beforeMs) + windows.graceMs
    const join = (mine: unknown, theirs: unknown, key: K): VO => which === 'left'
      ? options.joiner(mine as VL | null, theirs as VR | null, key)
      : options.joiner(theirs as VL | null, mine as VR | null, key)
    return {
      init(ctx) {
        context = ctx
        ownStore = ctx.getStateStore(which === 'left' ? options.leftStoreName : options.rightStoreName)
        otherStore = ctx.getStateStore(which === 'left' ? options.rightStoreName : options.leftStoreName)
        const existing = shared.get(ctx.taskId)
        pending = existing ?? new PendingOuterRecords()
        if (!existing) shared.set(ctx.taskId, pending)
        pending.users++
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
        const keyId = options.keySerde.serialize(options.leftStoreName, record.key).toString('hex')
        let matched = false
        const iterator = otherStore.fetch(record.key, Math.max(0, ts - lookBackMs), ts + lookAheadMs)
        try {
          for (const entry of iterator) {
            matched = true
            context.forward({
              key: record.key, value: join(record.value, entry.value, record.key),
              timestampMs: Math.max(ts, entry.key), headers: record.headers
            })
          }
        } finally {
          iterator.close()
        }
        if (matched) pending.markMatched(other, keyId, ts - lookBackMs, ts + lookAheadMs)
        else if (emitsUnmatched) pending.add({ side: which, keyId, key: record.key, value: record.value, timestampMs: ts, headers: record.headers, matched: false })
        for (const entry of pending.takeClosed((e) => e.timestampMs + closeOffsetMs(e.side) <= streamTimeMs)) {
          const key = entry.key as K
          const value = entry.side === 'left'
            ? options.joiner(entry.value as VL, null, key)
            : options.joiner(null, entry.value as VR, key)
          context.forward({ key, value, timestampMs: entry.timestampMs, headers: entry.headers })
        }
      },
      close() {
        if (--pending.users === 0) shared.delete(context.taskId)
      }
    }
  }
  return { left: side<VL>('left'), right: side<VR>('right') }
}
