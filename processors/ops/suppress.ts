/**
 * `KTable.suppress` (Kafka Streams' KTableSuppressProcessor), with an in-memory buffer per task.
 * - untilWindowCloses: holds each windowed key's latest update and emits it once, when stream time
 *   >= window end + grace (the final result of the window).
 * - untilTimeLimit: emits a key's latest update once stream time >= its first buffered time + limit.
 * The emitted change carries the value that preceded the first buffered update as `oldValue`.
 * Limitation: the buffer is not change-logged; a restarted task loses buffered updates.
 */
import type { Windowed } from '../../state/index.ts'
import type { ProcessorContext, ProcessorSupplier, RecordHeaders } from '../api.ts'
import type { Change } from '../change.ts'

interface Buffered<K, V> {
  key: K
  newValue: V | null
  oldValue: V | null
  timestampMs: number
  bufferTimeMs: number
  headers: RecordHeaders
  seq: number
}

export function suppressProcessor<K, V>(options: {
  /** Identity of a key in the buffer (e.g. hex of its serialized bytes). */
  keyId: (key: K) => string
  /** When an entry is due: `bufferTime + durationMs <= stream time`. */
  bufferTimeMs: (key: K, timestampMs: number) => number
  durationMs: number
}): ProcessorSupplier<K, Change<V>, K, Change<V>> {
  return () => {
    let context: ProcessorContext<K, Change<V>>
    const buffer = new Map<string, Buffered<K, V>>()
    let seq = 0
    let minBufferTimeMs = Number.POSITIVE_INFINITY
    const evict = (): void => {
      const expiryMs = context.currentStreamTimeMs() - options.durationMs
      if (minBufferTimeMs > expiryMs) return
      const due: Array<[string, Buffered<K, V>]> = []
      minBufferTimeMs = Number.POSITIVE_INFINITY
      for (const entry of buffer) {
        if (entry[1].bufferTimeMs <= expiryMs) due.push(entry)
        else minBufferTimeMs = Math.min(minBufferTimeMs, entry[1].bufferTimeMs)
      }
      due.sort((a, b) => a[1].bufferTimeMs - b[1].bufferTimeMs || a[1].seq - b[1].seq)
      for (const [id, entry] of due) {
        buffer.delete(id)
        context.forward({
          key: entry.key, value: { newValue: entry.newValue, oldValue: entry.oldValue },
          timestampMs: entry.timestampMs, headers: entry.headers
        })
      }
    }
    return {
      init(ctx) { context = ctx },
      process(record) {
        const id = options.keyId(record.key)
        const existing = buffer.get(id)
        if (existing) {
          existing.newValue = record.value.newValue
          existing.timestampMs = record.timestampMs
          existing.headers = record.headers
        } else {
          const bufferTimeMs = options.bufferTimeMs(record.key, record.timestampMs)
          buffer.set(id, {
            key: record.key, newValue: record.value.newValue, oldValue: record.value.oldValue,
            timestampMs: record.timestampMs, bufferTimeMs, headers: record.headers, seq: seq++
          })
          minBufferTimeMs = Math.min(minBufferTimeMs, bufferTimeMs)
        }
        evict()
      }
    }
  }
}

/** Buffer time of a windowed key for `untilWindowCloses`: the window end. */
export function windowEndBufferTime<K>(key: Windowed<K>): number {
  return key.window.endMs
}
